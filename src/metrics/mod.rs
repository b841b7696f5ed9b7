//! Metrics of a [`crate::model::Recommender`] on dense indices, below training so that
//! the epoch loop and every kind's `fit` can report them: rating metrics ([`rating`]:
//! RMSE, MAE, unknown ids counted, never dropped), top-K ranking metrics ([`ranking`]:
//! full ranking and NCF-style sampled ranking) and the bounded heap both ranking and
//! top-N lists select with ([`heap`]). Evaluation of a saved model by raw ids is
//! [`crate::eval`].

pub mod heap;
pub mod ranking;
pub mod rating;

pub use ranking::{
    RankingMetrics, SampledRankingMetrics, ranking_metrics, sampled_ranking_metrics,
};
pub use rating::{RatingMetrics, rating_metrics};
