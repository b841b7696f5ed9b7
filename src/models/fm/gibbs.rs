//! Gibbs sampling of a second-order factorization machine (Freudenthaler, Schmidt-Thieme
//! and Rendle 2011, as in libFM's MCMC), over relation blocks (Rendle 2013).
//!
//! The model: `y = w0 + sum_j w_j x_j + sum_{j<j'} <v_j, v_j'> x_j x_j' + noise`,
//! noise ~ N(0, 1/alpha). Priors: `w_j ~ N(mu_g, 1/lambda_g)` and
//! `v_jf ~ N(mu_gf, 1/lambda_gf)` for the feature's group `g`, with normal-gamma
//! hyper-priors `lambda ~ Gamma(1, 1)` (shape, rate: `ALPHA_L / 2`, `BETA_L / 2` below),
//! `mu | lambda ~ N(0, 1/(GAMMA_0 lambda))`, `alpha ~ Gamma(1/2, 1/2)`; `w0` has a flat
//! prior. The prediction is linear in each single parameter `theta`:
//! `y_hat = g + theta h`, so its conditional posterior is normal with precision
//! `alpha sum h^2 + lambda` and mean `(alpha sum h (e + theta h) + lambda mu) / precision`
//! (`e` = the residuals). A sweep draws alpha, w0, the hyper-parameters, every `w_j`,
//! then factor by factor the hyper-parameters and every `v_jf`.
//!
//! Relation blocks: a rating's features are its user's row (user block) and its item's
//! row (item block). For a parameter of block B's factor f, `h_i = x (a_r + t_i)` for
//! rating `i` in row `r`, where `a_r = q_B(r) - v x` (the block's own factor sum without
//! the parameter) and `t_i` the other block's factor sum for the rating. So the sums over
//! a row's ratings need only five numbers per row, gathered in one pass over the ratings:
//! `n_r`, `R1 = sum t`, `R2 = sum t^2`, `E0 = sum e`, `E1 = sum t e`; each draw updates
//! `E0`, `E1` and `q_B(r)` of the rows holding the feature, and one more pass over the
//! ratings brings the residuals up to date. A sweep costs O(ratings x K) plus
//! O(block entries x K), whatever the size of the rows.

use super::design::{Block, Design};
use super::probit::Probit;
use crate::models::threads::map_ordered;
use crate::rng::Rng;

/// The noise precision's prior: Gamma(ALPHA_0 / 2, rate BETA_0 / 2).
const ALPHA_0: f64 = 1.0;
const BETA_0: f64 = 1.0;
/// Every lambda's prior: Gamma(ALPHA_L / 2, rate BETA_L / 2) (with the mean's term).
const ALPHA_L: f64 = 1.0;
const BETA_L: f64 = 1.0;
/// Every group mean's prior: N(MU_0, 1 / (GAMMA_0 lambda)).
const MU_0: f64 = 0.0;
const GAMMA_0: f64 = 1.0;

/// A Gamma(shape, rate) draw (Marsaglia and Tsang 2000; shape < 1 boosted).
pub(crate) fn gamma(rng: &mut Rng, shape: f64, rate: f64) -> f64 {
    if shape < 1.0 {
        let u = 1.0 - rng.uniform();
        return gamma(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = rng.normal();
        let t = 1.0 + c * z;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u = 1.0 - rng.uniform();
        if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v / rate;
        }
    }
}

/// The parameters and hyper-parameters of one sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    /// Factors per feature.
    pub k: usize,
    /// Global bias.
    pub w0: f64,
    /// Linear weights, one per feature.
    pub w: Vec<f64>,
    /// Factors, `[features, k]` row-major.
    pub v: Vec<f64>,
    /// Noise precision.
    pub alpha: f64,
    /// Per group: the linear weights' prior mean and precision.
    pub mu_w: Vec<f64>,
    pub lam_w: Vec<f64>,
    /// Per group and factor (`[groups, k]`): the factors' prior means and precisions.
    pub mu_v: Vec<f64>,
    pub lam_v: Vec<f64>,
}

/// Per row of a block: the linear part plus the block's own pairwise interactions
/// (`a`), and its factor sums (`q`, `[rows, k]`). A rating's prediction is
/// `w0 + a_user + a_item + <q_user, q_item>`.
pub(crate) fn row_summaries(block: &Block, w: &[f64], v: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = block.rows();
    let mut a = vec![0f64; rows];
    let mut q = vec![0f64; rows * k];
    let mut sq = vec![0f64; k];
    for r in 0..rows {
        let qr = &mut q[r * k..(r + 1) * k];
        sq.iter_mut().for_each(|s| *s = 0.0);
        let mut lin = 0.0;
        for (j, x) in block.row(r) {
            lin += w[j] * x;
            let vj = &v[j * k..(j + 1) * k];
            for f in 0..k {
                qr[f] += vj[f] * x;
                sq[f] += vj[f] * vj[f] * x * x;
            }
        }
        let pair: f64 = (0..k).map(|f| qr[f] * qr[f] - sq[f]).sum::<f64>() * 0.5;
        a[r] = lin + pair;
    }
    (a, q)
}

/// A draw from N(mean, 1/precision), or the mean when `map` (ALS).
#[inline]
fn draw(rng: &mut Rng, map: bool, mean: f64, precision: f64) -> f64 {
    if map {
        mean
    } else {
        mean + rng.normal() / precision.sqrt()
    }
}

/// The passes over the ratings split them into chunks of at least this many, and at
/// most `MAX_CHUNKS` chunks; partial sums are added in chunk order, so the chunks, and
/// therefore the results, depend on the number of ratings only, never on the threads.
const CHUNK: usize = 1 << 14;
const MAX_CHUNKS: usize = 16;

fn chunk_len(n: usize) -> usize {
    CHUNK.max(n.div_ceil(MAX_CHUNKS)).max(1)
}

/// `f` of every chunk of `0..n`, on up to `threads` scoped threads (chunk `c` on thread
/// `c % threads`); the results in chunk order.
fn over_chunks<T: Send>(
    n: usize,
    threads: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let len = chunk_len(n);
    let ranges = (0..n.div_ceil(len))
        .map(|c| c * len..((c + 1) * len).min(n))
        .collect();
    map_ordered(ranges, threads, f)
}

/// [`over_chunks`] handing each chunk its slice of `xs` (and its first index) to change.
fn over_chunks_mut<T: Send>(
    xs: &mut [f64],
    threads: usize,
    f: impl Fn(usize, &mut [f64]) -> T + Sync,
) -> Vec<T> {
    let len = chunk_len(xs.len());
    let chunks = (xs.chunks_mut(len).enumerate())
        .map(|(c, x)| (c * len, x))
        .collect();
    map_ordered(chunks, threads, |(start, x)| f(start, x))
}

/// Most blocks a design has: users, items, time rows.
const MAX_BLOCKS: usize = 3;

/// Per-row sums over a block's ratings (see [`Sampler::row_sums`]).
struct RowSums {
    r1: Vec<f64>,
    r2: Vec<f64>,
    e0: Vec<f64>,
    e1: Vec<f64>,
}

impl RowSums {
    /// The sum of chunks' partial sums, added in chunk order.
    fn total(rows: usize, parts: Vec<RowSums>) -> RowSums {
        let mut parts = parts.into_iter();
        let mut total = parts.next().unwrap_or_else(|| RowSums::zeros(rows));
        for p in parts {
            for (a, b) in [
                (&mut total.r1, &p.r1),
                (&mut total.r2, &p.r2),
                (&mut total.e0, &p.e0),
                (&mut total.e1, &p.e1),
            ] {
                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
            }
        }
        total
    }

    fn zeros(rows: usize) -> Self {
        RowSums {
            r1: vec![0.0; rows],
            r2: vec![0.0; rows],
            e0: vec![0.0; rows],
            e1: vec![0.0; rows],
        }
    }

    #[inline]
    fn add(&mut self, r: usize, t: f64, e: f64) {
        self.r1[r] += t;
        self.r2[r] += t * t;
        self.e0[r] += e;
        self.e1[r] += t * e;
    }
}

/// A block's entries by feature (see [`Block::by_feature`]).
struct Columns {
    first: usize,
    ptr: Vec<u32>,
    rows: Vec<u32>,
    vals: Vec<f64>,
}

impl Columns {
    fn of(block: &Block) -> Self {
        let (ptr, rows, vals) = block.by_feature();
        Columns {
            first: block.first as usize,
            ptr,
            rows,
            vals,
        }
    }

    #[inline]
    fn col(&self, j: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let c = j - self.first;
        let (a, b) = (self.ptr[c] as usize, self.ptr[c + 1] as usize);
        self.rows[a..b]
            .iter()
            .zip(&self.vals[a..b])
            .map(|(&r, &x)| (r as usize, x))
    }

    fn features(&self) -> std::ops::Range<usize> {
        self.first..self.first + self.ptr.len() - 1
    }
}

/// The chain: the state, the residuals and the per-block scratch.
pub(crate) struct Sampler<'a> {
    design: &'a Design,
    group_of: Vec<u32>,
    /// The blocks: the user block, the item block and, with time features, the block
    /// of the ratings' time rows.
    blocks: Vec<&'a Block>,
    /// Per block, the row of each rating (its user, its item, itself).
    rows_of: Vec<&'a [u32]>,
    cols: Vec<Columns>,
    /// Per block, ratings per row.
    counts: Vec<Vec<f64>>,
    /// Residuals `y - y_hat` of the current state.
    e: Vec<f64>,
    /// The current state.
    pub s: State,
    rng: Rng,
    /// Keeps alpha and every mu and lambda at their values (tests of the conditional
    /// updates against closed-form posteriors).
    pub fixed_hyper: bool,
    /// Threads of the passes over the ratings (results do not depend on it).
    pub threads: usize,
    /// Alternating least squares (MAP with the hyper-parameters fixed): every "draw"
    /// takes its conditional posterior's mean, no noise.
    pub map: bool,
    /// The ordered-probit link: the residuals are those of the latent values (the
    /// targets), drawn with the cut points at the start of every sweep; the noise
    /// precision stays 1.
    pub probit: Option<Probit>,
    /// Tests: before every draw, compare the sums the draw uses with the same sums
    /// computed from whole predictions (`sum h^2` and `sum h e`, with `h` the change of
    /// every prediction when the parameter grows by one).
    #[cfg(test)]
    pub check_moments: bool,
    #[cfg(test)]
    y: Vec<f64>,
}

impl<'a> Sampler<'a> {
    /// A chain at `w0` = the mean rating, zero weights and factors ~ N(0, init_std),
    /// over `blocks` (each with the row of every rating in it), whose features together
    /// are the design's.
    pub fn new(
        design: &'a Design,
        blocks: Vec<(&'a Block, &'a [u32])>,
        values: &[f32],
        k: usize,
        init_std: f64,
        seed: u64,
    ) -> Self {
        assert!((2..=MAX_BLOCKS).contains(&blocks.len()), "2 or 3 blocks");
        let mut rng = Rng::seeded(seed);
        let nf = design.n_features();
        let groups = design.groups.len();
        let n = values.len().max(1) as f64;
        let mean = values.iter().map(|&y| y as f64).sum::<f64>() / n;
        let v: Vec<f64> = (0..nf * k).map(|_| rng.normal() * init_std).collect();
        let s = State {
            k,
            w0: mean,
            w: vec![0.0; nf],
            v,
            alpha: 1.0,
            mu_w: vec![0.0; groups],
            lam_w: vec![1.0; groups],
            mu_v: vec![0.0; groups * k],
            lam_v: vec![1.0; groups * k],
        };
        let counts = blocks
            .iter()
            .map(|(b, rows)| {
                let mut c = vec![0f64; b.rows()];
                for &r in rows.iter() {
                    c[r as usize] += 1.0;
                }
                c
            })
            .collect();
        let mut sampler = Sampler {
            design,
            group_of: design.group_of(),
            cols: blocks.iter().map(|(b, _)| Columns::of(b)).collect(),
            blocks: blocks.iter().map(|(b, _)| *b).collect(),
            rows_of: blocks.iter().map(|(_, r)| *r).collect(),
            counts,
            e: values.iter().map(|&y| y as f64).collect(),
            s,
            rng,
            fixed_hyper: false,
            threads: 1,
            map: false,
            probit: None,
            #[cfg(test)]
            check_moments: false,
            #[cfg(test)]
            y: values.iter().map(|&y| y as f64).collect(),
        };
        let predicted = sampler.predict_training();
        for (e, p) in sampler.e.iter_mut().zip(predicted) {
            *e -= p;
        }
        sampler
    }

    /// The current state's prediction of every training rating.
    fn predict_training(&self) -> Vec<f64> {
        self.predict_with(&self.s)
    }

    /// A state's prediction of every training rating: `w0`, every block's row terms,
    /// and the dot products of the blocks' factor sums two by two.
    fn predict_with(&self, s: &State) -> Vec<f64> {
        let k = s.k;
        let sums: Vec<(Vec<f64>, Vec<f64>)> = (self.blocks.iter())
            .map(|b| row_summaries(b, &s.w, &s.v, k))
            .collect();
        (0..self.e.len())
            .map(|i| {
                let rows: Vec<usize> = self.rows_of.iter().map(|r| r[i] as usize).collect();
                let mut y = s.w0;
                for (b, (a, q)) in sums.iter().enumerate() {
                    y += a[rows[b]];
                    for (c, (_, q2)) in sums.iter().enumerate().skip(b + 1) {
                        let (x, z) = (&q[rows[b] * k..][..k], &q2[rows[c] * k..][..k]);
                        y += x.iter().zip(z).map(|(x, z)| x * z).sum::<f64>();
                    }
                }
                y
            })
            .collect()
    }

    /// The chain as alternating least squares: no draws, the noise precision 1, every
    /// group's prior mean 0 and precision `l2` (the L2 penalty of the squared error).
    pub fn use_als(&mut self, l2: f64) {
        self.map = true;
        self.fixed_hyper = true;
        self.s.alpha = 1.0;
        self.s.mu_w.iter_mut().for_each(|m| *m = 0.0);
        self.s.mu_v.iter_mut().for_each(|m| *m = 0.0);
        self.s.lam_w.iter_mut().for_each(|l| *l = l2);
        self.s.lam_v.iter_mut().for_each(|l| *l = l2);
    }

    /// The ALS objective: squared error plus `l2` times the squared weights and factors.
    #[cfg(test)]
    pub fn als_objective(&self, l2: f64) -> f64 {
        let sse: f64 = self.e.iter().map(|e| e * e).sum();
        let norm: f64 = self.s.w.iter().chain(&self.s.v).map(|x| x * x).sum();
        sse + l2 * norm
    }

    /// The training RMSE of the current state (under the ordered-probit link, of its
    /// expected ratings).
    pub fn train_rmse(&self) -> f64 {
        let n = self.e.len().max(1) as f64;
        if let Some(p) = &self.probit {
            let cuts: Vec<f32> = p.cuts.iter().map(|&c| c as f32).collect();
            let sse: f64 = (p.z.iter().zip(&self.e).enumerate())
                .map(|(i, (z, e))| {
                    let y = p.levels[p.level(i)];
                    let f = super::probit::expected_level(&p.levels, &cuts, (z - e) as f32);
                    (f as f64 - y as f64).powi(2)
                })
                .sum();
            return (sse / n).sqrt();
        }
        (self.e.iter().map(|e| e * e).sum::<f64>() / n).sqrt()
    }

    /// The chain under the ordered-probit link (`probit` made for the same ratings,
    /// whose latent values the chain was started on): unit noise precision.
    pub fn use_probit(&mut self, probit: Probit) {
        self.s.alpha = 1.0;
        self.probit = Some(probit);
    }

    /// One sweep over every parameter.
    pub fn sweep(&mut self) {
        if let Some(p) = self.probit.as_mut() {
            // The outputs f = z - e; the cut points given f, then the latent values.
            let f: Vec<f64> = p.z.iter().zip(&self.e).map(|(z, e)| z - e).collect();
            if !self.map {
                p.draw_cuts(&mut self.rng, &f);
                p.draw_latent(&mut self.rng, &f);
            }
            for ((e, z), f) in self.e.iter_mut().zip(&p.z).zip(&f) {
                *e = z - f;
            }
        } else if !self.fixed_hyper {
            self.draw_alpha();
        }
        self.draw_w0();
        if !self.fixed_hyper {
            self.draw_hyper(None);
        }
        let nb = self.blocks.len();
        for b in 0..nb {
            self.draw_linear(b);
        }
        let k = self.s.k;
        for f in 0..k {
            if !self.fixed_hyper {
                self.draw_hyper(Some(f));
            }
            let mut q: Vec<Vec<f64>> = (0..nb).map(|b| self.factor_sums(b, f)).collect();
            self.draw_factors(f, &mut q);
        }
    }

    fn draw_alpha(&mut self) {
        let n = self.e.len() as f64;
        let sse: f64 = self.e.iter().map(|e| e * e).sum();
        self.s.alpha = gamma(&mut self.rng, (ALPHA_0 + n) / 2.0, (BETA_0 + sse) / 2.0);
    }

    fn draw_w0(&mut self) {
        let n = self.e.len() as f64;
        let sum: f64 = self.e.iter().sum();
        let prec = self.s.alpha * n;
        let mean = self.s.w0 + sum / n;
        let new = draw(&mut self.rng, self.map, mean, prec);
        let d = new - self.s.w0;
        self.s.w0 = new;
        self.e.iter_mut().for_each(|e| *e -= d);
    }

    /// Each group's mean and precision of the linear weights (`None`) or of factor `f`.
    fn draw_hyper(&mut self, factor: Option<usize>) {
        let k = self.s.k;
        for (g, group) in self.design.groups.iter().enumerate() {
            let range = group.first as usize..(group.first + group.len) as usize;
            let (theta, slot): (Vec<f64>, usize) = match factor {
                None => (self.s.w[range].to_vec(), g),
                Some(f) => (range.map(|j| self.s.v[j * k + f]).collect(), g * k + f),
            };
            let (mu, lam) = match factor {
                None => (&mut self.s.mu_w[slot], &mut self.s.lam_w[slot]),
                Some(_) => (&mut self.s.mu_v[slot], &mut self.s.lam_v[slot]),
            };
            let n = theta.len() as f64;
            let sum: f64 = theta.iter().sum();
            *mu = (sum + GAMMA_0 * MU_0) / (n + GAMMA_0)
                + self.rng.normal() / ((n + GAMMA_0) * *lam).sqrt();
            let ss: f64 = theta.iter().map(|t| (t - *mu).powi(2)).sum();
            let shape = (ALPHA_L + n + 1.0) / 2.0;
            let rate = (BETA_L + ss + GAMMA_0 * (*mu - MU_0).powi(2)) / 2.0;
            *lam = gamma(&mut self.rng, shape, rate);
        }
    }

    /// Every linear weight of block `b`.
    fn draw_linear(&mut self, b: usize) {
        let rows_of = self.rows_of[b];
        let n = &self.counts[b];
        let mut e0 = vec![0f64; n.len()];
        for (&r, &e) in rows_of.iter().zip(&self.e) {
            e0[r as usize] += e;
        }
        let mut dlin = vec![0f64; n.len()];
        let cols = &self.cols[b];
        for j in cols.features() {
            let g = self.group_of[j] as usize;
            let (mut s2, mut s1) = (0.0, 0.0);
            for (r, x) in cols.col(j) {
                s2 += x * x * n[r];
                s1 += x * e0[r];
            }
            #[cfg(test)]
            if self.check_moments {
                self.assert_moments(j, None, s2, s1);
            }
            let (lam, mu, alpha) = (self.s.lam_w[g], self.s.mu_w[g], self.s.alpha);
            let prec = alpha * s2 + lam;
            let mean = (alpha * (s1 + self.s.w[j] * s2) + lam * mu) / prec;
            let new = draw(&mut self.rng, self.map, mean, prec);
            let d = new - self.s.w[j];
            self.s.w[j] = new;
            for (r, x) in cols.col(j) {
                e0[r] -= d * x * n[r];
                dlin[r] += d * x;
            }
        }
        for (e, &r) in self.e.iter_mut().zip(rows_of) {
            *e -= dlin[r as usize];
        }
    }

    /// Block `b`'s sums of factor `f` per row.
    fn factor_sums(&self, b: usize, f: usize) -> Vec<f64> {
        let block = self.blocks[b];
        let k = self.s.k;
        (0..block.rows())
            .map(|r| block.row(r).map(|(j, x)| self.s.v[j * k + f] * x).sum())
            .collect()
    }

    /// Per row of block `b`: `R1 = sum t`, `R2 = sum t^2`, `E0 = sum e`, `E1 = sum t e`
    /// over its ratings, `t` being the other blocks' factor sums (`q`) of the rating.
    fn row_sums(&self, b: usize, q: &[Vec<f64>]) -> RowSums {
        let rows = self.counts[b].len();
        let parts = over_chunks(self.e.len(), self.threads, |range| {
            let mut sums = RowSums::zeros(rows);
            let mut g = [0f64; MAX_BLOCKS];
            for i in range {
                let t = self.gather(q, i, &mut g, b);
                sums.add(self.rows_of[b][i] as usize, t, self.e[i]);
            }
            sums
        });
        RowSums::total(rows, parts)
    }

    /// Rating `i`'s factor sums of every block into `g`; returns the sum of those of the
    /// blocks other than `skip`.
    #[inline]
    fn gather(&self, q: &[Vec<f64>], i: usize, g: &mut [f64; MAX_BLOCKS], skip: usize) -> f64 {
        let mut t = 0.0;
        for (o, (qo, rows)) in q.iter().zip(&self.rows_of).enumerate() {
            g[o] = qo[rows[i] as usize];
            if o != skip {
                t += g[o];
            }
        }
        t
    }

    /// Every factor `f`, block by block; `q` holds every block's sums of factor `f` and
    /// is kept up to date. The pass over the ratings that brings the residuals up to
    /// date after a block also gathers the next block's row sums.
    fn draw_factors(&mut self, f: usize, q: &mut [Vec<f64>]) {
        let nb = self.blocks.len();
        let mut sums = self.row_sums(0, q);
        for b in 0..nb {
            let (dq, dphi) = self.draw_block_factor(b, f, &mut q[b], &mut sums);
            let next = b + 1 < nb;
            let next_rows = if next { self.counts[b + 1].len() } else { 0 };
            let mut e = std::mem::take(&mut self.e);
            let this = &*self;
            let q = &*q;
            let parts = over_chunks_mut(&mut e, self.threads, |start, chunk| {
                let mut acc = RowSums::zeros(next_rows);
                let mut g = [0f64; MAX_BLOCKS];
                for (o, slot) in chunk.iter_mut().enumerate() {
                    let i = start + o;
                    let t = this.gather(q, i, &mut g, b);
                    let r = this.rows_of[b][i] as usize;
                    *slot -= dphi[r] + dq[r] * t;
                    if next {
                        let t_next: f64 = (0..nb).filter(|&o| o != b + 1).map(|o| g[o]).sum();
                        acc.add(this.rows_of[b + 1][i] as usize, t_next, *slot);
                    }
                }
                acc
            });
            self.e = e;
            let acc = RowSums::total(next_rows, parts);
            sums = acc;
        }
    }

    /// Every factor `f` of block `b`, from its row sums (kept up to date); returns the
    /// change of each row's factor sum and of its own pairwise terms.
    fn draw_block_factor(
        &mut self,
        b: usize,
        f: usize,
        qb: &mut [f64],
        sums: &mut RowSums,
    ) -> (Vec<f64>, Vec<f64>) {
        let k = self.s.k;
        let n = &self.counts[b];
        let rows = n.len();
        let RowSums { r1, r2, e0, e1 } = sums;
        let mut dq = vec![0f64; rows];
        let mut dphi = vec![0f64; rows];
        let cols = &self.cols[b];
        let alpha = self.s.alpha;
        for j in cols.features() {
            let g = self.group_of[j] as usize;
            let v = self.s.v[j * k + f];
            let (mut s2, mut s1) = (0.0, 0.0);
            for (r, x) in cols.col(j) {
                let a = qb[r] - v * x;
                s2 += x * x * (n[r] * a * a + 2.0 * a * r1[r] + r2[r]);
                s1 += x * (a * e0[r] + e1[r]);
            }
            #[cfg(test)]
            if self.check_moments {
                self.assert_moments(j, Some(f), s2, s1);
            }
            let (lam, mu) = (self.s.lam_v[g * k + f], self.s.mu_v[g * k + f]);
            let prec = alpha * s2 + lam;
            let mean = (alpha * (s1 + v * s2) + lam * mu) / prec;
            let new = draw(&mut self.rng, self.map, mean, prec);
            let d = new - v;
            self.s.v[j * k + f] = new;
            for (r, x) in cols.col(j) {
                let a = qb[r] - v * x;
                let dx = d * x;
                e0[r] -= dx * (n[r] * a + r1[r]);
                e1[r] -= dx * (a * r1[r] + r2[r]);
                dphi[r] += dx * a;
                qb[r] += dx;
                dq[r] += dx;
            }
        }
        (dq, dphi)
    }

    /// `sum h^2` and `sum h e` of parameter `w_j` (`None`) or `v_jf` from whole
    /// predictions of the current state.
    #[cfg(test)]
    fn brute_moments(&self, j: usize, f: Option<usize>) -> (f64, f64) {
        let base = self.predict_with(&self.s);
        let mut up = self.s.clone();
        match f {
            None => up.w[j] += 1.0,
            Some(f) => up.v[j * self.s.k + f] += 1.0,
        }
        let moved = self.predict_with(&up);
        let (mut s2, mut s1) = (0.0, 0.0);
        for ((b, m), y) in base.iter().zip(&moved).zip(&self.y) {
            let h = m - b;
            s2 += h * h;
            s1 += h * (y - b);
        }
        (s2, s1)
    }

    /// Asserts that a draw's sums match [`Sampler::brute_moments`].
    #[cfg(test)]
    fn assert_moments(&self, j: usize, f: Option<usize>, s2: f64, s1: f64) {
        let (b2, b1) = self.brute_moments(j, f);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * (1.0 + b.abs());
        assert!(
            close(s2, b2),
            "feature {j} factor {f:?}: sum h^2 {s2} vs {b2}"
        );
        assert!(
            close(s1, b1),
            "feature {j} factor {f:?}: sum h e {s1} vs {b1}"
        );
    }

    /// The residuals recomputed from the state minus the ones carried along: their
    /// largest difference (tests: the incremental updates are exact).
    #[cfg(test)]
    pub fn residual_drift(&self, values: &[f32]) -> f64 {
        let p = self.predict_training();
        (self.e.iter().zip(&p).zip(values))
            .map(|((e, p), &y)| (y as f64 - p - e).abs())
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::super::design::{Block, Design, Group};
    use super::*;

    /// A block over features `first..` from per-row lists of (feature offset, value).
    fn block(first: u32, features: u32, rows: &[Vec<(u32, f32)>]) -> Block {
        let mut b = Block {
            row_ptr: vec![0],
            feat: Vec::new(),
            val: Vec::new(),
            first,
            end: first + features,
        };
        for row in rows {
            for &(j, x) in row {
                b.feat.push(first + j);
                b.val.push(x);
            }
            b.row_ptr.push(b.feat.len() as u32);
        }
        b
    }

    /// 6 users (one-hot + a two-level side group, one user with both levels at 0.5) and
    /// 5 items (one-hot + a "raters"-like group over 3 levels at 1/sqrt(n)); 24 ratings.
    fn small() -> (Design, Vec<u32>, Vec<u32>, Vec<f32>) {
        let users: Vec<Vec<(u32, f32)>> = (0..6u32)
            .map(|u| match u {
                0 => vec![(0, 1.0), (6, 0.5), (7, 0.5)],
                u => vec![(u, 1.0), (6 + u % 2, 1.0)],
            })
            .collect();
        let items: Vec<Vec<(u32, f32)>> = (0..5u32)
            .map(|i| {
                let levels: Vec<u32> = (0..3).filter(|l| (i + l) % 2 == 0).collect();
                let w = 1.0 / (levels.len() as f32).sqrt();
                let mut row = vec![(i, 1.0)];
                row.extend(levels.iter().map(|&l| (5 + l, w)));
                row
            })
            .collect();
        let design = Design {
            user: block(0, 8, &users),
            item: block(8, 8, &items),
            groups: vec![
                Group {
                    name: "user".into(),
                    first: 0,
                    len: 6,
                },
                Group {
                    name: "side".into(),
                    first: 6,
                    len: 2,
                },
                Group {
                    name: "item".into(),
                    first: 8,
                    len: 5,
                },
                Group {
                    name: "raters".into(),
                    first: 13,
                    len: 3,
                },
            ],
            clock: None,
        };
        let mut rng = Rng::seeded(3);
        let (mut us, mut is, mut ys) = (Vec::new(), Vec::new(), Vec::new());
        for n in 0..24u32 {
            us.push(n % 6);
            is.push((n * 7 + n / 6) % 5);
            ys.push((3.0 + rng.normal()).clamp(1.0, 5.0) as f32);
        }
        (design, us, is, ys)
    }

    /// Every draw's sums (linear and factor, both blocks, with multi-valued and weighted
    /// rows) equal the sums from whole predictions, and the residuals carried along stay
    /// those of the state.
    #[test]
    fn draws_use_exact_sums_and_residuals_stay_exact() {
        let (design, us, is, ys) = small();
        // A third block of per-rating rows (as the time features are).
        let mut design = design;
        design.groups.push(Group {
            name: "day".into(),
            first: 16,
            len: 4,
        });
        let per: Vec<Vec<(u32, f32)>> = (0..ys.len() as u32)
            .map(|n| vec![(n % 2, 1.0), (2 + (n / 3) % 2, 0.5)])
            .collect();
        let time = block(16, 4, &per);
        let own: Vec<u32> = (0..ys.len() as u32).collect();
        let blocks = vec![
            (&design.user, &us[..]),
            (&design.item, &is[..]),
            (&time, &own[..]),
        ];
        let mut chain = Sampler::new(&design, blocks, &ys, 3, 0.3, 5);
        chain.check_moments = true;
        for _ in 0..5 {
            chain.sweep();
            assert!(
                chain.residual_drift(&ys) < 1e-9,
                "{}",
                chain.residual_drift(&ys)
            );
        }
        assert!(chain.s.alpha > 0.0 && chain.s.lam_v.iter().all(|&l| l > 0.0));
    }

    /// Under ALS every update minimises the objective in its parameter: the objective
    /// never increases, sweep after sweep.
    #[test]
    fn als_sweeps_never_increase_the_objective() {
        let (design, us, is, ys) = small();
        let blocks = vec![(&design.user, &us[..]), (&design.item, &is[..])];
        let mut chain = Sampler::new(&design, blocks, &ys, 3, 0.3, 5);
        chain.use_als(0.5);
        let mut last = chain.als_objective(0.5);
        for _ in 0..20 {
            chain.sweep();
            let now = chain.als_objective(0.5);
            assert!(now <= last + 1e-9, "{now} after {last}");
            last = now;
        }
        assert!(chain.residual_drift(&ys) < 1e-9);
    }

    /// Gamma draws: mean shape/rate, variance shape/rate^2 (shapes below and above 1).
    #[test]
    fn gamma_draws_have_the_right_moments() {
        let mut rng = Rng::seeded(11);
        for (shape, rate) in [(0.5, 2.0), (1.0, 1.0), (7.5, 0.25), (400.0, 30.0)] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| gamma(&mut rng, shape, rate)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let (m, v) = (shape / rate, shape / (rate * rate));
            // Monte-Carlo error of the mean: sqrt(v / n); of the variance: a few % here.
            assert!(
                (mean - m).abs() < 5.0 * (v / n as f64).sqrt(),
                "{shape},{rate}: {mean} vs {m}"
            );
            assert!(
                (var / v - 1.0).abs() < 0.05,
                "{shape},{rate}: var {var} vs {v}"
            );
        }
    }

    /// Bayesian linear regression, the factor part off (K = 0) and the hyper-parameters
    /// fixed: the posterior of (w0, w) is normal with precision `alpha X'X + Lambda`
    /// (w0: flat prior) and mean `precision^-1 (alpha X'y + Lambda mu)`. The chain's
    /// sample means and variances match it within Monte-Carlo error.
    #[test]
    fn sampled_posterior_matches_bayesian_linear_regression() {
        let (design, us, is, ys) = small();
        let blocks = vec![(&design.user, &us[..]), (&design.item, &is[..])];
        let mut chain = Sampler::new(&design, blocks, &ys, 0, 0.0, 9);
        chain.fixed_hyper = true;
        let (alpha, lam, mu) = (2.0, [1.5, 4.0, 0.8, 2.5], [0.0, 0.3, -0.2, 0.1]);
        chain.s.alpha = alpha;
        chain.s.lam_w.copy_from_slice(&lam);
        chain.s.mu_w.copy_from_slice(&mu);
        // The design matrix with the intercept as column 0.
        let nf = design.n_features();
        let p = nf + 1;
        let mut x = vec![vec![0f64; p]; ys.len()];
        for (n, row) in x.iter_mut().enumerate() {
            row[0] = 1.0;
            for (j, v) in design
                .user
                .row(us[n] as usize)
                .chain(design.item.row(is[n] as usize))
            {
                row[j + 1] += v;
            }
        }
        let group_of = design.group_of();
        let mut a = vec![vec![0f64; p]; p];
        let mut b = vec![0f64; p];
        for (row, &y) in x.iter().zip(&ys) {
            for r in 0..p {
                b[r] += alpha * row[r] * y as f64;
                for c in 0..p {
                    a[r][c] += alpha * row[r] * row[c];
                }
            }
        }
        for j in 0..nf {
            let g = group_of[j] as usize;
            a[j + 1][j + 1] += lam[g];
            b[j + 1] += lam[g] * mu[g];
        }
        let cov = invert(a);
        let mean: Vec<f64> = (0..p)
            .map(|r| (0..p).map(|c| cov[r][c] * b[c]).sum())
            .collect();

        let (burn, n) = (2_000, 60_000);
        let (mut sum, mut sq) = (vec![0f64; p], vec![0f64; p]);
        for t in 0..burn + n {
            chain.sweep();
            if t >= burn {
                let theta = std::iter::once(chain.s.w0).chain(chain.s.w.iter().copied());
                for (k, th) in theta.enumerate() {
                    sum[k] += th;
                    sq[k] += th * th;
                }
            }
        }
        for k in 0..p {
            let m = sum[k] / n as f64;
            let var = sq[k] / n as f64 - m * m;
            let sd = cov[k][k].sqrt();
            // Gibbs draws are autocorrelated: allow an effective sample size of n / 50.
            let se = sd / (n as f64 / 50.0).sqrt();
            assert!(
                (m - mean[k]).abs() < 4.0 * se,
                "param {k}: mean {m} vs {}",
                mean[k]
            );
            assert!(
                (var / cov[k][k] - 1.0).abs() < 0.1,
                "param {k}: var {var} vs {}",
                cov[k][k]
            );
        }
    }

    /// Ordinal data from a known model — `z = w0 + w_user + w_item + N(0, 1)`, the level
    /// by known cut points — sampled under the ordered-probit link with the factors off:
    /// the posterior means recover the cut points, `w0` and the weights, and the chain
    /// keeps unit noise precision.
    #[test]
    fn the_probit_sampler_recovers_known_cut_points_and_weights() {
        use super::super::probit::{Probit, levels_of};
        let (users, items) = (40u32, 40u32);
        let one_hot = |n: u32| (0..n).map(|r| vec![(r, 1.0)]).collect::<Vec<_>>();
        let design = Design {
            user: block(0, users, &one_hot(users)),
            item: block(users, items, &one_hot(items)),
            groups: vec![
                Group {
                    name: "user".into(),
                    first: 0,
                    len: users,
                },
                Group {
                    name: "item".into(),
                    first: users,
                    len: items,
                },
            ],
            clock: None,
        };
        let mut rng = Rng::seeded(21);
        let w0 = 1.4;
        let cuts = [0.0, 0.7, 1.9, 2.8];
        let w: Vec<f64> = (0..users + items).map(|_| 0.8 * rng.normal()).collect();
        let (mut us, mut is, mut ys) = (Vec::new(), Vec::new(), Vec::new());
        for u in 0..users {
            for i in 0..items {
                let z = w0 + w[u as usize] + w[(users + i) as usize] + rng.normal();
                us.push(u);
                is.push(i);
                ys.push(1.0 + cuts.iter().filter(|&&c| z > c).count() as f32);
            }
        }
        let (probit, _) = Probit::new(levels_of(&ys).unwrap(), &ys);
        let latent: Vec<f32> = probit.z.iter().map(|&z| z as f32).collect();
        let blocks = vec![(&design.user, &us[..]), (&design.item, &is[..])];
        let mut chain = Sampler::new(&design, blocks, &latent, 0, 0.0, 4);
        chain.use_probit(probit);
        let (burn, n) = (200, 1_000);
        let (mut c_sum, mut w0_sum) = ([0f64; 4], 0.0);
        let mut w_sum = vec![0f64; w.len()];
        for t in 0..burn + n {
            chain.sweep();
            assert_eq!(chain.s.alpha, 1.0);
            if t >= burn {
                let p = chain.probit.as_ref().unwrap();
                for (s, c) in c_sum.iter_mut().zip(&p.cuts) {
                    *s += c;
                }
                w0_sum += chain.s.w0;
                for (s, x) in w_sum.iter_mut().zip(&chain.s.w) {
                    *s += x;
                }
            }
        }
        let p = chain.probit.as_ref().unwrap();
        assert!(
            p.accepted * 2 > p.proposed,
            "{} of {}",
            p.accepted,
            p.proposed
        );
        // Everything up to the group means, which w0 absorbs: compare centred weights.
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        let est: Vec<f64> = w_sum.iter().map(|s| s / n as f64).collect();
        let (eu, ei) = (mean(&est[..40]), mean(&est[40..]));
        let (tu, ti) = (mean(&w[..40]), mean(&w[40..]));
        let w0_est = w0_sum / n as f64 + eu + ei;
        assert!((w0_est - (w0 + tu + ti)).abs() < 0.15, "w0 {w0_est}");
        for (k, t) in cuts.iter().enumerate() {
            let c = c_sum[k] / n as f64;
            assert!((c - t).abs() < 0.1, "cut {k}: {c} vs {t}");
        }
        let err: f64 = (0..w.len())
            .map(|j| {
                let (e, t) = if j < 40 { (eu, tu) } else { (ei, ti) };
                ((est[j] - e) - (w[j] - t)).powi(2)
            })
            .sum::<f64>()
            / w.len() as f64;
        // 40 ratings a weight: a posterior sd of about 0.2.
        assert!(err.sqrt() < 0.25, "weights' RMSE {}", err.sqrt());
    }

    /// Gauss-Jordan inverse of a symmetric positive definite matrix.
    fn invert(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        let n = a.len();
        let mut inv: Vec<Vec<f64>> = (0..n)
            .map(|r| (0..n).map(|c| (r == c) as u8 as f64).collect())
            .collect();
        for c in 0..n {
            let piv = a[c][c];
            for k in 0..n {
                a[c][k] /= piv;
                inv[c][k] /= piv;
            }
            for r in 0..n {
                if r != c {
                    let f = a[r][c];
                    for k in 0..n {
                        a[r][k] -= f * a[c][k];
                        inv[r][k] -= f * inv[c][k];
                    }
                }
            }
        }
        inv
    }
}
