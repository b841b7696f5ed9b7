//! Synthetic MovieLens-shaped data from a seed (the embedded default dataset).
//!
//! [`generate`] draws a data set from a known generating model, so that every model's
//! error can be compared with the best achievable one ([`Synthetic::noise_floor_rmse`]).
//!
//! # The generating model
//!
//! * **Who rates what.** Item popularity is Zipf-like (weight `(rank + 10)^-1.1` over a
//!   random ranking of the items), user activity is log-normal on top of a floor of 20
//!   ratings per user (as in MovieLens, when `ratings >= 20 * users`). Each user's items
//!   are drawn by popularity without replacement, so every (user, item) pair is distinct.
//!   When `ratings >= items` every item gets at least one rating.
//! * **What they think of it.** The continuous rating of user `u` for item `i` is
//!   `m = mu + b_u + b_i + p_u . q_i` with `p_u`, `q_i` of length `rank`; the stored
//!   rating is `clamp(round(m + e), 1, 5)` with `e ~ N(0, noise^2)`. On another
//!   [`SynthParams::scale`] `a..b`, `m + e` is first mapped linearly from 1..5 onto
//!   `ceil(a)..b`, then rounded to whole stars, or to half stars (0.5 steps) when `a` or
//!   `b` is a half, and clamped to `a..b`: `--scale 0.5:5` gives MovieLens's half-star
//!   scale (no stretch: the same model rounded to halves, mean rating near 3.5 as
//!   MovieLens latest's 3.50).
//! * **Side variables carry signal.** Each occupation has its own mean taste vector and a
//!   small bias: `p_u = occupation mean + individual part`. Each of the 19 MovieLens
//!   genres has a taste vector and a small bias: `q_i = (sum of its genres' vectors) /
//!   sqrt(#genres) + individual part`. Older films and popular films get a higher item
//!   bias, older users a slightly higher user bias, as in MovieLens.
//! * **Time.** Each user arrives at a random moment of 212 days from 1997-09-20 (the span
//!   of MovieLens 100K) and rates in sessions from then on: timestamps increase within a
//!   user, so global temporal splits put late users' ratings into the test set.
//!
//! The ratings are grouped by user (in user order), each user's ratings in time order.
//! Generation needs memory for the ratings themselves plus `O((users + items) * rank)`
//! (no users x items structure), and time linear in the number of ratings.

use super::features::{AGE_BINS, age_group};
use super::{Dataset, Features, IdMap, RatingScale, Ratings, SideTable, Variable};
use crate::error::{Error, Result};
use crate::rng::Rng;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

mod sample;
mod write;
use sample::*;
pub use write::*;

/// Parameters of [`generate`].
///
/// | name | default | meaning | valid range |
/// |------|---------|---------|-------------|
/// | `users` | 943 | number of users (raw ids `"1"..="users"`) | 1 ..= 2^32 - 2 |
/// | `items` | 1682 | number of items (raw ids `"1"..="items"`) | 1 ..= 2^32 - 2 |
/// | `ratings` | 100 000 | exact number of distinct (user, item) ratings | 1 ..= `users * items` |
/// | `seed` | 42 | seed of every random draw | any |
/// | `rank` | 8 | length of the taste vectors `p_u`, `q_i` | 1 ..= 256 |
/// | `noise` | 0.7 | std of the Gaussian noise added before rounding to stars | 0 ..= 10 |
/// | `side_variables` | true | emit user (occupation, gender, age) and item (genres, year, titles) features | bool |
/// | `scale` | 1..5 | the rating scale; half stars (0.5 steps) when its min or max is a half | whole or half numbers, max ≥ ⌈min⌉ + 1 |
///
/// The defaults give the shape of MovieLens 100K: mean rating 3.53, rating std 1.07,
/// users with 20 to about 830 ratings (median 67), the top 10% of items holding 46% of
/// the ratings, and a noise floor RMSE of 0.706 (see [`Synthetic::noise_floor_rmse`]).
/// Generation takes about 20 ms in release builds (the MovieLens 1M shape about 0.2 s,
/// the 25M shape 162,541 x 59,047 x 25,000,095 about 5 s and 0.6 GB, of which 0.5 GB
/// is the [`Ratings`] itself); the mean rating stays near 3.53 at every size.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SynthParams {
    /// Number of users.
    pub users: usize,
    /// Number of items.
    pub items: usize,
    /// Number of ratings (exact).
    pub ratings: usize,
    /// Seed of all random draws.
    pub seed: u64,
    /// Rank of the taste model (length of the user and item taste vectors).
    pub rank: usize,
    /// Standard deviation of the Gaussian noise added before rounding.
    pub noise: f64,
    /// Whether to emit side variables and titles in [`Dataset::features`].
    pub side_variables: bool,
    /// The rating scale (see the table above).
    pub scale: RatingScale,
}

impl Default for SynthParams {
    fn default() -> Self {
        SynthParams {
            users: 943,
            items: 1682,
            ratings: 100_000,
            seed: 42,
            rank: 8,
            noise: 0.7,
            side_variables: true,
            scale: RatingScale::STARS_1_5,
        }
    }
}

impl SynthParams {
    /// Checks every value against the ranges of the table above
    /// ([`Error::Usage`] naming the bad parameter).
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Usage(format!("synthetic data: {m}")));
        let max_ids = u32::MAX as usize - 1;
        if self.users == 0 || self.users > max_ids {
            return bad(format!("users = {} must be in 1..={max_ids}", self.users));
        }
        if self.items == 0 || self.items > max_ids {
            return bad(format!("items = {} must be in 1..={max_ids}", self.items));
        }
        let cells = (self.users as u128) * (self.items as u128);
        if self.ratings == 0 || self.ratings as u128 > cells {
            return bad(format!(
                "ratings = {} must be in 1..=users*items = {cells}",
                self.ratings
            ));
        }
        if self.rank == 0 || self.rank > 256 {
            return bad(format!("rank = {} must be in 1..=256", self.rank));
        }
        if !(self.noise.is_finite() && (0.0..=10.0).contains(&self.noise)) {
            return bad(format!("noise = {} must be in 0..=10", self.noise));
        }
        let (a, b) = (self.scale.min, self.scale.max);
        let half = |x: f32| x.is_finite() && (2.0 * x).fract() == 0.0;
        if !(half(a) && half(b) && b - a.ceil() >= 1.0) {
            return bad(format!(
                "scale = {a}..{b} must be whole or half numbers with max >= ceil(min) + 1"
            ));
        }
        Ok(())
    }

    /// The step between ratings: 0.5 when the scale's min or max is a half, else 1.
    pub fn step(&self) -> f64 {
        if self.scale.min.fract() != 0.0 || self.scale.max.fract() != 0.0 {
            0.5
        } else {
            1.0
        }
    }
}

/// Maps the generating model's continuous ratings (on 1..5) onto a scale and its steps.
struct Stars {
    min: f64,
    max: f64,
    step: f64,
    /// `ceil(min)`, where 1 lands.
    low: f64,
    /// Stretch from 1..5 onto `low..max`.
    k: f64,
    /// 1..5 in whole stars: the original arithmetic, bit for bit.
    classic: bool,
}

impl Stars {
    fn of(p: &SynthParams) -> Stars {
        let (min, max, step) = (p.scale.min as f64, p.scale.max as f64, p.step());
        let low = min.ceil();
        Stars {
            min,
            max,
            step,
            low,
            k: (max - low) / 4.0,
            classic: min == 1.0 && max == 5.0 && step == 1.0,
        }
    }

    /// The stored rating of continuous rating `x` (model value plus noise, on 1..5).
    fn star(&self, x: f64) -> f64 {
        if self.classic {
            return x.round().clamp(1.0, 5.0);
        }
        let y = self.low + (x - 1.0) * self.k;
        ((y / self.step).round() * self.step).clamp(self.min, self.max)
    }

    /// E[star(m + e)] for e ~ N(0, sd^2): min + step x the sum over the thresholds
    /// between adjacent ratings of P(mapped value >= threshold).
    fn expected(&self, m: f64, sd: f64) -> f64 {
        if self.classic {
            return expected_star(m, sd);
        }
        let y = self.low + (m - 1.0) * self.k;
        if sd == 0.0 {
            return ((y / self.step).round() * self.step).clamp(self.min, self.max);
        }
        let levels = ((self.max - self.min) / self.step).round() as usize;
        self.min
            + self.step
                * (1..=levels)
                    .map(|j| {
                        let t = self.min + (j as f64 - 0.5) * self.step;
                        normal_cdf((y - t) / (sd * self.k))
                    })
                    .sum::<f64>()
    }
}

/// A generated data set and the best RMSE any model could reach on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    /// The ratings, ids `"1".."N"`, features (when asked for), scale 1..5, source
    /// `"synthetic"`.
    pub dataset: Dataset,
    /// RMSE of the Bayes-optimal predictor on the data:
    /// `sqrt(mean over ratings of (star - E[star | m])^2)` where `m` is the generating
    /// model's continuous rating and the expectation is over the noise, rounding and
    /// clipping (computed exactly from the normal CDF). No model can expect to do better
    /// on fresh ratings of the same model.
    pub noise_floor_rmse: f64,
}

/// The 21 occupations of MovieLens 100K (`u.occupation`), in file order.
pub const OCCUPATIONS: [&str; 21] = [
    "administrator",
    "artist",
    "doctor",
    "educator",
    "engineer",
    "entertainment",
    "executive",
    "healthcare",
    "homemaker",
    "lawyer",
    "librarian",
    "marketing",
    "none",
    "other",
    "programmer",
    "retired",
    "salesman",
    "scientist",
    "student",
    "technician",
    "writer",
];

/// How many of MovieLens 100K's 943 users have each occupation of [`OCCUPATIONS`].
const OCCUPATION_COUNTS: [f64; 21] = [
    79., 28., 7., 95., 67., 18., 32., 16., 7., 12., 51., 26., 9., 105., 66., 14., 12., 31., 196.,
    27., 45.,
];

/// The 19 genres of MovieLens 100K (`u.genre`), in flag order.
pub const GENRES: [&str; 19] = super::movielens::GENRES_100K;

/// How many of MovieLens 100K's 1682 items have each genre of [`GENRES`].
const GENRE_COUNTS: [f64; 19] = [
    2., 251., 135., 42., 122., 505., 109., 50., 725., 22., 24., 92., 56., 61., 247., 101., 251.,
    71., 27.,
];

/// 1997-09-20 (first day of MovieLens 100K), Unix seconds.
const T0: i64 = 874_724_710;
/// 212 days, the span of MovieLens 100K.
const SPAN: f64 = 212.0 * 86_400.0;
/// Latent global mean (the stored mean comes out near 3.53 after rounding and clipping).
const MU: f64 = 3.65;
/// Variance of the interaction term `p_u . q_i`.
const TASTE_VAR: f64 = 0.35;

// Independent random streams per stage, so that stages do not shift each other.
const STREAM_ITEMS: u64 = 0x9E37_79B9_7F4A_7C15;
const STREAM_USERS: u64 = 0xC2B2_AE3D_27D4_EB4F;
const STREAM_PAIRS: u64 = 0x1656_67B1_9E37_79F9;
const STREAM_VALUES: u64 = 0x85EB_CA77_C2B2_AE63;
const STREAM_GROUPS: u64 = 0x27D4_EB2F_1656_67C5;

/// Generates a data set from `p` (checked first).
///
/// The same parameters give the same data bit for bit; the ratings do not depend on
/// `side_variables` (only the features do).
///
/// ```
/// use embedrec::data::synthetic::{generate, SynthParams};
/// let p = SynthParams { users: 100, items: 200, ratings: 3000, ..SynthParams::default() };
/// let syn = generate(&p).unwrap();
/// assert_eq!(syn.dataset.ratings.len(), 3000);
/// assert_eq!(syn.dataset.users.raw(0), "1");
/// assert!(syn.noise_floor_rmse > 0.0 && syn.noise_floor_rmse < 1.0);
/// ```
pub fn generate(p: &SynthParams) -> Result<Synthetic> {
    p.check()?;
    let rank = p.rank;
    let (nu, ni) = (p.users, p.items);
    let comp_var = (TASTE_VAR / rank as f64).sqrt(); // variance of one taste component

    // Group-level structure: occupation and genre taste vectors and biases.
    let mut rng = Rng::seeded(p.seed ^ STREAM_GROUPS);
    let occ_sd = (0.45 * comp_var).sqrt();
    let occ_taste: Vec<f64> = (0..21 * rank).map(|_| occ_sd * rng.normal()).collect();
    let occ_bias: Vec<f64> = (0..21).map(|_| 0.12 * rng.normal()).collect();
    let genre_sd = (0.5 * comp_var).sqrt();
    let genre_taste: Vec<f64> = (0..19 * rank).map(|_| genre_sd * rng.normal()).collect();
    let genre_bias: Vec<f64> = (0..19).map(|_| 0.12 * rng.normal()).collect();

    // Items: popularity, genres, year, taste, bias.
    let mut rng = Rng::seeded(p.seed ^ STREAM_ITEMS);
    let mut ranks: Vec<u32> = (0..ni as u32).collect();
    rng.shuffle(&mut ranks);
    let pop: Vec<f64> = ranks
        .iter()
        .map(|&r| (r as f64 + 10.0).powf(-1.1))
        .collect();
    let log_pop: Vec<f64> = pop.iter().map(|w| w.ln()).collect();
    let (_, lp_sd) = mean_sd(&log_pop);
    // Centre the popularity effect where the ratings are (popularity-weighted), so that
    // the mean rating does not drift with the size of the data.
    let lp_mean =
        pop.iter().zip(&log_pop).map(|(w, l)| w * l).sum::<f64>() / pop.iter().sum::<f64>();
    let genre_total: f64 = 1682.0;
    let genre_sum: f64 = GENRE_COUNTS.iter().sum();
    let mut item_genres: Vec<Vec<u32>> = Vec::with_capacity(ni);
    let mut item_year: Vec<u32> = Vec::with_capacity(ni);
    let mut item_taste = vec![0.0f64; ni * rank];
    let mut item_bias = vec![0.0f64; ni];
    let indiv_q_sd = (0.5 * comp_var).sqrt();
    for i in 0..ni {
        let mut gs: Vec<u32> = (1..19u32)
            .filter(|&g| rng.uniform() < GENRE_COUNTS[g as usize] / genre_total)
            .collect();
        if gs.is_empty() {
            let mut x = rng.uniform() * (genre_sum - GENRE_COUNTS[0]);
            let mut pick = 18;
            for (g, count) in GENRE_COUNTS.iter().enumerate().skip(1) {
                x -= count;
                if x < 0.0 {
                    pick = g as u32;
                    break;
                }
            }
            gs.push(pick);
        }
        let year = sample_year(&mut rng);
        let q = &mut item_taste[i * rank..(i + 1) * rank];
        let norm = 1.0 / (gs.len() as f64).sqrt();
        for (d, qd) in q.iter_mut().enumerate() {
            let group: f64 = gs.iter().map(|&g| genre_taste[g as usize * rank + d]).sum();
            *qd = group * norm + indiv_q_sd * rng.normal();
        }
        let gbias = gs.iter().map(|&g| genre_bias[g as usize]).sum::<f64>() / gs.len() as f64;
        item_bias[i] = 0.40 * rng.normal()
            + gbias
            + 0.15 * (log_pop[i] - lp_mean) / lp_sd.max(1e-12)
            + 0.004 * (1998.0 - year as f64);
        item_genres.push(gs);
        item_year.push(year);
    }

    // Users: occupation, age, gender, taste, bias, activity, arrival time.
    let mut rng = Rng::seeded(p.seed ^ STREAM_USERS);
    let occ_sum: f64 = OCCUPATION_COUNTS.iter().sum();
    let indiv_p_sd = (0.55 * comp_var).sqrt();
    let mut user_occ = Vec::with_capacity(nu);
    let mut user_age = Vec::with_capacity(nu);
    let mut user_gender = Vec::with_capacity(nu);
    let mut user_taste = vec![0.0f64; nu * rank];
    let mut user_bias = vec![0.0f64; nu];
    let mut activity = Vec::with_capacity(nu);
    let mut arrival = Vec::with_capacity(nu);
    for u in 0..nu {
        let mut x = rng.uniform() * occ_sum;
        let mut occ = 20;
        for (o, c) in OCCUPATION_COUNTS.iter().enumerate() {
            x -= c;
            if x < 0.0 {
                occ = o;
                break;
            }
        }
        let age = if OCCUPATIONS[occ] == "student" {
            21.0 + 4.0 * rng.normal()
        } else {
            36.0 + 11.0 * rng.normal()
        }
        .round()
        .clamp(7.0, 73.0) as u32;
        let gender = u32::from(rng.uniform() >= 0.71); // 0 = M, 1 = F
        for d in 0..rank {
            user_taste[u * rank + d] = occ_taste[occ * rank + d] + indiv_p_sd * rng.normal();
        }
        user_bias[u] = 0.45 * rng.normal() + occ_bias[occ] + 0.005 * (age as f64 - 33.0);
        activity.push((1.1 * rng.normal().min(2.6)).exp());
        arrival.push(T0 as f64 + SPAN * 0.97 * rng.uniform());
        user_occ.push(occ as u32);
        user_age.push(age);
        user_gender.push(gender);
    }

    // Who rates what.
    let floor = 20.min(p.ratings / nu);
    let counts = allocate(p.ratings, &activity, floor, ni);
    let mut rng = Rng::seeded(p.seed ^ STREAM_PAIRS);
    let alias = Alias::new(&pop);
    let mut ratings = Ratings::with_capacity(p.ratings, true);
    let mut stamp = vec![u32::MAX; ni];
    let mut scratch = Vec::new();
    for (u, &c) in counts.iter().enumerate() {
        let start = ratings.items.len();
        sample_items(
            c,
            &alias,
            &pop,
            &mut stamp,
            u as u32,
            &mut rng,
            &mut ratings.items,
            &mut scratch,
        );
        debug_assert_eq!(ratings.items.len() - start, c);
        ratings.users.extend(std::iter::repeat_n(u as u32, c));
    }
    drop(stamp);
    if p.ratings >= ni {
        cover_all_items(&mut ratings.items, ni, &mut rng);
    }

    // Ratings values and timestamps, and the noise floor.
    let mut rng = Rng::seeded(p.seed ^ STREAM_VALUES);
    let stars = Stars::of(p);
    let times = ratings.times.as_mut().expect("allocated with times");
    let mut sq = 0.0f64;
    let mut start = 0;
    for (u, &c) in counts.iter().enumerate() {
        let pu = &user_taste[u * rank..(u + 1) * rank];
        let mut t = arrival[u];
        for k in start..start + c {
            let i = ratings.items[k] as usize;
            let qi = &item_taste[i * rank..(i + 1) * rank];
            let dot: f64 = pu.iter().zip(qi).map(|(a, b)| a * b).sum();
            let m = MU + user_bias[u] + item_bias[i] + dot;
            let star = stars.star(m + p.noise * rng.normal());
            let expected = stars.expected(m, p.noise);
            sq += (star - expected) * (star - expected);
            ratings.values.push(star as f32);
            // Mostly a minute or two between ratings, sometimes a new session.
            t += if rng.uniform() < 0.04 {
                3_600.0 + 86_400.0 * 3.0 * rng.uniform()
            } else {
                5.0 + 120.0 * -(1.0 - rng.uniform()).ln()
            };
            times.push(t as i64);
        }
        start += c;
    }
    let noise_floor_rmse = (sq / p.ratings as f64).sqrt();

    let users = IdMap::from_raw((1..=nu).map(|k| k.to_string()));
    let items = IdMap::from_raw((1..=ni).map(|k| k.to_string()));
    let features = if p.side_variables {
        build_features(
            &users,
            &items,
            &user_occ,
            &user_gender,
            &user_age,
            item_genres,
            &item_year,
        )
    } else {
        Features::default()
    };
    Ok(Synthetic {
        dataset: Dataset {
            ratings,
            users,
            items,
            features,
            scale: p.scale,
            source: PathBuf::from("synthetic"),
            warnings: Vec::new(),
        },
        noise_floor_rmse,
    })
}

fn build_features(
    users: &IdMap,
    items: &IdMap,
    occ: &[u32],
    gender: &[u32],
    age: &[u32],
    genres: Vec<Vec<u32>>,
    year: &[u32],
) -> Features {
    let single = |name: &str, levels: Vec<String>, values: Vec<u32>| Variable {
        name: name.into(),
        levels,
        multi_valued: false,
        values: values.into_iter().map(|v| vec![v]).collect(),
    };
    let age_levels: Vec<String> = AGE_BINS.iter().map(|(_, l)| l.to_string()).collect();
    let age_values = age
        .iter()
        .map(|&a| {
            let label = age_group(a);
            AGE_BINS.iter().position(|(_, l)| *l == label).unwrap() as u32
        })
        .collect();
    let mut years: Vec<u32> = year.to_vec();
    years.sort_unstable();
    years.dedup();
    let year_values = year
        .iter()
        .map(|y| years.binary_search(y).unwrap() as u32)
        .collect();
    let titles = year
        .iter()
        .enumerate()
        .map(|(i, y)| format!("Synthetic Movie {} ({y})", i + 1))
        .collect();
    Features {
        users: SideTable {
            ids: users.clone(),
            variables: vec![
                single(
                    "occupation",
                    OCCUPATIONS.iter().map(|s| s.to_string()).collect(),
                    occ.to_vec(),
                ),
                single("gender", vec!["M".into(), "F".into()], gender.to_vec()),
                single("age", age_levels, age_values),
            ],
            titles: Vec::new(),
        },
        items: SideTable {
            ids: items.clone(),
            variables: vec![
                Variable {
                    name: "genres".into(),
                    levels: GENRES.iter().map(|s| s.to_string()).collect(),
                    multi_valued: true,
                    values: genres,
                },
                single(
                    "year",
                    years.iter().map(|y| y.to_string()).collect(),
                    year_values,
                ),
            ],
            titles,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_decimal_prints_as_display() {
        for x in [0i64, 7, -3, 10, 874_724_710, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_decimal(&mut out, x);
            assert_eq!(String::from_utf8(out).unwrap(), x.to_string());
        }
    }

    #[test]
    fn allocate_is_exact_and_capped() {
        let w = [100.0, 1.0, 1.0, 0.5];
        let c = allocate(30, &w, 2, 10);
        assert_eq!(c.iter().sum::<usize>(), 30);
        assert!(c.iter().all(|&x| (2..=10).contains(&x)), "{c:?}");
        assert_eq!(allocate(40, &w, 20, 10), vec![10; 4]);
    }

    #[test]
    fn expected_star_matches_monte_carlo() {
        let mut rng = Rng::seeded(1);
        for m in [0.3, 2.2, 3.5, 4.9, 6.0] {
            let n = 200_000;
            let mc: f64 = (0..n)
                .map(|_| (m + 0.8 * rng.normal()).round().clamp(1.0, 5.0))
                .sum::<f64>()
                / n as f64;
            assert!((mc - expected_star(m, 0.8)).abs() < 0.01, "m {m}: {mc}");
        }
        assert!((normal_cdf(1.0) - 0.841_344_746).abs() < 1e-6);
    }

    #[test]
    fn half_star_expectation_matches_monte_carlo_and_default_scale_is_unchanged() {
        let p = SynthParams {
            scale: RatingScale::HALF_STARS,
            ..SynthParams::default()
        };
        let stars = Stars::of(&p);
        assert_eq!(stars.step, 0.5);
        let mut rng = Rng::seeded(2);
        for m in [0.3, 2.2, 3.5, 4.9, 6.0] {
            let n = 200_000;
            let mc: f64 = (0..n)
                .map(|_| stars.star(m + 0.8 * rng.normal()))
                .sum::<f64>()
                / n as f64;
            assert!((mc - stars.expected(m, 0.8)).abs() < 0.01, "m {m}: {mc}");
        }
        assert_eq!(stars.star(0.6), 0.5);
        assert_eq!(stars.star(3.3), 3.5);
        assert_eq!(stars.star(7.0), 5.0);
        // 1..10 in whole stars: 1..5 stretched onto it.
        let ten = Stars::of(&SynthParams {
            scale: RatingScale {
                min: 1.0,
                max: 10.0,
            },
            ..SynthParams::default()
        });
        assert_eq!((ten.step, ten.star(5.0), ten.star(1.0)), (1.0, 10.0, 1.0));
        let bad = SynthParams {
            scale: RatingScale { min: 4.5, max: 5.0 },
            ..SynthParams::default()
        };
        assert!(bad.check().is_err());
        assert!(Stars::of(&SynthParams::default()).classic);
    }

    #[test]
    fn heavy_users_and_dense_data_are_exact() {
        let p = SynthParams {
            users: 30,
            items: 40,
            ratings: 1150,
            ..SynthParams::default()
        };
        let syn = generate(&p).unwrap();
        let r = &syn.dataset.ratings;
        let mut pairs: Vec<(u32, u32)> = r
            .users
            .iter()
            .copied()
            .zip(r.items.iter().copied())
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), 1150);
        let full = SynthParams { ratings: 1200, ..p };
        assert_eq!(generate(&full).unwrap().dataset.ratings.len(), 1200);
    }
}
