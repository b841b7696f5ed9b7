//! Matrix factorization trained for top-N ranking on implicit feedback: the score is
//! `dot(P_u, Q_i) + b_i` (a user bias would not change a user's ranking), learned from
//! the observed (user, item) interactions and sampled negatives under a ranking loss
//! (BPR, WARP, BCE or sampled softmax; the losses and the sampling are in
//! [`super::ranking`]).
//!
//! Training is per example (one positive and its negatives at a time, positives in a
//! seeded shuffled order each epoch) with Adagrad (per-weight accumulators starting at 1,
//! as LightFM) or plain SGD, and L2 on the rows each example touches. One thread: a
//! seeded run is bit-reproducible.

use super::Mf;
pub use super::ranking::{RankLoss, Sampling};
use super::ranking::{Sampler, UserItems};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::nn::kernels::{axpy, dot};
use crate::rng::Rng;
use std::str::FromStr;

/// The update rule of the ranking trainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankOptimizer {
    /// Plain SGD.
    Sgd,
    /// Adagrad with accumulators starting at 1 (LightFM's).
    Adagrad,
}

impl FromStr for RankOptimizer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sgd" => Ok(RankOptimizer::Sgd),
            "adagrad" => Ok(RankOptimizer::Adagrad),
            _ => Err(Error::Usage(format!(
                "a ranking loss trains with --optimizer sgd or adagrad, got '{s}'"
            ))),
        }
    }
}

/// Hyper-parameters of MF trained with a ranking loss.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `dim` | 64 | latent factors K | 1..=4096 |
/// | `epochs` | 10 | passes over the interactions | 1..=100000 |
/// | `loss` | warp | [`RankLoss`] | bpr, warp, bce, softmax |
/// | `negatives` | 0 (the loss's default: warp 100 trials, bpr 1, bce 4, softmax 20) | negatives per positive (warp: most trials) | 0..=100000 |
/// | `sampling` | uniform | how negatives are drawn ([`Sampling`]) | uniform, popularity |
/// | `optimizer` | adagrad | [`RankOptimizer`] | sgd, adagrad |
/// | `lr` | 0.05 | learning rate | > 0 |
/// | `lr_decay` | 1 | lr multiplier after each epoch | (0, 1] |
/// | `l2` | 0.3 | L2 on the P and Q rows an example touches | ≥ 0 |
/// | `l2_bias` | 0 | L2 on the item biases an example touches | ≥ 0 |
/// | `init` | 0.01 | std of the normal initial factors (biases start at 0) | > 0 |
/// | `seed` | 42 | initialisation, order and sampling | any |
///
/// Defaults were chosen on validation data carved from u1.base (see docs/tuning.md,
/// "Implicit feedback").
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MfRankParams {
    /// Latent factors K.
    pub dim: usize,
    /// Training epochs.
    pub epochs: usize,
    /// Ranking loss.
    pub loss: RankLoss,
    /// Negatives per positive (WARP: maximum trials); 0 = the loss's default.
    pub negatives: usize,
    /// Negative sampling.
    pub sampling: Sampling,
    /// Update rule.
    pub optimizer: RankOptimizer,
    /// Learning rate.
    pub lr: f32,
    /// Learning-rate multiplier per epoch.
    pub lr_decay: f32,
    /// L2 on P and Q rows.
    pub l2: f32,
    /// L2 on item biases.
    pub l2_bias: f32,
    /// Std of the initial factors.
    pub init: f32,
    /// Seed.
    pub seed: u64,
    /// The interactions are the training ratings at or above this (`None`: every
    /// rating).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_rating: Option<f32>,
}

/// The command-line flags of mf on implicit feedback (see [`Kind::flags`](super::Kind::flags)).
pub(crate) fn flags() -> Vec<super::flags::Flag> {
    use super::flags::{self, DIM, Flag, L2, parsed};
    let mut v = vec![
        DIM,
        Flag::field("--epochs", "epochs"),
        Flag::parsed("--optimizer", "optimizer", parsed::<RankOptimizer>),
        Flag::field("--lr", "lr"),
        Flag::field("--lr-decay", "lr_decay"),
        L2,
        Flag::field("--l2-bias", "l2_bias"),
        Flag::parsed("--init", "init", |s| {
            flags::normal_std(s, "mf on implicit feedback")
        }),
        Flag::parsed("--loss", "loss", parsed::<RankLoss>),
    ];
    v.extend(flags::IMPLICIT);
    v.extend(flags::RANKING);
    v
}

impl Default for MfRankParams {
    fn default() -> Self {
        MfRankParams {
            dim: 64,
            epochs: 10,
            loss: RankLoss::Warp,
            negatives: 0,
            sampling: Sampling::Uniform,
            optimizer: RankOptimizer::Adagrad,
            lr: 0.05,
            lr_decay: 1.0,
            l2: 0.3,
            l2_bias: 0.0,
            init: 0.01,
            seed: 42,
            min_rating: None,
        }
    }
}

impl MfRankParams {
    /// Negatives per positive (WARP: maximum trials) after applying the loss's default.
    pub fn negatives(&self) -> usize {
        match self.negatives {
            0 => self.loss.default_negatives(),
            n => n,
        }
    }

    /// Checks every range in the table above.
    pub fn check(&self) -> Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        if !(1..=4096).contains(&self.dim) {
            return usage(format!("dim must be in 1..=4096, got {}", self.dim));
        }
        if !(1..=100_000).contains(&self.epochs) {
            return usage(format!("epochs must be in 1..=100000, got {}", self.epochs));
        }
        if self.negatives > 100_000 {
            return usage(format!(
                "negatives must be in 0..=100000, got {}",
                self.negatives
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return usage(format!("lr must be > 0, got {}", self.lr));
        }
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return usage(format!("lr decay must be in (0, 1], got {}", self.lr_decay));
        }
        for (name, v) in [("l2", self.l2), ("l2 bias", self.l2_bias)] {
            if !(v.is_finite() && v >= 0.0) {
                return usage(format!("{name} must be >= 0, got {v}"));
            }
        }
        if !(self.init.is_finite() && self.init > 0.0) {
            return usage(format!("init std must be > 0, got {}", self.init));
        }
        Ok(())
    }

    /// Trains on the interactions of `train` (indices below `n_users` / `n_items`; values
    /// are ignored), calling `on_epoch` after every epoch with its number (from 1) and the
    /// model so far. The model is an [`Mf`] with `mu = 0` and zero user biases.
    ///
    /// ```
    /// use embedrec::data::Ratings;
    /// use embedrec::models::{MfRankParams, Recommender};
    /// let mut r = Ratings::default();
    /// // Users 0 and 1 share items 0 and 1; user 1 also took item 2.
    /// for (u, i) in [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 3), (3, 3), (3, 4)] {
    ///     r.push(u, i, 1.0, None);
    /// }
    /// let p = MfRankParams { dim: 4, epochs: 200, init: 0.1, ..MfRankParams::default() };
    /// let m = p.train(&r, 4, 5, |_, _| Ok(())).unwrap();
    /// assert!(m.score(0, 2) > m.score(0, 4));
    /// ```
    pub fn train(
        &self,
        train: &Ratings,
        n_users: u32,
        n_items: u32,
        mut on_epoch: impl FnMut(usize, &Mf) -> Result<()>,
    ) -> Result<Mf> {
        self.check()?;
        if train.is_empty() {
            return Err(Error::Usage("cannot train on no interactions".into()));
        }
        let (nu, ni, k) = (n_users as usize, n_items as usize, self.dim);
        let positives = UserItems::build(train, nu);
        let sampler = Sampler::new(self.sampling, train, ni);
        let mut rng = Rng::seeded(self.seed);
        let mut normal = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| (rng.normal() * self.init as f64) as f32)
                .collect()
        };
        let mut model = Mf {
            mu: 0.0,
            dim: k,
            p: normal(nu * k),
            q: normal(ni * k),
            user_bias: vec![0.0; nu],
            item_bias: vec![0.0; ni],
        };
        let adagrad = self.optimizer == RankOptimizer::Adagrad;
        let acc_len = |n: usize| if adagrad { n } else { 0 };
        let mut acc = Accumulators {
            p: vec![1.0; acc_len(nu * k)],
            q: vec![1.0; acc_len(ni * k)],
            b: vec![1.0; acc_len(ni)],
        };
        let mut order: Vec<u32> = (0..train.len() as u32).collect();
        let mut lr = self.lr;
        let n_neg = self.negatives();
        let mut ex = Example::new(k, n_neg);
        for epoch in 1..=self.epochs {
            rng.shuffle(&mut order);
            for &t in &order {
                let (u, i) = (train.users[t as usize], train.items[t as usize]);
                let rated = positives.get(u as usize);
                if rated.len() >= ni {
                    continue; // no item left to be a negative
                }
                self.step(
                    &mut model,
                    &mut acc,
                    &mut ex,
                    (u, i),
                    rated,
                    &sampler,
                    &mut rng,
                    (lr, true),
                );
            }
            lr *= self.lr_decay;
            on_epoch(epoch, &model)?;
        }
        Ok(model)
    }

    /// One example: the positive `(u, i)`, its negatives, the loss's gradient and the
    /// update of every row it touched.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        m: &mut Mf,
        acc: &mut Accumulators,
        ex: &mut Example,
        (u, i): (u32, u32),
        rated: &[u32],
        sampler: &Sampler,
        rng: &mut Rng,
        (lr, train_items): (f32, bool),
    ) {
        let k = m.dim;
        let ni = m.item_bias.len();
        let (u, i) = (u as usize, i as usize);
        let score = |m: &Mf, j: usize| {
            dot(&m.p[u * k..(u + 1) * k], &m.q[j * k..(j + 1) * k]) + m.item_bias[j]
        };
        let pos = score(m, i) as f64;
        ex.negs.clear();
        ex.scores.clear();
        let mut trials = 0usize;
        let n_neg = self.negatives();
        if self.loss == RankLoss::Warp {
            while trials < n_neg {
                trials += 1;
                let j = sampler.draw(rng, rated);
                let s = score(m, j as usize) as f64;
                if s > pos - 1.0 {
                    ex.negs.push(j);
                    ex.scores.push(s);
                    break;
                }
            }
            if ex.negs.is_empty() {
                return;
            }
        } else {
            for _ in 0..n_neg {
                let j = sampler.draw(rng, rated);
                ex.negs.push(j);
                ex.scores.push(score(m, j as usize) as f64);
            }
        }
        ex.grads.resize(ex.negs.len(), 0.0);
        let mut g_pos = 0.0;
        self.loss
            .value_and_grad(pos, &ex.scores, (trials, ni), &mut g_pos, &mut ex.grads);
        // d loss / d P_u = sum over scored items of g_j Q_j (before any update).
        ex.gp.iter_mut().for_each(|g| *g = 0.0);
        axpy(g_pos as f32, &m.q[i * k..(i + 1) * k], &mut ex.gp);
        for (&j, &g) in ex.negs.iter().zip(&ex.grads) {
            let j = j as usize;
            axpy(g as f32, &m.q[j * k..(j + 1) * k], &mut ex.gp);
        }
        // Items: d loss / d Q_j = g_j P_u, d loss / d b_j = g_j.
        let items = std::iter::once((i, g_pos as f32)).chain(
            ex.negs
                .iter()
                .zip(&ex.grads)
                .map(|(&j, &g)| (j as usize, g as f32)),
        );
        for (j, g) in items {
            if g == 0.0 || !train_items {
                continue;
            }
            ex.gq.copy_from_slice(&m.p[u * k..(u + 1) * k]);
            ex.gq.iter_mut().for_each(|x| *x *= g);
            let q = &mut m.q[j * k..(j + 1) * k];
            axpy(self.l2, q, &mut ex.gq);
            let acc_q = acc.q.get_mut(j * k..(j + 1) * k).unwrap_or(&mut []);
            update(q, &ex.gq, acc_q, lr);
            let gb = g + self.l2_bias * m.item_bias[j];
            let acc_b = acc.b.get_mut(j..j + 1).unwrap_or(&mut []);
            update(std::slice::from_mut(&mut m.item_bias[j]), &[gb], acc_b, lr);
        }
        let p = &mut m.p[u * k..(u + 1) * k];
        axpy(self.l2, p, &mut ex.gp);
        let acc_p = acc.p.get_mut(u * k..(u + 1) * k).unwrap_or(&mut []);
        update(p, &ex.gp, acc_p, lr);
    }
}

impl MfRankParams {
    /// The factors of a user the model `m` (trained with these params) never saw, from the
    /// items they interacted with: the same loss, negatives (uniform, never one of
    /// `items`), optimizer and epochs as training, restricted to this user's row with the
    /// items frozen. Seeded: the same input gives the same factors.
    pub fn fold_in(&self, m: &Mf, items: &[u32]) -> Vec<f32> {
        let k = m.dim;
        let ni = m.item_bias.len();
        let mut rated: Vec<u32> = items
            .iter()
            .copied()
            .filter(|&i| (i as usize) < ni)
            .collect();
        rated.sort_unstable();
        rated.dedup();
        let mut rng = Rng::seeded(self.seed);
        let p: Vec<f32> = (0..k)
            .map(|_| (rng.normal() * self.init as f64) as f32)
            .collect();
        if rated.is_empty() || rated.len() >= ni {
            return p;
        }
        // One user row over a copy of the item side (which the steps only read).
        let mut user = Mf {
            mu: 0.0,
            dim: k,
            p,
            q: m.q.clone(),
            user_bias: vec![0.0],
            item_bias: m.item_bias.clone(),
        };
        let adagrad = self.optimizer == RankOptimizer::Adagrad;
        let mut acc = Accumulators {
            p: if adagrad { vec![1.0; k] } else { Vec::new() },
            q: Vec::new(),
            b: Vec::new(),
        };
        let sampler = Sampler::uniform(ni);
        let mut ex = Example::new(k, self.negatives());
        let mut order = rated.clone();
        let mut lr = self.lr;
        for _ in 0..self.epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                self.step(
                    &mut user,
                    &mut acc,
                    &mut ex,
                    (0, i),
                    &rated,
                    &sampler,
                    &mut rng,
                    (lr, false),
                );
            }
            lr *= self.lr_decay;
        }
        user.p
    }
}

/// `w -= lr g` (plain SGD, `acc` empty) or Adagrad `acc += g^2; w -= lr g / sqrt(acc)`.
fn update(w: &mut [f32], g: &[f32], acc: &mut [f32], lr: f32) {
    if acc.is_empty() {
        axpy(-lr, g, w);
        return;
    }
    for ((w, &g), a) in w.iter_mut().zip(g).zip(acc.iter_mut()) {
        *a += g * g;
        *w -= lr * g / a.sqrt();
    }
}

/// Adagrad accumulators (empty under SGD).
struct Accumulators {
    p: Vec<f32>,
    q: Vec<f32>,
    b: Vec<f32>,
}

/// Scratch of one example.
struct Example {
    negs: Vec<u32>,
    scores: Vec<f64>,
    grads: Vec<f64>,
    gp: Vec<f32>,
    gq: Vec<f32>,
}

impl Example {
    fn new(k: usize, negatives: usize) -> Self {
        Example {
            negs: Vec::with_capacity(negatives),
            scores: Vec::with_capacity(negatives),
            grads: Vec::with_capacity(negatives),
            gp: vec![0.0; k],
            gq: vec![0.0; k],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Recommender;

    /// The whole model's update direction: one SGD step (lr tiny) on one example must
    /// equal -lr times the finite-difference gradient of the example's loss plus the L2
    /// of the rows it touches, with respect to P_u, Q_i, Q_j and b_i, b_j (f64 reference).
    #[test]
    fn model_gradient_matches_finite_differences() {
        for loss in [
            RankLoss::Bpr,
            RankLoss::Bce,
            RankLoss::Softmax,
            RankLoss::Warp,
        ] {
            let k = 3;
            let mut rng = Rng::seeded(1);
            let mut normal = |n: usize| {
                (0..n)
                    .map(|_| rng.normal() as f32 * 0.5)
                    .collect::<Vec<f32>>()
            };
            let m = Mf {
                mu: 0.0,
                dim: k,
                p: normal(2 * k),
                q: normal(4 * k),
                user_bias: vec![0.0; 2],
                item_bias: normal(4),
            };
            let (u, i) = (1usize, 0usize);
            let params = MfRankParams {
                dim: k,
                loss,
                negatives: 1,
                optimizer: RankOptimizer::Sgd,
                l2: 0.3,
                l2_bias: 0.2,
                ..MfRankParams::default()
            };
            // The example's negative is the one item the sampler can give: user 1 rated
            // items 0, 1 and 3, so it is item 2.
            let rated = [0u32, 1, 3];
            let sampler = Sampler::uniform(4);
            let mut stepped = m.clone();
            let mut acc = Accumulators {
                p: vec![],
                q: vec![],
                b: vec![],
            };
            let mut ex = Example::new(k, 1);
            let lr = 1e-3f32;
            params.step(
                &mut stepped,
                &mut acc,
                &mut ex,
                (1, 0),
                &rated,
                &sampler,
                &mut Rng::seeded(0),
                (lr, true),
            );
            // f64 loss of the same example as a function of the parameters.
            let j = 2usize;
            let loss_of = |p: &[f64], qi: &[f64], qj: &[f64], bi: f64, bj: f64| {
                let si: f64 = p.iter().zip(qi).map(|(a, b)| a * b).sum::<f64>() + bi;
                let sj: f64 = p.iter().zip(qj).map(|(a, b)| a * b).sum::<f64>() + bj;
                let (mut a, mut b) = (0.0, [0.0]);
                // WARP found the violator at trial 1 (these random weights violate).
                let l = loss.value_and_grad(si, &[sj], (1, 4), &mut a, &mut b);
                // L2 on each touched row: (l2 / 2) |w|^2, so its gradient is l2 w.
                let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
                l + 0.5 * 0.3 * (sq(p) + sq(qi) + sq(qj)) + 0.5 * 0.2 * (bi * bi + bj * bj)
            };
            let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let (p, qi, qj) = (
                f64s(&m.p[u * k..(u + 1) * k]),
                f64s(&m.q[i * k..(i + 1) * k]),
                f64s(&m.q[j * k..(j + 1) * k]),
            );
            let (bi, bj) = (m.item_bias[i] as f64, m.item_bias[j] as f64);
            let h = 1e-6;
            let check = |name: &str, which: usize, d: usize, got_delta: f32| {
                let perturb = |s: f64| {
                    let (mut p, mut qi, mut qj, mut bi, mut bj) =
                        (p.clone(), qi.clone(), qj.clone(), bi, bj);
                    match which {
                        0 => p[d] += s,
                        1 => qi[d] += s,
                        2 => qj[d] += s,
                        3 => bi += s,
                        _ => bj += s,
                    }
                    loss_of(&p, &qi, &qj, bi, bj)
                };
                let fd = (perturb(h) - perturb(-h)) / (2.0 * h);
                let want = -(lr as f64) * fd;
                assert!(
                    (got_delta as f64 - want).abs() < 1e-6,
                    "{loss:?} {name}[{d}]: step {got_delta} vs -lr * fd {want}"
                );
            };
            for d in 0..k {
                check("p_u", 0, d, stepped.p[u * k + d] - m.p[u * k + d]);
                check("q_i", 1, d, stepped.q[i * k + d] - m.q[i * k + d]);
                check("q_j", 2, d, stepped.q[j * k + d] - m.q[j * k + d]);
            }
            check("b_i", 3, 0, stepped.item_bias[i] - m.item_bias[i]);
            check("b_j", 4, 0, stepped.item_bias[j] - m.item_bias[j]);
        }
    }

    /// Fold-in of a new user (seeded; order and repeats of the items do not matter): a new user with exactly training user 0's items gets the same best
    /// items as user 0, led by those items.
    #[test]
    fn fold_in_learns_the_user_row_only() {
        let mut r = Ratings::default();
        for u in 0..20u32 {
            let base = if u < 10 { 0 } else { 10 };
            for i in base..base + 6 {
                r.push(u, i + (u % 4), 1.0, None);
            }
        }
        let p = MfRankParams {
            dim: 4,
            epochs: 40,
            init: 0.1,
            l2: 0.01,
            ..MfRankParams::default()
        };
        let m = p.train(&r, 20, 20, |_, _| Ok(())).unwrap();
        let x = p.fold_in(&m, &[0, 1, 2, 3, 4, 5]);
        assert_eq!(x, p.fold_in(&m, &[5, 4, 3, 2, 1, 0, 0]));
        let top6 = |score: &dyn Fn(usize) -> f32| {
            let mut items: Vec<usize> = (0..20).collect();
            items.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
            let mut top: Vec<usize> = items[..6].to_vec();
            top.sort_unstable();
            top
        };
        let folded = top6(&|i| dot(&x, &m.q[i * 4..(i + 1) * 4]) + m.item_bias[i]);
        let user0 = top6(&|i| m.score(0, i as u32));
        assert_eq!(folded, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(folded, user0);
    }
    #[test]
    fn each_loss_learns_a_block_structure_reproducibly() {
        // Two groups of 10 users over two groups of 10 items; each user took 6 of its
        // group's items. The held-out 4 of the own group must outrank the other group.
        let mut r = Ratings::default();
        let mut rng = Rng::seeded(11);
        for u in 0..20u32 {
            let base = if u < 10 { 0 } else { 10 };
            let mut items: Vec<u32> = (base..base + 10).collect();
            rng.shuffle(&mut items);
            for &i in &items[..6] {
                r.push(u, i, 1.0, None);
            }
        }
        for loss in RankLoss::ALL {
            for sampling in [Sampling::Uniform, Sampling::Popularity] {
                let p = MfRankParams {
                    dim: 4,
                    epochs: 40,
                    loss,
                    sampling,
                    init: 0.1,
                    l2: 0.01,
                    ..MfRankParams::default()
                };
                let m = p.train(&r, 20, 20, |_, _| Ok(())).unwrap();
                let again = p.train(&r, 20, 20, |_, _| Ok(())).unwrap();
                assert_eq!(m, again, "{loss:?}: seeded runs differ");
                let (mut right, mut total) = (0, 0);
                for u in 0..20u32 {
                    let own = if u < 10 { 0..10 } else { 10..20 };
                    let other = if u < 10 { 10..20 } else { 0..10 };
                    for i in own.clone() {
                        for j in other.clone() {
                            total += 1;
                            right += (m.score(u, i) > m.score(u, j)) as usize;
                        }
                    }
                }
                let auc = right as f64 / total as f64;
                assert!(auc > 0.9, "{loss:?} {sampling:?}: AUC {auc}");
            }
        }
    }
}
