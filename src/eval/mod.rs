//! Evaluation: rating metrics ([`rating`]: RMSE, MAE, unknown ids counted, never dropped)
//! and top-K ranking metrics ([`ranking`]: full ranking and NCF-style sampled ranking).

pub mod folds;
pub mod model;
pub mod ranking;
pub mod rating;

pub use model::{EvalOptions, Evaluation, Protocol, RankingReport, SAMPLED_SEED};

pub use ranking::{
    RankingMetrics, SampledRankingMetrics, ranking_metrics, sampled_ranking_metrics,
};
pub use rating::{RatingMetrics, rating_metrics};
