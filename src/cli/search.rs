//! `embedrec search`: a seeded grid or random hyper-parameter search that scores every
//! candidate on validation data carved from the training data (never a test set) and
//! reports the winner.

use super::train::{KindParams, TrainArgs};
use super::{print_json, print_warnings};
use crate::data::{self, TrainTest};
use crate::error::{Error, Result};
use crate::eval::folds::{Folds, Ranked, split_metrics};
use crate::models::{params_like, reader};
use crate::rng::Rng;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub(crate) struct SearchArgs {
    /// The grid: space- or ';'-separated KEY=V1,V2,... over the model's parameter names
    /// (e.g. "lr=0.01,0.02 l2=0.03,0.05 dim=128,256"; nested keys with dots:
    /// "optimizer.kind=sgd,adam").
    #[arg(long)]
    grid: String,
    /// Try this many grid points drawn at random (seeded) instead of all of them.
    #[arg(long)]
    random: Option<usize>,
    /// Validation folds carved from the training data: 1 = one random holdout of
    /// --val-share, K > 1 = K-fold over the training data.
    #[arg(long, default_value_t = 1)]
    folds: usize,
    /// Share of the training data held out for validation when --folds is 1.
    #[arg(long, default_value_t = 0.1)]
    val_share: f64,
    /// The model and its base flags, as for `embedrec train`, with --data naming the
    /// TRAINING data (no --split / --test: the search never sees a test set).
    #[command(flatten)]
    train: TrainArgs,
}

/// One axis of the grid: a (dotted) parameter name and its candidate values.
fn parse_grid(text: &str) -> Result<Vec<(String, Vec<Value>)>> {
    let mut axes = Vec::new();
    for part in text
        .split([' ', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let bad = || Error::Usage(format!("--grid: expected KEY=V1,V2,..., got '{part}'"));
        let (key, values) = part.split_once('=').ok_or_else(bad)?;
        let values: Vec<Value> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string())))
            .collect();
        if key.is_empty() || values.is_empty() {
            return Err(bad());
        }
        axes.push((key.replace('-', "_"), values));
    }
    if axes.is_empty() {
        return Err(Error::Usage("--grid names no parameter".into()));
    }
    Ok(axes)
}

/// `base` with `key` (dotted for nested objects) set to `value`.
fn set_key(base: &mut Value, key: &str, value: Value) -> Result<()> {
    let mut node = base;
    let parts: Vec<&str> = key.split('.').collect();
    for (n, part) in parts.iter().enumerate() {
        let obj = node
            .as_object_mut()
            .ok_or_else(|| Error::Usage(format!("--grid: '{key}' is not a parameter")))?;
        if !obj.contains_key(*part) {
            let known: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(Error::Usage(format!(
                "--grid: unknown parameter '{key}' (known: {})",
                known.join(", ")
            )));
        }
        if n + 1 == parts.len() {
            obj.insert(part.to_string(), value);
            return Ok(());
        }
        node = obj.get_mut(*part).expect("checked above");
    }
    Ok(())
}

/// The candidate's parameters: the base params with the overrides applied, read back
/// through the registry as the same kind's params and re-checked.
fn candidate(base: &KindParams, overrides: &[(String, Value)]) -> Result<KindParams> {
    reader(&*base.params)?;
    let mut v = base.params.to_json();
    for (k, x) in overrides {
        set_key(&mut v, k, x.clone())?;
    }
    let params = params_like(&*base.params, v, base.implicit.is_some(), "--grid")?;
    Ok(KindParams {
        params,
        implicit: base.implicit,
    })
}

pub(crate) fn run(a: &SearchArgs) -> Result<()> {
    let t = &a.train;
    let Some(path) = &t.data.data else {
        return Err(Error::Usage("search needs --data TRAINING_DATA".into()));
    };
    if t.data.split.is_some()
        || t.data.train.is_some()
        || t.out.is_some()
        || t.curve.is_some()
        || t.plot.is_some()
    {
        return Err(Error::Usage("search carves its own validation data: --split, --train/--test, --out, --curve and --plot do not apply".into()));
    }
    if a.folds == 0 || a.folds > 100 || (a.folds == 1 && !(a.val_share > 0.0 && a.val_share < 1.0))
    {
        return Err(Error::Usage(
            "--folds must be in 1..=100 and --val-share in (0, 1)".into(),
        ));
    }
    let base = t.params()?;
    let axes = parse_grid(&a.grid)?;
    // Every grid point, in a fixed order; --random draws a seeded subset.
    let mut points: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for (key, values) in &axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                values
                    .iter()
                    .map(move |v| [p.clone(), vec![(key.clone(), v.clone())]].concat())
            })
            .collect();
    }
    if let Some(n) = a.random {
        let mut rng = Rng::seeded(t.seed ^ 0x5eed);
        rng.shuffle(&mut points);
        points.truncate(n.max(1));
    }
    let candidates: Vec<KindParams> = points
        .iter()
        .map(|p| candidate(&base, p))
        .collect::<Result<_>>()?;
    let data = data::load(path, &t.data.reader.options()?)?;
    print_warnings(&data.warnings);
    let folds = if a.folds == 1 {
        Folds::Holdout(a.val_share)
    } else {
        Folds::KFold(a.folds)
    };
    let splits: Vec<TrainTest> = (1..=folds.len())
        .map(|fold| folds.split(&data, fold, t.seed))
        .collect::<Result<_>>()?;
    // Implicit models are scored by the validation NDCG@10 (protocol A), higher first;
    // rating models by the validation RMSE, lower first.
    let implicit = base.implicit;
    let metric = if implicit.is_some() {
        "ndcg@10"
    } else {
        "rmse"
    };
    let mut results: Vec<(f64, f64, usize)> = Vec::new();
    for (c, params) in candidates.iter().enumerate() {
        let mut scores = Vec::new();
        for split in &splits {
            let ranked = implicit.map(|i| Ranked {
                k: 10,
                threshold: i.threshold,
            });
            let m = split_metrics(&*params.params, &data, split, ranked)?;
            scores.push(match m.ranking {
                Some(r) => r.ndcg,
                None => m.rating.rmse,
            });
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let std =
            (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64).sqrt();
        if !t.json {
            eprintln!(
                "[{}/{}] {} -> validation {metric} {mean:.4}",
                c + 1,
                candidates.len(),
                describe(&points[c])
            );
        }
        results.push((mean, std, c));
    }
    let sign = if implicit.is_some() { -1.0 } else { 1.0 };
    results.sort_by(|x, y| (sign * x.0).total_cmp(&(sign * y.0)).then(x.2.cmp(&y.2)));
    let best = results[0].2;
    if t.json {
        let trials: Vec<Value> = results
            .iter()
            .map(|&(mean, std, c)| json!({ "params": Value::Object(points[c].iter().cloned().collect()), format!("val_{metric}"): mean, "val_std": std }))
            .collect();
        print_json(&json!({ "folds": splits.len(), "trials": trials, "best": trials[0] }));
    } else {
        println!(
            "validation: {} (carved from {}); {} candidates",
            if a.folds == 1 {
                format!("random {:.0}% holdout", a.val_share * 100.0)
            } else {
                format!("{}-fold", a.folds)
            },
            path.display(),
            candidates.len()
        );
        for &(mean, std, c) in &results {
            println!("  {mean:.4} ± {std:.4}  {}", describe(&points[c]));
        }
        println!("best: {}", describe(&points[best]));
    }
    Ok(())
}

fn describe(point: &[(String, Value)]) -> String {
    point
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}
