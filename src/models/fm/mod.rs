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
//! What the model file keeps: the kept samples (`keep` of each of the `chains`
//! independent chains, evenly thinned from the sweeps after burn-in): `w0` `[S]`, `w`
//! `[S, F]`, `v` `[S, F, K]`, and the feature rows of the users and items (CSR:
//! `user_ptr`, `user_feat`, `user_val`, the same for items) with the groups (`groups`:
//! first feature, count and block of each). At K = 10 and 64 samples (8 chains x 8) on
//! ML-100K u1 (5,290 features) that is 14 MB. Loading derives, per user and
//! per item, the average of the row's own terms and the concatenation of its factor sums
//! over the samples (scaled by `1/sqrt(S)`), so that a prediction is one dot product of
//! `S x K` values: `w0 + a_u + a_i + <p_u, q_i>`.
//!
//! | name | default | meaning | valid range |
//! |---|---|---|---|
//! | `dim` | 10 | factors K per feature | >= 1 |
//! | `chains` | 8 | independent chains (seeds from `seed`: [`chain_seed`]), their kept samples pooled | >= 1 |
//! | `sweeps` | 64 | Gibbs sweeps over every parameter, per chain | >= 1 |
//! | `burn_in` | 20 | sweeps discarded before samples are kept, per chain | < sweeps |
//! | `keep` | 8 | samples kept of each chain (evenly thinned after burn-in) | >= 1 |
//! | `features` | `rated`, `raters`, `side`, `time` | feature groups beyond user and item: `rated`, `raters`, `day` (the rating's day since the first training rating, later days as the last), `item_age` (log2 buckets of the days since the item's first training rating), side-variable names (`zip`, the zip code's first character, only by name); `side` = every side variable of the data but `zip`, `time` = `day` when the ratings have timestamps | |
//! | `init_std` | 0.1 | standard deviation of the initial factors | >= 0 |
//! | `solver` | `mcmc` | `mcmc` (Gibbs sampling) or `als` (alternating least squares for a fixed `l2`: the MAP estimate, each chain's last sweep kept, the chains' estimates averaged; `burn_in` and `keep` do not apply) | |
//! | `link` | `gaussian` | `gaussian` (ratings = output + normal noise of sampled precision) or `ordered-probit` (the rating levels, the distinct training values, as intervals of a latent normal around the output; cut points learned: see [`probit`]) | |
//! | `l2` | 30 | ALS: the L2 penalty of every weight and factor (the squared error unscaled) | > 0 |
//! | `threads` | 1 | threads: chains at once (chain `c` on thread `c % threads`), the rest within each chain for the passes over the ratings (the draws of the parameters stay in one order; results do not depend on it) | >= 1 |
//! | `seed` | 42 | the first chain's seed | |

pub(crate) mod design;
mod fold;
pub(crate) mod gibbs;
pub(crate) mod probit;
mod scorer;

use super::fit::{Feedback, Fit, Fitted, RowOptions, RowValidation, TrainingSet};
use super::{AnyModel, EpochStats, Kind, Model, NamedTensor, Prediction, Recommender, Tensors};
use crate::error::{Error, Result};
use crate::models::threads::map_ordered;
use design::{AGE_BUCKETS, Block, Clock, Design, Group, MAX_DAYS};
use gibbs::Sampler;
use probit::Probit;
use scorer::Scorer;
use serde_json::{Value, json};
use std::time::Instant;

/// Params of the factorization machine (see the module docs for the table).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FmParams {
    /// Factors K per feature.
    pub dim: usize,
    /// Independent chains, each with its own seed; their kept samples are pooled.
    /// Model files from before chains read 1 (one chain is how they were sampled).
    #[serde(default = "one_chain")]
    pub chains: usize,
    /// Gibbs sweeps of each chain.
    pub sweeps: usize,
    /// Sweeps of each chain discarded before samples are kept.
    pub burn_in: usize,
    /// Samples kept of each chain, evenly thinned from the sweeps after burn-in.
    pub keep: usize,
    /// Feature groups beyond user and item.
    pub features: Vec<String>,
    /// Standard deviation of the initial factors.
    pub init_std: f32,
    /// `mcmc` (Gibbs sampling, the default) or `als` (alternating least squares: the
    /// MAP estimate for a fixed `l2`, the last sweep's state being the model).
    pub solver: Solver,
    /// How ratings relate to the FM's output: `gaussian` or `ordered-probit`.
    pub link: Link,
    /// ALS only: the L2 penalty of every weight and factor.
    pub l2: f32,
    /// Threads: chains at once, then the passes over the ratings within a chain;
    /// results do not depend on it.
    pub threads: usize,
    /// The seed of the first chain (chain `c` gets [`chain_seed`]`(seed, c)`).
    pub seed: u64,
}

fn one_chain() -> usize {
    1
}

/// Chain `c`'s seed: `seed` itself for the first chain (so one chain samples as before
/// chains existed), then a splitmix64 step of `seed + c` for each other chain.
pub fn chain_seed(seed: u64, c: usize) -> u64 {
    if c == 0 {
        return seed;
    }
    let mut z = seed.wrapping_add((c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How [`FmParams`] fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Gibbs sampling under hierarchical priors; predictions averaged over samples.
    Mcmc,
    /// Alternating least squares for a fixed L2: fast, one point estimate.
    Als,
}

impl std::str::FromStr for Solver {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mcmc" => Ok(Solver::Mcmc),
            "als" => Ok(Solver::Als),
            _ => Err(Error::Usage(format!(
                "--solver: expected mcmc or als, got '{s}'"
            ))),
        }
    }
}

/// How [`FmParams`] links ratings to the FM's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    /// `rating = output + noise`, the noise normal with a sampled precision.
    Gaussian,
    /// Ordered probit: the rating levels are intervals of `output + N(0, 1)` between
    /// learned cut points; a prediction is the expected level.
    OrderedProbit,
}

impl std::str::FromStr for Link {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "gaussian" => Ok(Link::Gaussian),
            "ordered-probit" => Ok(Link::OrderedProbit),
            _ => Err(Error::Usage(format!(
                "--link: expected gaussian or ordered-probit, got '{s}'"
            ))),
        }
    }
}

impl Default for FmParams {
    fn default() -> Self {
        FmParams {
            dim: 10,
            chains: 8,
            sweeps: 64,
            burn_in: 20,
            keep: 8,
            features: vec![
                "rated".into(),
                "raters".into(),
                "side".into(),
                "time".into(),
            ],
            init_std: 0.1,
            solver: Solver::Mcmc,
            link: Link::Gaussian,
            l2: 30.0,
            threads: 1,
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
        if self.chains == 0 {
            return bad("fm: chains must be at least 1".into());
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
        if !(self.l2.is_finite() && self.l2 > 0.0) {
            return bad(format!("fm: l2 must be a number > 0, got {}", self.l2));
        }
        if self.threads == 0 {
            return bad("fm: threads must be at least 1".into());
        }
        if self.solver == Solver::Als && self.link == Link::OrderedProbit {
            return bad("fm: the ordered-probit link needs the mcmc solver".into());
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

    /// Whether the features read the ratings' timestamps (`day`, `item_age`, `time`).
    pub fn uses_time(&self) -> bool {
        (self.features.iter()).any(|f| matches!(f.as_str(), "day" | "item_age" | "time"))
    }

    /// The 1-based sweeps whose samples are kept: every `step`-th after burn-in, at most
    /// `keep` of them, the last sweep always among them.
    pub fn kept_sweeps(&self) -> Vec<usize> {
        if self.solver == Solver::Als {
            return vec![self.sweeps];
        }
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
    /// `[S]`: each sample's noise precision.
    alpha: Vec<f32>,
    /// `[S, groups, K + 1, 2]`: each sample's prior mean and precision per group, of the
    /// linear weights (index 0) and of each factor (fold-in draws on the user group's).
    hyper: Vec<f32>,
    /// Per group: first feature, count, block (0 users, 1 items, 2 time), for the model
    /// file.
    group_table: Vec<u32>,
    /// Under the ordered-probit link: the rating levels `[L]` and each sample's cut
    /// points `[S, L - 1]` (both empty under the gaussian link).
    levels: Vec<f32>,
    cuts: Vec<f32>,
    /// The time features' definition, for the model file: `[t0 >> 32, t0 & 0xffffffff,
    /// days, day group's first feature + 1 or 0, item_age's + 1 or 0]` (empty without
    /// time features; the rest of the clock is written from `design.clock`).
    clock_table: Vec<u32>,
    scorer: Scorer,
}

/// The kept samples, as the model file stores them (see [`Fm`]'s fields).
#[derive(Debug, Default)]
pub(crate) struct Samples {
    pub w0: Vec<f32>,
    pub w: Vec<f32>,
    pub v: Vec<f32>,
    pub alpha: Vec<f32>,
    pub hyper: Vec<f32>,
    /// Ordered probit: the levels and each sample's cut points.
    pub levels: Vec<f32>,
    pub cuts: Vec<f32>,
}

impl Samples {
    /// Appends the chain's current state.
    fn push(&mut self, chain: &Sampler<'_>, groups: usize) {
        let s = &chain.s;
        if let Some(p) = &chain.probit {
            self.levels.clone_from(&p.levels);
            self.cuts.extend(p.cuts.iter().map(|&c| c as f32));
        }
        let k = s.k;
        self.w0.push(s.w0 as f32);
        self.w.extend(s.w.iter().map(|&x| x as f32));
        self.v.extend(s.v.iter().map(|&x| x as f32));
        self.alpha.push(s.alpha as f32);
        for g in 0..groups {
            self.hyper.extend([s.mu_w[g] as f32, s.lam_w[g] as f32]);
            for f in 0..k {
                self.hyper
                    .extend([s.mu_v[g * k + f] as f32, s.lam_v[g * k + f] as f32]);
            }
        }
    }
}

impl Fm {
    fn new(k: usize, design: Design, samples: Samples) -> Fm {
        let Samples {
            w0,
            w,
            v,
            alpha,
            hyper,
            levels,
            cuts,
        } = samples;
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
        let link = (!levels.is_empty()).then_some((&levels[..], &cuts[..]));
        let scorer = Scorer::of_samples(&design, k, samples, link);
        let group_table = (design.groups.iter())
            .flat_map(|g| {
                let block = if g.first < design.item.first {
                    0
                } else if g.first < design.item.end {
                    1
                } else {
                    2
                };
                [g.first, g.len, block]
            })
            .collect();
        let clock_table = design.clock.as_ref().map_or_else(Vec::new, |c| {
            vec![
                (c.t0 as u64 >> 32) as u32,
                c.t0 as u64 as u32,
                c.days,
                c.day.map_or(0, |f| f + 1),
                c.age.map_or(0, |f| f + 1),
            ]
        });
        Fm {
            k,
            design,
            levels,
            cuts,
            group_table,
            clock_table,
            w0,
            w,
            v,
            alpha,
            hyper,
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
    fn predict_many_at(
        &self,
        users: &[u32],
        items: &[u32],
        times: Option<&[i64]>,
        out: &mut Vec<Prediction>,
    ) {
        self.scorer.predict_at(users, items, times, out)
    }
}

impl Model for Fm {
    boxed_model!();

    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (s, nf, k) = (self.w0.len(), self.design.n_features(), self.k);
        let mut out = vec![
            NamedTensor::new("w0", &[s], &self.w0),
            NamedTensor::new("w", &[s, nf], &self.w),
            NamedTensor::new("v", &[s, nf, k], &self.v),
            NamedTensor::new("alpha", &[s], &self.alpha),
            NamedTensor::new(
                "hyper",
                &[s, self.design.groups.len(), k + 1, 2],
                &self.hyper,
            ),
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
        ];
        if !self.levels.is_empty() {
            let c = self.levels.len() - 1;
            out.push(NamedTensor::new("levels", &[c + 1], &self.levels));
            out.push(NamedTensor::new("cuts", &[s, c], &self.cuts));
        }
        if let Some(c) = &self.design.clock {
            out.push(NamedTensor::new(
                "day_share",
                &[c.day_share.len()],
                &c.day_share,
            ));
            let days = &c.user_days;
            out.push(NamedTensor::new(
                "user_days_val",
                &[days.val.len()],
                &days.val,
            ));
        }
        out
    }

    fn int_tensors(&self) -> Vec<(String, &[u32])> {
        let mut out = vec![
            ("user_ptr".into(), &self.design.user.row_ptr[..]),
            ("user_feat".into(), &self.design.user.feat[..]),
            ("item_ptr".into(), &self.design.item.row_ptr[..]),
            ("item_feat".into(), &self.design.item.feat[..]),
            ("groups".into(), &self.group_table[..]),
        ];
        if let Some(c) = &self.design.clock {
            out.push(("clock".into(), &self.clock_table[..]));
            out.push(("item_first".into(), &c.item_first[..]));
            out.push(("user_days_ptr".into(), &c.user_days.row_ptr[..]));
            out.push(("user_days_feat".into(), &c.user_days.feat[..]));
        }
        out
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.scorer.q, self.scorer.width))
    }

    fn fold_in(
        &self,
        _: &Value,
        _: Feedback,
        ratings: &[(u32, f32)],
        base: super::FoldedUser,
    ) -> Result<super::FoldedUser> {
        Ok(self.fold_in_user(ratings, base))
    }

    fn folded_scores(&self, user: &super::FoldedUser) -> Vec<f32> {
        self.scorer.folded_scores(user.bias, &user.factors)
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
    fn needs_times(&self) -> bool {
        self.uses_time()
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        let p = FmParams {
            threads: options.threads.unwrap_or(self.threads),
            ..self.clone()
        };
        p.fit_checked(set, options)
    }
}

impl FmParams {
    fn fit_checked(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        self.check()?;
        if let RowValidation::Carve(_) | RowValidation::Ratings(_) = options.validation {
            return Err(Error::Usage(
                "fm takes no validation data (its sweeps are not stopped early)".into(),
            ));
        }
        let design = Design::build(set, &self.features)?;
        let r = set.ratings;
        let k = self.dim;
        let time_block = design.time_block(&r.items, r.times.as_deref());
        let mut blocks = vec![(&design.user, &r.users[..]), (&design.item, &r.items[..])];
        if let Some((b, rows)) = &time_block {
            blocks.push((b, &rows[..]));
        }
        // Under the ordered-probit link the chain starts on the latent values.
        let probit = match self.link {
            Link::Gaussian => None,
            Link::OrderedProbit => Some(Probit::new(probit::levels_of(&r.values)?, &r.values).0),
        };
        let latent: Option<Vec<f32>> =
            (probit.as_ref()).map(|p| p.z.iter().map(|&z| z as f32).collect());
        // Chains at once, then threads within each chain; neither changes the draws.
        let (outer, inner) = (
            self.threads.min(self.chains),
            (self.threads / self.chains).max(1),
        );
        let mut chains: Vec<Sampler<'_>> = (0..self.chains)
            .map(|c| {
                let mut chain = Sampler::new(
                    &design,
                    blocks.clone(),
                    latent.as_deref().unwrap_or(&r.values),
                    k,
                    self.init_std as f64,
                    chain_seed(self.seed, c),
                );
                if let Some(p) = &probit {
                    chain.use_probit(p.clone());
                }
                chain.threads = inner;
                if self.solver == Solver::Als {
                    chain.use_als(self.l2 as f64);
                }
                chain
            })
            .collect();
        let kept = self.kept_sweeps();
        let nf = design.n_features();
        let mut samples = Samples {
            w: Vec::with_capacity(self.chains * kept.len() * nf),
            v: Vec::with_capacity(self.chains * kept.len() * nf * k),
            ..Default::default()
        };
        let clip = Some(set.scale);
        let mut watch_sum = options.watch.map(|x| vec![0f64; x.len()]);
        let mut history = Vec::new();
        let mut train_seconds = 0.0;
        for sweep in 1..=self.sweeps {
            let started = Instant::now();
            map_ordered(chains.iter_mut().collect(), outer, |c| c.sweep());
            let keep_now = kept.binary_search(&sweep).is_ok();
            if keep_now {
                for chain in &chains {
                    samples.push(chain, design.groups.len());
                }
            }
            let seconds = started.elapsed().as_secs_f64();
            train_seconds += seconds;
            if options.watch.is_none() && options.on_epoch.is_none() {
                continue;
            }
            // The chains' current states, as one model of `chains` samples.
            let cuts_now: Option<Vec<f32>> = (chains[0].probit.is_some()).then(|| {
                (chains
                    .iter()
                    .flat_map(|c| &c.probit.as_ref().expect("probit").cuts))
                .map(|&c| c as f32)
                .collect()
            });
            let link_now = (chains[0].probit.as_ref())
                .zip(cuts_now.as_deref())
                .map(|(p, c)| (&p.levels[..], c));
            let now = Scorer::of_samples(
                &design,
                k,
                (chains.iter()).map(|c| (c.s.w0, &c.s.w[..], &c.s.v[..])),
                link_now,
            );
            let mut watch_rmse = None;
            if let (Some(x), Some(sum)) = (options.watch, watch_sum.as_mut()) {
                if keep_now {
                    let mut preds = Vec::new();
                    now.predict_many_at(&x.users, &x.items, x.times.as_deref(), &mut preds);
                    for (slot, p) in sum.iter_mut().zip(&preds) {
                        *slot += p.value as f64;
                    }
                }
                let kept_so_far = samples.w0.len() / self.chains;
                watch_rmse = Some(if kept_so_far == 0 {
                    crate::metrics::rating_metrics(&now, x, clip).rmse
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
                train_rmse: Some(
                    chains.iter().map(|c| c.train_rmse()).sum::<f64>() / self.chains as f64,
                ),
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
        drop(chains);
        let model = Fm::new(k, design, samples);
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
    let bad = || "fm: malformed feature groups".to_string();
    let table = t.u32("groups")?;
    if table.is_empty() || table.len() % 3 != 0 {
        return Err(bad());
    }
    // Groups are contiguous from feature 0: the user block's, the item block's, then the
    // time groups; each block starts with its own id group.
    let mut groups = Vec::new();
    let mut starts = [None::<usize>; 3];
    let mut next = 0u32;
    let mut last_block = 0;
    for (g, c) in table.chunks(3).enumerate() {
        let (first, len, block) = (c[0], c[1], c[2] as usize);
        if first != next
            || len == 0
            || block > 2
            || block < last_block
            || (g == 0) != (block == 0 && starts[0].is_none())
        {
            return Err(bad());
        }
        if starts[block].is_none() {
            starts[block] = Some(g);
        }
        last_block = block;
        next = first.checked_add(len).ok_or_else(bad)?;
        groups.push(Group {
            name: format!("group{g}"),
            first,
            len,
        });
    }
    let (Some(0), Some(items_from)) = (starts[0], starts[1]) else {
        return Err(bad());
    };
    let time_from = starts[2].unwrap_or(groups.len());
    let user_end = groups[items_from].first;
    let item_end = groups.get(time_from).map_or(next, |g| g.first);
    // Names as the fit gave them, where something reads them: each block's own id
    // group first, the implicit sets last in their block (see `Design::build`).
    groups[0].name = "user".into();
    groups[items_from].name = "item".into();
    if p.features.iter().any(|f| f == "rated") && items_from > 1 {
        groups[items_from - 1].name = "rated".into();
    }
    if p.features.iter().any(|f| f == "raters") && time_from > items_from + 1 {
        groups[time_from - 1].name = "raters".into();
    }
    let clock_table = if t.has("clock") {
        t.u32("clock")?
    } else {
        Vec::new()
    };
    let clock = match clock_table[..] {
        [] if time_from == groups.len() => None,
        [hi, lo, days, day, age] if (1..=MAX_DAYS).contains(&days) => {
            let clock = Clock {
                t0: ((hi as u64) << 32 | lo as u64) as i64,
                days,
                item_first: t.u32("item_first")?,
                day_share: t.values("day_share", &[days as usize])?,
                user_days: {
                    let (first, end) = day.checked_sub(1).map_or((next, next), |f| (f, f + days));
                    let b = Block {
                        row_ptr: t.u32("user_days_ptr")?,
                        feat: t.u32("user_days_feat")?,
                        val: t.f32("user_days_val", None)?.1,
                        first,
                        end,
                    };
                    b.check(users, "user_days")?;
                    b
                },
                day: day.checked_sub(1),
                age: age.checked_sub(1),
            };
            // The time groups are exactly the clock's, in order.
            let expected: Vec<(u32, u32)> = [(clock.day, days), (clock.age, AGE_BUCKETS)]
                .into_iter()
                .filter_map(|(f, len)| f.map(|f| (f, len)))
                .collect();
            let got: Vec<(u32, u32)> = groups[time_from..]
                .iter()
                .map(|g| (g.first, g.len))
                .collect();
            let shares_ok = clock.day_share.iter().all(|x| (0.0..=1.0).contains(x))
                && (clock.day_share.iter().sum::<f32>() - 1.0).abs() < 1e-3;
            if expected != got
                || expected.is_empty()
                || clock.item_first.len() != items
                || !shares_ok
            {
                return Err("fm: malformed time features".into());
            }
            for g in &mut groups[time_from..] {
                g.name = if Some(g.first) == clock.day {
                    "day"
                } else {
                    "item_age"
                }
                .into();
            }
            Some(clock)
        }
        _ => return Err("fm: malformed time features".into()),
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
        item: block("item", items, user_end, item_end)?,
        groups,
        clock,
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
    let alpha = t.values("alpha", &[s])?;
    let hyper = t.values("hyper", &[s, design.groups.len(), k + 1, 2])?;
    let (levels, cuts) = match p.link {
        Link::Gaussian => (Vec::new(), Vec::new()),
        Link::OrderedProbit => {
            let (shape, levels) = t.f32("levels", None)?;
            let l = levels.len();
            let ascending = levels.windows(2).all(|w| w[0] < w[1]);
            if shape.len() != 1 || !(2..=probit::MAX_LEVELS).contains(&l) || !ascending {
                return Err("fm: malformed rating levels".into());
            }
            let cuts = t.values("cuts", &[s, l - 1])?;
            let ordered = cuts
                .chunks(l - 1)
                .all(|c| c[0] == 0.0 && c.windows(2).all(|w| w[0] < w[1]));
            if !ordered {
                return Err("fm: malformed cut points".into());
            }
            (levels, cuts)
        }
    };
    let samples = Samples {
        w0,
        w,
        v,
        alpha,
        hyper,
        levels,
        cuts,
    };
    Ok(AnyModel::new(Fm::new(k, design, samples)))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "fm",
    about: "Factorization machine by Gibbs sampling (Bayesian FM): user, item, side variables and the implicit sets as features (--features), no learning rate or L2 to tune",
    load,
    member: Some(|seed| {
        Box::new(FmParams {
            seed,
            ..Default::default()
        })
    }),
    params: super::rating_params::<FmParams>,
    read: Some(super::read::<FmParams>),
    presets: &[],
    flags: super::flags::fm,
    no_preset: None,
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
        assert_eq!(p(512, 100, 64).kept_sweeps().len(), 59);
        assert!(
            FmParams {
                burn_in: 512,
                ..Default::default()
            }
            .check()
            .is_err()
        );
    }

    /// The passes over the ratings on threads give the same model bit for bit.
    #[test]
    fn threads_do_not_change_the_model() {
        let data = Dataset::synthetic(400, 300, 60_000, 9).unwrap();
        let (train, _) = data.split(&"random:0.2".parse().unwrap(), 42).unwrap();
        assert!(train.ratings.len() > 2 * 16_384, "several chunks");
        let p = FmParams {
            sweeps: 6,
            burn_in: 2,
            ..Default::default()
        };
        let one = p.fit(&train, &FitOptions::default()).unwrap();
        for threads in [2, 3] {
            let options = FitOptions {
                threads: Some(threads),
                ..Default::default()
            };
            let many = p.fit(&train, &options).unwrap();
            assert_eq!(many.model, one.model, "{threads} threads");
        }
    }

    /// Chains pool their kept samples, sweep by sweep: the first chain is the one-chain
    /// model's, the others have seeds of their own; threads (chains at once, then within
    /// a chain) give the same model bit for bit; params without `chains` read one chain.
    #[test]
    fn chains_pool_their_samples_whatever_the_threads() {
        let (train, _) = data();
        let p = FmParams {
            chains: 3,
            sweeps: 8,
            burn_in: 2,
            keep: 2,
            ..Default::default()
        };
        let fit = |p: &FmParams, threads| {
            let options = FitOptions {
                threads: Some(threads),
                ..Default::default()
            };
            p.fit(&train, &options).unwrap()
        };
        let three = fit(&p, 1);
        let one = fit(
            &FmParams {
                chains: 1,
                ..p.clone()
            },
            1,
        );
        let (m3, m1) = (
            three.model.downcast_ref::<Fm>().unwrap(),
            one.model.downcast_ref::<Fm>().unwrap(),
        );
        assert_eq!(m1.w0.len(), 2);
        assert_eq!(m3.w0.len(), 6, "3 chains x 2 kept");
        let nf = m1.design.n_features();
        for j in 0..2 {
            assert_eq!(m3.w0[3 * j], m1.w0[j], "first chain's sample {j}");
            assert_eq!(
                m3.w[3 * j * nf..(3 * j + 1) * nf],
                m1.w[j * nf..(j + 1) * nf]
            );
            assert_ne!(m3.w0[3 * j + 1], m1.w0[j], "second chain's own draws");
            assert_ne!(m3.w0[3 * j + 2], m3.w0[3 * j + 1]);
        }
        for threads in [2, 3, 7] {
            assert_eq!(fit(&p, threads).model, three.model, "{threads} threads");
        }
        assert!(
            three
                .history
                .iter()
                .all(|e| e.train_rmse.unwrap().is_finite())
        );
        let seeds: std::collections::HashSet<u64> = (0..1000).map(|c| chain_seed(5, c)).collect();
        assert_eq!(seeds.len(), 1000);
        assert_eq!(chain_seed(5, 0), 5);
        let mut old = serde_json::to_value(&p).unwrap();
        old.as_object_mut().unwrap().remove("chains");
        let read: FmParams = serde_json::from_value(old).unwrap();
        assert_eq!(read.chains, 1);
        assert!(FmParams { chains: 0, ..p }.check().is_err());
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
        let back = crate::model::TrainedModel::from_bytes(
            &fm.to_bytes().unwrap(),
            std::path::Path::new("fm.emb"),
        )
        .unwrap();
        assert_eq!(back.model, fm.model);
        assert_eq!(back.evaluate(&test).unwrap().rmse, f);
    }

    /// A training user folded in from their own training ratings gets nearly the scores
    /// the trained model gives them (same row: their one-hot and their rated set), and
    /// folded users predict their test ratings better than the user-less fallback.
    #[test]
    fn fold_in_recovers_a_training_user() {
        let (train, test) = data();
        let fm = FmParams {
            sweeps: 40,
            burn_in: 10,
            keep: 16,
            features: vec!["rated".into()],
            ..Default::default()
        }
        .fit(&train, &FitOptions::default())
        .unwrap();
        let m = &fm.model;
        let items = m.n_items();
        let (mut diff, mut count) = (0.0, 0);
        let (mut folded_sse, mut fallback_sse, mut n) = (0.0, 0.0, 0);
        for u in 0..30u32 {
            let raw = fm.users.raw(u);
            let t = train.users.index_of(raw).unwrap();
            let ratings: Vec<(u32, f32)> = (0..train.ratings.len())
                .filter(|&r| train.ratings.users[r] == t)
                .map(|r| {
                    let item = train.items.raw(train.ratings.items[r]);
                    (fm.items.index_of(item).unwrap(), train.ratings.values[r])
                })
                .collect();
            let folded = m
                .fold_in(&json!({}), Feedback::Ratings, &ratings, Default::default())
                .unwrap();
            let scores = m.folded_scores(&folded);
            for i in 0..items {
                diff += (scores[i as usize] - m.score(u, i)).abs() as f64;
                count += 1;
            }
            let tu = test.users.index_of(raw);
            for r in 0..test.ratings.len() {
                if Some(test.ratings.users[r]) != tu {
                    continue;
                }
                let Some(i) = fm.items.index_of(test.items.raw(test.ratings.items[r])) else {
                    continue;
                };
                let y = test.ratings.values[r] as f64;
                folded_sse += (scores[i as usize] as f64 - y).powi(2);
                fallback_sse += (m.fallback(None, Some(i)) as f64 - y).powi(2);
                n += 1;
            }
        }
        // Without time features, the model file round-trips too.
        let back = crate::model::TrainedModel::from_bytes(
            &fm.to_bytes().unwrap(),
            std::path::Path::new("fm.emb"),
        )
        .unwrap();
        assert_eq!(back.model, fm.model);
        let mean_diff = diff / count as f64;
        assert!(
            mean_diff < 0.15,
            "folded vs trained scores differ by {mean_diff} on average"
        );
        assert!(
            n > 100 && folded_sse < fallback_sse * 0.95,
            "{folded_sse} vs {fallback_sse}"
        );
    }

    /// With time features, test ratings are predicted at their own times (the day and
    /// item-age terms move the predictions), the model file keeps the clock, and the
    /// data's timestamps are required.
    #[test]
    fn time_features_predict_at_the_ratings_times() {
        let (train, test) = data();
        assert!(train.ratings.times.is_some());
        let p = FmParams {
            sweeps: 30,
            burn_in: 10,
            features: vec!["day".into()],
            ..Default::default()
        };
        let fm = p.fit(&train, &FitOptions::default()).unwrap();
        let m = &fm.model;
        let (n_users, n_items) = (m.n_users(), m.n_items());
        let pairs: Vec<(u32, u32)> = (0..200).map(|k| (k % n_users, (k * 7) % n_items)).collect();
        let (us, is): (Vec<u32>, Vec<u32>) = pairs.iter().copied().unzip();
        let clock = m
            .downcast_ref::<Fm>()
            .unwrap()
            .design
            .clock
            .clone()
            .unwrap();
        let last = clock.t0 + (clock.days as i64 - 1) * 86_400;
        let (mut at_end, mut early, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        m.predict_many_at(&us, &is, Some(&vec![last; 200]), &mut at_end);
        m.predict_many_at(&us, &is, Some(&vec![clock.t0; 200]), &mut early);
        m.predict_many(&us, &is, &mut plain);
        assert!(
            at_end
                .iter()
                .zip(&early)
                .any(|(a, b)| (a.value - b.value).abs() > 1e-3)
        );
        // Without a time, a pair's score is its scores on the user's training days,
        // averaged by each day's share of the user's ratings.
        let mut expected = vec![0f64; 200];
        let mut on_day = Vec::new();
        for (k, (&u, &i)) in us.iter().zip(&is).enumerate() {
            for (j, share) in clock.user_days.row(u as usize) {
                let d = j as u32 - clock.day.unwrap();
                let t = clock.t0 + d as i64 * 86_400;
                m.predict_many_at(&[u], &[i], Some(&[t]), &mut on_day);
                expected[k] += share * on_day[0].value as f64;
            }
        }
        for (e, p) in expected.iter().zip(&plain) {
            assert!((e - p.value as f64).abs() < 1e-3, "{e} vs {}", p.value);
        }
        // With the item's age too, every path still scores and round-trips.
        let aged = FmParams {
            features: vec!["day".into(), "item_age".into()],
            ..p.clone()
        }
        .fit(&train, &FitOptions::default())
        .unwrap();
        let back = crate::model::TrainedModel::from_bytes(
            &aged.to_bytes().unwrap(),
            std::path::Path::new("fm.emb"),
        )
        .unwrap();
        assert_eq!(
            back.evaluate(&test).unwrap().rmse,
            aged.evaluate(&test).unwrap().rmse
        );
        let back = crate::model::TrainedModel::from_bytes(
            &fm.to_bytes().unwrap(),
            std::path::Path::new("fm.emb"),
        )
        .unwrap();
        assert_eq!(back.model, fm.model);
        assert_eq!(
            back.evaluate(&test).unwrap().rmse,
            fm.evaluate(&test).unwrap().rmse
        );
        let mut millis = train.clone();
        if let Some(t) = millis.ratings.times.as_mut() {
            t.iter_mut().for_each(|t| *t *= 1000);
        }
        let err = p.fit(&millis, &FitOptions::default()).unwrap_err();
        assert!(err.to_string().contains("milliseconds"), "{err}");
        let mut untimed = train.clone();
        untimed.ratings.times = None;
        let err = p.fit(&untimed, &FitOptions::default()).unwrap_err();
        assert!(err.to_string().contains("timestamps"), "{err}");
        // `time` asks for the time features only where there are timestamps.
        let quiet = FmParams {
            features: vec!["time".into()],
            ..p
        };
        assert!(quiet.fit(&untimed, &FitOptions::default()).is_ok());
    }

    /// The ordered-probit link: better than the baseline, predictions within the rating
    /// levels, seeded runs and thread counts give the same model bit for bit, the model
    /// file gives back the same model and predictions, fold-in recovers a training
    /// user's scores, and ratings off an ordinal scale are refused.
    #[test]
    fn the_ordered_probit_link_fits_reproduces_round_trips_and_folds_in() {
        let (train, test) = data();
        let p = FmParams {
            chains: 2,
            sweeps: 40,
            burn_in: 10,
            keep: 8,
            link: Link::OrderedProbit,
            ..Default::default()
        };
        let fm = p.fit(&train, &FitOptions::default()).unwrap();
        let base = BaselineParams::default()
            .fit(&train, &FitOptions::default())
            .unwrap();
        let (f, b) = (
            fm.evaluate(&test).unwrap().rmse,
            base.evaluate(&test).unwrap().rmse,
        );
        assert!(f < b - 0.01, "fm {f} vs baseline {b}");
        let m = fm.model.downcast_ref::<Fm>().unwrap();
        assert_eq!(m.levels, [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m.cuts.len(), m.samples() * 4);
        let mut scores = vec![0f32; fm.model.n_items() as usize];
        fm.model.score_items(0, &mut scores);
        assert!(scores.iter().all(|s| (1.0..=5.0).contains(s)));
        assert_eq!(scores[3], fm.model.score(0, 3));
        // Reproducible, whatever the threads.
        assert_eq!(
            p.fit(&train, &FitOptions::default()).unwrap().model,
            fm.model
        );
        let two = FitOptions {
            threads: Some(2),
            ..Default::default()
        };
        assert_eq!(p.fit(&train, &two).unwrap().model, fm.model);
        // The model file.
        let back = crate::model::TrainedModel::from_bytes(
            &fm.to_bytes().unwrap(),
            std::path::Path::new("fm.emb"),
        )
        .unwrap();
        assert_eq!(back.model, fm.model);
        assert_eq!(back.evaluate(&test).unwrap().rmse, f);
        // Fold-in of training users from their training ratings (their whole row: the
        // one-hot and the rated set).
        let fm = FmParams {
            features: vec!["rated".into()],
            ..p.clone()
        }
        .fit(&train, &FitOptions::default())
        .unwrap();
        let items = fm.model.n_items();
        let (mut diff, mut count) = (0.0, 0);
        for u in 0..20u32 {
            let raw = fm.users.raw(u);
            let t = train.users.index_of(raw).unwrap();
            let ratings: Vec<(u32, f32)> = (0..train.ratings.len())
                .filter(|&r| train.ratings.users[r] == t)
                .map(|r| {
                    let item = train.items.raw(train.ratings.items[r]);
                    (fm.items.index_of(item).unwrap(), train.ratings.values[r])
                })
                .collect();
            let folded = (fm.model)
                .fold_in(&json!({}), Feedback::Ratings, &ratings, Default::default())
                .unwrap();
            let scores = fm.model.folded_scores(&folded);
            for i in 0..items {
                diff += (scores[i as usize] - fm.model.score(u, i)).abs() as f64;
                count += 1;
            }
        }
        let mean_diff = diff / count as f64;
        assert!(mean_diff < 0.15, "folded vs trained: {mean_diff}");
        // Not an ordinal scale.
        let mut wide = train.clone();
        for (k, v) in wide.ratings.values.iter_mut().enumerate() {
            *v = 1.0 + (k % 97) as f32 * 0.04;
        }
        let err = p.fit(&wide, &FitOptions::default()).unwrap_err();
        assert!(err.to_string().contains("ordinal"), "{err}");
        let als = FmParams {
            solver: Solver::Als,
            ..p
        };
        assert!(als.check().is_err());
    }

    /// Under the ordered-probit link a score is the expected level of each sample's
    /// output, from whole feature rows, averaged over the samples.
    #[test]
    fn probit_scores_average_each_samples_expected_level() {
        let (train, _) = data();
        let fm = FmParams {
            sweeps: 20,
            burn_in: 10,
            keep: 5,
            features: vec!["rated".into(), "raters".into(), "side".into()],
            link: Link::OrderedProbit,
            ..Default::default()
        }
        .fit(&train, &FitOptions::default())
        .unwrap();
        let m = fm.model.downcast_ref::<Fm>().unwrap();
        let (s, nf, k) = (m.samples(), m.design.n_features(), m.k);
        let c = m.levels.len() - 1;
        let mut scores = vec![0f32; fm.model.n_items() as usize];
        for u in [0u32, 7, 31] {
            fm.model.score_items(u, &mut scores);
            for i in [0u32, 5, 77] {
                let mut expected = 0.0;
                for t in 0..s {
                    let w: Vec<f64> = m.w[t * nf..(t + 1) * nf]
                        .iter()
                        .map(|&x| x as f64)
                        .collect();
                    let v: Vec<f64> = (m.v[t * nf * k..(t + 1) * nf * k].iter())
                        .map(|&x| x as f64)
                        .collect();
                    let (au, qu) = gibbs::row_summaries(&m.design.user, &w, &v, k);
                    let (ai, qi) = gibbs::row_summaries(&m.design.item, &w, &v, k);
                    let (u, i) = (u as usize, i as usize);
                    let f = m.w0[t] as f64
                        + au[u]
                        + ai[i]
                        + (0..k).map(|f| qu[u * k + f] * qi[i * k + f]).sum::<f64>();
                    let cuts = &m.cuts[t * c..(t + 1) * c];
                    let mut y = m.levels[0] as f64;
                    for l in 1..=c {
                        let step = (m.levels[l] - m.levels[l - 1]) as f64;
                        y += step * probit::norm_cdf(f - cuts[l - 1] as f64);
                    }
                    expected += y / s as f64;
                }
                let got = fm.model.score(u, i);
                assert!((got as f64 - expected).abs() < 1e-4, "{got} vs {expected}");
                assert_eq!(scores[i as usize], got);
            }
        }
    }

    /// `side` leaves out `zip`; named, it is a group.
    #[test]
    fn side_leaves_out_the_zip_prefix_unless_named() {
        let (mut train, _) = data();
        let mut zip = train.features.users.variable("occupation").unwrap().clone();
        zip.name = "zip".into();
        train.features.users.variables.push(zip);
        let set = TrainingSet {
            ratings: &train.ratings,
            users: &train.users,
            items: &train.items,
            n_users: train.users.len() as u32,
            n_items: train.items.len() as u32,
            features: &train.features,
            scale: train.scale,
        };
        let names = |features: &[&str]| -> Vec<String> {
            let f: Vec<String> = features.iter().map(|s| s.to_string()).collect();
            let d = Design::build(&set, &f).unwrap();
            d.groups.into_iter().map(|g| g.name).collect()
        };
        let side = names(&["side"]);
        assert!(side.contains(&"occupation".to_string()) && !side.contains(&"zip".to_string()));
        assert!(names(&["side", "zip"]).contains(&"zip".to_string()));
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
            let err = crate::model::TrainedModel::from_bytes(&bytes, std::path::Path::new("x"))
                .unwrap_err();
            assert!(err.to_string().contains("fm"), "{err}");
        }
    }
}
