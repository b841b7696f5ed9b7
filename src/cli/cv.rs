//! `embedrec cv`: cross-validation — train and evaluate on every fold, report each
//! metric's mean and standard deviation.

use super::print_json;
use super::train::TrainArgs;
use crate::data::{self, Dataset, TrainTest};
use crate::error::{Error, Result};
use crate::eval::folds::{Folds, Ranked, split_metrics};
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub(crate) struct CvArgs {
    /// Number of folds of a seeded k-fold split of --data.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Use the published folds u1..u5 (uK.base / uK.test) of the ML-100K folder --data.
    #[arg(long)]
    predefined: bool,
    /// Cut-off of the ranking metrics.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// The model and its flags, as for `embedrec train` (with --data; --split, --train,
    /// --test, --out, --curve and --plot do not apply).
    #[command(flatten)]
    train: TrainArgs,
}

const METRICS: [&str; 8] = [
    "rmse",
    "mae",
    "precision",
    "recall",
    "ndcg",
    "hr",
    "map",
    "mrr",
];

fn fold_split(
    a: &CvArgs,
    data_path: &std::path::Path,
    whole: Option<&Dataset>,
    fold: usize,
) -> Result<(Dataset, TrainTest)> {
    let opts = a.train.data.reader.options()?;
    if a.predefined {
        let (train, test) = (
            data_path.join(format!("u{fold}.base")),
            data_path.join(format!("u{fold}.test")),
        );
        return data::load_train_test(&train, &test, &opts);
    }
    let whole = whole.expect("loaded once for k-fold");
    let split = Folds::KFold(a.folds).split(whole, fold, a.train.seed)?;
    Ok((whole.clone(), split))
}

/// Mean and sample standard deviation.
fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

pub(crate) fn run(a: &CvArgs) -> Result<()> {
    let t = &a.train;
    let Some(data_path) = &t.data.data else {
        return Err(Error::Usage(
            "cv needs --data PATH (a ratings file or, with --predefined, an ML-100K folder)".into(),
        ));
    };
    if t.data.split.is_some()
        || t.data.train.is_some()
        || t.out.is_some()
        || t.curve.is_some()
        || t.plot.is_some()
    {
        return Err(Error::Usage("cv makes its own folds: --split, --train/--test, --out, --curve and --plot do not apply".into()));
    }
    if a.k == 0 {
        return Err(Error::Usage("--k must be at least 1".into()));
    }
    let folds = if a.predefined { 5 } else { a.folds };
    if !a.predefined && !(2..=100).contains(&folds) {
        return Err(Error::Usage(format!(
            "--folds must be in 2..=100, got {folds}"
        )));
    }
    let params = t.params()?;
    let whole = if a.predefined {
        None
    } else {
        Some(data::load(data_path, &t.data.reader.options()?)?)
    };
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); METRICS.len()];
    for fold in 1..=folds {
        let (data, split) = fold_split(a, data_path, whole.as_ref(), fold)?;
        super::print_warnings(&data.warnings);
        let ranked = Ranked {
            k: a.k,
            threshold: Some(crate::eval::ranking::DEFAULT_THRESHOLD),
        };
        let m = split_metrics(&*params.params, &data, &split, Some(ranked))?;
        let ranking = m.ranking.expect("ranked");
        let row = [
            m.rating.rmse,
            m.rating.mae,
            ranking.precision,
            ranking.recall,
            ranking.ndcg,
            ranking.hr,
            ranking.map,
            ranking.mrr,
        ];
        for (v, x) in values.iter_mut().zip(row) {
            v.push(x);
        }
        if !t.json {
            eprintln!("fold {fold}/{folds}: RMSE {:.4}", m.rating.rmse);
        }
    }
    let key = |m: &str| {
        if matches!(m, "rmse" | "mae") {
            m.to_string()
        } else {
            format!("{m}@{}", a.k)
        }
    };
    if t.json {
        let mut report = serde_json::Map::new();
        report.insert("folds".into(), folds.into());
        for (m, v) in METRICS.iter().zip(&values) {
            let (mean, std) = mean_std(v);
            report.insert(key(m), json!({ "mean": mean, "std": std, "folds": v }));
        }
        print_json(&serde_json::Value::Object(report));
    } else {
        println!(
            "{folds}-fold cross-validation{}",
            if a.predefined { " (u1..u5)" } else { "" }
        );
        for (m, v) in METRICS.iter().zip(&values) {
            let (mean, std) = mean_std(v);
            let per: Vec<String> = v.iter().map(|x| format!("{x:.4}")).collect();
            println!(
                "  {:<14} {mean:.4} ± {std:.4}   [{}]",
                key(m),
                per.join(" ")
            );
        }
    }
    Ok(())
}
