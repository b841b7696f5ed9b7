//! Cross-validation and hyper-parameter search one fold at a time, as library calls:
//! the folds of `embedrec cv` and the validation carves of `embedrec search`, so that a
//! caller can train and score each fold wherever it likes (the tasks of a distributed
//! job) and get the command line's figures for the same data, seed and params.
//!
//! ```
//! use embedrec::data::Dataset;
//! use embedrec::eval::folds::{Folds, fold_metrics};
//! use embedrec::models::params_for;
//!
//! let data = Dataset::synthetic(60, 40, 1500, 7)?;
//! let params = params_for("baseline", None, &serde_json::json!({}), false)?;
//! let folds = Folds::KFold(3);
//! let rmse: Vec<f64> = (1..=folds.len())
//!     .map(|fold| Ok(fold_metrics(params.as_ref(), &data, folds, fold, 42, None)?.rating.rmse))
//!     .collect::<embedrec::Result<_>>()?;
//! assert_eq!(rmse.len(), 3);
//! # Ok::<(), embedrec::Error>(())
//! ```

#[cfg(doc)]
use super::ranking::DEFAULT_THRESHOLD;
use super::ranking::{RankingMetrics, ranking_metrics};
use super::rating::RatingMetrics;
use super::rating::rating_metrics;
use crate::data::split::SplitSpec;
use crate::data::{Dataset, TrainTest};
use crate::error::{Error, Result};
use crate::models::{Fit, RowOptions, TrainingSet};

/// How the data is cut into (train, validation) pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Folds {
    /// A seeded K-fold split (`embedrec cv --folds K`, `embedrec search --folds K`).
    KFold(usize),
    /// One seeded random holdout of this share (`embedrec search --folds 1
    /// --val-share F`).
    Holdout(f64),
}

impl Folds {
    /// The number of folds.
    pub fn len(&self) -> usize {
        match *self {
            Folds::KFold(k) => k,
            Folds::Holdout(_) => 1,
        }
    }

    /// Never true: there is at least one fold.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Fold `fold` (1-based) of `data`, the split `embedrec cv` / `embedrec search`
    /// makes with `seed`.
    pub fn split(&self, data: &Dataset, fold: usize, seed: u64) -> Result<TrainTest> {
        if fold == 0 || fold > self.len() {
            return Err(Error::Usage(format!(
                "fold {fold} of {}: folds are numbered from 1",
                self.len()
            )));
        }
        match *self {
            Folds::KFold(k) if (2..=100).contains(&k) => {
                SplitSpec::KFold { k, fold }.apply(data, seed)
            }
            Folds::KFold(k) => Err(Error::Usage(format!(
                "the number of folds must be in 2..=100, got {k}"
            ))),
            Folds::Holdout(f) if f > 0.0 && f < 1.0 => {
                SplitSpec::Random { test_fraction: f }.apply(data, seed)
            }
            Folds::Holdout(f) => Err(Error::Usage(format!(
                "the validation share must be in (0, 1), got {f}"
            ))),
        }
    }
}

/// The figures of one fold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoldMetrics {
    /// RMSE and MAE on the held-out ratings (clipped when the model clips).
    pub rating: RatingMetrics,
    /// The ranking metrics (protocol A: all unrated items ranked), when asked for.
    pub ranking: Option<RankingMetrics>,
}

impl FoldMetrics {
    /// The figures as one JSON object keyed as `embedrec eval --json`: `rmse`, `mae`,
    /// and `precision@K`, `ndcg@K`, ... when ranked.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({ "rmse": self.rating.rmse, "mae": self.rating.mae });
        if let (Some(r), Some(obj)) = (&self.ranking, out.as_object_mut())
            && let serde_json::Value::Object(more) = r.to_json()
        {
            obj.extend(more);
        }
        out
    }
}

/// What ranking metrics to compute: the cut-off `k`, and the rating at which a held-out
/// item counts as relevant (`None`: every held-out item; `embedrec cv` uses
/// [`DEFAULT_THRESHOLD`], 4.0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// Length of the lists.
    pub k: usize,
    /// Relevance threshold.
    pub threshold: Option<f32>,
}

/// Trains `params` on the training part of fold `fold` of `data` (see [`Folds::split`])
/// and scores it on the held-out part, exactly as `embedrec cv` and `embedrec search`
/// do, with the ranking metrics when `ranked` says so.
pub fn fold_metrics(
    params: &dyn Fit,
    data: &Dataset,
    folds: Folds,
    fold: usize,
    seed: u64,
    ranked: Option<Ranked>,
) -> Result<FoldMetrics> {
    params.check()?;
    let split = folds.split(data, fold, seed)?;
    split_metrics(params, data, &split, ranked)
}

/// [`fold_metrics`] on a given split of `data` (e.g. the predefined u1..u5 folds).
pub fn split_metrics(
    params: &dyn Fit,
    data: &Dataset,
    split: &TrainTest,
    ranked: Option<Ranked>,
) -> Result<FoldMetrics> {
    if ranked.is_some_and(|r| r.k == 0) {
        return Err(Error::Usage("the cut-off k must be at least 1".into()));
    }
    let set = TrainingSet::of_split(split, data);
    let fitted = params.fit_rows(&set, &RowOptions::default())?;
    Ok(FoldMetrics {
        rating: rating_metrics(
            &fitted.model,
            &split.test,
            fitted.clip.then_some(data.scale),
        ),
        ranking: ranked.map(|r| ranking_metrics(&fitted.model, split, r.k, r.threshold)),
    })
}
