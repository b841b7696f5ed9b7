//! Models. Each file holds one model: its params, weights, `fit` and its
//! [`Recommender`] impl.

pub mod baseline;
pub mod deep;
pub mod mf;
pub mod popularity;

pub use baseline::{Baseline, BaselineParams, GlobalMean};
pub use deep::{Deep, DeepParams, SideInput};
pub use mf::{Mf, MfParams};
pub use popularity::Popularity;

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

/// A named f32 tensor of a model's weights: row-major `data` of the given `shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor<'a> {
    /// Name in the model file (`mu`, `p`, `q`, `user_bias`, `item_bias`, ...).
    pub name: &'static str,
    /// Shape, outermost first (e.g. `[users, K]`).
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: &'a [f32],
}

/// Any trained model, one variant per model kind; it implements [`Recommender`] by
/// delegation and converts to and from named f32 tensors for the model file
/// ([`crate::store::SavedModel`]). A new model kind adds a variant here, an arm in each
/// method, and its name in [`AnyModel::KINDS`].
#[derive(Debug, Clone, PartialEq)]
pub enum AnyModel {
    /// `mu + b_u + b_i`.
    Baseline(Baseline),
    /// Matrix factorization.
    Mf(Mf),
}

impl From<Baseline> for AnyModel {
    fn from(m: Baseline) -> Self {
        AnyModel::Baseline(m)
    }
}

impl From<Mf> for AnyModel {
    fn from(m: Mf) -> Self {
        AnyModel::Mf(m)
    }
}

impl AnyModel {
    /// The kinds a model file may hold, as [`Recommender::kind`] names them.
    pub const KINDS: &'static [&'static str] = &["baseline", "mf"];

    fn inner(&self) -> &dyn Recommender {
        match self {
            AnyModel::Baseline(m) => m,
            AnyModel::Mf(m) => m,
        }
    }

    /// The weights as named tensors: baseline `mu [1]`, `user_bias [U]`, `item_bias [I]`;
    /// mf additionally `p [U, K]` and `q [I, K]`.
    pub fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let t = |name, shape: &[usize], data| NamedTensor {
            name,
            shape: shape.to_vec(),
            data,
        };
        match self {
            AnyModel::Baseline(m) => vec![
                t("mu", &[1], std::slice::from_ref(&m.mu)),
                t("user_bias", &[m.user_bias.len()], &m.user_bias),
                t("item_bias", &[m.item_bias.len()], &m.item_bias),
            ],
            AnyModel::Mf(m) => vec![
                t("mu", &[1], std::slice::from_ref(&m.mu)),
                t("p", &[m.user_bias.len(), m.dim], &m.p),
                t("q", &[m.item_bias.len(), m.dim], &m.q),
                t("user_bias", &[m.user_bias.len()], &m.user_bias),
                t("item_bias", &[m.item_bias.len()], &m.item_bias),
            ],
        }
    }

    /// Names of the tensors a model of `kind` has (`None` for an unknown kind).
    pub fn tensor_names(kind: &str) -> Option<&'static [&'static str]> {
        match kind {
            "baseline" => Some(&["mu", "user_bias", "item_bias"]),
            "mf" => Some(&["mu", "p", "q", "user_bias", "item_bias"]),
            _ => None,
        }
    }

    /// Rebuilds a model of `kind` with `users` x `items` rows from its tensors;
    /// `take(name)` returns a tensor's shape and values (or why it cannot). Shapes are
    /// checked against `users`, `items` and the factor count K (read off `p`); a
    /// problem is returned as a message naming the tensor.
    pub fn from_tensors(
        kind: &str,
        users: usize,
        items: usize,
        mut take: impl FnMut(&'static str) -> Result<(Vec<usize>, Vec<f32>), String>,
    ) -> Result<Self, String> {
        // A tensor's values, its shape checked against `want` when given.
        let mut get = |name: &'static str, want: Option<&[usize]>| {
            let (shape, data) = take(name)?;
            match want {
                Some(want) if shape != want => Err(format!(
                    "tensor `{name}` has shape {shape:?}, expected {want:?}"
                )),
                _ => Ok((shape, data)),
            }
        };
        match kind {
            "baseline" => Ok(AnyModel::Baseline(Baseline {
                mu: get("mu", Some(&[1]))?.1[0],
                user_bias: get("user_bias", Some(&[users]))?.1,
                item_bias: get("item_bias", Some(&[items]))?.1,
            })),
            "mf" => {
                let mu = get("mu", Some(&[1]))?.1[0];
                // K is read off `p`.
                let (p_shape, p) = get("p", None)?;
                let dim = match p_shape[..] {
                    [u, k] if u == users && k >= 1 => k,
                    _ => {
                        return Err(format!(
                            "tensor `p` has shape {p_shape:?}, expected [{users}, K] with K >= 1"
                        ));
                    }
                };
                Ok(AnyModel::Mf(Mf {
                    mu,
                    dim,
                    p,
                    q: get("q", Some(&[items, dim]))?.1,
                    user_bias: get("user_bias", Some(&[users]))?.1,
                    item_bias: get("item_bias", Some(&[items]))?.1,
                }))
            }
            other => Err(format!(
                "unknown model kind `{other}` (known: {})",
                Self::KINDS.join(", ")
            )),
        }
    }
}

impl Recommender for AnyModel {
    fn kind(&self) -> &'static str {
        self.inner().kind()
    }
    fn n_users(&self) -> u32 {
        self.inner().n_users()
    }
    fn n_items(&self) -> u32 {
        self.inner().n_items()
    }
    fn param_count(&self) -> usize {
        self.inner().param_count()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        self.inner().score(user, item)
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.inner().fallback(user, item)
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        self.inner().score_items(user, out)
    }
    fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
        self.inner().predict_many(users, items, out)
    }
}
