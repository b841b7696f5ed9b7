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
use crate::train::{EpochRecord, EvalSets, History, Network, Schedule};

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
    /// Training epochs (the maximum, with early stopping).
    pub epochs: usize,
    /// Ratings per minibatch.
    pub batch: usize,
    /// Update rule.
    pub optimizer: Optimizer,
    /// Learning rate.
    pub lr: f32,
    /// Learning-rate multiplier per epoch.
    pub lr_decay: f32,
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
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Early-stopping patience (0 = off).
    pub patience: usize,
    /// Share of the training data held out for validation (0 = none).
    pub val_fraction: f64,
    /// Clip predictions to the rating scale.
    pub clip: bool,
    /// Threads of the dense layers' matrix products.
    pub threads: usize,
    /// Implicit feedback: the interactions are the training ratings at or above this
    /// (`None`: every rating). Only for training with a ranking loss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_rating: Option<f32>,
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

    /// The training loop's schedule of these params.
    fn schedule(&self) -> Schedule {
        Schedule {
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            lr_decay: self.lr_decay,
            seed: self.seed,
            patience: self.patience,
        }
    }

    /// The defaults for implicit feedback (`--implicit`): NCF's setup, BCE with 4
    /// sampled negatives per positive, and the rating defaults but for `l2` 0.2,
    /// `lr_decay` 0.95 and 25 epochs, chosen on validation data carved from u1.base
    /// (`scripts/tune-rank.sh neumf`; validation NDCG@10 0.2515 at its best epoch 23,
    /// against 0.2219 with the rating defaults; see README.md).
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

/// The weights a prediction reads (flushed tables).
struct View<'a> {
    k: usize,
    km: usize,
    pg: &'a [f32],
    qg: &'a [f32],
    pm: &'a [f32],
    qm: &'a [f32],
    bu: &'a [f32],
    bi: &'a [f32],
    tower: &'a [Dense],
    fuse: &'a Dense,
}

impl View<'_> {
    /// `mu + b_u + b_i + y` for every pair, in blocks; an unknown (`None`) side
    /// contributes zeros for its embeddings and bias.
    fn predict(
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
fn tower_infer(tower: &[Dense], x: &[f32], batch: usize) -> Vec<f32> {
    let mut h = x.to_vec();
    for layer in tower {
        let mut next = vec![0.0; batch * layer.output()];
        layer.infer(&h, batch, &mut next);
        h = next;
    }
    h
}

/// Row-wise `[a_r, b_r]` of `batch` rows (`a` is `batch x wa`, `b` the rest).
fn concat_rows(a: &[f32], wa: usize, b: &[f32], batch: usize) -> Vec<f32> {
    let wb = b.len() / batch.max(1);
    let mut z = Vec::with_capacity(batch * (wa + wb));
    for r in 0..batch {
        z.extend_from_slice(&a[r * wa..(r + 1) * wa]);
        z.extend_from_slice(&b[r * wb..(r + 1) * wb]);
    }
    z
}

/// A trained NeuMF model.
#[derive(Debug, Clone)]
pub struct NeuMf {
    /// Global mean of the training ratings.
    pub mu: f32,
    /// GMF factors K.
    pub dim: usize,
    /// Size of each MLP-tower embedding.
    pub mlp_dim: usize,
    /// GMF user factors, users x K.
    pub gmf_p: Vec<f32>,
    /// GMF item factors, items x K.
    pub gmf_q: Vec<f32>,
    /// MLP-tower user embeddings, users x mlp_dim.
    pub mlp_p: Vec<f32>,
    /// MLP-tower item embeddings, items x mlp_dim.
    pub mlp_q: Vec<f32>,
    /// User biases.
    pub user_bias: Vec<f32>,
    /// Item biases.
    pub item_bias: Vec<f32>,
    /// The MLP tower's hidden layers (input `2 mlp_dim`).
    pub tower: Vec<Dense>,
    /// The fusion unit over `[GMF, tower output]` (one linear output).
    pub fuse: Dense,
}

impl PartialEq for NeuMf {
    fn eq(&self, o: &Self) -> bool {
        let same = |a: &Dense, b: &Dense| {
            a.weight() == b.weight() && a.bias() == b.bias() && a.activation == b.activation
        };
        self.mu == o.mu
            && (self.dim, self.mlp_dim) == (o.dim, o.mlp_dim)
            && (self.gmf_p == o.gmf_p && self.gmf_q == o.gmf_q)
            && (self.mlp_p == o.mlp_p && self.mlp_q == o.mlp_q)
            && (self.user_bias == o.user_bias && self.item_bias == o.item_bias)
            && self.tower.len() == o.tower.len()
            && self.tower.iter().zip(&o.tower).all(|(a, b)| same(a, b))
            && same(&self.fuse, &o.fuse)
    }
}

impl NeuMf {
    fn view(&self) -> View<'_> {
        View {
            k: self.dim,
            km: self.mlp_dim,
            pg: &self.gmf_p,
            qg: &self.gmf_q,
            pm: &self.mlp_p,
            qm: &self.mlp_q,
            bu: &self.user_bias,
            bi: &self.item_bias,
            tower: &self.tower,
            fuse: &self.fuse,
        }
    }

    /// Rebuilds the dense part from weights: the tower's layers (`(weight, bias)` per
    /// hidden layer, widths from `params`) and the fusion unit.
    pub fn dense_from_weights(
        params: &NeuMfParams,
        tower: Vec<(Vec<f32>, Vec<f32>)>,
        fuse: (Vec<f32>, Vec<f32>),
    ) -> (Vec<Dense>, Dense) {
        let opt = Optimizer::default();
        let mut width = 2 * params.mlp_dim;
        let layers = (params.hidden.iter().zip(tower))
            .map(|(&h, (w, b))| {
                let l = Dense::from_weights(width, h, w, b, params.activation, opt);
                width = h;
                l
            })
            .collect();
        let fuse = Dense::from_weights(
            params.fused_width(),
            1,
            fuse.0,
            fuse.1,
            Activation::Linear,
            opt,
        );
        (layers, fuse)
    }
}

/// Recommender methods shared by the model and the training network.
macro_rules! neumf_recommender {
    ($t:ty, $users:expr, $items:expr, $params:expr) => {
        impl Recommender for $t {
            fn kind(&self) -> &'static str {
                "neumf"
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
                (self.view()).predict(self.mu, [(Some(user), Some(item))].into_iter(), &mut out);
                out[0]
            }
            /// The network's output with zeros for the unknown side's embeddings and bias.
            fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
                let mut out = [0.0];
                (self.view()).predict(self.mu, [(user, item)].into_iter(), &mut out);
                out[0]
            }
            fn score_items(&self, user: u32, out: &mut [f32]) {
                let items = (0..out.len() as u32).map(|i| (Some(user), Some(i)));
                (self.view()).predict(self.mu, items, out);
            }
            fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
                let (nu, ni) = (self.n_users(), self.n_items());
                let pairs = || {
                    users
                        .iter()
                        .zip(items)
                        .map(move |(&u, &i)| ((u < nu).then_some(u), (i < ni).then_some(i)))
                };
                let mut values = vec![0.0; users.len()];
                (self.view()).predict(self.mu, pairs(), &mut values);
                out.clear();
                out.extend(pairs().zip(values).map(|((u, i), value)| Prediction {
                    value,
                    fallback: u.is_none() || i.is_none(),
                }));
            }
        }
    };
}

fn dense_params(tower: &[Dense], fuse: &Dense) -> usize {
    tower.iter().map(Dense::param_count).sum::<usize>() + fuse.param_count()
}

neumf_recommender!(
    NeuMf,
    |m: &NeuMf| m.user_bias.len(),
    |m: &NeuMf| m.item_bias.len(),
    |m: &NeuMf| m.gmf_p.len()
        + m.gmf_q.len()
        + m.mlp_p.len()
        + m.mlp_q.len()
        + m.user_bias.len()
        + m.item_bias.len()
        + dense_params(&m.tower, &m.fuse)
);

neumf_recommender!(
    NeuMfNet,
    |m: &NeuMfNet| m.bu.rows(),
    |m: &NeuMfNet| m.bi.rows(),
    |m: &NeuMfNet| [&m.pg, &m.qg, &m.pm, &m.qm, &m.bu, &m.bi]
        .iter()
        .map(|t| t.weights().len())
        .sum::<usize>()
        + dense_params(&m.tower, &m.fuse)
);

/// The NeuMF network during training: tables and dense layers with their optimizer
/// state, and the scratch of the last forward pass.
#[derive(Debug, Clone)]
pub struct NeuMfNet {
    mu: f32,
    pg: Embedding,
    qg: Embedding,
    pm: Embedding,
    qm: Embedding,
    bu: Embedding,
    bi: Embedding,
    tower: Vec<Dense>,
    fuse: Dense,
    optimizer: Optimizer,
    loss: Loss,
    /// Per pair of the last forward pass: the slots of its rows in the six tables.
    slots: Vec<[usize; 6]>,
    /// True values of the GMF rows (batch x K each) and the MLP-tower input.
    gu: Vec<f32>,
    gi: Vec<f32>,
    xm: Vec<f32>,
    /// Outputs of the tower's layers and their caches.
    outs: Vec<Vec<f32>>,
    caches: Vec<DenseCache>,
    /// The fused input `[GMF, tower output]`, its cache and the scores.
    z: Vec<f32>,
    fuse_cache: DenseCache,
    scores: Vec<f32>,
    batch: usize,
    errors: Vec<f32>,
    grads: Vec<f32>,
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

    fn view(&self) -> View<'_> {
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

impl Model for NeuMf {
    boxed_model!();

    /// `mu`, `gmf.p`, `gmf.q`, `mlp.p`, `mlp.q`, `user_bias`, `item_bias`,
    /// `dense{l}.weight` / `dense{l}.bias` per hidden layer of the MLP tower and
    /// `fuse.weight [fused, 1]`, `fuse.bias [1]`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (u, i) = (self.user_bias.len(), self.item_bias.len());
        let mut v = vec![
            NamedTensor::new("mu", &[1], std::slice::from_ref(&self.mu)),
            NamedTensor::new("gmf.p", &[u, self.dim], &self.gmf_p),
            NamedTensor::new("gmf.q", &[i, self.dim], &self.gmf_q),
            NamedTensor::new("mlp.p", &[u, self.mlp_dim], &self.mlp_p),
            NamedTensor::new("mlp.q", &[i, self.mlp_dim], &self.mlp_q),
            NamedTensor::new("user_bias", &[u], &self.user_bias),
            NamedTensor::new("item_bias", &[i], &self.item_bias),
        ];
        for (l, layer) in self.tower.iter().enumerate() {
            let (i, o) = (layer.input(), layer.output());
            v.push(NamedTensor::new(
                format!("dense{l}.weight"),
                &[i, o],
                layer.weight(),
            ));
            v.push(NamedTensor::new(
                format!("dense{l}.bias"),
                &[o],
                layer.bias(),
            ));
        }
        let f = &self.fuse;
        v.push(NamedTensor::new("fuse.weight", &[f.input(), 1], f.weight()));
        v.push(NamedTensor::new("fuse.bias", &[1], f.bias()));
        v
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.gmf_q, self.dim))
    }
}

fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    let p = super::params_of::<NeuMfParams>("neumf", params, NeuMfParams::check)?;
    let (k, km) = (p.dim, p.mlp_dim);
    let mu = t.scalar("mu")?;
    let gmf_p = t.values("gmf.p", &[users, k])?;
    let gmf_q = t.values("gmf.q", &[items, k])?;
    let mlp_p = t.values("mlp.p", &[users, km])?;
    let mlp_q = t.values("mlp.q", &[items, km])?;
    let user_bias = t.values("user_bias", &[users])?;
    let item_bias = t.values("item_bias", &[items])?;
    let mut tower = Vec::new();
    let mut width = 2 * km;
    for (l, &h) in p.hidden.iter().enumerate() {
        let w = t.values(&format!("dense{l}.weight"), &[width, h])?;
        let b = t.values(&format!("dense{l}.bias"), &[h])?;
        tower.push((w, b));
        width = h;
    }
    let fw = t.values("fuse.weight", &[p.fused_width(), 1])?;
    let fb = t.values("fuse.bias", &[1])?;
    let (tower, fuse) = NeuMf::dense_from_weights(&p, tower, (fw, fb));
    Ok(AnyModel::new(NeuMf {
        mu,
        dim: k,
        mlp_dim: km,
        gmf_p,
        gmf_q,
        mlp_p,
        mlp_q,
        user_bias,
        item_bias,
        tower,
        fuse,
    }))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "neumf",
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
    presets: &[],
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
