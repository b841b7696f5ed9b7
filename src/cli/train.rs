//! `embedrec train`: load or split data, fit a model, report metrics (text or `--json`).

use super::{ReaderArgs, print_json, print_warnings};
use crate::data::split::SplitSpec;
use crate::data::{self, Dataset, TrainTest};
use crate::error::{Error, Result};
use crate::eval::rating_metrics;
use crate::models::{BaselineParams, Recommender};
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelKind {
    /// mu + user bias + item bias, fitted by ALS (Surprise's BaselineOnly).
    Baseline,
}

/// Where the training and test data come from.
#[derive(Args, Debug, Clone)]
pub(crate) struct DataArgs {
    /// Training ratings file (with --test).
    #[arg(long, requires = "test", conflicts_with_all = ["data", "split"])]
    pub train: Option<PathBuf>,
    /// Test ratings file (with --train).
    #[arg(long, requires = "train")]
    pub test: Option<PathBuf>,
    /// A ratings file or MovieLens folder to split (with --split).
    #[arg(long, requires = "split")]
    pub data: Option<PathBuf>,
    /// random:F | kfold:K:I | user-out:K[:latest] | temporal:F (F = test fraction).
    #[arg(long, requires = "data")]
    pub split: Option<String>,
    #[command(flatten)]
    pub reader: ReaderArgs,
}

impl DataArgs {
    /// Loads the data and builds the split (`seed` drives random splits).
    pub(crate) fn load(&self, seed: u64) -> Result<(Dataset, TrainTest)> {
        let opts = self.reader.options()?;
        let (data, split) = match (&self.train, &self.test, &self.data, &self.split) {
            (Some(train), Some(test), None, None) => data::load_train_test(train, test, &opts)?,
            (None, None, Some(path), Some(spec)) => {
                let spec: SplitSpec = spec.parse()?;
                let data = data::load(path, &opts)?;
                let split = spec.apply(&data, seed)?;
                (data, split)
            }
            _ => {
                return Err(Error::Usage(
                    "give either --train FILE --test FILE or --data PATH --split SPEC".into(),
                ));
            }
        };
        print_warnings(&data.warnings);
        Ok((data, split))
    }
}

#[derive(Args, Debug)]
pub(crate) struct TrainArgs {
    /// Model to train.
    #[arg(long, value_enum)]
    model: ModelKind,
    #[command(flatten)]
    data: DataArgs,
    /// Training epochs (ALS sweeps for the baseline).
    #[arg(long)]
    epochs: Option<usize>,
    /// Baseline: L2 shrinkage of user biases.
    #[arg(long)]
    reg_user: Option<f64>,
    /// Baseline: L2 shrinkage of item biases.
    #[arg(long)]
    reg_item: Option<f64>,
    /// Random seed (splits, initialisation, shuffling).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Print one JSON object as the last line (see the contract in README.md).
    #[arg(long)]
    json: bool,
}

/// One line of the per-epoch history.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct EpochRecord {
    pub epoch: usize,
    pub train_rmse: f64,
    pub test_rmse: f64,
    pub seconds: f64,
}

pub(crate) fn run(a: &TrainArgs) -> Result<()> {
    let (data, split) = a.data.load(a.seed)?;
    let defaults = BaselineParams::default();
    let params = BaselineParams {
        epochs: a.epochs.unwrap_or(defaults.epochs),
        reg_user: a.reg_user.unwrap_or(defaults.reg_user),
        reg_item: a.reg_item.unwrap_or(defaults.reg_item),
    };
    let clip = Some(data.scale);
    let mut history = Vec::new();
    let mut fit_seconds = 0.0;
    let mut last = Instant::now();
    let model = params.fit(
        &split.train,
        split.train_users,
        split.train_items,
        |epoch, m| {
            let seconds = last.elapsed().as_secs_f64();
            fit_seconds += seconds;
            history.push(EpochRecord {
                epoch,
                train_rmse: rating_metrics(m, &split.train, clip).rmse,
                test_rmse: rating_metrics(m, &split.test, clip).rmse,
                seconds,
            });
            last = Instant::now();
        },
    )?;
    let train_m = rating_metrics(&model, &split.train, clip);
    let test_m = rating_metrics(&model, &split.test, clip);
    let report = json!({
        "model": model.kind(),
        "params": params,
        "users": model.n_users(),
        "items": model.n_items(),
        "param_count": model.param_count(),
        "epochs_run": history.len(),
        "train_seconds": fit_seconds,
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
        println!("model        {}", model.kind());
        println!(
            "data         {} train / {} test ratings",
            split.train.len(),
            split.test.len()
        );
        println!(
            "rows         {} users, {} items ({} parameters)",
            model.n_users(),
            model.n_items(),
            model.param_count()
        );
        println!("epochs       {} in {:.3} s", history.len(), fit_seconds);
        println!("train RMSE   {:.4}", train_m.rmse);
        println!("test RMSE    {:.4}   MAE {:.4}", test_m.rmse, test_m.mae);
        println!(
            "test ratings {} ({} with an id unknown to the model)",
            test_m.count, test_m.unknown
        );
    }
    Ok(())
}
