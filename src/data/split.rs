//! Train/test splits: random holdout, k-fold, per-user leave-k-out, global temporal cut,
//! and predefined files ([`super::load_train_test`]).

//!
//! The split functions return rating *positions* (indices into a [`Ratings`]) as
//! `(train, test)`, both in ascending order, together a permutation of `0..n`. Seeded
//! splits use [`crate::rng::Rng`] and are reproducible bit for bit.

use super::{Dataset, IdMap, Ratings};
use crate::error::{Error, Result};
use crate::rng::Rng;
use std::fmt;
use std::str::FromStr;

/// A training set and a test set over one pair of id maps in which every id seen in
/// training comes first: user index `u` is known to a model trained on `train` exactly
/// when `u < train_users` (likewise items). Test ratings with unknown ids are kept (and
/// counted by evaluation), never dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest {
    /// Training ratings; all indices below `train_users` / `train_items`.
    pub train: Ratings,
    /// Test ratings; may hold indices at or past `train_users` / `train_items`.
    pub test: Ratings,
    /// Raw user id <-> index (training ids first).
    pub users: IdMap,
    /// Raw item id <-> index (training ids first).
    pub items: IdMap,
    /// Number of distinct users in `train`.
    pub train_users: u32,
    /// Number of distinct items in `train`.
    pub train_items: u32,
}

impl TrainTest {
    /// The two halves as datasets with `data`'s features, scale and source: the
    /// training ratings over the training ids only (rows `0..train_users` and
    /// `0..train_items`, in the same order), the test ratings over every id.
    pub fn into_datasets(self, data: &Dataset) -> (Dataset, Dataset) {
        let train_ids = |ids: &IdMap, n: u32| IdMap::from_raw(&ids.raw_ids()[..n as usize]);
        let train = Dataset {
            ratings: self.train,
            users: train_ids(&self.users, self.train_users),
            items: train_ids(&self.items, self.train_items),
            features: data.features.clone(),
            scale: data.scale,
            source: data.source.clone(),
            warnings: Vec::new(),
        };
        let test = Dataset {
            ratings: self.test,
            users: self.users,
            items: self.items,
            features: data.features.clone(),
            scale: data.scale,
            source: data.source.clone(),
            warnings: Vec::new(),
        };
        (train, test)
    }

    /// Builds a split from ratings over `users` / `items`, renumbering ids so that those
    /// seen in `train` come first (in order of first appearance in `train`), then the
    /// test-only ids, then ids seen in neither (dropped from the maps).
    pub fn new(train: Ratings, test: Ratings, users: IdMap, items: IdMap) -> Self {
        let (user_map, users, train_users) = renumber(&users, &train.users, &test.users);
        let (item_map, items, train_items) = renumber(&items, &train.items, &test.items);
        // In place: no second copy of the id columns.
        let remap = |mut r: Ratings| {
            r.users.iter_mut().for_each(|u| *u = user_map[*u as usize]);
            r.items.iter_mut().for_each(|i| *i = item_map[*i as usize]);
            r
        };
        TrainTest {
            train: remap(train),
            test: remap(test),
            users,
            items,
            train_users,
            train_items,
        }
    }

    /// Splits `data` by rating positions (e.g. from [`random_holdout`]).
    pub fn from_indices(data: &Dataset, train: &[usize], test: &[usize]) -> Self {
        Self::new(
            data.ratings.select(train),
            data.ratings.select(test),
            data.users.clone(),
            data.items.clone(),
        )
    }

    /// Number of test ratings whose user or item does not appear in training.
    pub fn test_unknown(&self) -> usize {
        self.test
            .users
            .iter()
            .zip(&self.test.items)
            .filter(|&(&u, &i)| u >= self.train_users || i >= self.train_items)
            .count()
    }
}

/// New index for each old index (u32::MAX when unused), the new map, and how many ids
/// the first list uses.
fn renumber(ids: &IdMap, first: &[u32], second: &[u32]) -> (Vec<u32>, IdMap, u32) {
    let mut new_of_old = vec![u32::MAX; ids.len()];
    let mut order = Vec::new();
    let mut count_first = 0;
    for (pass, list) in [first, second].into_iter().enumerate() {
        for &old in list {
            let slot = &mut new_of_old[old as usize];
            if *slot == u32::MAX {
                *slot = order.len() as u32;
                order.push(old);
            }
        }
        if pass == 0 {
            count_first = order.len() as u32;
        }
    }
    let map = IdMap::from_raw(order.iter().map(|&old| ids.raw(old)));
    (new_of_old, map, count_first)
}

/// The positions `0..n` in a seeded random order.
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    Rng::seeded(seed).shuffle(&mut perm);
    perm
}

/// Sorts both lists (positions in data order).
fn sorted(mut train: Vec<usize>, mut test: Vec<usize>) -> (Vec<usize>, Vec<usize>) {
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Random holdout of `n` ratings: `round(n * test_fraction)` random positions go to test,
/// the rest to train. `test_fraction` is clamped into `[0, 1]` ([`SplitSpec`] validates
/// it first).
///
/// ```
/// use embedrec::data::split::random_holdout;
/// let (train, test) = random_holdout(10, 0.2, 7);
/// assert_eq!((train.len(), test.len()), (8, 2));
/// assert_eq!(random_holdout(10, 0.2, 7), (train, test));
/// ```
pub fn random_holdout(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let f = if test_fraction.is_nan() {
        0.0
    } else {
        test_fraction.clamp(0.0, 1.0)
    };
    let n_test = ((n as f64 * f).round() as usize).min(n);
    let mut perm = permutation(n, seed);
    let train = perm.split_off(n_test);
    sorted(train, perm)
}

/// Validation data carved from training data: the same as [`random_holdout`] over the
/// positions of `train`, returning `(fit, validation)` positions into `train`. Trainers
/// use it for early stopping and blend weights.
pub fn validation_split(train: &Ratings, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    random_holdout(train.len(), fraction, seed)
}

/// Fold `fold` (0-based, `< k`) of a seeded `k`-fold split of `n` ratings. One seeded
/// permutation is cut into `k` folds of sizes differing by at most one (fold `f` holds
/// permutation slots `f*n/k .. (f+1)*n/k`), so over `fold = 0..k` (same seed) every
/// rating is in exactly one test fold.
///
/// # Panics
/// When `k == 0` or `fold >= k` ([`SplitSpec`] validates both first).
pub fn kfold(n: usize, k: usize, fold: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    assert!(
        k > 0 && fold < k,
        "kfold: fold {fold} out of range for k = {k}"
    );
    let perm = permutation(n, seed);
    let cut = |f: usize| ((f as u128 * n as u128) / k as u128) as usize;
    let (lo, hi) = (cut(fold), cut(fold + 1));
    let test = perm[lo..hi].to_vec();
    let mut train = perm[..lo].to_vec();
    train.extend_from_slice(&perm[hi..]);
    sorted(train, test)
}

/// Per-user leave-k-out: each user with **at least `k + 1` ratings** gives `k` of them
/// to test (random ones, or with `latest` the `k` latest by timestamp, ties broken by the
/// highest item index, then the highest position); users with `k` ratings or fewer keep
/// all of them in train, so that every test user stays known to the model.
///
/// Fails ([`Error::Usage`]) when `latest` is asked of ratings without timestamps.
pub fn leave_k_out(
    ratings: &Ratings,
    k: usize,
    latest: bool,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    leave_k_out_ranked(ratings, k, latest, seed, None)
}

/// [`leave_k_out`] with ties between equal latest timestamps broken by the highest
/// `item_rank[item]` (then the highest position) instead of the highest item index;
/// [`SplitSpec::apply`] ranks the items by raw id (numerically when every id is a
/// number), so that `user-out:1:latest` on MovieLens holds out the highest item id
/// among a user's latest ratings, as the NCF protocol does.
pub fn leave_k_out_ranked(
    ratings: &Ratings,
    k: usize,
    latest: bool,
    seed: u64,
    item_rank: Option<&[u32]>,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let rank = |pos: usize| {
        let i = ratings.items[pos];
        item_rank.map_or(i, |r| r[i as usize])
    };
    let times = match (&ratings.times, latest) {
        (None, true) => {
            return Err(Error::Usage(format!(
                "split `user-out:{k}:latest` needs timestamps, and these ratings have none"
            )));
        }
        (t, _) => t.as_deref(),
    };
    // Positions grouped by user (counting sort keeps data order within a user).
    let nu = ratings.user_bound();
    let mut start = vec![0usize; nu + 1];
    for &u in &ratings.users {
        start[u as usize + 1] += 1;
    }
    for u in 0..nu {
        start[u + 1] += start[u];
    }
    let mut fill = start.clone();
    let mut by_user = vec![0usize; ratings.len()];
    for (pos, &u) in ratings.users.iter().enumerate() {
        by_user[fill[u as usize]] = pos;
        fill[u as usize] += 1;
    }
    let mut rng = Rng::seeded(seed);
    let mut train = Vec::with_capacity(ratings.len());
    let mut test = Vec::with_capacity(nu.saturating_mul(k).min(ratings.len()));
    for u in 0..nu {
        let group = &mut by_user[start[u]..start[u + 1]];
        if group.len() <= k {
            train.extend_from_slice(group);
            continue;
        }
        if let (true, Some(t)) = (latest, times) {
            // Latest first.
            group.sort_unstable_by(|&a, &b| (t[b], rank(b), b).cmp(&(t[a], rank(a), a)));
        } else {
            // Partial Fisher-Yates: the first k slots become a uniform random k-subset.
            for j in 0..k {
                let r = j + rng.below(group.len() - j);
                group.swap(j, r);
            }
        }
        test.extend_from_slice(&group[..k]);
        train.extend_from_slice(&group[k..]);
    }
    Ok(sorted(train, test))
}

/// Each index's rank in the order of the raw ids: numeric when every id parses as an
/// unsigned integer, else by string.
fn raw_id_rank(ids: &IdMap) -> Vec<u32> {
    let raw = ids.raw_ids();
    let mut order: Vec<u32> = (0..raw.len() as u32).collect();
    let numbers: Option<Vec<u64>> = raw.iter().map(|r| r.parse().ok()).collect();
    match numbers {
        Some(n) => order.sort_by_key(|&i| n[i as usize]),
        None => order.sort_by(|&a, &b| raw[a as usize].cmp(&raw[b as usize])),
    }
    let mut rank = vec![0u32; raw.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    rank
}

/// Global temporal cut: the latest `round(n * test_fraction)` ratings by timestamp go to
/// test (stable: among equal timestamps the later position counts as later), so every
/// test timestamp is >= every train timestamp. Fails ([`Error::Usage`]) without
/// timestamps. `test_fraction` is clamped into `[0, 1]`.
pub fn temporal(ratings: &Ratings, test_fraction: f64) -> Result<(Vec<usize>, Vec<usize>)> {
    let Some(t) = &ratings.times else {
        return Err(Error::Usage(format!(
            "split `temporal:{test_fraction}` needs timestamps, and these ratings have none"
        )));
    };
    let n = ratings.len();
    let f = if test_fraction.is_nan() {
        0.0
    } else {
        test_fraction.clamp(0.0, 1.0)
    };
    let n_test = ((n as f64 * f).round() as usize).min(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&k| t[k]);
    let test = order.split_off(n - n_test);
    Ok(sorted(order, test))
}

/// A split as written on the command line (`--split`):
///
/// | string | meaning |
/// |--------|---------|
/// | `random:F` | random holdout, test fraction `F` in (0, 1) |
/// | `kfold:K:I` | fold `I` (1-based, `1..=K`) of a `K`-fold split, `K >= 2` |
/// | `user-out:K` | per user, `K >= 1` random ratings to test ([`leave_k_out`]) |
/// | `user-out:K:latest` | per user, the `K` latest ratings to test (ties: the highest raw item id) |
/// | `temporal:F` | the latest fraction `F` in (0, 1) of all ratings to test |
///
/// ```
/// use embedrec::data::split::SplitSpec;
/// let spec: SplitSpec = "kfold:5:2".parse().unwrap();
/// assert_eq!(spec, SplitSpec::KFold { k: 5, fold: 2 });
/// assert_eq!(spec.to_string(), "kfold:5:2");
/// assert_eq!("user-out:10:latest".parse::<SplitSpec>().unwrap(),
///            SplitSpec::UserOut { k: 10, latest: true });
/// let err = "kfold:5:6".parse::<SplitSpec>().unwrap_err();
/// assert!(err.to_string().contains("fold `6`"));
/// assert!("random:1.5".parse::<SplitSpec>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitSpec {
    /// Random holdout ([`random_holdout`]).
    Random {
        /// Fraction of ratings in the test set, in (0, 1).
        test_fraction: f64,
    },
    /// One fold of a k-fold split ([`kfold`]).
    KFold {
        /// Number of folds, at least 2.
        k: usize,
        /// The test fold, **1-based** as on the command line (`1..=k`).
        fold: usize,
    },
    /// Per-user leave-k-out ([`leave_k_out`]).
    UserOut {
        /// Test ratings per user, at least 1.
        k: usize,
        /// Take each user's latest ratings instead of random ones.
        latest: bool,
    },
    /// Global temporal cut ([`temporal`]).
    Temporal {
        /// Fraction of (the latest) ratings in the test set, in (0, 1).
        test_fraction: f64,
    },
}

impl SplitSpec {
    /// True when the split reads timestamps (`temporal:F`, `user-out:K:latest`).
    pub fn needs_times(&self) -> bool {
        matches!(
            self,
            SplitSpec::Temporal { .. } | SplitSpec::UserOut { latest: true, .. }
        )
    }

    /// The `(train, test)` positions of this split of `ratings` (validated first).
    pub fn indices(&self, ratings: &Ratings, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
        self.validate()?;
        Ok(match *self {
            SplitSpec::Random { test_fraction } => {
                random_holdout(ratings.len(), test_fraction, seed)
            }
            SplitSpec::KFold { k, fold } => kfold(ratings.len(), k, fold - 1, seed),
            SplitSpec::UserOut { k, latest } => leave_k_out(ratings, k, latest, seed)?,
            SplitSpec::Temporal { test_fraction } => temporal(ratings, test_fraction)?,
        })
    }

    /// Splits `data` ([`TrainTest::from_indices`]). Fails when the values are out of range
    /// (a spec built in code) or the split needs timestamps the data lacks.
    pub fn apply(&self, data: &Dataset, seed: u64) -> Result<TrainTest> {
        let (train, test) = match *self {
            SplitSpec::UserOut { k, latest: true } => {
                self.validate()?;
                let rank = raw_id_rank(&data.items);
                leave_k_out_ranked(&data.ratings, k, true, seed, Some(&rank))?
            }
            _ => self.indices(&data.ratings, seed)?,
        };
        Ok(TrainTest::from_indices(data, &train, &test))
    }

    /// Checks the ranges of the table above ([`Error::Usage`]).
    pub fn validate(&self) -> Result<()> {
        let fraction_ok = |f: f64| f > 0.0 && f < 1.0;
        match *self {
            SplitSpec::Random { test_fraction } | SplitSpec::Temporal { test_fraction }
                if !fraction_ok(test_fraction) =>
            {
                Err(usage(
                    self,
                    &format!("fraction `{test_fraction}` must be in (0, 1)"),
                ))
            }
            SplitSpec::KFold { k, .. } if k < 2 => Err(usage(
                self,
                &format!("number of folds `{k}` must be at least 2"),
            )),
            SplitSpec::KFold { k, fold } if fold == 0 || fold > k => Err(usage(
                self,
                &format!("fold `{fold}` must be in 1..={k} (folds are numbered from 1)"),
            )),
            SplitSpec::UserOut { k: 0, .. } => {
                Err(usage(self, "ratings per user `0` must be at least 1"))
            }
            _ => Ok(()),
        }
    }
}

fn usage(spec: impl fmt::Display, message: &str) -> Error {
    Error::Usage(format!("--split `{spec}`: {message}"))
}

impl fmt::Display for SplitSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SplitSpec::Random { test_fraction } => write!(f, "random:{test_fraction}"),
            SplitSpec::KFold { k, fold } => write!(f, "kfold:{k}:{fold}"),
            SplitSpec::UserOut { k, latest: false } => write!(f, "user-out:{k}"),
            SplitSpec::UserOut { k, latest: true } => write!(f, "user-out:{k}:latest"),
            SplitSpec::Temporal { test_fraction } => write!(f, "temporal:{test_fraction}"),
        }
    }
}

impl FromStr for SplitSpec {
    type Err = Error;

    /// Parses `random:F`, `kfold:K:I`, `user-out:K[:latest]` or `temporal:F` and
    /// validates the values; errors are [`Error::Usage`] naming the bad part.
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let fraction = |x: &str| -> Result<f64> {
            x.parse::<f64>()
                .map_err(|_| usage(s, &format!("fraction `{x}` is not a number")))
        };
        let count = |x: &str, what: &str| -> Result<usize> {
            x.parse::<usize>()
                .map_err(|_| usage(s, &format!("{what} `{x}` is not a whole number")))
        };
        let spec = match parts.as_slice() {
            ["random", f] => SplitSpec::Random {
                test_fraction: fraction(f)?,
            },
            ["temporal", f] => SplitSpec::Temporal {
                test_fraction: fraction(f)?,
            },
            ["kfold", k, i] => SplitSpec::KFold {
                k: count(k, "number of folds")?,
                fold: count(i, "fold")?,
            },
            ["user-out", k] => SplitSpec::UserOut {
                k: count(k, "ratings per user")?,
                latest: false,
            },
            ["user-out", k, "latest"] => SplitSpec::UserOut {
                k: count(k, "ratings per user")?,
                latest: true,
            },
            ["user-out", _, other] => {
                return Err(usage(
                    s,
                    &format!("unknown option `{other}` (expected `latest`)"),
                ));
            }
            [kind @ ("random" | "temporal" | "kfold" | "user-out"), ..] => {
                let form = match *kind {
                    "random" => "random:F",
                    "temporal" => "temporal:F",
                    "kfold" => "kfold:K:I",
                    _ => "user-out:K or user-out:K:latest",
                };
                return Err(usage(s, &format!("wrong number of parts; expected {form}")));
            }
            [kind, ..] => {
                return Err(usage(
                    s,
                    &format!(
                        "unknown split kind `{kind}` (expected random:F, kfold:K:I, \
                         user-out:K[:latest] or temporal:F)"
                    ),
                ));
            }
            [] => unreachable!("split always yields one part"),
        };
        // Report range errors against the string as written.
        spec.validate().map_err(|e| match e {
            Error::Usage(m) => Error::Usage(m.replacen(&format!("`{spec}`"), &format!("`{s}`"), 1)),
            other => other,
        })?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tie_tests {
    use super::*;
    use crate::data::{Features, RatingScale};

    /// Among a user's ratings with the latest timestamp, `user-out:1:latest` holds out
    /// the highest raw item id (numerically: "10" > "9"), whatever the index order.
    #[test]
    fn latest_ties_go_to_the_highest_raw_item_id() {
        let mut ratings = Ratings::default();
        // Items by first appearance: "10" -> 0, "9" -> 1, "100" -> 2, "2" -> 3.
        for (u, i, t) in [
            (0, 0, 7),
            (0, 1, 7),
            (0, 2, 3),
            (1, 3, 5),
            (1, 1, 5),
            (1, 0, 4),
        ] {
            ratings.push(u, i, 4.0, Some(t));
        }
        let data = Dataset {
            ratings,
            users: IdMap::from_raw(["a", "b"]),
            items: IdMap::from_raw(["10", "9", "100", "2"]),
            features: Features::default(),
            scale: RatingScale::STARS_1_5,
            source: "test".into(),
            warnings: vec![],
        };
        let split = SplitSpec::UserOut { k: 1, latest: true }
            .apply(&data, 0)
            .unwrap();
        let held: Vec<(&str, &str)> = (0..split.test.len())
            .map(|k| {
                (
                    split.users.raw(split.test.users[k]),
                    split.items.raw(split.test.items[k]),
                )
            })
            .collect();
        // User a: "10" and "9" tie at t=7 -> "10"; user b: "2" and "9" tie at t=5 -> "9".
        assert_eq!(held, vec![("a", "10"), ("b", "9")]);
        // Index order alone would have picked "9" (index 1) for a and "2" (index 3) for b.
        let (_, test) = leave_k_out(&data.ratings, 1, true, 0).unwrap();
        assert_eq!(test, vec![1, 3]);
    }
}
