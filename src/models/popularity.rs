//! Popularity: every user gets the same item scores, the number of training ratings of
//! each item. The baseline any top-N model has to beat.

use super::Recommender;
use super::{AnyModel, Feedback, FoldedUser, Kind, Model, NamedTensor};
use crate::data::Ratings;

/// Item popularity. [`Recommender::score`] is the item's number of training ratings
/// (whatever their values), the same for every user: **a count, not a rating estimate**,
/// so its rating metrics are meaningless; use it for ranking evaluation
/// ([`crate::metrics::ranking`]) and top-N. [`Recommender::fallback`] is the global mean of
/// the training ratings, the only rating-like figure it has.
///
/// ```
/// use embedrec::data::Ratings;
/// use embedrec::models::{Popularity, Recommender};
/// let mut r = Ratings::default();
/// for (u, i, v) in [(0, 0, 5.0), (1, 0, 3.0), (1, 1, 1.0)] {
///     r.push(u, i, v, None);
/// }
/// let pop = Popularity::train(&r, 2, 3);
/// assert_eq!((pop.score(0, 0), pop.score(1, 1), pop.score(0, 2)), (2.0, 1.0, 0.0));
/// assert_eq!(pop.fallback(None, None), 3.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Popularity {
    /// Training ratings per item (length = items known to the model), as f32 (exact
    /// below 2^24).
    pub counts: Vec<f32>,
    /// Global mean of the training ratings (the fallback).
    pub mu: f32,
    /// Users seen in training.
    pub users: u32,
}

impl Popularity {
    /// Counts the ratings of each item of `train` (indices below `n_users` / `n_items`;
    /// items past `n_items` are ignored).
    pub fn train(train: &Ratings, n_users: u32, n_items: u32) -> Self {
        let mut counts = vec![0.0f32; n_items as usize];
        for &i in &train.items {
            if let Some(c) = counts.get_mut(i as usize) {
                *c += 1.0;
            }
        }
        Popularity {
            counts,
            mu: train.mean() as f32,
            users: n_users,
        }
    }
}

impl Recommender for Popularity {
    fn kind(&self) -> &'static str {
        "popularity"
    }
    fn n_users(&self) -> u32 {
        self.users
    }
    fn n_items(&self) -> u32 {
        self.counts.len() as u32
    }
    fn param_count(&self) -> usize {
        self.counts.len()
    }
    fn score(&self, _user: u32, item: u32) -> f32 {
        self.counts[item as usize]
    }
    fn fallback(&self, _user: Option<u32>, _item: Option<u32>) -> f32 {
        self.mu
    }
    fn score_items(&self, _user: u32, out: &mut [f32]) {
        out.copy_from_slice(&self.counts);
    }
}

impl Model for Popularity {
    boxed_model!();

    /// `mu [1]`, `counts [I]`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        vec![
            NamedTensor::new("mu", &[1], std::slice::from_ref(&self.mu)),
            NamedTensor::new("counts", &[self.counts.len()], &self.counts),
        ]
    }

    /// Nothing personal to fit: the list is the most popular items the user did not
    /// name.
    fn fold_in(
        &self,
        _: &serde_json::Value,
        _: Feedback,
        _: &[(u32, f32)],
        base: FoldedUser,
    ) -> crate::Result<FoldedUser> {
        Ok(base)
    }

    fn folded_scores(&self, _: &FoldedUser) -> Vec<f32> {
        self.counts.clone()
    }
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "popularity",
    about: "Item popularity (training interaction counts): the top-N baseline; implicit only",
    load: |_, users, items, t| {
        let counts = t.values("counts", &[items])?;
        if counts.iter().any(|&c| c < 0.0) {
            return Err("tensor `counts` holds a negative count".into());
        }
        Ok(AnyModel::new(Popularity {
            counts,
            mu: t.scalar("mu")?,
            users: users as u32,
        }))
    },
    member: None,
    params: super::implicit_params::<super::PopularityParams>,
    read: None,
    presets: &[],
    flags: |implicit| implicit.then(|| super::flags::IMPLICIT.to_vec()),
    no_preset: None,
};
