//! The one way to train any model kind: [`Fit`].
//!
//! Every kind's params implement [`Fit`]: `params.fit(&train, &FitOptions::default())`
//! trains on a [`Dataset`] (ratings with their raw ids, side variables and scale) and
//! returns a [`TrainedModel`] that predicts, recommends and saves with raw ids. What
//! influences training lives in the params (the seed, the validation carve
//! `val_fraction`, `patience`, clipping, the implicit conversion `min_rating`, a
//! blend's members) and is honoured here, not in a front end; [`FitOptions`] adds what
//! does not define the model: threads, validation data given from outside, data to
//! report on after every epoch, and an epoch callback. The library never prints: the
//! command line draws its progress bars from the callback.
//!
//! ```
//! use embedrec::data::{Dataset, SplitSpec};
//! use embedrec::models::{Fit, FitOptions, MfParams};
//!
//! let data = Dataset::synthetic(300, 200, 6_000, 7).unwrap();
//! let (train, test) = data.split(&"random:0.2".parse::<SplitSpec>().unwrap(), 42).unwrap();
//! let model = MfParams { dim: 8, epochs: 10, ..Default::default() }
//!     .fit(&train, &FitOptions::default())
//!     .unwrap();
//! assert!(model.evaluate(&test).unwrap().rmse < 1.2);
//! ```

use super::blend::{Blend, BlendParams, fit_weights};
use super::{
    AnyModel, AutoRecInput, AutoRecParams, BaselineParams, DeepParams, EaseParams, IalsParams,
    KnnParams, MfParams, MfRankParams, NeuMfParams, Popularity, Recommender,
};
use crate::data::split::{kfold, validation_split};
use crate::data::{Dataset, Features, IdMap, RatingScale, Ratings, TrainTest};
use crate::error::{Error, Result};
use crate::metrics::ranking::{DEFAULT_THRESHOLD, ranking_metrics_of};
use crate::metrics::rating_metrics;
pub use crate::model::{EpochStats, Feedback};
use crate::model::{TrainedModel, TrainingInfo, fingerprint_of};
use crate::train::{EpochRecord, EvalSets, History};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::time::Instant;

mod kinds;
mod train_blend;
pub use kinds::*;

/// Where validation data (for early stopping, and for a blend's weights) comes from.
#[derive(Debug, Clone, Copy, Default)]
pub enum Validation<'a> {
    /// The params' own carve: `val_fraction` of the training ratings, seeded by the
    /// params' seed (none when the params have no carve or it is 0).
    #[default]
    Params,
    /// No validation data, whatever the params say.
    None,
    /// Carve this share of the training ratings (seeded by the params' seed).
    Carve(f64),
    /// These ratings, read through the training data's raw ids (ids the training data
    /// lacks are scored by the fallback, as at prediction time).
    Data(&'a Dataset),
}

/// The callback of [`FitOptions::on_epoch`]: the epoch's figures and the model as it
/// stands; an error ends training and is returned by `fit` (e.g. an interrupt).
pub type OnEpoch<'a> = &'a dyn Fn(&EpochStats, &dyn Recommender) -> Result<()>;

/// How to run a training (what does not define the model; that is in the params).
#[derive(Clone, Copy)]
pub struct FitOptions<'a> {
    /// Threads, overriding the params' `threads` where the kind has them (the model file
    /// records the number used). Results of mf, ials and ease do not depend on it.
    pub threads: Option<usize>,
    /// Validation data for early stopping (`patience`) and blend weights.
    pub validation: Validation<'a>,
    /// Data evaluated after every epoch and reported (never used for a decision): test
    /// RMSE of rating models, NDCG@10 / HR@10 of implicit models.
    pub watch: Option<&'a Dataset>,
    /// Implicit models: a watched item is relevant when its rating is at least this
    /// (`None`: every watched item). Default 4.
    pub threshold: Option<f32>,
    /// Called after every epoch.
    pub on_epoch: Option<OnEpoch<'a>>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            threads: None,
            validation: Validation::Params,
            watch: None,
            threshold: Some(DEFAULT_THRESHOLD),
            on_epoch: None,
        }
    }
}

impl std::fmt::Debug for FitOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitOptions")
            .field("threads", &self.threads)
            .field("validation", &self.validation)
            .field("watch", &self.watch.map(|d| d.source.clone()))
            .field("threshold", &self.threshold)
            .field("on_epoch", &self.on_epoch.is_some())
            .finish()
    }
}

/// Training ratings over fixed model rows: users `0..n_users`, items `0..n_items`, row
/// `u` being the user with raw id `users.raw(u)`. [`Fit::fit`] builds one from a
/// [`Dataset`]; blends and cross-validation build theirs to train several models over
/// the same rows.
#[derive(Debug, Clone, Copy)]
pub struct TrainingSet<'a> {
    /// The ratings trained on; every index below `n_users` / `n_items`.
    pub ratings: &'a Ratings,
    /// Raw user ids (at least `n_users`; rows first).
    pub users: &'a IdMap,
    /// Raw item ids (at least `n_items`; rows first).
    pub items: &'a IdMap,
    /// User rows of the model.
    pub n_users: u32,
    /// Item rows of the model.
    pub n_items: u32,
    /// Side variables and titles, by raw id.
    pub features: &'a Features,
    /// The rating scale.
    pub scale: RatingScale,
}

impl<'a> TrainingSet<'a> {
    /// The training half of a split (`data` gives the features and the scale).
    pub fn of_split(split: &'a TrainTest, data: &'a Dataset) -> Self {
        TrainingSet {
            ratings: &split.train,
            users: &split.users,
            items: &split.items,
            n_users: split.train_users,
            n_items: split.train_items,
            features: &data.features,
            scale: data.scale,
        }
    }

    /// The same rows with other ratings (a carve of these).
    fn with_ratings(&self, ratings: &'a Ratings) -> Self {
        TrainingSet { ratings, ..*self }
    }
}

/// [`FitOptions`] with the validation and watched data read into the rows of a
/// [`TrainingSet`] (ids it lacks get indices past its rows: unknown to the model).
#[derive(Clone, Copy, Default)]
pub struct RowOptions<'a> {
    /// As [`FitOptions::threads`].
    pub threads: Option<usize>,
    /// As [`FitOptions::validation`], with the data in rows.
    pub validation: RowValidation<'a>,
    /// As [`FitOptions::watch`], in rows.
    pub watch: Option<&'a Ratings>,
    /// As [`FitOptions::threshold`].
    pub threshold: Option<f32>,
    /// As [`FitOptions::on_epoch`].
    pub on_epoch: Option<OnEpoch<'a>>,
}

/// [`Validation`] in rows.
#[derive(Debug, Clone, Copy, Default)]
pub enum RowValidation<'a> {
    /// See [`Validation::Params`].
    #[default]
    Params,
    /// See [`Validation::None`].
    None,
    /// See [`Validation::Carve`].
    Carve(f64),
    /// See [`Validation::Data`].
    Ratings(&'a Ratings),
}

/// What a kind's training produced, before it is bundled with its ids.
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The model.
    pub model: AnyModel,
    /// Its params as the model file records them.
    pub params: Value,
    /// Whether its scores are ratings or preferences.
    pub feedback: Feedback,
    /// Whether predictions are clipped to the scale.
    pub clip: bool,
    /// Per-epoch figures (empty for closed-form kinds).
    pub history: Vec<EpochStats>,
    /// Seconds of training (evaluation excluded).
    pub train_seconds: f64,
}

impl TrainedModel {
    /// Bundles a model trained on `split` (rows `0..split.train_users` and
    /// `0..split.train_items`) with the split's raw ids, `data`'s scale and titles, the
    /// users' training items and the fingerprint of `split.train`.
    ///
    /// Fails ([`Error::Usage`]) when the model's rows do not match the split.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        model: AnyModel,
        params: Value,
        feedback: Feedback,
        split: &TrainTest,
        data: &Dataset,
        clip: bool,
        train_seconds: f64,
        epochs_run: usize,
    ) -> Result<TrainedModel> {
        let fitted = Fitted {
            model,
            params,
            feedback,
            clip,
            history: Vec::new(),
            train_seconds,
        };
        let mut m = Self::from_fitted(fitted, &TrainingSet::of_split(split, data))?;
        m.training.epochs_run = epochs_run;
        Ok(m)
    }

    /// Bundles what [`crate::models::Fit::fit_rows`] trained on `set` with the raw ids of
    /// its rows, the scale, the item titles, each user's training items and the
    /// fingerprint of the training ratings.
    ///
    /// Fails ([`Error::Usage`]) when the model's rows do not match the set.
    pub fn from_fitted(fitted: Fitted, set: &TrainingSet<'_>) -> Result<TrainedModel> {
        let model = fitted.model;
        let (n_users, n_items) = (model.n_users(), model.n_items());
        if n_users != set.n_users
            || n_items != set.n_items
            || n_users as usize > set.users.len()
            || n_items as usize > set.items.len()
        {
            return Err(Error::Usage(format!(
                "model has {n_users} x {n_items} rows but the training data has {} x {}",
                set.n_users, set.n_items
            )));
        }
        let users = IdMap::from_raw(&set.users.raw_ids()[..n_users as usize]);
        let items = IdMap::from_raw(&set.items.raw_ids()[..n_items as usize]);
        let titles = items
            .raw_ids()
            .iter()
            .map(|raw| set.features.items.title(raw).map(str::to_string))
            .collect();
        let train = set.ratings;
        let mut per_user = vec![Vec::new(); n_users as usize];
        for (&u, &i) in train.users.iter().zip(&train.items) {
            if u >= n_users || i >= n_items {
                return Err(Error::Usage(format!(
                    "training rating ({u}, {i}) lies outside the model's rows"
                )));
            }
            per_user[u as usize].push(i);
        }
        let mut rated_offsets = Vec::with_capacity(n_users as usize + 1);
        let mut rated_items = Vec::with_capacity(train.len());
        rated_offsets.push(0);
        for mut list in per_user {
            list.sort_unstable();
            list.dedup();
            rated_items.extend_from_slice(&list);
            rated_offsets.push(rated_items.len());
        }
        let created_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(TrainedModel {
            model,
            params: fitted.params,
            users,
            items,
            scale: set.scale,
            clip: fitted.clip,
            feedback: fitted.feedback,
            titles,
            fingerprint: fingerprint_of(train),
            training: TrainingInfo {
                train_seconds: fitted.train_seconds,
                epochs_run: fitted.history.len(),
                train_ratings: train.len(),
                embedrec_version: env!("CARGO_PKG_VERSION").to_string(),
                created_unix,
            },
            history: fitted.history,
            rated_offsets,
            rated_items,
        })
    }
}

/// Training, for every model kind's params.
pub trait Fit: Send + Sync {
    /// The model kind these params train, as on the command line (`mf`, `deep`, ...).
    fn kind(&self) -> &'static str;

    /// Checks every value against its documented range ([`Error::Usage`] naming it).
    fn check(&self) -> Result<()>;

    /// Every value, as the model file records them.
    fn to_json(&self) -> Value;

    /// Whether training reads the ratings' timestamps (ease with recency weights, fm
    /// with time features): a front keeps them when it reads the data.
    fn needs_times(&self) -> bool {
        false
    }

    /// Trains on a [`TrainingSet`] with options in its rows. The lower-level entry point
    /// behind [`Fit::fit`], for training several models over the same rows.
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted>;

    /// Trains on `train` (a [`Dataset`]: its ratings, raw ids, side variables and scale)
    /// and returns the model with its ids. Only the ids that have ratings in `train` get
    /// model rows; the rest are unknown to the model.
    fn fit(&self, train: &Dataset, options: &FitOptions<'_>) -> Result<TrainedModel> {
        self.check()?;
        if train.ratings.is_empty() {
            return Err(Error::Usage("cannot train on no ratings".into()));
        }
        let rows = Rows::of(train);
        let set = rows.set(train);
        let validation_rows;
        let validation = match options.validation {
            Validation::Params => RowValidation::Params,
            Validation::None => RowValidation::None,
            Validation::Carve(f) => RowValidation::Carve(f),
            Validation::Data(d) => {
                validation_rows = in_rows(d, &set);
                RowValidation::Ratings(&validation_rows)
            }
        };
        let watch = options.watch.map(|d| in_rows(d, &set));
        let row_options = RowOptions {
            threads: options.threads,
            validation,
            watch: watch.as_ref(),
            threshold: options.threshold,
            on_epoch: options.on_epoch,
        };
        let fitted = self.fit_rows(&set, &row_options)?;
        TrainedModel::from_fitted(fitted, &set)
    }
}

/// The rows of a dataset: its own ids when every one has a rating, else the ids
/// renumbered in order of first appearance, the unrated ones dropped.
enum Rows {
    Own,
    Renumbered(Box<TrainTest>),
}

impl Rows {
    fn of(data: &Dataset) -> Rows {
        let compact = |ids: &[u32], n: usize| {
            let mut seen = vec![false; n];
            let mut count = 0;
            for &i in ids {
                if let Some(s) = seen.get_mut(i as usize)
                    && !*s
                {
                    *s = true;
                    count += 1;
                }
            }
            count == n
        };
        let r = &data.ratings;
        if compact(&r.users, data.users.len()) && compact(&r.items, data.items.len()) {
            return Rows::Own;
        }
        Rows::Renumbered(Box::new(TrainTest::new(
            r.clone(),
            Ratings::default(),
            data.users.clone(),
            data.items.clone(),
        )))
    }

    fn set<'a>(&'a self, data: &'a Dataset) -> TrainingSet<'a> {
        match self {
            Rows::Own => TrainingSet {
                ratings: &data.ratings,
                users: &data.users,
                items: &data.items,
                n_users: data.users.len() as u32,
                n_items: data.items.len() as u32,
                features: &data.features,
                scale: data.scale,
            },
            Rows::Renumbered(split) => TrainingSet::of_split(split, data),
        }
    }
}

/// `data`'s ratings in the rows of `set`: each id looked up by its raw id, an id the
/// set has no row for becoming index `n_users` (or `n_items`): unknown to the model.
pub(crate) fn in_rows(data: &Dataset, set: &TrainingSet<'_>) -> Ratings {
    let table = |ids: &IdMap, rows: &IdMap, n: u32| -> Vec<u32> {
        (0..ids.len() as u32)
            .map(|k| rows.index_of(ids.raw(k)).filter(|&r| r < n).unwrap_or(n))
            .collect()
    };
    let users = table(&data.users, set.users, set.n_users);
    let items = table(&data.items, set.items, set.n_items);
    let r = &data.ratings;
    Ratings {
        users: r.users.iter().map(|&u| users[u as usize]).collect(),
        items: r.items.iter().map(|&i| items[i as usize]).collect(),
        values: r.values.clone(),
        times: r.times.clone(),
    }
}

/// The interactions of an implicit model: the training ratings at or above
/// `min_rating` (all of them when `None`).
fn interactions<'a>(ratings: &'a Ratings, min_rating: Option<f32>) -> Result<Cow<'a, Ratings>> {
    let Some(min) = min_rating else {
        return Ok(Cow::Borrowed(ratings));
    };
    if !min.is_finite() {
        return Err(Error::Usage(format!(
            "min_rating must be a number, got {min}"
        )));
    }
    let keep: Vec<usize> = (0..ratings.len())
        .filter(|&k| ratings.values[k] >= min)
        .collect();
    if keep.is_empty() {
        return Err(Error::Usage(format!(
            "no training rating is >= min_rating {min}"
        )));
    }
    Ok(Cow::Owned(ratings.select(&keep)))
}

/// Refuses `min_rating` on a model trained on ratings.
fn check_min_rating(kind: &str, min_rating: Option<f32>, implicit: bool) -> Result<()> {
    match min_rating {
        Some(_) if !implicit => Err(Error::Usage(format!(
            "min_rating applies to models trained on implicit feedback, not to {kind} \
             with a rating loss"
        ))),
        Some(m) if !m.is_finite() => Err(Error::Usage(format!(
            "min_rating must be a number, got {m}"
        ))),
        _ => Ok(()),
    }
}

/// Trains a rating network: the validation data as `options` and the params
/// (`val_fraction`, `seed`) say, every epoch reported, the history kept.
fn network<M: Into<AnyModel>>(
    set: &TrainingSet<'_>,
    options: &RowOptions<'_>,
    (params, val_fraction, seed, clip, epochs): (Value, f64, u64, bool, usize),
    train: impl FnOnce(
        EvalSets<'_>,
        &mut dyn FnMut(&EpochRecord, &dyn Recommender) -> Result<()>,
    ) -> Result<(M, History)>,
) -> Result<Fitted> {
    let carve = match options.validation {
        RowValidation::Params => val_fraction,
        RowValidation::Carve(f) => f,
        RowValidation::None | RowValidation::Ratings(_) => 0.0,
    };
    if !(0.0..1.0).contains(&carve) {
        return Err(Error::Usage(format!(
            "a validation carve must be a share in [0, 1), got {carve}"
        )));
    }
    let (fit_idx, val_idx) = if carve > 0.0 {
        validation_split(set.ratings, carve, seed)
    } else {
        (Vec::new(), Vec::new())
    };
    let fit_set = if val_idx.is_empty() {
        Cow::Borrowed(set.ratings)
    } else {
        Cow::Owned(set.ratings.select(&fit_idx))
    };
    let carved = set.ratings.select(&val_idx);
    let val = match options.validation {
        RowValidation::Ratings(r) => Some(r),
        _ => (!val_idx.is_empty()).then_some(&carved),
    };
    let scale = clip.then_some(set.scale);
    let sets = EvalSets {
        train: &fit_set,
        val,
        test: options.watch,
        clip: scale,
    };
    let mut history = Vec::new();
    let (model, h) = train(sets, &mut |e, m| {
        let stats = EpochStats {
            epoch: e.epoch,
            epochs,
            seconds: e.seconds,
            train_rmse: Some(e.train_rmse),
            val_rmse: e.val_rmse,
            watch_rmse: e.test_rmse,
            watch_ndcg: None,
            watch_hr: None,
        };
        if let Some(f) = options.on_epoch {
            f(&stats, m)?;
        }
        history.push(stats);
        Ok(())
    })?;
    Ok(Fitted {
        model: model.into(),
        params,
        feedback: Feedback::Ratings,
        clip,
        history,
        train_seconds: h.train_seconds,
    })
}

/// Trains an implicit model on the interactions (ratings at or above `min_rating`):
/// every epoch (sweep) timed, the watched data ranked (NDCG@10, HR@10; not counted as
/// training time) and reported.
fn ranked<M: Into<AnyModel>>(
    set: &TrainingSet<'_>,
    options: &RowOptions<'_>,
    (params, min_rating, epochs): (Value, Option<f32>, usize),
    fit: impl FnOnce(&Ratings, &mut dyn FnMut(usize, &dyn Recommender) -> Result<()>) -> Result<M>,
) -> Result<Fitted> {
    let data = interactions(set.ratings, min_rating)?;
    let mut history = Vec::new();
    let mut train_seconds = 0.0;
    let mut last = Instant::now();
    let model = fit(&data, &mut |epoch, m| {
        let seconds = last.elapsed().as_secs_f64();
        train_seconds += seconds;
        let ranking = options
            .watch
            .map(|w| ranking_metrics_of(m, set.ratings, w, 10, options.threshold));
        let stats = EpochStats {
            epoch,
            epochs,
            seconds,
            train_rmse: None,
            val_rmse: None,
            watch_rmse: None,
            watch_ndcg: ranking.map(|r| r.ndcg),
            watch_hr: ranking.map(|r| r.hr),
        };
        if let Some(f) = options.on_epoch {
            f(&stats, m)?;
        }
        history.push(stats);
        last = Instant::now();
        Ok(())
    })?;
    Ok(Fitted {
        model: model.into(),
        params,
        feedback: Feedback::Preferences,
        clip: false,
        history,
        train_seconds,
    })
}

/// A closed-form or non-epoch kind: timed, no history.
fn closed_form<M: Into<AnyModel>>(
    params: Value,
    feedback: Feedback,
    clip: bool,
    fit: impl FnOnce() -> Result<M>,
) -> Result<Fitted> {
    let started = Instant::now();
    let model = fit()?;
    Ok(Fitted {
        model: model.into(),
        params,
        feedback,
        clip,
        history: Vec::new(),
        train_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Refuses validation data given to a kind that does not use any.
fn no_validation(kind: &str, options: &RowOptions<'_>) -> Result<()> {
    match options.validation {
        RowValidation::Params | RowValidation::None => Ok(()),
        _ => Err(Error::Usage(format!(
            "{kind} takes no validation data (it has no epochs to stop early)"
        ))),
    }
}
