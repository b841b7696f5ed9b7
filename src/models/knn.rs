//! Item-based k-nearest-neighbours with baselines: the method and defaults of Surprise's
//! `KNNBaseline` with `sim_options = {"name": "pearson_baseline", "user_based": False}`.
//!
//! With `b_ui = mu + b_u + b_i` from the ALS [`Baseline`], the similarity of items `i` and
//! `j` over the `n_ij` users who rated both is the Pearson correlation of the baseline
//! residuals, shrunk toward 0 for small overlaps:
//! `s_ij = sum (r_ui - b_ui)(r_uj - b_uj) / sqrt(sum (r_ui - b_ui)^2 sum (r_uj - b_uj)^2)
//!         * (n_ij - 1) / (n_ij - 1 + shrinkage)`.
//! The prediction for `(u, i)` takes the `k` items rated by `u` most similar to `i` and
//! averages the residuals of those with a positive similarity:
//! `b_ui + sum_j s_ij (r_uj - b_uj) / sum_j s_ij`.
//! The similarities are a dense items x items table, so the catalog is limited to
//! [`KnnParams::max_items`] items.
//!
//! One default departs from Surprise's: `min_k` is 10, not 1 — with fewer than 10
//! neighbours of positive similarity the prediction is the baseline's. The weights are
//! normalised, so a single weak neighbour would otherwise move the prediction by its
//! whole residual; on sparse data (few ratings an item) that made knn worse than the
//! baseline alone. Chosen on validation carves (docs/tuning.md).

use super::flags::Flag;
use super::{AnyModel, Feedback, FoldedUser, Kind, Model, NamedTensor, Tensors};
use super::{Baseline, BaselineParams, Recommender};
use crate::data::Ratings;
use crate::error::{Error, Result};

/// Parameters of [`Knn`].
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `k` | 40 | neighbours per prediction | ≥ 1 |
/// | `min_k` | 10 | fewer usable neighbours than this: the baseline alone (Surprise: 1) | ≥ 1 |
/// | `shrinkage` | 100 | similarity shrinkage | ≥ 0 |
/// | `baseline` | ALS, reg 10 / 15, 10 epochs | the baseline estimates | see [`BaselineParams`] |
/// | `max_items` | 20000 | largest catalog (the similarity table is items² floats) | ≥ 1 |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct KnnParams {
    /// Neighbours per prediction.
    pub k: usize,
    /// Minimum usable neighbours.
    pub min_k: usize,
    /// Similarity shrinkage.
    pub shrinkage: f64,
    /// Baseline estimates.
    pub baseline: BaselineParams,
    /// Largest catalog accepted.
    pub max_items: usize,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 40,
            min_k: 10,
            shrinkage: 100.0,
            baseline: BaselineParams::default(),
            max_items: 20_000,
        }
    }
}

impl KnnParams {
    /// Checks the ranges in the table above.
    pub fn check(&self) -> Result<()> {
        if self.k == 0 || self.min_k == 0 {
            return Err(Error::Usage(format!(
                "knn k and min_k must be >= 1, got {} and {}",
                self.k, self.min_k
            )));
        }
        if !(self.shrinkage.is_finite() && self.shrinkage >= 0.0) {
            return Err(Error::Usage(format!(
                "knn shrinkage must be >= 0, got {}",
                self.shrinkage
            )));
        }
        self.baseline.check()
    }

    /// Fits baselines and item-item similarities on `train`.
    ///
    /// ```
    /// use embedrec::data::Ratings;
    /// use embedrec::models::{KnnParams, Recommender};
    /// let mut r = Ratings::default();
    /// for (u, i, v) in [(0, 0, 5.0), (0, 1, 5.0), (1, 0, 1.0), (1, 1, 1.0), (2, 0, 5.0)] {
    ///     r.push(u, i, v, None);
    /// }
    /// let knn = KnnParams { shrinkage: 0.0, min_k: 1, ..Default::default() }.train(&r, 3, 2).unwrap();
    /// assert!(knn.score(2, 1) > knn.baseline.score(2, 1)); // user 2 liked the similar item 0
    /// ```
    pub fn train(&self, train: &Ratings, n_users: u32, n_items: u32) -> Result<Knn> {
        self.check()?;
        if n_items as usize > self.max_items {
            return Err(Error::Usage(format!(
                "item-based kNN keeps an items x items table: {n_items} items exceed max_items {}",
                self.max_items
            )));
        }
        let baseline = self
            .baseline
            .train(train, n_users, n_items, |_, _| Ok(()))?;
        let (users, items) = (n_users as usize, n_items as usize);
        // Ratings grouped by user (CSR), with their baseline residuals.
        let mut offsets = vec![0u32; users + 1];
        train
            .users
            .iter()
            .for_each(|&u| offsets[u as usize + 1] += 1);
        for u in 0..users {
            offsets[u + 1] += offsets[u];
        }
        let mut fill = offsets.clone();
        let mut user_items = vec![0u32; train.len()];
        let mut user_values = vec![0f32; train.len()];
        for k in 0..train.len() {
            let u = train.users[k] as usize;
            let at = fill[u] as usize;
            user_items[at] = train.items[k];
            user_values[at] = train.values[k];
            fill[u] += 1;
        }
        let residual = |u: usize, at: usize| {
            user_values[at] as f64 - baseline.score(u as u32, user_items[at]) as f64
        };
        // Users of each item, to walk co-ratings item by item.
        let mut item_users: Vec<Vec<(u32, u32)>> = vec![Vec::new(); items];
        for u in 0..users {
            for at in offsets[u] as usize..offsets[u + 1] as usize {
                item_users[user_items[at] as usize].push((u as u32, at as u32));
            }
        }
        let mut sims = vec![0f32; items * items];
        let (mut prods, mut sq_i, mut sq_j, mut freq) = (
            vec![0f64; items],
            vec![0f64; items],
            vec![0f64; items],
            vec![0u32; items],
        );
        for i in 0..items {
            for &(u, at_i) in &item_users[i] {
                let ri = residual(u as usize, at_i as usize);
                let lo = offsets[u as usize] as usize;
                let hi = offsets[u as usize + 1] as usize;
                for (at, &j) in (lo..hi).zip(&user_items[lo..hi]) {
                    let j = j as usize;
                    let rj = residual(u as usize, at);
                    prods[j] += ri * rj;
                    sq_i[j] += ri * ri;
                    sq_j[j] += rj * rj;
                    freq[j] += 1;
                }
            }
            for j in 0..items {
                let n = freq[j] as f64;
                let denom = (sq_i[j] * sq_j[j]).sqrt();
                let s = if i == j {
                    1.0
                } else if freq[j] == 0 || denom == 0.0 {
                    0.0
                } else {
                    prods[j] / denom * (n - 1.0) / (n - 1.0 + self.shrinkage)
                };
                sims[i * items + j] = s as f32;
                (prods[j], sq_i[j], sq_j[j], freq[j]) = (0.0, 0.0, 0.0, 0);
            }
        }
        Ok(Knn {
            k: self.k,
            min_k: self.min_k,
            baseline,
            sims,
            offsets,
            user_items,
            user_values,
        })
    }
}

/// A fitted item-based kNN with baselines.
#[derive(Debug, Clone, PartialEq)]
pub struct Knn {
    /// Neighbours per prediction.
    pub k: usize,
    /// Minimum usable neighbours.
    pub min_k: usize,
    /// The baseline estimates.
    pub baseline: Baseline,
    /// Item-item similarities, items x items, row-major.
    pub sims: Vec<f32>,
    /// CSR of each user's training ratings: `offsets[u]..offsets[u + 1]`.
    pub offsets: Vec<u32>,
    /// Items of the CSR.
    pub user_items: Vec<u32>,
    /// Ratings of the CSR.
    pub user_values: Vec<f32>,
}

impl Knn {
    /// The prediction for item `item` of a user the model did not train on, from that
    /// user's bias `user_bias` and `(item, rating)` pairs: the same formula as for a
    /// training user (used by fold-in).
    pub fn score_with(&self, user_bias: f32, ratings: &[(u32, f32)], item: u32) -> f32 {
        let b = &self.baseline;
        let base = |j: u32| b.mu + user_bias + b.item_bias[j as usize];
        self.predict_from(base, ratings.iter().copied(), item)
    }

    /// `base(item) + sum_j s_ij (r_j - base(j)) / sum_j s_ij` over the `k` rated items
    /// most similar to `item` with a positive similarity (the baseline alone when fewer
    /// than `min_k` remain).
    fn predict_from(
        &self,
        base: impl Fn(u32) -> f32,
        rated: impl Iterator<Item = (u32, f32)>,
        item: u32,
    ) -> f32 {
        let n = self.n_items() as usize;
        let row = &self.sims[item as usize * n..(item as usize + 1) * n];
        let mut neighbours: Vec<(f32, u32, f32)> =
            rated.map(|(j, r)| (row[j as usize], j, r)).collect();
        let k = self.k.min(neighbours.len());
        if k < neighbours.len() {
            neighbours.select_nth_unstable_by(k, |a, b| b.0.total_cmp(&a.0));
            neighbours.truncate(k);
        }
        let (mut sum_sim, mut sum, mut used) = (0.0f64, 0.0f64, 0usize);
        for (s, j, r) in neighbours {
            if s > 0.0 {
                sum_sim += s as f64;
                sum += s as f64 * (r - base(j)) as f64;
                used += 1;
            }
        }
        let base = base(item);
        if used < self.min_k || sum_sim == 0.0 {
            base
        } else {
            base + (sum / sum_sim) as f32
        }
    }
}

impl Recommender for Knn {
    fn kind(&self) -> &'static str {
        "knn"
    }
    fn n_users(&self) -> u32 {
        self.baseline.n_users()
    }
    fn n_items(&self) -> u32 {
        self.baseline.n_items()
    }
    fn param_count(&self) -> usize {
        self.baseline.param_count() + self.sims.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        let (lo, hi) = (
            self.offsets[user as usize] as usize,
            self.offsets[user as usize + 1] as usize,
        );
        let rated = self.user_items[lo..hi]
            .iter()
            .copied()
            .zip(self.user_values[lo..hi].iter().copied());
        self.predict_from(|j| self.baseline.score(user, j), rated, item)
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.baseline.fallback(user, item)
    }
}

impl Model for Knn {
    boxed_model!();

    /// The baseline's `mu`, `user_bias`, `item_bias`, then `sims [I, I]` and
    /// `neighbour_values [R]` (the users' residual ratings, CSR with the u32
    /// `neighbour_offsets [U + 1]` and `neighbour_items [R]`).
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let i = self.baseline.item_bias.len();
        let mut v = self.baseline.named_tensors();
        v.push(NamedTensor::new("sims", &[i, i], &self.sims));
        v.push(NamedTensor::new(
            "neighbour_values",
            &[self.user_values.len()],
            &self.user_values,
        ));
        v
    }

    fn int_tensors(&self) -> Vec<(String, &[u32])> {
        vec![
            ("neighbour_offsets".to_string(), &self.offsets[..]),
            ("neighbour_items".to_string(), &self.user_items[..]),
        ]
    }

    /// The baseline's ALS user step for the bias; predictions then come from these
    /// ratings and the stored item-item similarities, exactly as for a training user.
    fn fold_in(
        &self,
        params: &serde_json::Value,
        _: Feedback,
        ratings: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser> {
        let reg = super::baseline::reg_user_of(params.get("baseline"));
        Ok(FoldedUser {
            bias: self.baseline.fold_in_bias(ratings, reg),
            ..base
        })
    }

    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        (0..self.n_items())
            .map(|i| self.score_with(user.bias, &user.ratings, i))
            .collect()
    }
}

fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    let p = super::params_of::<KnnParams>("knn", params, KnnParams::check)?;
    if items > p.max_items {
        return Err(format!(
            "a knn model of {items} items, but its params' max_items is {}",
            p.max_items
        ));
    }
    let baseline = Baseline::load_tensors(users, items, t)?;
    let sims = t.values("sims", &[items, items])?;
    let (vs, user_values) = t.f32("neighbour_values", None)?;
    let offsets = t.u32("neighbour_offsets")?;
    let user_items = t.u32("neighbour_items")?;
    let r = user_values.len();
    let ok = vs == [r]
        && offsets.len() == users + 1
        && user_items.len() == r
        && offsets.first() == Some(&0)
        && offsets.last().map(|&o| o as usize) == Some(r)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && user_items.iter().all(|&i| (i as usize) < items);
    if !ok || p.k == 0 || p.min_k == 0 {
        return Err(
            "knn neighbour tensors are inconsistent (shapes, offsets or item indices)".into(),
        );
    }
    Ok(AnyModel::new(Knn {
        k: p.k,
        min_k: p.min_k,
        baseline,
        sims,
        offsets,
        user_items,
        user_values,
    }))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "knn",
    about: "Item-based k-nearest neighbours with baselines (Surprise's KNNBaseline method)",
    load,
    member: Some(|_| Box::new(KnnParams::default())),
    params: super::rating_params::<KnnParams>,
    read: Some(super::read::<KnnParams>),
    presets: &[],
    flags: |implicit| {
        (!implicit).then(|| {
            vec![
                Flag::field("--neighbors", "k"),
                Flag::field("--shrinkage", "shrinkage"),
                Flag::field("--epochs", "baseline.epochs"),
                Flag::field("--reg-user", "baseline.reg_user"),
                Flag::field("--reg-item", "baseline.reg_item"),
            ]
        })
    },
    no_preset: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Similarity and prediction against the formulas worked by hand.
    #[test]
    fn matches_hand_computation() {
        let mut r = Ratings::default();
        for (u, i, v) in [
            (0, 0, 5.0),
            (0, 1, 4.0),
            (1, 0, 2.0),
            (1, 1, 1.0),
            (2, 0, 4.0),
            (2, 2, 3.0),
            (1, 2, 5.0),
        ] {
            r.push(u, i, v, None);
        }
        let params = KnnParams {
            shrinkage: 10.0,
            min_k: 1,
            ..Default::default()
        };
        let knn = params.train(&r, 3, 3).unwrap();
        let b = &knn.baseline;
        let res = |u: u32, i: u32, v: f64| v - b.score(u, i) as f64;
        // items 0 and 1: common users 0 and 1
        let (a0, a1) = (res(0, 0, 5.0), res(1, 0, 2.0));
        let (c0, c1) = (res(0, 1, 4.0), res(1, 1, 1.0));
        let pearson = (a0 * c0 + a1 * c1) / ((a0 * a0 + a1 * a1) * (c0 * c0 + c1 * c1)).sqrt();
        let s01 = pearson * 1.0 / (1.0 + 10.0);
        assert!(
            (knn.sims[1] as f64 - s01).abs() < 1e-6,
            "{} vs {s01}",
            knn.sims[1]
        );
        assert_eq!(knn.sims[1], knn.sims[3], "symmetric");
        assert_eq!(knn.sims[0], 1.0);
        // user 2 rated items 0 and 2; predict item 1 from the neighbours with s > 0
        let s21 = knn.sims[2 * 3 + 1] as f64;
        let mut num = 0.0;
        let mut den = 0.0;
        for (j, v, s) in [(0u32, 4.0, s01), (2, 3.0, s21)] {
            if s > 0.0 {
                num += s * res(2, j, v);
                den += s;
            }
        }
        let expected = b.score(2, 1) as f64 + if den > 0.0 { num / den } else { 0.0 };
        assert!((knn.score(2, 1) as f64 - expected).abs() < 1e-5);
    }

    #[test]
    fn catalog_limit_is_a_usage_error() {
        let mut r = Ratings::default();
        r.push(0, 0, 3.0, None);
        let p = KnnParams {
            max_items: 1,
            ..Default::default()
        };
        assert!(matches!(p.train(&r, 1, 2), Err(Error::Usage(_))));
    }
}
