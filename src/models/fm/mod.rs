//! `fm`: a second-order factorization machine (Rendle 2010) trained by Gibbs sampling
//! (Bayesian FM: Freudenthaler, Schmidt-Thieme and Rendle 2011; libFM's MCMC).
//!
//! Every variable is a feature with a weight and a K-factor vector; a rating's features
//! are its user, its item, the side variables of both, the items the user rated in
//! training (`rated`, SVD++'s implicit set) and the users who rated the item in training
//! (`raters`, the "flipped" set); every pair of features interacts through the dot
//! product of their factors. The sampler ([`gibbs`]) draws every parameter from its
//! conditional posterior under hierarchical normal-gamma priors per feature group, so
//! there is no learning rate or L2 to tune; the prediction is the average over the
//! samples kept after burn-in.
//!
//! What the model file keeps: the kept samples (`keep` of them, evenly thinned from the
//! sweeps after burn-in): `w0` `[S]`, `w` `[S, F]`, `v` `[S, F, K]`, and the feature rows
//! of the users and items (CSR: `user_ptr`, `user_feat`, `user_val`, the same for items)
//! with the groups (`groups`: first feature, count and block of each). At K = 10 and 64
//! samples on ML-100K u1 (5,290 features) that is 14 MB. Loading derives, per user and
//! per item, the average of the row's own terms and the concatenation of its factor sums
//! over the samples (scaled by `1/sqrt(S)`), so that a prediction is one dot product of
//! `S x K` values: `w0 + a_u + a_i + <p_u, q_i>`.
//!
//! | name | default | meaning | valid range |
//! |---|---|---|---|
//! | `dim` | 10 | factors K per feature | >= 1 |
//! | `sweeps` | 200 | Gibbs sweeps over every parameter | >= 1 |
//! | `burn_in` | 50 | sweeps discarded before samples are kept | < sweeps |
//! | `keep` | 64 | samples kept in the model (evenly thinned after burn-in) | >= 1 |
//! | `features` | `rated`, `raters`, `side` | feature groups beyond user and item: `rated`, `raters`, side-variable names, `side` = every side variable of the data | |
//! | `init_std` | 0.1 | standard deviation of the initial factors | >= 0 |
//! | `seed` | 42 | the chain's seed | |

pub(crate) mod design;
pub(crate) mod gibbs;

use super::fit::{Feedback, Fit, Fitted, RowOptions, RowValidation, TrainingSet};
use super::{AnyModel, EpochStats, Kind, Model, NamedTensor, Recommender, Tensors};
use crate::error::{Error, Result};
use design::{Block, Design, Group};
use gibbs::{Sampler, row_summaries};
use serde_json::{Value, json};
use std::time::Instant;

/// Params of the factorization machine (see the module docs for the table).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FmParams {
    /// Factors K per feature.
    pub dim: usize,
    /// Gibbs sweeps.
    pub sweeps: usize,
    /// Sweeps discarded before samples are kept.
    pub burn_in: usize,
    /// Samples kept in the model, evenly thinned from the sweeps after burn-in.
    pub keep: usize,
    /// Feature groups beyond user and item.
    pub features: Vec<String>,
    /// Standard deviation of the initial factors.
    pub init_std: f32,
    /// The chain's seed.
    pub seed: u64,
}

impl Default for FmParams {
    fn default() -> Self {
        FmParams {
            dim: 10,
            sweeps: 200,
            burn_in: 50,
            keep: 64,
            features: vec!["rated".into(), "raters".into(), "side".into()],
            init_std: 0.1,
            seed: 42,
        }
    }
}

impl FmParams {
    /// Checks every value against its range.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Usage(m));
        if self.dim == 0 {
            return bad("fm: dim must be at least 1".into());
        }
        if self.sweeps == 0 {
            return bad("fm: sweeps must be at least 1".into());
        }
        if self.burn_in >= self.sweeps {
            return bad(format!(
                "fm: burn_in ({}) must be below sweeps ({})",
                self.burn_in, self.sweeps
            ));
        }
        if self.keep == 0 {
            return bad("fm: keep must be at least 1".into());
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return bad(format!(
                "fm: init_std must be a number >= 0, got {}",
                self.init_std
            ));
        }
        Ok(())
    }

    /// The 1-based sweeps whose samples are kept: every `step`-th after burn-in, at most
    /// `keep` of them, the last sweep always among them.
    pub fn kept_sweeps(&self) -> Vec<usize> {
        let after = self.sweeps - self.burn_in;
        let step = after.div_ceil(self.keep.min(after));
        (1..=after)
            .rev()
            .step_by(step)
            .map(|s| s + self.burn_in)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }
}

/// What scores: a global bias, per user and per item the average of the row's own
/// terms, and per user and item the concatenated factor sums of every sample
/// (`[rows, width]`, scaled by `1/sqrt(S)`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scorer {
    bias: f32,
    ua: Vec<f32>,
    ia: Vec<f32>,
    p: Vec<f32>,
    q: Vec<f32>,
    width: usize,
}

impl Scorer {
    /// The scorer of samples given as `(w0, w, v)`.
    fn of_samples<'s>(
        design: &Design,
        k: usize,
        samples: impl ExactSizeIterator<Item = (f64, &'s [f64], &'s [f64])>,
    ) -> Scorer {
        let s = samples.len();
        let (users, items) = (design.user.rows(), design.item.rows());
        let width = s * k;
        let scale = 1.0 / (s as f64).sqrt();
        let mut bias = 0.0;
        let (mut ua, mut ia) = (vec![0f64; users], vec![0f64; items]);
        let (mut p, mut q) = (vec![0f32; users * width], vec![0f32; items * width]);
        for (t, (w0, w, v)) in samples.enumerate() {
            bias += w0 / s as f64;
            for (block, acc, out, rows) in [
                (&design.user, &mut ua, &mut p, users),
                (&design.item, &mut ia, &mut q, items),
            ] {
                let (a, sums) = row_summaries(block, w, v, k);
                for r in 0..rows {
                    acc[r] += a[r] / s as f64;
                    for f in 0..k {
                        out[r * width + t * k + f] = (sums[r * k + f] * scale) as f32;
                    }
                }
            }
        }
        Scorer {
            bias: bias as f32,
            ua: ua.into_iter().map(|x| x as f32).collect(),
            ia: ia.into_iter().map(|x| x as f32).collect(),
            p,
            q,
            width,
        }
    }
}

impl Recommender for Scorer {
    fn kind(&self) -> &'static str {
        "fm"
    }
    fn n_users(&self) -> u32 {
        self.ua.len() as u32
    }
    fn n_items(&self) -> u32 {
        self.ia.len() as u32
    }
    fn param_count(&self) -> usize {
        1 + self.ua.len() + self.ia.len() + self.p.len() + self.q.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        let (u, i, w) = (user as usize, item as usize, self.width);
        self.bias
            + self.ua[u]
            + self.ia[i]
            + crate::nn::kernels::dot(&self.p[u * w..(u + 1) * w], &self.q[i * w..(i + 1) * w])
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.bias
            + user.map_or(0.0, |u| self.ua[u as usize])
            + item.map_or(0.0, |i| self.ia[i as usize])
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        let (u, w) = (user as usize, self.width);
        let pu = &self.p[u * w..(u + 1) * w];
        let base = self.bias + self.ua[u];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = base + self.ia[i] + crate::nn::kernels::dot(pu, &self.q[i * w..(i + 1) * w]);
        }
    }
}

/// A trained factorization machine: its kept samples, its feature rows, and the
/// [`Scorer`] derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Fm {
    k: usize,
    design: Design,
    /// `[S]`, `[S, F]`, `[S, F, K]`.
    w0: Vec<f32>,
    w: Vec<f32>,
    v: Vec<f32>,
    /// Per group: first feature, count, block (0 users, 1 items), for the model file.
    group_table: Vec<u32>,
    scorer: Scorer,
}

impl Fm {
    fn new(k: usize, design: Design, w0: Vec<f32>, w: Vec<f32>, v: Vec<f32>) -> Fm {
        let nf = design.n_features();
        let s = w0.len();
        let w64: Vec<f64> = w.iter().map(|&x| x as f64).collect();
        let v64: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        let samples = (0..s).map(|t| {
            (
                w0[t] as f64,
                &w64[t * nf..(t + 1) * nf],
                &v64[t * nf * k..(t + 1) * nf * k],
            )
        });
        let scorer = Scorer::of_samples(&design, k, samples);
        let group_table = (design.groups.iter())
            .flat_map(|g| [g.first, g.len, (g.first >= design.item.first) as u32])
            .collect();
        Fm {
            k,
            design,
            group_table,
            w0,
            w,
            v,
            scorer,
        }
    }

    /// Samples kept.
    pub fn samples(&self) -> usize {
        self.w0.len()
    }
}

impl Recommender for Fm {
    fn kind(&self) -> &'static str {
        "fm"
    }
    fn n_users(&self) -> u32 {
        self.scorer.n_users()
    }
    fn n_items(&self) -> u32 {
        self.scorer.n_items()
    }
    fn param_count(&self) -> usize {
        self.w0.len() + self.w.len() + self.v.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        self.scorer.score(user, item)
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.scorer.fallback(user, item)
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        self.scorer.score_items(user, out)
    }
}

impl Model for Fm {
    boxed_model!();

    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (s, nf, k) = (self.w0.len(), self.design.n_features(), self.k);
        vec![
            NamedTensor::new("w0", &[s], &self.w0),
            NamedTensor::new("w", &[s, nf], &self.w),
            NamedTensor::new("v", &[s, nf, k], &self.v),
            NamedTensor::new(
                "user_val",
                &[self.design.user.val.len()],
                &self.design.user.val,
            ),
            NamedTensor::new(
                "item_val",
                &[self.design.item.val.len()],
                &self.design.item.val,
            ),
        ]
    }

    fn int_tensors(&self) -> Vec<(String, &[u32])> {
        vec![
            ("user_ptr".into(), &self.design.user.row_ptr[..]),
            ("user_feat".into(), &self.design.user.feat[..]),
            ("item_ptr".into(), &self.design.item.row_ptr[..]),
            ("item_feat".into(), &self.design.item.feat[..]),
            ("groups".into(), &self.group_table[..]),
        ]
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.scorer.q, self.scorer.width))
    }
}

impl Fit for FmParams {
    fn kind(&self) -> &'static str {
        "fm"
    }
    fn to_json(&self) -> Value {
        json!(self)
    }
    fn check(&self) -> Result<()> {
        FmParams::check(self)
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        self.check()?;
        if let RowValidation::Carve(_) | RowValidation::Ratings(_) = options.validation {
            return Err(Error::Usage(
                "fm takes no validation data (its sweeps are not stopped early)".into(),
            ));
        }
        let design = Design::build(set, &self.features)?;
        let r = set.ratings;
        let k = self.dim;
        let mut chain = Sampler::new(
            &design,
            &r.users,
            &r.items,
            &r.values,
            k,
            self.init_std as f64,
            self.seed,
        );
        let kept = self.kept_sweeps();
        let nf = design.n_features();
        let (mut w0, mut w, mut v) = (
            Vec::with_capacity(kept.len()),
            Vec::with_capacity(kept.len() * nf),
            Vec::with_capacity(kept.len() * nf * k),
        );
        let clip = Some(set.scale);
        let mut watch_sum = options.watch.map(|x| vec![0f64; x.len()]);
        let mut history = Vec::new();
        let mut train_seconds = 0.0;
        for sweep in 1..=self.sweeps {
            let started = Instant::now();
            chain.sweep();
            let keep_now = kept.binary_search(&sweep).is_ok();
            if keep_now {
                w0.push(chain.s.w0 as f32);
                w.extend(chain.s.w.iter().map(|&x| x as f32));
                v.extend(chain.s.v.iter().map(|&x| x as f32));
            }
            let seconds = started.elapsed().as_secs_f64();
            train_seconds += seconds;
            if options.watch.is_none() && options.on_epoch.is_none() {
                continue;
            }
            let now = Scorer::of_samples(
                &design,
                k,
                std::iter::once((chain.s.w0, &chain.s.w[..], &chain.s.v[..])),
            );
            let mut watch_rmse = None;
            if let (Some(x), Some(sum)) = (options.watch, watch_sum.as_mut()) {
                if keep_now {
                    for (t, slot) in sum.iter_mut().enumerate() {
                        *slot += now.predict(x.users[t], x.items[t]).value as f64;
                    }
                }
                let kept_so_far = w0.len();
                watch_rmse = Some(if kept_so_far == 0 {
                    crate::eval::rating_metrics(&now, x, clip).rmse
                } else {
                    let n = x.len().max(1) as f64;
                    let sse: f64 = (sum.iter().zip(&x.values))
                        .map(|(s, &y)| {
                            let p = set.scale.clip((s / kept_so_far as f64) as f32);
                            (p as f64 - y as f64).powi(2)
                        })
                        .sum();
                    (sse / n).sqrt()
                });
            }
            let stats = EpochStats {
                epoch: sweep,
                epochs: self.sweeps,
                seconds,
                train_rmse: Some(chain.train_rmse()),
                val_rmse: None,
                watch_rmse,
                watch_ndcg: None,
                watch_hr: None,
            };
            if let Some(f) = options.on_epoch {
                f(&stats, &now)?;
            }
            history.push(stats);
        }
        let model = Fm::new(k, design, w0, w, v);
        Ok(Fitted {
            model: AnyModel::new(model),
            params: json!(self),
            feedback: Feedback::Ratings,
            clip: true,
            history,
            train_seconds,
        })
    }
}

fn load(
    params: &Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    let p = super::params_of::<FmParams>("fm", params, FmParams::check)?;
    let k = p.dim;
    let table = t.u32("groups")?;
    if table.is_empty() || table.len() % 3 != 0 {
        return Err("fm: malformed feature groups".into());
    }
    // Groups are contiguous from feature 0, the user block's first, then the item block's.
    let mut groups = Vec::new();
    let mut next = 0u32;
    let mut user_end = None;
    for (g, c) in table.chunks(3).enumerate() {
        let (first, len, block) = (c[0], c[1], c[2]);
        let block_ok = match (block, user_end) {
            (0, None) => true,
            (1, None) => {
                user_end = Some(first);
                g > 0
            }
            (1, Some(_)) => true,
            _ => false,
        };
        if first != next || !block_ok || len == 0 {
            return Err("fm: malformed feature groups".into());
        }
        next = first
            .checked_add(len)
            .ok_or_else(|| "fm: malformed feature groups".to_string())?;
        groups.push(Group {
            name: format!("group{g}"),
            first,
            len,
        });
    }
    let Some(user_end) = user_end else {
        return Err("fm: malformed feature groups (no item block)".into());
    };
    let nf = next as usize;
    let mut block =
        |name: &str, rows: usize, first: u32, end: u32| -> std::result::Result<Block, String> {
            let b = Block {
                row_ptr: t.u32(&format!("{name}_ptr"))?,
                feat: t.u32(&format!("{name}_feat"))?,
                val: t.f32(&format!("{name}_val"), None)?.1,
                first,
                end,
            };
            b.check(rows, name)?;
            Ok(b)
        };
    let design = Design {
        user: block("user", users, 0, user_end)?,
        item: block("item", items, user_end, next)?,
        groups,
    };
    let (shape, w0) = t.f32("w0", None)?;
    let s = match shape[..] {
        [s] if s >= 1 => s,
        _ => {
            return Err(format!(
                "fm: tensor `w0` has shape {shape:?}, expected [samples]"
            ));
        }
    };
    let w = t.values("w", &[s, nf])?;
    let v = t.values("v", &[s, nf, k])?;
    Ok(AnyModel::new(Fm::new(k, design, w0, w, v)))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "fm",
    load,
    member: Some(|seed| {
        Box::new(FmParams {
            seed,
            ..Default::default()
        })
    }),
    params: super::rating_params::<FmParams>,
    presets: &[],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, SplitSpec};
    use crate::models::{BaselineParams, FitOptions};

    fn data() -> (Dataset, Dataset) {
        let data = Dataset::synthetic(300, 200, 12_000, 5).unwrap();
        let spec: SplitSpec = "random:0.2".parse().unwrap();
        data.split(&spec, 42).unwrap()
    }

    #[test]
    fn kept_sweeps_are_evenly_thinned_and_end_at_the_last() {
        let p = |sweeps, burn_in, keep| FmParams {
            sweeps,
            burn_in,
            keep,
            ..Default::default()
        };
        assert_eq!(p(10, 4, 3).kept_sweeps(), vec![6, 8, 10]);
        assert_eq!(p(10, 4, 100).kept_sweeps(), vec![5, 6, 7, 8, 9, 10]);
        assert_eq!(p(10, 9, 1).kept_sweeps(), vec![10]);
        assert_eq!(p(200, 50, 64).kept_sweeps().len(), 50);
        assert!(
            FmParams {
                burn_in: 200,
                ..Default::default()
            }
            .check()
            .is_err()
        );
    }

    /// One thread, one seed: the same model bit for bit; another seed: another chain.
    #[test]
    fn seeded_runs_reproduce() {
        let (train, _) = data();
        let p = FmParams {
            sweeps: 12,
            burn_in: 4,
            ..Default::default()
        };
        let a = p.fit(&train, &FitOptions::default()).unwrap();
        let b = p.fit(&train, &FitOptions::default()).unwrap();
        assert_eq!(a.model, b.model);
        let c = FmParams { seed: 7, ..p }
            .fit(&train, &FitOptions::default())
            .unwrap();
        assert_ne!(a.model, c.model);
    }

    /// On data with user-item interactions, the sampled FM beats the bias baseline, and
    /// the model file gives back the same predictions.
    #[test]
    fn beats_the_baseline_and_round_trips() {
        let (train, test) = data();
        let fm = FmParams {
            sweeps: 60,
            burn_in: 20,
            ..Default::default()
        }
        .fit(&train, &FitOptions::default())
        .unwrap();
        let base = BaselineParams::default()
            .fit(&train, &FitOptions::default())
            .unwrap();
        let (f, b) = (
            fm.evaluate(&test).unwrap().rmse,
            base.evaluate(&test).unwrap().rmse,
        );
        assert!(f < b - 0.01, "fm {f} vs baseline {b}");
        let back = crate::store::TrainedModel::from_bytes(
            &fm.to_bytes().unwrap(),
            std::path::Path::new("fm.emb"),
        )
        .unwrap();
        assert_eq!(back.model, fm.model);
        assert_eq!(back.evaluate(&test).unwrap().rmse, f);
    }

    /// A malformed group table or feature rows in a model file are refused, not trusted.
    #[test]
    fn malformed_feature_rows_are_refused() {
        let (train, _) = data();
        let fm = FmParams {
            sweeps: 3,
            burn_in: 1,
            ..Default::default()
        }
        .fit(&train, &FitOptions::default())
        .unwrap();
        let m = fm.model.downcast_ref::<Fm>().unwrap();
        let mut broken = m.clone();
        broken.design.user.feat[0] = broken.design.item.end + 5;
        let mut good_groups = m.clone();
        good_groups.group_table[1] += 1;
        for bad in [broken, good_groups] {
            let mut model = fm.clone();
            model.model = AnyModel::new(bad);
            let bytes = model.to_bytes().unwrap();
            let err = crate::store::TrainedModel::from_bytes(&bytes, std::path::Path::new("x"))
                .unwrap_err();
            assert!(err.to_string().contains("fm"), "{err}");
        }
    }
}
