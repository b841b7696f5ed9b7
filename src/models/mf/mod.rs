//! Matrix factorization as a neural network (the textbook's first model): user and item
//! ids select rows of P (users x K) and Q (items x K) and of two bias tables; the
//! prediction is `mu + b_u + b_i + dot(P_u, Q_i)`, trained on minibatches of
//! `rating - mu` with an optimizer from [`crate::nn`].

use super::Recommender;
use super::{AnyModel, Feedback, FoldedUser, Kind, Model, NamedTensor, Tensors};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::nn::kernels::{axpy, dot};
use crate::nn::{Embedding, Init, L2Mode, Loss, Optimizer, OptimizerKind};
use crate::rng::Rng;
use crate::train::{EpochRecord, EvalSets, History, Network};

mod batch;
mod fused;
mod grid;
use batch::*;
use fused::*;
pub use grid::*;

use super::with_training_fields;

with_training_fields! {
    /// Hyper-parameters of [`Mf`]. The defaults are the tuned settings (see
    /// docs/tuning.md, "mf"); `--preset book-mf` gives the textbook's.
    ///
    /// | name | default | meaning | valid range |
    /// |---|---|---|---|
    /// | `dim` | 512 | latent factors K | 1..=4096 |
    /// | `epochs` | 25 | training epochs | 1..=100000 |
    /// | `batch` | 1 | ratings per minibatch | 1..=1048576 |
    /// | `optimizer` | sgd | update rule and its constants | see [`Optimizer`] |
    /// | `lr` | 0.02 | learning rate | > 0 |
    /// | `lr_decay` | 0.85 | lr multiplier after each epoch | (0, 1] |
    /// | `l2` | 0.045 | L2 on P and Q | ≥ 0 |
    /// | `l2_bias` | 0.015 | L2 on the bias tables | ≥ 0 |
    /// | `l2_mode` | rows | where L2 applies ([`L2Mode`]) | rows, table |
    /// | `init` | normal:0.01 | initialiser of all four tables | see [`Init`] |
    /// | `loss` | mse | training loss | mse, rmse |
    /// | `seed` | 42 | initialisation and shuffling | any |
    /// | `patience` | 0 | early-stopping patience in epochs (0 = off) | any |
    /// | `val_fraction` | 0 | share of training data held out for validation | [0, 1) |
    /// | `clip` | true | clip predictions to the rating scale | |
    /// | `threads` | 1 | training threads; > 1 needs per-example plain SGD (see below) | 1..=256 |
    ///
    /// **Threads.** With `batch = 1`, plain SGD (no momentum), `loss = mse` and `l2_mode =
    /// rows` (the classic SGD matrix factorization), training runs a fused per-example
    /// kernel. On `threads > 1`, or on one thread from [`GRID_MIN_RATINGS`] ratings on, it
    /// trains in the manner of LIBMF on a grid of blocks (users and items cut into ranges of
    /// about equal rating counts; see [`grid_side`]): blocks that share no user range and no
    /// item range run in parallel, so no row is ever written by two threads (no locks, no
    /// atomics, no data races), and the grid is stored block by block so that an epoch
    /// needs no shuffled copy of the data. Grid results depend neither on the thread count
    /// nor on timing: seeded runs give the same weights on 1, 2 or 16 threads. Below
    /// [`GRID_MIN_RATINGS`], one thread keeps the classic global shuffle.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct MfParams {
        /// Latent factors K.
        pub dim: usize,
        ..schedule,
        /// L2 on P and Q.
        pub l2: f32,
        /// L2 on the bias tables.
        pub l2_bias: f32,
        /// Where L2 applies.
        pub l2_mode: L2Mode,
        /// Initialiser of all four tables.
        pub init: Init,
        /// Training loss.
        pub loss: Loss,
        ..stopping,
        /// Training threads (> 1 only for per-example plain SGD).
        pub threads: usize,
    }
}

impl Default for MfParams {
    fn default() -> Self {
        // Chosen on validation splits carved from u1.base..u5.base (scripts/tune-mf.sh).
        MfParams {
            dim: 512,
            epochs: 25,
            batch: 1,
            optimizer: Optimizer::default(),
            lr: 0.02,
            lr_decay: 0.85,
            l2: 0.045,
            l2_bias: 0.015,
            l2_mode: L2Mode::Rows,
            init: Init::Normal(0.01),
            loss: Loss::Mse,
            seed: 42,
            patience: 0,
            val_fraction: 0.0,
            clip: true,
            threads: 1,
        }
    }
}

impl MfParams {
    /// The textbook's Keras MF: K=200, `l2(0.01)` on the whole of all four tables,
    /// uniform ±0.05 init, SGD lr 0.01, batch-RMSE loss, batch 256, 60 epochs, no
    /// clipping. Reference (TF 2.21 / Keras 3.15, ML-100K u1): test RMSE 1.1268.
    pub fn book_mf() -> Self {
        MfParams {
            dim: 200,
            epochs: 60,
            batch: 256,
            optimizer: Optimizer::default(),
            lr: 0.01,
            lr_decay: 1.0,
            l2: 0.01,
            l2_bias: 0.01,
            l2_mode: L2Mode::Table,
            init: Init::Uniform(0.05),
            loss: Loss::Rmse,
            seed: 42,
            patience: 0,
            val_fraction: 0.0,
            clip: false,
            threads: 1,
        }
    }

    /// Checks every range in the table above.
    pub fn check(&self) -> Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        if !(1..=4096).contains(&self.dim) {
            return usage(format!("dim must be in 1..=4096, got {}", self.dim));
        }
        if !(1..=100_000).contains(&self.epochs) {
            return usage(format!("epochs must be in 1..=100000, got {}", self.epochs));
        }
        if !(1..=1 << 20).contains(&self.batch) {
            return usage(format!("batch must be in 1..=1048576, got {}", self.batch));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return usage(format!("lr must be > 0, got {}", self.lr));
        }
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return usage(format!("lr decay must be in (0, 1], got {}", self.lr_decay));
        }
        for (name, v) in [("l2", self.l2), ("l2 bias", self.l2_bias)] {
            if !(v.is_finite() && v >= 0.0) {
                return usage(format!("{name} must be >= 0, got {v}"));
            }
            if self.l2_mode == L2Mode::Table && 2.0 * v * self.lr >= 1.0 {
                return usage(format!(
                    "table-mode {name} {v} with lr {} would flip signs (2 l2 lr >= 1)",
                    self.lr
                ));
            }
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return usage(format!(
                "val fraction must be in [0, 1), got {}",
                self.val_fraction
            ));
        }
        if !(1..=256).contains(&self.threads) {
            return usage(format!("threads must be in 1..=256, got {}", self.threads));
        }
        if self.threads > 1 && !self.per_example_sgd() {
            return usage(format!(
                "{} threads need per-example plain SGD (--batch 1 --optimizer sgd, no momentum, \
                 --loss mse, --l2-mode rows); use --threads 1 for this configuration",
                self.threads
            ));
        }
        self.optimizer.check()
    }

    /// True for the classic SGD matrix factorization that has a fused (and parallel) kernel.
    pub fn per_example_sgd(&self) -> bool {
        self.batch == 1
            && self.optimizer.kind == OptimizerKind::Sgd
            && self.optimizer.momentum == 0.0
            && self.loss == Loss::Mse
            && self.l2_mode == L2Mode::Rows
    }

    /// Trains on `sets.train` (indices below `n_users` / `n_items`), reporting each epoch
    /// to `on_epoch`. Validation data for early stopping must come in `sets.val`.
    ///
    /// ```
    /// use embedrec::data::{Ratings, synthetic};
    /// use embedrec::models::{MfParams, Recommender};
    /// use embedrec::train::EvalSets;
    /// let mut r = Ratings::default();
    /// for (u, i, v) in [(0, 0, 5.0), (0, 1, 1.0), (1, 0, 5.0), (1, 1, 1.0)] {
    ///     r.push(u, i, v, None);
    /// }
    /// let params = MfParams { dim: 4, epochs: 200, batch: 2, ..MfParams::default() };
    /// let sets = EvalSets { train: &r, val: None, test: None, clip: None };
    /// let (model, _history) = params.train(sets, 2, 2, |_, _| Ok(())).unwrap();
    /// assert!(model.score(0, 0) > model.score(0, 1));
    /// ```
    pub fn train(
        &self,
        sets: EvalSets<'_>,
        n_users: u32,
        n_items: u32,
        mut on_epoch: impl FnMut(&EpochRecord, &dyn Recommender) -> Result<()>,
    ) -> Result<(Mf, History)> {
        self.check()?;
        if sets.train.is_empty() {
            return Err(Error::Usage("cannot train on no ratings".into()));
        }
        let mut net = MfNet::new(
            self,
            sets.train.mean() as f32,
            n_users as usize,
            n_items as usize,
        );
        let schedule = self.schedule();
        let history = crate::train::fit(&mut net, sets, &schedule, |r, n| on_epoch(r, n))?;
        Ok((net.into_model(), history))
    }
}

/// A trained MF model.
#[derive(Debug, Clone, PartialEq)]
pub struct Mf {
    /// Global mean of the training ratings.
    pub mu: f32,
    /// Latent factors K.
    pub dim: usize,
    /// User factors, users x K, row-major.
    pub p: Vec<f32>,
    /// Item factors, items x K, row-major.
    pub q: Vec<f32>,
    /// User biases.
    pub user_bias: Vec<f32>,
    /// Item biases.
    pub item_bias: Vec<f32>,
}

impl Recommender for Mf {
    fn kind(&self) -> &'static str {
        "mf"
    }
    fn n_users(&self) -> u32 {
        self.user_bias.len() as u32
    }
    fn n_items(&self) -> u32 {
        self.item_bias.len() as u32
    }
    fn param_count(&self) -> usize {
        self.p.len() + self.q.len() + self.user_bias.len() + self.item_bias.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        let (u, i, k) = (user as usize, item as usize, self.dim);
        self.mu
            + self.user_bias[u]
            + self.item_bias[i]
            + dot(&self.p[u * k..(u + 1) * k], &self.q[i * k..(i + 1) * k])
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.mu
            + user.map_or(0.0, |u| self.user_bias[u as usize])
            + item.map_or(0.0, |i| self.item_bias[i as usize])
    }
}

/// MF during training: the four tables with their optimizer state and batch scratch.
#[derive(Debug, Clone)]
pub struct MfNet {
    mu: f32,
    p: Embedding,
    q: Embedding,
    bu: Embedding,
    bi: Embedding,
    optimizer: Optimizer,
    loss: Loss,
    /// Set for per-example plain SGD: the fused kernel's constants and thread plan.
    fused: Option<FusedSgd>,
    /// Set for minibatch plain SGD: the buffer-free batch kernel and its constants.
    batched: Option<BatchKernel>,
    /// The batch's prediction errors.
    errors: Vec<f32>,
    /// d loss / d prediction_k = grad_scale * error_k for the current batch.
    grad_scale: f32,
}

impl MfNet {
    /// Fresh tables for `users` x `items`, initialised from `params.seed`.
    pub fn new(params: &MfParams, mu: f32, users: usize, items: usize) -> Self {
        let mut rng = Rng::seeded(params.seed);
        let (opt, k, mode) = (params.optimizer, params.dim, params.l2_mode);
        let p = Embedding::new(users, k, params.init, &mut rng, opt, params.l2, mode);
        let q = Embedding::new(items, k, params.init, &mut rng, opt, params.l2, mode);
        let bu = Embedding::new(users, 1, params.init, &mut rng, opt, params.l2_bias, mode);
        let bi = Embedding::new(items, 1, params.init, &mut rng, opt, params.l2_bias, mode);
        let fused = params.per_example_sgd().then_some(FusedSgd {
            l2: params.l2,
            l2_bias: params.l2_bias,
            threads: params.threads,
            grid: None,
        });
        let plain_sgd = opt.kind == OptimizerKind::Sgd && opt.momentum == 0.0;
        let batched = (plain_sgd && fused.is_none()).then(|| BatchKernel {
            state: BatchSgd::new(users, items),
            ratings: Vec::new(),
            l2: params.l2,
            l2_bias: params.l2_bias,
            table_mode: params.l2_mode == L2Mode::Table,
        });
        MfNet {
            mu,
            p,
            q,
            bu,
            bi,
            optimizer: opt,
            loss: params.loss,
            fused,
            batched,
            errors: vec![],
            grad_scale: 0.0,
        }
    }

    /// Flushes and returns the trained model.
    pub fn into_model(self) -> Mf {
        Mf {
            mu: self.mu,
            dim: self.p.dim(),
            p: self.p.into_weights(),
            q: self.q.into_weights(),
            user_bias: self.bu.into_weights(),
            item_bias: self.bi.into_weights(),
        }
    }

    /// One epoch of the batch kernel (which must be set) over `ratings` in order, in
    /// batches of `batch`; returns the steps taken.
    fn batch_epoch(&mut self, ratings: &[Entry], batch: usize, lr: f32) -> u64 {
        let kernel = self.batched.as_mut().expect("the batch kernel is set");
        let c = BatchConstants {
            mu: self.mu,
            lr,
            l2: kernel.l2,
            l2_bias: kernel.l2_bias,
            table_mode: kernel.table_mode,
            loss: self.loss,
            k: self.p.dim(),
        };
        let tables = whole_tables(&mut self.p, &mut self.q, &mut self.bu, &mut self.bi);
        kernel.state.epoch(tables, ratings, batch, &c)
    }

    /// Accumulates the gradients of `batch` into the tables' slots (no update).
    fn accumulate(&mut self, data: &Ratings, batch: &[u32]) -> f64 {
        // One pass: forward and backward together, while the rows are in cache. The
        // losses we support have gradients `scale * e_k` with one scale per batch
        // (known only after the pass), so the slots collect `e_k * (d pred / d w)` and
        // `apply_scaled` multiplies by the scale.
        const PREFETCH_AHEAD: usize = 4;
        self.errors.clear();
        for (j, &k) in batch.iter().enumerate() {
            if let Some(&ahead) = batch.get(j + PREFETCH_AHEAD) {
                self.p.prefetch(data.users[ahead as usize]);
                self.q.prefetch(data.items[ahead as usize]);
            }
            let k = k as usize;
            let (u, i) = (data.users[k], data.items[k]);
            let (sp, sq, sbu, sbi) = (
                self.p.touch(u),
                self.q.touch(i),
                self.bu.touch(u),
                self.bi.touch(i),
            );
            let (s_p, s_q) = (self.p.scale(sp), self.q.scale(sq));
            let pred = self.bu.row(u)[0] * self.bu.scale(sbu)
                + self.bi.row(i)[0] * self.bi.scale(sbi)
                + dot(self.p.row(u), self.q.row(i)) * (s_p * s_q);
            let e = pred - (data.values[k] - self.mu);
            self.errors.push(e);
            axpy(e * s_p, self.p.row(u), self.q.grad_mut(sq));
            axpy(e * s_q, self.q.row(i), self.p.grad_mut(sp));
            self.bu.grad_mut(sbu)[0] += e;
            self.bi.grad_mut(sbi)[0] += e;
        }
        let (loss, scale) = self.loss.value_and_scale(&self.errors);
        self.grad_scale = scale;
        loss
    }
}

impl Network for MfNet {
    fn train_batch(&mut self, data: &Ratings, batch: &[u32], step: u64, lr: f32) -> f64 {
        let loss = self.accumulate(data, batch);
        let step = self.optimizer.step(step, lr);
        for t in [&mut self.p, &mut self.q, &mut self.bu, &mut self.bi] {
            t.apply_scaled(&step, batch.len(), self.grad_scale);
        }
        loss
    }

    fn train_epoch(&mut self, data: &Ratings, batch: usize, step: &mut u64, lr: f32) {
        if self.batched.is_some() {
            *step += self.batch_epoch(&entries(data), batch, lr);
            return;
        }
        let Some(fused) = self.fused.as_mut() else {
            let positions: Vec<u32> = (0..data.len() as u32).collect();
            for chunk in positions.chunks(batch) {
                *step += 1;
                self.train_batch(data, chunk, *step, lr);
            }
            return;
        };
        *step += data.len() as u64;
        let k = self.p.dim();
        let tables = whole_tables(&mut self.p, &mut self.q, &mut self.bu, &mut self.bi);
        let c = SgdConstants {
            mu: self.mu,
            lr,
            l2: fused.l2,
            l2_bias: fused.l2_bias,
            k,
        };
        // The loop's shuffled copy, in order, on this thread (threads > 1 and large data
        // take the grid in `train_epoch_in_own_order` instead).
        sgd_block(tables, data, 0..data.len() as u32, &c);
    }

    fn train_epoch_in_own_order(
        &mut self,
        data: &Ratings,
        batch: usize,
        rng: &mut Rng,
        step: &mut u64,
        lr: f32,
    ) -> bool {
        if let Some(kernel) = self.batched.as_mut() {
            // Its own packed copy, shuffled in place: one array to permute instead of a
            // permutation and a gather of three.
            let mut ratings = std::mem::take(&mut kernel.ratings);
            if ratings.len() != data.len() {
                ratings = entries(data);
            }
            rng.shuffle(&mut ratings);
            *step += self.batch_epoch(&ratings, batch, lr);
            if let Some(kernel) = self.batched.as_mut() {
                kernel.ratings = ratings;
            }
            return true;
        }
        let Some(fused) = self.fused.as_mut() else {
            return false;
        };
        if fused.threads == 1 && data.len() < GRID_MIN_RATINGS {
            return false;
        }
        let (users, items) = (self.bu.rows(), self.bi.rows());
        let grid = match &mut fused.grid {
            Some(g) if g.entries.len() == data.len() => g,
            slot => slot.insert(Grid::new(data, users, items, fused.threads)),
        };
        *step += data.len() as u64;
        let k = self.p.dim();
        let tables = whole_tables(&mut self.p, &mut self.q, &mut self.bu, &mut self.bi);
        let c = SgdConstants {
            mu: self.mu,
            lr,
            l2: fused.l2,
            l2_bias: fused.l2_bias,
            k,
        };
        grid.run(tables, &c, rng, fused.threads);
        true
    }

    fn flush(&mut self) {
        for t in [&mut self.p, &mut self.q, &mut self.bu, &mut self.bi] {
            t.flush();
        }
    }
}

impl Recommender for MfNet {
    fn kind(&self) -> &'static str {
        "mf"
    }
    fn n_users(&self) -> u32 {
        self.p.rows() as u32
    }
    fn n_items(&self) -> u32 {
        self.q.rows() as u32
    }
    fn param_count(&self) -> usize {
        (self.p.rows() + self.q.rows()) * (self.p.dim() + 1)
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        self.mu
            + self.bu.row(user)[0]
            + self.bi.row(item)[0]
            + dot(self.p.row(user), self.q.row(item))
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.mu + user.map_or(0.0, |u| self.bu.row(u)[0]) + item.map_or(0.0, |i| self.bi.row(i)[0])
    }
}

impl Model for Mf {
    boxed_model!();

    /// `mu [1]`, `p [U, K]`, `q [I, K]`, `user_bias [U]`, `item_bias [I]`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (u, i) = (self.user_bias.len(), self.item_bias.len());
        vec![
            NamedTensor::new("mu", &[1], std::slice::from_ref(&self.mu)),
            NamedTensor::new("p", &[u, self.dim], &self.p),
            NamedTensor::new("q", &[i, self.dim], &self.q),
            NamedTensor::new("user_bias", &[u], &self.user_bias),
            NamedTensor::new("item_bias", &[i], &self.item_bias),
        ]
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.q, self.dim))
    }

    /// Rating MF: the user's bias and factors by ridge regression, minimising
    /// `sum (r - mu - b_i - b_u - p.q_i)^2 + n (l2 |p|^2 + l2_bias b_u^2)` — the
    /// objective the model was trained on (per-occurrence L2), restricted to this user.
    /// MF trained with a ranking loss: the same loss, negatives and epochs on the new
    /// user's row, the items frozen ([`crate::models::MfRankParams::fold_in`]).
    fn fold_in(
        &self,
        params: &serde_json::Value,
        feedback: Feedback,
        ratings: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser> {
        if feedback == Feedback::Preferences {
            let p: crate::models::MfRankParams =
                serde_json::from_value(params.clone()).unwrap_or_default();
            return Ok(FoldedUser {
                factors: p.fold_in(self, &base.rated),
                ..base
            });
        }
        let p: MfParams = serde_json::from_value(params.clone()).unwrap_or_default();
        let (k, n) = (self.dim, ratings.len() as f64);
        let q = |i: u32| &self.q[i as usize * k..(i as usize + 1) * k];
        // Both penalties at least a little positive, so the system is always solvable.
        let (l2, l2b) = (
            (p.l2 as f64).max(1e-6) * n,
            (p.l2_bias as f64).max(1e-6) * n,
        );
        let offset = |i: u32| self.mu + self.item_bias[i as usize];
        let (factors, bias) = crate::nn::linalg::ridge_user(ratings, k, q, offset, l2, l2b);
        Ok(FoldedUser {
            bias,
            factors,
            ..base
        })
    }

    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        (0..self.item_bias.len())
            .map(|i| {
                self.mu
                    + user.bias
                    + self.item_bias[i]
                    + dot(&user.factors, &self.q[i * self.dim..(i + 1) * self.dim])
            })
            .collect()
    }
}

/// Reads `p [users, K]` and returns K and the values (K >= 1; K must equal the params'
/// `dim` where they state one).
pub(crate) fn read_factors(
    t: &mut Tensors<'_>,
    name: &str,
    rows: usize,
    params: &serde_json::Value,
) -> Result<(usize, Vec<f32>), String> {
    let (shape, p) = t.f32(name, None)?;
    let dim = match shape[..] {
        [u, k] if u == rows && k >= 1 => k,
        _ => {
            return Err(format!(
                "tensor `{name}` has shape {shape:?}, expected [{rows}, K] with K >= 1"
            ));
        }
    };
    match params.get("dim").and_then(|d| d.as_u64()) {
        Some(d) if d as usize == dim => Ok((dim, p)),
        Some(d) => Err(format!(
            "tensor `{name}` has {dim} factors but the params say dim {d}"
        )),
        None => Err(format!(
            "the params state no integer `dim` (tensor `{name}` has {dim} factors)"
        )),
    }
}

fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> Result<AnyModel, String> {
    let mu = t.scalar("mu")?;
    let (dim, p) = read_factors(t, "p", users, params)?;
    Ok(AnyModel::new(Mf {
        mu,
        dim,
        p,
        q: t.values("q", &[items, dim])?,
        user_bias: t.values("user_bias", &[users])?,
        item_bias: t.values("item_bias", &[items])?,
    }))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "mf",
    about: "Matrix factorization as a neural network: mu + b_u + b_i + dot(P_u, Q_i)",
    load,
    member: Some(|seed| {
        Box::new(MfParams {
            seed,
            ..Default::default()
        })
    }),
    params: |preset, over, implicit| {
        Ok(match (preset, implicit) {
            (Some(_), true) => {
                return Err(Error::Usage(
                    "the mf presets are rating models: implicit feedback takes no preset".into(),
                ));
            }
            (_, true) => Box::new(super::overlay(
                crate::models::MfRankParams::default(),
                over,
            )?),
            (Some("book-mf"), false) => Box::new(super::overlay(MfParams::book_mf(), over)?),
            (_, false) => Box::new(super::overlay(MfParams::default(), over)?),
        })
    },
    read: Some(|v, implicit| {
        if implicit {
            super::read::<crate::models::MfRankParams>(v, implicit)
        } else {
            super::read::<MfParams>(v, implicit)
        }
    }),
    presets: &["book-mf"],
    flags: |implicit| {
        use super::flags::{self, Flag, parsed};
        Some(if implicit {
            super::mf_rank::flags()
        } else {
            flags::network(Flag::parsed("--loss", "loss", parsed::<Loss>), false)
        })
    },
    no_preset: Some("mf on implicit feedback has no presets"),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Ratings;

    fn tiny_data() -> Ratings {
        let mut r = Ratings::default();
        for (u, i, v) in [
            (0, 0, 5.0),
            (0, 2, 3.0),
            (1, 1, 4.0),
            (2, 0, 1.0),
            (2, 3, 2.0),
            (0, 3, 4.0),
            (1, 2, 5.0),
        ] {
            r.push(u, i, v, None);
        }
        r
    }

    /// The loss of `batch` computed independently in f64 from the flushed weights.
    fn reference_loss(net: &MfNet, params: &MfParams, data: &Ratings, batch: &[u32]) -> f64 {
        let w =
            |t: &Embedding, r: u32| -> Vec<f64> { t.row(r).iter().map(|&x| x as f64).collect() };
        let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
        let b = batch.len() as f64;
        let mut se = 0.0;
        let mut rows_penalty = 0.0;
        for &k in batch {
            let (u, i) = (data.users[k as usize], data.items[k as usize]);
            let (pu, qi) = (w(&net.p, u), w(&net.q, i));
            let pred = w(&net.bu, u)[0]
                + w(&net.bi, i)[0]
                + pu.iter().zip(&qi).map(|(a, b)| a * b).sum::<f64>();
            let e = pred - (data.values[k as usize] as f64 - net.mu as f64);
            se += e * e;
            rows_penalty += params.l2 as f64 * (sq(&pu) + sq(&qi))
                + params.l2_bias as f64 * (sq(&w(&net.bu, u)) + sq(&w(&net.bi, i)));
        }
        let data_loss = if params.loss == Loss::Mse {
            se / b
        } else {
            (se / b).sqrt()
        };
        let penalty = match params.l2_mode {
            L2Mode::Rows => rows_penalty / b,
            L2Mode::Table => {
                let all = |t: &Embedding| {
                    t.weights()
                        .iter()
                        .map(|&x| x as f64 * x as f64)
                        .sum::<f64>()
                };
                params.l2 as f64 * (all(&net.p) + all(&net.q))
                    + params.l2_bias as f64 * (all(&net.bu) + all(&net.bi))
            }
        };
        data_loss + penalty
    }

    /// Finite differences of the f64 reference loss against the gradient the training
    /// step applies (read off one plain-SGD step with lr 1), for every weight of every
    /// table, both losses and both L2 modes, with repeated rows in the batch.
    #[test]
    fn gradient_check_every_weight() {
        let data = tiny_data();
        let batch: Vec<u32> = vec![0, 1, 2, 3, 4, 5, 6, 0];
        for loss in [Loss::Mse, Loss::Rmse] {
            for l2_mode in [L2Mode::Rows, L2Mode::Table] {
                let params = MfParams {
                    dim: 3,
                    loss,
                    l2_mode,
                    l2: 0.03,
                    l2_bias: 0.02,
                    init: Init::Uniform(0.5),
                    optimizer: Optimizer::default(),
                    lr: 1.0,
                    ..MfParams::default()
                };
                let net = MfNet::new(&params, 3.0, 3, 4);
                let mut stepped = net.clone();
                stepped.train_batch(&data, &batch, 1, 1.0);
                stepped.flush();
                let tables = |n: &MfNet| {
                    [
                        n.p.weights().to_vec(),
                        n.q.weights().to_vec(),
                        n.bu.weights().to_vec(),
                        n.bi.weights().to_vec(),
                    ]
                };
                let (before, after) = (tables(&net), tables(&stepped));
                for t in 0..4 {
                    for j in 0..before[t].len() {
                        let analytic = (before[t][j] - after[t][j]) as f64;
                        let h = 1e-3f32;
                        let shifted = |d: f32| {
                            let mut n = net.clone();
                            let table = [&mut n.p, &mut n.q, &mut n.bu, &mut n.bi][t].weights_mut();
                            table[j] += d;
                            reference_loss(&n, &params, &data, &batch)
                        };
                        let numeric = (shifted(h) - shifted(-h)) / (2.0 * h as f64);
                        assert!(
                            (numeric - analytic).abs() < 2e-4 * (1.0 + numeric.abs()),
                            "{loss:?} {l2_mode:?} table {t} weight {j}: numeric {numeric} analytic {analytic}"
                        );
                    }
                }
            }
        }
    }

    /// Same seed, same everything: bit-identical weights.
    #[test]
    fn seeded_training_is_bit_reproducible() {
        let data = tiny_data();
        let params = MfParams {
            dim: 5,
            epochs: 5,
            batch: 3,
            ..MfParams::default()
        };
        let sets = EvalSets {
            train: &data,
            val: None,
            test: None,
            clip: None,
        };
        let (a, _) = params.train(sets, 3, 4, |_, _| Ok(())).unwrap();
        let (b, _) = params.train(sets, 3, 4, |_, _| Ok(())).unwrap();
        assert_eq!(a, b);
        let (c, _) = MfParams { seed: 7, ..params }
            .train(sets, 3, 4, |_, _| Ok(()))
            .unwrap();
        assert_ne!(a, c);
    }

    /// The fused per-example SGD kernel does the same arithmetic as the generic
    /// minibatch path with batch 1 (the fused path is off when `fused` is None).
    #[test]
    fn fused_sgd_matches_generic_path() {
        let data = tiny_data();
        let params = MfParams {
            dim: 5,
            epochs: 4,
            batch: 1,
            optimizer: Optimizer::default(),
            lr: 0.05,
            l2: 0.05,
            ..MfParams::default()
        };
        assert!(params.per_example_sgd());
        let data = data.select(&[3, 1, 0, 6, 2, 5, 4, 1]);
        let mut fused = MfNet::new(&params, 3.0, 3, 4);
        let mut generic = fused.clone();
        generic.fused = None;
        let (mut s1, mut s2) = (0, 0);
        for _ in 1..=3 {
            fused.train_epoch(&data, 1, &mut s1, 0.05);
            generic.train_epoch(&data, 1, &mut s2, 0.05);
        }
        assert_eq!(s1, s2);
        let (a, b) = (fused.into_model(), generic.into_model());
        for (x, y) in
            a.p.iter()
                .chain(&a.q)
                .chain(&a.user_bias)
                .zip(b.p.iter().chain(&b.q).chain(&b.user_bias))
        {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }

    /// The buffer-free minibatch SGD kernel does the same arithmetic as the generic
    /// minibatch path (the kernel is off when `batched` is None), in both L2 modes and
    /// with both losses, with rows repeated inside a batch.
    #[test]
    fn batch_sgd_matches_generic_path() {
        let data = tiny_data().select(&[3, 1, 0, 6, 2, 5, 4, 1, 0, 3, 3, 6]);
        for (mode, loss) in [
            (L2Mode::Rows, Loss::Mse),
            (L2Mode::Table, Loss::Mse),
            (L2Mode::Table, Loss::Rmse),
            (L2Mode::Rows, Loss::Rmse),
        ] {
            let params = MfParams {
                dim: 5,
                batch: 4,
                optimizer: Optimizer::default(),
                l2: 0.05,
                l2_bias: 0.02,
                l2_mode: mode,
                loss,
                init: Init::Uniform(0.5),
                ..MfParams::default()
            };
            let mut batched = MfNet::new(&params, 3.0, 3, 4);
            assert!(batched.batched.is_some() && batched.fused.is_none());
            let mut generic = batched.clone();
            generic.batched = None;
            let (mut s1, mut s2) = (0, 0);
            for epoch in 1..=4 {
                let lr = 0.3 / epoch as f32;
                batched.train_epoch(&data, 4, &mut s1, lr);
                batched.flush();
                generic.train_epoch(&data, 4, &mut s2, lr);
                generic.flush();
            }
            assert_eq!(s1, s2);
            let (a, b) = (batched.into_model(), generic.into_model());
            for (x, y) in
                a.p.iter()
                    .chain(&a.q)
                    .chain(&a.user_bias)
                    .chain(&a.item_bias)
                    .zip(
                        b.p.iter()
                            .chain(&b.q)
                            .chain(&b.user_bias)
                            .chain(&b.item_bias),
                    )
            {
                assert!((x - y).abs() < 1e-5, "{mode:?} {loss:?}: {x} vs {y}");
            }
        }
    }

    /// The same with a table decay so strong (0.05 a step) that the batch kernel's scale
    /// falls below `MIN_SCALE` within an epoch (0.05^5 < 1e-6; six steps an epoch) and is
    /// folded into the rows mid-epoch; the weights stay equal to the generic path's to a
    /// relative 1e-4.
    #[test]
    fn batch_sgd_folds_a_small_scale_into_the_rows() {
        let data = tiny_data().select(&[3, 1, 0, 6, 2, 5, 4, 1, 0, 3, 3, 6]);
        let (l2, lr): (f32, f32) = (23.75, 0.02);
        let decay = 1.0 - 2.0 * l2 * lr;
        assert!(decay.powi(5) < MIN_SCALE as f32 && decay > 0.0);
        let params = MfParams {
            dim: 5,
            batch: 2,
            optimizer: Optimizer::default(),
            lr,
            l2,
            l2_bias: 0.02,
            l2_mode: L2Mode::Table,
            loss: Loss::Mse,
            init: Init::Uniform(0.5),
            ..MfParams::default()
        };
        let mut batched = MfNet::new(&params, 3.0, 3, 4);
        assert!(batched.batched.is_some());
        let mut generic = batched.clone();
        generic.batched = None;
        let (mut s1, mut s2) = (0, 0);
        for _ in 0..2 {
            batched.train_epoch(&data, 2, &mut s1, lr);
            batched.flush();
            generic.train_epoch(&data, 2, &mut s2, lr);
            generic.flush();
        }
        let (a, b) = (batched.into_model(), generic.into_model());
        let all = |m: &Mf| -> Vec<f32> {
            m.p.iter()
                .chain(&m.q)
                .chain(&m.user_bias)
                .chain(&m.item_bias)
                .copied()
                .collect()
        };
        let (x, y) = (all(&a), all(&b));
        assert!(x.iter().any(|&v| v != 0.0));
        for (x, y) in x.iter().zip(&y) {
            assert!(
                (x - y).abs() <= 1e-4 * x.abs().max(y.abs()) + 1e-30,
                "{x} vs {y}"
            );
        }
    }

    fn synthetic(ratings: usize) -> (Ratings, u32, u32) {
        let syn = crate::data::synthetic::generate(&crate::data::synthetic::SynthParams {
            users: 300,
            items: 200,
            ratings,
            ..Default::default()
        })
        .unwrap();
        let (u, i) = (syn.dataset.users.len(), syn.dataset.items.len());
        (syn.dataset.ratings, u as u32, i as u32)
    }

    /// Grid SGD: the same weights for every thread count (the blocks of a diagonal touch
    /// disjoint rows), reproducible, and it learns.
    #[test]
    fn grid_sgd_is_identical_for_every_thread_count_and_learns() {
        let (r, users, items) = synthetic(12_000);
        let sets = EvalSets {
            train: &r,
            val: None,
            test: None,
            clip: None,
        };
        let params = MfParams {
            dim: 8,
            epochs: 5,
            batch: 1,
            optimizer: Optimizer::default(),
            lr: 0.01,
            l2: 0.02,
            threads: 2,
            ..MfParams::default()
        };
        let (a, ha) = params.train(sets, users, items, |_, _| Ok(())).unwrap();
        let (b, _) = params.train(sets, users, items, |_, _| Ok(())).unwrap();
        assert_eq!(a, b, "same seed and threads must give identical weights");
        for threads in [3, 5] {
            let (c, _) = MfParams {
                threads,
                ..params.clone()
            }
            .train(sets, users, items, |_, _| Ok(()))
            .unwrap();
            assert_eq!(a, c, "{threads} threads differ from 2");
        }
        let first = ha.epochs.first().unwrap().train_rmse;
        let last = ha.epochs.last().unwrap().train_rmse;
        assert!(last < first, "train RMSE {first} -> {last}");
    }

    /// The grid holds every rating once, in the block of its user and item ranges, sorted
    /// by user; building it on several threads gives the same grid; one thread running
    /// it gives the weights of several.
    #[test]
    fn grid_partitions_the_ratings_and_one_thread_matches_many() {
        let (r, users, items) = synthetic(9_000);
        let grid = Grid::new(&r, users as usize, items as usize, 1);
        for threads in [2, 3] {
            let other = Grid::new(&r, users as usize, items as usize, threads);
            assert_eq!(
                (&other.entries, &other.block_start),
                (&grid.entries, &grid.block_start)
            );
        }
        assert_eq!(grid.side, 4);
        let n = grid.side;
        let mut seen: Vec<(u32, u32, u32)> = Vec::new();
        for a in 0..n {
            for b in 0..n {
                let block =
                    &grid.entries[grid.block_start[a * n + b]..grid.block_start[a * n + b + 1]];
                assert!(block.windows(2).all(|w| w[0].user <= w[1].user));
                for e in block {
                    assert!((grid.user_bounds[a]..grid.user_bounds[a + 1]).contains(&e.user));
                    assert!((grid.item_bounds[b]..grid.item_bounds[b + 1]).contains(&e.item));
                    seen.push((e.user, e.item, e.value.to_bits()));
                }
            }
        }
        let mut all: Vec<(u32, u32, u32)> = (0..r.len())
            .map(|k| (r.users[k], r.items[k], r.values[k].to_bits()))
            .collect();
        seen.sort_unstable();
        all.sort_unstable();
        assert_eq!(seen, all);

        let params = MfParams {
            dim: 6,
            batch: 1,
            optimizer: Optimizer::default(),
            lr: 0.01,
            l2: 0.02,
            ..MfParams::default()
        };
        let train = |threads: usize| {
            let mut net = MfNet::new(
                &MfParams {
                    threads,
                    ..params.clone()
                },
                3.5,
                users as usize,
                items as usize,
            );
            let mut rng = Rng::seeded(9);
            let mut step = 0;
            for _ in 0..3 {
                if threads == 1 {
                    // Below GRID_MIN_RATINGS one thread keeps the global shuffle: run
                    // the grid directly.
                    let fused = net.fused.as_mut().unwrap();
                    let grid = fused
                        .grid
                        .get_or_insert_with(|| Grid::new(&r, users as usize, items as usize, 1));
                    let c = SgdConstants {
                        mu: net.mu,
                        lr: 0.01,
                        l2: fused.l2,
                        l2_bias: fused.l2_bias,
                        k: 6,
                    };
                    let tables = Tables {
                        p: net.p.weights_mut(),
                        q: net.q.weights_mut(),
                        bu: net.bu.weights_mut(),
                        bi: net.bi.weights_mut(),
                        first_user: 0,
                        first_item: 0,
                    };
                    grid.run(tables, &c, &mut rng, 1);
                } else {
                    assert!(net.train_epoch_in_own_order(&r, 1, &mut rng, &mut step, 0.01));
                }
            }
            net.into_model()
        };
        assert_eq!(train(1), train(2));
    }

    #[test]
    fn invalid_params_are_usage_errors() {
        for p in [
            MfParams {
                dim: 0,
                ..MfParams::default()
            },
            MfParams {
                lr: -1.0,
                ..MfParams::default()
            },
            MfParams {
                l2_mode: L2Mode::Table,
                l2: 60.0,
                lr: 0.01,
                ..MfParams::default()
            },
        ] {
            assert!(matches!(p.check(), Err(Error::Usage(_))), "{p:?}");
        }
        // Early stopping needs validation data: without any, training refuses to start.
        let mut r = Ratings::default();
        r.push(0, 0, 4.0, None);
        let sets = EvalSets {
            train: &r,
            val: None,
            test: None,
            clip: None,
        };
        let p = MfParams {
            patience: 3,
            ..MfParams::default()
        };
        let e = p.train(sets, 1, 1, |_, _| Ok(())).unwrap_err();
        assert!(
            matches!(e, Error::Usage(ref m) if m.contains("patience")),
            "{e}"
        );
    }
}
