//! Models. Each file holds one model: its params, weights, `fit` and its
//! [`Recommender`] impl.

pub mod autorec;
pub mod baseline;
pub mod blend;
pub mod deep;
pub mod ease;
pub mod fit;
pub mod ials;
pub mod knn;
pub mod mf;
pub mod mf_rank;
pub mod neumf;
pub mod popularity;
pub mod ranking;

pub use autorec::{AutoRec, AutoRecParams};
pub use baseline::{Baseline, BaselineParams, GlobalMean};
pub use blend::{Blend, BlendParams};
pub use deep::{Deep, DeepParams, SideInput};
pub use ease::{Ease, EaseParams};
pub use fit::{
    EpochStats, Feedback, Fit, FitOptions, Fitted, PopularityParams, RowOptions, RowValidation,
    TrainingSet, Validation,
};
pub use ials::{Confidence, Ials, IalsParams};
pub use knn::{Knn, KnnParams};
pub use mf::{Mf, MfParams};
pub use mf_rank::{MfRankParams, RankLoss, RankOptimizer, Sampling};
pub use neumf::{NeuMf, NeuMfParams};
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
    pub name: String,
    /// Shape, outermost first (e.g. `[users, K]`).
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: &'a [f32],
}

/// Any trained model, one variant per model kind; it implements [`Recommender`] by
/// delegation and converts to and from named f32 tensors for the model file
/// ([`crate::store::TrainedModel`]). A new model kind adds a variant here, an arm in each
/// method, and its name in [`AnyModel::KINDS`].
#[derive(Debug, Clone, PartialEq)]
pub enum AnyModel {
    /// `mu + b_u + b_i`.
    Baseline(Baseline),
    /// Matrix factorization.
    Mf(Mf),
    /// The deep recommender.
    Deep(Deep),
    /// Item-based kNN with baselines.
    Knn(Knn),
    /// A weighted blend of other models.
    Blend(Blend),
    /// I-AutoRec: an autoencoder of each item's ratings.
    AutoRec(AutoRec),
    /// Weighted ALS for implicit feedback.
    Ials(Ials),
    /// Item popularity (training interaction counts).
    Popularity(Popularity),
    /// NeuMF: GMF and MLP towers fused by one output unit.
    NeuMf(NeuMf),
    /// EASE: closed-form item-item model for implicit feedback.
    Ease(Ease),
}

impl From<Ease> for AnyModel {
    fn from(m: Ease) -> Self {
        AnyModel::Ease(m)
    }
}

impl From<NeuMf> for AnyModel {
    fn from(m: NeuMf) -> Self {
        AnyModel::NeuMf(m)
    }
}

impl From<AutoRec> for AnyModel {
    fn from(m: AutoRec) -> Self {
        AnyModel::AutoRec(m)
    }
}

impl From<Blend> for AnyModel {
    fn from(m: Blend) -> Self {
        AnyModel::Blend(m)
    }
}

impl From<Popularity> for AnyModel {
    fn from(m: Popularity) -> Self {
        AnyModel::Popularity(m)
    }
}

impl From<Ials> for AnyModel {
    fn from(m: Ials) -> Self {
        AnyModel::Ials(m)
    }
}

impl From<Deep> for AnyModel {
    fn from(m: Deep) -> Self {
        AnyModel::Deep(m)
    }
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

impl From<Knn> for AnyModel {
    fn from(m: Knn) -> Self {
        AnyModel::Knn(m)
    }
}

impl AnyModel {
    /// The kinds a model file may hold, as [`Recommender::kind`] names them.
    pub const KINDS: &'static [&'static str] = &[
        "baseline",
        "mf",
        "deep",
        "knn",
        "autorec",
        "blend",
        "ials",
        "popularity",
        "neumf",
        "ease",
    ];

    fn inner(&self) -> &dyn Recommender {
        match self {
            AnyModel::Baseline(m) => m,
            AnyModel::Mf(m) => m,
            AnyModel::Deep(m) => m,
            AnyModel::Knn(m) => m,
            AnyModel::Blend(m) => m,
            AnyModel::AutoRec(m) => m,
            AnyModel::Ials(m) => m,
            AnyModel::Popularity(m) => m,
            AnyModel::NeuMf(m) => m,
            AnyModel::Ease(m) => m,
        }
    }

    /// The f32 weights as named tensors: baseline `mu [1]`, `user_bias [U]`,
    /// `item_bias [I]`; mf additionally `p [U, K]` and `q [I, K]`; deep as mf, plus
    /// `user.NAME` / `item.NAME` `[rows, size]` per side variable and `dense{l}.weight
    /// [in, out]`, `dense{l}.bias [out]` per dense layer (input first) and, with a dot
    /// term, `dot.p [U, D]`, `dot.q [I, D]`; neumf `mu`,
    /// `gmf.p`, `gmf.q`, `mlp.p`, `mlp.q`, the biases, `dense{l}.*` per hidden layer of
    /// the MLP tower and `fuse.weight [fused, 1]`, `fuse.bias [1]`; ease `b [I, I]` and
    /// `user_weights [R]` (its u32 `user_offsets [U + 1]` and `user_items [R]` are in
    /// [`AnyModel::int_tensors`]).
    pub fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let t = |name: String, shape: &[usize], data| NamedTensor {
            name,
            shape: shape.to_vec(),
            data,
        };
        let s = |x: &str| x.to_string();
        match self {
            AnyModel::Baseline(m) => vec![
                t(s("mu"), &[1], std::slice::from_ref(&m.mu)),
                t(s("user_bias"), &[m.user_bias.len()], &m.user_bias),
                t(s("item_bias"), &[m.item_bias.len()], &m.item_bias),
            ],
            AnyModel::Mf(m) => vec![
                t(s("mu"), &[1], std::slice::from_ref(&m.mu)),
                t(s("p"), &[m.user_bias.len(), m.dim], &m.p),
                t(s("q"), &[m.item_bias.len(), m.dim], &m.q),
                t(s("user_bias"), &[m.user_bias.len()], &m.user_bias),
                t(s("item_bias"), &[m.item_bias.len()], &m.item_bias),
            ],
            AnyModel::Popularity(m) => vec![
                t(s("mu"), &[1], std::slice::from_ref(&m.mu)),
                t(s("counts"), &[m.counts.len()], &m.counts),
            ],
            AnyModel::Ease(m) => vec![
                t(s("b"), &[m.items, m.items], &m.b),
                t(s("user_weights"), &[m.user_weights.len()], &m.user_weights),
            ],
            AnyModel::Ials(m) => {
                let (u, i) = (m.n_users() as usize, m.n_items() as usize);
                vec![t(s("p"), &[u, m.dim], &m.p), t(s("q"), &[i, m.dim], &m.q)]
            }
            AnyModel::Knn(m) => {
                let (u, i, r) = (
                    m.baseline.user_bias.len(),
                    m.baseline.item_bias.len(),
                    m.user_values.len(),
                );
                vec![
                    t(s("mu"), &[1], std::slice::from_ref(&m.baseline.mu)),
                    t(s("user_bias"), &[u], &m.baseline.user_bias),
                    t(s("item_bias"), &[i], &m.baseline.item_bias),
                    t(s("sims"), &[i, i], &m.sims),
                    t(s("neighbour_values"), &[r], &m.user_values),
                ]
            }
            AnyModel::Deep(m) => {
                let mut v = vec![
                    t(s("mu"), &[1], std::slice::from_ref(&m.mu)),
                    t(s("p"), &[m.user_bias.len(), m.dim], &m.p),
                    t(s("q"), &[m.item_bias.len(), m.dim], &m.q),
                    t(s("user_bias"), &[m.user_bias.len()], &m.user_bias),
                    t(s("item_bias"), &[m.item_bias.len()], &m.item_bias),
                ];
                for (side, w) in m.sides.iter().zip(&m.side_weights) {
                    v.push(t(side_name(side), &[side.rows, side.dim], w));
                }
                for (l, layer) in m.mlp.layers().iter().enumerate() {
                    let (i, o) = (layer.input(), layer.output());
                    v.push(t(format!("dense{l}.weight"), &[i, o], layer.weight()));
                    v.push(t(format!("dense{l}.bias"), &[o], layer.bias()));
                }
                if m.dot_dim > 0 {
                    let (u, i) = (m.user_bias.len(), m.item_bias.len());
                    v.push(t(s("dot.p"), &[u, m.dot_dim], &m.dot_p));
                    v.push(t(s("dot.q"), &[i, m.dot_dim], &m.dot_q));
                }
                v
            }
            AnyModel::AutoRec(m) => {
                let (u, i, h) = (m.output_bias.len(), m.codes.len() / m.hidden, m.hidden);
                vec![
                    t(s("decoder"), &[u, h], &m.decoder),
                    t(s("output_bias"), &[u], &m.output_bias),
                    t(s("codes"), &[i, h], &m.codes),
                    t(s("mu"), &[1], std::slice::from_ref(&m.fallback.mu)),
                    t(s("user_bias"), &[u], &m.fallback.user_bias),
                    t(s("item_bias"), &[i], &m.fallback.item_bias),
                ]
            }
            AnyModel::Blend(b) => {
                let mut v = vec![
                    t(
                        s("blend.intercept"),
                        &[1],
                        std::slice::from_ref(&b.intercept),
                    ),
                    t(s("blend.weights"), &[b.weights.len()], &b.weights),
                ];
                for (k, member) in b.members.iter().enumerate() {
                    v.extend(member.tensors().into_iter().map(|mut x| {
                        x.name = format!("m{k}.{}", x.name);
                        x
                    }));
                }
                v
            }
            AnyModel::NeuMf(m) => {
                let (u, i) = (m.user_bias.len(), m.item_bias.len());
                let mut v = vec![
                    t(s("mu"), &[1], std::slice::from_ref(&m.mu)),
                    t(s("gmf.p"), &[u, m.dim], &m.gmf_p),
                    t(s("gmf.q"), &[i, m.dim], &m.gmf_q),
                    t(s("mlp.p"), &[u, m.mlp_dim], &m.mlp_p),
                    t(s("mlp.q"), &[i, m.mlp_dim], &m.mlp_q),
                    t(s("user_bias"), &[u], &m.user_bias),
                    t(s("item_bias"), &[i], &m.item_bias),
                ];
                for (l, layer) in m.tower.iter().enumerate() {
                    let (i, o) = (layer.input(), layer.output());
                    v.push(t(format!("dense{l}.weight"), &[i, o], layer.weight()));
                    v.push(t(format!("dense{l}.bias"), &[o], layer.bias()));
                }
                let f = &m.fuse;
                v.push(t(s("fuse.weight"), &[f.input(), 1], f.weight()));
                v.push(t(s("fuse.bias"), &[1], f.bias()));
                v
            }
        }
    }

    /// The u32 tensors (deep: each side variable's lookup as `user.NAME.offsets [E + 1]`
    /// and `user.NAME.levels [L]`, or `item.` for item variables; none for other kinds).
    pub fn int_tensors(&self) -> Vec<(String, &[u32])> {
        match self {
            AnyModel::Deep(m) => m
                .sides
                .iter()
                .flat_map(|side| {
                    let n = side_name(side);
                    [
                        (format!("{n}.offsets"), &side.offsets[..]),
                        (format!("{n}.levels"), &side.levels[..]),
                    ]
                })
                .collect(),
            AnyModel::Ease(m) => vec![
                ("user_offsets".to_string(), &m.offsets[..]),
                ("user_items".to_string(), &m.user_items[..]),
            ],
            AnyModel::Knn(m) => vec![
                ("neighbour_offsets".to_string(), &m.offsets[..]),
                ("neighbour_items".to_string(), &m.user_items[..]),
            ],
            AnyModel::Blend(b) => b
                .members
                .iter()
                .enumerate()
                .flat_map(|(k, member)| {
                    member
                        .int_tensors()
                        .into_iter()
                        .map(move |(name, data)| (format!("m{k}.{name}"), data))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Names of the tensors (f32 and u32) a model of `kind` with hyper-parameters
    /// `params` has; `has(name)` tells whether the file holds a tensor (it decides
    /// whether a deep side variable is a user or an item one). An error for an unknown
    /// kind or unreadable params.
    pub fn tensor_names(
        kind: &str,
        params: &serde_json::Value,
        has: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>, String> {
        Self::tensor_names_dyn(kind, params, &has)
    }

    fn tensor_names_dyn(
        kind: &str,
        params: &serde_json::Value,
        has: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<String>, String> {
        let names = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect();
        match kind {
            "baseline" => Ok(names(&["mu", "user_bias", "item_bias"])),
            "mf" => Ok(names(&["mu", "p", "q", "user_bias", "item_bias"])),
            "ials" => Ok(names(&["p", "q"])),
            "ease" => Ok(names(&["b", "user_weights", "user_offsets", "user_items"])),
            "popularity" => Ok(names(&["mu", "counts"])),
            "knn" => Ok(names(&[
                "mu",
                "user_bias",
                "item_bias",
                "sims",
                "neighbour_values",
                "neighbour_offsets",
                "neighbour_items",
            ])),
            "deep" => {
                let p = deep_params(params)?;
                let mut v: Vec<String> = names(&["mu", "p", "q", "user_bias", "item_bias"]);
                for (name, _) in &p.features {
                    let side = if has(&format!("user.{name}")) {
                        format!("user.{name}")
                    } else {
                        format!("item.{name}")
                    };
                    v.push(format!("{side}.offsets"));
                    v.push(format!("{side}.levels"));
                    v.push(side);
                }
                for l in 0..=p.hidden.len() {
                    v.push(format!("dense{l}.weight"));
                    v.push(format!("dense{l}.bias"));
                }
                if p.dot_dim > 0 {
                    v.extend(names(&["dot.p", "dot.q"]));
                }
                Ok(v)
            }
            "autorec" => Ok(names(&[
                "decoder",
                "output_bias",
                "codes",
                "mu",
                "user_bias",
                "item_bias",
            ])),
            "blend" => {
                let mut v = names(&["blend.intercept", "blend.weights"]);
                for (k, (kind, params)) in blend_members(params)?.iter().enumerate() {
                    let prefix = format!("m{k}.");
                    let inner =
                        Self::tensor_names_dyn(kind, params, &|n| has(&format!("{prefix}{n}")))?;
                    v.extend(inner.into_iter().map(|n| format!("{prefix}{n}")));
                }
                Ok(v)
            }
            "neumf" => {
                let p = neumf_params(params)?;
                let mut v: Vec<String> = names(&[
                    "mu",
                    "gmf.p",
                    "gmf.q",
                    "mlp.p",
                    "mlp.q",
                    "user_bias",
                    "item_bias",
                ]);
                for l in 0..p.hidden.len() {
                    v.push(format!("dense{l}.weight"));
                    v.push(format!("dense{l}.bias"));
                }
                v.push("fuse.weight".into());
                v.push("fuse.bias".into());
                Ok(v)
            }
            other => Err(format!(
                "unknown model kind `{other}` (known: {})",
                Self::KINDS.join(", ")
            )),
        }
    }

    /// Rebuilds a model of `kind` (with hyper-parameters `params`) with `users` x
    /// `items` rows from its tensors; `take(name)` returns an f32 tensor's shape and
    /// values, `take_u32(name)` a u32 one's (or why it cannot). Shapes are checked
    /// against `users`, `items`, the factor count K (read off `p`) and the params; a
    /// problem is returned as a message naming the tensor.
    pub fn from_tensors(
        kind: &str,
        params: &serde_json::Value,
        users: usize,
        items: usize,
        mut take: impl FnMut(&str) -> Result<(Vec<usize>, Vec<f32>), String>,
        mut take_u32: impl FnMut(&str) -> Result<(Vec<usize>, Vec<u32>), String>,
    ) -> Result<Self, String> {
        Self::from_tensors_dyn(kind, params, users, items, &mut take, &mut take_u32)
    }

    fn from_tensors_dyn(
        kind: &str,
        params: &serde_json::Value,
        users: usize,
        items: usize,
        take: TakeF32<'_>,
        take_u32: TakeU32<'_>,
    ) -> Result<Self, String> {
        if kind == "blend" {
            let members = blend_members(params)?;
            let (shape, intercept) = take("blend.intercept")?;
            let (wshape, weights) = take("blend.weights")?;
            if shape != [1] || wshape != [members.len()] {
                return Err(format!(
                    "blend tensors have shapes {shape:?} and {wshape:?}, expected [1] and [{}]",
                    members.len()
                ));
            }
            let mut models = Vec::new();
            for (k, (kind, params)) in members.iter().enumerate() {
                let prefix = format!("m{k}.");
                models.push(Self::from_tensors_dyn(
                    kind,
                    params,
                    users,
                    items,
                    &mut |n| take(&format!("{prefix}{n}")),
                    &mut |n| take_u32(&format!("{prefix}{n}")),
                )?);
            }
            let clip: Option<crate::data::RatingScale> = match params.get("member_clip") {
                None => None,
                Some(v) => serde_json::from_value(v.clone())
                    .map_err(|e| format!("invalid blend member_clip: {e}"))?,
            };
            return Blend::new(models, intercept[0], weights, clip)
                .map(AnyModel::Blend)
                .map_err(|e| e.to_string());
        }
        // A tensor's values, its shape checked against `want` when given.
        let mut get = |name: &str, want: Option<&[usize]>| {
            let (shape, data) = take(name)?;
            match want {
                Some(want) if shape != want => Err(format!(
                    "tensor `{name}` has shape {shape:?}, expected {want:?}"
                )),
                _ => Ok((shape, data)),
            }
        };
        if kind == "baseline" {
            return Ok(AnyModel::Baseline(Baseline {
                mu: get("mu", Some(&[1]))?.1[0],
                user_bias: get("user_bias", Some(&[users]))?.1,
                item_bias: get("item_bias", Some(&[items]))?.1,
            }));
        }
        if kind == "autorec" {
            let (dshape, decoder) = get("decoder", None)?;
            let hidden = match dshape[..] {
                [u, h] if u == users && h >= 1 => h,
                _ => {
                    return Err(format!(
                        "tensor `decoder` has shape {dshape:?}, expected [{users}, H] with H >= 1"
                    ));
                }
            };
            return Ok(AnyModel::AutoRec(AutoRec {
                hidden,
                decoder,
                output_bias: get("output_bias", Some(&[users]))?.1,
                codes: get("codes", Some(&[items, hidden]))?.1,
                fallback: Baseline {
                    mu: get("mu", Some(&[1]))?.1[0],
                    user_bias: get("user_bias", Some(&[users]))?.1,
                    item_bias: get("item_bias", Some(&[items]))?.1,
                },
            }));
        }
        if kind == "knn" {
            let p: KnnParams =
                serde_json::from_value(params.clone()).map_err(|e| format!("knn params: {e}"))?;
            let baseline = Baseline {
                mu: get("mu", Some(&[1]))?.1[0],
                user_bias: get("user_bias", Some(&[users]))?.1,
                item_bias: get("item_bias", Some(&[items]))?.1,
            };
            let sims = get("sims", Some(&[items, items]))?.1;
            let (vs, user_values) = get("neighbour_values", None)?;
            let (os, offsets) = take_u32("neighbour_offsets")?;
            let (is, user_items) = take_u32("neighbour_items")?;
            let r = user_values.len();
            let ok = vs == [r]
                && os == [users + 1]
                && is == [r]
                && offsets.first() == Some(&0)
                && offsets.last().map(|&o| o as usize) == Some(r)
                && offsets.windows(2).all(|w| w[0] <= w[1])
                && user_items.iter().all(|&i| (i as usize) < items);
            if !ok || p.k == 0 || p.min_k == 0 {
                return Err(
                    "knn neighbour tensors are inconsistent (shapes, offsets or item indices)"
                        .into(),
                );
            }
            return Ok(AnyModel::Knn(Knn {
                k: p.k,
                min_k: p.min_k,
                baseline,
                sims,
                offsets,
                user_items,
                user_values,
            }));
        }
        if kind == "popularity" {
            let counts = get("counts", Some(&[items]))?.1;
            if counts.iter().any(|&c| c < 0.0) {
                return Err("tensor `counts` holds a negative count".into());
            }
            return Ok(AnyModel::Popularity(Popularity {
                counts,
                mu: get("mu", Some(&[1]))?.1[0],
                users: users as u32,
            }));
        }
        if kind == "ease" {
            let p: EaseParams = serde_json::from_value(params.clone())
                .map_err(|e| format!("invalid ease model params: {e}"))?;
            p.check()
                .map_err(|e| format!("invalid ease model params: {e}"))?;
            let b = get("b", Some(&[items, items]))?.1;
            let (_, user_weights) = get("user_weights", None)?;
            let (os, offsets) = take_u32("user_offsets")?;
            let (is, user_items) = take_u32("user_items")?;
            if os.len() != 1 || is.len() != 1 {
                return Err("ease user rows must be 1-dimensional".into());
            }
            let m = Ease {
                items,
                b,
                offsets,
                user_items,
                user_weights,
            };
            m.check(users)?;
            return Ok(AnyModel::Ease(m));
        }
        if kind == "ials" {
            let p: IalsParams = serde_json::from_value(params.clone())
                .map_err(|e| format!("invalid ials model params: {e}"))?;
            p.check()
                .map_err(|e| format!("invalid ials model params: {e}"))?;
            let (p_shape, p) = get("p", None)?;
            let dim = match p_shape[..] {
                [u, k] if u == users && k >= 1 => k,
                _ => {
                    return Err(format!(
                        "tensor `p` has shape {p_shape:?}, expected [{users}, K] with K >= 1"
                    ));
                }
            };
            let q = get("q", Some(&[items, dim]))?.1;
            return Ok(AnyModel::Ials(Ials { dim, p, q }));
        }
        if kind == "neumf" {
            let p = neumf_params(params)?;
            let (k, km) = (p.dim, p.mlp_dim);
            let mu = get("mu", Some(&[1]))?.1[0];
            let gmf_p = get("gmf.p", Some(&[users, k]))?.1;
            let gmf_q = get("gmf.q", Some(&[items, k]))?.1;
            let mlp_p = get("mlp.p", Some(&[users, km]))?.1;
            let mlp_q = get("mlp.q", Some(&[items, km]))?.1;
            let user_bias = get("user_bias", Some(&[users]))?.1;
            let item_bias = get("item_bias", Some(&[items]))?.1;
            let mut tower = Vec::new();
            let mut width = 2 * km;
            for (l, &h) in p.hidden.iter().enumerate() {
                let w = get(&format!("dense{l}.weight"), Some(&[width, h]))?.1;
                let b = get(&format!("dense{l}.bias"), Some(&[h]))?.1;
                tower.push((w, b));
                width = h;
            }
            let fw = get("fuse.weight", Some(&[p.fused_width(), 1]))?.1;
            let fb = get("fuse.bias", Some(&[1]))?.1;
            let (tower, fuse) = NeuMf::dense_from_weights(&p, tower, (fw, fb));
            return Ok(AnyModel::NeuMf(NeuMf {
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
            }));
        }
        if kind != "mf" && kind != "deep" {
            return Err(format!(
                "unknown model kind `{kind}` (known: {})",
                Self::KINDS.join(", ")
            ));
        }
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
        let q = get("q", Some(&[items, dim]))?.1;
        let user_bias = get("user_bias", Some(&[users]))?.1;
        let item_bias = get("item_bias", Some(&[items]))?.1;
        if kind == "mf" {
            return Ok(AnyModel::Mf(Mf {
                mu,
                dim,
                p,
                q,
                user_bias,
                item_bias,
            }));
        }
        let params = deep_params(params)?;
        if params.dim != dim {
            return Err(format!(
                "tensor `p` has {dim} factors but the params say dim {}",
                params.dim
            ));
        }
        let (mut sides, mut side_weights) = (Vec::new(), Vec::new());
        for (name, size) in &params.features {
            let user_name = format!("user.{name}");
            let (of_users, n, tname) = match get(&user_name, None) {
                Ok(found) => (true, users, (user_name, Some(found))),
                Err(_) => (false, items, (format!("item.{name}"), None)),
            };
            let (tname, found) = tname;
            let (shape, weights) = match found {
                Some(f) => f,
                None => get(&tname, None)?,
            };
            let rows = match shape[..] {
                [r, d] if d == *size && r >= 1 => r,
                _ => {
                    return Err(format!(
                        "tensor `{tname}` has shape {shape:?}, expected [rows, {size}]"
                    ));
                }
            };
            let (os, offsets) = take_u32(&format!("{tname}.offsets"))?;
            let (ls, levels) = take_u32(&format!("{tname}.levels"))?;
            if os.len() != 1 || ls.len() != 1 {
                return Err(format!("the lookup of `{tname}` must be 1-dimensional"));
            }
            let side = SideInput {
                name: name.clone(),
                of_users,
                dim: *size,
                rows,
                offsets,
                levels,
            };
            side.check(n)?;
            sides.push(side);
            side_weights.push(weights);
        }
        let mut layers = Vec::new();
        let mut width = params.input_width();
        let n_layers = params.hidden.len() + 1;
        for l in 0..n_layers {
            let out = params.hidden.get(l).copied().unwrap_or(1);
            let w = get(&format!("dense{l}.weight"), Some(&[width, out]))?.1;
            let b = get(&format!("dense{l}.bias"), Some(&[out]))?.1;
            let act = if l + 1 < n_layers {
                params.activation
            } else {
                crate::nn::Activation::Linear
            };
            let opt = crate::nn::Optimizer::default();
            layers.push(crate::nn::Dense::from_weights(width, out, w, b, act, opt));
            width = out;
        }
        let mlp = crate::nn::Mlp::from_layers(layers, 0.0).map_err(|e| e.to_string())?;
        let (dot_p, dot_q) = if params.dot_dim > 0 {
            let d = params.dot_dim;
            (
                get("dot.p", Some(&[users, d]))?.1,
                get("dot.q", Some(&[items, d]))?.1,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(AnyModel::Deep(Deep {
            mu,
            dim,
            p,
            q,
            user_bias,
            item_bias,
            sides,
            side_weights,
            mlp,
            product: params.product,
            bias_shortcut: params.bias_shortcut,
            dot_dim: params.dot_dim,
            dot_p,
            dot_q,
            item_part: Default::default(),
        }))
    }
}

type TakeF32<'a> = &'a mut dyn FnMut(&str) -> Result<(Vec<usize>, Vec<f32>), String>;
type TakeU32<'a> = &'a mut dyn FnMut(&str) -> Result<(Vec<usize>, Vec<u32>), String>;

/// A blend's members as (kind, params) from its params (`members` and `member_params`).
fn blend_members(params: &serde_json::Value) -> Result<Vec<(String, serde_json::Value)>, String> {
    let kinds: Vec<String> = params
        .get("members")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or("blend params lack a `members` list of kinds")?;
    let member_params: Vec<serde_json::Value> = params
        .get("member_params")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or("blend params lack `member_params`")?;
    if kinds.len() != member_params.len() || kinds.len() < 2 {
        return Err(format!(
            "blend params name {} members but hold {} member params",
            kinds.len(),
            member_params.len()
        ));
    }
    if kinds.iter().any(|k| k == "blend") {
        return Err("a blend cannot hold another blend".into());
    }
    Ok(kinds.into_iter().zip(member_params).collect())
}

/// The tensor name of a deep side variable: `user.NAME` or `item.NAME`.
fn side_name(side: &SideInput) -> String {
    let whose = if side.of_users { "user" } else { "item" };
    format!("{whose}.{}", side.name)
}

/// A NeuMF model's params from the model file's metadata.
fn neumf_params(params: &serde_json::Value) -> Result<NeuMfParams, String> {
    let p: NeuMfParams = serde_json::from_value(params.clone())
        .map_err(|e| format!("invalid neumf model params: {e}"))?;
    p.check()
        .map_err(|e| format!("invalid neumf model params: {e}"))?;
    Ok(p)
}

/// A deep model's params from the model file's metadata.
fn deep_params(params: &serde_json::Value) -> Result<DeepParams, String> {
    let p: DeepParams = serde_json::from_value(params.clone())
        .map_err(|e| format!("invalid deep model params: {e}"))?;
    p.check()
        .map_err(|e| format!("invalid deep model params: {e}"))?;
    Ok(p)
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
