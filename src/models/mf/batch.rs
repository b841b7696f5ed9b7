//! The buffer-free minibatch SGD kernel ([`BatchSgd`]): an errors pass, then updates from
//! batch-start values, table-mode L2 as one scale per table.

use super::*;

/// Minibatch plain SGD for MF without gradient buffers: the kernel behind
/// [`MfNet::train_epoch`] for plain SGD with batches of more than one rating (the
/// textbook's `book-mf` preset among them). The same arithmetic as the generic
/// [`Embedding`] path — every gradient taken at the batch-start values, one L2 decay of
/// every row per step in table mode, per-occurrence L2 in rows mode — in two passes:
/// 1. the errors of the batch, copying a row aside on its second touch (its batch-start
///    value is still needed after its first update);
/// 2. the updates, each rating writing its own user and item rows directly
///    (`w <- w + rows_l2 w_old - g other_old`), the old values read from the copy of a
///    row used more than once and from the row itself otherwise, without a branch.
///
/// Table mode decays every row of a table by the same factor each step, so the kernel
/// keeps the tables in a scaled form, true value = stored x one scale per table
/// (`scale_w` for the factors, `scale_b` for the biases): the decay multiplies the scale
/// and an update divides by it (Shalev-Shwartz et al.'s Pegasos trick). No per-row decay
/// bookkeeping is needed; the tables are brought back to their true values (scale 1) at
/// the end of each epoch, and before a scale gets small enough to cost precision.
///
/// No per-row gradient slot is allocated, zeroed or swept, which is what the generic path
/// spends most of its time on for small batches.
#[derive(Debug, Clone)]
pub(super) struct BatchSgd {
    pub(super) users: SideState,
    pub(super) items: SideState,
    /// Batch-start values of rows touched more than once in the batch (factors; biases).
    pub(super) copies: Vec<f32>,
    pub(super) copy_biases: Vec<f32>,
    pub(super) errors: Vec<f32>,
    pub(super) batch_id: u32,
    /// Table mode: true value = stored x scale (factors; biases). 1 in rows mode.
    pub(super) scale_w: f64,
    pub(super) scale_b: f64,
}

/// Per-row bookkeeping of one side (users or items) within a batch.
#[derive(Debug, Clone)]
pub(super) struct SideState {
    /// Id of the last batch whose first pass touched the row.
    pub(super) seen: Vec<u32>,
    /// Index of the row's copy in `copies` (NO_COPY: none); valid when `seen` is current.
    pub(super) copy: Vec<u32>,
}

pub(super) const NO_COPY: u32 = u32::MAX;

/// Below this, a table's scale is folded back into its rows (f32 keeps full relative
/// precision far below it; this only bounds the rows' stored magnitude).
pub(super) const MIN_SCALE: f64 = 1e-6;

impl SideState {
    pub(super) fn new(rows: usize) -> Self {
        SideState {
            seen: vec![0; rows],
            copy: vec![NO_COPY; rows],
        }
    }

    /// Notes that batch `id` uses row `r` of `w` (width `k`) and bias `b[r]`; on the
    /// row's second use in the batch, copies it to `copies` / `copy_biases`.
    #[inline(always)]
    pub(super) fn touch(
        &mut self,
        r: usize,
        id: u32,
        (w, b, k): (&[f32], &[f32], usize),
        copies: &mut Vec<f32>,
        copy_biases: &mut Vec<f32>,
    ) {
        if self.seen[r] != id {
            self.seen[r] = id;
            self.copy[r] = NO_COPY;
        } else if self.copy[r] == NO_COPY {
            self.copy[r] = copy_biases.len() as u32;
            copies.extend_from_slice(&w[r * k..(r + 1) * k]);
            copy_biases.push(b[r]);
        }
    }
}

/// The batch kernel with the constants it needs from the params.
#[derive(Debug)]
pub(super) struct BatchKernel {
    pub(super) state: BatchSgd,
    /// The training ratings, reshuffled in place every epoch (built on the first one).
    pub(super) ratings: Vec<Entry>,
    pub(super) l2: f32,
    pub(super) l2_bias: f32,
    pub(super) table_mode: bool,
}

impl Clone for BatchKernel {
    /// A clone (e.g. the best weights kept for early stopping) does not copy the shuffled
    /// ratings; they are rebuilt if the clone trains.
    fn clone(&self) -> Self {
        BatchKernel {
            state: self.state.clone(),
            ratings: Vec::new(),
            ..*self
        }
    }
}

/// Constants of one [`BatchSgd`] epoch.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchConstants {
    pub(super) mu: f32,
    pub(super) lr: f32,
    pub(super) l2: f32,
    pub(super) l2_bias: f32,
    pub(super) table_mode: bool,
    pub(super) loss: Loss,
    pub(super) k: usize,
}

impl BatchSgd {
    pub(super) fn new(users: usize, items: usize) -> Self {
        BatchSgd {
            users: SideState::new(users),
            items: SideState::new(items),
            copies: Vec::new(),
            copy_biases: Vec::new(),
            errors: Vec::new(),
            batch_id: 0,
            scale_w: 1.0,
            scale_b: 1.0,
        }
    }

    /// One epoch over `ratings` in order, in batches of `batch`; returns the steps taken.
    /// The tables hold their true values (scale 1) when it returns.
    pub(super) fn epoch(
        &mut self,
        mut t: Tables<'_>,
        ratings: &[Entry],
        batch: usize,
        c: &BatchConstants,
    ) -> u64 {
        let mut steps = 0;
        for chunk in ratings.chunks(batch) {
            steps += 1;
            if c.table_mode {
                self.step::<true>(t.reborrow(), chunk, c);
            } else {
                self.step::<false>(t.reborrow(), chunk, c);
            }
        }
        self.unscale(t);
        steps
    }

    /// One step on the ratings of `batch`; `TABLE`: table-mode L2 (else rows mode).
    pub(super) fn step<const TABLE: bool>(
        &mut self,
        t: Tables<'_>,
        batch: &[Entry],
        c: &BatchConstants,
    ) {
        let k = c.k;
        if self.batch_id == u32::MAX {
            for side in [&mut self.users, &mut self.items] {
                side.seen.iter_mut().for_each(|s| *s = 0);
            }
            self.batch_id = 0;
        }
        self.batch_id += 1;
        let id = self.batch_id;
        // Pass 1: the errors at the batch-start values, copies of rows used twice.
        self.errors.clear();
        self.copies.clear();
        self.copy_biases.clear();
        let (sw2, sb) = ((self.scale_w * self.scale_w) as f32, self.scale_b as f32);
        const PREFETCH_AHEAD: usize = 4;
        for (j, r) in batch.iter().enumerate() {
            if let Some(ahead) = batch.get(j + PREFETCH_AHEAD) {
                prefetch_row(t.p, ahead.user as usize, k);
                prefetch_row(t.q, ahead.item as usize, k);
            }
            let (u, i) = (r.user as usize, r.item as usize);
            self.users.touch(
                u,
                id,
                (t.p, t.bu, k),
                &mut self.copies,
                &mut self.copy_biases,
            );
            self.items.touch(
                i,
                id,
                (t.q, t.bi, k),
                &mut self.copies,
                &mut self.copy_biases,
            );
            let pred = (t.bu[u] + t.bi[i]) * sb
                + dot(&t.p[u * k..(u + 1) * k], &t.q[i * k..(i + 1) * k]) * sw2;
            self.errors.push(pred - (r.value - c.mu));
        }
        let (_, loss_scale) = c.loss.value_and_scale(&self.errors);
        // Pass 2: the updates, in stored units. Table mode: true w' = d w - lr grad, with
        // d the step's decay; stored w' = true w' / (scale d) = w - lr grad / (scale d),
        // and grad = loss_scale e other_true = loss_scale e scale other_stored for the
        // factors, loss_scale e for the biases.
        let n = batch.len() as f32;
        let (decay_w, decay_b) = if TABLE {
            (1.0 - 2.0 * c.l2 * c.lr, 1.0 - 2.0 * c.l2_bias * c.lr)
        } else {
            (1.0, 1.0)
        };
        let (l2_w, l2_b) = if TABLE {
            (0.0, 0.0)
        } else {
            (-c.lr * 2.0 * c.l2 / n, -c.lr * 2.0 * c.l2_bias / n)
        };
        let factor_step = c.lr * loss_scale / decay_w;
        let bias_step = (c.lr as f64 * loss_scale as f64 / (self.scale_b * decay_b as f64)) as f32;
        for (r, &e) in batch.iter().zip(&self.errors) {
            let (u, i) = (r.user as usize, r.item as usize);
            let (cu, ci) = (self.users.copy[u], self.items.copy[i]);
            let (pw, qw) = (&mut t.p[u * k..(u + 1) * k], &mut t.q[i * k..(i + 1) * k]);
            let (pp, qp) = (pw.as_mut_ptr(), qw.as_mut_ptr());
            let old = |row: *mut f32, cp: u32| -> *const f32 {
                if cp == NO_COPY {
                    row
                } else {
                    self.copies[cp as usize * k..][..k].as_ptr()
                }
            };
            let (po, qo) = (old(pp, cu), old(qp, ci));
            // SAFETY: `pp` and `qp` are rows of `k` floats of two different tables; `po`
            // is `pp` itself or a row of `copies` (disjoint from both tables), likewise
            // `qo`; no reference to the rows is used until the call returns.
            unsafe { update_rows::<TABLE>(pp, qp, po, qo, k, l2_w, factor_step * e) };
            if TABLE {
                t.bu[u] -= bias_step * e;
                t.bi[i] -= bias_step * e;
            } else {
                let old_bias =
                    |b: f32, cp: u32| self.copy_biases.get(cp as usize).copied().unwrap_or(b);
                let g = c.lr * loss_scale * e;
                let (obu, obi) = (old_bias(t.bu[u], cu), old_bias(t.bi[i], ci));
                t.bu[u] += l2_b * obu - g;
                t.bi[i] += l2_b * obi - g;
            }
        }
        if TABLE {
            self.scale_w *= decay_w as f64;
            self.scale_b *= decay_b as f64;
            if self.scale_w < MIN_SCALE || self.scale_b < MIN_SCALE {
                self.unscale(t);
            }
        }
    }

    /// Folds the tables' scales into their rows (true values stored, scales 1).
    pub(super) fn unscale(&mut self, t: Tables<'_>) {
        for (w, s) in [
            (t.p, self.scale_w),
            (t.q, self.scale_w),
            (t.bu, self.scale_b),
            (t.bi, self.scale_b),
        ] {
            if s != 1.0 {
                let s = s as f32;
                w.iter_mut().for_each(|x| *x *= s);
            }
        }
        self.scale_w = 1.0;
        self.scale_b = 1.0;
    }
}

/// One rating's update of its user row `pp` and item row `qp` from their batch-start
/// values `po` and `qo`: `pp += l2 po - g qo`, `qp += l2 qo - g po` (`TABLE` skips the
/// `l2` terms: table mode has none).
///
/// # Safety
/// `pp` and `qp` must each point to `k` writable floats, not overlapping; `po` to `k`
/// readable floats that are either `pp` itself or disjoint from both rows; likewise `qo`
/// (`qp` itself or disjoint from both). No reference to these floats may be live.
#[inline(always)]
pub(super) unsafe fn update_rows<const TABLE: bool>(
    pp: *mut f32,
    qp: *mut f32,
    po: *const f32,
    qo: *const f32,
    k: usize,
    l2: f32,
    g: f32,
) {
    // Every element's four values are read before either of its two is written, and
    // each element is written once, so `po == pp` (or `qo == qp`) reads batch-start
    // values.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    // SAFETY: the build targets AVX-512F; the loads and stores cover offsets below `k`
    // (full vectors while 16 remain, then a masked one), inside all four rows.
    unsafe {
        use std::arch::x86_64::*;
        let (l2v, gv) = (_mm512_set1_ps(l2), _mm512_set1_ps(-g));
        let mut j = 0;
        let step = |j: usize, mask: __mmask16| {
            let (a, b) = (
                _mm512_maskz_loadu_ps(mask, po.add(j)),
                _mm512_maskz_loadu_ps(mask, qo.add(j)),
            );
            let (p, q) = (
                _mm512_maskz_loadu_ps(mask, pp.add(j)),
                _mm512_maskz_loadu_ps(mask, qp.add(j)),
            );
            let (p, q) = if TABLE {
                (p, q)
            } else {
                (_mm512_fmadd_ps(l2v, a, p), _mm512_fmadd_ps(l2v, b, q))
            };
            _mm512_mask_storeu_ps(pp.add(j), mask, _mm512_fmadd_ps(gv, b, p));
            _mm512_mask_storeu_ps(qp.add(j), mask, _mm512_fmadd_ps(gv, a, q));
        };
        while j + 16 <= k {
            step(j, 0xffff);
            j += 16;
        }
        if j < k {
            step(j, ((1u32 << (k - j)) - 1) as __mmask16);
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    for j in 0..k {
        // SAFETY: offsets below `k` are inside all four rows (caller's contract).
        unsafe {
            let (a, b, p, q) = (*po.add(j), *qo.add(j), *pp.add(j), *qp.add(j));
            let (p, q) = if TABLE {
                (p, q)
            } else {
                (p + l2 * a, q + l2 * b)
            };
            *pp.add(j) = p - g * b;
            *qp.add(j) = q - g * a;
        }
    }
}

/// Hints the processor to load row `r` (width `k`) of `w` into cache.
#[inline]
pub(super) fn prefetch_row(w: &[f32], r: usize, k: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        if let Some(row) = w.get(r * k..(r + 1) * k) {
            for line in row.chunks(16) {
                // SAFETY: a prefetch is only a hint; it never faults and the pointer is
                // inside `row`.
                unsafe { _mm_prefetch(line.as_ptr() as *const i8, _MM_HINT_T0) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (w, r, k);
}
