//! Sampling helpers of the generator: years, group sizes, the alias table of item
//! popularity, each user's items, the expected star of a latent rating.

use super::*;

/// A release year shaped like MovieLens 100K's: mostly 1993-1998, a tail back to 1922.
pub(super) fn sample_year(rng: &mut Rng) -> u32 {
    const RECENT: [f64; 6] = [126., 214., 219., 355., 286., 65.];
    if rng.uniform() < 0.78 {
        let mut x = rng.uniform() * RECENT.iter().sum::<f64>();
        for (k, w) in RECENT.iter().enumerate() {
            x -= w;
            if x < 0.0 {
                return 1993 + k as u32;
            }
        }
        1998
    } else {
        // Denser towards 1992.
        1992 - (70.0 * rng.uniform().powf(1.6)) as u32
    }
}

pub(super) fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Splits `total` into per-entity counts: at least `floor` each (when possible),
/// proportional to `weights` beyond that, at most `cap` each. Needs
/// `total <= weights.len() * cap`.
pub(super) fn allocate(total: usize, weights: &[f64], floor: usize, cap: usize) -> Vec<usize> {
    let n = weights.len();
    let base = floor.min(cap);
    let mut counts = vec![base; n];
    let mut remaining = total - base * n;
    for _ in 0..64 {
        if remaining == 0 {
            break;
        }
        let w_active: f64 = (0..n)
            .filter(|&u| counts[u] < cap)
            .map(|u| weights[u])
            .sum();
        let mut given = 0;
        for u in 0..n {
            if counts[u] < cap {
                let share = (remaining as f64 * weights[u] / w_active).floor() as usize;
                let add = share.min(cap - counts[u]);
                counts[u] += add;
                given += add;
            }
        }
        remaining -= given;
        if given == 0 {
            break;
        }
    }
    if remaining > 0 {
        // Hand out the rest one by one, heaviest first.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
        while remaining > 0 {
            for &u in &order {
                if remaining == 0 {
                    break;
                }
                if counts[u] < cap {
                    counts[u] += 1;
                    remaining -= 1;
                }
            }
        }
    }
    counts
}

/// Walker/Vose alias table: O(1) draws from a discrete distribution.
pub(super) struct Alias {
    pub(super) prob: Vec<f64>,
    pub(super) alias: Vec<u32>,
}

impl Alias {
    pub(super) fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| prob[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            alias[s] = l as u32;
            prob[l] -= 1.0 - prob[s];
            if prob[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        for i in small.into_iter().chain(large) {
            prob[i] = 1.0;
        }
        Alias { prob, alias }
    }

    pub(super) fn sample(&self, rng: &mut Rng) -> u32 {
        let i = rng.below(self.prob.len());
        if rng.uniform() < self.prob[i] {
            i as u32
        } else {
            self.alias[i]
        }
    }
}

/// Appends `c` distinct items drawn by `weights` without replacement (successive
/// sampling) to `out`. `stamp[i] == tag` marks items already taken by this user.
/// Rejection sampling first; when it stalls (a heavy user), the rest is drawn by
/// Efraimidis-Spirakis keys over the untaken items, which has the same distribution.
#[allow(clippy::too_many_arguments)]
pub(super) fn sample_items(
    c: usize,
    alias: &Alias,
    weights: &[f64],
    stamp: &mut [u32],
    tag: u32,
    rng: &mut Rng,
    out: &mut Vec<u32>,
    scratch: &mut Vec<(f64, u32)>,
) {
    let n = weights.len();
    let mut taken = 0;
    let mut budget = 4 * c + 64;
    if c * 2 <= n {
        while taken < c && budget > 0 {
            budget -= 1;
            let i = alias.sample(rng);
            if stamp[i as usize] != tag {
                stamp[i as usize] = tag;
                out.push(i);
                taken += 1;
            }
        }
    }
    if taken < c {
        let need = c - taken;
        scratch.clear();
        for i in 0..n {
            if stamp[i] != tag {
                // Larger key = drawn earlier: ln(U) / w.
                let key = (1.0 - rng.uniform()).ln() / weights[i];
                scratch.push((key, i as u32));
            }
        }
        let by_key_desc = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if need < scratch.len() {
            scratch.select_nth_unstable_by(need - 1, by_key_desc);
            scratch.truncate(need);
        }
        scratch.sort_unstable_by(by_key_desc);
        for &(_, i) in scratch.iter() {
            stamp[i as usize] = tag;
            out.push(i);
        }
    }
}

/// Gives every item at least one rating by moving ratings of items that have several
/// (the pair stays distinct: the receiving item had no rating at all).
pub(super) fn cover_all_items(items: &mut [u32], n_items: usize, rng: &mut Rng) {
    let mut count = vec![0u32; n_items];
    for &i in items.iter() {
        count[i as usize] += 1;
    }
    let n = items.len();
    for missing in 0..n_items {
        if count[missing] != 0 {
            continue;
        }
        let mut pos = None;
        for _ in 0..64 {
            let k = rng.below(n);
            if count[items[k] as usize] >= 2 {
                pos = Some(k);
                break;
            }
        }
        let k = pos.unwrap_or_else(|| {
            let s = rng.below(n);
            (0..n)
                .map(|d| (s + d) % n)
                .find(|&k| count[items[k] as usize] >= 2)
                .expect("ratings >= items leaves an item with two ratings")
        });
        count[items[k] as usize] -= 1;
        items[k] = missing as u32;
        count[missing] = 1;
    }
}

/// E[clamp(round(m + e), 1, 5)] for e ~ N(0, sd^2): 1 + sum over k of P(m + e >= k + 0.5).
pub(super) fn expected_star(m: f64, sd: f64) -> f64 {
    if sd == 0.0 {
        return m.round().clamp(1.0, 5.0);
    }
    1.0 + (1..=4)
        .map(|k| normal_cdf((m - k as f64 - 0.5) / sd))
        .sum::<f64>()
}

/// Standard normal CDF via erfc (Numerical Recipes `erfcc`, relative error < 1.2e-7).
pub(super) fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

pub(super) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}
