//! `embedrec eval`: rating and ranking metrics of a saved model on a test file.

use super::train::{Protocol, SAMPLED_SEED};
use super::{ReaderArgs, print_json, print_warnings};
use crate::data::{Ratings, TrainTest, movielens};
use crate::error::{Error, Result};
use crate::eval::ranking::DEFAULT_NEGATIVES;
use crate::eval::{ranking_metrics, rating_metrics, sampled_ranking_metrics};
use crate::store::{self, TrainedModel};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    /// Model file written by `embedrec train --out`.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// Test ratings file (any format `train` reads).
    #[arg(long)]
    test: PathBuf,
    /// Metrics to report (default all): rmse,mae,precision,recall,ndcg,hr,map,mrr,coverage.
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Cut-off K of the ranking metrics.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// A test item is relevant when its rating is at least this (ranking metrics).
    #[arg(long, default_value_t = 4.0)]
    threshold: f32,
    /// Ranking protocol: full (every item the user did not rate in training) or sampled
    /// (each test item among 99 items the user never rated, seed 42; reports hr, ndcg,
    /// mrr).
    #[arg(long, value_enum, default_value_t = Protocol::Full)]
    protocol: Protocol,
    /// Print one JSON object as the last line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    reader: ReaderArgs,
}

const ALL: [&str; 9] = [
    "rmse",
    "mae",
    "precision",
    "recall",
    "ndcg",
    "hr",
    "map",
    "mrr",
    "coverage",
];

/// The model's training items as a `TrainTest` (values are not stored in the model file
/// and not needed: ranking uses them only to exclude training items) with `test` read
/// through the model's id maps (unseen ids get indices past the model's rows).
fn split_for(
    saved: &TrainedModel,
    test: &std::path::Path,
    reader: &ReaderArgs,
) -> Result<TrainTest> {
    let (mut users, mut items) = (saved.users.clone(), saved.items.clone());
    let mut opts = reader.options()?;
    opts.scale.get_or_insert(saved.scale);
    let (test_ratings, warnings) =
        movielens::read_ratings_into(test, &opts, &mut users, &mut items)?;
    print_warnings(&warnings);
    let mut train = Ratings::default();
    for u in 0..saved.users.len() as u32 {
        for &i in saved.rated_items(u) {
            train.push(u, i, 0.0, None);
        }
    }
    Ok(TrainTest {
        train,
        test: test_ratings,
        users,
        items,
        train_users: saved.users.len() as u32,
        train_items: saved.items.len() as u32,
    })
}

pub(crate) fn run(a: &EvalArgs) -> Result<()> {
    let wanted: Vec<&str> = if a.metrics.is_empty() {
        ALL.to_vec()
    } else {
        a.metrics.iter().map(String::as_str).collect()
    };
    if let Some(bad) = wanted.iter().find(|m| !ALL.contains(m)) {
        return Err(Error::Usage(format!(
            "--metrics: unknown metric '{bad}'; expected some of {}",
            ALL.join(",")
        )));
    }
    if a.k == 0 {
        return Err(Error::Usage("--k must be at least 1".into()));
    }
    let key = |m: &str| {
        if matches!(m, "rmse" | "mae") {
            m.to_string()
        } else {
            format!("{m}@{}", a.k)
        }
    };
    let saved = store::load(&a.model)?;
    let split = split_for(&saved, &a.test, &a.reader)?;
    let rating = rating_metrics(&saved.model, &split.test, saved.clip.then_some(saved.scale));
    let (ranking_json, ranking_users) = match a.protocol {
        Protocol::Full => {
            let r = ranking_metrics(&saved.model, &split, a.k, Some(a.threshold));
            (r.to_json(), r.users)
        }
        Protocol::Sampled => {
            let r =
                sampled_ranking_metrics(&saved.model, &split, a.k, DEFAULT_NEGATIVES, SAMPLED_SEED);
            (r.to_json(), r.users)
        }
    };
    let mut all = serde_json::Map::new();
    all.insert("rmse".into(), rating.rmse.into());
    all.insert("mae".into(), rating.mae.into());
    if let serde_json::Value::Object(r) = ranking_json {
        all.extend(r);
    }
    // Implicit models' scores are not ratings: no RMSE unless asked for.
    let implicit = crate::store::is_implicit_model(&saved);
    let available: Vec<&str> = ALL
        .iter()
        .copied()
        .filter(|m| all.contains_key(&key(m)))
        .filter(|m| !(implicit && a.metrics.is_empty() && matches!(*m, "rmse" | "mae")))
        .collect();
    let wanted: Vec<&str> = if a.metrics.is_empty() {
        available
    } else if let Some(bad) = wanted.iter().find(|m| !available.contains(m)) {
        return Err(Error::Usage(format!(
            "--metrics: {bad} is not reported under --protocol sampled (hr, ndcg, mrr are)"
        )));
    } else {
        wanted
    };
    let mut report = serde_json::Map::new();
    for m in &wanted {
        let k = key(m);
        report.insert(k.clone(), all[&k].clone());
    }
    report.insert("test_count".into(), rating.count.into());
    report.insert("test_unknown".into(), rating.unknown.into());
    report.insert("ranking_users".into(), ranking_users.into());
    if a.json {
        print_json(&serde_json::Value::Object(report));
    } else {
        println!(
            "{} test ratings ({} with an id unknown to the model); ranking over {} users",
            rating.count, rating.unknown, ranking_users
        );
        for m in &wanted {
            let k = key(m);
            println!("  {k:<14} {:.4}", all[&k].as_f64().unwrap_or(f64::NAN));
        }
    }
    Ok(())
}
