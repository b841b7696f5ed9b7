//! Evaluation: rating metrics ([`rating`]: RMSE, MAE, unknown ids counted, never dropped).

pub mod rating;

pub use rating::{RatingMetrics, rating_metrics};
