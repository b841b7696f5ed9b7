//! Embedding tables with row-sparse gradients and updates.
//!
//! A batch *touches* rows ([`Embedding::touch`] gives each distinct row a gradient slot),
//! accumulates gradients into the slots, and [`Embedding::apply`] updates only those rows
//! and their optimizer state. The work per batch is proportional to the rows it touches,
//! never to the table.
//!
//! ## L2 regularisation
//! - [`L2Mode::Rows`]: the penalty `l2 * |w_r|^2` is added once per *occurrence* of row
//!   `r` in the batch and averaged over the batch like the loss, so a row is pulled
//!   toward 0 in proportion to how often it is used (the classic SGD-MF convention).
//! - [`L2Mode::Table`]: Keras's `embeddings_regularizer=l2(l2)`: `l2 * |W|^2` over the
//!   whole table is added to the loss on every step. Its gradient `2 l2 w` reaches every
//!   row on every step; for plain SGD that is exactly a multiplicative decay
//!   `w <- (1 - 2 l2 lr) w` of every row, which is applied lazily: the table keeps the
//!   running log of the decay factors, each row the value at its last update, and a row
//!   catches up (one multiply) when it is next touched or at [`Embedding::flush`]. For
//!   plain SGD this equals the dense computation. For momentum SGD, Adam, Adamax and
//!   Adagrad the same decay is applied *decoupled* from the optimizer (as in AdamW):
//!   the penalty's gradient does not enter the moment estimates. Dense Keras would feed it
//!   through them, touching every row every step; that is what the lazy form avoids.

use super::aligned::AlignedF32;
use super::{Init, Optimizer, Step};
use crate::error::{Error, Result};
use crate::rng::Rng;
use std::str::FromStr;

/// Where the L2 penalty applies (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum L2Mode {
    /// On the rows each batch looks up, per occurrence, averaged over the batch.
    Rows,
    /// On the whole table every step (Keras `embeddings_regularizer`).
    Table,
}

impl FromStr for L2Mode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rows" => Ok(L2Mode::Rows),
            "table" => Ok(L2Mode::Table),
            _ => Err(Error::Usage(format!(
                "--l2-mode: expected rows or table, got '{s}'"
            ))),
        }
    }
}

const NO_SLOT: u32 = u32::MAX;

/// A `rows x dim` table of f32 weights with its optimizer state and batch scratch.
#[derive(Debug, Clone)]
pub struct Embedding {
    rows: usize,
    dim: usize,
    /// Row-major, starting on a cache line (see [`AlignedF32`]).
    weights: AlignedF32,
    /// First and second optimizer state slots (empty when unused).
    state_m: Vec<f32>,
    state_v: Vec<f32>,
    l2: f32,
    l2_mode: L2Mode,
    /// Product of the decay factors of all steps so far (table mode), renormalised to 1
    /// (after a flush) before it can underflow.
    decay_product: f64,
    /// `decay_product` at the time each row was last brought up to date (table mode).
    row_decay_product: Vec<f64>,
    /// Batch scratch: slot of each row (NO_SLOT when untouched), touched rows in slot
    /// order, their gradients and occurrence counts.
    slot_of: Vec<u32>,
    touched: Vec<u32>,
    grads: Vec<f32>,
    counts: Vec<u32>,
    /// Per slot: the pending decay factor of its row (true value = stored x scale).
    scales: Vec<f32>,
}

impl Embedding {
    /// A table initialised by `init` from `rng`, trained with `optimizer` and L2 `l2` in
    /// `l2_mode`.
    pub fn new(
        rows: usize,
        dim: usize,
        init: Init,
        rng: &mut Rng,
        optimizer: Optimizer,
        l2: f32,
        l2_mode: L2Mode,
    ) -> Self {
        let mut weights = AlignedF32::zeros(rows * dim);
        init.fill(&mut weights, rng);
        Self::with_weights(rows, dim, weights, optimizer, l2, l2_mode)
    }

    /// A table with the given weights (`rows * dim` of them, row-major).
    pub fn from_weights(
        rows: usize,
        dim: usize,
        weights: Vec<f32>,
        optimizer: Optimizer,
        l2: f32,
        l2_mode: L2Mode,
    ) -> Self {
        Self::with_weights(
            rows,
            dim,
            AlignedF32::from_slice(&weights),
            optimizer,
            l2,
            l2_mode,
        )
    }

    fn with_weights(
        rows: usize,
        dim: usize,
        weights: AlignedF32,
        optimizer: Optimizer,
        l2: f32,
        l2_mode: L2Mode,
    ) -> Self {
        assert_eq!(
            weights.len(),
            rows * dim,
            "embedding weights must be rows x dim"
        );
        let slots = optimizer.state_slots();
        let state = |n: usize| {
            if slots >= n {
                vec![optimizer.state_init(); rows * dim]
            } else {
                Vec::new()
            }
        };
        Embedding {
            rows,
            dim,
            weights,
            state_m: state(1),
            state_v: state(2),
            l2,
            l2_mode,
            decay_product: 1.0,
            row_decay_product: if l2_mode == L2Mode::Table {
                vec![1.0; rows]
            } else {
                Vec::new()
            },
            slot_of: vec![NO_SLOT; rows],
            touched: Vec::new(),
            grads: Vec::new(),
            counts: Vec::new(),
            scales: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Width of a row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// All weights, row-major. Call [`Embedding::flush`] first when training used
    /// table-mode L2, so that every row has its pending decay applied.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Mutable access to all weights (flush first under table-mode L2).
    pub fn weights_mut(&mut self) -> &mut [f32] {
        &mut self.weights
    }

    /// Consumes the table, returning its weights (flushed).
    pub fn into_weights(mut self) -> Vec<f32> {
        self.flush();
        self.weights.to_vec()
    }

    /// Row `r` (up to date for rows touched in this batch or after a flush).
    #[inline]
    pub fn row(&self, r: u32) -> &[f32] {
        let r = r as usize;
        &self.weights[r * self.dim..(r + 1) * self.dim]
    }

    /// Marks row `r` as used by one example of the current batch and returns its gradient
    /// slot. Under table-mode L2 the stored row may lag behind its pending decay: during
    /// the batch its true value is `row(r) * scale(slot)` (the scale is 1 otherwise); the
    /// decay is folded into the update, so touching costs no pass over the row.
    #[inline]
    pub fn touch(&mut self, r: u32) -> usize {
        let slot = self.slot_of[r as usize];
        if slot != NO_SLOT {
            self.counts[slot as usize] += 1;
            return slot as usize;
        }
        let scale = match self.l2_mode {
            L2Mode::Table => (self.decay_product / self.row_decay_product[r as usize]) as f32,
            L2Mode::Rows => 1.0,
        };
        let slot = self.touched.len();
        self.slot_of[r as usize] = slot as u32;
        self.touched.push(r);
        self.counts.push(1);
        self.scales.push(scale);
        if self.dim == 1 {
            self.grads.push(0.0); // bias tables: no memset call per touch
        } else {
            self.grads.resize(self.grads.len() + self.dim, 0.0);
        }
        slot
    }

    /// The factor that turns the stored row of `slot` into its true value (see
    /// [`Embedding::touch`]).
    #[inline]
    pub fn scale(&self, slot: usize) -> f32 {
        self.scales[slot]
    }

    /// The gradient accumulator of `slot`.
    #[inline]
    pub fn grad_mut(&mut self, slot: usize) -> &mut [f32] {
        &mut self.grads[slot * self.dim..(slot + 1) * self.dim]
    }

    /// The touched row of `slot` and that slot's gradient accumulator.
    #[inline]
    pub fn row_and_grad_mut(&mut self, slot: usize) -> (&[f32], &mut [f32]) {
        let r = self.touched[slot] as usize;
        (
            &self.weights[r * self.dim..(r + 1) * self.dim],
            &mut self.grads[slot * self.dim..(slot + 1) * self.dim],
        )
    }

    fn catch_up(&mut self, r: usize) {
        if self.l2_mode == L2Mode::Table {
            let last = self.row_decay_product[r];
            if last != self.decay_product {
                let factor = (self.decay_product / last) as f32;
                self.weights[r * self.dim..(r + 1) * self.dim]
                    .iter_mut()
                    .for_each(|w| *w *= factor);
                self.row_decay_product[r] = self.decay_product;
            }
        }
    }

    /// Ends the batch: adds the L2 terms, updates every touched row with `step`, and
    /// clears the scratch. `batch_size` is the number of examples the loss averaged over.
    pub fn apply(&mut self, step: &Step, batch_size: usize) {
        self.apply_scaled(step, batch_size, 1.0)
    }

    /// Hints the processor to load row `r` into cache (a batch's upcoming rows).
    #[inline]
    pub fn prefetch(&self, r: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let row = self.row(r);
            for line in row.chunks(16) {
                // SAFETY: a prefetch is only a hint; it never faults and the pointer is
                // inside `row`.
                unsafe { _mm_prefetch(line.as_ptr() as *const i8, _MM_HINT_T0) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = r;
    }

    /// As [`Embedding::apply`], with every accumulated gradient multiplied by
    /// `grad_scale` first (the L2 terms are not scaled).
    pub fn apply_scaled(&mut self, step: &Step, batch_size: usize, grad_scale: f32) {
        let dim = self.dim;
        let table_decay = match self.l2_mode {
            L2Mode::Table if self.l2 > 0.0 => 1.0 - 2.0 * self.l2 * step.lr,
            _ => 1.0,
        };
        let rows_l2 = if self.l2_mode == L2Mode::Rows {
            2.0 * self.l2 / batch_size as f32
        } else {
            0.0
        };
        for (slot, &r) in self.touched.iter().enumerate() {
            let r = r as usize;
            let range = r * dim..(r + 1) * dim;
            let w = &mut self.weights[range.clone()];
            let g = &mut self.grads[slot * dim..(slot + 1) * dim];
            let scale = self.scales[slot];
            if rows_l2 == 0.0 && step.is_plain_sgd() {
                // One pass: w <- (decay * scale) w - (lr * grad_scale) g.
                let (d, a) = (table_decay * scale, step.lr * grad_scale);
                w.iter_mut()
                    .zip(g.iter())
                    .for_each(|(w, &g)| *w = *w * d - a * g);
                self.slot_of[r] = NO_SLOT;
                continue;
            }
            if grad_scale != 1.0 {
                g.iter_mut().for_each(|g| *g *= grad_scale);
            }
            if rows_l2 > 0.0 {
                let c = rows_l2 * self.counts[slot] as f32 * scale;
                g.iter_mut().zip(w.iter()).for_each(|(g, &w)| *g += c * w);
            }
            let m = self.state_m.get_mut(range.clone()).unwrap_or(&mut []);
            let v = self.state_v.get_mut(range).unwrap_or(&mut []);
            step.update_decayed(table_decay * scale, w, g, m, v);
            self.slot_of[r] = NO_SLOT;
        }
        if table_decay != 1.0 {
            self.decay_product *= table_decay as f64;
            for &r in &self.touched {
                self.row_decay_product[r as usize] = self.decay_product;
            }
            if self.decay_product < 1e-200 {
                self.flush();
                self.decay_product = 1.0;
                self.row_decay_product.iter_mut().for_each(|p| *p = 1.0);
            }
        }
        self.touched.clear();
        self.grads.clear();
        self.counts.clear();
        self.scales.clear();
    }

    /// Applies every row's pending table-mode decay, so that [`Embedding::weights`] holds
    /// the true values. Costs one pass over the table; cheap to call once per epoch.
    pub fn flush(&mut self) {
        for r in 0..self.rows {
            self.catch_up(r);
        }
    }

    /// The L2 penalty `l2 * sum w^2` over the whole table (flushed values), in f64.
    pub fn table_penalty(&self) -> f64 {
        self.l2 as f64
            * self
                .weights
                .iter()
                .map(|&w| w as f64 * w as f64)
                .sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::OptimizerKind;

    /// Lazy table decay under plain SGD equals the dense update of every row each step.
    #[test]
    fn lazy_table_decay_matches_dense_sgd() {
        let (rows, dim, l2) = (5, 3, 0.05f32);
        let mut rng = Rng::seeded(1);
        let opt = Optimizer::default();
        let mut lazy = Embedding::new(
            rows,
            dim,
            Init::Uniform(0.5),
            &mut rng,
            opt,
            l2,
            L2Mode::Table,
        );
        let mut dense: Vec<f64> = lazy.weights().iter().map(|&w| w as f64).collect();
        let batches: [&[u32]; 4] = [&[0, 1], &[1, 1, 3], &[4], &[0, 2]];
        for (t, batch) in batches.iter().enumerate() {
            let lr = 0.1 + 0.05 * t as f32; // a schedule: the decay changes per step
            let step = opt.step(t as u64 + 1, lr);
            // gradient of each occurrence: the row itself (a loss sum w^2/2 per use)
            let mut dense_grad = vec![0.0f64; rows * dim];
            for &r in *batch {
                let slot = lazy.touch(r);
                let scale = lazy.scale(slot);
                let (w, g) = lazy.row_and_grad_mut(slot);
                let w = w.to_vec();
                g.iter_mut().zip(&w).for_each(|(g, &w)| *g += scale * w);
                for d in 0..dim {
                    dense_grad[r as usize * dim + d] += dense[r as usize * dim + d];
                }
            }
            lazy.apply(&step, batch.len());
            for (w, g) in dense.iter_mut().zip(&dense_grad) {
                *w -= lr as f64 * (g + 2.0 * l2 as f64 * *w);
            }
        }
        lazy.flush();
        for (a, b) in lazy.weights().iter().zip(&dense) {
            assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    /// Rows mode: a row used twice in a batch of 4 gets 2 * (2 l2 / 4) w of penalty.
    #[test]
    fn rows_penalty_counts_occurrences() {
        let opt = Optimizer::default();
        let mut e = Embedding::from_weights(2, 1, vec![1.0, 1.0], opt, 0.5, L2Mode::Rows);
        e.touch(0);
        e.touch(0);
        e.touch(1);
        e.apply(&opt.step(1, 0.1), 4);
        assert!((e.row(0)[0] - (1.0 - 0.1 * 0.5)).abs() < 1e-7);
        assert!((e.row(1)[0] - (1.0 - 0.1 * 0.25)).abs() < 1e-7);
    }

    /// Untouched rows keep their optimizer state and weights (row-sparse updates).
    #[test]
    fn untouched_rows_are_not_updated() {
        let opt = Optimizer {
            kind: OptimizerKind::Adam,
            ..Default::default()
        };
        let mut e = Embedding::from_weights(3, 2, vec![1.0; 6], opt, 0.0, L2Mode::Rows);
        let slot = e.touch(1);
        e.grad_mut(slot).copy_from_slice(&[1.0, -1.0]);
        e.apply(&opt.step(1, 0.01), 1);
        assert_eq!(e.row(0), &[1.0, 1.0]);
        assert_eq!(e.row(2), &[1.0, 1.0]);
        assert!(e.row(1)[0] < 1.0 && e.row(1)[1] > 1.0);
        assert!(
            e.state_m[..2]
                .iter()
                .chain(&e.state_m[4..])
                .all(|&m| m == 0.0)
        );
    }
}
