//! The training network ([`DeepNet`]): forward and backward over a minibatch, the
//! updates of the tables and the dense layers.

use super::*;

/// Recommender methods shared by the model and the training network.
macro_rules! deep_recommender {
    ($t:ty, $users:expr, $items:expr, $params:expr) => {
        impl Recommender for $t {
            fn kind(&self) -> &'static str {
                "deep"
            }
            fn n_users(&self) -> u32 {
                $users(self) as u32
            }
            fn n_items(&self) -> u32 {
                $items(self) as u32
            }
            fn param_count(&self) -> usize {
                $params(self)
            }
            fn score(&self, user: u32, item: u32) -> f32 {
                let mut out = [0.0];
                (self.view()).predict(
                    &self.mlp,
                    self.mu,
                    [(Some(user), Some(item))].into_iter(),
                    &mut out,
                );
                out[0]
            }
            /// The network's output with zeros for the unknown side's embedding, bias and
            /// side variables (the known side's inputs are used as they are).
            fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
                let mut out = [0.0];
                (self.view()).predict(&self.mlp, self.mu, [(user, item)].into_iter(), &mut out);
                out[0]
            }
            fn score_items(&self, user: u32, out: &mut [f32]) {
                self.score_all_items(user, out);
            }
            fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
                predict_many_with(self, self.view(), &self.mlp, self.mu, users, items, out);
            }
        }
    };
}

deep_recommender!(
    Deep,
    |m: &Deep| m.user_bias.len(),
    |m: &Deep| m.item_bias.len(),
    |m: &Deep| m.p.len()
        + m.q.len()
        + m.user_bias.len()
        + m.item_bias.len()
        + m.side_weights.iter().map(Vec::len).sum::<usize>()
        + m.dot_p.len()
        + m.dot_q.len()
        + m.mlp.param_count()
);

deep_recommender!(
    DeepNet,
    |m: &DeepNet| m.bu.rows(),
    |m: &DeepNet| m.bi.rows(),
    |m: &DeepNet| (m.p.rows() + m.q.rows()) * (m.p.dim() + 1)
        + m.sides.iter().map(|t| t.weights().len()).sum::<usize>()
        + m.dot
            .as_ref()
            .map_or(0, |(p, q)| p.weights().len() + q.weights().len())
        + m.mlp.param_count()
);

/// The deep model during training: the tables and dense layers with their optimizer
/// state, and the batch scratch.
#[derive(Debug, Clone)]
pub struct DeepNet {
    pub(super) mu: f32,
    pub(super) p: Embedding,
    pub(super) q: Embedding,
    pub(super) bu: Embedding,
    pub(super) bi: Embedding,
    pub(super) sides: Vec<Embedding>,
    pub(super) lookups: Vec<SideInput>,
    pub(super) mlp: Mlp,
    pub(super) product: bool,
    pub(super) bias_shortcut: bool,
    /// The dot-product tables P^dot, Q^dot, if any.
    pub(super) dot: Option<(Embedding, Embedding)>,
    /// Multiplier of the learning rate of the user, item, dot and bias tables.
    pub(super) table_lr: f32,
    pub(super) optimizer: Optimizer,
    pub(super) loss: Loss,
    pub(super) rng: Rng,
    /// Per batch position: the four gradient slots and their decay scales.
    pub(super) slots: Vec<([usize; 4], [f32; 4])>,
    /// Per pair of the forward pass (with dot tables): their two slots and decay
    /// scales, and the dot term.
    pub(super) dot_slots: Vec<([usize; 2], [f32; 2])>,
    pub(super) dot_values: Vec<f32>,
    /// Per side variable, per level occurrence in batch order: slot and the weight of
    /// its row in the average (1 / number of levels).
    pub(super) side_slots: Vec<Vec<(usize, f32)>>,
    /// The pairs of the last forward pass, their input rows and scores.
    pub(super) pair_users: Vec<u32>,
    pub(super) pair_items: Vec<u32>,
    pub(super) x: Vec<f32>,
    pub(super) scores: Vec<f32>,
    pub(super) dx: Vec<f32>,
    /// Scratch of the rating loss.
    pub(super) users: Vec<u32>,
    pub(super) items: Vec<u32>,
    pub(super) errors: Vec<f32>,
    pub(super) grads: Vec<f32>,
}

impl DeepNet {
    /// Scores of every item for `user` (full input rows; the weights change every step,
    /// so nothing is cached).
    pub(super) fn score_all_items(&self, user: u32, out: &mut [f32]) {
        let items = (0..out.len() as u32).map(|i| (Some(user), Some(i)));
        (self.view()).predict_rows(&self.mlp, self.mu, items, out);
    }

    /// Fresh tables and layers for `users` x `items` with the side variables `sides`
    /// (matching `params.features`), initialised from `params.seed`: P, Q, the user
    /// and item biases, the side tables, then the dense layers.
    pub fn new(
        params: &DeepParams,
        mu: f32,
        users: usize,
        items: usize,
        sides: Vec<SideInput>,
    ) -> Result<Self> {
        let same = sides.len() == params.features.len()
            && (sides.iter().zip(&params.features)).all(|(s, (n, d))| &s.name == n && s.dim == *d);
        if !same {
            return Err(Error::Usage(
                "side inputs do not match the features of the params".into(),
            ));
        }
        for s in &sides {
            s.check(if s.of_users { users } else { items })
                .map_err(Error::Usage)?;
        }
        let mut rng = Rng::seeded(params.seed);
        let (opt, k, mode, l2) = (params.optimizer, params.dim, params.l2_mode, params.l2);
        let p = Embedding::new(users, k, params.init, &mut rng, opt, l2, mode);
        let q = Embedding::new(items, k, params.init, &mut rng, opt, l2, mode);
        let lb = params.l2_bias;
        let bu = Embedding::new(users, 1, params.init, &mut rng, opt, lb, mode);
        let bi = Embedding::new(items, 1, params.init, &mut rng, opt, lb, mode);
        let tables = sides
            .iter()
            .map(|s| {
                let ls = params.side_l2();
                Embedding::new(s.rows, s.dim, params.init, &mut rng, opt, ls, mode)
            })
            .collect();
        let mut mlp = Mlp::new(
            params.input_width(),
            &params.hidden,
            params.activation,
            params.dropout,
            params.dense_init,
            opt,
            &mut rng,
        )?;
        mlp.set_l2(params.l2_dense);
        mlp.set_threads(params.threads);
        mlp.set_collapse(!params.layer_by_layer);
        // Drawn after everything else, so that models without a dot term initialise
        // exactly as before it existed.
        let dot = (params.dot_dim > 0).then(|| {
            let (d, ld) = (params.dot_dim, params.l2_dot);
            let p = Embedding::new(users, d, params.init, &mut rng, opt, ld, mode);
            let q = Embedding::new(items, d, params.init, &mut rng, opt, ld, mode);
            (p, q)
        });
        Ok(DeepNet {
            mu,
            p,
            q,
            bu,
            bi,
            side_slots: vec![Vec::new(); sides.len()],
            sides: tables,
            lookups: sides,
            mlp,
            product: params.product,
            bias_shortcut: params.bias_shortcut,
            dot,
            table_lr: params.table_lr,
            optimizer: opt,
            loss: params.loss.rating(),
            rng: Rng::seeded(params.seed ^ 0x2545_f491_4f6c_dd1d),
            slots: vec![],
            pair_users: vec![],
            pair_items: vec![],
            dot_slots: vec![],
            dot_values: vec![],
            x: vec![],
            scores: vec![],
            dx: vec![],
            users: vec![],
            items: vec![],
            errors: vec![],
            grads: vec![],
        })
    }

    pub(super) fn view(&self) -> View<'_> {
        View {
            k: self.p.dim(),
            product: self.product,
            bias_shortcut: self.bias_shortcut,
            p: self.p.weights(),
            q: self.q.weights(),
            bu: self.bu.weights(),
            bi: self.bi.weights(),
            sides: &self.lookups,
            side_weights: self.sides.iter().map(Embedding::weights).collect(),
            dot: (self.dot.as_ref()).map(|(p, q)| (p.dim(), p.weights(), q.weights())),
        }
    }

    /// Overwrites the dot tables and the biases with those of a trained MF model of the
    /// same users, items and `dot_dim` factors (pretraining). Call before training.
    pub(super) fn set_pretrained(&mut self, mf: &Mf) {
        let (p, q) = self.dot.as_mut().expect("pretraining needs dot tables");
        assert!(
            p.weights().len() == mf.p.len() && q.weights().len() == mf.q.len(),
            "pretrained MF has the shape of the dot tables"
        );
        p.weights_mut().copy_from_slice(&mf.p);
        q.weights_mut().copy_from_slice(&mf.q);
        self.bu.weights_mut().copy_from_slice(&mf.user_bias);
        self.bi.weights_mut().copy_from_slice(&mf.item_bias);
    }

    /// Flushes and returns the trained model (with inference-only dense layers).
    pub fn into_model(mut self) -> Deep {
        self.flush();
        let layers = self
            .mlp
            .layers()
            .iter()
            .map(|l| {
                Dense::from_weights(
                    l.input(),
                    l.output(),
                    l.weight().to_vec(),
                    l.bias().to_vec(),
                    l.activation,
                    Optimizer::default(),
                )
            })
            .collect();
        let mlp = Mlp::from_layers(layers, 0.0).expect("the layers chained when trained");
        Deep {
            mu: self.mu,
            dim: self.p.dim(),
            p: self.p.into_weights(),
            q: self.q.into_weights(),
            user_bias: self.bu.into_weights(),
            item_bias: self.bi.into_weights(),
            sides: self.lookups,
            side_weights: self
                .sides
                .into_iter()
                .map(Embedding::into_weights)
                .collect(),
            mlp,
            product: self.product,
            bias_shortcut: self.bias_shortcut,
            dot_dim: self.dot.as_ref().map_or(0, |(p, _)| p.dim()),
            dot_p: self
                .dot
                .as_ref()
                .map_or(Vec::new(), |(p, _)| p.weights().to_vec()),
            dot_q: self
                .dot
                .as_ref()
                .map_or(Vec::new(), |(_, q)| q.weights().to_vec()),
            item_part: Default::default(),
        }
    }

    /// Forward and backward over `batch` of `data` under the rating loss: the dense
    /// layers' gradients accumulate in the layers, the embeddings' in their slots (no
    /// update). Returns the batch loss.
    pub(super) fn accumulate(&mut self, data: &Ratings, batch: &[u32]) -> f64 {
        let mut users = std::mem::take(&mut self.users);
        let mut items = std::mem::take(&mut self.items);
        users.clear();
        items.clear();
        users.extend(batch.iter().map(|&p| data.users[p as usize]));
        items.extend(batch.iter().map(|&p| data.items[p as usize]));
        self.forward_pairs(&users, &items);
        (self.users, self.items) = (users, items);
        self.errors.clear();
        self.errors.extend(
            (batch.iter().zip(&self.scores))
                .map(|(&pos, &y)| y - (data.values[pos as usize] - self.mu)),
        );
        let mut grads = std::mem::take(&mut self.grads);
        grads.resize(batch.len(), 0.0);
        let loss = self.loss.value_and_grad(&self.errors, &mut grads);
        self.backward_pairs(&grads);
        self.grads = grads;
        loss
    }

    /// Training forward pass over the pairs `(users[j], items[j])`: builds the input rows
    /// from the rows' true values (touching them), runs the dense layers (with dropout)
    /// and returns the scores `output (+ b_u + b_i with the shortcut)`, without `mu`.
    pub(super) fn forward_pairs(&mut self, users: &[u32], items: &[u32]) -> &[f32] {
        assert_eq!(users.len(), items.len(), "one item per user");
        let k = self.p.dim();
        let w = self.mlp.input();
        let n = users.len();
        self.slots.clear();
        self.dot_slots.clear();
        self.side_slots.iter_mut().for_each(Vec::clear);
        self.pair_users.clear();
        self.pair_items.clear();
        self.pair_users.extend_from_slice(users);
        self.pair_items.extend_from_slice(items);
        self.x.resize(n * w, 0.0);
        self.dot_slots.clear();
        self.dot_values.clear();
        for (j, (&u, &i)) in users.iter().zip(items).enumerate() {
            let slots = [
                self.p.touch(u),
                self.q.touch(i),
                self.bu.touch(u),
                self.bi.touch(i),
            ];
            let scales = [
                self.p.scale(slots[0]),
                self.q.scale(slots[1]),
                self.bu.scale(slots[2]),
                self.bi.scale(slots[3]),
            ];
            let row = &mut self.x[j * w..(j + 1) * w];
            row.fill(0.0);
            axpy(scales[0], self.p.row(u), &mut row[..k]);
            axpy(scales[1], self.q.row(i), &mut row[k..2 * k]);
            row[2 * k] = self.bu.row(u)[0] * scales[2];
            row[2 * k + 1] = self.bi.row(i)[0] * scales[3];
            let mut off = 2 * k + 2;
            if self.product {
                let (pq, rest) = row.split_at_mut(off);
                (rest[..k].iter_mut().zip(&pq[..k]).zip(&pq[k..2 * k]))
                    .for_each(|((o, &a), &b)| *o = a * b);
                off += k;
            }
            for ((look, table), sslots) in
                (self.lookups.iter().zip(&mut self.sides)).zip(&mut self.side_slots)
            {
                let d = look.dim;
                let levels = look.of(if look.of_users { u } else { i });
                let inv = 1.0 / levels.len() as f32;
                for &l in levels {
                    let s = table.touch(l);
                    axpy(table.scale(s) * inv, table.row(l), &mut row[off..off + d]);
                    sslots.push((s, inv));
                }
                off += d;
            }
            self.slots.push((slots, scales));
            // The dot term (0 without one); the network's output is added below.
            let mut dot_value = 0.0;
            if let Some((dp, dq)) = &mut self.dot {
                let s = [dp.touch(u), dq.touch(i)];
                let c = [dp.scale(s[0]), dq.scale(s[1])];
                dot_value = c[0] * c[1] * dot(dp.row(u), dq.row(i));
                self.dot_slots.push((s, c));
            }
            self.dot_values.push(dot_value);
        }
        let out = self.mlp.forward_train(&self.x, n, &mut self.rng);
        let shortcut = self.bias_shortcut;
        self.scores.clear();
        self.scores.extend(
            (out.iter().zip(self.x.chunks_exact(w)).zip(&self.dot_values)).map(
                |((&y, row), &d)| {
                    d + if shortcut {
                        y + row[2 * k] + row[2 * k + 1]
                    } else {
                        y
                    }
                },
            ),
        );
        &self.scores
    }

    /// Backward pass of the last [`DeepNet::forward_pairs`] for `grads` = d loss / d
    /// score per pair: the dense layers' gradients accumulate in the layers, the
    /// embeddings' in their slots (no update).
    pub(super) fn backward_pairs(&mut self, grads: &[f32]) {
        let k = self.p.dim();
        let w = self.mlp.input();
        let n = self.slots.len();
        assert_eq!(grads.len(), n, "one gradient per pair of the forward pass");
        self.dx.resize(n * w, 0.0);
        self.mlp.backward(&self.x, grads, Some(&mut self.dx));
        let mut cursors = vec![0usize; self.sides.len()];
        // The slots take gradients w.r.t. the rows' true values (stored x scale), which
        // is what the input held: dL/dx itself (divided by the level count for an
        // averaged multi-valued variable).
        for (j, &(slots, _)) in self.slots.iter().enumerate() {
            let row = &self.dx[j * w..(j + 1) * w];
            axpy(1.0, &row[..k], self.p.grad_mut(slots[0]));
            axpy(1.0, &row[k..2 * k], self.q.grad_mut(slots[1]));
            let direct = if self.bias_shortcut { grads[j] } else { 0.0 };
            self.bu.grad_mut(slots[2])[0] += row[2 * k] + direct;
            self.bi.grad_mut(slots[3])[0] += row[2 * k + 1] + direct;
            if let Some((dp, dq)) = &mut self.dot {
                // d<p, q>/dp = q (true values: stored x scale)
                let ([sp, sq], [cp, cq]) = self.dot_slots[j];
                let (u, i) = (self.pair_users[j], self.pair_items[j]);
                let g = grads[j];
                axpy(g * cq, dq.row(i), dp.grad_mut(sp));
                axpy(g * cp, dp.row(u), dq.grad_mut(sq));
            }
            let mut off = 2 * k + 2;
            if self.product {
                // d(P_u * Q_i)/dP_u = Q_i (the true, scaled values the input held)
                let (x, g) = (&self.x[j * w..(j + 1) * w], &row[off..off + k]);
                let gp = self.p.grad_mut(slots[0]);
                (gp.iter_mut().zip(g).zip(&x[k..2 * k])).for_each(|((o, &g), &q)| *o += g * q);
                let gq = self.q.grad_mut(slots[1]);
                (gq.iter_mut().zip(g).zip(&x[..k])).for_each(|((o, &g), &p)| *o += g * p);
                off += k;
            }
            for (v, table) in self.sides.iter_mut().enumerate() {
                let d = table.dim();
                let look = &self.lookups[v];
                let e = if look.of_users {
                    self.pair_users[j]
                } else {
                    self.pair_items[j]
                };
                for _ in 0..look.of(e).len() {
                    let (s, c) = self.side_slots[v][cursors[v]];
                    cursors[v] += 1;
                    axpy(c, &row[off..off + d], table.grad_mut(s));
                }
                off += d;
            }
        }
    }

    /// Applies the accumulated gradients as step `step` with learning rate `lr`.
    pub(super) fn update(&mut self, step: u64, lr: f32, batch_size: usize) {
        let tables = self.optimizer.step(step, lr * self.table_lr);
        for t in [&mut self.p, &mut self.q, &mut self.bu, &mut self.bi] {
            t.apply(&tables, batch_size);
        }
        if let Some((dp, dq)) = &mut self.dot {
            dp.apply(&tables, batch_size);
            dq.apply(&tables, batch_size);
        }
        // Side-variable rows occur in many examples of every batch, as dense weights
        // do, so they train at the dense layers' rate.
        let dense = self.optimizer.step(step, lr);
        for t in &mut self.sides {
            t.apply(&dense, batch_size);
        }
        self.mlp.apply(&dense);
    }
}

impl RankNet for DeepNet {
    fn forward_pairs(&mut self, users: &[u32], items: &[u32]) -> &[f32] {
        DeepNet::forward_pairs(self, users, items)
    }
    fn backward_pairs(&mut self, grad: &[f32]) {
        DeepNet::backward_pairs(self, grad)
    }
    fn update(&mut self, step: u64, lr: f32, batch_size: usize) {
        DeepNet::update(self, step, lr, batch_size)
    }
}

impl Network for DeepNet {
    fn train_batch(&mut self, data: &Ratings, batch: &[u32], step: u64, lr: f32) -> f64 {
        let loss = self.accumulate(data, batch);
        self.update(step, lr, batch.len());
        loss
    }

    fn flush(&mut self) {
        for t in [&mut self.p, &mut self.q, &mut self.bu, &mut self.bi] {
            t.flush();
        }
        self.sides.iter_mut().for_each(Embedding::flush);
        if let Some((dp, dq)) = &mut self.dot {
            dp.flush();
            dq.flush();
        }
    }
}
