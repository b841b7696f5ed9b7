//! Ranking losses and negative sampling for implicit feedback, shared by MF with a
//! ranking loss ([`super::mf_rank`]) and the networks (`deep`, `neumf`), and the
//! minibatch ranking trainer of the networks ([`fit_net`]).
//!
//! | loss | per positive `i` of user `u`, with negatives `j` (scores `s`) |
//! |---|---|
//! | `bpr` | `sum_j -ln sigmoid(s_i - s_j)` over `negatives` sampled `j` (Rendle et al. 2009) |
//! | `warp` | negatives are drawn one at a time until one violates the margin, `s_j > s_i - 1`, at trial `t` (at most `negatives` trials); loss `ln(floor((I - 1) / t)) (1 - s_i + s_j)` (Weston et al. 2011, as LightFM) |
//! | `bce` | `-ln sigmoid(s_i) - sum_j ln(1 - sigmoid(s_j))` over `negatives` sampled `j` (NCF) |
//! | `softmax` | `-ln(exp(s_i) / (exp(s_i) + sum_j exp(s_j)))` over `negatives` sampled `j` |
//!
//! Negatives are drawn uniformly from the items, or with probability proportional to
//! their interaction counts (`popularity`), and **never** among the items the user
//! interacted with in training (rejection against the user's sorted item list).

use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::nn::Loss;
use crate::rng::Rng;
use crate::train::{Network, Schedule};
use std::str::FromStr;
/// A ranking loss (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankLoss {
    /// Bayesian personalized ranking (pairwise logistic).
    Bpr,
    /// Weighted approximate-rank pairwise hinge.
    Warp,
    /// Binary cross-entropy with sampled negatives.
    Bce,
    /// Sampled softmax.
    Softmax,
}

impl RankLoss {
    /// Every ranking loss.
    pub const ALL: [RankLoss; 4] = [
        RankLoss::Bpr,
        RankLoss::Warp,
        RankLoss::Bce,
        RankLoss::Softmax,
    ];
}

impl FromStr for RankLoss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bpr" => Ok(RankLoss::Bpr),
            "warp" => Ok(RankLoss::Warp),
            "bce" => Ok(RankLoss::Bce),
            "softmax" => Ok(RankLoss::Softmax),
            _ => Err(Error::Usage(format!(
                "ranking loss: expected bpr, warp, bce or softmax, got '{s}'"
            ))),
        }
    }
}

impl RankLoss {
    /// Negatives per positive when none are asked for (WARP: most trials).
    pub fn default_negatives(&self) -> usize {
        match self {
            RankLoss::Warp => 100,
            RankLoss::Bpr => 1,
            RankLoss::Bce => 4,
            RankLoss::Softmax => 20,
        }
    }

    /// The loss of one positive scoring `pos` against negatives scoring `negs` (for WARP:
    /// the one violating negative, found at trial `trials` of a catalog of `n_items`),
    /// with d loss / d score written into `g_pos` and `g_negs`. f64 throughout (the
    /// gradient checks compare it with finite differences).
    pub fn value_and_grad(
        &self,
        pos: f64,
        negs: &[f64],
        (trials, n_items): (usize, usize),
        g_pos: &mut f64,
        g_negs: &mut [f64],
    ) -> f64 {
        debug_assert_eq!(negs.len(), g_negs.len());
        *g_pos = 0.0;
        g_negs.iter_mut().for_each(|g| *g = 0.0);
        match self {
            RankLoss::Bpr => {
                let mut loss = 0.0;
                for (&s, g) in negs.iter().zip(g_negs.iter_mut()) {
                    let x = pos - s;
                    loss += softplus(-x);
                    let d = -sigmoid(-x);
                    *g_pos += d;
                    *g = -d;
                }
                loss
            }
            RankLoss::Warp => {
                let Some(&s) = negs.first() else { return 0.0 };
                let w = warp_weight(trials, n_items);
                let hinge = 1.0 - pos + s;
                if hinge <= 0.0 {
                    return 0.0;
                }
                *g_pos = -w;
                g_negs[0] = w;
                w * hinge
            }
            RankLoss::Bce => {
                let mut loss = softplus(-pos);
                *g_pos = sigmoid(pos) - 1.0;
                for (&s, g) in negs.iter().zip(g_negs.iter_mut()) {
                    loss += softplus(s);
                    *g = sigmoid(s);
                }
                loss
            }
            RankLoss::Softmax => {
                let max = negs.iter().fold(pos, |m, &s| m.max(s));
                let z: f64 = (pos - max).exp() + negs.iter().map(|&s| (s - max).exp()).sum::<f64>();
                let lse = max + z.ln();
                *g_pos = (pos - lse).exp() - 1.0;
                for (&s, g) in negs.iter().zip(g_negs.iter_mut()) {
                    *g = (s - lse).exp();
                }
                lse - pos
            }
        }
    }
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// WARP's rank weight: `ln(max(1, floor((n_items - 1) / trials)))` (LightFM's).
pub(crate) fn warp_weight(trials: usize, n_items: usize) -> f64 {
    ((n_items.saturating_sub(1) / trials.max(1)).max(1) as f64).ln()
}

/// How negatives are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Every item equally likely.
    Uniform,
    /// In proportion to the item's training interactions.
    Popularity,
}

impl FromStr for Sampling {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "uniform" => Ok(Sampling::Uniform),
            "popularity" => Ok(Sampling::Popularity),
            _ => Err(Error::Usage(format!(
                "sampling: expected uniform or popularity, got '{s}'"
            ))),
        }
    }
}

/// Each user's distinct items, sorted (compressed rows).
pub(crate) struct UserItems {
    start: Vec<usize>,
    items: Vec<u32>,
}

impl UserItems {
    pub(crate) fn build(r: &Ratings, users: usize) -> Self {
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); users];
        for (&u, &i) in r.users.iter().zip(&r.items) {
            rows[u as usize].push(i);
        }
        let mut start = vec![0usize];
        let mut items = Vec::with_capacity(r.len());
        for mut row in rows {
            row.sort_unstable();
            row.dedup();
            items.extend_from_slice(&row);
            start.push(items.len());
        }
        UserItems { start, items }
    }

    pub(crate) fn get(&self, u: usize) -> &[u32] {
        &self.items[self.start[u]..self.start[u + 1]]
    }
}

/// Draws negatives: uniform, or by popularity (cumulative counts, binary search).
pub(crate) struct Sampler {
    n_items: usize,
    /// Popularity: cumulative interaction counts (`cum[i]` = counts of items `0..=i`).
    cum: Vec<u64>,
}

impl Sampler {
    pub(crate) fn new(kind: Sampling, train: &Ratings, n_items: usize) -> Self {
        let cum = match kind {
            Sampling::Uniform => Vec::new(),
            Sampling::Popularity => {
                let mut counts = vec![0u64; n_items];
                for &i in &train.items {
                    counts[i as usize] += 1;
                }
                counts
                    .iter()
                    .scan(0u64, |s, &c| {
                        *s += c;
                        Some(*s)
                    })
                    .collect()
            }
        };
        Sampler { n_items, cum }
    }

    /// A uniform sampler over `n_items` items.
    pub(crate) fn uniform(n_items: usize) -> Self {
        Sampler {
            n_items,
            cum: Vec::new(),
        }
    }

    /// One item not in `rated` (sorted). The caller guarantees one exists; under
    /// popularity sampling, after 64 rejected draws the draw falls back to uniform (a
    /// user holding nearly all the popular items must still get negatives).
    pub(crate) fn draw(&self, rng: &mut Rng, rated: &[u32]) -> u32 {
        let total = self.cum.last().copied().unwrap_or(0);
        for _ in 0..64 {
            let j = if total > 0 {
                let x = rng.below(total as usize) as u64;
                self.cum.partition_point(|&c| c <= x) as u32
            } else {
                rng.below(self.n_items) as u32
            };
            if rated.binary_search(&j).is_err() {
                return j;
            }
        }
        loop {
            let j = rng.below(self.n_items) as u32;
            if rated.binary_search(&j).is_err() {
                return j;
            }
        }
    }
}

/// Refuses a network's loss that does not fit its mode: a ranking loss on implicit
/// feedback (`implicit`), a rating loss on ratings.
pub(crate) fn check_loss_mode(kind: &str, implicit: bool, loss: NetLoss) -> Result<()> {
    if implicit == loss.ranking().is_some() {
        return Ok(());
    }
    let (on, needs) = if implicit {
        (
            "on implicit feedback",
            "a ranking (bpr, warp, bce or softmax)",
        )
    } else {
        ("on ratings", "a rating (mse or rmse)")
    };
    Err(Error::Usage(format!(
        "{kind} {on} needs {needs} loss, not {loss:?}"
    )))
}

/// What a network (`deep`, `neumf`) is trained on: a rating loss on the ratings, or a
/// ranking loss on implicit feedback. Written (`--loss`, model files) as the loss's name:
/// `mse`, `rmse`, `bpr`, `warp`, `bce`, `softmax`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum NetLoss {
    /// A loss on the rating errors.
    Rating(Loss),
    /// A ranking loss on sampled negatives.
    Ranking(RankLoss),
}

impl FromStr for NetLoss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match (s.parse::<Loss>(), s.parse::<RankLoss>()) {
            (Ok(l), _) => Ok(NetLoss::Rating(l)),
            (_, Ok(l)) => Ok(NetLoss::Ranking(l)),
            _ => Err(Error::Usage(format!(
                "loss: expected mse or rmse (ratings), bpr, warp, bce or softmax (implicit \
                 feedback), got '{s}'"
            ))),
        }
    }
}

impl NetLoss {
    /// The ranking loss, if it is one.
    pub fn ranking(&self) -> Option<RankLoss> {
        match self {
            NetLoss::Ranking(l) => Some(*l),
            NetLoss::Rating(_) => None,
        }
    }

    /// The rating loss (for a ranking loss: MSE, never used).
    pub fn rating(&self) -> Loss {
        match self {
            NetLoss::Rating(l) => *l,
            NetLoss::Ranking(_) => Loss::Mse,
        }
    }

    /// Checks the ranking settings a network's params carry beside the loss: negatives
    /// and sampling only with a ranking loss, at most 100000 negatives, and no early
    /// stopping (it watches a validation RMSE) with a ranking loss.
    pub fn check(&self, negatives: usize, sampling: Sampling, patience: usize) -> Result<()> {
        let usage = |m: &str| Err(Error::Usage(m.into()));
        if negatives > 100_000 {
            return usage(&format!("negatives must be in 0..=100000, got {negatives}"));
        }
        match self {
            NetLoss::Rating(_) if negatives != 0 || sampling != Sampling::Uniform => {
                usage("negatives and sampling need a ranking loss (implicit feedback)")
            }
            NetLoss::Ranking(_) if patience > 0 => usage(
                "early stopping (patience, val fraction) watches a validation RMSE: not with a \
                 ranking loss",
            ),
            _ => Ok(()),
        }
    }
}

/// A network a ranking loss can drive: its training forward pass scores a batch of
/// pairs (keeping what the backward pass needs and marking the rows it read as touched),
/// its backward pass takes any gradient w.r.t. those scores, and an update applies the
/// accumulated gradients.
pub trait RankNet: Network {
    /// Training forward pass over the pairs `(users[j], items[j])` (known indices): one
    /// score per pair.
    fn forward_pairs(&mut self, users: &[u32], items: &[u32]) -> &[f32];

    /// Backward pass of the last [`RankNet::forward_pairs`] for `grad` = d loss / d score
    /// per pair: accumulates the gradients, updates nothing.
    fn backward_pairs(&mut self, grad: &[f32]);

    /// Applies the accumulated gradients as optimizer step `step` (1-based) with learning
    /// rate `lr`; `batch_size` is the number of examples the loss averaged over (for
    /// per-occurrence L2).
    fn update(&mut self, step: u64, lr: f32, batch_size: usize);
}

/// The ranking loss and its negatives, as a network's trainer uses them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankSpec {
    /// The loss.
    pub loss: RankLoss,
    /// Negatives per positive (WARP: most trials); 0 = the loss's default.
    pub negatives: usize,
    /// How negatives are drawn.
    pub sampling: Sampling,
}

impl RankSpec {
    /// Negatives per positive after applying the loss's default.
    pub fn negatives(&self) -> usize {
        match self.negatives {
            0 => self.loss.default_negatives(),
            n => n,
        }
    }
}

/// One minibatch of ranking examples: per positive, its pair followed by its negatives'
/// pairs, in one list of pairs for one forward pass.
#[derive(Debug, Clone, Default)]
pub(crate) struct Examples {
    pub(crate) users: Vec<u32>,
    pub(crate) items: Vec<u32>,
    /// Per example: its first pair (the positive), its number of pairs, and for WARP
    /// the trial at which its negative violated the margin (else 0).
    pub(crate) groups: Vec<(usize, usize, usize)>,
    /// Positives the loss averages over (those without an example, e.g. WARP positives
    /// that found no violating negative, count with loss 0).
    pub(crate) positives: usize,
    /// Items in the catalog (WARP's rank weight).
    pub(crate) n_items: usize,
}

impl Examples {
    fn push(&mut self, u: u32, items: impl IntoIterator<Item = u32>, trials: usize) {
        let start = self.users.len();
        for i in items {
            self.users.push(u);
            self.items.push(i);
        }
        self.groups.push((start, self.users.len() - start, trials));
    }
}

/// WARP's candidate negatives are scored in rounds of this many per positive at first,
/// doubling each round, for the positives that have not found a violator yet.
const WARP_FIRST_ROUND: usize = 2;

/// Draws the examples of the positives `chunk` (positions in `train`): for BPR, BCE and
/// softmax `n` negatives each; for WARP the first of up to `n` candidates whose score
/// (the network's current inference score) violates the margin, with its trial number.
#[allow(clippy::too_many_arguments)]
fn sample_examples<N: RankNet>(
    net: &mut N,
    train: &Ratings,
    chunk: &[u32],
    positives: &UserItems,
    sampler: &Sampler,
    spec: &RankSpec,
    rng: &mut Rng,
    ex: &mut Examples,
) {
    let ni = net.n_items() as usize;
    let n = spec.negatives();
    ex.users.clear();
    ex.items.clear();
    ex.groups.clear();
    (ex.positives, ex.n_items) = (chunk.len(), ni);
    let pairs = chunk
        .iter()
        .map(|&t| (train.users[t as usize], train.items[t as usize]))
        .filter(|&(u, _)| positives.get(u as usize).len() < ni); // a negative must exist
    if spec.loss != RankLoss::Warp {
        for (u, i) in pairs {
            let rated = positives.get(u as usize);
            let negs: Vec<u32> = (0..n).map(|_| sampler.draw(rng, rated)).collect();
            ex.push(u, std::iter::once(i).chain(negs), 0);
        }
        return;
    }
    // WARP: (user, positive, its score, trials so far) of the positives still looking.
    net.flush(); // inference scores read the stored rows
    let mut pending: Vec<(u32, u32, f32, usize)> = pairs.map(|(u, i)| (u, i, 0.0, 0)).collect();
    let mut preds = Vec::new();
    let (us, is): (Vec<u32>, Vec<u32>) = pending.iter().map(|p| (p.0, p.1)).unzip();
    net.predict_many(&us, &is, &mut preds);
    pending
        .iter_mut()
        .zip(&preds)
        .for_each(|(p, s)| p.2 = s.value);
    let mut round = WARP_FIRST_ROUND;
    let (mut cu, mut ci) = (Vec::new(), Vec::new());
    while !pending.is_empty() {
        cu.clear();
        ci.clear();
        let mut drawn = Vec::with_capacity(pending.len());
        for &(u, _, _, trials) in &pending {
            let c = round.min(n - trials);
            let rated = positives.get(u as usize);
            for _ in 0..c {
                cu.push(u);
                ci.push(sampler.draw(rng, rated));
            }
            drawn.push(c);
        }
        net.predict_many(&cu, &ci, &mut preds);
        let mut k = 0;
        let mut still = Vec::new();
        for (&(u, i, s_pos, trials), &c) in pending.iter().zip(&drawn) {
            let hit = (0..c).find(|&d| preds[k + d].value > s_pos - 1.0);
            match hit {
                Some(d) => ex.push(u, [i, ci[k + d]], trials + d + 1),
                None if trials + c < n => still.push((u, i, s_pos, trials + c)),
                None => {}
            }
            k += c;
        }
        pending = still;
        round *= 2;
    }
}

/// One optimizer step on the examples `ex`: one forward pass over all their pairs, each
/// example's loss and its gradient w.r.t. the scores (averaged over `ex.positives`), the
/// backward pass and the update. Returns the mean loss.
pub(crate) fn rank_step<N: RankNet>(
    net: &mut N,
    ex: &Examples,
    loss: RankLoss,
    step: u64,
    lr: f32,
) -> f64 {
    if ex.groups.is_empty() {
        return 0.0;
    }
    let scores: Vec<f64> = (net.forward_pairs(&ex.users, &ex.items).iter())
        .map(|&s| s as f64)
        .collect();
    let b = ex.positives as f64;
    let mut grad = vec![0.0f32; scores.len()];
    let (mut g_negs, mut total) = (Vec::new(), 0.0);
    for &(start, len, trials) in &ex.groups {
        g_negs.resize(len - 1, 0.0);
        let mut g_pos = 0.0;
        let negs = &scores[start + 1..start + len];
        let ctx = (trials, ex.n_items);
        total += loss.value_and_grad(scores[start], negs, ctx, &mut g_pos, &mut g_negs);
        grad[start] = (g_pos / b) as f32;
        for (g, &d) in grad[start + 1..start + len].iter_mut().zip(&g_negs) {
            *g = (d / b) as f32;
        }
    }
    net.backward_pairs(&grad);
    net.update(step, lr, ex.positives);
    total / b
}

/// Trains `net` (fresh, for `mu` = 0) with the ranking loss `loss` and its `negatives`
/// and `sampling` on the interactions `train` under `schedule` ([`fit_net`]), handing
/// `on_epoch` the model `into_model` makes of each epoch's network: `deep`'s and
/// `neumf`'s `fit_ranking`.
pub(crate) fn fit_model<N: RankNet, M>(
    mut net: N,
    train: &Ratings,
    (loss, negatives, sampling): (NetLoss, usize, Sampling),
    schedule: &Schedule,
    into_model: fn(N) -> M,
    mut on_epoch: impl FnMut(usize, &M) -> Result<()>,
) -> Result<M> {
    let Some(loss) = loss.ranking() else {
        return Err(Error::Usage(format!(
            "training on implicit feedback needs a ranking loss, not {loss:?}"
        )));
    };
    let spec = RankSpec {
        loss,
        negatives,
        sampling,
    };
    fit_net(&mut net, train, schedule, &spec, |epoch, net| {
        on_epoch(epoch, &into_model(net.clone()))
    })?;
    Ok(into_model(net))
}

/// Trains `net` on the interactions `train` (values ignored) with the ranking loss
/// `spec`: each epoch visits the positives in a seeded shuffled order, in minibatches of
/// `schedule.batch` positives, each with its sampled negatives (never a positive of that
/// user), one optimizer step per minibatch. After every epoch the network is flushed and
/// `on_epoch(epoch, net)` called. One thread: a seeded run is bit-reproducible.
pub fn fit_net<N: RankNet>(
    net: &mut N,
    train: &Ratings,
    schedule: &Schedule,
    spec: &RankSpec,
    mut on_epoch: impl FnMut(usize, &N) -> Result<()>,
) -> Result<()> {
    if train.is_empty() {
        return Err(Error::Usage("cannot train on no interactions".into()));
    }
    let positives = UserItems::build(train, net.n_users() as usize);
    let sampler = Sampler::new(spec.sampling, train, net.n_items() as usize);
    let mut rng = Rng::seeded(schedule.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut order: Vec<u32> = (0..train.len() as u32).collect();
    let mut ex = Examples::default();
    let (mut step, mut lr) = (0u64, schedule.lr);
    for epoch in 1..=schedule.epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(schedule.batch.max(1)) {
            sample_examples(
                net, train, chunk, &positives, &sampler, spec, &mut rng, &mut ex,
            );
            if !ex.groups.is_empty() {
                step += 1;
                rank_step(net, &ex, spec.loss, step, lr);
            }
        }
        net.flush();
        lr *= schedule.lr_decay;
        on_epoch(epoch, net)?;
    }
    Ok(())
}

/// Hand-made examples and the finite-difference check of a network's ranking step,
/// shared by the gradient checks of `deep` and `neumf`.
#[cfg(test)]
pub(crate) mod check {
    use super::*;

    /// Three examples over 3 users and 4 items (user 0 twice, item 3 twice as a
    /// negative of one example), averaged over 4 positives (one found no example): one
    /// negative each for BPR and WARP (violators at trials 1, 3, 2), two for BCE and
    /// softmax.
    pub(crate) fn tiny_examples(loss: RankLoss) -> Examples {
        let one = matches!(loss, RankLoss::Bpr | RankLoss::Warp);
        let mut ex = Examples {
            positives: 4,
            n_items: 4,
            ..Examples::default()
        };
        for (u, pos, negs, trials) in [(0, 0, [1, 3], 1), (1, 1, [2, 0], 3), (0, 2, [3, 3], 2)] {
            let negs = if one { &negs[..1] } else { &negs[..] };
            let trials = if loss == RankLoss::Warp { trials } else { 0 };
            ex.push(u, std::iter::once(pos).chain(negs.iter().copied()), trials);
        }
        ex
    }

    impl Examples {
        /// The mean over the positives of the examples' losses, given every pair's score
        /// (f64, for the gradient checks).
        pub(crate) fn reference_loss(&self, loss: RankLoss, scores: &[f64]) -> f64 {
            let total: f64 = (self.groups.iter())
                .map(|&(start, len, trials)| {
                    let mut g = vec![0.0; len - 1];
                    let negs = &scores[start + 1..start + len];
                    let ctx = (trials, self.n_items);
                    loss.value_and_grad(scores[start], negs, ctx, &mut 0.0, &mut g)
                })
                .sum();
            total / self.positives as f64
        }
    }

    /// One plain-SGD ranking step (lr 1) of `net` (its optimizer must be plain SGD) on
    /// `ex` against finite differences of `reference` (the f64 loss with its penalties),
    /// after a first step (lr 0.1) that leaves pending lazy decay under table-mode L2
    /// ([`crate::train::check::check_sgd_step`]). Returns (weights checked, kinks).
    pub(crate) fn check_rank_step<N: RankNet>(
        net: N,
        ex: &Examples,
        loss: RankLoss,
        reference: impl Fn(&N) -> f64,
        weights: fn(&N) -> Vec<Vec<f32>>,
        weights_mut: fn(&mut N, usize) -> &mut [f32],
        what: &str,
    ) -> (usize, usize) {
        let mut lazy = net;
        rank_step(&mut lazy, ex, loss, 1, 0.1);
        let step = |n: &mut N| {
            rank_step(n, ex, loss, 2, 1.0);
        };
        crate::train::check::check_sgd_step(lazy, step, reference, weights, weights_mut, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Recommender;

    /// Each loss's gradient with respect to the scores against central finite
    /// differences (f64), at points away from the hinge's kink.
    #[test]
    fn loss_gradients_match_finite_differences() {
        let pos = 0.3;
        let negs = [0.9, -0.4, 1.7, 0.1];
        for loss in RankLoss::ALL {
            let n = if loss == RankLoss::Warp {
                1
            } else {
                negs.len()
            };
            let negs = &negs[..n];
            let ctx = (3, 50);
            let (mut gp, mut gn) = (0.0, vec![0.0; n]);
            loss.value_and_grad(pos, negs, ctx, &mut gp, &mut gn);
            let f = |p: f64, ns: &[f64]| {
                let (mut a, mut b) = (0.0, vec![0.0; ns.len()]);
                loss.value_and_grad(p, ns, ctx, &mut a, &mut b)
            };
            let h = 1e-6;
            let fd = (f(pos + h, negs) - f(pos - h, negs)) / (2.0 * h);
            assert!((fd - gp).abs() < 1e-6, "{loss:?}: d/d pos {fd} vs {gp}");
            for j in 0..n {
                let (mut up, mut down) = (negs.to_vec(), negs.to_vec());
                up[j] += h;
                down[j] -= h;
                let fd = (f(pos, &up) - f(pos, &down)) / (2.0 * h);
                assert!(
                    (fd - gn[j]).abs() < 1e-6,
                    "{loss:?}: d/d neg {j} {fd} vs {}",
                    gn[j]
                );
            }
            assert!(
                gp < 0.0,
                "{loss:?}: raising the positive must lower the loss"
            );
        }
        // WARP's weight: ln(floor(49 / 3)) = ln 16; a satisfied margin costs nothing.
        let (mut gp, mut gn) = (0.0, [0.0]);
        let l = RankLoss::Warp.value_and_grad(2.0, &[0.5], (3, 50), &mut gp, &mut gn);
        assert_eq!((l, gp, gn[0]), (0.0, 0.0, 0.0));
        let l = RankLoss::Warp.value_and_grad(0.0, &[0.5], (3, 50), &mut gp, &mut gn);
        assert!((l - 16f64.ln() * 1.5).abs() < 1e-12);
    }

    /// The examples of a network's minibatch: each positive with the loss's number of
    /// negatives (WARP: the one violating negative, found at a trial within the limit),
    /// every negative an item the user never took, under both samplings.
    #[test]
    fn examples_pair_each_positive_with_items_the_user_never_took() {
        use crate::models::neumf::{NeuMfNet, NeuMfParams};
        let mut r = Ratings::default();
        for u in 0..6u32 {
            for d in 0..4 {
                r.push(u, (u + 2 * d) % 10, 1.0, None);
            }
        }
        let positives = UserItems::build(&r, 6);
        let chunk: Vec<u32> = (0..r.len() as u32).collect();
        for loss in RankLoss::ALL {
            for sampling in [Sampling::Uniform, Sampling::Popularity] {
                let params = NeuMfParams {
                    dim: 2,
                    mlp_dim: 2,
                    hidden: vec![3],
                    init: crate::nn::Init::Uniform(2.0),
                    loss: NetLoss::Ranking(loss),
                    ..NeuMfParams::default()
                };
                let mut net = NeuMfNet::new(&params, 0.0, 6, 10);
                let spec = RankSpec {
                    loss,
                    negatives: 0,
                    sampling,
                };
                let sampler = Sampler::new(sampling, &r, 10);
                let mut ex = Examples::default();
                let mut rng = Rng::seeded(1);
                sample_examples(
                    &mut net, &r, &chunk, &positives, &sampler, &spec, &mut rng, &mut ex,
                );
                assert_eq!((ex.positives, ex.n_items), (r.len(), 10));
                if loss != RankLoss::Warp {
                    assert_eq!(ex.groups.len(), r.len(), "{loss:?}");
                }
                for (k, &(start, len, trials)) in ex.groups.iter().enumerate() {
                    let u = ex.users[start];
                    let rated = positives.get(u as usize);
                    assert!(ex.users[start..start + len].iter().all(|&v| v == u));
                    assert!(rated.contains(&ex.items[start]), "{loss:?}: positive");
                    for &j in &ex.items[start + 1..start + len] {
                        assert!(!rated.contains(&j), "{loss:?} {sampling:?}: {j} taken");
                    }
                    if loss == RankLoss::Warp {
                        assert!(len == 2 && (1..=100).contains(&trials), "{loss:?}");
                        let s = |i| net.score(u, ex.items[i]);
                        assert!(s(start + 1) > s(start) - 1.0, "WARP: no violation");
                    } else {
                        assert_eq!((len, trials), (1 + loss.default_negatives(), 0));
                        assert_eq!(ex.items[start], r.items[chunk[k] as usize]);
                    }
                }
            }
        }
    }

    #[test]
    fn negatives_are_never_positives_and_popularity_follows_counts() {
        let mut r = Ratings::default();
        // Item 0 is taken 6 times, item 1 twice, item 2 once, item 3 never (by others).
        for (u, i) in [
            (0, 0),
            (1, 0),
            (2, 0),
            (3, 0),
            (4, 0),
            (5, 0),
            (0, 1),
            (1, 1),
            (2, 2),
        ] {
            r.push(u, i, 1.0, None);
        }
        let users = UserItems::build(&r, 6);
        let mut rng = Rng::seeded(3);
        for kind in [Sampling::Uniform, Sampling::Popularity] {
            let s = Sampler::new(kind, &r, 4);
            for _ in 0..2000 {
                let j = s.draw(&mut rng, users.get(0));
                assert!(j == 2 || j == 3, "{kind:?}: drew {j}, a positive of user 0");
            }
        }
        // Popularity for user 5 (rated item 0 only): items 1 and 2 in ratio 2:1, never 3.
        let s = Sampler::new(Sampling::Popularity, &r, 4);
        let mut counts = [0usize; 4];
        for _ in 0..30_000 {
            counts[s.draw(&mut rng, users.get(5)) as usize] += 1;
        }
        assert_eq!((counts[0], counts[3]), (0, 0));
        let ratio = counts[1] as f64 / counts[2] as f64;
        assert!((ratio - 2.0).abs() < 0.15, "{counts:?}");
    }
}
