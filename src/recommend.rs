//! Top-N recommendation with a bounded heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A scored item, ordered so that a `BinaryHeap` of them is a min-heap on score
/// (ties: the larger index is "smaller", so lower indices win ties).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Worst(f32, u32);

impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// The `n` highest `scores` as `(item, score)`, best first, skipping the items in
/// `exclude` (sorted ascending) and NaN scores. Uses a heap of at most `n` entries, not
/// a full sort; ties go to the lower item index.
///
/// ```
/// use embedrec::recommend::top_n;
/// let scores = [0.5, 3.0, 2.0, 4.0, 1.0];
/// assert_eq!(top_n(&scores, 2, &[3]), vec![(1, 3.0), (2, 2.0)]);
/// ```
pub fn top_n(scores: &[f32], n: usize, exclude: &[u32]) -> Vec<(u32, f32)> {
    debug_assert!(
        exclude.windows(2).all(|w| w[0] <= w[1]),
        "exclude must be sorted"
    );
    if n == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Worst> = BinaryHeap::with_capacity(n + 1);
    let mut skip = exclude.iter().peekable();
    for (item, &score) in scores.iter().enumerate() {
        let item = item as u32;
        while skip.next_if(|&&e| e < item).is_some() {}
        if skip.peek() == Some(&&item) {
            continue;
        }
        offer(&mut heap, n, score, item);
    }
    best_first(heap)
}

/// Offers `(item, score)` to a heap holding the `n` best so far (NaN is never kept).
#[inline]
fn offer(heap: &mut BinaryHeap<Worst>, n: usize, score: f32, item: u32) {
    if score.is_nan() {
        return;
    }
    let entry = Worst(score, item);
    if heap.len() < n {
        heap.push(entry);
    } else if heap.peek().is_some_and(|worst| entry < *worst) {
        heap.pop();
        heap.push(entry);
    }
}

/// The heap's entries as `(item, score)`, best first (ties: lower item first).
fn best_first(heap: BinaryHeap<Worst>) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = heap.into_iter().map(|Worst(s, i)| (i, s)).collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best
}

/// Users scored together by [`top_n_all_users`].
const USER_BLOCK: usize = 128;
/// Items scored together: a `USER_BLOCK x ITEM_BLOCK` score tile (2 MB) stays in cache
/// while the users' heaps read it.
const ITEM_BLOCK: usize = 4096;

/// The top-`n` list of every user of `model` (users `0..n_users`, in order): see
/// [`top_n_for_users`].
pub fn top_n_all_users<'a>(
    model: &AnyModel,
    rated: &(dyn Fn(u32) -> &'a [u32] + Sync),
    n: usize,
    threads: usize,
    emit: impl FnMut(u32, &[(u32, f32)]) -> Result<()>,
) -> Result<()> {
    let rows: Vec<u32> = (0..model.n_users()).collect();
    top_n_for_users(model, &rows, rated, n, threads, emit)
}

/// The top-`n` list of each user row of `rows` (in that order), each without the items
/// `rated(user)` (sorted ascending), passed to `emit(user, list)`.
///
/// For MF the scores come in tiles: `USER_BLOCK` users x `ITEM_BLOCK` items as one
/// matrix product `P_users Q_items^T` (gemm) plus the biases, each user's row of the
/// tile then fed to that user's bounded heap; memory is one tile per thread plus the
/// heaps, never users x items. A block always has `USER_BLOCK` rows (the users' factor
/// rows gathered, zeros after the last), so a user's scores do not depend on which
/// other users share the block: any subset of users (a partition of a distributed job)
/// gets exactly the lists of [`top_n_all_users`]. Other models score user by user
/// ([`Recommender::score_items`]). `threads` threads take one block of users each; the
/// lists are the same for every thread count. Ties go to the lower item index as in
/// [`top_n`]; scores may differ from [`Recommender::score`] in the last bits (another
/// summation order).
pub fn top_n_for_users<'a>(
    model: &AnyModel,
    rows: &[u32],
    rated: &(dyn Fn(u32) -> &'a [u32] + Sync),
    n: usize,
    threads: usize,
    mut emit: impl FnMut(u32, &[(u32, f32)]) -> Result<()>,
) -> Result<()> {
    let threads = threads.max(1);
    let tile = USER_BLOCK * ITEM_BLOCK.min(model.n_items() as usize);
    let mut scratch: Vec<Vec<f32>> = (0..threads).map(|_| vec![0.0; tile]).collect();
    let blocks: Vec<&[u32]> = rows.chunks(USER_BLOCK).collect();
    for wave in blocks.chunks(threads) {
        let block = |users: &[u32], buf: &mut Vec<f32>| block_lists(model, users, n, rated, buf);
        let results: Vec<Vec<Vec<(u32, f32)>>> = if wave.len() == 1 {
            vec![block(wave[0], &mut scratch[0])]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = wave
                    .iter()
                    .zip(scratch.iter_mut())
                    .map(|(&users, buf)| scope.spawn(move || block(users, buf)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        for (users, lists) in wave.iter().zip(&results) {
            for (&u, list) in users.iter().zip(lists) {
                emit(u, list)?;
            }
        }
    }
    Ok(())
}

/// The lists of the user rows `users` (at most `USER_BLOCK`; see [`top_n_for_users`]);
/// `buf` is the score tile.
fn block_lists<'a>(
    model: &AnyModel,
    users: &[u32],
    n: usize,
    rated: &(dyn Fn(u32) -> &'a [u32] + Sync),
    buf: &mut [f32],
) -> Vec<Vec<(u32, f32)>> {
    use crate::nn::linalg::{Mat, matmul};
    let items = model.n_items() as usize;
    let Some(m) = model.downcast_ref::<crate::models::Mf>() else {
        let mut scores = vec![0.0f32; items];
        return users
            .iter()
            .map(|&u| {
                model.score_items(u, &mut scores);
                top_n(&scores, n, rated(u))
            })
            .collect();
    };
    let (k, nb) = (m.dim, users.len());
    let mut heaps: Vec<BinaryHeap<Worst>> =
        (0..nb).map(|_| BinaryHeap::with_capacity(n + 1)).collect();
    let mut cursors = vec![0usize; nb];
    // The users' factor rows, padded with zero rows to a full block.
    let mut rows = vec![0.0f32; USER_BLOCK * k];
    for (dst, &u) in rows.chunks_exact_mut(k).zip(users) {
        let u = u as usize;
        dst.copy_from_slice(&m.p[u * k..(u + 1) * k]);
    }
    let p = Mat::new(&rows, USER_BLOCK, k);
    for i0 in (0..items).step_by(ITEM_BLOCK) {
        let i1 = (i0 + ITEM_BLOCK).min(items);
        let w = i1 - i0;
        let tile = &mut buf[..USER_BLOCK * w];
        matmul(p, Mat::new(&m.q[i0 * k..i1 * k], w, k).t(), tile, false);
        for (r, row) in tile.chunks_exact(w).take(nb).enumerate() {
            let u = users[r] as usize;
            let base = m.mu + m.user_bias[u];
            let exclude = rated(u as u32);
            let cursor = &mut cursors[r];
            let heap = &mut heaps[r];
            // Once the heap is full, a score at or below its worst cannot enter (an equal
            // score loses the tie: its item index is higher): one compare per item.
            let floor = |h: &BinaryHeap<Worst>| match h.peek() {
                Some(w) if h.len() >= n => w.0,
                _ => f32::NEG_INFINITY,
            };
            let mut worst = floor(heap);
            for ((j, &s), &bi) in row.iter().enumerate().zip(&m.item_bias[i0..i1]) {
                let score = base + bi + s;
                if score <= worst {
                    continue;
                }
                let item = (i0 + j) as u32;
                while exclude.get(*cursor).is_some_and(|&e| e < item) {
                    *cursor += 1;
                }
                if exclude.get(*cursor) == Some(&item) {
                    continue;
                }
                offer(heap, n, score, item);
                worst = floor(heap);
            }
        }
    }
    heaps.into_iter().map(best_first).collect()
}

#[cfg(test)]
mod tests {
    use super::{top_n, top_n_all_users, top_n_for_users};
    use crate::models::{AnyModel, Mf, Recommender};
    use crate::rng::Rng;
    use proptest::prelude::*;

    /// Blocked (gemm tiles, several item blocks, several threads) top-N for all users
    /// against brute force in f64: the same scores at every rank, and never a rated item.
    #[test]
    fn all_users_blocked_matches_brute_force() {
        let (users, items, k) = (300usize, 9000usize, 7usize);
        let mut rng = Rng::seeded(5);
        let mut draw = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
        let model = Mf {
            mu: 3.5,
            dim: k,
            p: draw(users * k),
            q: draw(items * k),
            user_bias: draw(users),
            item_bias: draw(items),
        };
        let mut rng = Rng::seeded(6);
        let rated: Vec<Vec<u32>> = (0..users)
            .map(|_| {
                let mut r: Vec<u32> = (0..rng.below(60))
                    .map(|_| rng.below(items) as u32)
                    .collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect();
        let any = AnyModel::new(model.clone());
        for threads in [1, 3] {
            let mut got: Vec<Vec<(u32, f32)>> = Vec::new();
            top_n_all_users(&any, &|u| &rated[u as usize], 10, threads, |u, list| {
                assert_eq!(u as usize, got.len());
                got.push(list.to_vec());
                Ok(())
            })
            .unwrap();
            assert_eq!(got.len(), users);
            for (u, list) in got.iter().enumerate() {
                let exact = |i: usize| -> f64 {
                    model.mu as f64
                        + model.user_bias[u] as f64
                        + model.item_bias[i] as f64
                        + (0..k)
                            .map(|d| model.p[u * k + d] as f64 * model.q[i * k + d] as f64)
                            .sum::<f64>()
                };
                let mut all: Vec<f64> = (0..items)
                    .filter(|i| rated[u].binary_search(&(*i as u32)).is_err())
                    .map(exact)
                    .collect();
                all.sort_by(|a, b| b.total_cmp(a));
                assert_eq!(list.len(), 10);
                for (rank, &(item, score)) in list.iter().enumerate() {
                    assert!(
                        rated[u].binary_search(&item).is_err(),
                        "user {u} got rated item {item}"
                    );
                    assert!((score as f64 - exact(item as usize)).abs() < 1e-4);
                    assert!(
                        (score as f64 - all[rank]).abs() < 1e-4,
                        "user {u} rank {rank}"
                    );
                }
                let scores: Vec<f32> = {
                    let mut s = vec![0.0; items];
                    model.score_items(u as u32, &mut s);
                    s
                };
                let brute = top_n(&scores, 10, &rated[u]);
                let same = brute.iter().zip(list).filter(|(a, b)| a.0 == b.0).count();
                assert!(same >= 9, "user {u}: {brute:?} vs {list:?}");
            }
        }
    }

    /// Any subset of users, in any blocks, gets bit for bit the lists it gets among all
    /// users (a distributed job's partitions give the single-machine lists).
    #[test]
    fn a_subset_of_users_gets_the_lists_of_all_users() {
        let (users, items, k) = (700usize, 5000usize, 24usize);
        let mut rng = Rng::seeded(8);
        let mut draw = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
        let model = Mf {
            mu: 3.5,
            dim: k,
            p: draw(users * k),
            q: draw(items * k),
            user_bias: draw(users),
            item_bias: draw(items),
        };
        let rated: Vec<Vec<u32>> = (0..users as u32).map(|u| vec![u % 7, u + 100]).collect();
        let any = AnyModel::new(model);
        let mut all: Vec<Vec<(u32, f32)>> = Vec::new();
        top_n_all_users(&any, &|u| &rated[u as usize], 10, 1, |_, list| {
            all.push(list.to_vec());
            Ok(())
        })
        .unwrap();
        let mut rng = Rng::seeded(9);
        for threads in [1, 2] {
            let mut subset: Vec<u32> = (0..users as u32).filter(|_| rng.below(3) == 0).collect();
            rng.shuffle(&mut subset);
            let mut got = Vec::new();
            top_n_for_users(
                &any,
                &subset,
                &|u| &rated[u as usize],
                10,
                threads,
                |u, list| {
                    got.push((u, list.to_vec()));
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(got.len(), subset.len());
            for ((u, list), &want) in got.iter().zip(&subset) {
                assert_eq!(*u, want);
                assert_eq!(list, &all[want as usize], "user {u}");
            }
        }
    }

    proptest! {
        /// The heap agrees with a full sort, and never returns an excluded item.
        #[test]
        fn matches_full_sort(scores in prop::collection::vec(-10i32..10, 0..200), n in 0usize..20,
                             exclude in prop::collection::btree_set(0u32..200, 0..50)) {
            let scores: Vec<f32> = scores.into_iter().map(|s| s as f32).collect();
            let exclude: Vec<u32> = exclude.into_iter().collect();
            let got = top_n(&scores, n, &exclude);
            let mut all: Vec<(u32, f32)> = scores.iter().enumerate()
                .filter(|(i, _)| exclude.binary_search(&(*i as u32)).is_err())
                .map(|(i, &s)| (i as u32, s)).collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(n);
            prop_assert_eq!(got, all);
        }
    }
}

use crate::error::{Error, Result};
use crate::models::{AnyModel, Feedback, Recommender};
use crate::store::TrainedModel;

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

/// Refuses a list length of 0.
fn check_n(n: usize) -> Result<()> {
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
        check_n(n)?;
        let rows: Vec<Option<u32>> = users.iter().map(|u| self.user_index(u.as_ref())).collect();
        let mut lists: Vec<Option<RecommendationList>> = vec![None; users.len()];
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
                let l = listing(self, list.to_vec(), self.clip, false);
                while at < wanted.len() && wanted[at].0 == u {
                    lists[wanted[at].1] = Some(l.clone());
                    at += 1;
                }
                Ok(())
            })?;
        }
        let popular = rows
            .iter()
            .any(Option::is_none)
            .then(|| popular_items(self, n));
        Ok(lists
            .into_iter()
            .map(|l| {
                l.or_else(|| popular.clone())
                    .unwrap_or_else(|| popular_items(self, n))
            })
            .collect())
    }

    /// The `n` items most similar to item `item` (raw id): see [`similar_items`].
    pub fn similar(&self, item: &str, n: usize) -> Result<RecommendationList> {
        check_n(n)?;
        similar_items(self, item, n)
    }

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

fn listing(
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

pub use crate::models::FoldedUser;

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
