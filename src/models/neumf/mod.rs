//! NeuMF (He et al., "Neural Collaborative Filtering", WWW 2017), here for ratings: a
//! GMF tower (the element-wise product `P^G_u * Q^G_i` of its own user and item
//! embeddings) and an MLP tower (hidden dense layers over the concatenation
//! `[P^M_u, Q^M_i]` of a second pair of embeddings) are concatenated and fused by one
//! linear output unit. For ratings the prediction is `mu + b_u + b_i + y`, where `y` is
//! the fused output, and training minimises the MSE (or batch RMSE) of
//! `rating - mu`.
//!
//! The training network exposes its forward pass ([`NeuMfNet::forward`], the scores `b_u
//! + b_i + y` of a batch of pairs) and its backward pass ([`NeuMfNet::backward`], for any
//! gradient w.r.t. those scores), so a ranking loss (BCE on sampled negatives, BPR) can
//! drive the same network: compute the loss from the scores, pass its gradient back,
//! [`NeuMfNet::apply`].

use super::ranking::{NetLoss, RankLoss, RankNet, Sampling};
use super::{AnyModel, Kind, Model, NamedTensor, Tensors};
use super::{Prediction, Recommender};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::nn::{
    Activation, Dense, DenseCache, DenseInit, Embedding, Init, L2Mode, Loss, Optimizer,
    OptimizerKind, Step,
};
use crate::rng::Rng;
use crate::train::{EpochRecord, EvalSets, History, Network};

mod model;
mod net;
mod view;
pub use model::*;
pub use net::*;
use view::*;

use super::with_training_fields;

with_training_fields! {
    /// Hyper-parameters of [`NeuMf`]. The defaults were chosen on a validation split
    /// carved from ML-100K u1.base (`--data u1.base --split random:0.1 --seed 42`, never
    /// u1.test) by a dozen runs around the deep model's recipe (Adam with decoupled weight
    /// decay on the factor tables): validation RMSE 0.9168 (0.9336 with the deep model's
    /// `l2` 1 and lr decay 0.93, which let it overfit after epoch 7).
    ///
    /// | name | default | meaning | valid range |
    /// |---|---|---|---|
    /// | `dim` | 32 | factors of the GMF tower's embeddings | 1..=4096 |
    /// | `mlp_dim` | 32 | size of each of the MLP tower's user and item embeddings | 1..=4096 |
    /// | `hidden` | [64, 32] | widths of the MLP tower's hidden layers | each 1..=65536, 0..=16 layers |
    /// | `activation` | relu | activation of the hidden layers | see [`Activation`] |
    /// | `epochs` | 20 | training epochs | 1..=100000 |
    /// | `batch` | 256 | ratings per minibatch | 1..=1048576 |
    /// | `optimizer` | adam | update rule and its constants | see [`Optimizer`] |
    /// | `lr` | 0.002 | learning rate | > 0 |
    /// | `lr_decay` | 0.8 | lr multiplier after each epoch | (0, 1] |
    /// | `l2` | 0.4 | L2 on the four factor tables | ≥ 0 |
    /// | `l2_bias` | 0.001 | L2 on the two bias tables | ≥ 0 |
    /// | `l2_mode` | table | where the embedding L2 applies ([`L2Mode`]; with Adam, table mode is decoupled weight decay) | rows, table |
    /// | `l2_dense` | 0.001 | L2 on the dense kernels and the fusion weights (Keras semantics) | ≥ 0 |
    /// | `init` | normal:0.01 | initialiser of every embedding table | see [`Init`] |
    /// | `dense_init` | glorot_uniform | initialiser of the hidden kernels | glorot_uniform, he_uniform |
    /// | `loss` | mse | training loss: on ratings, or a ranking loss on implicit feedback ([`NetLoss`]) | mse, rmse, bpr, warp, bce, softmax |
    /// | `negatives` | 0 (the loss's default: warp 100 trials, bpr 1, bce 4, softmax 20) | ranking: negatives per positive (warp: most trials) | 0..=100000 |
    /// | `sampling` | uniform | ranking: how negatives are drawn ([`Sampling`]) | uniform, popularity |
    /// | `seed` | 42 | initialisation and shuffling | any |
    /// | `patience` | 0 | early-stopping patience in epochs (0 = off) | any |
    /// | `val_fraction` | 0 | share of training data held out for validation | [0, 1) |
    /// | `clip` | true | clip predictions to the rating scale | |
    /// | `threads` | 1 | threads of the dense layers' matrix products | 1..=256 |
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct NeuMfParams {
        /// GMF factors.
        pub dim: usize,
        /// Size of each MLP-tower embedding.
        pub mlp_dim: usize,
        /// Widths of the MLP tower's hidden layers.
        pub hidden: Vec<usize>,
        /// Activation of the hidden layers.
        pub activation: Activation,
        ..schedule,
        /// L2 on the factor tables.
        pub l2: f32,
        /// L2 on the bias tables.
        pub l2_bias: f32,
        /// Where the embedding L2 applies.
        pub l2_mode: L2Mode,
        /// L2 on the dense kernels and the fusion weights.
        pub l2_dense: f32,
        /// Initialiser of the embedding tables.
        pub init: Init,
        /// Initialiser of the hidden kernels.
        pub dense_init: DenseInit,
        /// Training loss: a rating loss, or a ranking loss on implicit feedback.
        pub loss: NetLoss,
        /// Ranking losses: negatives per positive (WARP: most trials); 0 = the loss's default.
        pub negatives: usize,
        /// Ranking losses: how negatives are drawn.
        pub sampling: Sampling,
        ..stopping,
        /// Threads of the dense layers' matrix products.
        pub threads: usize,
        /// Implicit feedback: the interactions are the training ratings at or above this
        /// (`None`: every rating). Only for training with a ranking loss.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub min_rating: Option<f32>,
    }
}

impl Default for NeuMfParams {
    fn default() -> Self {
        NeuMfParams {
            dim: 32,
            mlp_dim: 32,
            hidden: vec![64, 32],
            activation: Activation::Relu,
            epochs: 20,
            batch: 256,
            optimizer: Optimizer {
                kind: OptimizerKind::Adam,
                ..Optimizer::default()
            },
            lr: 0.002,
            lr_decay: 0.8,
            l2: 0.4,
            l2_bias: 0.001,
            l2_mode: L2Mode::Table,
            l2_dense: 0.001,
            init: Init::Normal(0.01),
            dense_init: DenseInit::GlorotUniform,
            loss: NetLoss::Rating(Loss::Mse),
            negatives: 0,
            sampling: Sampling::Uniform,
            seed: 42,
            patience: 0,
            val_fraction: 0.0,
            clip: true,
            threads: 1,
            min_rating: None,
        }
    }
}

impl NeuMfParams {
    /// Checks every range in the table above.
    pub fn check(&self) -> Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        for (name, d) in [("dim", self.dim), ("mlp dim", self.mlp_dim)] {
            if !(1..=4096).contains(&d) {
                return usage(format!("{name} must be in 1..=4096, got {d}"));
            }
        }
        if self.hidden.len() > 16 || self.hidden.iter().any(|&h| !(1..=65536).contains(&h)) {
            return usage(format!(
                "hidden must be at most 16 widths in 1..=65536, got {:?}",
                self.hidden
            ));
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
        for (name, v) in [
            ("l2", self.l2),
            ("l2 bias", self.l2_bias),
            ("l2 dense", self.l2_dense),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return usage(format!("{name} must be >= 0, got {v}"));
            }
        }
        if self.l2_mode == L2Mode::Table && 2.0 * self.l2.max(self.l2_bias) * self.lr >= 1.0 {
            return usage(format!(
                "table-mode l2 {} (bias {}) with lr {} would flip signs (2 l2 lr >= 1)",
                self.l2, self.l2_bias, self.lr
            ));
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
        let early_stop = self.patience + (self.val_fraction > 0.0) as usize;
        self.loss.check(self.negatives, self.sampling, early_stop)?;
        self.optimizer.check()
    }

    /// Width of the fused vector: the GMF factors plus the MLP tower's output (its last
    /// hidden width, or `2 mlp_dim` without hidden layers).
    pub fn fused_width(&self) -> usize {
        self.dim + self.hidden.last().copied().unwrap_or(2 * self.mlp_dim)
    }

    /// Trains on `sets.train` (indices below `n_users` / `n_items`), reporting each
    /// epoch to `on_epoch`.
    pub fn train(
        &self,
        sets: EvalSets<'_>,
        n_users: u32,
        n_items: u32,
        mut on_epoch: impl FnMut(&EpochRecord, &dyn Recommender) -> Result<()>,
    ) -> Result<(NeuMf, History)> {
        self.check()?;
        if sets.train.is_empty() {
            return Err(Error::Usage("cannot train on no ratings".into()));
        }
        if self.loss.ranking().is_some() {
            return Err(Error::Usage(
                "a ranking loss trains on implicit feedback (train_ranking)".into(),
            ));
        }
        let mu = sets.train.mean() as f32;
        let mut net = NeuMfNet::new(self, mu, n_users as usize, n_items as usize);
        let history = crate::train::fit(&mut net, sets, &self.schedule(), |r, n| on_epoch(r, n))?;
        Ok((net.into_model(), history))
    }

    /// The defaults for implicit feedback (`--implicit`): NCF's setup, BCE with 4
    /// sampled negatives per positive, and the rating defaults but for `l2` 0.2,
    /// `lr_decay` 0.95 and 25 epochs, chosen on validation data carved from u1.base
    /// (`scripts/tune-rank.sh neumf`; validation NDCG@10 0.2515 at its best epoch 23,
    /// against 0.2219 with the rating defaults; see docs/tuning.md, "Implicit feedback").
    pub fn implicit() -> Self {
        NeuMfParams {
            loss: NetLoss::Ranking(RankLoss::Bce),
            l2: 0.2,
            lr_decay: 0.95,
            epochs: 25,
            clip: false,
            ..NeuMfParams::default()
        }
    }

    /// Trains with the ranking loss `self.loss` on the interactions `train` (values
    /// ignored; indices below `n_users` / `n_items`); scores are preferences (`mu` = 0,
    /// nothing clipped). `on_epoch(epoch, model)` after every epoch. See
    /// [`super::ranking::fit_net`].
    pub fn train_ranking(
        &self,
        train: &Ratings,
        (n_users, n_items): (u32, u32),
        on_epoch: impl FnMut(usize, &NeuMf) -> Result<()>,
    ) -> Result<NeuMf> {
        self.check()?;
        let net = NeuMfNet::new(self, 0.0, n_users as usize, n_items as usize);
        let settings = (self.loss, self.negatives, self.sampling);
        super::ranking::fit_model(
            net,
            train,
            settings,
            &self.schedule(),
            NeuMfNet::into_model,
            on_epoch,
        )
    }
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "neumf",
    about: "NeuMF (He et al. 2017): a GMF tower and an MLP tower fused by one output unit",
    load,
    member: Some(|seed| {
        Box::new(NeuMfParams {
            seed,
            ..Default::default()
        })
    }),
    params: |_, over, implicit| {
        let base = if implicit {
            NeuMfParams::implicit()
        } else {
            NeuMfParams::default()
        };
        let p = super::overlay(base, over)?;
        super::ranking::check_loss_mode("neumf", implicit, p.loss)?;
        Ok(Box::new(p))
    },
    read: Some(super::read::<NeuMfParams>),
    presets: &[],
    flags: |implicit| {
        use super::flags::{self, Flag, parsed};
        let loss = if implicit {
            Flag::parsed("--loss", "loss", |s| flags::ranking_net_loss(s, "Neumf"))
        } else {
            Flag::parsed("--loss", "loss", parsed::<NetLoss>)
        };
        let mut v = flags::network(loss, implicit);
        v.extend([
            Flag::field("--mlp-dim", "mlp_dim"),
            Flag::parsed("--hidden", "hidden", flags::hidden_layers),
            Flag::parsed(
                "--activation",
                "activation",
                parsed::<crate::nn::Activation>,
            ),
            Flag::field("--l2-dense", "l2_dense"),
        ]);
        if implicit {
            v.extend(flags::IMPLICIT);
            v.extend(flags::RANKING);
        }
        Some(v)
    },
    no_preset: None,
};

#[cfg(test)]
mod tests {
    use super::*;

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

    fn f64s(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&v| v as f64).collect()
    }

    fn act64(a: Activation, z: f64) -> f64 {
        match a {
            Activation::Linear => z,
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu(s) => {
                if z > 0.0 {
                    z
                } else {
                    s as f64 * z
                }
            }
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        }
    }

    /// `x W + b` then the activation, in f64 (one row).
    fn layer64(l: &Dense, x: &[f64], act: Activation) -> Vec<f64> {
        let (w, b) = (f64s(l.weight()), f64s(l.bias()));
        (0..l.output())
            .map(|o| {
                let z = b[o]
                    + (0..l.input())
                        .map(|j| x[j] * w[j * l.output() + o])
                        .sum::<f64>();
                act64(act, z)
            })
            .collect()
    }

    /// The loss of `batch` computed independently in f64 from the (flushed) weights.
    fn reference_loss(net: &NeuMfNet, p: &NeuMfParams, data: &Ratings, batch: &[u32]) -> f64 {
        let (mut se, mut rows_penalty) = (0.0, 0.0);
        for &pos in batch {
            let (u, i) = (data.users[pos as usize], data.items[pos as usize]);
            let (score, penalty) = reference_score(net, p, u, i);
            rows_penalty += penalty;
            let e = score - (data.values[pos as usize] as f64 - net.mu as f64);
            se += e * e;
        }
        let b = batch.len() as f64;
        let data_loss = match p.loss.rating() {
            Loss::Mse => se / b,
            Loss::Rmse => (se / b).sqrt(),
        };
        data_loss + reference_penalty(net, p, rows_penalty, b)
    }

    /// The score `b_u + b_i + y` of `(u, i)` computed independently in f64 from the
    /// (flushed) weights, and the rows-mode L2 penalty of the rows it reads.
    fn reference_score(net: &NeuMfNet, p: &NeuMfParams, u: u32, i: u32) -> (f64, f64) {
        let row = |t: &Embedding, r: u32| f64s(t.row(r));
        let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
        let (l2, lb) = (p.l2 as f64, p.l2_bias as f64);
        let (pg, qg) = (row(&net.pg, u), row(&net.qg, i));
        let (pm, qm) = (row(&net.pm, u), row(&net.qm, i));
        let (bu, bi) = (row(&net.bu, u)[0], row(&net.bi, i)[0]);
        let rows_penalty = l2 * (sq(&pg) + sq(&qg) + sq(&pm) + sq(&qm)) + lb * (bu * bu + bi * bi);
        let mut h = [pm, qm].concat();
        for l in &net.tower {
            h = layer64(l, &h, l.activation);
        }
        let z: Vec<f64> = pg.iter().zip(&qg).map(|(a, b)| a * b).chain(h).collect();
        let y = layer64(&net.fuse, &z, Activation::Linear)[0];
        (bu + bi + y, rows_penalty)
    }

    /// The L2 penalties in f64: rows mode `rows_penalty / b`, table mode the whole
    /// tables; plus the dense kernels' and the fusion weights'.
    fn reference_penalty(net: &NeuMfNet, p: &NeuMfParams, rows_penalty: f64, b: f64) -> f64 {
        let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
        let (l2, lb) = (p.l2 as f64, p.l2_bias as f64);
        let penalty = match p.l2_mode {
            L2Mode::Rows => rows_penalty / b,
            L2Mode::Table => {
                let all = |t: &Embedding| sq(&f64s(t.weights()));
                l2 * [&net.pg, &net.qg, &net.pm, &net.qm]
                    .map(all)
                    .iter()
                    .sum::<f64>()
                    + lb * (all(&net.bu) + all(&net.bi))
            }
        };
        let dense: f64 = net.tower.iter().map(Dense::penalty).sum::<f64>() + net.fuse.penalty();
        penalty + dense
    }

    fn weights(n: &NeuMfNet) -> Vec<Vec<f32>> {
        let mut w: Vec<Vec<f32>> = [&n.pg, &n.qg, &n.pm, &n.qm, &n.bu, &n.bi]
            .iter()
            .map(|t| t.weights().to_vec())
            .collect();
        for l in n.tower.iter().chain([&n.fuse]) {
            w.push(l.weight().to_vec());
            w.push(l.bias().to_vec());
        }
        w
    }

    fn weights_mut(n: &mut NeuMfNet, t: usize) -> &mut [f32] {
        if t < 6 {
            let all = [
                &mut n.pg, &mut n.qg, &mut n.pm, &mut n.qm, &mut n.bu, &mut n.bi,
            ];
            return all.into_iter().nth(t).expect("six tables").weights_mut();
        }
        let l = (t - 6) / 2;
        let layer = if l < n.tower.len() {
            &mut n.tower[l]
        } else {
            &mut n.fuse
        };
        if (t - 6).is_multiple_of(2) {
            layer.weight_mut()
        } else {
            layer.bias_mut()
        }
    }

    /// Finite differences of the f64 reference loss against one plain-SGD step with lr
    /// 1, for every weight of the whole model (six tables, tower, fusion), each
    /// activation, both losses and both L2 modes, with repeated rows in the batch and
    /// with and without hidden layers. Under table mode a first step leaves pending lazy
    /// decay, so the checked step reads rows through their scales.
    #[test]
    fn gradient_check_every_weight() {
        use crate::train::check::check_sgd_step;
        let data = tiny_data();
        let batch: Vec<u32> = vec![0, 1, 2, 3, 4, 5, 6, 0];
        let acts = [
            Activation::Linear,
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
        ];
        for activation in acts {
            let (mut checked, mut kinks) = (0usize, 0usize);
            for l2_mode in [L2Mode::Rows, L2Mode::Table] {
                for loss in [Loss::Mse, Loss::Rmse].map(NetLoss::Rating) {
                    for hidden in [vec![3, 2], vec![]] {
                        let params = NeuMfParams {
                            dim: 2,
                            mlp_dim: 2,
                            hidden,
                            activation,
                            loss,
                            l2_mode,
                            l2: 0.03,
                            l2_bias: 0.05,
                            l2_dense: 0.02,
                            init: Init::Uniform(0.5),
                            optimizer: Optimizer::default(),
                            lr: 1.0,
                            ..NeuMfParams::default()
                        };
                        let mut lazy = NeuMfNet::new(&params, 3.0, 3, 4);
                        lazy.train_batch(&data, &[1, 4], 1, 0.1);
                        let step = |n: &mut NeuMfNet| {
                            n.train_batch(&data, &batch, 2, 1.0);
                        };
                        let reference = |n: &NeuMfNet| reference_loss(n, &params, &data, &batch);
                        let what = format!("{activation} {l2_mode:?} {loss:?}");
                        let (c, k) =
                            check_sgd_step(lazy, step, reference, weights, weights_mut, &what);
                        (checked, kinks) = (checked + c, kinks + k);
                    }
                }
            }
            assert!(
                kinks * 20 < checked,
                "{activation}: {kinks} kinks of {checked}"
            );
        }
    }

    /// The ranking update of the whole model: one plain-SGD step (lr 1) of each ranking
    /// loss on hand-made examples (repeated rows, a positive without an example) against
    /// finite differences of the f64 reference (the mean of the examples' losses over the
    /// positives plus the L2 penalties), for every weight (six tables, tower, fusion),
    /// both L2 modes, with and without hidden layers.
    #[test]
    fn ranking_gradient_check_every_weight() {
        use crate::models::ranking::check::{check_rank_step, tiny_examples};
        let (mut checked, mut kinks) = (0, 0);
        for loss in [
            RankLoss::Bpr,
            RankLoss::Warp,
            RankLoss::Bce,
            RankLoss::Softmax,
        ] {
            for l2_mode in [L2Mode::Rows, L2Mode::Table] {
                for hidden in [vec![3, 2], vec![]] {
                    let params = NeuMfParams {
                        dim: 2,
                        mlp_dim: 2,
                        hidden,
                        activation: Activation::Tanh,
                        loss: NetLoss::Ranking(loss),
                        l2_mode,
                        l2: 0.03,
                        l2_bias: 0.05,
                        l2_dense: 0.02,
                        init: Init::Uniform(0.5),
                        optimizer: Optimizer::default(),
                        ..NeuMfParams::default()
                    };
                    let net = NeuMfNet::new(&params, 0.0, 3, 4);
                    let ex = tiny_examples(loss);
                    let reference = |n: &NeuMfNet| {
                        let scored: Vec<(f64, f64)> = (ex.users.iter().zip(&ex.items))
                            .map(|(&u, &i)| reference_score(n, &params, u, i))
                            .collect();
                        let rows_penalty: f64 = scored.iter().map(|s| s.1).sum();
                        let scores: Vec<f64> = scored.iter().map(|s| s.0).collect();
                        let b = ex.positives as f64;
                        ex.reference_loss(loss, &scores)
                            + reference_penalty(n, &params, rows_penalty, b)
                    };
                    let what = format!("neumf {loss:?} {l2_mode:?} {:?}", params.hidden);
                    let (c, k) =
                        check_rank_step(net, &ex, loss, reference, weights, weights_mut, &what);
                    (checked, kinks) = (checked + c, kinks + k);
                }
            }
        }
        assert!(kinks * 20 < checked, "{kinks} kinks of {checked} weights");
    }

    /// `backward` takes any output gradient: with `grad = c` per pair it gives the
    /// gradient of `sum c * score`, checked against finite differences of `forward` for
    /// a few weights (the hook an implicit-feedback loss will use).
    #[test]
    fn backward_takes_an_arbitrary_output_gradient() {
        let params = NeuMfParams {
            dim: 3,
            mlp_dim: 2,
            hidden: vec![4],
            activation: Activation::Tanh,
            init: Init::Uniform(0.5),
            l2: 0.0,
            l2_bias: 0.0,
            l2_dense: 0.0,
            optimizer: Optimizer::default(),
            ..NeuMfParams::default()
        };
        let net = NeuMfNet::new(&params, 0.0, 3, 4);
        let (users, items) = ([0u32, 2, 1], [3u32, 0, 1]);
        let c = [0.7f32, -1.3, 0.4];
        let objective = |n: &mut NeuMfNet| -> f64 {
            let s = n.forward(&users, &items).to_vec();
            n.apply(&Optimizer::default().step(1, 0.0), 3);
            s.iter().zip(&c).map(|(&s, &c)| (s * c) as f64).sum()
        };
        let mut stepped = net.clone();
        stepped.forward(&users, &items);
        stepped.backward(&c);
        stepped.apply(&Optimizer::default().step(1, 1.0), 3);
        let (before, after) = (weights(&net), weights(&stepped));
        for t in 0..before.len() {
            for j in 0..before[t].len().min(3) {
                let h = 1e-2f32;
                let at = |d: f32| {
                    let mut n = net.clone();
                    weights_mut(&mut n, t)[j] += d;
                    objective(&mut n)
                };
                let numeric = (at(h) - at(-h)) / (2.0 * h as f64);
                let analytic = (before[t][j] - after[t][j]) as f64;
                assert!(
                    (numeric - analytic).abs() < 2e-3 * (1.0 + numeric.abs()),
                    "tensor {t} weight {j}: numeric {numeric} analytic {analytic}"
                );
            }
        }
    }

    fn synthetic() -> (crate::data::Dataset, crate::data::TrainTest) {
        let syn = crate::data::synthetic::generate(&crate::data::synthetic::SynthParams {
            users: 60,
            items: 50,
            ratings: 1500,
            ..Default::default()
        })
        .unwrap();
        let spec: crate::data::split::SplitSpec = "random:0.2".parse().unwrap();
        let split = spec.apply(&syn.dataset, 1).unwrap();
        (syn.dataset, split)
    }

    fn fit_on(params: &NeuMfParams, split: &crate::data::TrainTest) -> (NeuMf, History) {
        let sets = EvalSets {
            train: &split.train,
            val: None,
            test: Some(&split.test),
            clip: None,
        };
        params
            .train(sets, split.train_users, split.train_items, |_, _| Ok(()))
            .unwrap()
    }

    /// Same seed: bit-identical; another seed differs. Batched scoring agrees with
    /// one-pair scoring; unknown ids fall back.
    #[test]
    fn seeded_training_is_reproducible_and_scoring_agrees() {
        let (_, split) = synthetic();
        let params = NeuMfParams {
            dim: 4,
            mlp_dim: 3,
            hidden: vec![8, 4],
            epochs: 3,
            batch: 32,
            ..NeuMfParams::default()
        };
        let (a, hist) = fit_on(&params, &split);
        let (b, _) = fit_on(&params, &split);
        assert!(a == b);
        let (c, _) = fit_on(&NeuMfParams { seed: 7, ..params }, &split);
        assert!(a != c);
        assert_eq!(hist.epochs.len(), 3);
        let mut all = vec![0.0; a.n_items() as usize];
        a.score_items(3, &mut all);
        for (i, &s) in all.iter().enumerate() {
            assert!((s - a.score(3, i as u32)).abs() < 1e-5);
        }
        let users = [0, 1, a.n_users() + 5, 2];
        let items = [0, a.n_items(), 1, 2];
        let mut out = Vec::new();
        a.predict_many(&users, &items, &mut out);
        for k in 0..4 {
            let p = a.predict(users[k], items[k]);
            assert_eq!(p.fallback, out[k].fallback);
            assert!((p.value - out[k].value).abs() < 1e-5);
        }
        // unknown user: mu + the item's bias + the network's output on the item alone
        assert!(out[2].fallback && out[1].fallback && !out[0].fallback);
    }

    #[test]
    fn invalid_params_are_usage_errors() {
        NeuMfParams::default().check().unwrap();
        assert_eq!(NeuMfParams::default().fused_width(), 32 + 32);
        let no_hidden = NeuMfParams {
            hidden: vec![],
            ..NeuMfParams::default()
        };
        assert_eq!(no_hidden.fused_width(), 32 + 64);
        for p in [
            NeuMfParams {
                mlp_dim: 0,
                ..NeuMfParams::default()
            },
            NeuMfParams {
                hidden: vec![0],
                ..NeuMfParams::default()
            },
            NeuMfParams {
                l2_bias: f32::NAN,
                ..NeuMfParams::default()
            },
        ] {
            assert!(matches!(p.check(), Err(Error::Usage(_))), "{p:?}");
        }
    }
}
