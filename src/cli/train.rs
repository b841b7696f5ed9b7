//! `embedrec train`: load or split data, fit a model, report metrics (text or `--json`).

use super::{ReaderArgs, print_json, print_warnings};
use crate::data::split::SplitSpec;
use crate::data::{self, Dataset, Ratings, TrainTest};
use crate::error::{Error, Result};
pub(crate) use crate::eval::SAMPLED_SEED;
use crate::eval::ranking::{DEFAULT_THRESHOLD, ranking_metrics_of};
use crate::eval::rating_metrics;
use crate::models::blend::BlendParams;
use crate::models::ranking::NetLoss;
use crate::models::{
    AutoRecParams, BaselineParams, DeepParams, EaseParams, EpochStats, Fit, FitOptions, FmParams,
    IalsParams, KnnParams, MfParams, MfRankParams, NeuMfParams, PopularityParams, RankLoss,
    Recommender, Sampling,
};
use crate::store::TrainedModel;
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::PathBuf;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelKind {
    /// mu + user bias + item bias, fitted by ALS (Surprise's BaselineOnly).
    Baseline,
    /// Matrix factorization as a neural network: mu + b_u + b_i + dot(P_u, Q_i).
    Mf,
    /// Hidden dense layers over concatenated embeddings, biases and side variables.
    Deep,
    /// Item-based k-nearest neighbours with baselines (Surprise's KNNBaseline method).
    Knn,
    /// I-AutoRec: an autoencoder of each item's ratings (code size --hidden).
    Autorec,
    /// A linear blend of other models (--members), weights fitted on validation data
    /// carved from the training data.
    Blend,
    /// Weighted ALS for implicit feedback (Hu, Koren and Volinsky), conjugate gradient.
    Ials,
    /// Item popularity (training interaction counts): the top-N baseline; implicit only.
    Popularity,
    /// NeuMF (He et al. 2017): a GMF tower and an MLP tower fused by one output unit.
    Neumf,
    /// EASE (Steck 2019): closed-form item-item model (L2 --l2); implicit only.
    Ease,
    /// Factorization machine by Gibbs sampling (Bayesian FM): user, item, side variables
    /// and the implicit sets as features (--features), no learning rate or L2 to tune.
    Fm,
}

/// How an implicit model's test data is ranked.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Protocol A: every item the user has not rated in training is ranked.
    Full,
    /// Protocol B (NCF): each test item among 99 items the user never rated, sampled
    /// with a fixed seed.
    Sampled,
}

/// Where the training and test data come from.
#[derive(Args, Debug, Clone)]
pub(crate) struct DataArgs {
    /// Training ratings file (with --test).
    #[arg(long, requires = "test", conflicts_with_all = ["data", "split"])]
    pub train: Option<PathBuf>,
    /// Test ratings file (with --train).
    #[arg(long, requires = "train")]
    pub test: Option<PathBuf>,
    /// A ratings file or MovieLens folder to split (with --split).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// random:F | kfold:K:I | user-out:K[:latest] | temporal:F (F = test fraction).
    #[arg(long, requires = "data")]
    pub split: Option<String>,
    #[command(flatten)]
    pub reader: ReaderArgs,
}

impl DataArgs {
    /// Loads the data and builds the split (`seed` drives random splits), keeping the
    /// timestamps in the split when the split or `keep_times` (a model that reads them,
    /// e.g. ease with recency) needs them. The returned `Dataset`'s ratings are empty
    /// (they live on in the split): training reads the split, the dataset gives the
    /// scale, ids and metadata.
    pub(crate) fn load_keeping_times(
        &self,
        seed: u64,
        keep_times: bool,
    ) -> Result<(Dataset, TrainTest)> {
        let mut opts = self.reader.options()?;
        let (mut data, split) = match (&self.train, &self.test, &self.data, &self.split) {
            (Some(train), Some(test), None, None) => {
                opts.drop_times = !keep_times;
                data::load_train_test(train, test, &opts)?
            }
            (None, None, Some(path), Some(spec)) => {
                let spec: SplitSpec = spec.parse()?;
                opts.drop_times = !spec.needs_times() && !keep_times;
                let data = data::load(path, &opts)?;
                let split = spec.apply(&data, seed)?;
                (data, split)
            }
            _ => {
                return Err(Error::Usage(
                    "give either --train FILE --test FILE or --data PATH --split SPEC".into(),
                ));
            }
        };
        print_warnings(&data.warnings);
        data.ratings = Default::default();
        Ok((data, split))
    }
}

#[derive(Args, Debug)]
pub(crate) struct TrainArgs {
    /// Model to train.
    #[arg(long, value_enum)]
    model: ModelKind,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Named settings: book-mf (the textbook's Keras MF); book-dl, book-dl-occ (its deep
    /// model, without and with an occupation embedding); next-item (ease: predicting each
    /// user's next interaction, with recency).
    #[arg(long)]
    preset: Option<String>,
    /// TOML file of hyper-parameters (keys as in the params table of the docs);
    /// precedence: defaults < --preset < --config < flags.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    hyper: HyperArgs,
    /// Baseline: L2 shrinkage of user biases.
    #[arg(long, help_heading = "Hyper-parameters")]
    reg_user: Option<f64>,
    /// Baseline: L2 shrinkage of item biases.
    #[arg(long, help_heading = "Hyper-parameters")]
    reg_item: Option<f64>,
    /// kNN: neighbours per prediction.
    #[arg(long, help_heading = "Hyper-parameters")]
    neighbors: Option<usize>,
    /// kNN: similarity shrinkage.
    #[arg(long, help_heading = "Hyper-parameters")]
    shrinkage: Option<f64>,
    /// Blend: member model kinds, each trained with its own defaults (default mf,knn,autorec).
    #[arg(long, value_name = "LIST", help_heading = "Hyper-parameters")]
    members: Option<String>,
    /// Blend: L2 penalty on the member weights.
    #[arg(long, help_heading = "Hyper-parameters")]
    ridge: Option<f64>,
    /// Treat the ratings as implicit feedback (interactions): the model is trained for
    /// top-N ranking and reports ranking metrics. Implied by --model ials.
    #[arg(long, help_heading = "Implicit feedback")]
    implicit: bool,
    /// Implicit: interactions are the training ratings >= R (default: every rating).
    #[arg(long, value_name = "R", help_heading = "Implicit feedback")]
    min_rating: Option<f32>,
    /// Implicit: a test item is relevant when its rating is >= T, or 'none' (every test
    /// item); default 4, or none when the file has no rating column.
    #[arg(long, value_name = "T", help_heading = "Implicit feedback")]
    threshold: Option<String>,
    /// Ranking losses: negatives per positive (warp: most trials; 0 = the loss's default).
    #[arg(long, help_heading = "Hyper-parameters")]
    negatives: Option<usize>,
    /// Ranking losses: uniform | popularity negative sampling.
    #[arg(long, help_heading = "Hyper-parameters")]
    sampling: Option<String>,
    /// Implicit: how the test data is ranked: full (every item the user has not rated in
    /// training) or sampled (each test item among 99 sampled unrated items, NCF).
    #[arg(long, value_enum, help_heading = "Implicit feedback")]
    protocol: Option<Protocol>,
    /// iALS: confidence weight alpha.
    #[arg(long, help_heading = "Hyper-parameters")]
    alpha: Option<f32>,
    /// iALS: binary | linear | log | log:EPS (confidence 1 + alpha f(value)).
    #[arg(long, help_heading = "Hyper-parameters")]
    confidence: Option<String>,
    /// iALS: conjugate-gradient steps per row and sweep.
    #[arg(long, help_heading = "Hyper-parameters")]
    cg_steps: Option<usize>,
    /// iALS: a row's L2 is l2 * (its interactions)^E.
    #[arg(long, value_name = "E", help_heading = "Hyper-parameters")]
    l2_exponent: Option<f32>,
    /// EASE: weight a user's training interactions by 1 + BETA exp(-r / TAU), r = the
    /// user's interactions after it (needs timestamps), or 'none'.
    #[arg(long, value_name = "BETA:TAU", help_heading = "Hyper-parameters")]
    recency: Option<String>,
    /// FM: Gibbs sweeps.
    #[arg(long, help_heading = "Hyper-parameters")]
    sweeps: Option<usize>,
    /// FM: sweeps discarded before samples are kept.
    #[arg(long, help_heading = "Hyper-parameters")]
    burn_in: Option<usize>,
    /// FM: samples kept in the model (evenly thinned after burn-in).
    #[arg(long, help_heading = "Hyper-parameters")]
    keep: Option<usize>,
    /// FM: mcmc (Gibbs sampling) | als (alternating least squares for a fixed --l2).
    #[arg(long, help_heading = "Hyper-parameters")]
    solver: Option<String>,
    /// Random seed (splits, initialisation, shuffling).
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Write the per-epoch history as CSV (epoch,train_rmse,test_rmse,seconds).
    #[arg(long, value_name = "FILE")]
    pub(crate) curve: Option<PathBuf>,
    /// Draw train and test RMSE per epoch into FILE.svg (labelled) or FILE.png (no text).
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// Save the trained model to this file (see `embedrec predict`).
    #[arg(long, value_name = "MODEL")]
    pub(crate) out: Option<PathBuf>,
    /// Print one JSON object as the last line (see the contract in README.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// Hyper-parameter flags of the neural models; each overrides preset and config.
#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Hyper-parameters")]
pub(crate) struct HyperArgs {
    /// Latent factors K.
    #[arg(long)]
    dim: Option<usize>,
    /// Training epochs (ALS sweeps for the baseline).
    #[arg(long)]
    epochs: Option<usize>,
    /// Ratings per minibatch.
    #[arg(long)]
    batch: Option<usize>,
    /// sgd | adam | adamax | adagrad.
    #[arg(long)]
    optimizer: Option<String>,
    /// Learning rate.
    #[arg(long)]
    lr: Option<f32>,
    /// Learning-rate multiplier applied after every epoch.
    #[arg(long)]
    lr_decay: Option<f32>,
    /// SGD momentum.
    #[arg(long)]
    momentum: Option<f32>,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    nesterov: bool,
    /// L2 on the embedding tables.
    #[arg(long)]
    l2: Option<f32>,
    /// L2 on the bias tables.
    #[arg(long)]
    l2_bias: Option<f32>,
    /// rows (per lookup) | table (Keras: whole table every step).
    #[arg(long)]
    l2_mode: Option<String>,
    /// uniform:A | normal:STD | zeros.
    #[arg(long)]
    init: Option<String>,
    /// mse | rmse (batch RMSE, as the textbook's Keras code); mf, deep and neumf on
    /// implicit feedback: bpr | warp | bce | softmax (a ranking loss implies --implicit).
    #[arg(long)]
    loss: Option<String>,
    /// Early stopping: epochs without a better validation RMSE (needs --val-fraction;
    /// default 0 = off, except autorec: 10 on a 0.1 carve, then a refit on all the
    /// ratings; --patience 0 turns that off).
    #[arg(long)]
    patience: Option<usize>,
    /// Share of the training data carved out for validation (autorec default 0.1).
    #[arg(long)]
    val_fraction: Option<f64>,
    /// Training threads (mf: > 1 only for per-example plain SGD, see the docs of
    /// MfParams; deep: threads of the dense layers' matrix products).
    #[arg(long)]
    threads: Option<usize>,
    /// NeuMF: size of each MLP-tower embedding (--dim is the GMF tower's).
    #[arg(long)]
    mlp_dim: Option<usize>,
    /// Deep, neumf: hidden layer widths, e.g. 2048,256 (empty: no hidden layer).
    #[arg(long, value_name = "LIST")]
    hidden: Option<String>,
    /// Deep: linear | relu | leaky_relu[:A] | tanh | sigmoid.
    #[arg(long)]
    activation: Option<String>,
    /// Deep: dropout rate after each hidden layer.
    #[arg(long)]
    dropout: Option<f32>,
    /// Deep: side variables as name:size, e.g. occupation:3,genres:8.
    #[arg(long, value_name = "LIST")]
    features: Option<String>,
    /// Deep: L2 on the dense kernels (Keras kernel_regularizer semantics).
    #[arg(long)]
    l2_dense: Option<f32>,
    /// Deep: feed P_u * Q_i (element-wise) to the first layer as an extra input block.
    #[arg(long, value_name = "BOOL")]
    product: Option<bool>,
    /// Deep: add b_u + b_i to the output directly (the biases also feed the network).
    #[arg(long, value_name = "BOOL")]
    bias_shortcut: Option<bool>,
    /// Deep: factors of the separate dot-product tables whose <P_u, Q_i> is added at the
    /// output (0 = none).
    #[arg(long, value_name = "N")]
    dot_dim: Option<usize>,
    /// Deep: L2 on the dot-product tables (same --l2-mode).
    #[arg(long)]
    l2_dot: Option<f32>,
    /// Deep: L2 on the side-variable tables (same --l2-mode; default: --l2).
    #[arg(long)]
    l2_side: Option<f32>,
    /// Deep: none | mf (initialise the dot tables and the biases from MF trained first on
    /// the same training data, with its own defaults and K = --dot-dim).
    #[arg(long)]
    pretrain: Option<String>,
    /// Deep: multiplier of --lr for the user, item, dot and bias tables (side-variable
    /// tables and dense layers use --lr).
    #[arg(long)]
    table_lr: Option<f32>,
}

/// `2048,256` -> [2048, 256] (empty -> no layers).
fn parse_hidden(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse()
                .map_err(|_| Error::Usage(format!("--hidden: '{t}' is not a layer width")))
        })
        .collect()
}

/// `BETA:TAU` -> (beta, tau); `none` -> no recency (beta 0, the default tau).
fn parse_recency(s: &str) -> Result<(f32, f32)> {
    if s == "none" {
        return Ok((0.0, EaseParams::default().recency_tau));
    }
    let bad = || Error::Usage(format!("--recency: expected BETA:TAU or 'none', got '{s}'"));
    let (beta, tau) = s.split_once(':').ok_or_else(bad)?;
    let beta: f32 = beta.trim().parse().map_err(|_| bad())?;
    let tau: f32 = tau.trim().parse().map_err(|_| bad())?;
    Ok((beta, tau))
}

/// `occupation:3,genres:8` -> [("occupation", 3), ("genres", 8)].
fn parse_features(s: &str) -> Result<Vec<(String, usize)>> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let bad = || Error::Usage(format!("--features: expected name:size, got '{t}'"));
            let (name, dim) = t.split_once(':').ok_or_else(bad)?;
            let dim = dim.parse().map_err(|_| bad())?;
            Ok((name.to_string(), dim))
        })
        .collect()
}

/// One line of the per-epoch history (the contract's keys).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct EpochRecord {
    pub epoch: usize,
    pub train_rmse: f64,
    pub test_rmse: f64,
    pub seconds: f64,
}

impl EpochRecord {
    fn of(e: &EpochStats) -> Self {
        EpochRecord {
            epoch: e.epoch,
            train_rmse: e.train_rmse.unwrap_or(f64::NAN),
            test_rmse: e.watch_rmse.unwrap_or(f64::NAN),
            seconds: e.seconds,
        }
    }
}

/// One line of an implicit model's history: `{epoch, seconds, ndcg@10, hr@10}`.
#[derive(Debug, Clone)]
pub(crate) struct RankRecord {
    pub epoch: usize,
    pub seconds: f64,
    pub ndcg: f64,
    pub hr: f64,
}

impl serde::Serialize for RankRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("epoch", &self.epoch)?;
        map.serialize_entry("seconds", &self.seconds)?;
        map.serialize_entry("ndcg@10", &self.ndcg)?;
        map.serialize_entry("hr@10", &self.hr)?;
        map.end()
    }
}

/// `base` overlaid with the keys of a TOML file (unknown keys are errors).
fn overlay_config<T: serde::Serialize + serde::de::DeserializeOwned>(
    base: T,
    path: &std::path::Path,
) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let overlay: toml::Table =
        toml::from_str(&text).map_err(|e| Error::bad_input(path, e.to_string()))?;
    let mut merged =
        toml::Table::try_from(&base).map_err(|e| Error::bad_input(path, e.to_string()))?;
    merge_tables(&mut merged, overlay);
    merged
        .try_into()
        .map_err(|e: toml::de::Error| Error::bad_input(path, e.to_string()))
}

fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `set!(params, flags, field)`: copies a flag that was given into the params;
/// `set!(params, flags, field, parse)` parses a text flag first.
macro_rules! set {
    ($p:ident, $h:ident, $field:ident) => {
        if let Some(v) = $h.$field.clone() {
            $p.$field = v;
        }
    };
    ($p:ident, $h:ident, $field:ident, parse) => {
        if let Some(v) = &$h.$field {
            $p.$field = v.parse()?;
        }
    };
}

impl HyperArgs {
    /// The optimizer flags (`--optimizer --momentum --nesterov`) applied to `o`.
    fn apply_optimizer(&self, o: &mut crate::nn::Optimizer) -> Result<()> {
        if let Some(kind) = &self.optimizer {
            o.kind = kind.parse()?;
        }
        if let Some(m) = self.momentum {
            o.momentum = m;
        }
        if self.nesterov {
            o.nesterov = true;
        }
        Ok(())
    }
}

impl TrainArgs {
    /// `base` overlaid with `--config`, for a model `kind` that has no presets (a given
    /// `--preset` is a usage error).
    fn without_preset<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        base: T,
    ) -> Result<T> {
        if self.preset.is_some() {
            return Err(Error::Usage(format!("{kind} has no presets")));
        }
        match &self.config {
            Some(path) => overlay_config(base, path),
            None => Ok(base),
        }
    }

    fn mf_params(&self) -> Result<MfParams> {
        let mut p = match self.preset.as_deref() {
            None => MfParams::default(),
            Some("book-mf") => MfParams::book_mf(),
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unknown --preset '{other}' for mf: expected book-mf"
                )));
            }
        };
        p.seed = self.seed;
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, epochs);
        set!(p, h, batch);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, patience);
        set!(p, h, val_fraction);
        set!(p, h, threads);
        set!(p, h, l2_mode, parse);
        set!(p, h, init, parse);
        set!(p, h, loss, parse);
        h.apply_optimizer(&mut p.optimizer)?;
        p.check()?;
        Ok(p)
    }

    fn deep_params(&self) -> Result<DeepParams> {
        let implicit = self.is_implicit();
        let mut p = match self.preset.as_deref() {
            None if implicit => DeepParams::implicit(),
            None => DeepParams::default(),
            Some(_) if implicit => {
                return Err(Error::Usage(
                    "the deep presets are rating models; --implicit takes no --preset".into(),
                ));
            }
            Some("book-dl") => DeepParams::book_dl(),
            Some("book-dl-occ") => DeepParams::book_dl_occ(),
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unknown --preset '{other}' for deep: expected book-dl or book-dl-occ"
                )));
            }
        };
        p.seed = self.seed;
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, epochs);
        set!(p, h, batch);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, l2_dense);
        set!(p, h, dropout);
        set!(p, h, product);
        set!(p, h, bias_shortcut);
        set!(p, h, dot_dim);
        set!(p, h, l2_dot);
        if let Some(v) = h.l2_side {
            p.l2_side = Some(v);
        }
        set!(p, h, table_lr);
        set!(p, h, pretrain, parse);
        set!(p, h, patience);
        set!(p, h, val_fraction);
        set!(p, h, threads);
        set!(p, h, l2_mode, parse);
        set!(p, h, init, parse);
        set!(p, h, loss, parse);
        set!(p, h, activation, parse);
        if let Some(v) = &h.hidden {
            p.hidden = parse_hidden(v)?;
        }
        if let Some(v) = &h.features {
            p.features = parse_features(v)?;
        }
        h.apply_optimizer(&mut p.optimizer)?;
        (p.negatives, p.sampling) = self.ranking_settings(p.loss, p.negatives, p.sampling)?;
        p.check()?;
        Ok(p)
    }

    /// `--negatives` and `--sampling` over a network's (`negatives`, `sampling`), checked
    /// against the model's mode: a ranking loss exactly when the model is implicit.
    fn ranking_settings(
        &self,
        loss: NetLoss,
        negatives: usize,
        sampling: Sampling,
    ) -> Result<(usize, Sampling)> {
        match (self.is_implicit(), loss) {
            (true, NetLoss::Rating(l)) => {
                return Err(Error::Usage(format!(
                    "--implicit trains {:?} with a ranking loss (bpr, warp, bce or softmax), \
                     not {l:?}",
                    self.model
                )));
            }
            (false, _) if self.negatives.is_some() || self.sampling.is_some() => {
                return Err(Error::Usage(
                    "--negatives and --sampling need a ranking loss (--implicit)".into(),
                ));
            }
            _ => {}
        }
        let sampling = match &self.sampling {
            Some(s) => s.parse()?,
            None => sampling,
        };
        Ok((self.negatives.unwrap_or(negatives), sampling))
    }

    fn neumf_params(&self) -> Result<NeuMfParams> {
        let base = if self.is_implicit() {
            NeuMfParams::implicit()
        } else {
            NeuMfParams::default()
        };
        let mut p = self.without_preset(
            "neumf",
            NeuMfParams {
                seed: self.seed,
                ..base
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, mlp_dim);
        set!(p, h, epochs);
        set!(p, h, batch);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, l2_dense);
        set!(p, h, patience);
        set!(p, h, val_fraction);
        set!(p, h, threads);
        set!(p, h, l2_mode, parse);
        set!(p, h, init, parse);
        set!(p, h, loss, parse);
        set!(p, h, activation, parse);
        if let Some(v) = &h.hidden {
            p.hidden = parse_hidden(v)?;
        }
        h.apply_optimizer(&mut p.optimizer)?;
        (p.negatives, p.sampling) = self.ranking_settings(p.loss, p.negatives, p.sampling)?;
        p.check()?;
        Ok(p)
    }

    fn baseline_params(&self) -> Result<BaselineParams> {
        let mut p = self.without_preset("the baseline", BaselineParams::default())?;
        if let Some(e) = self.hyper.epochs {
            p.epochs = e;
        }
        if let Some(r) = self.reg_user {
            p.reg_user = r;
        }
        if let Some(r) = self.reg_item {
            p.reg_item = r;
        }
        p.check()?;
        Ok(p)
    }

    fn ials_params(&self) -> Result<IalsParams> {
        let mut p = self.without_preset(
            "ials",
            IalsParams {
                seed: self.seed,
                ..IalsParams::default()
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        if let Some(e) = h.epochs {
            p.iterations = e;
        }
        set!(p, h, l2);
        set!(p, h, threads);
        if let Some(init) = &h.init {
            match init.parse()? {
                crate::nn::Init::Normal(std) => p.init = std,
                _ => return Err(Error::Usage("ials takes --init normal:STD".into())),
            }
        }
        if let Some(a) = self.alpha {
            p.alpha = a;
        }
        if let Some(c) = &self.confidence {
            p.confidence = c.parse()?;
        }
        if let Some(c) = self.cg_steps {
            p.cg_steps = c;
        }
        if let Some(e) = self.l2_exponent {
            p.l2_exponent = e;
        }
        p.check()?;
        Ok(p)
    }

    fn ease_params(&self) -> Result<EaseParams> {
        let mut p = match self.preset.as_deref() {
            None => EaseParams::default(),
            Some("next-item") => EaseParams::next_item(),
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unknown --preset '{other}' for ease: expected next-item"
                )));
            }
        };
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
        let h = &self.hyper;
        set!(p, h, l2);
        set!(p, h, threads);
        if let Some(r) = &self.recency {
            (p.recency_beta, p.recency_tau) = parse_recency(r)?;
        }
        p.check()?;
        Ok(p)
    }

    /// Whether the model is trained on implicit feedback.
    fn is_implicit(&self) -> bool {
        let ranking_loss = self
            .hyper
            .loss
            .as_deref()
            .is_some_and(|l| l.parse::<RankLoss>().is_ok());
        self.implicit
            || matches!(
                self.model,
                ModelKind::Ials | ModelKind::Popularity | ModelKind::Ease
            )
            || ranking_loss
    }

    fn mf_rank_params(&self) -> Result<MfRankParams> {
        let mut p = self.without_preset(
            "mf on implicit feedback",
            MfRankParams {
                seed: self.seed,
                ..MfRankParams::default()
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, epochs);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, optimizer, parse);
        if let Some(l) = &h.loss {
            p.loss = l.parse()?;
        }
        if let Some(init) = &h.init {
            match init.parse()? {
                crate::nn::Init::Normal(std) => p.init = std,
                _ => {
                    return Err(Error::Usage(
                        "mf on implicit feedback takes --init normal:STD".into(),
                    ));
                }
            }
        }
        if let Some(n) = self.negatives {
            p.negatives = n;
        }
        if let Some(s) = &self.sampling {
            p.sampling = s.parse()?;
        }
        p.check()?;
        Ok(p)
    }

    /// The implicit-feedback settings (`None` for a rating model), validated.
    fn implicit_settings(&self) -> Result<Option<Implicit>> {
        if !self.is_implicit() {
            if self.min_rating.is_some() || self.threshold.is_some() || self.protocol.is_some() {
                return Err(Error::Usage(
                    "--min-rating, --threshold and --protocol need --implicit".into(),
                ));
            }
            return Ok(None);
        }
        if !matches!(
            self.model,
            ModelKind::Mf
                | ModelKind::Ials
                | ModelKind::Popularity
                | ModelKind::Ease
                | ModelKind::Deep
                | ModelKind::Neumf
        ) {
            return Err(Error::Usage(format!(
                "--implicit is supported for --model ials, ease, popularity, mf, deep and \
                 neumf, not {:?}",
                self.model
            )));
        }
        if let Some(r) = self.min_rating
            && !r.is_finite()
        {
            return Err(Error::Usage(format!(
                "--min-rating must be a number, got {r}"
            )));
        }
        let threshold =
            match self.threshold.as_deref() {
                Some("none") => None,
                Some(t) => Some(t.parse::<f32>().ok().filter(|t| t.is_finite()).ok_or_else(
                    || {
                        Error::Usage(format!(
                            "--threshold: expected a number or 'none', got '{t}'"
                        ))
                    },
                )?),
                None if self.data.reader.has_no_rating_column() => None,
                None => Some(crate::eval::ranking::DEFAULT_THRESHOLD),
            };
        Ok(Some(Implicit {
            min_rating: self.min_rating,
            threshold,
            protocol: self.protocol.unwrap_or(Protocol::Full),
        }))
    }

    fn knn_params(&self) -> Result<KnnParams> {
        let mut p = self.without_preset("knn", KnnParams::default())?;
        if let Some(k) = self.neighbors {
            p.k = k;
        }
        if let Some(s) = self.shrinkage {
            p.shrinkage = s;
        }
        if let Some(e) = self.hyper.epochs {
            p.baseline.epochs = e;
        }
        if let Some(r) = self.reg_user {
            p.baseline.reg_user = r;
        }
        if let Some(r) = self.reg_item {
            p.baseline.reg_item = r;
        }
        p.check()?;
        Ok(p)
    }
}

impl TrainArgs {
    fn autorec_params(&self) -> Result<AutoRecParams> {
        let mut p = self.without_preset(
            "autorec",
            AutoRecParams {
                seed: self.seed,
                ..Default::default()
            },
        )?;
        let h = &self.hyper;
        set!(p, h, epochs);
        set!(p, h, batch);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        if let Some(l2) = h.l2 {
            p.l2 = Some(l2);
        }
        set!(p, h, patience);
        set!(p, h, val_fraction);
        if let Some(v) = &h.hidden {
            p.hidden = v.trim().parse().map_err(|_| {
                Error::Usage(format!("--hidden: autorec takes one code size, got '{v}'"))
            })?;
        }
        h.apply_optimizer(&mut p.optimizer)?;
        p.check()?;
        Ok(p)
    }

    fn fm_params(&self) -> Result<FmParams> {
        let mut p = self.without_preset(
            "fm",
            FmParams {
                seed: self.seed,
                ..Default::default()
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        if let Some(v) = self.sweeps {
            p.sweeps = v;
        }
        if let Some(v) = self.burn_in {
            p.burn_in = v;
        }
        if let Some(v) = self.keep {
            p.keep = v;
        }
        if let Some(v) = &self.solver {
            p.solver = v.parse()?;
        }
        set!(p, h, l2);
        set!(p, h, threads);
        if let Some(f) = &h.features {
            p.features = f
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    if t.contains(':') {
                        Err(Error::Usage(format!(
                            "--features: fm takes feature group names (every group has --dim \
                             factors), got '{t}'"
                        )))
                    } else {
                        Ok(t.to_string())
                    }
                })
                .collect::<Result<_>>()?;
        }
        p.check()?;
        Ok(p)
    }

    fn blend_params(&self) -> Result<BlendParams> {
        let mut p = self.without_preset(
            "blend",
            BlendParams {
                seed: self.seed,
                ..Default::default()
            },
        )?;
        if let Some(m) = &self.members {
            p.members = m
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(r) = self.ridge {
            p.ridge = r;
        }
        if let Some(v) = self.hyper.val_fraction {
            p.val_fraction = v;
        }
        p.check()?;
        Ok(p)
    }
}

fn write_curve(path: &std::path::Path, history: &[EpochRecord]) -> Result<()> {
    let mut text = String::from("epoch,train_rmse,test_rmse,seconds\n");
    for h in history {
        text.push_str(&format!(
            "{},{:.6},{:.6},{:.6}\n",
            h.epoch, h.train_rmse, h.test_rmse, h.seconds
        ));
    }
    crate::store::write_atomically(path, text.as_bytes())
}

fn write_plot(path: &std::path::Path, title: &str, history: &[EpochRecord]) -> Result<()> {
    let epochs: Vec<usize> = history.iter().map(|h| h.epoch).collect();
    let train: Vec<f64> = history.iter().map(|h| h.train_rmse).collect();
    let test: Vec<f64> = history.iter().map(|h| h.test_rmse).collect();
    crate::plot::learning_curve(path, title, &epochs, &train, &test)
}

impl TrainArgs {
    /// The model's validated parameters (every flag is checked before data is read).
    pub(crate) fn params(&self) -> Result<Either> {
        self.refuse_foreign_flags()?;
        // Validates the implicit-feedback flags of every kind (errors for rating models).
        let implicit = self.implicit_settings()?;
        Ok(match self.model {
            ModelKind::Baseline => Either::Baseline(self.baseline_params()?),
            ModelKind::Mf if self.is_implicit() => Either::MfRank(self.mf_rank_params()?, implicit),
            ModelKind::Mf => {
                if self.negatives.is_some() || self.sampling.is_some() {
                    return Err(Error::Usage(
                        "--negatives and --sampling need a ranking loss (--implicit)".into(),
                    ));
                }
                Either::Mf(self.mf_params()?)
            }
            ModelKind::Deep if self.is_implicit() => {
                Either::DeepRank(self.deep_params()?, implicit)
            }
            ModelKind::Deep => Either::Deep(self.deep_params()?),
            ModelKind::Neumf if self.is_implicit() => {
                Either::NeuMfRank(self.neumf_params()?, implicit)
            }
            ModelKind::Neumf => Either::NeuMf(self.neumf_params()?),
            ModelKind::Knn => Either::Knn(self.knn_params()?),
            ModelKind::Autorec => Either::AutoRec(self.autorec_params()?),
            ModelKind::Blend => Either::Blend(self.blend_params()?),
            ModelKind::Fm => Either::Fm(self.fm_params()?),
            ModelKind::Ials => Either::Ials(self.ials_params()?, implicit),
            ModelKind::Ease => Either::Ease(self.ease_params()?, implicit),
            ModelKind::Popularity => {
                if self.preset.is_some() || self.config.is_some() {
                    return Err(Error::Usage(
                        "popularity has no presets and no hyper-parameters".into(),
                    ));
                }
                Either::Popularity(PopularityParams::default(), implicit)
            }
        })
        .and_then(|p| {
            // The command line's validation data is the params' carve.
            let (patience, carve) = match &p {
                Either::Mf(q) => (q.patience, q.val_fraction),
                Either::Deep(q) => (q.patience, q.val_fraction),
                Either::NeuMf(q) => (q.patience, q.val_fraction),
                Either::AutoRec(q) => (q.patience, q.val_fraction),
                _ => (0, 0.0),
            };
            if patience > 0 && carve == 0.0 {
                return Err(Error::Usage(
                    "early stopping (--patience > 0) needs a validation carve \
                     (--val-fraction > 0)"
                        .into(),
                ));
            }
            Ok(p)
        })
        .map(|mut p| {
            // The implicit conversion is part of what the model is trained on.
            let min = self.min_rating;
            match &mut p {
                Either::Ials(q, _) => q.min_rating = min,
                Either::Ease(q, _) => q.min_rating = min,
                Either::MfRank(q, _) => q.min_rating = min,
                Either::DeepRank(q, _) => q.min_rating = min,
                Either::NeuMfRank(q, _) => q.min_rating = min,
                Either::Popularity(q, _) => q.min_rating = min,
                _ => {}
            }
            p
        })
    }
}

/// A progress bar on stderr for `epochs` epochs, when stderr is a terminal.
fn progress_bar(wanted: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style =
        indicatif::ProgressStyle::with_template("epoch {pos}/{len} {bar:30} {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

pub(crate) fn run(a: &TrainArgs) -> Result<()> {
    // Validate every flag before the (possibly long) data load.
    let kind_params = a.params()?;
    if let Some(path) = &a.plot {
        crate::plot::Format::from_path(path)?;
    }
    let implicit = kind_params.implicit().copied();
    if implicit.is_some() && (a.curve.is_some() || a.plot.is_some()) {
        return Err(Error::Usage(
            "--curve and --plot draw RMSE curves; implicit models report ranking \
             metrics per epoch in the --json history instead"
                .into(),
        ));
    }
    let (data, split) = a
        .data
        .load_keeping_times(a.seed, kind_params.needs_times())?;
    let (train, test) = split.into_datasets(&data);
    let bar = progress_bar(!a.json);
    let on_epoch = |e: &EpochStats, _: &dyn Recommender| -> Result<()> {
        if let Some(b) = &bar {
            b.set_length(e.epochs as u64);
            match (e.train_rmse, e.watch_ndcg) {
                (Some(r), _) => b.set_message(format!("train RMSE {r:.4}")),
                (None, Some(n)) => b.set_message(format!("test ndcg@10 {n:.4}")),
                _ => {}
            }
            b.inc(1);
        }
        Ok(())
    };
    let options = FitOptions {
        watch: Some(&test),
        threshold: implicit.map_or(Some(DEFAULT_THRESHOLD), |i| i.threshold),
        on_epoch: Some(&on_epoch),
        ..FitOptions::default()
    };
    let model = kind_params.fit_params().fit(&train, &options)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(path) = &a.out {
        model.save(path)?;
    }
    // The model's rows are the first ids of both datasets: their ratings are already in
    // the model's rows (test-only ids lie past them: unknown to the model).
    let (train_rows, test_rows) = (&train.ratings, &test.ratings);
    if let Some(implicit) = implicit {
        return report_implicit(a, &implicit, &model, train_rows, test_rows);
    }
    let net: &dyn Recommender = &model.model;
    let clip = model.clip.then_some(model.scale);
    let train_m = rating_metrics(net, train_rows, clip);
    let test_m = rating_metrics(net, test_rows, clip);
    let history: Vec<EpochRecord> = model.history.iter().map(EpochRecord::of).collect();
    if let Some(path) = &a.curve {
        write_curve(path, &history)?;
    }
    if let Some(path) = &a.plot {
        let title = format!("{}: final test RMSE {:.4}", net.kind(), test_m.rmse);
        write_plot(path, &title, &history)?;
    }
    let train_seconds = model.training.train_seconds;
    let report = json!({
        "model": net.kind(),
        "params": model.params,
        "users": net.n_users(),
        "items": net.n_items(),
        "param_count": net.param_count(),
        "epochs_run": history.len(),
        "train_seconds": train_seconds,
        "train_rmse": train_m.rmse,
        "test_rmse": test_m.rmse,
        "test_mae": test_m.mae,
        "test_count": test_m.count,
        "test_unknown": test_m.unknown,
        "history": history,
    });
    if a.json {
        print_json(&report);
    } else {
        println!("model        {}", net.kind());
        println!(
            "data         {} train / {} test ratings",
            train_rows.len(),
            test_rows.len()
        );
        println!(
            "rows         {} users, {} items ({} parameters)",
            net.n_users(),
            net.n_items(),
            net.param_count()
        );
        println!("epochs       {} in {train_seconds:.3} s", history.len());
        println!("train RMSE   {:.4}", train_m.rmse);
        println!("test RMSE    {:.4}   MAE {:.4}", test_m.rmse, test_m.mae);
        println!(
            "test ratings {} ({} with an id unknown to the model)",
            test_m.count, test_m.unknown
        );
    }
    Ok(())
}

/// The report of an implicit model: the ranking metrics of protocol A on the test data
/// (K = 10) instead of RMSE.
fn report_implicit(
    a: &TrainArgs,
    implicit: &Implicit,
    model: &TrainedModel,
    train: &Ratings,
    test: &Ratings,
) -> Result<()> {
    let net: &dyn Recommender = &model.model;
    let history: Vec<RankRecord> = model
        .history
        .iter()
        .map(|e| RankRecord {
            epoch: e.epoch,
            seconds: e.seconds,
            ndcg: e.watch_ndcg.unwrap_or(f64::NAN),
            hr: e.watch_hr.unwrap_or(f64::NAN),
        })
        .collect();
    let n_users = net.n_users();
    let test_unknown = (0..test.len())
        .filter(|&k| test.users[k] >= n_users || test.items[k] >= net.n_items())
        .count();
    let mut report = json!({
        "model": net.kind(),
        "params": model.params,
        "implicit": {
            "min_rating": implicit.min_rating,
            "threshold": implicit.threshold,
            "protocol": format!("{:?}", implicit.protocol).to_lowercase(),
        },
        "users": n_users,
        "items": net.n_items(),
        "param_count": net.param_count(),
        "epochs_run": history.len(),
        "train_seconds": model.training.train_seconds,
        "test_count": test.len(),
        "test_unknown": test_unknown,
    });
    let (metrics, lines) = match implicit.protocol {
        Protocol::Full => {
            let m = ranking_metrics_of(net, train, test, 10, implicit.threshold);
            let relevant = match implicit.threshold {
                Some(t) => format!("test rating >= {t}"),
                None => "every test item".into(),
            };
            let head = format!(
                "ranking      full: {} users with a relevant test item ({relevant})",
                m.users
            );
            report["ranking_users"] = m.users.into();
            let rows = vec![
                ("precision@10", m.precision),
                ("recall@10", m.recall),
                ("ndcg@10", m.ndcg),
                ("hr@10", m.hr),
                ("map@10", m.map),
                ("mrr@10", m.mrr),
                ("coverage@10", m.coverage),
            ];
            (m.to_json(), (head, rows))
        }
        Protocol::Sampled => {
            let negatives = crate::eval::ranking::DEFAULT_NEGATIVES;
            let m = crate::eval::ranking::sampled_ranking_metrics_of(
                net,
                train,
                test,
                10,
                negatives,
                SAMPLED_SEED,
            );
            let head = format!(
                "ranking      sampled: {} test items of {} users, each among {negatives} \
                 unrated items (seed {SAMPLED_SEED}); {} unknown to the model",
                m.cases, m.users, m.unknown
            );
            report["ranking_users"] = m.users.into();
            report["ranking_cases"] = m.cases.into();
            let rows = vec![("hr@10", m.hr), ("ndcg@10", m.ndcg), ("mrr@10", m.mrr)];
            (m.to_json(), (head, rows))
        }
    };
    if let (serde_json::Value::Object(r), serde_json::Value::Object(metrics)) =
        (&mut report, metrics)
    {
        metrics.into_iter().for_each(|(k, v)| {
            r.insert(k, v);
        });
        r.insert("history".into(), json!(history));
    }
    if a.json {
        print_json(&report);
        return Ok(());
    }
    println!("model        {} (implicit feedback)", net.kind());
    println!(
        "data         {} train / {} test ratings",
        train.len(),
        test.len()
    );
    println!(
        "rows         {} users, {} items ({} parameters)",
        n_users,
        net.n_items(),
        net.param_count()
    );
    println!(
        "epochs       {} in {:.3} s",
        history.len(),
        model.training.train_seconds
    );
    println!("{}", lines.0);
    for (name, v) in lines.1 {
        println!("  {name:<14} {v:.4}");
    }
    Ok(())
}

/// The implicit-feedback flags: what becomes an interaction, what is relevant, how the
/// test data is ranked.
const IMPLICIT: &[&str] = &["--implicit", "--min-rating", "--threshold", "--protocol"];
/// The ranking-loss flags.
const RANKING: &[&str] = &["--negatives", "--sampling"];
/// The schedule and optimizer flags of the minibatch networks.
const NETWORK: &[&str] = &[
    "--dim",
    "--epochs",
    "--batch",
    "--optimizer",
    "--lr",
    "--lr-decay",
    "--momentum",
    "--nesterov",
    "--l2",
    "--l2-bias",
    "--l2-mode",
    "--init",
    "--loss",
    "--patience",
    "--val-fraction",
    "--threads",
];

/// The one table of the hyper-parameter flags each model kind takes (on ratings, and on
/// implicit feedback where the kind trains on both). Any other hyper-parameter flag is
/// a usage error naming the flag and the kind, found before any data is read. Data,
/// output and reporting flags (`--train`, `--seed`, `--json`, ...) apply to every kind;
/// `--preset` and `--config` are checked by each kind's params.
fn accepted_flags(kind: ModelKind, implicit: bool) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    let deep_only: &[&str] = &[
        "--hidden",
        "--activation",
        "--dropout",
        "--features",
        "--l2-dense",
        "--product",
        "--bias-shortcut",
        "--dot-dim",
        "--l2-dot",
        "--l2-side",
        "--pretrain",
        "--table-lr",
    ];
    let neumf_only: &[&str] = &["--mlp-dim", "--hidden", "--activation", "--l2-dense"];
    match (kind, implicit) {
        (ModelKind::Baseline, _) => v.extend(["--epochs", "--reg-user", "--reg-item"]),
        (ModelKind::Knn, _) => v.extend([
            "--neighbors",
            "--shrinkage",
            "--epochs",
            "--reg-user",
            "--reg-item",
        ]),
        (ModelKind::Mf, false) => v.extend(NETWORK),
        (ModelKind::Mf, true) => {
            v.extend([
                "--dim",
                "--epochs",
                "--optimizer",
                "--lr",
                "--lr-decay",
                "--l2",
                "--l2-bias",
                "--init",
                "--loss",
            ]);
            v.extend(IMPLICIT);
            v.extend(RANKING);
        }
        (ModelKind::Deep | ModelKind::Neumf, implicit) => {
            v.extend(NETWORK);
            v.extend(if kind == ModelKind::Deep {
                deep_only
            } else {
                neumf_only
            });
            if implicit {
                // The ranking trainer has no validation data to stop on.
                v.retain(|f| !matches!(*f, "--patience" | "--val-fraction"));
                v.extend(IMPLICIT);
                v.extend(RANKING);
            }
        }
        (ModelKind::Autorec, _) => v.extend([
            "--epochs",
            "--batch",
            "--optimizer",
            "--lr",
            "--lr-decay",
            "--momentum",
            "--nesterov",
            "--l2",
            "--patience",
            "--val-fraction",
            "--hidden",
        ]),
        (ModelKind::Blend, _) => v.extend(["--members", "--ridge", "--val-fraction"]),
        (ModelKind::Ials, _) => {
            v.extend([
                "--dim",
                "--epochs",
                "--l2",
                "--threads",
                "--init",
                "--alpha",
                "--confidence",
                "--cg-steps",
                "--l2-exponent",
            ]);
            v.extend(IMPLICIT);
        }
        (ModelKind::Ease, _) => {
            v.extend(["--l2", "--threads", "--recency"]);
            v.extend(IMPLICIT);
        }
        (ModelKind::Popularity, _) => v.extend(IMPLICIT),
        (ModelKind::Fm, _) => v.extend([
            "--dim",
            "--sweeps",
            "--burn-in",
            "--keep",
            "--features",
            "--solver",
            "--l2",
            "--threads",
        ]),
    }
    v
}

impl TrainArgs {
    /// Every hyper-parameter flag, as spelled on the command line, with whether it was
    /// given.
    fn hyper_flags(&self) -> Vec<(&'static str, bool)> {
        let h = &self.hyper;
        vec![
            ("--dim", h.dim.is_some()),
            ("--epochs", h.epochs.is_some()),
            ("--batch", h.batch.is_some()),
            ("--optimizer", h.optimizer.is_some()),
            ("--lr", h.lr.is_some()),
            ("--lr-decay", h.lr_decay.is_some()),
            ("--momentum", h.momentum.is_some()),
            ("--nesterov", h.nesterov),
            ("--l2", h.l2.is_some()),
            ("--l2-bias", h.l2_bias.is_some()),
            ("--l2-mode", h.l2_mode.is_some()),
            ("--init", h.init.is_some()),
            ("--loss", h.loss.is_some()),
            ("--patience", h.patience.is_some()),
            ("--val-fraction", h.val_fraction.is_some()),
            ("--threads", h.threads.is_some()),
            ("--mlp-dim", h.mlp_dim.is_some()),
            ("--hidden", h.hidden.is_some()),
            ("--activation", h.activation.is_some()),
            ("--dropout", h.dropout.is_some()),
            ("--features", h.features.is_some()),
            ("--l2-dense", h.l2_dense.is_some()),
            ("--product", h.product.is_some()),
            ("--bias-shortcut", h.bias_shortcut.is_some()),
            ("--dot-dim", h.dot_dim.is_some()),
            ("--l2-dot", h.l2_dot.is_some()),
            ("--l2-side", h.l2_side.is_some()),
            ("--pretrain", h.pretrain.is_some()),
            ("--table-lr", h.table_lr.is_some()),
            ("--reg-user", self.reg_user.is_some()),
            ("--reg-item", self.reg_item.is_some()),
            ("--neighbors", self.neighbors.is_some()),
            ("--shrinkage", self.shrinkage.is_some()),
            ("--members", self.members.is_some()),
            ("--ridge", self.ridge.is_some()),
            ("--implicit", self.implicit),
            ("--min-rating", self.min_rating.is_some()),
            ("--threshold", self.threshold.is_some()),
            ("--negatives", self.negatives.is_some()),
            ("--sampling", self.sampling.is_some()),
            ("--protocol", self.protocol.is_some()),
            ("--alpha", self.alpha.is_some()),
            ("--confidence", self.confidence.is_some()),
            ("--cg-steps", self.cg_steps.is_some()),
            ("--l2-exponent", self.l2_exponent.is_some()),
            ("--recency", self.recency.is_some()),
            ("--sweeps", self.sweeps.is_some()),
            ("--burn-in", self.burn_in.is_some()),
            ("--keep", self.keep.is_some()),
            ("--solver", self.solver.is_some()),
        ]
    }

    /// A given hyper-parameter flag that the chosen kind does not take, as a usage error
    /// naming the flag and the kind ([`accepted_flags`]).
    fn refuse_foreign_flags(&self) -> Result<()> {
        let implicit = self.is_implicit();
        let accepted = accepted_flags(self.model, implicit);
        let kind = self
            .model
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string());
        let with_both = matches!(
            self.model,
            ModelKind::Mf | ModelKind::Deep | ModelKind::Neumf
        );
        let what = match (with_both, implicit) {
            (true, true) => format!("{kind} on implicit feedback"),
            (true, false) => format!("{kind} on ratings"),
            _ => kind,
        };
        match self
            .hyper_flags()
            .into_iter()
            .find(|&(flag, given)| given && !accepted.contains(&flag))
        {
            Some((flag, _)) => Err(Error::Usage(format!(
                "{flag} does not apply to {what} (it takes: {})",
                accepted.join(" ")
            ))),
            None => Ok(()),
        }
    }
}

/// A model kind with its validated parameters.
#[derive(Debug, Clone)]
pub(crate) enum Either {
    Baseline(BaselineParams),
    Mf(MfParams),
    Deep(DeepParams),
    NeuMf(NeuMfParams),
    Knn(KnnParams),
    AutoRec(AutoRecParams),
    Blend(BlendParams),
    Fm(FmParams),
    Ials(IalsParams, Option<Implicit>),
    Ease(EaseParams, Option<Implicit>),
    MfRank(MfRankParams, Option<Implicit>),
    DeepRank(DeepParams, Option<Implicit>),
    NeuMfRank(NeuMfParams, Option<Implicit>),
    Popularity(PopularityParams, Option<Implicit>),
}

impl Either {
    /// The implicit-feedback settings of an implicit model (`None` for rating models).
    pub(crate) fn implicit(&self) -> Option<&Implicit> {
        match self {
            Either::Ials(_, i)
            | Either::Ease(_, i)
            | Either::MfRank(_, i)
            | Either::DeepRank(_, i)
            | Either::NeuMfRank(_, i)
            | Either::Popularity(_, i) => i.as_ref(),
            _ => None,
        }
    }

    /// Whether the model reads the training timestamps (ease with recency).
    pub(crate) fn needs_times(&self) -> bool {
        match self {
            Either::Ease(p, _) => p.uses_recency(),
            Either::Fm(p) => p.uses_time(),
            _ => false,
        }
    }

    /// The params, as the library trains them.
    pub(crate) fn fit_params(&self) -> &dyn Fit {
        match self {
            Either::Baseline(p) => p,
            Either::Mf(p) => p,
            Either::Deep(p) | Either::DeepRank(p, _) => p,
            Either::NeuMf(p) | Either::NeuMfRank(p, _) => p,
            Either::Knn(p) => p,
            Either::AutoRec(p) => p,
            Either::Blend(p) => p,
            Either::Fm(p) => p,
            Either::Ials(p, _) => p,
            Either::Ease(p, _) => p,
            Either::MfRank(p, _) => p,
            Either::Popularity(p, _) => p,
        }
    }
}

/// How ratings become implicit feedback, and how test items become relevant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Implicit {
    /// Interactions are the training ratings >= this (`None`: all); also set in the
    /// model's params, which the library honours.
    pub min_rating: Option<f32>,
    /// Relevant test items: rating >= this (`None`: all).
    pub threshold: Option<f32>,
    /// How the final model's test data is ranked (the per-epoch history is protocol A).
    pub protocol: Protocol,
}

impl Default for Implicit {
    fn default() -> Self {
        Implicit {
            min_rating: None,
            threshold: Some(DEFAULT_THRESHOLD),
            protocol: Protocol::Full,
        }
    }
}
