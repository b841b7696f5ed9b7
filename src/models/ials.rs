//! Weighted ALS for implicit feedback (Hu, Koren and Volinsky 2008, "Collaborative
//! Filtering for Implicit Feedback Datasets"), with the conjugate-gradient solver of
//! Takács, Pilászy and Tikk (2011) as the `implicit` library uses it.
//!
//! Every (user, item) pair is a preference `p_ui` (1 when the user interacted with the
//! item, else 0) with a confidence `c_ui` (1 for the pairs not observed, `1 + alpha *
//! f(r_ui)` for observed ones). The model minimises
//!
//! `sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + sum_u l2_u |x_u|^2 + sum_i l2_i |y_i|^2`
//!
//! by alternating: with the items fixed every user's factors solve the K x K system
//! `(Y'Y + sum_{i in I_u} (c_ui - 1) y_i y_i' + l2_u I) x_u = sum_{i in I_u} c_ui y_i`
//! (the `Y'Y` term covers the unobserved pairs at the cost of one K x K product per
//! sweep), then the same for items. Each system is solved by a few conjugate-gradient
//! steps warm-started from the previous solution.
//!
//! Scores are dot products: preferences, **not ratings** (never clipped).
//!
//! **Threads and determinism.** In each half-sweep the rows (users, then items) are cut
//! into `threads` contiguous chunks, each solved by one scoped thread that writes only its
//! own chunk of the output matrix (`chunks_mut`: no shared mutation). A row's solution
//! depends only on the other side's (fixed) factors and its own previous value, so the
//! result is bit-identical for any thread count.

use super::Recommender;
use super::{AnyModel, FoldedUser, Kind, Model, NamedTensor, Tensors};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::nn::kernels::{axpy, dot};
use crate::rng::Rng;
use std::str::FromStr;

/// How an observed value `r` (a rating, or a count) becomes a confidence.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Confidence {
    /// `1 + alpha` for every observed pair (the value is ignored).
    Binary,
    /// `1 + alpha * r` (Hu et al.'s linear scaling).
    Linear,
    /// `1 + alpha * ln(1 + r / eps)` (Hu et al.'s log scaling).
    Log {
        /// The scale `eps` of the value (> 0).
        eps: f32,
    },
}

impl Confidence {
    /// The confidence of an observed pair with value `r` under `alpha`.
    pub fn of(&self, r: f32, alpha: f32) -> f32 {
        match *self {
            Confidence::Binary => 1.0 + alpha,
            Confidence::Linear => 1.0 + alpha * r,
            Confidence::Log { eps } => 1.0 + alpha * (1.0 + r / eps).ln(),
        }
    }
}

impl FromStr for Confidence {
    type Err = Error;
    /// `binary`, `linear`, `log` (eps 1) or `log:EPS`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Usage(format!(
                "confidence: expected binary, linear, log or log:EPS (EPS > 0), got '{s}'"
            ))
        };
        match s {
            "binary" => Ok(Confidence::Binary),
            "linear" => Ok(Confidence::Linear),
            "log" => Ok(Confidence::Log { eps: 1.0 }),
            _ => {
                let eps: f32 = s
                    .strip_prefix("log:")
                    .ok_or_else(bad)?
                    .parse()
                    .map_err(|_| bad())?;
                if eps.is_finite() && eps > 0.0 {
                    Ok(Confidence::Log { eps })
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// Hyper-parameters of [`Ials`].
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `dim` | 32 | latent factors K | 1..=4096 |
/// | `iterations` | 15 | ALS sweeps (users, then items) | 1..=10000 |
/// | `l2` | 2 | L2 on every user and item row (scaled, see `l2_exponent`) | ≥ 0 |
/// | `l2_exponent` | 0.5 | row `r`'s L2 is `l2 * n_r^l2_exponent`, `n_r` its interactions | [0, 2] |
/// | `alpha` | 0.3 | confidence weight | ≥ 0 |
/// | `confidence` | linear | value -> confidence ([`Confidence`]) | binary, linear, log, log:EPS |
/// | `cg_steps` | 3 | conjugate-gradient steps per row and sweep | 1..=1000 |
/// | `init` | 0.01 | std of the normal initial factors | > 0 |
/// | `seed` | 42 | initialisation | any |
/// | `threads` | 1 | solver threads (results do not depend on it) | 1..=256 |
///
/// Defaults were chosen on validation data carved from u1.base (see docs/tuning.md,
/// "Implicit feedback").
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IalsParams {
    /// Latent factors K.
    pub dim: usize,
    /// ALS sweeps.
    pub iterations: usize,
    /// L2 on the rows.
    pub l2: f32,
    /// Exponent of the per-row L2 scaling by interaction count.
    pub l2_exponent: f32,
    /// Confidence weight.
    pub alpha: f32,
    /// Value -> confidence.
    pub confidence: Confidence,
    /// CG steps per row and sweep.
    pub cg_steps: usize,
    /// Std of the initial factors.
    pub init: f32,
    /// Seed of the initial factors.
    pub seed: u64,
    /// Solver threads.
    pub threads: usize,
    /// The interactions are the training ratings at or above this (`None`: every
    /// rating).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_rating: Option<f32>,
}

impl Default for IalsParams {
    fn default() -> Self {
        IalsParams {
            dim: 32,
            iterations: 15,
            l2: 2.0,
            l2_exponent: 0.5,
            alpha: 0.3,
            confidence: Confidence::Linear,
            cg_steps: 3,
            init: 0.01,
            seed: 42,
            threads: 1,
            min_rating: None,
        }
    }
}

impl IalsParams {
    /// Checks every range in the table above.
    pub fn check(&self) -> Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        if !(1..=4096).contains(&self.dim) {
            return usage(format!("dim must be in 1..=4096, got {}", self.dim));
        }
        if !(1..=10_000).contains(&self.iterations) {
            return usage(format!(
                "iterations (--epochs) must be in 1..=10000, got {}",
                self.iterations
            ));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return usage(format!("l2 must be >= 0, got {}", self.l2));
        }
        if !(0.0..=2.0).contains(&self.l2_exponent) {
            return usage(format!(
                "l2 exponent must be in [0, 2], got {}",
                self.l2_exponent
            ));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return usage(format!("alpha must be >= 0, got {}", self.alpha));
        }
        if let Confidence::Log { eps } = self.confidence
            && !(eps.is_finite() && eps > 0.0)
        {
            return usage(format!("log confidence eps must be > 0, got {eps}"));
        }
        if !(1..=1000).contains(&self.cg_steps) {
            return usage(format!(
                "cg steps must be in 1..=1000, got {}",
                self.cg_steps
            ));
        }
        if !(self.init.is_finite() && self.init > 0.0) {
            return usage(format!("init std must be > 0, got {}", self.init));
        }
        if !(1..=256).contains(&self.threads) {
            return usage(format!("threads must be in 1..=256, got {}", self.threads));
        }
        Ok(())
    }

    /// Fits on the interactions of `train` (indices below `n_users` / `n_items`; values
    /// feed the confidence; a repeated pair adds its confidences), calling `on_sweep`
    /// after every sweep with its number (from 1) and the model so far.
    ///
    /// ```
    /// use embedrec::data::Ratings;
    /// use embedrec::models::{IalsParams, Recommender};
    /// let mut r = Ratings::default();
    /// // Two groups of users with disjoint tastes: {0, 1} like items 0..2, {2, 3} items 2..4.
    /// for (u, i) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)] {
    ///     r.push(u, i, 1.0, None);
    /// }
    /// let p = IalsParams { dim: 4, l2: 0.1, ..IalsParams::default() };
    /// let m = p.train(&r, 4, 4, |_, _| Ok(())).unwrap();
    /// assert!(m.score(1, 2) < m.score(1, 0));
    /// ```
    pub fn train(
        &self,
        train: &Ratings,
        n_users: u32,
        n_items: u32,
        mut on_sweep: impl FnMut(usize, &Ials) -> Result<()>,
    ) -> Result<Ials> {
        self.check()?;
        if train.is_empty() {
            return Err(Error::Usage("cannot train on no interactions".into()));
        }
        let (nu, ni, k) = (n_users as usize, n_items as usize, self.dim);
        let conf: Vec<f32> = train
            .values
            .iter()
            .map(|&v| self.confidence.of(v, self.alpha))
            .collect();
        if let Some(&c) = conf.iter().find(|c| !(c.is_finite() && **c >= 1.0)) {
            return Err(Error::Usage(format!(
                "a confidence is {c}, not a finite number >= 1 (negative values under \
                 linear or log confidence?)"
            )));
        }
        let by_user = Csr::build(nu, &train.users, &train.items, &conf);
        let by_item = Csr::build(ni, &train.items, &train.users, &conf);
        let mut rng = Rng::seeded(self.seed);
        let mut normal = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| (rng.normal() * self.init as f64) as f32)
                .collect()
        };
        let mut model = Ials {
            dim: k,
            p: normal(nu * k),
            q: normal(ni * k),
        };
        for sweep in 1..=self.iterations {
            self.half_sweep(&by_user, &model.q, &mut model.p);
            self.half_sweep(&by_item, &model.p, &mut model.q);
            on_sweep(sweep, &model)?;
        }
        Ok(model)
    }

    /// Solves every row of `x` (rows of `csr`) with the other side `y` fixed.
    fn half_sweep(&self, csr: &Csr, y: &[f32], x: &mut [f32]) {
        let k = self.dim;
        let gram = gram(y, k);
        let rows = csr.rows();
        let per_thread = rows.div_ceil(self.threads).max(1);
        let solve_chunk = |first: usize, chunk: &mut [f32]| {
            let mut s = Scratch::new(k);
            for (r, xr) in chunk.chunks_mut(k).enumerate() {
                let row = first + r;
                let (cols, confs) = csr.row(row);
                let l2 = self.l2 * (cols.len() as f32).powf(self.l2_exponent);
                self.solve_row(&gram, y, cols, confs, l2, xr, &mut s);
            }
        };
        if self.threads == 1 {
            solve_chunk(0, x);
            return;
        }
        std::thread::scope(|scope| {
            for (t, chunk) in x.chunks_mut(per_thread * k).enumerate() {
                let solve_chunk = &solve_chunk;
                scope.spawn(move || solve_chunk(t * per_thread, chunk));
            }
        });
    }

    /// `cg_steps` conjugate-gradient steps on one row's system, from its current value.
    #[allow(clippy::too_many_arguments)]
    fn solve_row(
        &self,
        gram: &[f32],
        y: &[f32],
        cols: &[u32],
        confs: &[f32],
        l2: f32,
        x: &mut [f32],
        s: &mut Scratch,
    ) {
        let k = self.dim;
        let yrow = |i: u32| &y[i as usize * k..(i as usize + 1) * k];
        // r = b - A x, with b = sum c_i y_i.
        apply(gram, y, cols, confs, l2, x, &mut s.ax, k);
        s.r.iter_mut().zip(&s.ax).for_each(|(r, &a)| *r = -a);
        for (&i, &c) in cols.iter().zip(confs) {
            axpy(c, yrow(i), &mut s.r);
        }
        s.p.copy_from_slice(&s.r);
        let mut rs_old = dot(&s.r, &s.r) as f64;
        for _ in 0..self.cg_steps {
            if rs_old < 1e-20 {
                break;
            }
            apply(gram, y, cols, confs, l2, &s.p, &mut s.ax, k);
            let p_ap = dot(&s.p, &s.ax) as f64;
            if p_ap <= 0.0 {
                break;
            }
            let step = (rs_old / p_ap) as f32;
            axpy(step, &s.p, x);
            axpy(-step, &s.ax, &mut s.r);
            let rs_new = dot(&s.r, &s.r) as f64;
            let beta = (rs_new / rs_old) as f32;
            s.p.iter_mut()
                .zip(&s.r)
                .for_each(|(p, &r)| *p = r + beta * *p);
            rs_old = rs_new;
        }
    }
}

/// `out = (G + sum_i (c_i - 1) y_i y_i' + l2 I) v` for one row's system.
#[allow(clippy::too_many_arguments)]
fn apply(
    gram: &[f32],
    y: &[f32],
    cols: &[u32],
    confs: &[f32],
    l2: f32,
    v: &[f32],
    out: &mut [f32],
    k: usize,
) {
    for (d, o) in out.iter_mut().enumerate() {
        *o = dot(&gram[d * k..(d + 1) * k], v) + l2 * v[d];
    }
    for (&i, &c) in cols.iter().zip(confs) {
        let yi = &y[i as usize * k..(i as usize + 1) * k];
        axpy((c - 1.0) * dot(yi, v), yi, out);
    }
}

/// `Y'Y` (K x K, row-major) of the rows of `y`, accumulated in f64 in row order.
fn gram(y: &[f32], k: usize) -> Vec<f32> {
    let mut g = vec![0.0f64; k * k];
    for row in y.chunks_exact(k) {
        for a in 0..k {
            let ya = row[a] as f64;
            let g_row = &mut g[a * k..(a + 1) * k];
            for (gb, &yb) in g_row.iter_mut().zip(row) {
                *gb += ya * yb as f64;
            }
        }
    }
    g.into_iter().map(|v| v as f32).collect()
}

/// Per-thread work vectors of the CG solver.
struct Scratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ax: Vec<f32>,
}

impl Scratch {
    fn new(k: usize) -> Self {
        Scratch {
            r: vec![0.0; k],
            p: vec![0.0; k],
            ax: vec![0.0; k],
        }
    }
}

/// Compressed rows: for each row its columns and confidences (in input order).
struct Csr {
    start: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f32>,
}

impl Csr {
    fn build(rows: usize, row_of: &[u32], col_of: &[u32], vals: &[f32]) -> Self {
        let mut start = vec![0usize; rows + 1];
        for &r in row_of {
            start[r as usize + 1] += 1;
        }
        for r in 0..rows {
            start[r + 1] += start[r];
        }
        let mut fill = start.clone();
        let (mut cols, mut out) = (vec![0u32; row_of.len()], vec![0f32; row_of.len()]);
        for ((&r, &c), &v) in row_of.iter().zip(col_of).zip(vals) {
            let at = &mut fill[r as usize];
            cols[*at] = c;
            out[*at] = v;
            *at += 1;
        }
        Csr {
            start,
            cols,
            vals: out,
        }
    }

    fn rows(&self) -> usize {
        self.start.len() - 1
    }

    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (lo, hi) = (self.start[r], self.start[r + 1]);
        (&self.cols[lo..hi], &self.vals[lo..hi])
    }
}

/// A trained implicit-feedback factorization: `score(u, i) = x_u . y_i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ials {
    /// Latent factors K.
    pub dim: usize,
    /// User factors, users x K, row-major.
    pub p: Vec<f32>,
    /// Item factors, items x K, row-major.
    pub q: Vec<f32>,
}

impl Ials {
    /// The factors of a user the model never saw, from the items they interacted with
    /// (and the values, for the confidence): the exact user half-step of a sweep, with the
    /// item factors frozen (`params` as the model was trained with).
    pub fn fold_in(&self, params: &IalsParams, items: &[(u32, f32)]) -> Vec<f32> {
        let k = self.dim;
        let cols: Vec<u32> = items.iter().map(|&(i, _)| i).collect();
        let confs: Vec<f32> = items
            .iter()
            .map(|&(_, v)| params.confidence.of(v, params.alpha).max(1.0))
            .collect();
        let gram = gram(&self.q, k);
        let l2 = params.l2 * (cols.len() as f32).powf(params.l2_exponent);
        let mut x = vec![0.0f32; k];
        let mut s = Scratch::new(k);
        // A fresh start needs more than a warm start's few steps: run CG to K steps.
        let exact = IalsParams {
            cg_steps: k.max(params.cg_steps),
            ..params.clone()
        };
        exact.solve_row(&gram, &self.q, &cols, &confs, l2, &mut x, &mut s);
        x
    }
}

impl Recommender for Ials {
    fn kind(&self) -> &'static str {
        "ials"
    }
    fn n_users(&self) -> u32 {
        (self.p.len() / self.dim) as u32
    }
    fn n_items(&self) -> u32 {
        (self.q.len() / self.dim) as u32
    }
    fn param_count(&self) -> usize {
        self.p.len() + self.q.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        let (u, i, k) = (user as usize, item as usize, self.dim);
        dot(&self.p[u * k..(u + 1) * k], &self.q[i * k..(i + 1) * k])
    }
    /// 0: no preference is known (scores are preferences, not ratings).
    fn fallback(&self, _user: Option<u32>, _item: Option<u32>) -> f32 {
        0.0
    }
}

impl Model for Ials {
    boxed_model!();

    /// `p [U, K]`, `q [I, K]`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (u, i) = (self.n_users() as usize, self.n_items() as usize);
        vec![
            NamedTensor::new("p", &[u, self.dim], &self.p),
            NamedTensor::new("q", &[i, self.dim], &self.q),
        ]
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.q, self.dim))
    }

    /// The exact user step of weighted ALS (the items as interactions, the values as
    /// confidences) with the item factors frozen ([`Ials::fold_in`]).
    fn fold_in(
        &self,
        params: &serde_json::Value,
        _: super::Feedback,
        _: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser> {
        // The model file's loader checked the params.
        let p: IalsParams = serde_json::from_value(params.clone()).unwrap_or_default();
        Ok(FoldedUser {
            factors: self.fold_in(&p, &base.ratings),
            ..base
        })
    }

    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        self.q
            .chunks_exact(self.dim)
            .map(|q| dot(&user.factors, q))
            .collect()
    }
}

fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    super::params_of::<IalsParams>("ials", params, IalsParams::check)?;
    let (dim, p) = super::mf::read_factors(t, "p", users, params)?;
    let q = t.values("q", &[items, dim])?;
    Ok(AnyModel::new(Ials { dim, p, q }))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "ials",
    about: "Weighted ALS for implicit feedback (Hu, Koren and Volinsky), conjugate gradient",
    load,
    member: None,
    params: super::implicit_params::<IalsParams>,
    read: Some(super::read::<IalsParams>),
    presets: &[],
    flags: |implicit| {
        use super::flags::{self, DIM, Flag, L2, THREADS, parsed};
        implicit.then(|| {
            let mut v = vec![
                DIM,
                Flag::field("--epochs", "iterations"),
                L2,
                THREADS,
                Flag::parsed("--init", "init", |s| flags::normal_std(s, "ials")),
                Flag::field("--alpha", "alpha"),
                Flag::parsed("--confidence", "confidence", parsed::<Confidence>),
                Flag::field("--cg-steps", "cg_steps"),
                Flag::field("--l2-exponent", "l2_exponent"),
            ];
            v.extend(flags::IMPLICIT);
            v
        })
    },
    no_preset: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Small random interactions: `users` x `items`, each user with about `per_user`
    /// distinct items, values 1..=5.
    fn interactions(users: u32, items: u32, per_user: usize, seed: u64) -> Ratings {
        let mut rng = Rng::seeded(seed);
        let mut r = Ratings::default();
        for u in 0..users {
            let mut seen = std::collections::BTreeSet::new();
            while seen.len() < per_user {
                seen.insert(rng.below(items as usize) as u32);
            }
            for i in seen {
                r.push(u, i, 1.0 + rng.below(5) as f32, None);
            }
        }
        r
    }

    /// The full weighted objective, in f64.
    fn objective(p: &IalsParams, r: &Ratings, m: &Ials) -> f64 {
        let (nu, ni) = (m.n_users() as usize, m.n_items() as usize);
        let mut c = vec![1.0f64; nu * ni];
        let mut pref = vec![0.0f64; nu * ni];
        let mut n_u = vec![0usize; nu];
        let mut n_i = vec![0usize; ni];
        for k in 0..r.len() {
            let (u, i) = (r.users[k] as usize, r.items[k] as usize);
            c[u * ni + i] = p.confidence.of(r.values[k], p.alpha) as f64;
            pref[u * ni + i] = 1.0;
            n_u[u] += 1;
            n_i[i] += 1;
        }
        let mut f = 0.0;
        for u in 0..nu {
            for i in 0..ni {
                let e = pref[u * ni + i] - m.score(u as u32, i as u32) as f64;
                f += c[u * ni + i] * e * e;
            }
        }
        let k = m.dim;
        let l2 = |n: usize| p.l2 as f64 * (n as f64).powf(p.l2_exponent as f64);
        let sq = |row: &[f32]| row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        for (row, &n) in m.p.chunks_exact(k).zip(&n_u) {
            f += l2(n) * sq(row);
        }
        for (row, &n) in m.q.chunks_exact(k).zip(&n_i) {
            f += l2(n) * sq(row);
        }
        f
    }

    /// With K conjugate-gradient steps each row's solve is exact, so a sweep can only
    /// lower the objective (block coordinate descent), and at the end the gradient of the
    /// objective with respect to a user's factors is 0 (checked against a central finite
    /// difference of the f64 objective).
    #[test]
    fn sweeps_decrease_the_objective_and_rows_are_optimal() {
        let r = interactions(12, 15, 5, 3);
        for confidence in [
            Confidence::Binary,
            Confidence::Linear,
            Confidence::Log { eps: 2.0 },
        ] {
            let p = IalsParams {
                dim: 4,
                iterations: 6,
                l2: 0.3,
                l2_exponent: 0.5,
                alpha: 3.0,
                confidence,
                cg_steps: 8,
                init: 0.3,
                ..IalsParams::default()
            };
            let mut values = Vec::new();
            let m = p
                .train(&r, 12, 15, |_, m| {
                    values.push(objective(&p, &r, m));
                    Ok(())
                })
                .unwrap();
            for w in values.windows(2) {
                assert!(w[1] <= w[0] * (1.0 + 1e-6), "{confidence:?}: {values:?}");
            }
            // After the last sweep the items were solved last: the item rows are optimal.
            let k = m.dim;
            for i in [0usize, 7, 14] {
                for d in 0..k {
                    let h = 1e-3;
                    let mut plus = m.clone();
                    plus.q[i * k + d] += h;
                    let mut minus = m.clone();
                    minus.q[i * k + d] -= h;
                    let g =
                        (objective(&p, &r, &plus) - objective(&p, &r, &minus)) / (2.0 * h as f64);
                    assert!(g.abs() < 2e-3, "{confidence:?}: d f / d q[{i},{d}] = {g}");
                }
            }
        }
    }

    #[test]
    fn threads_do_not_change_the_result_and_seeds_reproduce() {
        let r = interactions(40, 30, 6, 5);
        let p = IalsParams {
            dim: 8,
            iterations: 3,
            ..IalsParams::default()
        };
        let one = p.train(&r, 40, 30, |_, _| Ok(())).unwrap();
        let again = p.train(&r, 40, 30, |_, _| Ok(())).unwrap();
        assert_eq!(one, again);
        for threads in [2, 3, 7] {
            let many = IalsParams {
                threads,
                ..p.clone()
            }
            .train(&r, 40, 30, |_, _| Ok(()))
            .unwrap();
            assert_eq!(one, many, "threads {threads}");
        }
        let other = IalsParams {
            seed: 1,
            ..p.clone()
        }
        .train(&r, 40, 30, |_, _| Ok(()))
        .unwrap();
        assert_ne!(one, other);
    }

    #[test]
    fn fold_in_matches_the_trained_user() {
        // A user's own row after the final sweep is the optimum of its system given the
        // item factors of the previous half-step; fold-in with the final items must be
        // close after convergence.
        let r = interactions(30, 20, 6, 9);
        let p = IalsParams {
            dim: 6,
            iterations: 60,
            cg_steps: 6,
            l2: 0.5,
            ..IalsParams::default()
        };
        let m = p.train(&r, 30, 20, |_, _| Ok(())).unwrap();
        let u = 4u32;
        let items: Vec<(u32, f32)> = (0..r.len())
            .filter(|&k| r.users[k] == u)
            .map(|k| (r.items[k], r.values[k]))
            .collect();
        let x = m.fold_in(&p, &items);
        let k = m.dim;
        for (a, b) in x.iter().zip(&m.p[u as usize * k..(u as usize + 1) * k]) {
            assert!((a - b).abs() < 1e-3, "{x:?}");
        }
    }

    #[test]
    fn bad_params_and_values_are_usage_errors() {
        for bad in [
            IalsParams {
                dim: 0,
                ..IalsParams::default()
            },
            IalsParams {
                alpha: -1.0,
                ..IalsParams::default()
            },
            IalsParams {
                l2: f32::NAN,
                ..IalsParams::default()
            },
            IalsParams {
                cg_steps: 0,
                ..IalsParams::default()
            },
            IalsParams {
                threads: 0,
                ..IalsParams::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        let mut r = Ratings::default();
        r.push(0, 0, -3.0, None);
        let p = IalsParams {
            confidence: Confidence::Linear,
            ..IalsParams::default()
        };
        assert!(p.train(&r, 1, 1, |_, _| Ok(())).is_err());
        assert!("log:0".parse::<Confidence>().is_err());
        assert_eq!(
            "log:2".parse::<Confidence>().unwrap(),
            Confidence::Log { eps: 2.0 }
        );
    }
}
