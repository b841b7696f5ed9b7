//! Top-N lists and similar items of a saved model, by raw ids; the popularity fallback.

use super::all_users::top_n_for_users;
use crate::error::{Error, Result};
use crate::metrics::heap::top_n;
use crate::model::{AnyModel, Recommender, TrainedModel};

/// One recommended item of a saved model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recommendation {
    /// Raw item id.
    pub item: String,
    /// The model's score (a rating estimate for rating models, clipped when the model
    /// clips).
    pub score: f32,
    /// Title, when item metadata was present at training time.
    pub title: Option<String>,
}

/// A top-N list and whether it is the popularity fallback (unknown user). Iterating it
/// yields its [`Recommendation`]s, best first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecommendationList {
    /// Best first.
    pub items: Vec<Recommendation>,
    /// True when the user was unknown and the list is the most-rated items.
    pub fallback: bool,
}

impl IntoIterator for RecommendationList {
    type Item = Recommendation;
    type IntoIter = std::vec::IntoIter<Recommendation>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a RecommendationList {
    type Item = &'a Recommendation;
    type IntoIter = std::slice::Iter<'a, Recommendation>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// A top-N list by item rows (see [`TrainedModel::recommend_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RowList {
    /// `(item row, score)`, best first.
    pub items: Vec<(u32, f32)>,
    /// True when the user was unknown and the list is the most-rated items.
    pub fallback: bool,
}

/// Refuses a list length of 0.
pub(super) fn check_n(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::Usage("a list needs n >= 1 items".into()));
    }
    Ok(())
}

impl TrainedModel {
    /// The `n` best items for the user with raw id `user`, excluding the items the user
    /// rated in training; an unknown user gets the `n` most-rated items, flagged as a
    /// fallback (as `embedrec recommend` does). Scores are clipped when the model clips.
    pub fn recommend(&self, user: &str, n: usize) -> Result<RecommendationList> {
        check_n(n)?;
        Ok(recommend_user(self, user, n))
    }

    /// [`TrainedModel::recommend`], with the user's training items listed too when
    /// `exclude_seen` is false.
    pub fn recommend_with(
        &self,
        user: &str,
        n: usize,
        exclude_seen: bool,
    ) -> Result<RecommendationList> {
        check_n(n)?;
        Ok(recommend_user_with(self, user, n, exclude_seen))
    }

    /// The lists of many users at once (raw ids, in order; unknown users get the
    /// popularity fallback), scored in blocks on `threads` threads (mf: user x item
    /// tiles by matrix products; memory is one tile per thread, never users x items).
    /// Only the users asked for are scored, and each gets exactly the list it gets among
    /// all users ([`top_n_for_users`]), so a job split over many calls (a distributed
    /// one) gives the single call's lists.
    pub fn recommend_many<S: AsRef<str>>(
        &self,
        users: &[S],
        n: usize,
        threads: usize,
    ) -> Result<Vec<RecommendationList>> {
        self.recommend_many_with(users, n, threads, true)
    }

    /// [`TrainedModel::recommend_many`], with each user's training items listed too when
    /// `exclude_seen` is false.
    pub fn recommend_many_with<S: AsRef<str>>(
        &self,
        users: &[S],
        n: usize,
        threads: usize,
        exclude_seen: bool,
    ) -> Result<Vec<RecommendationList>> {
        Ok(self
            .recommend_rows(users, n, threads, exclude_seen)?
            .into_iter()
            .map(|l| listing(self, l.items, false, l.fallback))
            .collect())
    }

    /// [`TrainedModel::recommend_many_with`] by item rows: each list's `(item row,
    /// score)` pairs, best first, scores clipped as in the lists by raw ids (the raw id of
    /// a row is `self.items.raw(row)`). For fronts that map rows to their own ids once
    /// (the Python and Spark lists) instead of one string per listed item.
    pub fn recommend_rows<S: AsRef<str>>(
        &self,
        users: &[S],
        n: usize,
        threads: usize,
        exclude_seen: bool,
    ) -> Result<Vec<RowList>> {
        check_n(n)?;
        let rows: Vec<Option<u32>> = users.iter().map(|u| self.user_index(u.as_ref())).collect();
        let mut lists: Vec<Option<RowList>> = vec![None; users.len()];
        // Known users in row order through the blocked scorer; each row's list goes to
        // every position asking for it.
        let mut wanted: Vec<(u32, usize)> = rows
            .iter()
            .enumerate()
            .filter_map(|(k, r)| r.map(|r| (r, k)))
            .collect();
        wanted.sort_unstable();
        let mut distinct: Vec<u32> = wanted.iter().map(|&(r, _)| r).collect();
        distinct.dedup();
        if !distinct.is_empty() {
            let rated = |u: u32| {
                if exclude_seen {
                    self.rated_items(u)
                } else {
                    &[][..]
                }
            };
            let mut at = 0;
            top_n_for_users(&self.model, &distinct, &rated, n, threads, |u, list| {
                let clip = |(i, s): (u32, f32)| (i, if self.clip { self.scale.clip(s) } else { s });
                let l = RowList {
                    items: list.iter().copied().map(clip).collect(),
                    fallback: false,
                };
                while at < wanted.len() && wanted[at].0 == u {
                    lists[wanted[at].1] = Some(l.clone());
                    at += 1;
                }
                Ok(())
            })?;
        }
        let popular = || RowList {
            items: top_n(&item_popularity(self), n, &[]),
            fallback: true,
        };
        let fallback = rows.iter().any(Option::is_none).then(popular);
        Ok(lists
            .into_iter()
            .map(|l| l.or_else(|| fallback.clone()).unwrap_or_else(popular))
            .collect())
    }

    /// The `n` items most similar to item `item` (raw id): see [`similar_items`].
    pub fn similar(&self, item: &str, n: usize) -> Result<RecommendationList> {
        check_n(n)?;
        similar_items(self, item, n)
    }
}

/// Number of training ratings of each item, from the rated-items lists of the model file.
pub fn item_popularity(saved: &TrainedModel) -> Vec<f32> {
    let mut counts = vec![0.0f32; saved.items.len()];
    for u in 0..saved.users.len() as u32 {
        for &i in saved.rated_items(u) {
            counts[i as usize] += 1.0;
        }
    }
    counts
}

pub(super) fn listing(
    saved: &TrainedModel,
    ranked: Vec<(u32, f32)>,
    clip: bool,
    fallback: bool,
) -> RecommendationList {
    let items = ranked
        .into_iter()
        .map(|(i, s)| Recommendation {
            item: saved.items.raw(i).to_string(),
            score: if clip { saved.scale.clip(s) } else { s },
            title: saved.title(i).map(str::to_string),
        })
        .collect();
    RecommendationList { items, fallback }
}

/// The `n` best items for the user with raw id `user` that the user did not rate in
/// training; an unknown user gets the `n` most-rated items, flagged as a fallback.
pub fn recommend_user(saved: &TrainedModel, user: &str, n: usize) -> RecommendationList {
    recommend_user_with(saved, user, n, true)
}

/// Like [`recommend_user`]; with `exclude_seen` false the items the user rated in
/// training may be listed too (scored like every other item).
pub fn recommend_user_with(
    saved: &TrainedModel,
    user: &str,
    n: usize,
    exclude_seen: bool,
) -> RecommendationList {
    let mut scores = vec![0.0f32; saved.items.len()];
    match saved.user_index(user) {
        Some(u) => {
            saved.model.score_items(u, &mut scores);
            let exclude = if exclude_seen {
                saved.rated_items(u)
            } else {
                &[]
            };
            listing(saved, top_n(&scores, n, exclude), saved.clip, false)
        }
        None => popular_items(saved, n),
    }
}

/// The most-rated items, flagged as a fallback: the list for a user nothing is known
/// about.
pub fn popular_items(saved: &TrainedModel, n: usize) -> RecommendationList {
    listing(saved, top_n(&item_popularity(saved), n, &[]), false, true)
}

/// The item embedding table `[items, K]` row-major and K, for the kinds that have one
/// (see [`crate::models::Model::item_factors`]).
pub fn item_embeddings(model: &AnyModel) -> Option<(&[f32], usize)> {
    model.item_factors()
}

/// Whether [`similar_items`] can answer for the model: it has item embeddings, or it is
/// an item-item model (ease).
pub fn has_item_embeddings(saved: &TrainedModel) -> bool {
    saved.model.has_similar()
}

/// The `n` items nearest to item `item` (raw id): by cosine similarity of the item
/// embeddings (see [`item_embeddings`]; the item itself excluded), or the kind's own
/// item-item weights (ease: the largest weights of the item's row of `B`). Models
/// without either are a usage error; an unknown item is an input error.
pub fn similar_items(saved: &TrainedModel, item: &str, n: usize) -> Result<RecommendationList> {
    if !saved.model.has_similar() {
        return Err(Error::Usage(format!(
            "a {} model has no item embeddings to compare",
            saved.model.kind()
        )));
    }
    let Some(target) = saved.item_index(item) else {
        return Err(Error::Usage(format!("item {item} is unknown to the model")));
    };
    let scores = saved.model.similar_scores(target).unwrap_or_default();
    Ok(listing(saved, top_n(&scores, n, &[target]), false, false))
}
