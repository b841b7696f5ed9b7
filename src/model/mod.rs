//! What a trained model is, for every part of the crate that handles one: the
//! [`Recommender`] and [`Model`] traits every kind implements, [`AnyModel`] (one kind's
//! model, boxed), what a model reports ([`Prediction`], [`Feedback`], [`EpochStats`],
//! [`FoldedUser`], [`NamedTensor`]) and [`TrainedModel`], the model with its raw ids.
//!
//! A leaf: it imports only `data` and `error`, so that the training loop, the metrics
//! and every model kind can name these types without importing from above. The methods
//! of [`TrainedModel`] that need more live beside their subject: training in
//! [`crate::models::fit`], lists and fold-in in [`crate::recommend`], evaluation in
//! [`crate::eval`], the model file in [`crate::store`].

mod trained;

pub use trained::{TrainedModel, TrainingInfo, fingerprint_of};

/// A prediction for one (user, item) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// The estimate (not clipped).
    pub value: f32,
    /// True when the user or the item is unknown to the model and `value` is the
    /// fallback estimate (global mean plus whichever bias is known).
    pub fallback: bool,
}

/// What every trained model offers, on the dense indices of the split it was trained on
/// (users `0..n_users()`, items `0..n_items()`; see [`crate::data::TrainTest`]).
pub trait Recommender {
    /// Short model name, as on the command line (`baseline`, `mf`, ...).
    fn kind(&self) -> &'static str;
    /// Users the model has rows for.
    fn n_users(&self) -> u32;
    /// Items the model has rows for.
    fn n_items(&self) -> u32;
    /// Number of trained parameters.
    fn param_count(&self) -> usize;
    /// Score of a known user and item (a rating estimate for rating models), unclipped.
    fn score(&self, user: u32, item: u32) -> f32;
    /// The estimate when the user, the item or both are unknown (`None`).
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32;

    /// Scores of every item for one known user, into `out` (length `n_items()`).
    fn score_items(&self, user: u32, out: &mut [f32]) {
        for (item, slot) in out.iter_mut().enumerate() {
            *slot = self.score(user, item as u32);
        }
    }

    /// [`Recommender::predict`] of every pair `(users[k], items[k])`, into `out` (cleared
    /// first). Models with a costly per-call forward pass batch it.
    fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
        out.clear();
        out.extend(users.iter().zip(items).map(|(&u, &i)| self.predict(u, i)));
    }

    /// [`Recommender::predict_many`] at the ratings' times (Unix seconds, one per pair),
    /// when known: a model with time features (fm with `day` / `item_age`) predicts
    /// each pair at its time; the others ignore the times.
    fn predict_many_at(
        &self,
        users: &[u32],
        items: &[u32],
        times: Option<&[i64]>,
        out: &mut Vec<Prediction>,
    ) {
        let _ = times;
        self.predict_many(users, items, out)
    }

    /// The prediction for any indices: the model's score when both are known, else the
    /// fallback, flagged.
    fn predict(&self, user: u32, item: u32) -> Prediction {
        let known_user = (user < self.n_users()).then_some(user);
        let known_item = (item < self.n_items()).then_some(item);
        match (known_user, known_item) {
            (Some(u), Some(i)) => Prediction {
                value: self.score(u, i),
                fallback: false,
            },
            (u, i) => Prediction {
                value: self.fallback(u, i),
                fallback: true,
            },
        }
    }
}

/// What a kind's trained model is, beyond [`Recommender`]: its weights as named tensors
/// for the model file, and the optional abilities serving uses (item factors for
/// `similar`, fold-in of a new user). Implemented once per kind, in its module.
pub trait Model: Recommender + std::fmt::Debug + Send + Sync + 'static {
    /// A boxed copy.
    fn clone_model(&self) -> AnyModel;

    /// The model as [`std::any::Any`], for code that needs the concrete kind (a fast
    /// path, a test).
    fn as_any(&self) -> &dyn std::any::Any;

    /// Mutable [`Model::as_any`].
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;

    /// The f32 weights as named tensors (names relative to the model's scope: a blend
    /// prefixes its members').
    fn tensors(&self) -> Vec<NamedTensor<'_>>;

    /// The u32 tensors (index lookups), if any.
    fn int_tensors(&self) -> Vec<(String, &[u32])> {
        Vec::new()
    }

    /// The item factors `[items, K]` row-major and K, for `similar` (cosine).
    fn item_factors(&self) -> Option<(&[f32], usize)> {
        None
    }

    /// Every item's similarity to item `item` for `similar` (`None` when the kind has
    /// none): by default the cosine of the item factors; an item-item model overrides
    /// it with its own weights.
    fn similar_scores(&self, item: u32) -> Option<Vec<f32>> {
        let (q, k) = self.item_factors()?;
        let row = |i: usize| &q[i * k..(i + 1) * k];
        let norm = |v: &[f32]| crate::nn::kernels::dot(v, v).sqrt();
        let t = q.get(item as usize * k..(item as usize + 1) * k)?;
        let tn = norm(t);
        Some(
            (0..q.len() / k)
                .map(|i| {
                    let d = norm(row(i)) * tn;
                    if d > 0.0 {
                        crate::nn::kernels::dot(row(i), t) / d
                    } else {
                        0.0
                    }
                })
                .collect(),
        )
    }

    /// Whether [`Model::similar_scores`] answers.
    fn has_similar(&self) -> bool {
        self.item_factors().is_some()
    }

    /// Fits a new user to `ratings` (item rows, as given) with everything else frozen.
    /// `base` holds what every kind shares (the rated items, one rating per item);
    /// `params` are the model file's params and `feedback` its feedback. Default: not
    /// supported.
    fn fold_in(
        &self,
        params: &serde_json::Value,
        feedback: Feedback,
        ratings: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser, crate::Error> {
        let _ = (params, feedback, ratings, base);
        Err(crate::Error::Usage(format!(
            "fold-in is not supported for {} models (no closed form for a new user's \
             parameters with the rest frozen; for deep and neumf, the user input passes \
             through dense layers); retrain with the new user's ratings",
            self.kind()
        )))
    }

    /// The (unclipped) score of every item for a folded-in user. Default: the item-only
    /// fallback plus the user's bias.
    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        (0..self.n_items())
            .map(|i| self.fallback(None, Some(i)) + user.bias)
            .collect()
    }
}

/// A user the model never saw, fitted from their ratings with the item side frozen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FoldedUser {
    /// The user's bias.
    pub bias: f32,
    /// The user's factors (empty for models without user factors).
    pub factors: Vec<f32>,
    /// The items the ratings named (sorted; excluded from recommendations).
    pub rated: Vec<u32>,
    /// The ratings folded in, one per item (the last given wins), sorted by item: what an
    /// item-based kNN predicts from.
    pub ratings: Vec<(u32, f32)>,
    /// For a blend: the user folded into each member, in member order.
    pub members: Vec<FoldedUser>,
}

/// Any trained model: one kind's [`Model`], boxed. Clones deeply; two are equal when
/// they are of the same kind with the same tensors.
pub struct AnyModel(Box<dyn Model>);

impl AnyModel {
    /// Boxes a model.
    pub fn new(model: impl Model) -> Self {
        AnyModel(Box::new(model))
    }

    /// The model as its concrete kind, if it is one.
    pub fn downcast_ref<T: Model>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    /// Mutable [`AnyModel::downcast_ref`].
    pub fn downcast_mut<T: Model>(&mut self) -> Option<&mut T> {
        self.0.as_any_mut().downcast_mut()
    }
}

impl<M: Model> From<M> for AnyModel {
    fn from(m: M) -> Self {
        AnyModel::new(m)
    }
}

impl std::ops::Deref for AnyModel {
    type Target = dyn Model;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl Clone for AnyModel {
    fn clone(&self) -> Self {
        self.0.clone_model()
    }
}

impl std::fmt::Debug for AnyModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for AnyModel {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind()
            && self.n_users() == other.n_users()
            && self.n_items() == other.n_items()
            && self.tensors() == other.tensors()
            && self.int_tensors() == other.int_tensors()
    }
}

/// A named f32 tensor of a model's weights: row-major `data` of the given `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor<'a> {
    /// Name in the model file (`mu`, `p`, `q`, `user_bias`, `item_bias`, ...).
    pub name: String,
    /// Shape, outermost first (e.g. `[users, K]`).
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: &'a [f32],
}

impl<'a> NamedTensor<'a> {
    /// A tensor of `data` with `shape`.
    pub fn new(name: impl Into<String>, shape: &[usize], data: &'a [f32]) -> Self {
        NamedTensor {
            name: name.into(),
            shape: shape.to_vec(),
            data,
        }
    }
}

impl Recommender for AnyModel {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    fn n_users(&self) -> u32 {
        self.0.n_users()
    }
    fn n_items(&self) -> u32 {
        self.0.n_items()
    }
    fn param_count(&self) -> usize {
        self.0.param_count()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        self.0.score(user, item)
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.0.fallback(user, item)
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        self.0.score_items(user, out)
    }
    fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
        self.0.predict_many(users, items, out)
    }
    fn predict_many_at(
        &self,
        users: &[u32],
        items: &[u32],
        times: Option<&[i64]>,
        out: &mut Vec<Prediction>,
    ) {
        self.0.predict_many_at(users, items, times, out)
    }
}

/// What a model's scores mean, stored in the model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feedback {
    /// Rating estimates on the data's scale (RMSE and MAE apply).
    Ratings,
    /// Preferences learned from implicit feedback: only their order means something
    /// (ranking metrics apply, RMSE does not).
    Preferences,
}

/// One epoch as reported to [`FitOptions::on_epoch`] and kept in
/// [`TrainedModel::history`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpochStats {
    /// 1-based epoch (or ALS sweep).
    pub epoch: usize,
    /// The most epochs this run can take (it may stop earlier).
    pub epochs: usize,
    /// Seconds the epoch's training took (evaluation excluded).
    pub seconds: f64,
    /// RMSE on the ratings trained on (rating models).
    pub train_rmse: Option<f64>,
    /// RMSE on the validation data, when there is any (rating models).
    pub val_rmse: Option<f64>,
    /// RMSE on [`FitOptions::watch`] (rating models; reported only).
    pub watch_rmse: Option<f64>,
    /// NDCG@10 of full ranking on [`FitOptions::watch`] (implicit models; reported only).
    pub watch_ndcg: Option<f64>,
    /// HR@10 of full ranking on [`FitOptions::watch`] (implicit models; reported only).
    pub watch_hr: Option<f64>,
}
