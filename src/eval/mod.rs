//! Evaluation: rating metrics ([`rating`]: RMSE, MAE, unknown ids counted, never dropped)
//! and top-K ranking metrics ([`ranking`]: full ranking and NCF-style sampled ranking).

pub mod folds;
pub mod model;
/// The ranking metrics (they live in [`crate::metrics::ranking`], below training).
pub use crate::metrics::ranking;
/// The rating metrics (they live in [`crate::metrics::rating`], below training).
pub use crate::metrics::rating;

pub use model::{EvalOptions, Evaluation, Protocol, RankingReport, SAMPLED_SEED};

pub use ranking::{
    RankingMetrics, SampledRankingMetrics, ranking_metrics, sampled_ranking_metrics,
};
pub use rating::{RatingMetrics, rating_metrics};
