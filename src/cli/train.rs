//! `embedrec train`: load or split data, fit a model, report metrics (text or `--json`).

use super::{ReaderArgs, print_json, print_warnings};
use crate::data::split::SplitSpec;
use crate::data::split::validation_split;
use crate::data::{self, Dataset, RatingScale, TrainTest};
use crate::error::{Error, Result};
use crate::eval::rating_metrics;
use crate::models::blend::{Blend, BlendParams, fit_weights};
use crate::models::{
    AnyModel, AutoRecParams, BaselineParams, DeepParams, KnnParams, MfParams, Recommender,
};
use crate::store::{self, SavedModel};
use crate::train::EvalSets;
use clap::{Args, ValueEnum};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

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
    /// Loads the data and builds the split (`seed` drives random splits).
    pub(crate) fn load(&self, seed: u64) -> Result<(Dataset, TrainTest)> {
        let opts = self.reader.options()?;
        let (data, split) = match (&self.train, &self.test, &self.data, &self.split) {
            (Some(train), Some(test), None, None) => data::load_train_test(train, test, &opts)?,
            (None, None, Some(path), Some(spec)) => {
                let spec: SplitSpec = spec.parse()?;
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
    /// model, without and with an occupation embedding).
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
    /// mse | rmse (batch RMSE, as the textbook's Keras code).
    #[arg(long)]
    loss: Option<String>,
    /// Early stopping: epochs without a better validation RMSE (needs --val-fraction).
    #[arg(long)]
    patience: Option<usize>,
    /// Share of the training data carved out for validation.
    #[arg(long)]
    val_fraction: Option<f64>,
    /// Training threads (mf: > 1 only for per-example plain SGD, see the docs of
    /// MfParams; deep: threads of the dense layers' matrix products).
    #[arg(long)]
    threads: Option<usize>,
    /// Deep: hidden layer widths, e.g. 2048,256 (empty: no hidden layer).
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

/// What every model's training reports.
pub(crate) struct Outcome {
    pub(crate) model: AnyModel,
    params: serde_json::Value,
    history: Vec<EpochRecord>,
    train_seconds: f64,
    pub(crate) clip: bool,
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
        let mut p = match self.preset.as_deref() {
            None => DeepParams::default(),
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
        if h.l2_bias.is_some() {
            return Err(Error::Usage(
                "deep uses one --l2 for every embedding table; --l2-bias is for mf".into(),
            ));
        }
        set!(p, h, dim);
        set!(p, h, epochs);
        set!(p, h, batch);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        set!(p, h, l2);
        set!(p, h, l2_dense);
        set!(p, h, dropout);
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
        p.check()?;
        Ok(p)
    }

    fn baseline_params(&self) -> Result<BaselineParams> {
        if self.preset.is_some() {
            return Err(Error::Usage("the baseline has no presets".into()));
        }
        let mut p = BaselineParams::default();
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
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

    fn knn_params(&self) -> Result<KnnParams> {
        if self.preset.is_some() {
            return Err(Error::Usage("knn has no presets".into()));
        }
        let mut p = KnnParams::default();
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
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
        if self.preset.is_some() {
            return Err(Error::Usage("autorec has no presets".into()));
        }
        let mut p = AutoRecParams {
            seed: self.seed,
            ..Default::default()
        };
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
        let h = &self.hyper;
        for (given, flag) in [
            (h.dim.is_some(), "--dim (the code size is --hidden)"),
            (h.l2_bias.is_some(), "--l2-bias"),
            (h.l2_mode.is_some(), "--l2-mode"),
            (h.init.is_some(), "--init"),
            (h.loss.is_some(), "--loss"),
            (h.activation.is_some(), "--activation"),
            (h.dropout.is_some(), "--dropout"),
            (h.features.is_some(), "--features"),
            (h.l2_dense.is_some(), "--l2-dense"),
            (h.threads.is_some(), "--threads"),
        ] {
            if given {
                return Err(Error::Usage(format!("autorec does not take {flag}")));
            }
        }
        set!(p, h, epochs);
        set!(p, h, batch);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        set!(p, h, l2);
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

    fn blend_params(&self) -> Result<BlendParams> {
        if self.preset.is_some() {
            return Err(Error::Usage("blend has no presets".into()));
        }
        let mut p = BlendParams {
            seed: self.seed,
            ..Default::default()
        };
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
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

/// Each blend member's params: its kind's defaults, with the blend's seed.
fn member_params(p: &BlendParams) -> Result<Vec<Either>> {
    p.members
        .iter()
        .map(|kind| {
            Ok(match kind.as_str() {
                "baseline" => Either::Baseline(BaselineParams::default()),
                "mf" => Either::Mf(MfParams {
                    seed: p.seed,
                    ..Default::default()
                }),
                "deep" => Either::Deep(DeepParams {
                    seed: p.seed,
                    ..Default::default()
                }),
                "knn" => Either::Knn(KnnParams::default()),
                "autorec" => Either::AutoRec(AutoRecParams {
                    seed: p.seed,
                    ..Default::default()
                }),
                other => {
                    return Err(Error::Usage(format!(
                        "blend member `{other}` cannot be trained by a blend"
                    )));
                }
            })
        })
        .collect()
}

/// Trains a blend: the members on the training data less a validation carve, the
/// weights on the members' predictions of that carve, then (with `refit`) the members
/// again on all the training data. The test set is only reported on.
fn train_blend(
    p: BlendParams,
    data: &Dataset,
    split: &TrainTest,
    progress: bool,
) -> Result<Outcome> {
    let started = Instant::now();
    let members = member_params(&p)?;
    let (fit_idx, val_idx) = validation_split(&split.train, p.val_fraction, p.seed);
    if val_idx.is_empty() || fit_idx.is_empty() {
        return Err(Error::Usage(
            "blend: too few training ratings to carve a validation set".into(),
        ));
    }
    let inner = TrainTest {
        train: split.train.select(&fit_idx),
        test: split.train.select(&val_idx),
        users: split.users.clone(),
        items: split.items.clone(),
        train_users: split.train_users,
        train_items: split.train_items,
    };
    let val = &inner.test;
    let scale = data.scale;
    let mut columns = Vec::new();
    let mut first_models = Vec::new();
    let mut member_json = Vec::new();
    let mut member_rmse = Vec::new();
    let mut preds = Vec::new();
    for m in &members {
        let outcome = fit(m, &inner, data, progress)?;
        outcome
            .model
            .predict_many(&val.users, &val.items, &mut preds);
        let column: Vec<f32> = preds.iter().map(|x| scale.clip(x.value)).collect();
        member_rmse.push(rmse(&column, &val.values));
        columns.push(column);
        member_json.push(outcome.params);
        first_models.push(outcome.model);
    }
    let (intercept, weights) = fit_weights(&columns, &val.values, p.ridge)?;
    let blended: Vec<f32> = (0..val.len())
        .map(|t| {
            intercept
                + columns
                    .iter()
                    .zip(&weights)
                    .map(|(c, w)| w * c[t])
                    .sum::<f32>()
        })
        .collect();
    let blend_val_rmse = rmse(&blended, &val.values);
    let models = if p.refit {
        members
            .iter()
            .map(|m| fit(m, split, data, progress).map(|o| o.model))
            .collect::<Result<Vec<_>>>()?
    } else {
        first_models
    };
    let blend = Blend::new(models, intercept, weights, Some(scale))?;
    let mut params = json!(p);
    params["member_params"] = json!(member_json);
    params["member_clip"] = json!(scale);
    params["validation"] = json!({
        "ratings": val.len(),
        "member_rmse": member_rmse,
        "blend_rmse": blend_val_rmse,
        "intercept": blend.intercept,
        "weights": blend.weights,
    });
    Ok(Outcome {
        model: blend.into(),
        params,
        history: Vec::new(),
        train_seconds: started.elapsed().as_secs_f64(),
        clip: true,
    })
}

fn rmse(predictions: &[f32], values: &[f32]) -> f64 {
    let se: f64 = predictions
        .iter()
        .zip(values)
        .map(|(p, v)| ((p - v) as f64).powi(2))
        .sum();
    (se / values.len().max(1) as f64).sqrt()
}

fn train_knn(p: KnnParams, split: &TrainTest) -> Result<Outcome> {
    let started = Instant::now();
    let model = p.fit(&split.train, split.train_users, split.train_items)?;
    Ok(Outcome {
        model: model.into(),
        params: json!(p),
        history: Vec::new(),
        train_seconds: started.elapsed().as_secs_f64(),
        clip: true,
    })
}

fn train_baseline(
    p: BaselineParams,
    split: &TrainTest,
    clip: Option<RatingScale>,
) -> Result<Outcome> {
    let mut history = Vec::new();
    let mut train_seconds = 0.0;
    let mut last = Instant::now();
    let model = p.fit(
        &split.train,
        split.train_users,
        split.train_items,
        |epoch, m| {
            let seconds = last.elapsed().as_secs_f64();
            train_seconds += seconds;
            history.push(EpochRecord {
                epoch,
                train_rmse: rating_metrics(m, &split.train, clip).rmse,
                test_rmse: rating_metrics(m, &split.test, clip).rmse,
                seconds,
            });
            last = Instant::now();
        },
    )?;
    Ok(Outcome {
        model: model.into(),
        params: json!(p),
        history,
        train_seconds,
        clip: true,
    })
}

/// Trains a network: carves `val_fraction` of the training data for validation (early
/// stopping) when asked, fits on the rest with the test set reported per epoch, and
/// packages the outcome.
fn train_network<M: Into<AnyModel>>(
    split: &TrainTest,
    params: serde_json::Value,
    (val_fraction, seed, clip): (f64, u64, Option<RatingScale>),
    fit: impl FnOnce(EvalSets<'_>) -> Result<(M, crate::train::History)>,
) -> Result<Outcome> {
    let (fit_idx, val_idx) = if val_fraction > 0.0 {
        validation_split(&split.train, val_fraction, seed)
    } else {
        ((0..split.train.len()).collect(), Vec::new())
    };
    let fit_set = if val_idx.is_empty() {
        split.train.clone()
    } else {
        split.train.select(&fit_idx)
    };
    let val_set = split.train.select(&val_idx);
    let sets = EvalSets {
        train: &fit_set,
        val: (!val_idx.is_empty()).then_some(&val_set),
        test: Some(&split.test),
        clip,
    };
    let (model, history) = fit(sets)?;
    let records = history
        .epochs
        .iter()
        .map(|e| EpochRecord {
            epoch: e.epoch,
            train_rmse: e.train_rmse,
            test_rmse: e.test_rmse.unwrap_or(f64::NAN),
            seconds: e.seconds,
        })
        .collect();
    Ok(Outcome {
        model: model.into(),
        params,
        history: records,
        train_seconds: history.train_seconds,
        clip: clip.is_some(),
    })
}

fn train_mf(p: MfParams, split: &TrainTest, scale: RatingScale, progress: bool) -> Result<Outcome> {
    let setup = (p.val_fraction, p.seed, p.clip.then_some(scale));
    train_network(split, json!(p), setup, |sets| {
        p.fit(sets, split.train_users, split.train_items, progress, |_| {})
    })
}

fn train_autorec(
    p: AutoRecParams,
    split: &TrainTest,
    scale: RatingScale,
    progress: bool,
) -> Result<Outcome> {
    let setup = (p.val_fraction, p.seed, p.clip.then_some(scale));
    train_network(split, json!(p), setup, |sets| {
        p.fit(sets, split.train_users, split.train_items, progress, |_| {})
    })
}

fn train_deep(p: DeepParams, data: &Dataset, split: &TrainTest, progress: bool) -> Result<Outcome> {
    let sides = crate::models::deep::side_inputs(&p.features, data, split)?;
    let setup = (p.val_fraction, p.seed, p.clip.then_some(data.scale));
    train_network(split, json!(p), setup, |sets| {
        p.fit(
            sets,
            split.train_users,
            split.train_items,
            sides,
            progress,
            |_| {},
        )
    })
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
        Ok(match self.model {
            ModelKind::Baseline => Either::Baseline(self.baseline_params()?),
            ModelKind::Mf => Either::Mf(self.mf_params()?),
            ModelKind::Deep => Either::Deep(self.deep_params()?),
            ModelKind::Knn => Either::Knn(self.knn_params()?),
            ModelKind::Autorec => Either::AutoRec(self.autorec_params()?),
            ModelKind::Blend => Either::Blend(self.blend_params()?),
        })
    }
}

/// Trains the model `params` describes on `split`.
pub(crate) fn fit(
    params: &Either,
    split: &TrainTest,
    data: &Dataset,
    progress: bool,
) -> Result<Outcome> {
    match params {
        Either::Baseline(p) => train_baseline(p.clone(), split, Some(data.scale)),
        Either::Mf(p) => train_mf(p.clone(), split, data.scale, progress),
        Either::Deep(p) => train_deep(p.clone(), data, split, progress),
        Either::Knn(p) => train_knn(p.clone(), split),
        Either::AutoRec(p) => train_autorec(p.clone(), split, data.scale, progress),
        Either::Blend(p) => train_blend(p.clone(), data, split, progress),
    }
}

pub(crate) fn run(a: &TrainArgs) -> Result<()> {
    // Validate every flag before the (possibly long) data load.
    let kind_params = a.params()?;
    if let Some(path) = &a.plot {
        crate::plot::Format::from_path(path)?;
    }
    let (data, split) = a.data.load(a.seed)?;
    let outcome = fit(&kind_params, &split, &data, !a.json)?;
    let model: &dyn Recommender = &outcome.model;
    let clip = outcome.clip.then_some(data.scale);
    let train_m = rating_metrics(model, &split.train, clip);
    let test_m = rating_metrics(model, &split.test, clip);
    if let Some(path) = &a.curve {
        write_curve(path, &outcome.history)?;
    }
    if let Some(path) = &a.plot {
        let title = format!("{}: final test RMSE {:.4}", model.kind(), test_m.rmse);
        write_plot(path, &title, &outcome.history)?;
    }
    if let Some(path) = &a.out {
        let saved = SavedModel::new(
            outcome.model.clone(),
            outcome.params.clone(),
            &split,
            &data,
            outcome.clip,
            outcome.train_seconds,
            outcome.history.len(),
        )?;
        store::save(path, &saved)?;
    }
    let report = json!({
        "model": model.kind(),
        "params": outcome.params,
        "users": model.n_users(),
        "items": model.n_items(),
        "param_count": model.param_count(),
        "epochs_run": outcome.history.len(),
        "train_seconds": outcome.train_seconds,
        "train_rmse": train_m.rmse,
        "test_rmse": test_m.rmse,
        "test_mae": test_m.mae,
        "test_count": test_m.count,
        "test_unknown": test_m.unknown,
        "history": outcome.history,
    });
    if a.json {
        print_json(&report);
    } else {
        println!("model        {}", model.kind());
        println!(
            "data         {} train / {} test ratings",
            split.train.len(),
            split.test.len()
        );
        println!(
            "rows         {} users, {} items ({} parameters)",
            model.n_users(),
            model.n_items(),
            model.param_count()
        );
        println!(
            "epochs       {} in {:.3} s",
            outcome.history.len(),
            outcome.train_seconds
        );
        println!("train RMSE   {:.4}", train_m.rmse);
        println!("test RMSE    {:.4}   MAE {:.4}", test_m.rmse, test_m.mae);
        println!(
            "test ratings {} ({} with an id unknown to the model)",
            test_m.count, test_m.unknown
        );
    }
    Ok(())
}

/// A model kind with its validated parameters.
#[derive(Debug, Clone)]
pub(crate) enum Either {
    Baseline(BaselineParams),
    Mf(MfParams),
    Deep(DeepParams),
    Knn(KnnParams),
    AutoRec(AutoRecParams),
    Blend(BlendParams),
}
