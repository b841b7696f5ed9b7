//! The ordered-probit link (`link = "ordered-probit"`): ratings on an ordinal scale of
//! `L` levels (the distinct rating values of the training data, ascending) are the
//! intervals of a latent `z ~ N(f, 1)`, `f` the factorization machine's output: a rating
//! is level `k` when `c_{k-1} < z <= c_k`, with cut points `c_0 < ... < c_{L-2}`
//! (`c_{-1} = -inf`, `c_{L-1} = +inf`).
//!
//! Gibbs sampling (Albert and Chib 1993): each sweep draws the cut points given `f`
//! with `z` integrated out, then every `z_n` from its normal truncated to its level's
//! interval, then the FM's parameters on `z` with unit noise precision. `c_0 = 0` fixes
//! the latent scale's origin (`w0` carries the location); the other cut points are
//! drawn as their log gaps `theta_j = ln(c_j - c_{j-1})` under a flat prior on the cut
//! points, by an independence Metropolis-Hastings step whose proposal is a multivariate
//! t (5 degrees of freedom) centred on the conditional posterior's mode (found by
//! Newton's method) with its curvature there, the approach of Cowles (1996) and myFM:
//! Albert and Chib's uniform steps between neighbouring `z`s mix slowly with many
//! ratings.
//!
//! The expected rating under the link is
//! `E[y | f] = sum_k level_k (Phi(c_k - f) - Phi(c_{k-1} - f))
//!           = level_0 + sum_{k>=1} (level_k - level_{k-1}) Phi(f - c_{k-1})`;
//! a prediction averages it over the kept samples (each with its own `f` and cuts).

use super::gibbs::gamma;
use crate::error::{Error, Result};
use crate::rng::Rng;
use std::f64::consts::{FRAC_1_SQRT_2, PI};

/// The most rating levels the ordered-probit link takes.
pub(crate) const MAX_LEVELS: usize = 64;

/// Degrees of freedom of the cut points' t proposal.
const PROPOSAL_DF: f64 = 5.0;

/// `ln sqrt(2 pi)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// The standard normal density's logarithm.
#[inline]
fn log_phi(x: f64) -> f64 {
    -0.5 * x * x - LN_SQRT_2PI
}

/// The standard normal distribution function.
#[inline]
pub(crate) fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// `ln Q(x)`, `Q(x) = 1 - Phi(x)`, accurate far into the upper tail.
pub(crate) fn log_q(x: f64) -> f64 {
    if x == f64::INFINITY {
        f64::NEG_INFINITY
    } else if x < 30.0 {
        (0.5 * libm::erfc(x * FRAC_1_SQRT_2)).ln()
    } else {
        // Mills' ratio, asymptotically (relative error below 1e-8 from 30 on).
        let x2 = x * x;
        -0.5 * x2 - x.ln() - LN_SQRT_2PI + (1.0 - 1.0 / x2 + 3.0 / (x2 * x2)).ln()
    }
}

/// `ln(1 - e^x)` for `x <= 0`.
#[inline]
fn ln_1m_exp(x: f64) -> f64 {
    if x > -std::f64::consts::LN_2 {
        (-x.exp_m1()).ln()
    } else {
        (-x.exp()).ln_1p()
    }
}

/// `ln P(l < Z <= u)` for a standard normal `Z` and `l < u` (either may be infinite),
/// without cancellation in either tail: direct differences of `erfc` up to 5 standard
/// deviations out, differences of logarithms beyond.
pub(crate) fn log_interval(l: f64, u: f64) -> f64 {
    const FAR: f64 = 5.0;
    let erfc = |x: f64| libm::erfc(x * FRAC_1_SQRT_2);
    if l >= FAR {
        let ql = log_q(l);
        ql + ln_1m_exp(log_q(u) - ql)
    } else if u <= -FAR {
        let qu = log_q(-u);
        qu + ln_1m_exp(log_q(-l) - qu)
    } else if l >= 0.0 {
        (0.5 * (erfc(l) - erfc(u))).ln()
    } else if u <= 0.0 {
        (0.5 * (erfc(-u) - erfc(-l))).ln()
    } else {
        (-0.5 * (erfc(-l) + erfc(u))).ln_1p()
    }
}

/// The mean of a standard normal truncated to `(l, u)`.
pub(crate) fn truncated_mean(l: f64, u: f64) -> f64 {
    let lp = log_interval(l, u);
    let at = |x: f64| {
        if x.is_finite() {
            (log_phi(x) - lp).exp()
        } else {
            0.0
        }
    };
    at(l) - at(u)
}

/// A draw of a standard normal truncated to `(a, b)`, `a < b` (either may be
/// infinite): normal rejection or a uniform proposal around zero, and in a tail the
/// exponential proposal of Robert (1995) or, for a short interval, a uniform one.
pub(crate) fn truncated_normal(rng: &mut Rng, a: f64, b: f64) -> f64 {
    if a >= 0.0 {
        tail(rng, a, b)
    } else if b <= 0.0 {
        -tail(rng, -b, -a)
    } else if b - a < (2.0 * PI).sqrt() {
        // Around zero and short: uniform, accepted with exp(-x^2 / 2) >= e^-pi.
        loop {
            let x = rng.uniform_in(a, b);
            if (1.0 - rng.uniform()).ln() <= -0.5 * x * x {
                return x;
            }
        }
    } else {
        // Around zero and long: accepted with probability above 0.49.
        loop {
            let x = rng.normal();
            if x > a && x < b {
                return x;
            }
        }
    }
}

/// [`truncated_normal`] for `0 <= a < b`.
fn tail(rng: &mut Rng, a: f64, b: f64) -> f64 {
    let rate = 0.5 * (a + (a * a + 4.0).sqrt());
    if b - a < 2.0 / rate {
        loop {
            let x = rng.uniform_in(a, b);
            if (1.0 - rng.uniform()).ln() <= 0.5 * (a * a - x * x) {
                return x;
            }
        }
    }
    loop {
        let x = a - (1.0 - rng.uniform()).ln() / rate;
        if x >= b {
            continue;
        }
        if (1.0 - rng.uniform()).ln() <= -0.5 * (x - rate) * (x - rate) {
            return x;
        }
    }
}

/// The standard normal distribution function by cubic Hermite interpolation of a
/// table (step 1/64 on [-9, 9], values and densities exact): absolute error below 1e-9,
/// a few nanoseconds (the training RMSE of each sweep's state).
pub(crate) fn fast_cdf(x: f32) -> f32 {
    use std::sync::OnceLock;
    const STEP: f64 = 1.0 / 64.0;
    const LIMIT: f64 = 9.0;
    const N: usize = (2.0 * LIMIT / STEP) as usize + 1;
    static TABLE: OnceLock<Vec<(f64, f64)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        (0..N)
            .map(|k| {
                let x = -LIMIT + k as f64 * STEP;
                (norm_cdf(x), log_phi(x).exp())
            })
            .collect()
    });
    let x = x as f64;
    if x.is_nan() {
        return f32::NAN;
    }
    if x <= -LIMIT {
        return 0.0;
    }
    if x >= LIMIT {
        return 1.0;
    }
    let pos = (x + LIMIT) / STEP;
    let k = (pos as usize).min(N - 2);
    let t = pos - k as f64;
    let ((p0, d0), (p1, d1)) = (table[k], table[k + 1]);
    let (t2, t3) = (t * t, t * t * t);
    let h00 = 2.0 * t3 - 3.0 * t2 + 1.0;
    let h10 = t3 - 2.0 * t2 + t;
    let h01 = -2.0 * t3 + 3.0 * t2;
    let h11 = t3 - t2;
    (h00 * p0 + h10 * STEP * d0 + h01 * p1 + h11 * STEP * d1) as f32
}

/// The expected rating of output `f` under cut points `cuts` (`L - 1`) and rating
/// `levels` (`L`, ascending): `level_0 + sum_k (level_k - level_{k-1}) Phi(f - c_{k-1})`.
#[inline]
pub(crate) fn expected_level(levels: &[f32], cuts: &[f32], f: f32) -> f32 {
    let mut y = levels[0];
    for k in 1..levels.len() {
        y += (levels[k] - levels[k - 1]) * fast_cdf(f - cuts[k - 1]);
    }
    y
}

/// Each sample's expected level as a function of the output, tabulated for scoring:
/// values and slopes every 1/32 from 9 below the first cut point to 9 above the last
/// (beyond, the extreme levels within 1e-18), read by cubic Hermite interpolation
/// (error below 1e-8): one lookup a sample instead of one distribution function a cut
/// point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Curves {
    /// Per sample: the table's first output and its first entry in `table`.
    start: Vec<(f32, usize)>,
    /// Per sample: (value, slope) at every step.
    table: Vec<(f32, f32)>,
    first: f32,
    last: f32,
}

const CURVE_STEP: f64 = 1.0 / 32.0;
const CURVE_MARGIN: f64 = 9.0;

impl Curves {
    /// The curves of samples with cut points `cuts` (`[S, L - 1]`) on `levels`.
    pub fn new(levels: &[f32], cuts: &[f32]) -> Curves {
        let c = levels.len() - 1;
        let mut start = Vec::new();
        let mut table = Vec::new();
        for cs in cuts.chunks(c) {
            let lo = cs[0] as f64 - CURVE_MARGIN;
            let hi = cs[c - 1] as f64 + CURVE_MARGIN;
            start.push((lo as f32, table.len()));
            let n = ((hi - lo) / CURVE_STEP).ceil() as usize + 1;
            for s in 0..n {
                let f = lo + s as f64 * CURVE_STEP;
                let (mut y, mut dy) = (levels[0] as f64, 0.0);
                for k in 1..=c {
                    let step = (levels[k] - levels[k - 1]) as f64;
                    let x = f - cs[k - 1] as f64;
                    y += step * norm_cdf(x);
                    dy += step * log_phi(x).exp();
                }
                table.push((y as f32, dy as f32));
            }
        }
        start.push((0.0, table.len()));
        Curves {
            start,
            table,
            first: levels[0],
            last: levels[c],
        }
    }

    /// Sample `t`'s expected level at output `f`.
    #[inline]
    pub fn at(&self, t: usize, f: f32) -> f32 {
        let (lo, from) = self.start[t];
        let n = self.start[t + 1].1 - from;
        let x = (f - lo) as f64 / CURVE_STEP;
        if x <= 0.0 {
            return self.first;
        }
        if x >= (n - 1) as f64 {
            return self.last;
        }
        let k = x as usize;
        let u = x - k as f64;
        let ((y0, d0), (y1, d1)) = (self.table[from + k], self.table[from + k + 1]);
        let (u2, u3) = (u * u, u * u * u);
        let h00 = 2.0 * u3 - 3.0 * u2 + 1.0;
        let h10 = u3 - 2.0 * u2 + u;
        let h01 = -2.0 * u3 + 3.0 * u2;
        let h11 = u3 - u2;
        (h00 * y0 as f64
            + h10 * CURVE_STEP * d0 as f64
            + h01 * y1 as f64
            + h11 * CURVE_STEP * d1 as f64) as f32
    }
}

/// The rating levels of training values: their distinct values, ascending; an error
/// when there are fewer than 2 or more than [`MAX_LEVELS`].
pub(crate) fn levels_of(values: &[f32]) -> Result<Vec<f32>> {
    let mut levels: Vec<f32> = values.to_vec();
    levels.sort_by(f32::total_cmp);
    levels.dedup();
    if levels.len() < 2 || levels.len() > MAX_LEVELS {
        return Err(Error::Usage(format!(
            "fm: the ordered-probit link needs ratings on an ordinal scale of 2 to \
             {MAX_LEVELS} levels (the distinct rating values), and these ratings have {}",
            levels.len()
        )));
    }
    Ok(levels)
}

/// The chain's link state: the levels, each rating's level, the cut points and the
/// latent values.
#[derive(Debug, Clone)]
pub(crate) struct Probit {
    /// Rating levels, ascending.
    pub levels: Vec<f32>,
    /// Per training rating: its level.
    level_of: Vec<u8>,
    /// Cut points `c_0 = 0 < c_1 < ... < c_{L-2}`.
    pub cuts: Vec<f64>,
    /// The conditional posterior mode of the log gaps found at the last draw (where the
    /// next Newton search starts).
    mode: Vec<f64>,
    /// Per training rating: the latent value.
    pub z: Vec<f64>,
    /// Metropolis-Hastings proposals of the cut points made and accepted.
    pub proposed: usize,
    pub accepted: usize,
}

/// The log posterior of the cut points' log gaps and, when asked, its gradient and
/// Hessian (`[m, m]`, `m = L - 2`).
struct Eval {
    lp: f64,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

impl Probit {
    /// The link state for training ratings `values` on `levels` (see [`levels_of`]),
    /// and the starting `w0`: cut points and `w0` at the values that give every level
    /// its share of the ratings when `f = w0`; each latent value at its level's mean.
    pub fn new(levels: Vec<f32>, values: &[f32]) -> (Probit, f64) {
        let level_of: Vec<u8> = values
            .iter()
            .map(|v| levels.partition_point(|l| l < v).min(levels.len() - 1) as u8)
            .collect();
        let l = levels.len();
        let mut counts = vec![0usize; l];
        level_of.iter().for_each(|&k| counts[k as usize] += 1);
        let n = values.len().max(1) as f64;
        // q_k = Phi^-1(share of ratings at levels <= k), by bisection.
        let mut below = 0usize;
        let q: Vec<f64> = (0..l - 1)
            .map(|k| {
                below += counts[k];
                let p = (below as f64 / n).clamp(1e-6, 1.0 - 1e-6);
                let (mut lo, mut hi) = (-10.0f64, 10.0f64);
                for _ in 0..80 {
                    let mid = 0.5 * (lo + hi);
                    if norm_cdf(mid) < p {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                0.5 * (lo + hi)
            })
            .collect();
        let w0 = -q[0];
        // Strictly increasing even where a level is empty.
        let mut cuts: Vec<f64> = q.iter().map(|x| x - q[0]).collect();
        for k in 1..cuts.len() {
            cuts[k] = cuts[k].max(cuts[k - 1] + 1e-3);
        }
        let bounds = |k: usize, cuts: &[f64]| {
            (
                if k == 0 {
                    f64::NEG_INFINITY
                } else {
                    cuts[k - 1]
                },
                if k == l - 1 { f64::INFINITY } else { cuts[k] },
            )
        };
        let z = level_of
            .iter()
            .map(|&k| {
                let (lo, hi) = bounds(k as usize, &cuts);
                (w0 + truncated_mean(lo - w0, hi - w0)) as f32 as f64
            })
            .collect();
        let mode = gaps_of(&cuts);
        let p = Probit {
            levels,
            level_of,
            cuts,
            mode,
            z,
            proposed: 0,
            accepted: 0,
        };
        (p, w0)
    }

    /// Training rating `n`'s level.
    pub fn level(&self, n: usize) -> usize {
        self.level_of[n] as usize
    }

    /// Level `k`'s interval of the latent value.
    #[inline]
    fn bounds(&self, k: usize) -> (f64, f64) {
        let l = self.levels.len();
        (
            if k == 0 {
                f64::NEG_INFINITY
            } else {
                self.cuts[k - 1]
            },
            if k == l - 1 {
                f64::INFINITY
            } else {
                self.cuts[k]
            },
        )
    }

    /// Every latent value given the outputs `f` and the cut points.
    pub fn draw_latent(&mut self, rng: &mut Rng, f: &[f64]) {
        for (n, &f) in f.iter().enumerate() {
            let (lo, hi) = self.bounds(self.level_of[n] as usize);
            self.z[n] = f + truncated_normal(rng, lo - f, hi - f);
        }
    }

    /// The log posterior of log gaps `theta` given outputs `f` (flat prior on the cut
    /// points: the Jacobian `sum theta`), with derivatives when `derivs`.
    fn eval(&self, theta: &[f64], f: &[f64], derivs: bool) -> Eval {
        let cuts = cuts_of(theta);
        let l = self.levels.len();
        let c = l - 1;
        let mut lp = theta.iter().sum::<f64>();
        let mut g = vec![0f64; c];
        let mut h = vec![0f64; c * c];
        for (n, &fn_) in f.iter().enumerate() {
            let k = self.level_of[n] as usize;
            let lo = if k == 0 {
                f64::NEG_INFINITY
            } else {
                cuts[k - 1] - fn_
            };
            let hi = if k == l - 1 {
                f64::INFINITY
            } else {
                cuts[k] - fn_
            };
            let lpn = log_interval(lo, hi);
            lp += lpn;
            if !derivs {
                continue;
            }
            let (mut ru, mut rl) = (0.0, 0.0);
            if k < l - 1 {
                ru = (log_phi(hi) - lpn).exp();
                g[k] += ru;
                h[k * c + k] += -hi * ru - ru * ru;
            }
            if k > 0 {
                rl = (log_phi(lo) - lpn).exp();
                g[k - 1] -= rl;
                h[(k - 1) * c + k - 1] += lo * rl - rl * rl;
            }
            if k > 0 && k < l - 1 {
                h[k * c + k - 1] += ru * rl;
                h[(k - 1) * c + k] += ru * rl;
            }
        }
        if !derivs {
            return Eval {
                lp,
                grad: Vec::new(),
                hess: Vec::new(),
            };
        }
        // To the log gaps: c_k = sum_{j=1..k} e^theta_j; theta_j is index j - 1.
        let m = theta.len();
        let mut suffix_g = vec![0f64; c + 1];
        for k in (0..c).rev() {
            suffix_g[k] = suffix_g[k + 1] + g[k];
        }
        // s[i][j] = sum_{k >= i, k' >= j} h[k][k'].
        let mut s = vec![0f64; (c + 1) * (c + 1)];
        for i in (0..c).rev() {
            for j in (0..c).rev() {
                s[i * (c + 1) + j] =
                    h[i * c + j] + s[(i + 1) * (c + 1) + j] + s[i * (c + 1) + j + 1]
                        - s[(i + 1) * (c + 1) + j + 1];
            }
        }
        let e: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
        let grad = (0..m).map(|j| e[j] * suffix_g[j + 1] + 1.0).collect();
        let mut hess = vec![0f64; m * m];
        for i in 0..m {
            for j in 0..m {
                hess[i * m + j] = e[i] * e[j] * s[(i + 1) * (c + 1) + j + 1];
            }
            hess[i * m + i] += e[i] * suffix_g[i + 1];
        }
        Eval { lp, grad, hess }
    }

    /// The conditional posterior mode of the log gaps given `f` (Newton's method with
    /// step halving, from the last mode) and the negated Hessian's Cholesky factor there.
    fn find_mode(&self, f: &[f64]) -> (Vec<f64>, Eval, Vec<f64>) {
        let m = self.mode.len();
        let mut theta = self.mode.clone();
        let mut at = self.eval(&theta, f, true);
        for _ in 0..100 {
            let Some(chol) = cholesky_neg(&at.hess, m) else {
                // Not concave here: a short gradient step.
                let step: Vec<f64> = at.grad.iter().map(|g| 1e-4 * g.signum()).collect();
                let next: Vec<f64> = theta.iter().zip(&step).map(|(t, s)| t + s).collect();
                let e = self.eval(&next, f, true);
                if e.lp < at.lp {
                    break;
                }
                (theta, at) = (next, e);
                continue;
            };
            let step = chol_solve(&chol, &at.grad, m);
            // Close enough: the Newton decrement (the step in posterior standard
            // deviations, squared) below 1e-6.
            let decrement: f64 = step.iter().zip(&at.grad).map(|(s, g)| s * g).sum();
            if decrement < 1e-6 {
                break;
            }
            let mut scale = 1.0;
            let mut moved = false;
            for _ in 0..40 {
                let next: Vec<f64> = (theta.iter().zip(&step))
                    .map(|(t, s)| t + scale * s)
                    .collect();
                let e = self.eval(&next, f, true);
                if e.lp >= at.lp - 1e-12 * at.lp.abs() {
                    (theta, at) = (next, e);
                    moved = true;
                    break;
                }
                scale *= 0.5;
            }
            if !moved {
                break;
            }
        }
        let chol = cholesky_neg(&at.hess, m).unwrap_or_else(|| {
            let mut eye = vec![0f64; m * m];
            (0..m).for_each(|i| eye[i * m + i] = 1e-3);
            eye
        });
        (theta, at, chol)
    }

    /// The cut points given the outputs `f`: one independence Metropolis-Hastings step
    /// with a multivariate t proposal at the conditional posterior's mode.
    pub fn draw_cuts(&mut self, rng: &mut Rng, f: &[f64]) {
        let m = self.mode.len();
        if m == 0 {
            return;
        }
        let (mode, _, chol) = self.find_mode(f);
        // theta* = mode + L^-T eps / sqrt(chi2 / df), where L L^T = -H.
        let eps: Vec<f64> = (0..m).map(|_| rng.normal()).collect();
        let w = (gamma(rng, PROPOSAL_DF / 2.0, 0.5) / PROPOSAL_DF).sqrt();
        let dir = chol_solve_upper(&chol, &eps, m);
        let candidate: Vec<f64> = (mode.iter().zip(&dir)).map(|(t, d)| t + d / w).collect();
        let log_q = |theta: &[f64]| {
            // ln of the t density up to a constant: -(df + m)/2 ln(1 + |L^T d|^2 / df).
            let d: Vec<f64> = theta.iter().zip(&mode).map(|(a, b)| a - b).collect();
            let mut quad = 0.0;
            for j in 0..m {
                // (L^T d)_j = sum_{i >= j} L[i][j] d_i
                let v: f64 = (j..m).map(|i| chol[i * m + j] * d[i]).sum();
                quad += v * v;
            }
            -(PROPOSAL_DF + m as f64) / 2.0 * (quad / PROPOSAL_DF).ln_1p()
        };
        let now = gaps_of(&self.cuts);
        let lp_now = self.eval(&now, f, false).lp;
        let lp_new = self.eval(&candidate, f, false).lp;
        let log_ratio = lp_new - lp_now + log_q(&now) - log_q(&candidate);
        self.proposed += 1;
        if lp_new.is_finite() && (1.0 - rng.uniform()).ln() <= log_ratio {
            self.cuts = cuts_of(&candidate);
            self.accepted += 1;
        }
        self.mode = mode;
    }
}

/// Cut points from log gaps: `c_0 = 0`, `c_k = c_{k-1} + e^theta_k`.
fn cuts_of(theta: &[f64]) -> Vec<f64> {
    let mut c = Vec::with_capacity(theta.len() + 1);
    c.push(0.0);
    for t in theta {
        c.push(c.last().unwrap() + t.exp());
    }
    c
}

/// Log gaps from cut points (see [`cuts_of`]).
fn gaps_of(cuts: &[f64]) -> Vec<f64> {
    cuts.windows(2).map(|w| (w[1] - w[0]).ln()).collect()
}

/// The Cholesky factor `L` (lower, row-major) of `-h`, if `-h` is positive definite.
fn cholesky_neg(h: &[f64], m: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; m * m];
    for i in 0..m {
        for j in 0..=i {
            let mut s = -h[i * m + j];
            for k in 0..j {
                s -= l[i * m + k] * l[j * m + k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * m + i] = s.sqrt();
            } else {
                l[i * m + j] = s / l[j * m + j];
            }
        }
    }
    Some(l)
}

/// Solves `L L^T x = b`.
fn chol_solve(l: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut y = b.to_vec();
    for i in 0..m {
        for k in 0..i {
            y[i] -= l[i * m + k] * y[k];
        }
        y[i] /= l[i * m + i];
    }
    chol_solve_upper(l, &y, m)
}

/// Solves `L^T x = y`.
fn chol_solve_upper(l: &[f64], y: &[f64], m: usize) -> Vec<f64> {
    let mut x = y.to_vec();
    for i in (0..m).rev() {
        for k in i + 1..m {
            x[i] -= l[k * m + i] * x[k];
        }
        x[i] /= l[i * m + i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws of the truncated normal have the interval's mean and variance, in both
    /// tails, around zero, short and long, one- and two-sided.
    #[test]
    fn truncated_normal_draws_have_the_right_moments() {
        let mut rng = Rng::seeded(17);
        let inf = f64::INFINITY;
        for (a, b) in [
            (-inf, inf),
            (0.0, inf),
            (-inf, -1.5),
            (2.0, inf),
            (6.0, inf),
            (-inf, -9.0),
            (-0.3, 0.4),
            (-1.0, 3.0),
            (-3.0, 3.5),
            (1.0, 1.2),
            (2.5, 4.0),
            (-5.0, -4.2),
            (4.0, 30.0),
        ] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| truncated_normal(&mut rng, a, b)).collect();
            assert!(xs.iter().all(|&x| x > a && x < b), "({a}, {b})");
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            // Closed form: m = (phi(a) - phi(b)) / Z,
            // v = 1 + (a phi(a) - b phi(b)) / Z - m^2.
            let lz = log_interval(a, b);
            let r = |x: f64| {
                if x.is_finite() {
                    (log_phi(x) - lz).exp()
                } else {
                    0.0
                }
            };
            let xr = |x: f64| if x.is_finite() { x * r(x) } else { 0.0 };
            let m = r(a) - r(b);
            let v = 1.0 + xr(a) - xr(b) - m * m;
            assert!((m - truncated_mean(a, b)).abs() < 1e-12);
            assert!(
                (mean - m).abs() < 5.0 * (v / n as f64).sqrt(),
                "({a}, {b}): mean {mean} vs {m}"
            );
            assert!((var / v - 1.0).abs() < 0.03, "({a}, {b}): var {var} vs {v}");
        }
    }

    /// The interval probabilities against direct differences where those are exact, and
    /// finite far in the tails.
    #[test]
    fn interval_probabilities_are_accurate_in_the_tails() {
        for (l, u) in [(-1.0, 0.5), (0.2, 1.7), (-2.0, -0.1), (-0.5, f64::INFINITY)] {
            let direct = norm_cdf(u) - norm_cdf(l);
            assert!(
                (log_interval(l, u) - direct.ln()).abs() < 1e-12,
                "({l}, {u})"
            );
        }
        // Far tails: Q(40) ~ 3.7e-350 is below f64's range, its logarithm is not.
        let far = log_interval(40.0, f64::INFINITY);
        assert!(
            (far - log_q(40.0)).abs() < 1e-12 && (far + 804.6084).abs() < 1e-3,
            "{far}"
        );
        let far_left = log_interval(f64::NEG_INFINITY, -40.0);
        assert!((far_left - far).abs() < 1e-12);
        assert!(log_interval(35.0, 36.0).is_finite());
        // The table's distribution function.
        for k in -1000..=1000 {
            let x = k as f64 * 0.0097;
            assert!(
                (fast_cdf(x as f32) as f64 - norm_cdf(x)).abs() < 1e-7,
                "{x}"
            );
        }
    }

    /// The tabulated curves give each sample's expected level.
    #[test]
    fn curves_give_the_expected_level() {
        let levels = [1.0f32, 2.0, 3.0, 4.0, 5.0];
        let cuts = [0.0f32, 0.9, 2.0, 2.7, 0.0, 0.5, 1.1, 3.0];
        let curves = Curves::new(&levels, &cuts);
        for t in 0..2 {
            for k in -800..=1000 {
                let f = k as f32 * 0.0137;
                let exact: f64 = 1.0
                    + cuts[t * 4..(t + 1) * 4]
                        .iter()
                        .map(|&c| norm_cdf(f as f64 - c as f64))
                        .sum::<f64>();
                let got = curves.at(t, f) as f64;
                assert!(
                    (got - exact).abs() < 2e-6,
                    "sample {t}, f {f}: {got} vs {exact}"
                );
            }
        }
        assert_eq!(curves.at(0, -50.0), 1.0);
        assert_eq!(curves.at(1, 50.0), 5.0);
    }

    /// Given the true outputs, the cut points drawn converge on the true ones, and the
    /// proposals are mostly accepted.
    #[test]
    fn cut_points_given_the_outputs_concentrate_on_the_truth() {
        let mut rng = Rng::seeded(5);
        let truth = [0.0, 0.8, 1.9, 2.6];
        let n = 20_000;
        let f: Vec<f64> = (0..n).map(|_| 1.3 + 1.2 * rng.normal()).collect();
        let values: Vec<f32> = f
            .iter()
            .map(|&f| {
                let z = f + rng.normal();
                1.0 + truth.iter().filter(|&&c| z > c).count() as f32
            })
            .collect();
        let levels = levels_of(&values).unwrap();
        assert_eq!(levels, [1.0, 2.0, 3.0, 4.0, 5.0]);
        let (mut p, _) = Probit::new(levels, &values);
        let mut sum = [0f64; 4];
        let draws = 200;
        for _ in 0..draws {
            p.draw_cuts(&mut rng, &f);
            for (s, c) in sum.iter_mut().zip(&p.cuts) {
                *s += c;
            }
        }
        for (s, t) in sum.iter().zip(truth) {
            assert!((s / draws as f64 - t).abs() < 0.05, "{s} vs {t}");
        }
        assert!(
            p.accepted * 2 > p.proposed,
            "{} of {}",
            p.accepted,
            p.proposed
        );
    }
}
