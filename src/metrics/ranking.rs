//! Top-K ranking evaluation.
//!
//! - Per-list metrics as small pure functions over one user's ranked list (best first,
//!   distinct items) and relevant set (sorted ascending, no duplicates):
//!   [`precision_at_k`], [`recall_at_k`], [`ndcg_at_k`], [`hit_rate_at_k`],
//!   [`average_precision_at_k`], [`reciprocal_rank_at_k`], and [`catalog_coverage`] over
//!   all users' lists.
//! - **Protocol A, full ranking** ([`ranking_metrics`]): every item the model knows is a
//!   candidate, except the user's training items.
//! - **Protocol B, sampled ranking** ([`sampled_ranking_metrics`]): the NCF leave-one-out
//!   protocol, each held-out item ranked among `N` sampled unrated items.
//!
//! Definitions (`rel` = the relevant set, `hits` = relevant items among the first `K` of
//! the list, positions `i` counted from 1):
//!
//! | metric | definition |
//! |---|---|
//! | Precision@K | `hits / K` (always `K`, even when fewer than `K` candidates exist) |
//! | Recall@K | `hits / |rel|` |
//! | NDCG@K | `DCG / IDCG`, `DCG = Σ_{hit i ≤ K} 1 / log2(i + 1)`, `IDCG = Σ_{i=1}^{min(|rel|, K)} 1 / log2(i + 1)` |
//! | HR@K | 1 when `hits > 0`, else 0 |
//! | AP@K (MAP) | `Σ_{hit i ≤ K} precision@i / min(|rel|, K)` |
//! | RR@K (MRR) | `1 / i` for the first hit `i ≤ K`, else 0 |
//! | coverage@K | distinct items in all users' top-K lists / items in the catalog |
//!
//! Every per-user metric is 0 when `rel` is empty or `K = 0`; protocol A skips such users.

use super::heap::top_n;
use crate::data::{Ratings, TrainTest};
use crate::model::Recommender;
use crate::rng::Rng;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Default relevance threshold of protocol A: a test rating of 4 or more is relevant.
pub const DEFAULT_THRESHOLD: f32 = 4.0;
/// Default number of sampled negatives of protocol B (the NCF paper's 99).
pub const DEFAULT_NEGATIVES: usize = 99;

fn is_relevant(relevant: &[u32], item: u32) -> bool {
    relevant.binary_search(&item).is_ok()
}

/// `1 / log2(position + 1)`, the DCG discount of a 1-based position.
fn discount(position: usize) -> f64 {
    1.0 / ((position + 1) as f64).log2()
}

/// Whether a negative scoring `score` ranks ahead of a held-out item scoring `target`
/// under pessimistic ties: anything but strictly below, so ties and NaNs count ahead.
fn not_below(score: f32, target: f32) -> bool {
    !matches!(score.partial_cmp(&target), Some(std::cmp::Ordering::Less))
}

/// Relevant items among the first `k` of `ranked`.
pub fn hits_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> usize {
    ranked
        .iter()
        .take(k)
        .filter(|&&i| is_relevant(relevant, i))
        .count()
}

/// Precision@K: `hits / k` (0 when `k == 0`). The denominator is `k` even when `ranked`
/// is shorter (fewer candidates than `k`).
///
/// ```
/// use embedrec::eval::ranking::precision_at_k;
/// assert_eq!(precision_at_k(&[3, 1, 2], &[1, 2], 2), 0.5);
/// ```
pub fn precision_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    hits_at_k(ranked, relevant, k) as f64 / k as f64
}

/// Recall@K: `hits / |relevant|` (0 when `relevant` is empty).
pub fn recall_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    hits_at_k(ranked, relevant, k) as f64 / relevant.len() as f64
}

/// NDCG@K with binary gains: `Σ_{hit i ≤ k} 1/log2(i+1)` over the ideal
/// `Σ_{i=1}^{min(|relevant|, k)} 1/log2(i+1)` (0 when `relevant` is empty or `k == 0`).
pub fn ndcg_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let ideal: f64 = (1..=relevant.len().min(k)).map(discount).sum();
    if ideal == 0.0 {
        return 0.0;
    }
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|&(_, &item)| is_relevant(relevant, item))
        .map(|(pos, _)| discount(pos + 1))
        .sum();
    dcg / ideal
}

/// HR@K: 1 when any of the first `k` items is relevant, else 0.
pub fn hit_rate_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let hit = ranked.iter().take(k).any(|&i| is_relevant(relevant, i));
    if hit { 1.0 } else { 0.0 }
}

/// AP@K: the sum of precision@i over the hit positions `i ≤ k`, divided by
/// `min(|relevant|, k)` (0 when that is 0). MAP@K is its mean over users.
pub fn average_precision_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let norm = relevant.len().min(k);
    if norm == 0 {
        return 0.0;
    }
    let (mut hits, mut sum) = (0usize, 0.0f64);
    for (pos, &item) in ranked.iter().take(k).enumerate() {
        if is_relevant(relevant, item) {
            hits += 1;
            sum += hits as f64 / (pos + 1) as f64;
        }
    }
    sum / norm as f64
}

/// Reciprocal rank within K: `1 / i` for the first relevant item at position `i ≤ k`
/// (1-based), else 0. MRR@K is its mean over users.
pub fn reciprocal_rank_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|&i| is_relevant(relevant, i))
        .map_or(0.0, |pos| 1.0 / (pos + 1) as f64)
}

/// Catalog coverage: distinct items among `recommended` (all users' top-K lists
/// concatenated) that lie in `0..n_items`, divided by `n_items` (0 when `n_items == 0`).
///
/// ```
/// use embedrec::eval::ranking::catalog_coverage;
/// assert_eq!(catalog_coverage([0, 1, 1, 0], 4), 0.5);
/// ```
pub fn catalog_coverage(recommended: impl IntoIterator<Item = u32>, n_items: usize) -> f64 {
    if n_items == 0 {
        return 0.0;
    }
    let mut seen = vec![false; n_items];
    let mut distinct = 0usize;
    for item in recommended {
        if let Some(s) = seen.get_mut(item as usize)
            && !*s
        {
            *s = true;
            distinct += 1;
        }
    }
    distinct as f64 / n_items as f64
}

/// Each user's distinct items (sorted ascending), compressed-row layout.
struct UserItems {
    start: Vec<usize>,
    items: Vec<u32>,
}

impl UserItems {
    /// The items of users `0..n_users` in `r` whose value passes `keep` (other users'
    /// ratings are ignored), sorted and deduplicated per user.
    fn build(r: &Ratings, n_users: usize, keep: impl Fn(f32) -> bool) -> Self {
        let wanted = |k: usize| (r.users[k] as usize) < n_users && keep(r.values[k]);
        let mut start = vec![0usize; n_users + 1];
        for k in (0..r.len()).filter(|&k| wanted(k)) {
            start[r.users[k] as usize + 1] += 1;
        }
        for u in 0..n_users {
            start[u + 1] += start[u];
        }
        let mut fill = start.clone();
        let mut items = vec![0u32; start[n_users]];
        for k in (0..r.len()).filter(|&k| wanted(k)) {
            let u = r.users[k] as usize;
            items[fill[u]] = r.items[k];
            fill[u] += 1;
        }
        // Sort and deduplicate each row, compacting in place.
        let mut out = 0usize;
        for u in 0..n_users {
            let (lo, hi) = (start[u], start[u + 1]);
            items[lo..hi].sort_unstable();
            start[u] = out;
            for k in lo..hi {
                if k == lo || items[k] != items[k - 1] {
                    items[out] = items[k];
                    out += 1;
                }
            }
        }
        start[n_users] = out;
        items.truncate(out);
        UserItems { start, items }
    }

    fn get(&self, user: usize) -> &[u32] {
        &self.items[self.start[user]..self.start[user + 1]]
    }
}

/// Averages of the top-K metrics of protocol A ([`ranking_metrics`]).
///
/// Serializes (and [`RankingMetrics::to_json`] renders) to exactly the command-line
/// contract's keys with `K` substituted: `precision@K`, `recall@K`, `ndcg@K`, `hr@K`,
/// `map@K`, `mrr@K`, `coverage@K` (`k` and `users` are not serialized).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankingMetrics {
    /// Length of each recommendation list.
    pub k: usize,
    /// Users evaluated (known to the model, with at least one relevant test item).
    pub users: usize,
    /// Mean Precision@K.
    pub precision: f64,
    /// Mean Recall@K.
    pub recall: f64,
    /// Mean NDCG@K.
    pub ndcg: f64,
    /// Mean HR@K (fraction of users with at least one hit).
    pub hr: f64,
    /// MAP@K (mean AP@K).
    pub map: f64,
    /// MRR@K (mean reciprocal rank within K).
    pub mrr: f64,
    /// Catalog coverage@K over the evaluated users' lists.
    pub coverage: f64,
}

impl RankingMetrics {
    /// The metrics as one JSON object with the contract keys, e.g. `{"precision@10": ..}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a map of numbers always serializes")
    }
}

impl Serialize for RankingMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let k = self.k;
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry(&format!("precision@{k}"), &self.precision)?;
        map.serialize_entry(&format!("recall@{k}"), &self.recall)?;
        map.serialize_entry(&format!("ndcg@{k}"), &self.ndcg)?;
        map.serialize_entry(&format!("hr@{k}"), &self.hr)?;
        map.serialize_entry(&format!("map@{k}"), &self.map)?;
        map.serialize_entry(&format!("mrr@{k}"), &self.mrr)?;
        map.serialize_entry(&format!("coverage@{k}"), &self.coverage)?;
        map.end()
    }
}

/// Protocol A, full ranking, averaged over users.
///
/// A test user is evaluated when the model knows it (`user < model.n_users()`) and it
/// has at least one **relevant** test item: a test rating `>= t` under
/// `threshold = Some(t)` (use [`DEFAULT_THRESHOLD`], 4.0, for 1-5 stars), every test item
/// under `None` (implicit data). Other users are skipped and not counted in `users`.
///
/// For each evaluated user the model scores every item it knows
/// ([`Recommender::score_items`] into one reused buffer of `n_items` scores; no
/// all-pairs memory), the items the user rated **in training** are excluded, and the top
/// `k` are taken with [`top_n`] (ties go to the lower item index; NaN scores are never
/// recommended). The per-user metrics of the module table are averaged over the
/// evaluated users; coverage divides the distinct recommended items by
/// `model.n_items()`.
///
/// - A relevant test item unknown to the model (index `>= model.n_items()`, i.e. not in
///   training) still counts in `|relevant|` (recall, NDCG's ideal DCG, AP's
///   normaliser) but can never be hit: the model is charged for items it cannot know,
///   as rating evaluation charges it for unknown ids.
/// - Likewise a relevant test item the user also rated in training (only possible with
///   overlapping files) is excluded from the candidates and counts as a miss.
/// - With fewer than `k` candidates the list is shorter; precision still divides by `k`.
/// - With no evaluated user every mean is 0 and `users` is 0.
///
/// ```
/// use embedrec::data::{IdMap, Ratings, TrainTest};
/// use embedrec::eval::ranking_metrics;
/// use embedrec::models::Popularity;
/// let (mut train, mut test) = (Ratings::default(), Ratings::default());
/// // Item 0 is rated by both users, item 1 by user 0 only: popularity ranks 0, 1, 2.
/// for (u, i) in [(0, 0), (0, 1), (1, 0)] {
///     train.push(u, i, 5.0, None);
/// }
/// test.push(1, 1, 5.0, None); // relevant
/// test.push(1, 2, 2.0, None); // below the threshold
/// let split = TrainTest::new(train, test, IdMap::from_raw(["a", "b"]), IdMap::from_raw(["x", "y", "z"]));
/// let model = Popularity::train(&split.train, split.train_users, split.train_items);
/// // User 1's training item 0 is excluded: its list is [1] (item 2 is unknown to the model).
/// let m = ranking_metrics(&model, &split, 1, Some(4.0));
/// assert_eq!((m.users, m.precision, m.ndcg, m.hr), (1, 1.0, 1.0, 1.0));
/// assert_eq!(m.to_json()["coverage@1"], 0.5);
/// ```
pub fn ranking_metrics(
    model: &dyn Recommender,
    split: &TrainTest,
    k: usize,
    threshold: Option<f32>,
) -> RankingMetrics {
    ranking_metrics_of(model, &split.train, &split.test, k, threshold)
}

/// [`ranking_metrics`] of `test` with the items of `train` excluded from each user's
/// list (both over the model's rows; indices past them are unknown to the model).
pub fn ranking_metrics_of(
    model: &dyn Recommender,
    train: &Ratings,
    test: &Ratings,
    k: usize,
    threshold: Option<f32>,
) -> RankingMetrics {
    let n_users = model.n_users() as usize;
    let n_items = model.n_items() as usize;
    let relevant = UserItems::build(test, n_users, |v| threshold.is_none_or(|t| v >= t));
    let train = UserItems::build(train, n_users, |_| true);
    let mut scores = vec![0.0f32; n_items];
    let mut ranked: Vec<u32> = Vec::with_capacity(k);
    let mut recommended: Vec<u32> = Vec::new();
    let mut sums = [0.0f64; 6];
    let mut users = 0usize;
    for user in 0..n_users {
        let rel = relevant.get(user);
        if rel.is_empty() {
            continue;
        }
        model.score_items(user as u32, &mut scores);
        ranked.clear();
        ranked.extend(top_n(&scores, k, train.get(user)).iter().map(|&(i, _)| i));
        let values = [
            precision_at_k(&ranked, rel, k),
            recall_at_k(&ranked, rel, k),
            ndcg_at_k(&ranked, rel, k),
            hit_rate_at_k(&ranked, rel, k),
            average_precision_at_k(&ranked, rel, k),
            reciprocal_rank_at_k(&ranked, rel, k),
        ];
        for (s, v) in sums.iter_mut().zip(values) {
            *s += v;
        }
        recommended.extend_from_slice(&ranked);
        users += 1;
    }
    let mean = |s: f64| if users == 0 { 0.0 } else { s / users as f64 };
    RankingMetrics {
        k,
        users,
        precision: mean(sums[0]),
        recall: mean(sums[1]),
        ndcg: mean(sums[2]),
        hr: mean(sums[3]),
        map: mean(sums[4]),
        mrr: mean(sums[5]),
        coverage: catalog_coverage(recommended, n_items),
    }
}

/// Averages of protocol B ([`sampled_ranking_metrics`]), over held-out (user, item)
/// cases.
///
/// Serializes (and [`SampledRankingMetrics::to_json`] renders) to the contract keys it
/// has: `hr@K`, `ndcg@K`, `mrr@K`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampledRankingMetrics {
    /// Cut-off rank.
    pub k: usize,
    /// Negatives sampled per case (fewer for a user with fewer unrated items).
    pub negatives: usize,
    /// Distinct users evaluated.
    pub users: usize,
    /// Held-out (user, item) cases evaluated; equals `users` under leave-one-out.
    pub cases: usize,
    /// Cases whose held-out item is unknown to the model (counted as misses).
    pub unknown: usize,
    /// HR@K: fraction of cases whose held-out item ranks within `k`.
    pub hr: f64,
    /// Mean NDCG@K (`1 / log2(rank + 1)` on a hit, else 0).
    pub ndcg: f64,
    /// MRR@K (`1 / rank` on a hit, else 0).
    pub mrr: f64,
}

impl SampledRankingMetrics {
    /// The metrics as one JSON object: `{"hr@K": .., "ndcg@K": .., "mrr@K": ..}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a map of numbers always serializes")
    }
}

impl Serialize for SampledRankingMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let k = self.k;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(&format!("hr@{k}"), &self.hr)?;
        map.serialize_entry(&format!("ndcg@{k}"), &self.ndcg)?;
        map.serialize_entry(&format!("mrr@{k}"), &self.mrr)?;
        map.end()
    }
}

/// Protocol B, the NCF leave-one-out sampled ranking (He et al. 2017), seeded.
///
/// Every distinct test (user, item) pair of a user known to the model is one case (under
/// a leave-one-out split, one case per user). The held-out item is ranked among
/// `negatives` items ([`DEFAULT_NEGATIVES`] = 99) drawn uniformly **without
/// replacement** from the items the model knows that the user rated neither in training
/// nor in test (all of them when fewer remain), scored with [`Recommender::score`].
///
/// **Ties are counted pessimistically:** `rank = 1 + #{negatives whose score is not
/// strictly below the held-out item's}` — a tie, or a NaN score on either side, puts
/// the negative ahead. A model scoring everything equally therefore gets rank
/// `negatives + 1`, never a lucky hit. HR@K = `rank <= k`, NDCG@K = `1/log2(rank + 1)`
/// and RR = `1/rank` on a hit, else 0; all three are averaged over cases. A held-out
/// item unknown to the model cannot be ranked and is a miss (counted in `unknown`).
///
/// Cases run in user order, then item order, drawing from one [`Rng`] seeded with
/// `seed`: the same inputs and seed give the same result.
pub fn sampled_ranking_metrics(
    model: &dyn Recommender,
    split: &TrainTest,
    k: usize,
    negatives: usize,
    seed: u64,
) -> SampledRankingMetrics {
    sampled_ranking_metrics_of(model, &split.train, &split.test, k, negatives, seed)
}

/// [`sampled_ranking_metrics`] of `test` with the items of `train` never sampled as
/// negatives (both over the model's rows).
pub fn sampled_ranking_metrics_of(
    model: &dyn Recommender,
    train: &Ratings,
    test: &Ratings,
    k: usize,
    negatives: usize,
    seed: u64,
) -> SampledRankingMetrics {
    let n_users = model.n_users() as usize;
    let n_items = model.n_items() as usize;
    let held_out = UserItems::build(test, n_users, |_| true);
    let train = UserItems::build(train, n_users, |_| true);
    let mut rng = Rng::seeded(seed);
    // `rated[i] == stamp` marks items the current user rated; `taken[i] == case` marks
    // negatives already drawn for the current case.
    let (mut rated, mut taken) = (vec![0u32; n_items], vec![0u32; n_items]);
    let (mut stamp, mut case) = (0u32, 0u32);
    let mut sample: Vec<u32> = Vec::with_capacity(negatives);
    let mut pool: Vec<u32> = Vec::new();
    let (mut users, mut cases, mut unknown) = (0usize, 0usize, 0usize);
    let (mut hr, mut ndcg, mut mrr) = (0.0f64, 0.0f64, 0.0f64);
    for user in 0..n_users {
        let items = held_out.get(user);
        if items.is_empty() {
            continue;
        }
        users += 1;
        stamp += 1;
        let mut n_rated = 0usize;
        for &i in train.get(user).iter().chain(items) {
            if let Some(r) = rated.get_mut(i as usize)
                && *r != stamp
            {
                *r = stamp;
                n_rated += 1;
            }
        }
        let available = n_items - n_rated;
        let want = negatives.min(available);
        for &item in items {
            cases += 1;
            if item as usize >= n_items {
                unknown += 1;
                continue;
            }
            case += 1;
            sample.clear();
            if 2 * want <= available {
                // Sparse: rejection sampling, expected fewer than 2 draws per negative.
                while sample.len() < want {
                    let j = rng.below(n_items);
                    if rated[j] != stamp && taken[j] != case {
                        taken[j] = case;
                        sample.push(j as u32);
                    }
                }
            } else {
                // Dense: a partial Fisher-Yates shuffle of the unrated items.
                pool.clear();
                pool.extend((0..n_items as u32).filter(|&j| rated[j as usize] != stamp));
                for t in 0..want {
                    let j = t + rng.below(pool.len() - t);
                    pool.swap(t, j);
                }
                sample.extend_from_slice(&pool[..want]);
            }
            let target = model.score(user as u32, item);
            let ahead = sample
                .iter()
                .filter(|&&j| not_below(model.score(user as u32, j), target))
                .count();
            let rank = 1 + ahead;
            if rank <= k {
                hr += 1.0;
                ndcg += discount(rank);
                mrr += 1.0 / rank as f64;
            }
        }
    }
    let mean = |s: f64| if cases == 0 { 0.0 } else { s / cases as f64 };
    SampledRankingMetrics {
        k,
        negatives,
        users,
        cases,
        unknown,
        hr: mean(hr),
        ndcg: mean(ndcg),
        mrr: mean(mrr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IdMap;
    use crate::data::split::{leave_k_out, random_holdout};
    use crate::data::synthetic::{SynthParams, generate};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// `1 / log2(3)`, the discount of position 2.
    fn d2() -> f64 {
        1.0 / 3f64.log2()
    }

    #[test]
    fn metrics_match_hand_computation() {
        // ranked 5, 2, 7, 1, 9; relevant {1, 2, 3}: hits at positions 2 (item 2) and 4 (item 1).
        let (ranked, rel) = ([5, 2, 7, 1, 9], [1, 2, 3]);
        // K = 5: hits = 2.
        assert!(close(precision_at_k(&ranked, &rel, 5), 2.0 / 5.0)); // 2 / K
        assert!(close(recall_at_k(&ranked, &rel, 5), 2.0 / 3.0)); // 2 / |rel|
        // DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161;
        // IDCG over min(3, 5) = 3 positions = 1 + 1/log2(3) + 1/log2(4) = 2.13093; NDCG = 0.49819.
        let ndcg = (d2() + 1.0 / 5f64.log2()) / (1.0 + d2() + 0.5);
        assert!(close(ndcg_at_k(&ranked, &rel, 5), ndcg));
        assert!((ndcg - 0.49819).abs() < 1e-5);
        assert_eq!(hit_rate_at_k(&ranked, &rel, 5), 1.0);
        // AP = (precision@2 + precision@4) / min(3, 5) = (1/2 + 2/4) / 3 = 1/3.
        assert!(close(average_precision_at_k(&ranked, &rel, 5), 1.0 / 3.0));
        assert_eq!(reciprocal_rank_at_k(&ranked, &rel, 5), 0.5); // first hit at 2
        assert_eq!(hits_at_k(&ranked, &rel, 5), 2);

        // K = 3: the list is 5, 2, 7; one hit at position 2.
        assert!(close(precision_at_k(&ranked, &rel, 3), 1.0 / 3.0)); // 1 / 3
        assert!(close(recall_at_k(&ranked, &rel, 3), 1.0 / 3.0)); // 1 / 3
        // DCG = 1/log2(3); IDCG over min(3, 3) = 3 positions = 1 + 1/log2(3) + 1/2.
        assert!(close(
            ndcg_at_k(&ranked, &rel, 3),
            d2() / (1.0 + d2() + 0.5)
        ));
        // AP = (1/2) / min(3, 3) = 1/6.
        assert!(close(average_precision_at_k(&ranked, &rel, 3), 1.0 / 6.0));
        assert_eq!(reciprocal_rank_at_k(&ranked, &rel, 3), 0.5);

        // K = 1: the list is 5 alone, no hit: everything is 0.
        for f in [
            precision_at_k,
            recall_at_k,
            ndcg_at_k,
            hit_rate_at_k,
            average_precision_at_k,
            reciprocal_rank_at_k,
        ] {
            assert_eq!(f(&ranked, &rel, 1), 0.0);
        }
    }

    #[test]
    fn metrics_edge_cases() {
        let all = [
            precision_at_k,
            recall_at_k,
            ndcg_at_k,
            hit_rate_at_k,
            average_precision_at_k,
            reciprocal_rank_at_k,
        ];
        // No relevant item, or K = 0, or an empty list: every metric is 0.
        for f in all {
            assert_eq!(f(&[1, 2], &[], 2), 0.0);
            assert_eq!(f(&[1, 2], &[1], 0), 0.0);
            assert_eq!(f(&[], &[1], 3), 0.0);
        }
        // Fewer candidates than K: list [1, 4], relevant {1}, K = 10.
        let (ranked, rel) = ([1, 4], [1]);
        assert_eq!(precision_at_k(&ranked, &rel, 10), 0.1); // 1 hit / K = 10
        assert_eq!(recall_at_k(&ranked, &rel, 10), 1.0); // 1 / 1
        assert_eq!(ndcg_at_k(&ranked, &rel, 10), 1.0); // DCG 1 / IDCG over min(1, 10) = 1
        assert_eq!(average_precision_at_k(&ranked, &rel, 10), 1.0); // (1/1) / min(1, 10)
        assert_eq!(reciprocal_rank_at_k(&ranked, &rel, 10), 1.0);
        // More relevant items than K: relevant {1, 2, 3}, list [1, 2], K = 2: perfect.
        // IDCG and AP normalise over min(3, 2) = 2 positions: NDCG = AP = 1, recall = 2/3.
        assert_eq!(ndcg_at_k(&[1, 2], &[1, 2, 3], 2), 1.0);
        assert_eq!(average_precision_at_k(&[1, 2], &[1, 2, 3], 2), 1.0);
        assert!(close(recall_at_k(&[1, 2], &[1, 2, 3], 2), 2.0 / 3.0));
    }

    #[test]
    fn coverage_counts_distinct_items_in_the_catalog() {
        // Lists [0, 1] and [1, 2] over 5 items: {0, 1, 2} = 3 / 5; item 9 is outside.
        assert_eq!(catalog_coverage([0, 1, 1, 2, 9], 5), 0.6);
        assert_eq!(catalog_coverage([], 5), 0.0);
        assert_eq!(catalog_coverage([0], 0), 0.0);
    }

    #[test]
    fn user_items_are_sorted_deduplicated_and_filtered() {
        let mut r = Ratings::default();
        for (u, i, v) in [
            (1, 5, 5.0),
            (0, 3, 1.0),
            (1, 2, 4.0),
            (1, 5, 4.0),
            (3, 0, 5.0),
        ] {
            r.push(u, i, v, None);
        }
        let all = UserItems::build(&r, 3, |_| true);
        assert_eq!(
            (all.get(0), all.get(1), all.get(2)),
            (&[3][..], &[2, 5][..], &[][..])
        );
        let liked = UserItems::build(&r, 3, |v| v >= 4.5);
        assert_eq!((liked.get(0), liked.get(1)), (&[][..], &[5][..]));
    }

    /// A model with fixed scores per user (`scores[user][item]`).
    struct Fixed(Vec<Vec<f32>>);

    impl Recommender for Fixed {
        fn kind(&self) -> &'static str {
            "fixed"
        }
        fn n_users(&self) -> u32 {
            self.0.len() as u32
        }
        fn n_items(&self) -> u32 {
            self.0[0].len() as u32
        }
        fn param_count(&self) -> usize {
            0
        }
        fn score(&self, user: u32, item: u32) -> f32 {
            self.0[user as usize][item as usize]
        }
        fn fallback(&self, _: Option<u32>, _: Option<u32>) -> f32 {
            0.0
        }
    }

    fn ratings(triples: &[(u32, u32, f32)]) -> Ratings {
        let mut r = Ratings::default();
        for &(u, i, v) in triples {
            r.push(u, i, v, None);
        }
        r
    }

    /// 3 users and 5 items known to the model; test user 3 and test item 5 are unknown.
    fn small_split() -> TrainTest {
        let train = ratings(&[(0, 0, 5.0), (0, 1, 3.0), (1, 2, 4.0), (2, 0, 1.0)]);
        let test = ratings(&[
            (0, 2, 5.0),
            (0, 3, 4.0),
            (0, 4, 2.0),
            (0, 5, 5.0), // unknown item: relevant, never hit
            (1, 3, 4.5),
            (1, 0, 3.0),
            (2, 1, 3.0), // user 2 has no relevant item at threshold 4
            (3, 0, 5.0), // unknown user: skipped
        ]);
        TrainTest {
            train,
            test,
            users: IdMap::from_raw(["a", "b", "c", "d"]),
            items: IdMap::from_raw(["p", "q", "r", "s", "t", "u"]),
            train_users: 3,
            train_items: 5,
        }
    }

    fn small_model() -> Fixed {
        Fixed(vec![
            vec![9.0, 8.0, 7.0, 1.0, 6.0], // best two (0, 1) are training items
            vec![1.0, 2.0, 9.0, 3.0, 4.0], // best (2) is a training item
            vec![5.0, 4.0, 3.0, 2.0, 1.0],
        ])
    }

    #[test]
    fn full_ranking_excludes_training_items_and_matches_hand_values() {
        let (split, model) = (small_split(), small_model());
        let m = ranking_metrics(&model, &split, 2, Some(4.0));
        // User 0: candidates 2 (7), 4 (6), 3 (1) -> top 2 = [2, 4]; relevant {2, 3, 5}.
        //   P = 1/2, R = 1/3, NDCG = 1 / (1 + 1/log2 3) [IDCG over min(3, 2) = 2],
        //   HR = 1, AP = (1/1) / min(3, 2) = 1/2, RR = 1.
        // User 1: candidates 4 (4), 3 (3), 1 (2), 0 (1) -> top 2 = [4, 3]; relevant {3}.
        //   P = 1/2, R = 1, NDCG = (1/log2 3) / 1, HR = 1, AP = (1/2) / 1 = 1/2, RR = 1/2.
        // User 2: no relevant item; user 3: unknown. Both skipped.
        assert_eq!(m.users, 2);
        assert!(close(m.precision, 0.5));
        assert!(close(m.recall, (1.0 / 3.0 + 1.0) / 2.0));
        assert!(close(m.ndcg, (1.0 / (1.0 + d2()) + d2()) / 2.0));
        assert_eq!(m.hr, 1.0);
        assert!(close(m.map, 0.5));
        assert!(close(m.mrr, 0.75));
        assert!(close(m.coverage, 3.0 / 5.0)); // {2, 3, 4} of 5 items

        // K = 10, larger than the catalog: user 0's list is [2, 4, 3], user 1's [4, 3, 1, 0].
        // User 0: hits at 1 and 3: P = 2/10, R = 2/3, DCG = 1 + 1/log2 4 = 1.5 over
        //   IDCG = 1 + 1/log2 3 + 1/2 (min(3, 10) = 3), AP = (1/1 + 2/3) / 3 = 5/9, RR = 1.
        // User 1: hit at 2: P = 1/10, R = 1, NDCG = 1/log2 3, AP = 1/2, RR = 1/2.
        let m = ranking_metrics(&model, &split, 10, Some(4.0));
        assert_eq!(m.users, 2);
        assert!(close(m.precision, (0.2 + 0.1) / 2.0));
        assert!(close(m.recall, (2.0 / 3.0 + 1.0) / 2.0));
        assert!(close(m.ndcg, (1.5 / (1.5 + d2()) + d2()) / 2.0));
        assert!(close(m.map, (5.0 / 9.0 + 0.5) / 2.0));
        assert!(close(m.mrr, 0.75));
        assert_eq!(m.coverage, 1.0); // items 0..5 all appear (0 and 1 via user 1)

        // Implicit (threshold None): user 2 counts too (relevant {1}; top 2 = [1, 2]).
        let m = ranking_metrics(&model, &split, 2, None);
        assert_eq!(m.users, 3);
        // User 0: relevant {2, 3, 4, 5}, list [2, 4]: P = 1; user 1: relevant {0, 3},
        // list [4, 3]: P = 1/2; user 2: list [1, 2]: P = 1/2.
        assert!(close(m.precision, (1.0 + 0.5 + 0.5) / 3.0));

        // No evaluated user: zeros, not NaN.
        let m = ranking_metrics(&model, &split, 2, Some(6.0));
        assert_eq!((m.users, m.ndcg, m.coverage), (0, 0.0, 0.0));
    }

    #[test]
    fn json_has_exactly_the_contract_keys() {
        let m = ranking_metrics(&small_model(), &small_split(), 2, Some(4.0));
        let json = m.to_json();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "coverage@2",
                "hr@2",
                "map@2",
                "mrr@2",
                "ndcg@2",
                "precision@2",
                "recall@2"
            ]
        );
        assert_eq!(json["mrr@2"], 0.75);
        let s = SampledRankingMetrics {
            k: 10,
            negatives: 99,
            users: 1,
            cases: 1,
            unknown: 0,
            hr: 1.0,
            ndcg: 0.5,
            mrr: 0.25,
        };
        assert_eq!(
            s.to_json(),
            serde_json::json!({"hr@10": 1.0, "ndcg@10": 0.5, "mrr@10": 0.25})
        );
    }

    #[test]
    fn sampled_ranking_small_catalog_by_hand() {
        // 5 items. User 0 rated item 0 in training and holds out item 1: the 3 unrated
        // items 2, 3, 4 are all the negatives (dense path), whatever is asked.
        let split = TrainTest {
            train: ratings(&[(0, 0, 5.0), (1, 1, 5.0)]),
            test: ratings(&[(0, 1, 5.0), (1, 6, 5.0)]), // user 1's item 6 is unknown
            users: IdMap::from_raw(["a", "b"]),
            items: IdMap::from_raw(["p", "q", "r", "s", "t", "u", "v"]),
            train_users: 2,
            train_items: 5,
        };
        // Worst: the held-out item scores below every negative -> rank 1 + 3 = 4.
        let worst = Fixed(vec![vec![9.0, 0.0, 1.0, 2.0, 3.0], vec![0.0; 5]]);
        let m = sampled_ranking_metrics(&worst, &split, 3, 99, 1);
        // 2 cases (user 1's unknown item is a miss): HR@3 = 0.
        assert_eq!((m.users, m.cases, m.unknown, m.hr), (2, 2, 1, 0.0));
        let m = sampled_ranking_metrics(&worst, &split, 4, 99, 1);
        // Rank 4 <= K = 4: HR = 1/2, NDCG = (1/log2 5) / 2, MRR = (1/4) / 2.
        assert_eq!(m.hr, 0.5);
        assert!(close(m.ndcg, 1.0 / 5f64.log2() / 2.0));
        assert!(close(m.mrr, 0.125));
        // Training item 0 scores 9 but is never a negative: the best model ranks first.
        let best = Fixed(vec![vec![9.0, 5.0, 1.0, 2.0, 3.0], vec![0.0; 5]]);
        let m = sampled_ranking_metrics(&best, &split, 1, 99, 1);
        assert_eq!((m.hr, m.ndcg, m.mrr), (0.5, 0.5, 0.5));
        // Ties count against the held-out item: a tie with one negative gives rank 2.
        let tie = Fixed(vec![vec![0.0, 2.0, 1.0, 2.0, 0.0], vec![0.0; 5]]);
        let m = sampled_ranking_metrics(&tie, &split, 1, 99, 1);
        assert_eq!(m.hr, 0.0);
        let m = sampled_ranking_metrics(&tie, &split, 2, 99, 1);
        assert_eq!(m.mrr, 0.25); // (1/2 + 0) / 2
    }

    /// Deterministic pseudo-random score in [0, 1) of (user, item).
    fn noise(user: u32, item: u32, salt: u64) -> f32 {
        let mut z = ((user as u64) << 32 | item as u64) ^ salt;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Scores from a closure, over `users` x `items`.
    struct FnModel<F: Fn(u32, u32) -> f32> {
        f: F,
        users: u32,
        items: u32,
    }

    impl<F: Fn(u32, u32) -> f32> Recommender for FnModel<F> {
        fn kind(&self) -> &'static str {
            "fn"
        }
        fn n_users(&self) -> u32 {
            self.users
        }
        fn n_items(&self) -> u32 {
            self.items
        }
        fn param_count(&self) -> usize {
            0
        }
        fn score(&self, user: u32, item: u32) -> f32 {
            (self.f)(user, item)
        }
        fn fallback(&self, _: Option<u32>, _: Option<u32>) -> f32 {
            0.0
        }
    }

    fn synthetic(users: usize, items: usize, ratings: usize) -> crate::data::Dataset {
        let p = SynthParams {
            users,
            items,
            ratings,
            side_variables: false,
            ..SynthParams::default()
        };
        generate(&p).unwrap().dataset
    }

    #[test]
    fn sampled_ranking_is_seeded_and_separates_perfect_from_worst() {
        let data = synthetic(200, 300, 8000);
        let (train, test) = leave_k_out(&data.ratings, 1, false, 5).unwrap();
        let split = TrainTest::from_indices(&data, &train, &test);
        let (nu, ni) = (split.train_users, split.train_items);
        let held: std::collections::HashSet<(u32, u32)> = split
            .test
            .users
            .iter()
            .copied()
            .zip(split.test.items.iter().copied())
            .collect();
        let random = FnModel {
            f: |u, i| noise(u, i, 7),
            users: nu,
            items: ni,
        };
        let a = sampled_ranking_metrics(&random, &split, 10, 99, 3);
        assert_eq!(a, sampled_ranking_metrics(&random, &split, 10, 99, 3));
        assert_ne!(a, sampled_ranking_metrics(&random, &split, 10, 99, 4));
        // One held-out item per user; a random scorer hits about 10 / 100 of the time.
        assert_eq!(a.cases, a.users);
        assert!(a.cases > 150, "{a:?}");
        assert!((a.hr - 0.1).abs() < 0.08, "{a:?}");
        let perfect = FnModel {
            f: |u, i| held.contains(&(u, i)) as u8 as f32,
            users: nu,
            items: ni,
        };
        let p = sampled_ranking_metrics(&perfect, &split, 1, 99, 3);
        let known = (p.cases - p.unknown) as f64 / p.cases as f64;
        assert!(close(p.hr, known) && close(p.ndcg, known) && close(p.mrr, known));
        let worst = FnModel {
            f: |u, i| -(held.contains(&(u, i)) as u8 as f32),
            users: nu,
            items: ni,
        };
        let w = sampled_ranking_metrics(&worst, &split, 10, 99, 3);
        assert_eq!((w.hr, w.ndcg, w.mrr), (0.0, 0.0, 0.0));
        // A constant scorer ties with everything: pessimistic ties give it nothing.
        let constant = FnModel {
            f: |_, _| 1.0,
            users: nu,
            items: ni,
        };
        assert_eq!(
            sampled_ranking_metrics(&constant, &split, 10, 99, 3).hr,
            0.0
        );
    }

    #[test]
    fn sampled_negatives_are_never_rated_items() {
        // Several test items per user. The trap model scores training items 10 and every
        // test item 1, unrated items 0: were a training or another test item drawn as a
        // negative, it would rank at or above the held-out item and break HR@1 = 1.
        let data = synthetic(100, 150, 5000);
        let (train, test) = random_holdout(data.ratings.len(), 0.3, 2);
        let split = TrainTest::from_indices(&data, &train, &test);
        let rated = |r: &Ratings| -> std::collections::HashSet<(u32, u32)> {
            r.users
                .iter()
                .copied()
                .zip(r.items.iter().copied())
                .collect()
        };
        let (in_train, in_test) = (rated(&split.train), rated(&split.test));
        let trap = FnModel {
            f: |u, i| {
                if in_train.contains(&(u, i)) {
                    10.0
                } else if in_test.contains(&(u, i)) {
                    1.0
                } else {
                    0.0
                }
            },
            users: split.train_users,
            items: split.train_items,
        };
        let m = sampled_ranking_metrics(&trap, &split, 1, 99, 9);
        assert!(m.cases > m.users, "several cases per user: {m:?}");
        let known = (m.cases - m.unknown) as f64 / m.cases as f64;
        assert!(close(m.hr, known), "{m:?}");
    }

    #[test]
    fn popularity_beats_random_scores_on_synthetic_data() {
        let data = synthetic(300, 400, 15_000);
        let (train, test) = random_holdout(data.ratings.len(), 0.2, 1);
        let split = TrainTest::from_indices(&data, &train, &test);
        // Popularity: each item scored by its number of training ratings.
        let mut counts = vec![0.0f32; split.train_items as usize];
        for &i in &split.train.items {
            counts[i as usize] += 1.0;
        }
        let pop = FnModel {
            f: |_, i| counts[i as usize],
            users: split.train_users,
            items: split.train_items,
        };
        let random = FnModel {
            f: |u, i| noise(u, i, 11),
            users: split.train_users,
            items: split.train_items,
        };
        let p = ranking_metrics(&pop, &split, 10, Some(DEFAULT_THRESHOLD));
        let r = ranking_metrics(&random, &split, 10, Some(DEFAULT_THRESHOLD));
        assert_eq!(p.users, r.users);
        assert!(p.users > 200, "{p:?}");
        assert!(
            p.ndcg > 2.0 * r.ndcg && p.ndcg > r.ndcg + 0.05,
            "{p:?} vs {r:?}"
        );
        // Popularity recommends nearly the same list to everyone; random covers more.
        assert!(p.coverage < r.coverage, "{p:?} vs {r:?}");
    }
}
