//! The deep recommender (the textbook's second and third models): the user and item
//! embeddings, their biases and the embeddings of side variables (user occupation, age
//! group, gender; item genres, year) are concatenated into one input row, which hidden
//! dense layers ([`Mlp`]) map to one output; the prediction is `mu + output`, trained on
//! minibatches of `rating - mu`.
//!
//! With *linear* activations (the textbook's choice) the whole network is one affine map
//! of the concatenated embeddings, so a prediction is a sum of a user part and an item
//! part: it cannot express any user x item interaction and does no better than a bias
//! model (see the test `linear_network_is_additive_in_user_and_item`). The defaults use
//! ReLU, feed the element-wise product `P_u * Q_i` to the first layer as an extra input
//! block (as NeuMF's and DeepFM's interaction features do), add `b_u + b_i` to the
//! output directly (a bias shortcut, as in MF), the biases also feeding the network, and
//! add a dot product `<P^dot_u, Q^dot_i>` of two further tables to the output (a GMF /
//! matrix-factorization term), so that the network learns a residual over MF.

use super::ranking::{NetLoss, RankLoss, RankNet, Sampling};
use super::{AnyModel, Kind, Model, NamedTensor, Tensors};
use super::{Mf, MfParams, Prediction, Recommender};
use crate::data::{Dataset, Ratings, TrainTest};
use crate::error::{Error, Result};
use crate::nn::kernels::{axpy, dot};
use crate::nn::linalg::{Mat, matmul_threads};
use crate::nn::{
    Activation, Dense, DenseInit, Embedding, Init, L2Mode, Loss, Mlp, Optimizer, OptimizerKind,
};
use crate::rng::Rng;
use crate::train::{EpochRecord, EvalSets, History, Network};

mod model;
mod net;
mod side;
mod view;
pub use model::*;
pub use net::*;
pub use side::*;
use view::*;

use super::with_training_fields;

with_training_fields! {
    /// Hyper-parameters of [`Deep`]. The defaults add a dot-product term to the output
    /// (`mu + b_u + b_i + <P^dot_u, Q^dot_i> + MLP(...)`, K=512 dot tables: the MLP learns a
    /// residual over matrix factorization instead of having to learn the dot product, which
    /// MLPs do badly, Rendle et al. 2020) and train everything jointly with plain SGD in
    /// minibatches of 128, the user, item, dot and bias tables at 64 x the dense layers' rate
    /// (0.04 x 64 = 2.56 on a mean over 128 ratings, i.e. MF's per-rating 0.02) with
    /// per-occurrence L2 (`rows` mode) as tuned MF, and strong L2 (1) on the MLP's own
    /// tables. Chosen on validation splits carved from ML-100K u1.base, u2.base and u3.base
    /// (`--data uK.base --split random:0.1 --seed 42`, never a test file): validation RMSE
    /// 0.9089 / 0.8943 / 0.9017 against tuned MF's 0.9101 / 0.8980 / 0.9050 on the same
    /// carves, and 0.9211 on u1.base for the previous defaults (Adam, no dot term). What did
    /// not help: pretraining the dot tables with MF (`pretrain`; frozen it only reproduces
    /// MF, fine-tuned with Adam it overfits), Adam for the joint model (it overfits the dot
    /// tables within 4 epochs), K=64 MLP tables, wider layers (128, 64), and the
    /// implicit-feedback side variable `rated` (see [`side_inputs`]). Side-variable tables
    /// train at the dense layers' rate (a level such as a gender occurs in most examples of
    /// a batch, as a dense weight does; at the 64x table rate per-occurrence L2 diverged)
    /// with their own L2 (`l2_side` 0.03; 1 validated the same). `--preset book-dl` and
    /// `book-dl-occ` give the textbook's.
    ///
    /// | name | default | meaning | valid range |
    /// |---|---|---|---|
    /// | `dim` | 32 | latent factors K of the MLP's user and item tables | 1..=4096 |
    /// | `hidden` | [64, 32] | widths of the hidden dense layers | each 1..=65536, 0..=16 layers |
    /// | `activation` | relu | activation of the hidden layers | see [`Activation`] |
    /// | `dropout` | 0 | dropout after each hidden layer | [0, 1) |
    /// | `epochs` | 25 | training epochs | 1..=100000 |
    /// | `batch` | 128 | ratings per minibatch | 1..=1048576 |
    /// | `optimizer` | sgd | update rule and its constants | see [`Optimizer`] |
    /// | `lr` | 0.04 | learning rate (of the dense layers) | > 0 |
    /// | `lr_decay` | 0.85 | lr multiplier after each epoch | (0, 1] |
    /// | `table_lr` | 64 | multiplier of `lr` for the user, item, dot and bias tables | ≥ 0 |
    /// | `l2` | 1 | L2 on the MLP's factor tables P, Q | ≥ 0 |
    /// | `l2_bias` | 0.015 | L2 on the bias tables | ≥ 0 |
    /// | `l2_dot` | 0.045 | L2 on the dot-product tables | ≥ 0 |
    /// | `l2_side` | 0.03 (none = `l2`) | L2 on the side-variable tables | ≥ 0 |
    /// | `l2_mode` | rows | where the embedding L2 applies ([`L2Mode`]; table mode with Adam is decoupled weight decay) | rows, table |
    /// | `l2_dense` | 0.001 | L2 on the dense kernels (Keras `kernel_regularizer`: whole kernel, every step) | ≥ 0 |
    /// | `init` | normal:0.01 | initialiser of every embedding table | see [`Init`] |
    /// | `dense_init` | glorot_uniform | initialiser of the hidden kernels (biases start at 0) | glorot_uniform, he_uniform |
    /// | `loss` | mse | training loss: on ratings, or a ranking loss on implicit feedback ([`NetLoss`]) | mse, rmse, bpr, warp, bce, softmax |
    /// | `negatives` | 0 (the loss's default: warp 100 trials, bpr 1, bce 4, softmax 20) | ranking: negatives per positive (warp: most trials) | 0..=100000 |
    /// | `sampling` | uniform | ranking: how negatives are drawn ([`Sampling`]) | uniform, popularity |
    /// | `seed` | 42 | initialisation, dropout and shuffling | any |
    /// | `patience` | 0 | early-stopping patience in epochs (0 = off) | any |
    /// | `val_fraction` | 0 | share of training data held out for validation | [0, 1) |
    /// | `clip` | true | clip predictions to the rating scale | |
    /// | `threads` | 1 | threads of the dense layers' matrix products | 1..=256 |
    /// | `features` | [] | side variables as (name, embedding size) | see [`side_inputs`] |
    /// | `product` | true | feed `P_u * Q_i` (element-wise) to the first layer as an extra block | |
    /// | `bias_shortcut` | true | add `b_u + b_i` at the output (the biases also feed the network) | |
    /// | `dot_dim` | 512 | factors of the separate tables whose dot product is added at the output (0 = none) | 0..=4096 |
    /// | `pretrain` | none | `mf`: initialise the dot tables and biases from MF trained first ([`Pretrain`]) | none, mf |
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct DeepParams {
        /// Latent factors K.
        pub dim: usize,
        /// Widths of the hidden layers.
        pub hidden: Vec<usize>,
        /// Activation of the hidden layers.
        pub activation: Activation,
        /// Dropout rate after each hidden layer.
        pub dropout: f32,
        ..schedule,
        /// L2 on the factor tables P and Q and the side-variable tables.
        pub l2: f32,
        /// L2 on the bias tables (same mode as `l2`).
        pub l2_bias: f32,
        /// Where the embedding L2 applies.
        pub l2_mode: L2Mode,
        /// L2 on the dense kernels (Keras semantics: `l2 * sum W^2` per step).
        pub l2_dense: f32,
        /// Initialiser of the embedding tables.
        pub init: Init,
        /// Initialiser of the hidden layers' kernels.
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
        /// Side variables: (name, embedding size), e.g. `("occupation", 3)`.
        pub features: Vec<(String, usize)>,
        /// Feed the element-wise product `P_u * Q_i` to the first layer as an extra input
        /// block of K values (a missing key in a model file means `false`).
        #[serde(default)]
        pub product: bool,
        /// Add `b_u + b_i` to the output directly (the biases also feed the network); a
        /// missing key in a model file means `false`.
        #[serde(default)]
        pub bias_shortcut: bool,
        /// Train an all-linear network without dropout layer by layer through the matrix
        /// products instead of as the one affine map it is (see [`Mlp::is_affine`]); the same
        /// maths, about 15x slower for `book-dl`. For benchmarks of the dense layers; not
        /// saved in model files.
        #[serde(skip)]
        pub layer_by_layer: bool,
        /// Factors of the separate dot-product tables whose `<P^dot_u, Q^dot_i>` is added at
        /// the output (0 = no dot term; a missing key in a model file means 0).
        #[serde(default)]
        pub dot_dim: usize,
        /// L2 on the dot-product tables (same mode as `l2`).
        #[serde(default)]
        pub l2_dot: f32,
        /// L2 on the side-variable tables (same mode as `l2`); none = `l2`.
        #[serde(default)]
        pub l2_side: Option<f32>,
        /// Initialise the dot tables and the biases from a pretrained model (a missing key
        /// means none).
        #[serde(default)]
        pub pretrain: Pretrain,
        /// Multiplier of `lr` for the user, item and dot tables and the biases (the side
        /// tables and dense layers train at `lr`); a missing key means 1.
        #[serde(default = "one")]
        pub table_lr: f32,
        /// Implicit feedback: the interactions are the training ratings at or above this
        /// (`None`: every rating). Only for training with a ranking loss.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub min_rating: Option<f32>,
    }
}

fn one() -> f32 {
    1.0
}

/// What initialises the dot-product tables and the biases of [`Deep`] before training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pretrain {
    /// Nothing: they start from `init` like every table.
    #[default]
    None,
    /// Matrix factorization with its own tuned defaults ([`MfParams::default`], K =
    /// `dot_dim`, the same seed), trained first on the same training ratings: its P, Q,
    /// b_u and b_i become the dot tables and the biases.
    Mf,
}

impl std::str::FromStr for Pretrain {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Pretrain::None),
            "mf" => Ok(Pretrain::Mf),
            _ => Err(Error::Usage(format!(
                "--pretrain: expected none or mf, got '{s}'"
            ))),
        }
    }
}

impl Default for DeepParams {
    fn default() -> Self {
        DeepParams {
            dim: 32,
            hidden: vec![64, 32],
            activation: Activation::Relu,
            dropout: 0.0,
            epochs: 25,
            batch: 128,
            optimizer: Optimizer::default(),
            lr: 0.04,
            lr_decay: 0.85,
            l2: 1.0,
            l2_bias: 0.015,
            l2_mode: L2Mode::Rows,
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
            features: Vec::new(),
            product: true,
            bias_shortcut: true,
            layer_by_layer: false,
            dot_dim: 512,
            l2_dot: 0.045,
            l2_side: Some(0.03),
            pretrain: Pretrain::None,
            table_lr: 64.0,
            min_rating: None,
        }
    }
}

impl DeepParams {
    /// The textbook's Keras deep model: K=200, `l2(0.01)` on the whole of all four tables,
    /// uniform ±0.05 init, concat(P_u, Q_i, b_u, b_i) -> Dense(2048, linear) -> Dense(256,
    /// linear) -> Dense(1), Glorot-uniform kernels with zero bias, SGD lr 0.01,
    /// batch-RMSE loss, batch 512, 65 epochs, no clipping. Reference (TF 2.21 / Keras
    /// 3.15, ML-100K u1): test RMSE 0.9576.
    pub fn book_dl() -> Self {
        DeepParams {
            dim: 200,
            hidden: vec![2048, 256],
            activation: Activation::Linear,
            dropout: 0.0,
            epochs: 65,
            batch: 512,
            optimizer: Optimizer::default(),
            lr: 0.01,
            lr_decay: 1.0,
            l2: 0.01,
            l2_bias: 0.01,
            l2_mode: L2Mode::Table,
            l2_dense: 0.0,
            init: Init::Uniform(0.05),
            dense_init: DenseInit::GlorotUniform,
            loss: NetLoss::Rating(Loss::Rmse),
            negatives: 0,
            sampling: Sampling::Uniform,
            seed: 42,
            patience: 0,
            val_fraction: 0.0,
            clip: false,
            threads: 1,
            features: Vec::new(),
            product: false,
            bias_shortcut: false,
            layer_by_layer: false,
            dot_dim: 0,
            l2_dot: 0.0,
            l2_side: None,
            pretrain: Pretrain::None,
            table_lr: 1.0,
            min_rating: None,
        }
    }

    /// [`DeepParams::book_dl`] plus an occupation embedding of size 3 (same init and
    /// table-mode `l2(0.01)`). Reference (Keras 3.15, u1): test RMSE 0.9575.
    pub fn book_dl_occ() -> Self {
        DeepParams {
            features: vec![("occupation".into(), 3)],
            ..Self::book_dl()
        }
    }

    /// Checks every range in the table above.
    pub fn check(&self) -> Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        if !(1..=4096).contains(&self.dim) {
            return usage(format!("dim must be in 1..=4096, got {}", self.dim));
        }
        if self.hidden.len() > 16 || self.hidden.iter().any(|&h| !(1..=65536).contains(&h)) {
            return usage(format!(
                "hidden must be at most 16 widths in 1..=65536, got {:?}",
                self.hidden
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return usage(format!("dropout must be in [0, 1), got {}", self.dropout));
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
            ("l2 dot", self.l2_dot),
            ("l2 side", self.side_l2()),
            ("table lr", self.table_lr),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return usage(format!("{name} must be >= 0, got {v}"));
            }
        }
        let strongest =
            (self.l2.max(self.l2_bias).max(self.l2_dot) * self.table_lr).max(self.side_l2());
        if self.l2_mode == L2Mode::Table && 2.0 * strongest * self.lr >= 1.0 {
            return usage(format!(
                "table-mode l2 {} (bias {}, dot {}) with lr {} would flip signs (2 l2 lr >= 1)",
                self.l2, self.l2_bias, self.l2_dot, self.lr
            ));
        }
        if self.dot_dim > 4096 {
            return usage(format!("dot dim must be in 0..=4096, got {}", self.dot_dim));
        }
        if self.pretrain == Pretrain::Mf && self.dot_dim == 0 {
            return usage("pretrain mf needs a dot term (dot dim > 0)".into());
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
        for (k, (name, d)) in self.features.iter().enumerate() {
            if !(1..=4096).contains(d) {
                return usage(format!(
                    "feature '{name}': embedding size must be in 1..=4096, got {d}"
                ));
            }
            if self.features[..k].iter().any(|(n, _)| n == name) {
                return usage(format!("feature '{name}' given twice"));
            }
        }
        self.optimizer.check()
    }

    /// L2 of the side-variable tables: `l2_side`, else `l2`.
    pub fn side_l2(&self) -> f32 {
        self.l2_side.unwrap_or(self.l2)
    }

    /// Width of the network's input: `2 K + 2`, plus K for the product block, plus the
    /// side-variable sizes. The layout is `[P_u, Q_i, b_u, b_i, P_u * Q_i, sides...]`.
    pub fn input_width(&self) -> usize {
        2 * self.dim
            + 2
            + if self.product { self.dim } else { 0 }
            + self.features.iter().map(|f| f.1).sum::<usize>()
    }

    /// Trains on `sets.train` (indices below `n_users` / `n_items`), with the side
    /// variables `sides` (built by [`side_inputs`] for `self.features`, in that order),
    /// reporting each epoch to `on_epoch`.
    pub fn train(
        &self,
        sets: EvalSets<'_>,
        n_users: u32,
        n_items: u32,
        sides: Vec<SideInput>,
        mut on_epoch: impl FnMut(&EpochRecord, &dyn Recommender) -> Result<()>,
    ) -> Result<(Deep, History)> {
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
        let mut net = DeepNet::new(self, mu, n_users as usize, n_items as usize, sides)?;
        if self.pretrain == Pretrain::Mf {
            let mf_params = MfParams {
                dim: self.dot_dim,
                seed: self.seed,
                ..MfParams::default()
            };
            let only_train = EvalSets {
                train: sets.train,
                val: None,
                test: None,
                clip: None,
            };
            let (mf, _) = mf_params.train(only_train, n_users, n_items, |_, _| Ok(()))?;
            net.set_pretrained(&mf);
        }
        let history = crate::train::fit(&mut net, sets, &self.schedule(), |r, n| on_epoch(r, n))?;
        Ok((net.into_model(), history))
    }

    /// The defaults for implicit feedback (`--implicit`): BCE with 4 sampled negatives
    /// per positive, and the rating defaults but for `lr` 0.005, `lr_decay` 0.9, `l2` 0.3
    /// and 25 epochs, chosen on validation data carved from u1.base
    /// (`scripts/tune-rank.sh deep`; validation NDCG@10 0.2451 at its best epoch 25,
    /// against 0.2154 with the former rating defaults; WARP, BPR and softmax did not do
    /// better;
    /// see docs/tuning.md, "Implicit feedback").
    pub fn implicit() -> Self {
        DeepParams {
            loss: NetLoss::Ranking(RankLoss::Bce),
            lr: 0.005,
            lr_decay: 0.9,
            l2: 0.3,
            epochs: 25,
            clip: false,
            // The other rating defaults these were chosen with (before the output dot
            // term).
            hidden: vec![128, 64],
            batch: 256,
            optimizer: Optimizer {
                kind: OptimizerKind::Adam,
                ..Optimizer::default()
            },
            l2_bias: 0.001,
            l2_mode: L2Mode::Table,
            l2_dense: 0.001,
            dot_dim: 0,
            l2_dot: 0.0,
            l2_side: None,
            table_lr: 1.0,
            ..DeepParams::default()
        }
    }

    /// Trains with the ranking loss `self.loss` on the interactions `train` (values
    /// ignored; indices below `n_users` / `n_items`), with the side variables `sides`;
    /// scores are preferences (`mu` = 0, nothing clipped). `on_epoch(epoch, model)` after
    /// every epoch. See [`super::ranking::fit_net`].
    pub fn train_ranking(
        &self,
        train: &Ratings,
        (n_users, n_items): (u32, u32),
        sides: Vec<SideInput>,
        on_epoch: impl FnMut(usize, &Deep) -> Result<()>,
    ) -> Result<Deep> {
        self.check()?;
        let net = DeepNet::new(self, 0.0, n_users as usize, n_items as usize, sides)?;
        let settings = (self.loss, self.negatives, self.sampling);
        super::ranking::fit_model(
            net,
            train,
            settings,
            &self.schedule(),
            DeepNet::into_model,
            on_epoch,
        )
    }
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "deep",
    about: "Hidden dense layers over concatenated embeddings, biases and side variables",
    load,
    member: Some(|seed| {
        Box::new(DeepParams {
            seed,
            ..Default::default()
        })
    }),
    params: |preset, over, implicit| {
        let base = match (preset, implicit) {
            (Some(_), true) => {
                return Err(Error::Usage(
                    "the deep presets are rating models: implicit feedback takes no preset".into(),
                ));
            }
            (_, true) => DeepParams::implicit(),
            (Some("book-dl"), false) => DeepParams::book_dl(),
            (Some("book-dl-occ"), false) => DeepParams::book_dl_occ(),
            (_, false) => DeepParams::default(),
        };
        let p = super::overlay(base, over)?;
        super::ranking::check_loss_mode("deep", implicit, p.loss)?;
        Ok(Box::new(p))
    },
    read: Some(super::read::<DeepParams>),
    presets: &["book-dl", "book-dl-occ"],
    flags: |implicit| {
        use super::flags::{self, Flag, parsed};
        let loss = if implicit {
            Flag::parsed("--loss", "loss", |s| flags::ranking_net_loss(s, "Deep"))
        } else {
            Flag::parsed("--loss", "loss", parsed::<NetLoss>)
        };
        let mut v = flags::network(loss, implicit);
        v.extend([
            Flag::parsed("--hidden", "hidden", flags::hidden_layers),
            Flag::parsed(
                "--activation",
                "activation",
                parsed::<crate::nn::Activation>,
            ),
            Flag::field("--dropout", "dropout"),
            Flag::parsed("--features", "features", parse_features),
            Flag::field("--l2-dense", "l2_dense"),
            Flag::field("--product", "product"),
            Flag::field("--bias-shortcut", "bias_shortcut"),
            Flag::field("--dot-dim", "dot_dim"),
            Flag::field("--l2-dot", "l2_dot"),
            Flag::field("--l2-side", "l2_side"),
            Flag::parsed("--pretrain", "pretrain", parsed::<Pretrain>),
            Flag::field("--table-lr", "table_lr"),
        ]);
        if implicit {
            v.extend(flags::IMPLICIT);
            v.extend(flags::RANKING);
        }
        Some(v)
    },
    no_preset: Some("the deep presets are rating models; --implicit takes no --preset"),
};

/// `--features occupation:3,genres:8` -> `[["occupation", 3], ["genres", 8]]`.
fn parse_features(s: &str) -> Result<serde_json::Value> {
    let features = s
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let bad = || Error::Usage(format!("--features: expected name:size, got '{t}'"));
            let (name, dim) = t.split_once(':').ok_or_else(bad)?;
            let dim: usize = dim.parse().map_err(|_| bad())?;
            Ok((name.to_string(), dim))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(serde_json::json!(features))
}

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

    /// An occupation-like user variable (3 users, 2 levels) and a genre-like multi-valued
    /// item variable (4 items, 3 levels; item 3 has the extra unknown row).
    fn tiny_sides() -> Vec<SideInput> {
        vec![
            SideInput {
                name: "occupation".into(),
                of_users: true,
                dim: 2,
                rows: 2,
                offsets: vec![0, 1, 2, 3],
                levels: vec![1, 0, 1],
            },
            SideInput {
                name: "genres".into(),
                of_users: false,
                dim: 2,
                rows: 4,
                offsets: vec![0, 2, 3, 6, 7],
                levels: vec![0, 2, 1, 0, 1, 2, 3],
            },
        ]
    }

    fn tiny_params(activation: Activation, l2_mode: L2Mode, loss: NetLoss) -> DeepParams {
        DeepParams {
            dim: 2,
            hidden: vec![3],
            activation,
            loss,
            l2_mode,
            l2: 0.03,
            l2_bias: 0.05,
            l2_dense: 0.02,
            init: Init::Uniform(0.5),
            optimizer: Optimizer::default(),
            lr: 1.0,
            features: vec![("occupation".into(), 2), ("genres".into(), 2)],
            dot_dim: 0,
            table_lr: 1.0,
            ..DeepParams::default()
        }
    }

    fn f64s(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&v| v as f64).collect()
    }

    /// The score of `(u, i)` computed independently in f64 from the (flushed) weights,
    /// and the rows-mode L2 penalty of the rows it reads.
    fn reference_score(net: &DeepNet, params: &DeepParams, u: u32, i: u32) -> (f64, f64) {
        let row = |t: &Embedding, r: u32| f64s(t.row(r));
        let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
        let (l2, lb) = (params.l2 as f64, params.l2_bias as f64);
        let (ld, ls) = (params.l2_dot as f64, params.side_l2() as f64);
        let mut x = [
            row(&net.p, u),
            row(&net.q, i),
            row(&net.bu, u),
            row(&net.bi, i),
        ]
        .concat();
        if params.product {
            let pq: Vec<f64> = (0..params.dim).map(|c| x[c] * x[params.dim + c]).collect();
            x.extend(pq);
        }
        let mut shortcut = if params.bias_shortcut {
            x[2 * params.dim] + x[2 * params.dim + 1]
        } else {
            0.0
        };
        let mut rows_penalty = l2 * (sq(&row(&net.p, u)) + sq(&row(&net.q, i)))
            + lb * (sq(&row(&net.bu, u)) + sq(&row(&net.bi, i)));
        if let Some((dp, dq)) = &net.dot {
            let (pu, qi) = (row(dp, u), row(dq, i));
            shortcut += pu.iter().zip(&qi).map(|(a, b)| a * b).sum::<f64>();
            rows_penalty += ld * (sq(&pu) + sq(&qi));
        }
        for (look, table) in net.lookups.iter().zip(&net.sides) {
            let levels = look.of(if look.of_users { u } else { i });
            let mut avg = vec![0.0; look.dim];
            for &l in levels {
                let r = row(table, l);
                rows_penalty += ls * sq(&r);
                avg.iter_mut().zip(&r).for_each(|(a, b)| *a += b);
            }
            avg.iter_mut().for_each(|a| *a /= levels.len() as f64);
            x.extend(avg);
        }
        for layer in net.mlp.layers() {
            let (nin, nout) = (layer.input(), layer.output());
            let (wt, b) = (f64s(layer.weight()), f64s(layer.bias()));
            x = (0..nout)
                .map(|o| {
                    let z = b[o] + (0..nin).map(|j| x[j] * wt[j * nout + o]).sum::<f64>();
                    match layer.activation {
                        Activation::Linear => z,
                        Activation::Relu => z.max(0.0),
                        Activation::LeakyRelu(a) => {
                            if z > 0.0 {
                                z
                            } else {
                                a as f64 * z
                            }
                        }
                        Activation::Tanh => z.tanh(),
                        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
                    }
                })
                .collect();
        }
        (x[0] + shortcut, rows_penalty)
    }

    /// The L2 penalties in f64: rows mode `rows_penalty / b` (averaged like the loss over
    /// `b` examples), table mode the whole tables; plus the dense kernels'.
    fn reference_penalty(net: &DeepNet, params: &DeepParams, rows_penalty: f64, b: f64) -> f64 {
        let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
        let (l2, lb) = (params.l2 as f64, params.l2_bias as f64);
        let (ld, ls) = (params.l2_dot as f64, params.side_l2() as f64);
        let penalty = match params.l2_mode {
            L2Mode::Rows => rows_penalty / b,
            L2Mode::Table => {
                let all = |t: &Embedding| sq(&f64s(t.weights()));
                l2 * (all(&net.p) + all(&net.q))
                    + ls * net.sides.iter().map(all).sum::<f64>()
                    + lb * (all(&net.bu) + all(&net.bi))
                    + ld * net.dot.as_ref().map_or(0.0, |(p, q)| all(p) + all(q))
            }
        };
        let dense_penalty: f64 = net.mlp.layers().iter().map(|l| l.penalty()).sum();
        penalty + dense_penalty
    }

    /// The loss of `batch` computed independently in f64 from the (flushed) weights.
    fn reference_loss(net: &DeepNet, params: &DeepParams, data: &Ratings, batch: &[u32]) -> f64 {
        let (mut se, mut rows_penalty) = (0.0, 0.0);
        for &pos in batch {
            let (u, i) = (data.users[pos as usize], data.items[pos as usize]);
            let (score, penalty) = reference_score(net, params, u, i);
            rows_penalty += penalty;
            let e = score - (data.values[pos as usize] as f64 - net.mu as f64);
            se += e * e;
        }
        let b = batch.len() as f64;
        let data_loss = match params.loss.rating() {
            Loss::Mse => se / b,
            Loss::Rmse => (se / b).sqrt(),
        };
        data_loss + reference_penalty(net, params, rows_penalty, b)
    }

    /// All trainable weights, table by table, then each layer's W and b.
    fn weights(n: &DeepNet) -> Vec<Vec<f32>> {
        let mut w: Vec<Vec<f32>> = [&n.p, &n.q, &n.bu, &n.bi]
            .into_iter()
            .chain(&n.sides)
            .map(|t| t.weights().to_vec())
            .collect();
        for l in n.mlp.layers() {
            w.push(l.weight().to_vec());
            w.push(l.bias().to_vec());
        }
        if let Some((p, q)) = &n.dot {
            w.push(p.weights().to_vec());
            w.push(q.weights().to_vec());
        }
        w
    }

    fn weights_mut(n: &mut DeepNet, t: usize) -> &mut [f32] {
        let tables = 4 + n.sides.len();
        let dense_end = tables + 2 * n.mlp.layers().len();
        if t >= dense_end {
            let (p, q) = n.dot.as_mut().expect("dot tensors exist");
            return if t == dense_end {
                p.weights_mut()
            } else {
                q.weights_mut()
            };
        }
        if t < tables {
            let mut all: Vec<&mut Embedding> = vec![&mut n.p, &mut n.q, &mut n.bu, &mut n.bi];
            all.extend(n.sides.iter_mut());
            return all.swap_remove(t).weights_mut();
        }
        let l = &mut n.mlp.layers_mut()[(t - tables) / 2];
        if (t - tables).is_multiple_of(2) {
            l.weight_mut()
        } else {
            l.bias_mut()
        }
    }

    /// Finite differences of the f64 reference loss against the update of one plain-SGD
    /// step with lr 1, for every weight of the whole model (tables, side tables with a
    /// multi-valued variable, dense layers, dot-product tables), every activation, both
    /// losses and both L2 modes, with and without the product block, the bias shortcut
    /// and the output dot term (the latter with its own L2 and a separate side-table
    /// L2), with repeated rows in the batch.
    #[test]
    fn gradient_check_every_weight() {
        use crate::train::check::check_sgd_step;
        let data = tiny_data();
        let batch: Vec<u32> = vec![0, 1, 2, 3, 4, 5, 6, 0];
        let acts = [
            Activation::Linear,
            Activation::Relu,
            Activation::LeakyRelu(0.2),
            Activation::Tanh,
            Activation::Sigmoid,
        ];
        let (mut checked, mut kinks) = (0usize, 0usize);
        for activation in acts {
            for l2_mode in [L2Mode::Rows, L2Mode::Table] {
                for (loss, extras) in [NetLoss::Rating(Loss::Mse), NetLoss::Rating(Loss::Rmse)]
                    .into_iter()
                    .flat_map(|l| [(l, false), (l, true)])
                {
                    let params = DeepParams {
                        product: extras,
                        bias_shortcut: extras,
                        dot_dim: if extras { 3 } else { 0 },
                        l2_dot: 0.07,
                        l2_side: extras.then_some(0.04),
                        ..tiny_params(activation, l2_mode, loss)
                    };
                    // A first step leaves pending (lazy) decay on the rows under table
                    // mode, so the checked step reads rows through their scales.
                    let mut lazy = DeepNet::new(&params, 3.0, 3, 4, tiny_sides()).unwrap();
                    lazy.train_batch(&data, &[1, 4], 1, 0.1);
                    let step = |n: &mut DeepNet| {
                        n.train_batch(&data, &batch, 2, 1.0);
                    };
                    let reference = |n: &DeepNet| reference_loss(n, &params, &data, &batch);
                    let what = format!("{activation} {l2_mode:?} {loss:?} extras {extras}");
                    let (c, k) = check_sgd_step(lazy, step, reference, weights, weights_mut, &what);
                    (checked, kinks) = (checked + c, kinks + k);
                }
            }
            assert!(
                kinks * 20 < checked,
                "{activation}: {kinks} kinks of {checked} weights"
            );
        }
    }

    /// The ranking update of the whole model: one plain-SGD step (lr 1) of each ranking
    /// loss on hand-made examples (repeated rows, a positive without an example) against
    /// finite differences of the f64 reference (the mean of the examples' losses over the
    /// positives plus the L2 penalties), for every weight, both L2 modes, with and
    /// without the product block and the bias shortcut, with side variables.
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
                for extras in [false, true] {
                    let params = DeepParams {
                        product: extras,
                        bias_shortcut: extras,
                        dot_dim: if extras { 3 } else { 0 },
                        l2_dot: 0.07,
                        hidden: vec![3, 2],
                        ..tiny_params(Activation::Tanh, l2_mode, NetLoss::Ranking(loss))
                    };
                    let net = DeepNet::new(&params, 0.0, 3, 4, tiny_sides()).unwrap();
                    let ex = tiny_examples(loss);
                    let reference = |n: &DeepNet| {
                        let scored: Vec<(f64, f64)> = (ex.users.iter().zip(&ex.items))
                            .map(|(&u, &i)| reference_score(n, &params, u, i))
                            .collect();
                        let rows_penalty: f64 = scored.iter().map(|s| s.1).sum();
                        let scores: Vec<f64> = scored.iter().map(|s| s.0).collect();
                        let b = ex.positives as f64;
                        ex.reference_loss(loss, &scores)
                            + reference_penalty(n, &params, rows_penalty, b)
                    };
                    let what = format!("deep {loss:?} {l2_mode:?} extras {extras}");
                    let (c, k) =
                        check_rank_step(net, &ex, loss, reference, weights, weights_mut, &what);
                    (checked, kinks) = (checked + c, kinks + k);
                }
            }
        }
        assert!(kinks * 20 < checked, "{kinks} kinks of {checked} weights");
    }

    fn synthetic_split(ratings: usize) -> (Dataset, TrainTest) {
        let syn = crate::data::synthetic::generate(&crate::data::synthetic::SynthParams {
            users: 60,
            items: 50,
            ratings,
            ..Default::default()
        })
        .unwrap();
        let spec: crate::data::split::SplitSpec = "random:0.2".parse().unwrap();
        let split = spec.apply(&syn.dataset, 1).unwrap();
        (syn.dataset, split)
    }

    fn fit_on(params: &DeepParams, data: &Dataset, split: &TrainTest) -> (Deep, History) {
        let sides = side_inputs(&params.features, data, split).unwrap();
        let sets = EvalSets {
            train: &split.train,
            val: None,
            test: Some(&split.test),
            clip: None,
        };
        params
            .train(sets, split.train_users, split.train_items, sides, |_, _| {
                Ok(())
            })
            .unwrap()
    }

    /// Same seed, same everything: bit-identical weights; another seed differs.
    #[test]
    fn seeded_training_is_bit_reproducible() {
        let (data, split) = synthetic_split(1500);
        let params = DeepParams {
            dim: 4,
            hidden: vec![8, 4],
            dropout: 0.2,
            epochs: 3,
            batch: 32,
            features: vec![("occupation".into(), 2), ("genres".into(), 3)],
            ..DeepParams::default()
        };
        let (a, _) = fit_on(&params, &data, &split);
        let (b, _) = fit_on(&params, &data, &split);
        assert!(a == b);
        let (c, _) = fit_on(&DeepParams { seed: 7, ..params }, &data, &split);
        assert!(a != c);
    }

    /// `dropout` reaches training (a different model than without it, and not one that
    /// is merely reseeded: the same seed is used), while the trained model predicts
    /// deterministically (no dropout at inference).
    #[test]
    fn dropout_changes_training_but_not_inference() {
        let (data, split) = synthetic_split(1500);
        let params = DeepParams {
            dim: 4,
            hidden: vec![8, 4],
            epochs: 2,
            batch: 32,
            ..DeepParams::default()
        };
        let (plain, _) = fit_on(&params, &data, &split);
        let (dropped, _) = fit_on(
            &DeepParams {
                dropout: 0.3,
                ..params
            },
            &data,
            &split,
        );
        assert!(plain != dropped);
        assert!(dropped.mlp.dropouts().iter().all(|d| d.rate() == 0.0));
        assert_eq!(dropped.score(1, 2).to_bits(), dropped.score(1, 2).to_bits());
    }

    /// `table_lr` scales the steps of the user, item, dot and bias tables and nothing
    /// else: after one plain-SGD step (rows-mode L2) from the same weights, those tables
    /// have moved exactly twice as far with `table_lr` 2 as with 1, while the side tables
    /// and the dense layers moved the same.
    #[test]
    fn table_lr_scales_only_the_table_steps() {
        let data = tiny_data();
        let batch = [0, 1, 2, 3, 4, 5, 6];
        let params = DeepParams {
            dot_dim: 3,
            ..tiny_params(Activation::Tanh, L2Mode::Rows, NetLoss::Rating(Loss::Mse))
        };
        let start = DeepNet::new(&params, 3.0, 3, 4, tiny_sides()).unwrap();
        let moved = |table_lr: f32| {
            let mut n = start.clone();
            n.table_lr = table_lr;
            n.train_batch(&data, &batch, 1, 0.1);
            let (a, b) = (weights(&start), weights(&n));
            (a.iter().zip(&b))
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| y - x).collect::<Vec<f32>>())
                .collect::<Vec<_>>()
        };
        let (one, two) = (moved(1.0), moved(2.0));
        let sides = 2;
        let dense_end = 4 + sides + 2 * start.mlp.layers().len();
        for (t, (a, b)) in one.iter().zip(&two).enumerate() {
            let table = t < 4 || t >= dense_end;
            let factor = if table { 2.0 } else { 1.0 };
            assert!(a.iter().any(|&d| d != 0.0), "tensor {t} did not move");
            for (&a, &b) in a.iter().zip(b) {
                assert!(
                    (b - factor * a).abs() <= 1e-6 * (1.0 + a.abs()),
                    "tensor {t}"
                );
            }
        }
    }

    /// `pretrain: mf` starts the dot tables and the biases from MF trained with its own
    /// defaults (K = `dot_dim`, same seed) on the same ratings: with the tables frozen
    /// (`table_lr` 0) they are still exactly MF's after training, and the dot term makes
    /// the deep model's prediction MF's plus the network's output.
    #[test]
    fn pretraining_copies_mf_into_the_dot_tables_and_biases() {
        let (data, split) = synthetic_split(1500);
        let params = DeepParams {
            dim: 4,
            hidden: vec![8],
            epochs: 2,
            dot_dim: 6,
            pretrain: Pretrain::Mf,
            table_lr: 0.0,
            ..DeepParams::default()
        };
        let (m, _) = fit_on(&params, &data, &split);
        let mf_params = MfParams {
            dim: 6,
            seed: params.seed,
            ..MfParams::default()
        };
        let sets = EvalSets {
            train: &split.train,
            val: None,
            test: None,
            clip: None,
        };
        let (mf, _) = mf_params
            .train(sets, split.train_users, split.train_items, |_, _| Ok(()))
            .unwrap();
        assert!(m.dot_p == mf.p && m.dot_q == mf.q);
        assert!(m.user_bias == mf.user_bias && m.item_bias == mf.item_bias);
        // Without pretraining they start from `init` and move.
        let (fresh, _) = fit_on(
            &DeepParams {
                pretrain: Pretrain::None,
                table_lr: 1.0,
                ..params.clone()
            },
            &data,
            &split,
        );
        assert!(fresh.dot_p != mf.p);
        // A pretrained MF needs dot tables to go into.
        let bad = DeepParams {
            dot_dim: 0,
            ..params
        };
        assert!(matches!(bad.check(), Err(Error::Usage(_))));
    }

    /// `rated` (a user's items in the training ratings) and `raters` (an item's users)
    /// are multi-valued side variables built from the split.
    #[test]
    fn implicit_feedback_variables_list_the_training_ratings() {
        let (data, split) = synthetic_split(1500);
        let f = vec![("rated".to_string(), 3), ("raters".to_string(), 2)];
        let sides = side_inputs(&f, &data, &split).unwrap();
        assert!(sides[0].of_users && !sides[1].of_users);
        assert_eq!(sides[0].rows, split.train_items as usize);
        assert_eq!(sides[1].rows, split.train_users as usize);
        for k in 0..split.train.len() {
            let (u, i) = (split.train.users[k], split.train.items[k]);
            assert!(sides[0].of(u).contains(&i) && sides[1].of(i).contains(&u));
        }
        let pairs: usize = (0..split.train_users).map(|u| sides[0].of(u).len()).sum();
        let distinct: std::collections::HashSet<(u32, u32)> = (split.train.users.iter().copied())
            .zip(split.train.items.iter().copied())
            .collect();
        assert_eq!(pairs, distinct.len());
        sides[0].check(split.train_users as usize).unwrap();
        sides[1].check(split.train_items as usize).unwrap();
    }

    /// Side lookups follow the raw ids of the split; genres are multi-valued.
    #[test]
    fn side_inputs_follow_raw_ids() {
        let (data, split) = synthetic_split(1500);
        let f = vec![("occupation".to_string(), 3), ("genres".to_string(), 4)];
        let sides = side_inputs(&f, &data, &split).unwrap();
        let occ = data.features.users.variable("occupation").unwrap();
        for u in 0..split.train_users {
            let k = data
                .features
                .users
                .ids
                .index_of(split.users.raw(u))
                .unwrap();
            assert_eq!(sides[0].of(u), &occ.values[k as usize][..]);
        }
        assert!(sides[0].of_users && !sides[1].of_users);
        assert_eq!(sides[1].entities(), split.train_items as usize);
        assert!(side_inputs(&[("nope".into(), 2)], &data, &split).is_err());
    }

    /// Linear activations make the network one affine map of the concatenated inputs,
    /// so predictions are additive in a user part and an item part: the interaction
    /// contrast pred(u,i) - pred(u,j) - pred(v,i) + pred(v,j) vanishes (up to float
    /// error). The textbook's deep model therefore cannot model user x item interaction.
    /// With ReLU the contrast is non-zero.
    #[test]
    fn linear_network_is_additive_in_user_and_item() {
        let (data, split) = synthetic_split(2000);
        let contrast = |activation| {
            let params = DeepParams {
                dim: 6,
                hidden: vec![16, 8],
                activation,
                epochs: 3,
                batch: 64,
                init: Init::Uniform(0.5),
                features: vec![("occupation".into(), 2), ("genres".into(), 3)],
                // the textbook's input (the product block and the dot term are
                // interactions; the bias shortcut is additive)
                product: false,
                dot_dim: 0,
                ..DeepParams::default()
            };
            let (m, _) = fit_on(&params, &data, &split);
            let mut max = 0.0f32;
            for (u, v) in [(0, 1), (2, 5), (3, 7)] {
                for (i, j) in [(0, 1), (4, 9), (2, 3)] {
                    let c = m.score(u, i) - m.score(u, j) - m.score(v, i) + m.score(v, j);
                    max = max.max(c.abs());
                }
            }
            max
        };
        let linear = contrast(Activation::Linear);
        let relu = contrast(Activation::Relu);
        assert!(linear < 1e-5, "linear interaction contrast {linear}");
        assert!(relu > 1e-3, "relu interaction contrast {relu}");
    }

    /// Batched scoring and predictions agree with one-row scoring; unknown ids fall back.
    #[test]
    fn batched_scoring_matches_single_rows() {
        let (data, split) = synthetic_split(1500);
        for (extras, hidden) in [(false, vec![8]), (true, vec![8, 5]), (true, vec![])] {
            let params = DeepParams {
                dim: 4,
                hidden,
                epochs: 2,
                init: Init::Normal(0.3),
                features: vec![("genres".into(), 3), ("occupation".into(), 2)],
                product: extras,
                bias_shortcut: extras,
                dot_dim: if extras { 3 } else { 0 },
                ..DeepParams::default()
            };
            let (m, _) = fit_on(&params, &data, &split);
            // score_items: the user's first-layer part plus the cached item parts
            let mut all = vec![0.0; m.n_items() as usize];
            m.score_items(3, &mut all);
            for (i, &s) in all.iter().enumerate() {
                assert!((s - m.score(3, i as u32)).abs() < 1e-5);
            }
            // a few pairs: full input rows
            let users = [0, 1, m.n_users() + 5, 2];
            let items = [0, m.n_items(), 1, 2];
            let mut out = Vec::new();
            m.predict_many(&users, &items, &mut out);
            for k in 0..4 {
                let p = m.predict(users[k], items[k]);
                assert_eq!(p.fallback, out[k].fallback);
                assert!((p.value - out[k].value).abs() < 1e-5);
            }
            // more pairs than users and items: through the first-layer parts, unknown
            // ids included
            let (mut users, mut items) = (Vec::new(), Vec::new());
            for u in 0..=m.n_users() {
                for i in 0..=m.n_items() {
                    users.push(u);
                    items.push(i);
                }
            }
            assert!(users.len() > (m.n_users() + m.n_items()) as usize);
            m.predict_many(&users, &items, &mut out);
            for k in 0..users.len() {
                let p = m.predict(users[k], items[k]);
                assert_eq!(p.fallback, out[k].fallback);
                assert!(
                    (p.value - out[k].value).abs() < 1e-5,
                    "pair {k}: {} vs {}",
                    p.value,
                    out[k].value
                );
            }
        }
    }

    /// Params saved before the dot term, the side L2, `table_lr` and pretraining existed
    /// read back as the model they described (no dot term, tables at `lr`).
    #[test]
    fn params_without_the_newer_keys_mean_the_older_model() {
        let mut v = serde_json::to_value(DeepParams::book_dl()).unwrap();
        for key in ["dot_dim", "l2_dot", "l2_side", "pretrain", "table_lr"] {
            v.as_object_mut().unwrap().remove(key).unwrap();
        }
        let back: DeepParams = serde_json::from_value(v).unwrap();
        assert_eq!(back, DeepParams::book_dl());
    }

    #[test]
    fn book_presets_are_valid_and_invalid_params_are_usage_errors() {
        DeepParams::book_dl().check().unwrap();
        DeepParams::book_dl_occ().check().unwrap();
        assert_eq!(DeepParams::book_dl().input_width(), 402);
        assert_eq!(DeepParams::book_dl_occ().input_width(), 405);
        for p in [
            DeepParams {
                hidden: vec![0],
                ..DeepParams::default()
            },
            DeepParams {
                dropout: 1.0,
                ..DeepParams::default()
            },
            DeepParams {
                features: vec![("a".into(), 2), ("a".into(), 3)],
                ..DeepParams::default()
            },
            DeepParams {
                l2_dense: -1.0,
                ..DeepParams::default()
            },
            DeepParams {
                l2_dot: -1.0,
                ..DeepParams::default()
            },
            DeepParams {
                table_lr: f32::NAN,
                ..DeepParams::default()
            },
            DeepParams {
                dot_dim: 5000,
                ..DeepParams::default()
            },
        ] {
            assert!(matches!(p.check(), Err(Error::Usage(_))), "{p:?}");
        }
    }
}
