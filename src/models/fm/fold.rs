//! Fold-in of a new user: in every kept sample, the user's own parameters (the weight
//! and factors of their one-hot feature) solved with everything else frozen, under that
//! sample's prior of the user group and its noise precision: the mean of the
//! parameters' conditional posterior, a ridge regression of K + 1 unknowns. The user's
//! row also holds their `rated` set (the items given, 1/sqrt(n)) when the model has
//! that group, and with a `day` group the day averaged over every training rating's
//! day; side variables of a new user are unknown and left out.
//!
//! Under the ordered-probit link the same unknowns take the mode of their conditional
//! posterior under the probit likelihood (each rating at its nearest level, the
//! sample's cut points, unit noise), found by EM on the latent values (Albert and
//! Chib's latent normal: each E step puts a rating's latent value at its truncated
//! normal's mean, each M step is the ridge regression above on those values); the
//! folded user's `factors` then end with the user row's own terms of each sample
//! (`S` values), which scoring needs sample by sample.

use super::Fm;
use super::probit::truncated_mean;
use crate::models::FoldedUser;
use crate::nn::linalg::solve_spd;

impl Fm {
    /// The folded user: `bias` = the average over samples of the user row's own terms,
    /// `factors` = the row's factor sums of every sample, concatenated and scaled as the
    /// model's user rows are.
    pub(super) fn fold_in_user(&self, ratings: &[(u32, f32)], base: FoldedUser) -> FoldedUser {
        let (k, s) = (self.k, self.samples());
        let nf = self.design.n_features();
        let groups = self.design.groups.len();
        let items = self.scorer.ia.len();
        let width = self.scorer.width;
        let root = (s as f64).sqrt();
        let rated = self.design.groups.iter().find(|g| g.name == "rated");
        let clock = self.design.clock.as_ref();
        let x = 1.0 / (ratings.len().max(1) as f64).sqrt();
        let mut bias = 0.0;
        let mut factors = vec![0f32; width];
        let mut own_terms = Vec::with_capacity(s);
        let dim = k + 1;
        for t in 0..s {
            let w = &self.w[t * nf..(t + 1) * nf];
            let v = &self.v[t * nf * k..(t + 1) * nf * k];
            // The rated set's own terms and factor sums.
            let mut q_rated = vec![0f64; k];
            let mut a_rated = 0.0;
            if let Some(g) = rated {
                let mut sq = 0.0;
                for &(i, _) in ratings {
                    let j = g.first as usize + i as usize;
                    a_rated += w[j] as f64 * x;
                    for f in 0..k {
                        let vf = v[j * k + f] as f64 * x;
                        q_rated[f] += vf;
                        sq += vf * vf;
                    }
                }
                a_rated += 0.5 * (q_rated.iter().map(|q| q * q).sum::<f64>() - sq);
            }
            // Without a time, a new user's day is averaged over every training rating's.
            if let Some((c, first)) = clock.and_then(|c| c.day.map(|f| (c, f))) {
                let mut qt = vec![0f64; k];
                for (d, &share) in c.day_share.iter().enumerate() {
                    let j = first as usize + d;
                    a_rated += share as f64 * w[j] as f64;
                    for f in 0..k {
                        qt[f] += share as f64 * v[j * k + f] as f64;
                    }
                }
                a_rated += q_rated.iter().zip(&qt).map(|(x, y)| x * y).sum::<f64>();
                for f in 0..k {
                    q_rated[f] += qt[f];
                }
            }
            // Ridge regression for (w_u, v_u) under the sample's user-group prior.
            let hyper = &self.hyper[t * groups * dim * 2..];
            let alpha = self.alpha[t] as f64;
            let mut a = vec![0f64; dim * dim];
            let mut b = vec![0f64; dim];
            for d in 0..dim {
                let (mu, lam) = (hyper[d * 2] as f64, hyper[d * 2 + 1] as f64);
                a[d * dim + d] += lam;
                b[d] += lam * mu;
            }
            // Each rating's regressors (the unknowns' coefficients) and the rest of
            // its output.
            let mut rows: Vec<(Vec<f64>, f64, f32)> = Vec::with_capacity(ratings.len());
            for &(i, y) in ratings {
                let i = i as usize;
                if i >= items {
                    continue;
                }
                let qi = &self.scorer.q[i * width + t * k..i * width + (t + 1) * k];
                let mut z = vec![0f64; dim];
                z[0] = 1.0;
                let mut dot = 0.0;
                for f in 0..k {
                    let q = qi[f] as f64 * root;
                    z[f + 1] = q_rated[f] + q;
                    dot += q_rated[f] * q;
                }
                let rest =
                    self.w0[t] as f64 + a_rated + self.scorer.item_a[t * items + i] as f64 + dot;
                rows.push((z, rest, y));
            }
            let solve = |targets: &mut dyn FnMut(usize) -> f64, alpha: f64| {
                let (mut a, mut b) = (a.clone(), b.clone());
                for (n, (z, rest, _)) in rows.iter().enumerate() {
                    let target = targets(n) - rest;
                    for r in 0..dim {
                        b[r] += alpha * z[r] * target;
                        for c in 0..dim {
                            a[r * dim + c] += alpha * z[r] * z[c];
                        }
                    }
                }
                solve_spd(a, b, dim)
            };
            let own = if self.levels.is_empty() {
                solve(&mut |n| rows[n].2 as f64, alpha)
            } else {
                // EM on the latent values, from the prior's mean.
                let c = self.levels.len() - 1;
                let cuts = &self.cuts[t * c..(t + 1) * c];
                let bounds: Vec<(f64, f64)> = (rows.iter())
                    .map(|(_, _, y)| {
                        let level = nearest(&self.levels, *y);
                        let lo = if level == 0 {
                            f64::NEG_INFINITY
                        } else {
                            cuts[level - 1] as f64
                        };
                        let hi = if level == c {
                            f64::INFINITY
                        } else {
                            cuts[level] as f64
                        };
                        (lo, hi)
                    })
                    .collect();
                let mut own: Vec<f64> = (0..dim).map(|d| hyper[d * 2] as f64).collect();
                for _ in 0..EM_STEPS {
                    let latent = |n: usize| {
                        let (z, rest, _) = &rows[n];
                        let f = rest + z.iter().zip(&own).map(|(z, o)| z * o).sum::<f64>();
                        let (lo, hi) = bounds[n];
                        f + truncated_mean(lo - f, hi - f)
                    };
                    let latent: Vec<f64> = (0..rows.len()).map(latent).collect();
                    own = solve(&mut |n| latent[n], 1.0);
                }
                own
            };
            let (w_u, v_u) = (own[0], &own[1..]);
            let pair: f64 = (0..k).map(|f| v_u[f] * q_rated[f]).sum();
            bias += (a_rated + w_u + pair) / s as f64;
            own_terms.push((a_rated + w_u + pair) as f32);
            for f in 0..k {
                factors[t * k + f] = ((q_rated[f] + v_u[f]) / root) as f32;
            }
        }
        if !self.levels.is_empty() {
            factors.extend(own_terms);
        }
        FoldedUser {
            bias: bias as f32,
            factors,
            ..base
        }
    }
}

/// EM steps of a fold-in under the ordered-probit link, from the prior mean.
const EM_STEPS: usize = 40;

/// The index of the level nearest to `y` (ties to the lower).
fn nearest(levels: &[f32], y: f32) -> usize {
    (0..levels.len())
        .min_by(|&a, &b| (levels[a] - y).abs().total_cmp(&(levels[b] - y).abs()))
        .unwrap_or(0)
}
