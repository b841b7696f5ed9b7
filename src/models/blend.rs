//! Hybrid: a linear blend of member models (the textbook's chapter on hybrids; the
//! "feature-weighted" idea of the Netflix-prize blends reduced to its linear core).
//!
//! `prediction = w_0 + sum_k w_k * prediction_k(u, i)`. The weights are fitted by ridge
//! regression of training ratings on the members' (clipped) **out-of-fold** predictions:
//! by default the training data is cut into `folds` (5) folds and each fold is predicted
//! by members trained on the other four (stacking by cross-fitting, as scikit-learn's
//! `StackingRegressor` does), so every training rating is a validation target; with
//! `folds = 1`, one validation split carved from the training data instead. Then every
//! member is refitted on all the training data and the weights are kept. The test set is
//! never seen. [`super::fit`] trains the members
//! (each kind with its own defaults, see `embedrec train --model blend --members ...`):
//! this module holds the weight fit and the [`Recommender`] that combines the members.

use super::{AnyModel, Prediction, Recommender};
use super::{Feedback, FoldedUser, Kind, Model, NamedTensor, Tensors};
use crate::data::RatingScale;
use crate::error::{Error, Result};

/// Parameters of a blend.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `members` | `["mf", "knn", "autorec"]` | member model kinds, each trained with its own defaults | ≥ 2 of [`BlendParams::blendable`] |
/// | `folds` | 5 | folds of the out-of-fold predictions the weights are fitted on; 1: one carve of `val_fraction` | 1..=20 |
/// | `val_fraction` | 0.1 | with `folds = 1`: share of the training data carved out to fit the weights | (0, 0.5] |
/// | `ridge` | 1.0 | L2 penalty on the member weights (not the intercept), in units of validation ratings | ≥ 0 |
/// | `refit` | true | retrain every member on all the training data once the weights are fitted (always, with `folds` ≥ 2) | |
/// | `threads` | 1 | folds trained at once (each member with its own threads); results do not depend on it | ≥ 1 |
/// | `seed` | 42 | seed of the folds or the validation carve (members use it too) | any |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BlendParams {
    /// Member model kinds, as on the command line.
    pub members: Vec<String>,
    /// Folds of the out-of-fold member predictions the weights are fitted on (1: one
    /// carve of `val_fraction`). Model files from before this field read as 1, the way
    /// they were fitted.
    #[serde(default = "one_carve")]
    pub folds: usize,
    /// With `folds = 1`, the share of the training data carved out to fit the weights.
    pub val_fraction: f64,
    /// L2 penalty on the member weights.
    pub ridge: f64,
    /// Retrain the members on all the training data after the weight fit.
    pub refit: bool,
    /// Folds trained at once.
    pub threads: usize,
    /// Seed of the validation carve.
    pub seed: u64,
}

/// `folds` of a blend whose params predate the field: it was fitted on one carve.
fn one_carve() -> usize {
    1
}

impl Default for BlendParams {
    fn default() -> Self {
        BlendParams {
            members: vec!["mf".into(), "knn".into(), "autorec".into()],
            folds: 5,
            val_fraction: 0.1,
            ridge: 1.0,
            refit: true,
            threads: 1,
            seed: 42,
        }
    }
}

impl BlendParams {
    /// The kinds a blend can hold: the registry's kinds that name member params (the
    /// rating models, not `blend` itself nor the implicit-feedback kinds, whose scores
    /// are not ratings).
    pub fn blendable() -> Vec<&'static str> {
        super::REGISTRY
            .iter()
            .filter(|k| k.member.is_some())
            .map(|k| k.name)
            .collect()
    }

    /// Checks the ranges in the table above.
    pub fn check(&self) -> Result<()> {
        if self.members.len() < 2 {
            return Err(Error::Usage(format!(
                "a blend needs at least two members, got {:?}",
                self.members
            )));
        }
        if let Some(bad) = self
            .members
            .iter()
            .find(|m| !Self::blendable().contains(&m.as_str()))
        {
            return Err(Error::Usage(format!(
                "blend member `{bad}` is not a rating model that can be blended (blendable: {})",
                Self::blendable().join(", ")
            )));
        }
        if !(1..=20).contains(&self.folds) {
            return Err(Error::Usage(format!(
                "blend folds must be in 1..=20, got {}",
                self.folds
            )));
        }
        if self.threads == 0 {
            return Err(Error::Usage("blend threads must be >= 1, got 0".into()));
        }
        if self.folds > 1 && !self.refit {
            return Err(Error::Usage(
                "blend refit = false needs folds = 1: the models of the folds are not kept".into(),
            ));
        }
        if !(self.val_fraction > 0.0 && self.val_fraction <= 0.5) {
            return Err(Error::Usage(format!(
                "blend val_fraction must be in (0, 0.5], got {}",
                self.val_fraction
            )));
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(Error::Usage(format!(
                "blend ridge must be a finite number >= 0, got {}",
                self.ridge
            )));
        }
        Ok(())
    }
}

/// Blend weights fitted by ridge regression: `targets ~ intercept + sum_k w_k
/// predictions[k]`, minimising the squared error plus `ridge * |w|^2` (the intercept is
/// not penalised). `predictions[k]` holds member `k`'s prediction of every target.
///
/// ```
/// use embedrec::models::blend::fit_weights;
/// let a = [1.0, 2.0, 3.0, 4.0];
/// let b = [0.5, 0.0, 1.0, 3.0];
/// let y: Vec<f32> = a.iter().zip(&b).map(|(a, b)| 0.5 + 2.0 * a - b).collect();
/// let (intercept, w) = fit_weights(&[a.to_vec(), b.to_vec()], &y, 0.0).unwrap();
/// assert!((intercept - 0.5).abs() < 1e-4 && (w[0] - 2.0).abs() < 1e-4 && (w[1] + 1.0).abs() < 1e-4);
/// ```
pub fn fit_weights(
    predictions: &[Vec<f32>],
    targets: &[f32],
    ridge: f64,
) -> Result<(f32, Vec<f32>)> {
    let m = predictions.len();
    let n = targets.len();
    if n == 0 || predictions.iter().any(|p| p.len() != n) {
        return Err(Error::Usage(
            "blend weights need one prediction per target from every member".into(),
        ));
    }
    // Normal equations over [1, p_1, ..., p_m], with the predictions centred so the
    // intercept does not interact with the penalty.
    let mean_y = targets.iter().map(|&y| y as f64).sum::<f64>() / n as f64;
    let means: Vec<f64> = predictions
        .iter()
        .map(|p| p.iter().map(|&v| v as f64).sum::<f64>() / n as f64)
        .collect();
    let mut a = vec![0.0f64; m * m];
    let mut b = vec![0.0f64; m];
    for t in 0..n {
        let y = targets[t] as f64 - mean_y;
        for r in 0..m {
            let xr = predictions[r][t] as f64 - means[r];
            b[r] += xr * y;
            for c in 0..=r {
                a[r * m + c] += xr * (predictions[c][t] as f64 - means[c]);
            }
        }
    }
    for r in 0..m {
        for c in 0..r {
            a[c * m + r] = a[r * m + c];
        }
        // A tiny floor keeps identical members solvable.
        a[r * m + r] += ridge.max(1e-9 * n as f64);
    }
    let w = crate::nn::linalg::solve_spd(a, b, m);
    if w.iter().any(|v| !v.is_finite()) {
        return Err(Error::Usage(
            "blend weights could not be fitted (degenerate member predictions)".into(),
        ));
    }
    let intercept = mean_y - w.iter().zip(&means).map(|(w, m)| w * m).sum::<f64>();
    Ok((intercept as f32, w.iter().map(|&v| v as f32).collect()))
}

/// A fitted blend: members (all on the same user and item indices) and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Blend {
    /// The member models.
    pub members: Vec<AnyModel>,
    /// `w_0`.
    pub intercept: f32,
    /// `w_k`, one per member.
    pub weights: Vec<f32>,
    /// Members' predictions are clipped to this scale before blending (they were when
    /// the weights were fitted); `None`: not clipped.
    pub clip: Option<RatingScale>,
}

impl Blend {
    /// Checks that the members agree on their rows and that there is one weight each.
    pub fn new(
        members: Vec<AnyModel>,
        intercept: f32,
        weights: Vec<f32>,
        clip: Option<RatingScale>,
    ) -> Result<Blend> {
        let first = members
            .first()
            .ok_or_else(|| Error::Usage("a blend needs members".into()))?;
        let (u, i) = (first.n_users(), first.n_items());
        if members.iter().any(|m| m.n_users() != u || m.n_items() != i) {
            return Err(Error::Usage(
                "blend members must share their user and item rows".into(),
            ));
        }
        if weights.len() != members.len() || !weights.iter().all(|w| w.is_finite()) {
            return Err(Error::Usage(format!(
                "a blend of {} members needs as many finite weights, got {:?}",
                members.len(),
                weights
            )));
        }
        if members.iter().any(|m| m.kind() == "blend") {
            return Err(Error::Usage("a blend cannot hold another blend".into()));
        }
        Ok(Blend {
            members,
            intercept,
            weights,
            clip,
        })
    }

    fn member_value(&self, v: f32) -> f32 {
        match self.clip {
            Some(s) => s.clip(v),
            None => v,
        }
    }
}

impl Recommender for Blend {
    fn kind(&self) -> &'static str {
        "blend"
    }
    fn n_users(&self) -> u32 {
        self.members[0].n_users()
    }
    fn n_items(&self) -> u32 {
        self.members[0].n_items()
    }
    fn param_count(&self) -> usize {
        self.members.iter().map(|m| m.param_count()).sum::<usize>() + self.weights.len() + 1
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        self.members
            .iter()
            .zip(&self.weights)
            .fold(self.intercept, |acc, (m, w)| {
                acc + w * self.member_value(m.score(user, item))
            })
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.members
            .iter()
            .zip(&self.weights)
            .fold(self.intercept, |acc, (m, w)| {
                acc + w * self.member_value(m.fallback(user, item))
            })
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = self.intercept);
        let mut scores = vec![0.0f32; out.len()];
        for (m, w) in self.members.iter().zip(&self.weights) {
            m.score_items(user, &mut scores);
            for (o, &s) in out.iter_mut().zip(&scores) {
                *o += w * self.member_value(s);
            }
        }
    }
    fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
        self.predict_many_at(users, items, None, out)
    }
    fn predict_many_at(
        &self,
        users: &[u32],
        items: &[u32],
        times: Option<&[i64]>,
        out: &mut Vec<Prediction>,
    ) {
        out.clear();
        out.extend(users.iter().map(|_| Prediction {
            value: self.intercept,
            fallback: false,
        }));
        let mut member = Vec::with_capacity(users.len());
        for (m, w) in self.members.iter().zip(&self.weights) {
            m.predict_many_at(users, items, times, &mut member);
            for (o, p) in out.iter_mut().zip(&member) {
                o.value += w * self.member_value(p.value);
                o.fallback |= p.fallback;
            }
        }
    }
}

impl Model for Blend {
    boxed_model!();

    /// `blend.intercept [1]`, `blend.weights [M]`, then member `k`'s tensors under
    /// `m{k}.`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let mut v = vec![
            NamedTensor::new(
                "blend.intercept",
                &[1],
                std::slice::from_ref(&self.intercept),
            ),
            NamedTensor::new("blend.weights", &[self.weights.len()], &self.weights),
        ];
        for (k, member) in self.members.iter().enumerate() {
            v.extend(member.tensors().into_iter().map(|mut x| {
                x.name = format!("m{k}.{}", x.name);
                x
            }));
        }
        v
    }

    fn int_tensors(&self) -> Vec<(String, &[u32])> {
        self.members
            .iter()
            .enumerate()
            .flat_map(|(k, member)| {
                member
                    .int_tensors()
                    .into_iter()
                    .map(move |(name, data)| (format!("m{k}.{name}"), data))
            })
            .collect()
    }

    /// The first member's that has item factors.
    fn item_factors(&self) -> Option<(&[f32], usize)> {
        self.members.iter().find_map(|m| m.item_factors())
    }

    /// Each member folded in on its own (with its own params).
    fn fold_in(
        &self,
        params: &serde_json::Value,
        _: Feedback,
        ratings: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser> {
        let member_params = params
            .get("member_params")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        let members = self
            .members
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let p = member_params.get(k).cloned().unwrap_or_default();
                let member_base = FoldedUser {
                    members: Vec::new(),
                    ..base.clone()
                };
                m.fold_in(&p, Feedback::Ratings, ratings, member_base)
                    .map_err(|e| match e {
                        Error::Usage(msg) => {
                            Error::Usage(format!("blend member {k} ({}): {msg}", m.kind()))
                        }
                        other => other,
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FoldedUser { members, ..base })
    }

    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        let mut out = vec![self.intercept; self.n_items() as usize];
        for (k, (m, w)) in self.members.iter().zip(&self.weights).enumerate() {
            let scores = match user.members.get(k) {
                Some(member_user) => m.folded_scores(member_user),
                None => (0..m.n_items())
                    .map(|i| m.fallback(None, Some(i)))
                    .collect(),
            };
            for (o, s) in out.iter_mut().zip(scores) {
                *o += w * self.member_value(s);
            }
        }
        out
    }
}

/// A blend's members as (kind, params) from its params (`members` and
/// `member_params`).
fn members_of(
    params: &serde_json::Value,
) -> std::result::Result<Vec<(String, serde_json::Value)>, String> {
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

fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    let members = members_of(params)?;
    let (shape, intercept) = t.f32("blend.intercept", None)?;
    let (wshape, weights) = t.f32("blend.weights", None)?;
    if shape != [1] || wshape != [members.len()] {
        return Err(format!(
            "blend tensors have shapes {shape:?} and {wshape:?}, expected [1] and [{}]",
            members.len()
        ));
    }
    let mut models = Vec::new();
    for (k, (kind, params)) in members.iter().enumerate() {
        let load = super::kind(kind)?.load;
        models.push(load(params, users, items, &mut t.pp(&format!("m{k}")))?);
    }
    let clip: Option<RatingScale> = match params.get("member_clip") {
        None => None,
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("invalid blend member_clip: {e}"))?,
    };
    Blend::new(models, intercept[0], weights, clip)
        .map(AnyModel::new)
        .map_err(|e| e.to_string())
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "blend",
    about: "A linear blend of other models (--members), weights fitted on the members' out-of-fold predictions of the training data",
    load,
    member: None,
    params: super::rating_params::<BlendParams>,
    read: Some(super::read::<BlendParams>),
    presets: &[],
    flags: |implicit| {
        use super::flags::{Flag, names};
        (!implicit).then(|| {
            vec![
                Flag::parsed("--members", "members", |s| Ok(names(s).into())),
                Flag::field("--ridge", "ridge"),
                Flag::field("--blend-folds", "folds"),
                Flag::field("--val-fraction", "val_fraction"),
                super::flags::THREADS,
            ]
        })
    },
    no_preset: None,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Baseline;

    fn baseline(mu: f32, shift: f32) -> AnyModel {
        AnyModel::new(Baseline {
            mu,
            user_bias: vec![shift, -shift],
            item_bias: vec![0.5, -0.5, 0.0],
        })
    }

    /// With the penalty, weights shrink toward 0 and the intercept takes the mean.
    #[test]
    fn ridge_shrinks_toward_the_mean() {
        let a: Vec<f32> = (0..50).map(|i| (i % 7) as f32).collect();
        let y: Vec<f32> = a.iter().map(|v| 1.0 + 0.5 * v).collect();
        let (i0, w0) = fit_weights(std::slice::from_ref(&a), &y, 0.0).unwrap();
        assert!((w0[0] - 0.5).abs() < 1e-5 && (i0 - 1.0).abs() < 1e-4);
        let (i1, w1) = fit_weights(std::slice::from_ref(&a), &y, 1e6).unwrap();
        let mean_y = y.iter().sum::<f32>() / y.len() as f32;
        assert!(
            w1[0].abs() < 0.01 && (i1 - mean_y).abs() < 0.05,
            "{i1} {w1:?}"
        );
        // identical members share the weight instead of blowing up
        let (_, w2) = fit_weights(&[a.clone(), a.clone()], &y, 0.0).unwrap();
        assert!((w2[0] + w2[1] - 0.5).abs() < 1e-3, "{w2:?}");
    }

    /// The blend's score, batch predictions and per-user item scores agree, and equal
    /// the weighted sum of the (clipped) members.
    #[test]
    fn combines_members_consistently() {
        let scale = RatingScale { min: 1.0, max: 5.0 };
        let blend = Blend::new(
            vec![baseline(3.0, 0.2), baseline(4.9, 1.0)],
            0.1,
            vec![0.6, 0.3],
            Some(scale),
        )
        .unwrap();
        let expect = |u: u32, i: u32| {
            0.1 + 0.6 * scale.clip(blend.members[0].score(u, i))
                + 0.3 * scale.clip(blend.members[1].score(u, i))
        };
        let mut out = vec![0.0; 3];
        blend.score_items(0, &mut out);
        let mut many = Vec::new();
        blend.predict_many(&[0, 0, 0, 1, 5], &[0, 1, 2, 2, 0], &mut many);
        for i in 0..3 {
            assert!((blend.score(0, i) - expect(0, i)).abs() < 1e-6);
            assert!((out[i as usize] - expect(0, i)).abs() < 1e-6);
            assert!((many[i as usize].value - expect(0, i)).abs() < 1e-6);
        }
        assert!(many[4].fallback && !many[3].fallback);
        assert!(
            Blend::new(vec![baseline(3.0, 0.0)], 0.0, vec![1.0, 2.0], None).is_err(),
            "one weight per member"
        );
    }

    #[test]
    fn params_are_checked() {
        let mut p = BlendParams::default();
        assert!(p.check().is_ok());
        p.members = vec!["mf".into()];
        assert!(p.check().is_err());
        p.members = vec!["mf".into(), "blend".into()];
        assert!(p.check().is_err());
        p.members = vec!["mf".into(), "nope".into()];
        assert!(p.check().is_err());
        p.members = vec!["mf".into(), "ials".into()];
        assert!(p.check().is_err());
        p = BlendParams {
            val_fraction: 0.0,
            ..Default::default()
        };
        assert!(p.check().is_err());
        for (folds, refit, ok) in [
            (0, true, false),
            (21, true, false),
            (5, false, false),
            (1, false, true),
            (20, true, true),
        ] {
            p = BlendParams {
                folds,
                refit,
                ..Default::default()
            };
            assert_eq!(p.check().is_ok(), ok, "folds {folds} refit {refit}");
        }
    }
}
