//! EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): a
//! closed-form item-item model for implicit feedback.
//!
//! With `X` the binary users x items interaction matrix, EASE finds the item-item
//! weights `B` minimising `|X - X B|_F^2 + l2 |B|_F^2` subject to `diag(B) = 0` (an item
//! may not predict itself). The solution is closed-form: with `P = (X'X + l2 I)^-1`,
//! `B_ij = -P_ij / P_jj` for `i != j` and `B_jj = 0`. A user's score of item `j` is
//! `sum_i x_ui B_ij`: **a preference, not a rating** (never clipped).
//!
//! The Gram matrix `X'X + l2 I` is symmetric positive definite (`l2 > 0`); it is inverted
//! in f64 by a Cholesky factorisation `L L'`, the triangular inverse `M = L^-1` and
//! `P = M' M`. The cost is `O(items^3)` time and `O(items^2)` memory whatever the number
//! of users (about a second for MovieLens 100K's 1,682 items), so the model is refused
//! above [`MAX_ITEMS`] items. The product `M' M` is cut into rows, each computed by one
//! scoped thread into its own output row (no shared mutation), so the result does not
//! depend on `threads`.
//!
//! **Recency** (`recency_beta > 0`, an embedrec option, not part of Steck's model): the
//! user's input row `x_u` weights each training interaction by `1 + beta * exp(-r /
//! tau)`, `r` being the number of the user's interactions with a strictly later
//! timestamp (0 for the latest ones). `B` itself is learned from the binary matrix; only
//! the scoring input changes. It helps when the task is to predict a user's *next*
//! interaction (leave-latest-out evaluation), and hurts on random splits (docs/tuning.md,
//! "Implicit feedback").

use super::Recommender;
use super::{AnyModel, FoldedUser, Kind, Model, NamedTensor, Tensors};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::nn::kernels::axpy;

/// The most items EASE accepts: the item-item matrices take `items^2` memory (two f64
/// matrices and the f32 weights: 2 GB at 10,000 items) and `items^3` time.
pub const MAX_ITEMS: usize = 10_000;

/// Hyper-parameters of [`Ease`].
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `l2` | 500 | L2 penalty `lambda` on `B` (added to the Gram matrix's diagonal) | > 0 |
/// | `recency_beta` | 0 | extra input weight of a user's latest interactions (0: off) | ≥ 0 |
/// | `recency_tau` | 5 | decay of that weight, in interactions from the latest | > 0 |
/// | `threads` | 1 | threads of the final product (results do not depend on it) | 1..=256 |
///
/// `l2` was chosen on validation data carved from u1.base (docs/tuning.md, "Implicit
/// feedback"); the preset
/// `next-item` ([`EaseParams::next_item`]) on a leave-latest-out carve of protocol B's
/// training data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EaseParams {
    /// L2 penalty lambda.
    pub l2: f32,
    /// Recency boost beta (0: every interaction weighs 1).
    pub recency_beta: f32,
    /// Recency decay tau.
    pub recency_tau: f32,
    /// Threads.
    pub threads: usize,
    /// The interactions are the training ratings at or above this (`None`: every
    /// rating).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_rating: Option<f32>,
}

impl Default for EaseParams {
    fn default() -> Self {
        EaseParams {
            l2: 500.0,
            recency_beta: 0.0,
            recency_tau: 5.0,
            threads: 1,
            min_rating: None,
        }
    }
}

impl EaseParams {
    /// The preset `next-item`: settings for predicting each user's next interaction
    /// (protocol B), chosen on a leave-latest-out carve of its training data.
    pub fn next_item() -> Self {
        EaseParams {
            recency_beta: 16.0,
            recency_tau: 5.0,
            ..Default::default()
        }
    }

    /// Checks every range in the table above.
    pub fn check(&self) -> Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        if !(self.l2.is_finite() && self.l2 > 0.0) {
            return usage(format!("ease needs l2 > 0, got {}", self.l2));
        }
        if !(self.recency_beta.is_finite() && self.recency_beta >= 0.0) {
            return usage(format!(
                "recency beta must be >= 0, got {}",
                self.recency_beta
            ));
        }
        if !(self.recency_tau.is_finite() && self.recency_tau > 0.0) {
            return usage(format!("recency tau must be > 0, got {}", self.recency_tau));
        }
        if !(1..=256).contains(&self.threads) {
            return usage(format!("threads must be in 1..=256, got {}", self.threads));
        }
        Ok(())
    }

    /// Whether the model weights interactions by recency (and so needs timestamps).
    pub fn uses_recency(&self) -> bool {
        self.recency_beta > 0.0
    }

    /// The input weight of an interaction with `later` of the user's interactions after it.
    pub fn weight(&self, later: usize) -> f32 {
        if self.uses_recency() {
            1.0 + self.recency_beta * (-(later as f32) / self.recency_tau).exp()
        } else {
            1.0
        }
    }

    /// Fits on the interactions of `train` (indices below `n_users` / `n_items`; values
    /// are ignored, a repeated pair counts once, at its latest time). Recency needs
    /// `train.times`.
    ///
    /// ```
    /// use embedrec::data::Ratings;
    /// use embedrec::models::{EaseParams, Recommender};
    /// let mut r = Ratings::default();
    /// // Two groups of users with disjoint tastes: {0, 1} like items 0..2, {2, 3} items 2..4.
    /// for (u, i) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)] {
    ///     r.push(u, i, 1.0, None);
    /// }
    /// let m = EaseParams { l2: 0.5, ..Default::default() }.train(&r, 4, 4).unwrap();
    /// // User 1 (who took item 0) is pointed to item 1 rather than item 3.
    /// assert!(m.score(1, 1) > m.score(1, 3));
    /// ```
    pub fn train(&self, train: &Ratings, n_users: u32, n_items: u32) -> Result<Ease> {
        self.check()?;
        if train.is_empty() {
            return Err(Error::Usage("cannot train on no interactions".into()));
        }
        let n = n_items as usize;
        if n > MAX_ITEMS {
            return Err(Error::Usage(format!(
                "ease inverts an items x items matrix and accepts at most {MAX_ITEMS} items; \
                 the training data has {n} (use --model ials, or fewer items)"
            )));
        }
        if self.uses_recency() && train.times.is_none() {
            return Err(Error::Usage(
                "ease --recency needs the interactions' timestamps (a time column)".into(),
            ));
        }
        let rows = user_rows(train, n_users as usize, n);
        let g = gram(&rows, n, self.l2 as f64);
        let p = spd_inverse(g, n, self.threads).ok_or_else(|| {
            Error::Usage("ease: the Gram matrix is not positive definite (l2 too small?)".into())
        })?;
        let mut b = vec![0.0f32; n * n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let pij = if j <= i { p[i * n + j] } else { p[j * n + i] };
                    b[i * n + j] = (-pij / p[j * n + j]) as f32;
                }
            }
        }
        let (mut offsets, mut user_items, mut user_weights) = (vec![0u32], Vec::new(), Vec::new());
        for row in &rows {
            for &(item, later) in row {
                user_items.push(item);
                user_weights.push(self.weight(later));
            }
            offsets.push(user_items.len() as u32);
        }
        Ok(Ease {
            items: n,
            b,
            offsets,
            user_items,
            user_weights,
        })
    }

    /// A new user's input row from the items they took, in chronological order (the last
    /// is the latest; a repeated item counts once, at its last position): `(item,
    /// weight)` sorted by item.
    pub fn fold_in(&self, items_in_order: &[u32]) -> Vec<(u32, f32)> {
        let mut row: Vec<(u32, f32)> = Vec::new();
        let mut later = 0usize;
        for &i in items_in_order.iter().rev() {
            if !row.iter().any(|&(j, _)| j == i) {
                row.push((i, self.weight(later)));
                later += 1;
            }
        }
        row.sort_unstable_by_key(|&(i, _)| i);
        row
    }
}

/// Each user's distinct items, sorted, with the number of the user's (distinct)
/// interactions strictly later than it (0 without timestamps).
fn user_rows(train: &Ratings, n_users: usize, n_items: usize) -> Vec<Vec<(u32, usize)>> {
    let mut rows: Vec<Vec<(u32, i64)>> = vec![Vec::new(); n_users];
    for k in 0..train.len() {
        let (u, i) = (train.users[k] as usize, train.items[k]);
        if u < n_users && (i as usize) < n_items {
            let t = train.times.as_ref().map_or(0, |t| t[k]);
            rows[u].push((i, t));
        }
    }
    rows.into_iter()
        .map(|mut row| {
            // One entry per item, at its latest time.
            row.sort_unstable_by_key(|&(i, t)| (i, std::cmp::Reverse(t)));
            row.dedup_by_key(|&mut (i, _)| i);
            let mut times: Vec<i64> = row.iter().map(|&(_, t)| t).collect();
            times.sort_unstable();
            row.into_iter()
                .map(|(i, t)| {
                    let later = times.len() - times.partition_point(|&x| x <= t);
                    (i, later)
                })
                .collect()
        })
        .collect()
}

/// `X'X + l2 I` (lower triangle, row-major `n x n`) of the binary matrix whose rows are
/// `rows` (items sorted within a row).
fn gram(rows: &[Vec<(u32, usize)>], n: usize, l2: f64) -> Vec<f64> {
    let mut g = vec![0.0f64; n * n];
    for row in rows {
        for (x, &(i, _)) in row.iter().enumerate() {
            let gi = &mut g[i as usize * n..];
            for &(j, _) in &row[..=x] {
                gi[j as usize] += 1.0;
            }
        }
    }
    for d in 0..n {
        g[d * n + d] += l2;
    }
    g
}

/// f64 dot product with eight accumulators (vectorisable; a fixed summation order, so
/// results are reproducible).
fn dot64(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f64>() + tail
}

fn axpy64(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// The inverse of the symmetric positive-definite `n x n` matrix whose lower triangle
/// `a` holds (row-major), as its lower triangle; `None` when `a` is not positive
/// definite. Cholesky `A = L L'`, then `M = L^-1` (forward, row by row), then
/// `A^-1 = M' M`, whose rows are computed on `threads` scoped threads.
pub(crate) fn spd_inverse(mut a: Vec<f64>, n: usize, threads: usize) -> Option<Vec<f64>> {
    // Cholesky-Banachiewicz in place: row i of L from the rows above it.
    for i in 0..n {
        let (head, tail) = a.split_at_mut(i * n);
        let row_i = &mut tail[..n];
        for j in 0..i {
            let row_j = &head[j * n..j * n + j + 1];
            let s = row_i[j] - dot64(&row_i[..j], &row_j[..j]);
            row_i[j] = s / row_j[j];
        }
        let d = row_i[i] - dot64(&row_i[..i], &row_i[..i]);
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        row_i[i] = d.sqrt();
    }
    // M = L^-1, lower triangular: L_ii M_ij = -sum_{j<=k<i} L_ik M_kj for j < i.
    let mut m = vec![0.0f64; n * n];
    for i in 0..n {
        let l = &a[i * n..i * n + i + 1];
        let (head, tail) = m.split_at_mut(i * n);
        let mi = &mut tail[..i + 1];
        for (k, &lik) in l[..i].iter().enumerate() {
            if lik != 0.0 {
                axpy64(lik, &head[k * n..k * n + k + 1], &mut mi[..k + 1]);
            }
        }
        let lii = l[i];
        mi[..i].iter_mut().for_each(|v| *v = -*v / lii);
        mi[i] = 1.0 / lii;
    }
    // P = M' M: row i (j <= i) is sum_{k >= i} M_ki M_k[0..=i]. Rows are dealt round
    // robin (their costs differ), each written by one thread only.
    let p = &mut a;
    p.iter_mut().for_each(|v| *v = 0.0);
    let threads = threads.clamp(1, n.max(1));
    let mut lanes: Vec<Vec<(usize, &mut [f64])>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, row) in p.chunks_mut(n).enumerate() {
        lanes[i % threads].push((i, row));
    }
    let m = &m;
    let work = |lane: Vec<(usize, &mut [f64])>| {
        for (i, row) in lane {
            let out = &mut row[..i + 1];
            for k in i..n {
                let mki = m[k * n + i];
                if mki != 0.0 {
                    axpy64(mki, &m[k * n..k * n + i + 1], out);
                }
            }
        }
    };
    if threads == 1 {
        lanes.into_iter().for_each(work);
    } else {
        std::thread::scope(|s| {
            for lane in lanes {
                s.spawn(move || work(lane));
            }
        });
    }
    Some(a)
}

/// A trained EASE model: the item-item weights and each training user's input row.
#[derive(Debug, Clone, PartialEq)]
pub struct Ease {
    /// Items (rows and columns of `b`).
    pub items: usize,
    /// `B`, `items x items` row-major: `b[i * items + j]` is the weight of item `i` in
    /// the score of item `j` (zero diagonal).
    pub b: Vec<f32>,
    /// CSR offsets of the users' input rows (`users + 1`).
    pub offsets: Vec<u32>,
    /// The items of each user's input row.
    pub user_items: Vec<u32>,
    /// Their weights (1, or the recency weight).
    pub user_weights: Vec<f32>,
}

impl Ease {
    /// The items of user `user`'s input row and their weights.
    pub fn user_row(&self, user: u32) -> (&[u32], &[f32]) {
        let (s, e) = (
            self.offsets[user as usize] as usize,
            self.offsets[user as usize + 1] as usize,
        );
        (&self.user_items[s..e], &self.user_weights[s..e])
    }

    /// Scores of every item for an input row of `(item, weight)`, into `out` (length
    /// `items`).
    pub fn scores_of_row(&self, row: impl Iterator<Item = (u32, f32)>, out: &mut [f32]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        let n = self.items;
        for (i, w) in row {
            if (i as usize) < n {
                axpy(w, &self.b[i as usize * n..(i as usize + 1) * n], out);
            }
        }
    }

    /// Checks the user rows against `users` and the item count (for a loaded model).
    pub fn check(&self, users: usize) -> std::result::Result<(), String> {
        let r = self.user_items.len();
        let ok = self.b.len() == self.items * self.items
            && self.offsets.len() == users + 1
            && self.user_weights.len() == r
            && self.offsets.first() == Some(&0)
            && self.offsets.last().map(|&o| o as usize) == Some(r)
            && self.offsets.windows(2).all(|w| w[0] <= w[1])
            && self.user_items.iter().all(|&i| (i as usize) < self.items)
            && self.user_weights.iter().all(|w| w.is_finite() && *w >= 0.0);
        if ok {
            Ok(())
        } else {
            Err("ease tensors are inconsistent (shapes, offsets, item indices or weights)".into())
        }
    }
}

impl Recommender for Ease {
    fn kind(&self) -> &'static str {
        "ease"
    }
    fn n_users(&self) -> u32 {
        (self.offsets.len() - 1) as u32
    }
    fn n_items(&self) -> u32 {
        self.items as u32
    }
    fn param_count(&self) -> usize {
        self.b.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        let (items, weights) = self.user_row(user);
        let n = self.items;
        items
            .iter()
            .zip(weights)
            .map(|(&i, &w)| w * self.b[i as usize * n + item as usize])
            .sum()
    }
    fn fallback(&self, _user: Option<u32>, _item: Option<u32>) -> f32 {
        0.0
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        let (items, weights) = self.user_row(user);
        self.scores_of_row(items.iter().copied().zip(weights.iter().copied()), out);
    }
}

impl Model for Ease {
    boxed_model!();

    /// `b [I, I]` and `user_weights [R]` (each user's input row, CSR with the u32
    /// `user_offsets [U + 1]` and `user_items [R]`).
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        vec![
            NamedTensor::new("b", &[self.items, self.items], &self.b),
            NamedTensor::new(
                "user_weights",
                &[self.user_weights.len()],
                &self.user_weights,
            ),
        ]
    }

    fn int_tensors(&self) -> Vec<(String, &[u32])> {
        vec![
            ("user_offsets".to_string(), &self.offsets[..]),
            ("user_items".to_string(), &self.user_items[..]),
        ]
    }

    /// Row `item` of B: how much taking that item raises each other item's score.
    fn similar_scores(&self, item: u32) -> Option<Vec<f32>> {
        let i = item as usize;
        self.b
            .get(i * self.items..(i + 1) * self.items)
            .map(<[f32]>::to_vec)
    }

    fn has_similar(&self) -> bool {
        true
    }

    /// The named items are the user's input row, in the order given taken as
    /// chronological for a model with recency ([`EaseParams::fold_in`]); the row's
    /// weights go to `factors`, aligned with `ratings`.
    fn fold_in(
        &self,
        params: &serde_json::Value,
        _: super::Feedback,
        ratings: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser> {
        // The model file's loader checked the params.
        let p: EaseParams = serde_json::from_value(params.clone()).unwrap_or_default();
        let order: Vec<u32> = ratings.iter().map(|&(i, _)| i).collect();
        let row = p.fold_in(&order);
        Ok(FoldedUser {
            factors: row.iter().map(|&(_, w)| w).collect(),
            ..base
        })
    }

    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        let mut out = vec![0.0f32; self.items];
        let row = user.ratings.iter().map(|&(i, _)| i);
        self.scores_of_row(row.zip(user.factors.iter().copied()), &mut out);
        out
    }
}

fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    super::params_of::<EaseParams>("ease", params, EaseParams::check)?;
    let b = t.values("b", &[items, items])?;
    let (_, user_weights) = t.f32("user_weights", None)?;
    let m = Ease {
        items,
        b,
        offsets: t.u32("user_offsets")?,
        user_items: t.u32("user_items")?,
        user_weights,
    };
    m.check(users)?;
    Ok(AnyModel::new(m))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "ease",
    about: "EASE (Steck 2019): closed-form item-item model (L2 --l2); implicit only",
    load,
    member: None,
    params: |preset, over, _| {
        let base = match preset {
            Some("next-item") => EaseParams::next_item(),
            _ => EaseParams::default(),
        };
        Ok(Box::new(super::overlay(base, over)?))
    },
    read: Some(super::read::<EaseParams>),
    presets: &["next-item"],
    flags: |implicit| {
        use super::flags::{self, Flag, L2, THREADS};
        implicit.then(|| {
            let mut v = vec![L2, THREADS, Flag::parsed("--recency", "", parse_recency)];
            v.extend(flags::IMPLICIT);
            v
        })
    },
    no_preset: None,
};

/// `--recency BETA:TAU` -> `recency_beta`, `recency_tau`; `none` -> no recency (beta 0,
/// the default tau).
fn parse_recency(s: &str) -> Result<serde_json::Value> {
    let (beta, tau) = if s == "none" {
        (0.0, EaseParams::default().recency_tau)
    } else {
        let bad = || Error::Usage(format!("--recency: expected BETA:TAU or 'none', got '{s}'"));
        let (beta, tau) = s.split_once(':').ok_or_else(bad)?;
        let beta: f32 = beta.trim().parse().map_err(|_| bad())?;
        let tau: f32 = tau.trim().parse().map_err(|_| bad())?;
        (beta, tau)
    };
    Ok(serde_json::json!({ "recency_beta": beta, "recency_tau": tau }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A random SPD matrix (lower triangle) and its full form.
    fn random_spd(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Rng::seeded(seed);
        let x: Vec<f64> = (0..n * n).map(|_| rng.normal()).collect();
        let mut full = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                full[i * n + j] = (0..n).map(|k| x[k * n + i] * x[k * n + j]).sum::<f64>();
            }
            full[i * n + i] += 0.5;
        }
        let mut lower = full.clone();
        for i in 0..n {
            for j in i + 1..n {
                lower[i * n + j] = 0.0;
            }
        }
        (lower, full)
    }

    #[test]
    fn spd_inverse_inverts() {
        for (n, threads) in [(1, 1), (2, 1), (7, 1), (13, 3), (40, 4)] {
            let (lower, full) = random_spd(n, n as u64);
            let p = spd_inverse(lower, n, threads).unwrap();
            let pf = |i: usize, j: usize| if j <= i { p[i * n + j] } else { p[j * n + i] };
            for i in 0..n {
                for j in 0..n {
                    let v: f64 = (0..n).map(|k| full[i * n + k] * pf(k, j)).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((v - want).abs() < 1e-8, "n {n}: (A A^-1)[{i},{j}] = {v}");
                }
            }
        }
    }

    #[test]
    fn spd_inverse_refuses_indefinite_matrices() {
        // [[1, 2], [2, 1]] has eigenvalues 3 and -1.
        assert!(spd_inverse(vec![1.0, 0.0, 2.0, 1.0], 2, 1).is_none());
        assert!(spd_inverse(vec![0.0], 1, 1).is_none());
    }

    #[test]
    fn inverse_does_not_depend_on_threads() {
        let (lower, _) = random_spd(33, 5);
        let one = spd_inverse(lower.clone(), 33, 1).unwrap();
        let four = spd_inverse(lower, 33, 4).unwrap();
        assert_eq!(one, four);
    }

    fn random_interactions(users: u32, items: u32, n: usize, seed: u64) -> Ratings {
        let mut rng = Rng::seeded(seed);
        let mut r = Ratings::with_capacity(n, true);
        for t in 0..n {
            let u = rng.below(users as usize) as u32;
            // Users lean to items near 3u, so that items co-occur.
            let i = ((3 * u as usize + rng.below(8)) % items as usize) as u32;
            r.push(u, i, 1.0, Some(t as i64 / 3));
        }
        r
    }

    /// The closed form against the optimality condition of the constrained problem:
    /// the gradient `2 ((X'X + l2 I) B - X'X)` must vanish off the diagonal (the
    /// diagonal holds the Lagrange multipliers of `diag(B) = 0`), computed in f64 from
    /// the data, independently of the inverse.
    #[test]
    fn ease_satisfies_its_optimality_conditions() {
        let (users, items) = (30u32, 12u32);
        let r = random_interactions(users, items, 200, 3);
        let l2 = 2.5f32;
        let m = EaseParams {
            l2,
            ..Default::default()
        }
        .train(&r, users, items)
        .unwrap();
        let n = items as usize;
        let mut x = vec![0.0f64; users as usize * n];
        for k in 0..r.len() {
            x[r.users[k] as usize * n + r.items[k] as usize] = 1.0;
        }
        let g = |i: usize, j: usize| -> f64 {
            (0..users as usize)
                .map(|u| x[u * n + i] * x[u * n + j])
                .sum()
        };
        let mut worst = 0.0f64;
        for i in 0..n {
            assert_eq!(m.b[i * n + i], 0.0);
            for j in 0..n {
                if i == j {
                    continue;
                }
                let grad: f64 = (0..n)
                    .map(|k| {
                        let gik = g(i, k) + if i == k { l2 as f64 } else { 0.0 };
                        gik * m.b[k * n + j] as f64
                    })
                    .sum::<f64>()
                    - g(i, j);
                worst = worst.max(grad.abs());
            }
        }
        assert!(worst < 1e-4, "largest off-diagonal gradient {worst}");
    }

    #[test]
    fn recency_weights_the_latest_interactions() {
        let mut r = Ratings::with_capacity(4, true);
        // User 0: item 2 at t=1, items 0 and 1 at t=5 (both latest), item 3 twice (t=0, t=9).
        for (i, t) in [(2, 1), (0, 5), (1, 5), (3, 0), (3, 9)] {
            r.push(0, i, 1.0, Some(t));
        }
        let p = EaseParams {
            recency_beta: 4.0,
            recency_tau: 2.0,
            ..Default::default()
        };
        let m = p.train(&r, 1, 4).unwrap();
        let (items, w) = m.user_row(0);
        assert_eq!(items, [0, 1, 2, 3]);
        let f = |later: f32| 1.0 + 4.0 * (-later / 2.0f32).exp();
        assert_eq!(w, [f(1.0), f(1.0), f(3.0), f(0.0)]);
        // Without timestamps recency is refused; without recency every weight is 1.
        let mut no_times = r.clone();
        no_times.times = None;
        assert!(matches!(p.train(&no_times, 1, 4), Err(Error::Usage(_))));
        let plain = EaseParams::default().train(&no_times, 1, 4).unwrap();
        assert_eq!(plain.user_row(0).1, [1.0; 4]);
        // Fold-in takes the list order as time: the last named is the latest.
        assert_eq!(
            p.fold_in(&[2, 0, 3, 0]),
            vec![(0, f(0.0)), (2, f(2.0)), (3, f(1.0))]
        );
    }

    /// Folding a training user's items back in, in time order (no ties), gives that
    /// user's own input row, hence the same scores.
    #[test]
    fn fold_in_of_a_training_user_matches_the_trained_row() {
        let r = random_interactions(20, 30, 200, 4);
        let p = EaseParams {
            l2: 2.0,
            recency_beta: 3.0,
            recency_tau: 4.0,
            ..Default::default()
        };
        // Distinct times: the interaction index.
        let mut r = r;
        r.times = Some((0..r.len() as i64).collect());
        let m = p.train(&r, 20, 30).unwrap();
        for u in 0..20u32 {
            let order: Vec<u32> = (0..r.len())
                .filter(|&k| r.users[k] == u)
                .map(|k| r.items[k])
                .collect();
            let row = p.fold_in(&order);
            let (items, weights) = m.user_row(u);
            let trained: Vec<(u32, f32)> =
                items.iter().copied().zip(weights.iter().copied()).collect();
            assert_eq!(row, trained, "user {u}");
        }
    }

    #[test]
    fn scores_match_score_items_and_do_not_depend_on_threads() {
        let (users, items) = (25u32, 40u32);
        let r = random_interactions(users, items, 300, 9);
        let p = EaseParams {
            l2: 3.0,
            recency_beta: 2.0,
            ..Default::default()
        };
        let m = p.train(&r, users, items).unwrap();
        let m4 = EaseParams { threads: 4, ..p }
            .train(&r, users, items)
            .unwrap();
        assert_eq!(m, m4);
        assert!(m.check(users as usize).is_ok());
        assert!(m.check(users as usize + 1).is_err());
        let mut bad = m.clone();
        bad.user_items[0] = items;
        assert!(bad.check(users as usize).is_err());
        let mut bad = m.clone();
        bad.user_weights[0] = f32::NAN;
        assert!(bad.check(users as usize).is_err());
        let mut bad = m.clone();
        bad.offsets[1] = bad.offsets[2] + 1;
        assert!(bad.check(users as usize).is_err());
        let mut out = vec![0.0f32; items as usize];
        for u in 0..users {
            m.score_items(u, &mut out);
            for i in 0..items {
                assert!((out[i as usize] - m.score(u, i)).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn bad_params_and_data_are_usage_errors() {
        for p in [
            EaseParams {
                l2: 0.0,
                ..Default::default()
            },
            EaseParams {
                recency_beta: -1.0,
                ..Default::default()
            },
            EaseParams {
                recency_tau: 0.0,
                ..Default::default()
            },
            EaseParams {
                threads: 0,
                ..Default::default()
            },
        ] {
            assert!(matches!(p.check(), Err(Error::Usage(_))), "{p:?}");
        }
        let empty = Ratings::default();
        assert!(EaseParams::default().train(&empty, 1, 1).is_err());
        let mut one = Ratings::default();
        one.push(0, 0, 1.0, None);
        let too_many = MAX_ITEMS as u32 + 1;
        assert!(matches!(
            EaseParams::default().train(&one, 1, too_many),
            Err(Error::Usage(_))
        ));
    }
}
