//! Rating metrics (RMSE, MAE) with unknown ids counted, never dropped.

use crate::data::{RatingScale, Ratings};
use crate::model::Recommender;

/// Rating-prediction quality on a test set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RatingMetrics {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Number of test ratings scored (all of them).
    pub count: usize,
    /// How many of them had a user or item unknown to the model (scored by the fallback).
    pub unknown: usize,
}

/// RMSE and MAE of `model` on `test`, predictions clipped to `clip` when given. Every
/// test rating counts; unknown ids get the model's fallback estimate.
///
/// ```
/// use embedrec::data::Ratings;
/// use embedrec::eval::rating_metrics;
/// use embedrec::models::GlobalMean;
/// let mut test = Ratings::default();
/// test.push(0, 0, 4.0, None);
/// test.push(0, 9, 2.0, None); // item 9 is unknown to the model
/// let model = GlobalMean { mu: 3.0, users: 1, items: 1 };
/// let m = rating_metrics(&model, &test, None);
/// assert_eq!((m.rmse, m.mae, m.count, m.unknown), (1.0, 1.0, 2, 1));
/// ```
pub fn rating_metrics(
    model: &dyn Recommender,
    test: &Ratings,
    clip: Option<RatingScale>,
) -> RatingMetrics {
    let (mut se, mut ae, mut unknown) = (0.0f64, 0.0f64, 0usize);
    const BLOCK: usize = 4096;
    let mut preds = Vec::with_capacity(BLOCK.min(test.len()));
    for start in (0..test.len()).step_by(BLOCK) {
        let end = (start + BLOCK).min(test.len());
        let times = test.times.as_ref().map(|t| &t[start..end]);
        model.predict_many_at(
            &test.users[start..end],
            &test.items[start..end],
            times,
            &mut preds,
        );
        for (p, &v) in preds.iter().zip(&test.values[start..end]) {
            let value = clip.map_or(p.value, |s| s.clip(p.value));
            let err = value as f64 - v as f64;
            se += err * err;
            ae += err.abs();
            unknown += p.fallback as usize;
        }
    }
    let n = test.len().max(1) as f64;
    RatingMetrics {
        rmse: (se / n).sqrt(),
        mae: ae / n,
        count: test.len(),
        unknown,
    }
}
