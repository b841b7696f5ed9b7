//! Models. Each file holds one model: its params, weights, `fit` and its
//! [`Recommender`] impl.

pub mod baseline;
pub mod mf;
pub mod popularity;

pub use baseline::{Baseline, BaselineParams, GlobalMean};
pub use mf::{Mf, MfParams};
pub use popularity::Popularity;

/// A prediction for one (user, item) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The estimate (not clipped).
    pub value: f32,
    /// True when the user or the item is unknown to the model and `value` is the
    /// fallback estimate (global mean plus whichever bias is known).
    pub fallback: bool,
}

/// What every trained model offers, on the dense indices of the split it was trained on
/// (users `0..n_users()`, items `0..n_items()`; see [`crate::data::TrainTest`]).
pub trait Recommender {
    /// Short model name, as on the command line (`baseline`, `mf`, ...).
    fn kind(&self) -> &'static str;
    /// Users the model has rows for.
    fn n_users(&self) -> u32;
    /// Items the model has rows for.
    fn n_items(&self) -> u32;
    /// Number of trained parameters.
    fn param_count(&self) -> usize;
    /// Score of a known user and item (a rating estimate for rating models), unclipped.
    fn score(&self, user: u32, item: u32) -> f32;
    /// The estimate when the user, the item or both are unknown (`None`).
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32;

    /// Scores of every item for one known user, into `out` (length `n_items()`).
    fn score_items(&self, user: u32, out: &mut [f32]) {
        for (item, slot) in out.iter_mut().enumerate() {
            *slot = self.score(user, item as u32);
        }
    }

    /// The prediction for any indices: the model's score when both are known, else the
    /// fallback, flagged.
    fn predict(&self, user: u32, item: u32) -> Prediction {
        let known_user = (user < self.n_users()).then_some(user);
        let known_item = (item < self.n_items()).then_some(item);
        match (known_user, known_item) {
            (Some(u), Some(i)) => Prediction {
                value: self.score(u, i),
                fallback: false,
            },
            (u, i) => Prediction {
                value: self.fallback(u, i),
                fallback: true,
            },
        }
    }
}
