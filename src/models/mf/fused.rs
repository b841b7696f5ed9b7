//! The fused per-example SGD kernel: one rating's error and the updates of its two rows
//! and biases in one pass, no gradient buffers.

use super::*;

/// Constants of the fused per-example SGD kernel, and its grid once built.
#[derive(Debug)]
pub(super) struct FusedSgd {
    pub(super) l2: f32,
    pub(super) l2_bias: f32,
    pub(super) threads: usize,
    /// Built from the training data on the first grid epoch.
    pub(super) grid: Option<Grid>,
}

impl Clone for FusedSgd {
    /// A clone (e.g. the best weights kept for early stopping) does not copy the grid,
    /// which holds a copy of the training data; it is rebuilt if the clone trains.
    fn clone(&self) -> Self {
        FusedSgd {
            grid: None,
            ..*self
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct SgdConstants {
    pub(super) mu: f32,
    pub(super) lr: f32,
    pub(super) l2: f32,
    pub(super) l2_bias: f32,
    pub(super) k: usize,
}

/// Mutable views of the four tables, covering users from `first_user` and items from
/// `first_item` on (a block of the thread plan, or everything).
pub(super) struct Tables<'a> {
    pub(super) p: &'a mut [f32],
    pub(super) q: &'a mut [f32],
    pub(super) bu: &'a mut [f32],
    pub(super) bi: &'a mut [f32],
    pub(super) first_user: u32,
    pub(super) first_item: u32,
}

/// Views of the four whole tables.
pub(super) fn whole_tables<'a>(
    p: &'a mut Embedding,
    q: &'a mut Embedding,
    bu: &'a mut Embedding,
    bi: &'a mut Embedding,
) -> Tables<'a> {
    Tables {
        p: p.weights_mut(),
        q: q.weights_mut(),
        bu: bu.weights_mut(),
        bi: bi.weights_mut(),
        first_user: 0,
        first_item: 0,
    }
}

impl Tables<'_> {
    /// The same views, borrowed for a shorter time.
    pub(super) fn reborrow(&mut self) -> Tables<'_> {
        Tables {
            p: &mut *self.p,
            q: &mut *self.q,
            bu: &mut *self.bu,
            bi: &mut *self.bi,
            first_user: self.first_user,
            first_item: self.first_item,
        }
    }
}

/// Per-example SGD over the ratings at `positions`, all of whose users and items lie in
/// `t`. The same arithmetic as a batch of one through [`MfNet::train_batch`] with MSE and
/// rows-mode L2: gradient `2 e q + 2 l2 p`, taken at the old values, then `w -= lr g`.
pub(super) fn sgd_block(
    t: Tables<'_>,
    data: &Ratings,
    positions: impl IntoIterator<Item = u32>,
    c: &SgdConstants,
) {
    let k = c.k;
    for pos in positions {
        let pos = pos as usize;
        let u = (data.users[pos] - t.first_user) as usize;
        let i = (data.items[pos] - t.first_item) as usize;
        sgd_one(
            &mut t.p[u * k..(u + 1) * k],
            &mut t.q[i * k..(i + 1) * k],
            &mut t.bu[u],
            &mut t.bi[i],
            data.values[pos],
            c,
        );
    }
}

/// One per-example SGD step on rating `value` of the rows `pu`, `qi`, `bu`, `bi`.
#[inline(always)]
pub(super) fn sgd_one(
    pu: &mut [f32],
    qi: &mut [f32],
    bu: &mut f32,
    bi: &mut f32,
    value: f32,
    c: &SgdConstants,
) {
    let (two_l2, two_l2b) = (2.0 * c.l2, 2.0 * c.l2_bias);
    let pred = *bu + *bi + dot(pu, qi);
    let g = 2.0 * (pred - (value - c.mu));
    *bu -= c.lr * (g + two_l2b * *bu);
    *bi -= c.lr * (g + two_l2b * *bi);
    for (p, q) in pu.iter_mut().zip(qi.iter_mut()) {
        let (p0, q0) = (*p, *q);
        *p = p0 - c.lr * (g * q0 + two_l2 * p0);
        *q = q0 - c.lr * (g * p0 + two_l2 * q0);
    }
}

/// A hint to bring `row` into the cache (no effect off x86-64).
#[inline(always)]
pub(super) fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in row.chunks(16) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint; it never faults, and the pointer is inside
        // `row`.
        unsafe { _mm_prefetch(line.as_ptr() as *const i8, _MM_HINT_T0) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Per-example SGD over two streams of ratings (all inside `t`) in the order a[0], b[0],
/// a[1], b[1], ... (the longer one's tail last), prefetching the rows of each stream's
/// rating a few places ahead.
pub(super) fn sgd_streams(t: Tables<'_>, a: &[Entry], b: &[Entry], c: &SgdConstants) {
    const AHEAD: usize = 6;
    let k = c.k;
    for j in 0..a.len().max(b.len()) {
        for stream in [a, b] {
            if let Some(next) = stream.get(j + AHEAD) {
                let (u, i) = (
                    (next.user - t.first_user) as usize,
                    (next.item - t.first_item) as usize,
                );
                prefetch(&t.p[u * k..(u + 1) * k]);
                prefetch(&t.q[i * k..(i + 1) * k]);
            }
            if let Some(e) = stream.get(j) {
                let u = (e.user - t.first_user) as usize;
                let i = (e.item - t.first_item) as usize;
                sgd_one(
                    &mut t.p[u * k..(u + 1) * k],
                    &mut t.q[i * k..(i + 1) * k],
                    &mut t.bu[u],
                    &mut t.bi[i],
                    e.value,
                    c,
                );
            }
        }
    }
}
