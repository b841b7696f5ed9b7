//! Evaluation of a trained model on test data given by raw ids.

use crate::data::{Dataset, Ratings, TrainTest};
use crate::error::{Error, Result};
use crate::metrics::ranking::{
    DEFAULT_NEGATIVES, DEFAULT_THRESHOLD, RankingMetrics, SampledRankingMetrics, ranking_metrics,
    sampled_ranking_metrics,
};
use crate::metrics::rating::rating_metrics;
use crate::model::{Feedback, TrainedModel};
use serde_json::Value;

/// Seed of the sampled protocol's negatives: fixed, so that models trained with
/// different seeds are ranked against the same items.
pub const SAMPLED_SEED: u64 = 42;

/// How test items are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Every item the user did not rate in training is ranked ([`ranking_metrics`]).
    #[default]
    Full,
    /// Each test item among 99 items the user never rated, sampled with
    /// [`SAMPLED_SEED`] (NCF; [`sampled_ranking_metrics`]).
    Sampled,
}

/// Settings of [`TrainedModel::evaluate_with`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalOptions {
    /// Cut-off of the ranking metrics (default 10).
    pub k: usize,
    /// A test item is relevant when its rating is at least this (`None`: every test
    /// item; default 4). Full protocol only.
    pub threshold: Option<f32>,
    /// Full or sampled ranking (default full).
    pub protocol: Protocol,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            k: 10,
            threshold: Some(DEFAULT_THRESHOLD),
            protocol: Protocol::Full,
        }
    }
}

/// The ranking half of an [`Evaluation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RankingReport {
    /// Full ranking.
    Full(RankingMetrics),
    /// Sampled ranking.
    Sampled(SampledRankingMetrics),
}

/// A model's figures on test data.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// What the model's scores are: RMSE and MAE mean something for ratings only.
    pub feedback: Feedback,
    /// RMSE over every test rating (unknown ids scored by the fallback), clipped as the
    /// model clips.
    pub rmse: f64,
    /// MAE, likewise.
    pub mae: f64,
    /// Test ratings.
    pub count: usize,
    /// Test ratings whose user or item the model does not know.
    pub unknown: usize,
    /// Ranking metrics.
    pub ranking: RankingReport,
}

impl Evaluation {
    /// Users the ranking metrics average over.
    pub fn ranking_users(&self) -> usize {
        match self.ranking {
            RankingReport::Full(r) => r.users,
            RankingReport::Sampled(r) => r.users,
        }
    }

    /// The figures keyed as `embedrec eval --json` prints them: `rmse` and `mae` (rating
    /// models only), the ranking metrics at K (`precision@10`, `ndcg@10`, ...),
    /// `test_count`, `test_unknown`, `ranking_users`.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        if self.feedback == Feedback::Ratings {
            out.insert("rmse".into(), self.rmse.into());
            out.insert("mae".into(), self.mae.into());
        }
        let ranking = match self.ranking {
            RankingReport::Full(r) => r.to_json(),
            RankingReport::Sampled(r) => r.to_json(),
        };
        if let Value::Object(r) = ranking {
            out.extend(r);
        }
        out.insert("test_count".into(), self.count.into());
        out.insert("test_unknown".into(), self.unknown.into());
        out.insert("ranking_users".into(), self.ranking_users().into());
        Value::Object(out)
    }
}

impl TrainedModel {
    /// The model's training items (values 0: ranking only excludes them) and `test`
    /// read into the model's rows (ids the model lacks get indices past them) as one
    /// split.
    pub fn eval_split(&self, test: &Dataset) -> TrainTest {
        let mut users = self.users.clone();
        let mut items = self.items.clone();
        let user_rows: Vec<u32> = (0..test.users.len() as u32)
            .map(|k| users.get_or_insert(test.users.raw(k)))
            .collect();
        let item_rows: Vec<u32> = (0..test.items.len() as u32)
            .map(|k| items.get_or_insert(test.items.raw(k)))
            .collect();
        let r = &test.ratings;
        let test_ratings = Ratings {
            users: r.users.iter().map(|&u| user_rows[u as usize]).collect(),
            items: r.items.iter().map(|&i| item_rows[i as usize]).collect(),
            values: r.values.clone(),
            // Each rating is predicted at its own time by a model with time features.
            times: r.times.clone(),
        };
        let mut train = Ratings::default();
        for u in 0..self.users.len() as u32 {
            for &i in self.rated_items(u) {
                train.push(u, i, 0.0, None);
            }
        }
        TrainTest {
            train,
            test: test_ratings,
            users,
            items,
            train_users: self.users.len() as u32,
            train_items: self.items.len() as u32,
        }
    }

    /// RMSE and MAE (for rating models) and the full-ranking metrics at 10 of `test`
    /// (relevant: rating >= 4). See [`TrainedModel::evaluate_with`].
    pub fn evaluate(&self, test: &Dataset) -> Result<Evaluation> {
        self.evaluate_with(test, &EvalOptions::default())
    }

    /// The model's figures on `test` (raw ids; a test rating whose user or item the
    /// model does not know is scored by the fallback and counted in `unknown`).
    pub fn evaluate_with(&self, test: &Dataset, options: &EvalOptions) -> Result<Evaluation> {
        if options.k == 0 {
            return Err(Error::Usage(
                "the ranking cut-off k must be at least 1".into(),
            ));
        }
        let split = self.eval_split(test);
        Ok(self.evaluate_split(&split, options))
    }

    /// [`TrainedModel::evaluate_with`] of a split made by [`TrainedModel::eval_split`].
    pub fn evaluate_split(&self, split: &TrainTest, options: &EvalOptions) -> Evaluation {
        let rating = rating_metrics(&self.model, &split.test, self.clip.then_some(self.scale));
        let ranking = match options.protocol {
            Protocol::Full => RankingReport::Full(ranking_metrics(
                &self.model,
                split,
                options.k,
                options.threshold,
            )),
            Protocol::Sampled => RankingReport::Sampled(sampled_ranking_metrics(
                &self.model,
                split,
                options.k,
                DEFAULT_NEGATIVES,
                SAMPLED_SEED,
            )),
        };
        Evaluation {
            feedback: self.feedback,
            rmse: rating.rmse,
            mae: rating.mae,
            count: rating.count,
            unknown: rating.unknown,
            ranking,
        }
    }
}
