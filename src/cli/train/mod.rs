//! `embedrec train`: load or split data, fit a model, report metrics (text or `--json`).

use super::{ReaderArgs, print_json, print_warnings};
use crate::data::split::SplitSpec;
use crate::data::{self, Dataset, Ratings, TrainTest};
use crate::error::{Error, Result};
pub(crate) use crate::eval::SAMPLED_SEED;
use crate::eval::ranking::{DEFAULT_THRESHOLD, ranking_metrics_of};
use crate::eval::rating_metrics;
use crate::models::{EpochStats, Fit, FitOptions, RankLoss, Recommender};
use crate::store::TrainedModel;
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::PathBuf;

mod args;
mod flags;
mod params;
mod report;
pub(crate) use args::*;
pub(crate) use params::*;
pub(crate) use report::*;

pub(crate) fn run(a: &TrainArgs) -> Result<()> {
    // Validate every flag before the (possibly long) data load.
    let kind_params = a.params()?;
    if let Some(path) = &a.plot {
        crate::plot::Format::from_path(path)?;
    }
    let implicit = kind_params.implicit;
    if implicit.is_some() && (a.curve.is_some() || a.plot.is_some()) {
        return Err(Error::Usage(
            "--curve and --plot draw RMSE curves; implicit models report ranking \
             metrics per epoch in the --json history instead"
                .into(),
        ));
    }
    let (data, split) = a
        .data
        .load_keeping_times(a.seed, kind_params.params.needs_times())?;
    let (train, test) = split.into_datasets(&data);
    let bar = crate::train::EpochBar::new(!a.json);
    let on_epoch = |e: &EpochStats, _: &dyn Recommender| -> Result<()> {
        let message = match (e.train_rmse, e.watch_ndcg) {
            (Some(r), _) => Some(format!("train RMSE {r:.4}")),
            (None, Some(n)) => Some(format!("test ndcg@10 {n:.4}")),
            _ => None,
        };
        bar.epoch(e.epochs, message);
        Ok(())
    };
    let options = FitOptions {
        watch: Some(&test),
        threshold: implicit.map_or(Some(DEFAULT_THRESHOLD), |i| i.threshold),
        on_epoch: Some(&on_epoch),
        ..FitOptions::default()
    };
    let model = kind_params.params.fit(&train, &options)?;
    bar.finish();
    if let Some(path) = &a.out {
        model.save(path)?;
    }
    // The model's rows are the first ids of both datasets: their ratings are already in
    // the model's rows (test-only ids lie past them: unknown to the model).
    let (train_rows, test_rows) = (&train.ratings, &test.ratings);
    if let Some(implicit) = implicit {
        return report_implicit(a, &implicit, &model, train_rows, test_rows);
    }
    let net: &dyn Recommender = &model.model;
    let clip = model.clip.then_some(model.scale);
    let train_m = rating_metrics(net, train_rows, clip);
    let test_m = rating_metrics(net, test_rows, clip);
    let history: Vec<EpochRecord> = model.history.iter().map(EpochRecord::of).collect();
    if let Some(path) = &a.curve {
        write_curve(path, &history)?;
    }
    if let Some(path) = &a.plot {
        let title = format!("{}: final test RMSE {:.4}", net.kind(), test_m.rmse);
        write_plot(path, &title, &history)?;
    }
    let train_seconds = model.training.train_seconds;
    let report = json!({
        "model": net.kind(),
        "params": model.params,
        "users": net.n_users(),
        "items": net.n_items(),
        "param_count": net.param_count(),
        "epochs_run": history.len(),
        "train_seconds": train_seconds,
        "train_rmse": train_m.rmse,
        "test_rmse": test_m.rmse,
        "test_mae": test_m.mae,
        "test_count": test_m.count,
        "test_unknown": test_m.unknown,
        "history": history,
    });
    if a.json {
        print_json(&report);
    } else {
        println!("model        {}", net.kind());
        println!(
            "data         {} train / {} test ratings",
            train_rows.len(),
            test_rows.len()
        );
        println!(
            "rows         {} users, {} items ({} parameters)",
            net.n_users(),
            net.n_items(),
            net.param_count()
        );
        println!("epochs       {} in {train_seconds:.3} s", history.len());
        println!("train RMSE   {:.4}", train_m.rmse);
        println!("test RMSE    {:.4}   MAE {:.4}", test_m.rmse, test_m.mae);
        println!(
            "test ratings {} ({} with an id unknown to the model)",
            test_m.count, test_m.unknown
        );
    }
    Ok(())
}
