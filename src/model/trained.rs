//! [`TrainedModel`]: one model of any kind with its raw ids, scale, titles and each
//! user's training items. Built by [`crate::models::Fit::fit`]; saved and loaded by
//! [`crate::store`]; lists, fold-in and evaluation by raw ids in [`crate::recommend`]
//! and [`crate::eval`].

use super::{AnyModel, EpochStats, Feedback, Prediction};
use crate::data::{IdMap, RatingScale, Ratings};
use md5::{Digest, Md5};
use serde_json::Value;

/// How and when a saved model was trained.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingInfo {
    /// Seconds spent training (excluding data loading and evaluation).
    pub train_seconds: f64,
    /// Epochs (or ALS sweeps) run.
    pub epochs_run: usize,
    /// Number of training ratings.
    pub train_ratings: usize,
    /// Version of embedrec that trained the model.
    pub embedrec_version: String,
    /// Creation time, Unix seconds.
    pub created_unix: u64,
}

/// A trained model with what it needs at prediction time: raw id maps, rating scale,
/// item titles and each user's training items. Written by [`crate::store::save`], read by
/// [`crate::store::load`].
///
/// Row `u` of the model is the user with raw id `users.raw(u)` (same for items); the
/// maps hold exactly the ids the model has rows for.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedModel {
    /// The weights.
    pub model: AnyModel,
    /// Hyper-parameters, as the model's params struct serializes.
    pub params: Value,
    /// Raw user id <-> model row.
    pub users: IdMap,
    /// Raw item id <-> model row.
    pub items: IdMap,
    /// The rating scale of the training data.
    pub scale: RatingScale,
    /// Whether predictions are clipped to `scale`.
    pub clip: bool,
    /// Whether the scores are rating estimates or preferences (implicit feedback).
    pub feedback: Feedback,
    /// Per item row: its display title, when the data had one.
    pub titles: Vec<Option<String>>,
    /// MD5 (lowercase hex) of the training triples; see [`fingerprint_of`].
    pub fingerprint: String,
    /// Training time, epochs, version, creation time.
    pub training: TrainingInfo,
    /// Per-epoch figures of the training run (not stored in the model file: empty after
    /// [`crate::store::load`]).
    pub history: Vec<EpochStats>,
    /// CSR offsets (users + 1) into `rated_items`.
    pub(crate) rated_offsets: Vec<usize>,
    /// Each user's training items, ascending, without repeats.
    pub(crate) rated_items: Vec<u32>,
}

impl TrainedModel {
    /// The prediction for raw ids, clipped to the scale when the model clips; an
    /// unknown user or item gets the fallback estimate, flagged (see
    /// [`TrainedModel::predict_raw`]).
    pub fn predict(&self, user: &str, item: &str) -> Prediction {
        self.predict_raw(user, item)
    }

    /// The names of the model's tensors in the model file (f32, then u32), without the
    /// rated-items lists every file has.
    pub fn tensor_names(&self) -> Vec<String> {
        let f = self.model.tensors().into_iter().map(|t| t.name);
        f.chain(self.model.int_tensors().into_iter().map(|(n, _)| n))
            .collect()
    }

    /// The model row of the user with raw id `raw`, if the model knows the user.
    pub fn user_index(&self, raw: &str) -> Option<u32> {
        self.users.index_of(raw)
    }

    /// The model row of the item with raw id `raw`, if the model knows the item.
    pub fn item_index(&self, raw: &str) -> Option<u32> {
        self.items.index_of(raw)
    }

    /// The prediction for raw ids: the model's score when both are known, else its
    /// fallback estimate flagged `fallback: true`; clipped to the scale when `clip` is
    /// set (unlike [`Recommender::predict`], which never clips).
    pub fn predict_raw(&self, user: &str, item: &str) -> Prediction {
        self.predict_index(self.user_index(user), self.item_index(item))
    }

    /// Like [`TrainedModel::predict_raw`] on model rows (`None` or an index past the
    /// model's rows = unknown).
    pub fn predict_index(&self, user: Option<u32>, item: Option<u32>) -> Prediction {
        let user = user.filter(|&u| u < self.model.n_users());
        let item = item.filter(|&i| i < self.model.n_items());
        let mut p = match (user, item) {
            (Some(u), Some(i)) => Prediction {
                value: self.model.score(u, i),
                fallback: false,
            },
            (u, i) => Prediction {
                value: self.model.fallback(u, i),
                fallback: true,
            },
        };
        if self.clip {
            p.value = self.scale.clip(p.value);
        }
        p
    }

    /// [`TrainedModel::predict_raw`] at a time (Unix seconds, as the training data's
    /// timestamps): a model with time features (fm's `day`) scores a known pair on that
    /// day, a time past the training days as the last of them; other models, and the
    /// fallback of an unknown id, ignore it. `None` is [`TrainedModel::predict_raw`] (for
    /// fm: the day averaged over the user's training days).
    ///
    /// ```
    /// use embedrec::{Dataset, Fit, FitOptions, models::MfParams};
    /// let data = Dataset::synthetic(30, 20, 400, 1).unwrap();
    /// let m = MfParams { dim: 4, epochs: 2, ..Default::default() }
    ///     .fit(&data, &FitOptions::default())
    ///     .unwrap();
    /// let (u, i) = (data.users.raw(0), data.items.raw(0));
    /// // MF has no time features: the time changes nothing.
    /// assert_eq!(m.predict_at(u, i, Some(1_000_000_000)), m.predict(u, i));
    /// ```
    pub fn predict_at(&self, user: &str, item: &str, time: Option<i64>) -> Prediction {
        self.predict_index_at(self.user_index(user), self.item_index(item), time)
    }

    /// [`TrainedModel::predict_at`] on model rows (`None` or an index past the model's
    /// rows = unknown).
    pub fn predict_index_at(
        &self,
        user: Option<u32>,
        item: Option<u32>,
        time: Option<i64>,
    ) -> Prediction {
        let user = user.filter(|&u| u < self.model.n_users());
        let item = item.filter(|&i| i < self.model.n_items());
        let (Some(t), Some(u), Some(i)) = (time, user, item) else {
            return self.predict_index(user, item);
        };
        let mut out = Vec::with_capacity(1);
        self.model.predict_many_at(&[u], &[i], Some(&[t]), &mut out);
        let mut value = out
            .first()
            .map_or_else(|| self.model.score(u, i), |p| p.value);
        if self.clip {
            value = self.scale.clip(value);
        }
        Prediction {
            value,
            fallback: false,
        }
    }

    /// The items (model rows, ascending, no repeats) user row `user` rated in training;
    /// empty for an unknown row.
    pub fn rated_items(&self, user: u32) -> &[u32] {
        let u = user as usize;
        match (self.rated_offsets.get(u), self.rated_offsets.get(u + 1)) {
            (Some(&start), Some(&end)) => &self.rated_items[start..end],
            _ => &[],
        }
    }

    /// The title of item row `item`, when the training data had one.
    pub fn title(&self, item: u32) -> Option<&str> {
        self.titles.get(item as usize)?.as_deref()
    }
}

/// MD5 (lowercase hex) of training ratings as (user index, item index, value bits)
/// triples, each a little-endian u32, in rating order.
pub fn fingerprint_of(t: &Ratings) -> String {
    let mut h = Md5::new();
    for k in 0..t.len() {
        let mut triple = [0u8; 12];
        triple[..4].copy_from_slice(&t.users[k].to_le_bytes());
        triple[4..8].copy_from_slice(&t.items[k].to_le_bytes());
        triple[8..].copy_from_slice(&t.values[k].to_bits().to_le_bytes());
        h.update(triple);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
