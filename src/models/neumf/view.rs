//! Cached views: the towers' first layers split into user and item parts, each computed
//! once per user / item, for scoring many pairs.

use super::*;

/// The weights a prediction reads (flushed tables).
pub(super) struct View<'a> {
    pub(super) k: usize,
    pub(super) km: usize,
    pub(super) pg: &'a [f32],
    pub(super) qg: &'a [f32],
    pub(super) pm: &'a [f32],
    pub(super) qm: &'a [f32],
    pub(super) bu: &'a [f32],
    pub(super) bi: &'a [f32],
    pub(super) tower: &'a [Dense],
    pub(super) fuse: &'a Dense,
}

impl View<'_> {
    /// `mu + b_u + b_i + y` for every pair, in blocks; an unknown (`None`) side
    /// contributes zeros for its embeddings and bias.
    pub(super) fn predict(
        &self,
        mu: f32,
        pairs: impl ExactSizeIterator<Item = (Option<u32>, Option<u32>)>,
        out: &mut [f32],
    ) {
        const BLOCK: usize = 1024;
        let (k, km) = (self.k, self.km);
        let n = pairs.len();
        assert_eq!(out.len(), n, "one output per pair");
        let rows = BLOCK.min(n);
        let (mut xm, mut gmf) = (vec![0.0f32; rows * 2 * km], vec![0.0f32; rows * k]);
        let mut bias = vec![0.0f32; rows];
        let mut pairs = pairs;
        for chunk in out.chunks_mut(BLOCK) {
            let b = chunk.len();
            for j in 0..b {
                let (u, i) = pairs.next().expect("length checked");
                let x = &mut xm[j * 2 * km..(j + 1) * 2 * km];
                let g = &mut gmf[j * k..(j + 1) * k];
                x.fill(0.0);
                g.fill(0.0);
                bias[j] = 0.0;
                if let Some(u) = u {
                    let u = u as usize;
                    x[..km].copy_from_slice(&self.pm[u * km..(u + 1) * km]);
                    bias[j] += self.bu[u];
                }
                if let Some(i) = i {
                    let i = i as usize;
                    x[km..].copy_from_slice(&self.qm[i * km..(i + 1) * km]);
                    bias[j] += self.bi[i];
                }
                if let (Some(u), Some(i)) = (u, i) {
                    let (u, i) = (u as usize, i as usize);
                    let (p, q) = (&self.pg[u * k..(u + 1) * k], &self.qg[i * k..(i + 1) * k]);
                    g.iter_mut()
                        .zip(p.iter().zip(q))
                        .for_each(|(g, (&p, &q))| *g = p * q);
                }
            }
            let h = tower_infer(self.tower, &xm[..b * 2 * km], b);
            let z = concat_rows(&gmf[..b * k], k, &h, b);
            self.fuse.infer(&z, b, chunk);
            for (v, &bias) in chunk.iter_mut().zip(&bias) {
                *v += mu + bias;
            }
        }
    }
}

/// The MLP tower's output for `batch` rows of `x` (its input when it has no layers).
pub(super) fn tower_infer(tower: &[Dense], x: &[f32], batch: usize) -> Vec<f32> {
    let mut h = x.to_vec();
    for layer in tower {
        let mut next = vec![0.0; batch * layer.output()];
        layer.infer(&h, batch, &mut next);
        h = next;
    }
    h
}

/// Row-wise `[a_r, b_r]` of `batch` rows (`a` is `batch x wa`, `b` the rest).
pub(super) fn concat_rows(a: &[f32], wa: usize, b: &[f32], batch: usize) -> Vec<f32> {
    let wb = b.len() / batch.max(1);
    let mut z = Vec::with_capacity(batch * (wa + wb));
    for r in 0..batch {
        z.extend_from_slice(&a[r * wa..(r + 1) * wa]);
        z.extend_from_slice(&b[r * wb..(r + 1) * wb]);
    }
    z
}
