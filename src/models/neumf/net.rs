//! The training network ([`NeuMfNet`]): the GMF and MLP towers' forward and backward
//! for any output gradient, and the updates.

use super::*;

/// The NeuMF network during training: tables and dense layers with their optimizer
/// state, and the scratch of the last forward pass.
#[derive(Debug, Clone)]
pub struct NeuMfNet {
    pub(super) mu: f32,
    pub(super) pg: Embedding,
    pub(super) qg: Embedding,
    pub(super) pm: Embedding,
    pub(super) qm: Embedding,
    pub(super) bu: Embedding,
    pub(super) bi: Embedding,
    pub(super) tower: Vec<Dense>,
    pub(super) fuse: Dense,
    pub(super) optimizer: Optimizer,
    pub(super) loss: Loss,
    /// Per pair of the last forward pass: the slots of its rows in the six tables.
    pub(super) slots: Vec<[usize; 6]>,
    /// True values of the GMF rows (batch x K each) and the MLP-tower input.
    pub(super) gu: Vec<f32>,
    pub(super) gi: Vec<f32>,
    pub(super) xm: Vec<f32>,
    /// Outputs of the tower's layers and their caches.
    pub(super) outs: Vec<Vec<f32>>,
    pub(super) caches: Vec<DenseCache>,
    /// The fused input `[GMF, tower output]`, its cache and the scores.
    pub(super) z: Vec<f32>,
    pub(super) fuse_cache: DenseCache,
    pub(super) scores: Vec<f32>,
    pub(super) batch: usize,
    pub(super) errors: Vec<f32>,
    pub(super) grads: Vec<f32>,
}

impl NeuMfNet {
    /// Fresh tables and layers for `users` x `items`, initialised from `params.seed`:
    /// GMF P and Q, MLP P and Q, the biases, the tower's layers, the fusion unit.
    pub fn new(params: &NeuMfParams, mu: f32, users: usize, items: usize) -> Self {
        let mut rng = Rng::seeded(params.seed);
        let opt = params.optimizer;
        let (mode, init) = (params.l2_mode, params.init);
        let mut table = |rows, dim, l2| Embedding::new(rows, dim, init, &mut rng, opt, l2, mode);
        let (k, km, l2, lb) = (params.dim, params.mlp_dim, params.l2, params.l2_bias);
        let pg = table(users, k, l2);
        let qg = table(items, k, l2);
        let pm = table(users, km, l2);
        let qm = table(items, km, l2);
        let bu = table(users, 1, lb);
        let bi = table(items, 1, lb);
        let mut width = 2 * km;
        let mut tower = Vec::with_capacity(params.hidden.len());
        for &h in &params.hidden {
            let mut l = Dense::new(
                width,
                h,
                params.activation,
                params.dense_init,
                &mut rng,
                opt,
            );
            (l.l2, l.threads) = (params.l2_dense, params.threads);
            tower.push(l);
            width = h;
        }
        let mut fuse = Dense::new(
            params.fused_width(),
            1,
            Activation::Linear,
            DenseInit::GlorotUniform,
            &mut rng,
            opt,
        );
        fuse.l2 = params.l2_dense;
        NeuMfNet {
            mu,
            pg,
            qg,
            pm,
            qm,
            bu,
            bi,
            caches: vec![DenseCache::new(); tower.len()],
            outs: vec![Vec::new(); tower.len()],
            tower,
            fuse,
            optimizer: opt,
            loss: params.loss.rating(),
            slots: Vec::new(),
            gu: Vec::new(),
            gi: Vec::new(),
            xm: Vec::new(),
            z: Vec::new(),
            fuse_cache: DenseCache::new(),
            scores: Vec::new(),
            batch: 0,
            errors: Vec::new(),
            grads: Vec::new(),
        }
    }

    pub(super) fn view(&self) -> View<'_> {
        View {
            k: self.pg.dim(),
            km: self.pm.dim(),
            pg: self.pg.weights(),
            qg: self.qg.weights(),
            pm: self.pm.weights(),
            qm: self.qm.weights(),
            bu: self.bu.weights(),
            bi: self.bi.weights(),
            tower: &self.tower,
            fuse: &self.fuse,
        }
    }

    /// Flushes and returns the trained model (inference-only dense layers).
    pub fn into_model(mut self) -> NeuMf {
        self.flush();
        let strip = |l: &Dense| {
            Dense::from_weights(
                l.input(),
                l.output(),
                l.weight().to_vec(),
                l.bias().to_vec(),
                l.activation,
                Optimizer::default(),
            )
        };
        NeuMf {
            mu: self.mu,
            dim: self.pg.dim(),
            mlp_dim: self.pm.dim(),
            tower: self.tower.iter().map(strip).collect(),
            fuse: strip(&self.fuse),
            gmf_p: self.pg.into_weights(),
            gmf_q: self.qg.into_weights(),
            mlp_p: self.pm.into_weights(),
            mlp_q: self.qm.into_weights(),
            user_bias: self.bu.into_weights(),
            item_bias: self.bi.into_weights(),
        }
    }

    /// Training forward pass over the pairs `(users[j], items[j])` (known indices): the
    /// scores `b_u + b_i + y` (without `mu`), one per pair. Everything
    /// [`NeuMfNet::backward`] needs is kept; the rows are marked as touched, so a
    /// forward pass must be followed by [`NeuMfNet::backward`] (or not) and then
    /// [`NeuMfNet::apply`].
    pub fn forward(&mut self, users: &[u32], items: &[u32]) -> &[f32] {
        assert_eq!(users.len(), items.len(), "one item per user");
        let (k, km, n) = (self.pg.dim(), self.pm.dim(), users.len());
        self.slots.clear();
        self.gu.resize(n * k, 0.0);
        self.gi.resize(n * k, 0.0);
        self.xm.resize(n * 2 * km, 0.0);
        self.scores.resize(n, 0.0);
        for (j, (&u, &i)) in users.iter().zip(items).enumerate() {
            let s = [
                self.pg.touch(u),
                self.qg.touch(i),
                self.pm.touch(u),
                self.qm.touch(i),
                self.bu.touch(u),
                self.bi.touch(i),
            ];
            let true_row = |t: &Embedding, r: u32, slot: usize, out: &mut [f32]| {
                let c = t.scale(slot);
                out.iter_mut().zip(t.row(r)).for_each(|(o, &w)| *o = c * w);
            };
            true_row(&self.pg, u, s[0], &mut self.gu[j * k..(j + 1) * k]);
            true_row(&self.qg, i, s[1], &mut self.gi[j * k..(j + 1) * k]);
            let x = &mut self.xm[j * 2 * km..(j + 1) * 2 * km];
            true_row(&self.pm, u, s[2], &mut x[..km]);
            true_row(&self.qm, i, s[3], &mut x[km..]);
            self.scores[j] =
                self.bu.row(u)[0] * self.bu.scale(s[4]) + self.bi.row(i)[0] * self.bi.scale(s[5]);
            self.slots.push(s);
        }
        for l in 0..self.tower.len() {
            let (before, after) = self.outs.split_at_mut(l);
            let input: &[f32] = if l == 0 { &self.xm } else { &before[l - 1] };
            let out = &mut after[0];
            out.resize(n * self.tower[l].output(), 0.0);
            self.tower[l].forward(input, n, out, &mut self.caches[l]);
        }
        let h: &[f32] = self.outs.last().unwrap_or(&self.xm);
        let wh = h.len() / n.max(1);
        self.z.clear();
        for j in 0..n {
            let (g, q) = (&self.gu[j * k..(j + 1) * k], &self.gi[j * k..(j + 1) * k]);
            self.z.extend(g.iter().zip(q).map(|(&a, &b)| a * b));
            self.z.extend_from_slice(&h[j * wh..(j + 1) * wh]);
        }
        let mut y = vec![0.0; n];
        self.fuse.forward(&self.z, n, &mut y, &mut self.fuse_cache);
        self.scores.iter_mut().zip(&y).for_each(|(s, y)| *s += y);
        self.batch = n;
        &self.scores
    }

    /// Backward pass of the last [`NeuMfNet::forward`] given `grad` = dL/d(score) per
    /// pair: accumulates the gradients of the dense layers (in the layers) and of the
    /// touched rows (in their slots), without updating anything.
    pub fn backward(&mut self, grad: &[f32]) {
        let (k, km, n) = (self.pg.dim(), self.pm.dim(), self.batch);
        assert_eq!(grad.len(), n, "one gradient per pair of the forward pass");
        let wz = self.fuse.input();
        let mut dz = vec![0.0; n * wz];
        self.fuse
            .backward(&self.z, n, grad, Some(&mut dz), &mut self.fuse_cache);
        // dL/d(tower output) and, through the tower, dL/d(MLP input)
        let mut dh: Vec<f32> = dz.chunks_exact(wz).flat_map(|r| &r[k..]).copied().collect();
        for l in (0..self.tower.len()).rev() {
            let input: &[f32] = if l == 0 { &self.xm } else { &self.outs[l - 1] };
            let mut dx = vec![0.0; n * self.tower[l].input()];
            self.tower[l].backward(input, n, &dh, Some(&mut dx), &mut self.caches[l]);
            dh = dx;
        }
        debug_assert_eq!(dh.len(), n * 2 * km);
        for (j, s) in self.slots.iter().enumerate() {
            let dg = &dz[j * wz..j * wz + k];
            let (gu, gi) = (&self.gu[j * k..(j + 1) * k], &self.gi[j * k..(j + 1) * k]);
            let gp = self.pg.grad_mut(s[0]);
            (gp.iter_mut().zip(dg).zip(gi)).for_each(|((o, &d), &q)| *o += d * q);
            let gq = self.qg.grad_mut(s[1]);
            (gq.iter_mut().zip(dg).zip(gu)).for_each(|((o, &d), &p)| *o += d * p);
            let dx = &dh[j * 2 * km..(j + 1) * 2 * km];
            let gpm = self.pm.grad_mut(s[2]);
            gpm.iter_mut().zip(&dx[..km]).for_each(|(o, &d)| *o += d);
            let gqm = self.qm.grad_mut(s[3]);
            gqm.iter_mut().zip(&dx[km..]).for_each(|(o, &d)| *o += d);
            self.bu.grad_mut(s[4])[0] += grad[j];
            self.bi.grad_mut(s[5])[0] += grad[j];
        }
    }

    /// Updates every touched row and every dense weight with `step`; `batch_size` is the
    /// number of examples the loss averaged over (for per-occurrence L2).
    pub fn apply(&mut self, step: &Step, batch_size: usize) {
        for t in [
            &mut self.pg,
            &mut self.qg,
            &mut self.pm,
            &mut self.qm,
            &mut self.bu,
            &mut self.bi,
        ] {
            t.apply(step, batch_size);
        }
        self.tower.iter_mut().for_each(|l| l.apply(step));
        self.fuse.apply(step);
    }
}

impl RankNet for NeuMfNet {
    fn forward_pairs(&mut self, users: &[u32], items: &[u32]) -> &[f32] {
        self.forward(users, items)
    }
    fn backward_pairs(&mut self, grad: &[f32]) {
        self.backward(grad)
    }
    fn update(&mut self, step: u64, lr: f32, batch_size: usize) {
        let step = self.optimizer.step(step, lr);
        self.apply(&step, batch_size);
    }
}

impl Network for NeuMfNet {
    fn train_batch(&mut self, data: &Ratings, batch: &[u32], step: u64, lr: f32) -> f64 {
        let users: Vec<u32> = batch.iter().map(|&p| data.users[p as usize]).collect();
        let items: Vec<u32> = batch.iter().map(|&p| data.items[p as usize]).collect();
        let mu = self.mu;
        self.forward(&users, &items);
        let mut errors = std::mem::take(&mut self.errors);
        let mut grads = std::mem::take(&mut self.grads);
        errors.clear();
        errors.extend(
            (batch.iter().zip(&self.scores)).map(|(&p, &s)| s - (data.values[p as usize] - mu)),
        );
        grads.resize(batch.len(), 0.0);
        let loss = self.loss.value_and_grad(&errors, &mut grads);
        self.backward(&grads);
        let step = self.optimizer.step(step, lr);
        self.apply(&step, batch.len());
        (self.errors, self.grads) = (errors, grads);
        loss
    }

    fn flush(&mut self) {
        for t in [
            &mut self.pg,
            &mut self.qg,
            &mut self.pm,
            &mut self.qm,
            &mut self.bu,
            &mut self.bi,
        ] {
            t.flush();
        }
    }
}
