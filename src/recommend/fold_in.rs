//! Fold-in: a new user fitted from their ratings with the rest of the model frozen.

use super::lists::{RecommendationList, check_n, listing};
use crate::error::{Error, Result};
use crate::metrics::heap::top_n;
use crate::model::{AnyModel, Feedback, TrainedModel};

impl TrainedModel {
    /// Refuses ([`Error::Usage`]) a fold-in rating that is not a finite number or lies
    /// outside the model's rating scale (the readers refuse such ratings in training
    /// data too); `item` (a raw id) is only named in the message.
    pub fn check_fold_in_rating(&self, item: &str, rating: f32) -> Result<()> {
        if !rating.is_finite() {
            return Err(Error::Usage(format!(
                "fold-in: the rating of item {item} is not a number"
            )));
        }
        if !self.scale.contains(rating) {
            return Err(Error::Usage(format!(
                "fold-in: rating {rating} of item {item} lies outside the model's rating \
                 scale {}..{}",
                self.scale.min, self.scale.max
            )));
        }
        Ok(())
    }

    /// Fits a new user from `(raw item id, rating)` pairs with everything else frozen
    /// (see [`fold_in`] for each kind's method). Items unknown to the model are skipped
    /// and returned; no known item is an error; a rating outside the model's scale (or
    /// not a number) is an error naming it, whether its item is known or not.
    pub fn fold_in<S: AsRef<str>>(
        &self,
        ratings: &[(S, f32)],
    ) -> Result<(FoldedUser, Vec<String>)> {
        let mut pairs = Vec::with_capacity(ratings.len());
        let mut unknown = Vec::new();
        for (item, r) in ratings {
            self.check_fold_in_rating(item.as_ref(), *r)?;
            match self.item_index(item.as_ref()) {
                Some(i) => pairs.push((i, *r)),
                None => unknown.push(item.as_ref().to_string()),
            }
        }
        if pairs.is_empty() {
            return Err(Error::Usage(
                "fold-in: no rating of an item the model knows".into(),
            ));
        }
        Ok((fold_in(self, &pairs)?, unknown))
    }

    /// The `n` best items for a folded-in user, excluding the items they rated.
    pub fn recommend_folded(&self, user: &FoldedUser, n: usize) -> Result<RecommendationList> {
        check_n(n)?;
        Ok(recommend_folded(self, user, n))
    }
}

pub use crate::model::FoldedUser;

/// Fits a new user to `(item index, rating)` pairs with the item side frozen, for the
/// saved model's kind:
/// - MF: the user's bias and factors by ridge regression, minimising
///   `sum (r - mu - b_i - b_u - p.q_i)^2 + n (l2 |p|^2 + l2_bias b_u^2)` — the objective
///   the model was trained on (per-occurrence L2), restricted to this user;
/// - baseline and kNN: the ALS user step of the baseline,
///   `b_u = sum (r - mu - b_i) / (reg_user + n)`; kNN then predicts from these ratings
///   and the stored item-item similarities, exactly as for a training user;
/// - blend: each member folded in on its own;
/// - mf trained with a ranking loss: the same loss, negatives and epochs on the new
///   user's row, the items frozen ([`crate::models::MfRankParams::fold_in`]);
/// - ials: the exact user step of weighted ALS (the items as interactions, the values
///   as confidences) with the item factors frozen ([`crate::models::Ials::fold_in`]);
/// - popularity: nothing to fit (the most popular items the user did not name);
/// - ease: the named items are the user's input row, in the order given taken as
///   chronological for a model with recency ([`crate::models::EaseParams::fold_in`]);
///   the row's weights go to `factors`, aligned with `ratings`;
/// - deep: refused (its user input passes through the dense layers).
///
/// Each rating must be finite and inside the model's scale, each item a row of the
/// model ([`Error::Usage`] naming the first that is not).
pub fn fold_in(saved: &TrainedModel, ratings: &[(u32, f32)]) -> Result<FoldedUser> {
    if ratings.is_empty() {
        return Err(Error::Usage(
            "fold-in needs at least one (item, rating) pair".into(),
        ));
    }
    for &(i, r) in ratings {
        if i as usize >= saved.items.len() {
            return Err(Error::Usage(format!(
                "fold-in: item row {i} is past the model's {} items",
                saved.items.len()
            )));
        }
        saved.check_fold_in_rating(saved.items.raw(i), r)?;
    }
    fold_in_model(&saved.model, &saved.params, saved.feedback, ratings)
}

fn fold_in_model(
    model: &AnyModel,
    params: &serde_json::Value,
    feedback: Feedback,
    ratings: &[(u32, f32)],
) -> Result<FoldedUser> {
    // One rating per item, the last given wins.
    let mut unique: Vec<(u32, f32)> = Vec::with_capacity(ratings.len());
    for &(i, r) in ratings.iter().rev() {
        if !unique.iter().any(|&(j, _)| j == i) {
            unique.push((i, r));
        }
    }
    unique.sort_unstable_by_key(|&(i, _)| i);
    let base = FoldedUser {
        rated: unique.iter().map(|&(i, _)| i).collect(),
        ratings: unique,
        ..Default::default()
    };
    model.fold_in(params, feedback, ratings, base)
}

/// The `n` best items for a folded-in user, excluding the items they rated.
pub fn recommend_folded(saved: &TrainedModel, user: &FoldedUser, n: usize) -> RecommendationList {
    let scores = folded_scores(&saved.model, user);
    listing(saved, top_n(&scores, n, &user.rated), saved.clip, false)
}

/// The model's (unclipped) score of every item for a folded-in user.
fn folded_scores(model: &AnyModel, user: &FoldedUser) -> Vec<f32> {
    model.folded_scores(user)
}
