//! Cached views: the first dense layer split into a user part and an item part, each
//! computed once per user / item, for scoring many pairs.

use super::*;

/// The weights an input row is built from (flushed tables).
pub(super) struct View<'a> {
    pub(super) k: usize,
    pub(super) product: bool,
    pub(super) bias_shortcut: bool,
    pub(super) p: &'a [f32],
    pub(super) q: &'a [f32],
    pub(super) bu: &'a [f32],
    pub(super) bi: &'a [f32],
    pub(super) sides: &'a [SideInput],
    pub(super) side_weights: Vec<&'a [f32]>,
    /// The dot-product tables (factors, users x factors, items x factors), if any.
    pub(super) dot: Option<(usize, &'a [f32], &'a [f32])>,
}

impl View<'_> {
    /// The output's dot term `<P^dot_u, Q^dot_i>` (0 without dot tables or when either
    /// side is unknown).
    #[inline]
    pub(super) fn dot_term(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        match (self.dot, user, item) {
            (Some((d, p, q)), Some(u), Some(i)) => {
                let (u, i) = (u as usize, i as usize);
                dot(&p[u * d..(u + 1) * d], &q[i * d..(i + 1) * d])
            }
            _ => 0.0,
        }
    }

    /// The input row of (user, item); an unknown (`None`) side contributes zeros for its
    /// embedding, its bias and its side variables.
    pub(super) fn fill(&self, user: Option<u32>, item: Option<u32>, row: &mut [f32]) {
        let k = self.k;
        row.fill(0.0);
        if let Some(u) = user {
            let u = u as usize;
            row[..k].copy_from_slice(&self.p[u * k..(u + 1) * k]);
            row[2 * k] = self.bu[u];
        }
        if let Some(i) = item {
            let i = i as usize;
            row[k..2 * k].copy_from_slice(&self.q[i * k..(i + 1) * k]);
            row[2 * k + 1] = self.bi[i];
        }
        let mut off = 2 * k + 2;
        if self.product {
            let (pq, rest) = row.split_at_mut(2 * k + 2);
            let prod = &mut rest[..k];
            prod.iter_mut()
                .zip(&pq[..k])
                .zip(&pq[k..2 * k])
                .for_each(|((o, &a), &b)| *o = a * b);
            off += k;
        }
        for (s, w) in self.sides.iter().zip(&self.side_weights) {
            let d = s.dim;
            if let Some(e) = if s.of_users { user } else { item } {
                let levels = s.of(e);
                let inv = 1.0 / levels.len() as f32;
                for &l in levels {
                    let l = l as usize;
                    axpy(inv, &w[l * d..(l + 1) * d], &mut row[off..off + d]);
                }
            }
            off += d;
        }
    }

    /// The first layer's pre-activation contribution `x W` (no bias) of the user side
    /// (P_u, b_u, the user's side variables) of each of `ids` when `of_users`, else of
    /// the item side (Q_i, b_i, item side variables): `ids.len() x h`. The product block
    /// belongs to neither side.
    pub(super) fn side_part(&self, first: &Dense, of_users: bool, ids: &[u32]) -> Vec<f32> {
        const BLOCK: usize = 1024;
        let (w, h) = (first.input(), first.output());
        let mut part = vec![0.0f32; ids.len() * h];
        let mut x = vec![0.0f32; BLOCK.min(ids.len()) * w];
        for (block, out) in ids.chunks(BLOCK).zip(part.chunks_mut(BLOCK * h)) {
            let rows = block.len();
            for (row, &e) in x.chunks_exact_mut(w).zip(block) {
                let (u, i) = if of_users {
                    (Some(e), None)
                } else {
                    (None, Some(e))
                };
                self.fill(u, i, row);
            }
            matmul_threads(
                Mat::new(&x[..rows * w], rows, w),
                Mat::new(first.weight(), w, h),
                out,
                false,
                first.threads,
            );
        }
        part
    }

    /// Every user's and every item's first-layer part ([`View::side_part`]).
    pub(super) fn parts(&self, first: &Dense) -> (Vec<f32>, Vec<f32>) {
        let users: Vec<u32> = (0..self.bu.len() as u32).collect();
        let items: Vec<u32> = (0..self.bi.len() as u32).collect();
        (
            self.side_part(first, true, &users),
            self.side_part(first, false, &items),
        )
    }

    /// `mu + network(u, i)` for every pair, from precomputed first-layer parts: the
    /// first layer of (u, i) is `act(U[u - u0] + I[i] + b + (P_u * Q_i) W_pq)`, so no
    /// user-side (or item-side) input is multiplied per pair; only the product block
    /// and the later layers are. `user_part` holds the rows of users `u0..`,
    /// `item_part` those of every item. An unknown side adds nothing.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn predict_from_parts(
        &self,
        mlp: &Mlp,
        mu: f32,
        (user_part, u0): (&[f32], u32),
        item_part: &[f32],
        pairs: impl ExactSizeIterator<Item = (Option<u32>, Option<u32>)>,
        out: &mut [f32],
    ) {
        const BLOCK: usize = 1024;
        let (layers, k) = (mlp.layers(), self.k);
        let first = &layers[0];
        let h = first.output();
        let n = pairs.len();
        assert_eq!(out.len(), n, "one output per pair");
        let rows = BLOCK.min(n);
        let mut z = vec![0.0f32; rows * h];
        let mut prod = vec![0.0f32; if self.product { rows * k } else { 0 }];
        let mut shortcut = vec![0.0f32; rows];
        let mut dots = vec![0.0f32; rows];
        let w_pq: &[f32] = if self.product {
            &first.weight()[(2 * k + 2) * h..(3 * k + 2) * h]
        } else {
            &[]
        };
        let mut pairs = pairs;
        for chunk in out.chunks_mut(BLOCK) {
            let b = chunk.len();
            for j in 0..b {
                let (u, i) = pairs.next().expect("length checked");
                let zr = &mut z[j * h..(j + 1) * h];
                zr.copy_from_slice(first.bias());
                shortcut[j] = 0.0;
                dots[j] = self.dot_term(u, i);
                if let Some(u) = u {
                    let r = (u - u0) as usize;
                    axpy(1.0, &user_part[r * h..(r + 1) * h], zr);
                    shortcut[j] += self.bu[u as usize];
                }
                if let Some(i) = i {
                    let i = i as usize;
                    axpy(1.0, &item_part[i * h..(i + 1) * h], zr);
                    shortcut[j] += self.bi[i];
                }
                if self.product {
                    let pr = &mut prod[j * k..(j + 1) * k];
                    match (u, i) {
                        (Some(u), Some(i)) => {
                            let (u, i) = (u as usize, i as usize);
                            let (p, q) = (&self.p[u * k..(u + 1) * k], &self.q[i * k..(i + 1) * k]);
                            (pr.iter_mut().zip(p).zip(q)).for_each(|((o, &p), &q)| *o = p * q);
                        }
                        _ => pr.fill(0.0),
                    }
                }
            }
            if self.product {
                matmul_threads(
                    Mat::new(&prod[..b * k], b, k),
                    Mat::new(w_pq, k, h),
                    &mut z[..b * h],
                    true,
                    first.threads,
                );
            }
            first.activation.apply(&mut z[..b * h]);
            let mut x = z[..b * h].to_vec();
            for (l, layer) in layers.iter().enumerate().skip(1) {
                if l + 1 == layers.len() {
                    layer.infer(&x, b, chunk);
                } else {
                    let mut next = vec![0.0; b * layer.output()];
                    layer.infer(&x, b, &mut next);
                    x = next;
                }
            }
            if layers.len() == 1 {
                chunk.copy_from_slice(&x);
            }
            for ((v, s), d) in chunk.iter_mut().zip(&shortcut).zip(&dots) {
                *v += mu + if self.bias_shortcut { *s } else { 0.0 } + d;
            }
        }
    }

    /// `mu + mlp(row)` for every pair, in blocks. When there are more pairs than users
    /// and items together, the first layer goes through [`View::parts`] (each user's and
    /// item's side multiplied once) instead of one full input row per pair.
    pub(super) fn predict(
        &self,
        mlp: &Mlp,
        mu: f32,
        pairs: impl ExactSizeIterator<Item = (Option<u32>, Option<u32>)>,
        out: &mut [f32],
    ) {
        // An affine network is cheaper as one dot product per row than through the parts.
        if pairs.len() > self.bu.len() + self.bi.len() && !mlp.uses_affine_chain() {
            let (user_part, item_part) = self.parts(&mlp.layers()[0]);
            return self.predict_from_parts(mlp, mu, (&user_part, 0), &item_part, pairs, out);
        }
        self.predict_rows(mlp, mu, pairs, out);
    }

    /// `mu + mlp(row)` for every pair, one full input row per pair, in blocks.
    pub(super) fn predict_rows(
        &self,
        mlp: &Mlp,
        mu: f32,
        pairs: impl ExactSizeIterator<Item = (Option<u32>, Option<u32>)>,
        out: &mut [f32],
    ) {
        const BLOCK: usize = 1024;
        let w = mlp.input();
        let n = pairs.len();
        assert_eq!(out.len(), n, "one output per pair");
        let mut x = vec![0.0f32; BLOCK.min(n) * w];
        let mut dots = vec![0.0f32; BLOCK.min(n)];
        let mut pairs = pairs;
        for chunk in out.chunks_mut(BLOCK) {
            let rows = chunk.len();
            for (row, d) in x[..rows * w].chunks_exact_mut(w).zip(&mut dots) {
                let (u, i) = pairs.next().expect("length checked");
                self.fill(u, i, row);
                *d = self.dot_term(u, i);
            }
            mlp.predict(&x[..rows * w], rows, chunk);
            let k = self.k;
            for ((v, row), d) in chunk.iter_mut().zip(x.chunks_exact(w)).zip(&dots) {
                *v += mu + d;
                if self.bias_shortcut {
                    *v += row[2 * k] + row[2 * k + 1];
                }
            }
        }
    }
}

/// Known-or-not pairs of a batch of (user, item) indices.
pub(super) fn known_pairs<'a>(
    m: &'a dyn Recommender,
    users: &'a [u32],
    items: &'a [u32],
) -> impl ExactSizeIterator<Item = (Option<u32>, Option<u32>)> + 'a {
    let (nu, ni) = (m.n_users(), m.n_items());
    users
        .iter()
        .zip(items)
        .map(move |(&u, &i)| ((u < nu).then_some(u), (i < ni).then_some(i)))
}
