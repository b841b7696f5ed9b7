//! The feature rows of a factorization machine, as relation blocks (Rendle 2013).
//!
//! A rating's feature vector is the concatenation of its user's row and its item's row.
//! The user block holds, per user, the user's one-hot feature, the user's side variables
//! and `rated` (the items the user rated in training, each weighted 1/sqrt(n): SVD++'s
//! implicit set); the item block holds the item's one-hot feature, its side variables
//! and `raters` (the users who rated it in training, 1/sqrt(n): the "flipped" set). A
//! feature lives in one block only, so the rows shared by many ratings are stored (and
//! summed) once per user or item, not once per rating.

use crate::error::{Error, Result};
use crate::models::TrainingSet;

/// One block: sparse rows (CSR) over a contiguous range of the feature indices, and the
/// same entries by feature (CSC) for the sampler.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    /// Row `r` holds entries `row_ptr[r]..row_ptr[r + 1]`.
    pub row_ptr: Vec<u32>,
    /// The entries' feature indices (global).
    pub feat: Vec<u32>,
    /// The entries' values.
    pub val: Vec<f32>,
    /// The block's features are `first..end`.
    pub first: u32,
    /// See `first`.
    pub end: u32,
}

impl Block {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.row_ptr.len() - 1
    }

    /// Row `r`'s entries.
    #[inline]
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (a, b) = (self.row_ptr[r] as usize, self.row_ptr[r + 1] as usize);
        self.feat[a..b]
            .iter()
            .zip(&self.val[a..b])
            .map(|(&j, &x)| (j as usize, x as f64))
    }

    /// The entries by feature: `(col_ptr, rows, values)`, feature `j` (global) holding
    /// `col_ptr[j - first]..col_ptr[j - first + 1]`.
    pub fn by_feature(&self) -> (Vec<u32>, Vec<u32>, Vec<f64>) {
        let n = (self.end - self.first) as usize;
        let mut ptr = vec![0u32; n + 1];
        for &j in &self.feat {
            ptr[(j - self.first) as usize + 1] += 1;
        }
        for k in 0..n {
            ptr[k + 1] += ptr[k];
        }
        let mut next = ptr.clone();
        let mut rows = vec![0u32; self.feat.len()];
        let mut vals = vec![0f64; self.feat.len()];
        for r in 0..self.rows() {
            for (j, x) in self.row(r) {
                let slot = &mut next[j - self.first as usize];
                rows[*slot as usize] = r as u32;
                vals[*slot as usize] = x;
                *slot += 1;
            }
        }
        (ptr, rows, vals)
    }

    /// Checks the structure (for loaded models): monotone pointers, features in range.
    pub fn check(&self, rows: usize, name: &str) -> std::result::Result<(), String> {
        let ok = self.row_ptr.len() == rows + 1
            && self.row_ptr.first() == Some(&0)
            && self.row_ptr.windows(2).all(|w| w[0] <= w[1])
            && *self.row_ptr.last().unwrap() as usize == self.feat.len()
            && self.feat.len() == self.val.len()
            && self.first <= self.end
            && self.feat.iter().all(|&j| j >= self.first && j < self.end)
            && self.val.iter().all(|x| x.is_finite());
        if ok {
            Ok(())
        } else {
            Err(format!("fm: malformed {name} feature rows"))
        }
    }
}

/// A named group of features sharing one prior (user, item, rated, occupation, ...).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// Its name.
    pub name: String,
    /// Its features are `first..first + len`.
    pub first: u32,
    /// See `first`.
    pub len: u32,
}

/// The most days the `day` feature has levels for (about 270 years of Unix seconds).
pub(crate) const MAX_DAYS: u32 = 100_000;

/// Item-age buckets: `floor(log2(days + 1))`, the last one open-ended.
pub(crate) const AGE_BUCKETS: u32 = 16;

/// The time features of a rating at time `t`: `day`, the day since the first training
/// rating (clipped to the training days: a later rating counts as the last day), and
/// `item_age`, the bucket of the days since the item's first training rating.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clock {
    /// The first training rating's time (Unix seconds).
    pub t0: i64,
    /// Day levels (`0..days`).
    pub days: u32,
    /// Per item row: the day of its first training rating.
    pub item_first: Vec<u32>,
    /// Per day: its share of the training ratings (the time distribution a new user's
    /// score without a time is averaged over).
    pub day_share: Vec<f32>,
    /// Per user row: the `day` features of the user's training days, each valued by its
    /// share of the user's training ratings (what a known user's score without a time
    /// is averaged over); empty rows without a `day` group.
    pub user_days: Block,
    /// The first feature of the `day` group, if it is one.
    pub day: Option<u32>,
    /// The first feature of the `item_age` group, if it is one.
    pub age: Option<u32>,
}

impl Clock {
    /// The day level of time `t`.
    pub fn day_of(&self, t: i64) -> u32 {
        (t.saturating_sub(self.t0).div_euclid(86_400)).clamp(0, self.days as i64 - 1) as u32
    }

    /// The item-age bucket of item row `item` on day `day`.
    pub fn age_of(&self, item: u32, day: u32) -> u32 {
        let age = day.saturating_sub(self.item_first[item as usize]) as u64 + 1;
        (63 - age.leading_zeros()).min(AGE_BUCKETS - 1)
    }

    /// The time row of item row `item` (None: unknown) at day `day`: features, value 1.
    pub fn row(&self, item: Option<u32>, day: u32) -> impl Iterator<Item = usize> + '_ {
        let d = self.day.map(|f| (f + day) as usize);
        let a = match (self.age, item) {
            (Some(f), Some(i)) => Some((f + self.age_of(i, day)) as usize),
            _ => None,
        };
        d.into_iter().chain(a)
    }

    /// The last training day.
    pub fn now(&self) -> u32 {
        self.days - 1
    }
}

/// Side variables that `side` leaves out; named in the features, they are in: `zip`
/// (the zip code's first character) made validation RMSE worse on ML-100K carves (see
/// docs/tuning.md).
pub(crate) const NOT_IN_SIDE: [&str; 1] = ["zip"];

/// The whole design: the user block, the item block, the groups (in feature order) and
/// the time features, whose groups come last.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Design {
    pub user: Block,
    pub item: Block,
    pub groups: Vec<Group>,
    pub clock: Option<Clock>,
}

impl Design {
    /// Features in all.
    pub fn n_features(&self) -> usize {
        self.groups.last().map_or(0, |g| (g.first + g.len) as usize)
    }

    /// The group of every feature.
    pub fn group_of(&self) -> Vec<u32> {
        let mut out = vec![0u32; self.n_features()];
        for (g, group) in self.groups.iter().enumerate() {
            for j in group.first..group.first + group.len {
                out[j as usize] = g as u32;
            }
        }
        out
    }

    /// The block of the training ratings' time rows, one row per distinct (day, item
    /// age) pair, and the row of each rating, if the design has time features.
    pub fn time_block(&self, items: &[u32], times: Option<&[i64]>) -> Option<(Block, Vec<u32>)> {
        let clock = self.clock.as_ref()?;
        let times = times?;
        let mut b = Block {
            row_ptr: vec![0],
            feat: Vec::new(),
            val: Vec::new(),
            first: self.item.end,
            end: self.n_features() as u32,
        };
        let mut rows = std::collections::HashMap::new();
        let rows_of = (items.iter().zip(times))
            .map(|(&i, &t)| {
                let day = clock.day_of(t);
                let key = (day, clock.age.map_or(0, |_| clock.age_of(i, day)));
                *rows.entry(key).or_insert_with(|| {
                    for j in clock.row(Some(i), day) {
                        b.feat.push(j as u32);
                        b.val.push(1.0);
                    }
                    b.row_ptr.push(b.feat.len() as u32);
                    (b.row_ptr.len() - 2) as u32
                })
            })
            .collect();
        Some((b, rows_of))
    }

    /// The design of the rows of `set` with the extra feature groups `features`
    /// (`rated`, `raters`, `day`, `item_age`, side-variable names; `side` = every side
    /// variable the data has but those of [`NOT_IN_SIDE`]; `time` = `day` when the
    /// ratings have timestamps).
    pub fn build(set: &TrainingSet<'_>, features: &[String]) -> Result<Design> {
        let mut names: Vec<String> = Vec::new();
        let (mut day, mut age) = (false, false);
        let times = set.ratings.times.as_deref().filter(|t| !t.is_empty());
        for f in features {
            if f == "time" {
                day |= times.is_some();
            } else if f == "day" || f == "item_age" {
                if times.is_none() {
                    return Err(Error::Usage(format!(
                        "fm: the `{f}` feature needs the ratings' timestamps, and these \
                         ratings have none"
                    )));
                }
                day |= f == "day";
                age |= f == "item_age";
            } else if f == "side" {
                for v in (set.features.users.variables.iter()).chain(&set.features.items.variables)
                {
                    if !names.contains(&v.name) && !NOT_IN_SIDE.contains(&v.name.as_str()) {
                        names.push(v.name.clone());
                    }
                }
            } else if f == "user" || f == "item" {
                return Err(Error::Usage(format!(
                    "fm: `{f}` is always a feature; --features names the groups beyond user \
                     and item"
                )));
            } else if !names.contains(f) {
                names.push(f.clone());
            }
        }
        // The implicit sets last in their block (a loaded model finds `rated` there).
        names.sort_by_key(|n| n == "rated" || n == "raters");
        let dims: Vec<(String, usize)> = names.iter().map(|n| (n.clone(), 1)).collect();
        let inputs = crate::models::deep::side_inputs_of(&dims, set)?;
        let mut groups = Vec::new();
        let mut next = 0u32;
        let mut block = |of_users: bool, next: &mut u32| -> Block {
            let rows = if of_users { set.n_users } else { set.n_items };
            let first = *next;
            groups.push(Group {
                name: if of_users { "user" } else { "item" }.to_string(),
                first,
                len: rows,
            });
            *next += rows;
            let mut lists: Vec<Vec<(u32, f32)>> =
                (0..rows).map(|r| vec![(first + r, 1.0)]).collect();
            for input in inputs.iter().filter(|i| i.of_users == of_users) {
                groups.push(Group {
                    name: input.name.clone(),
                    first: *next,
                    len: input.rows as u32,
                });
                let implicit = input.name == "rated" || input.name == "raters";
                for (r, list) in lists.iter_mut().enumerate() {
                    let levels = input.of(r as u32);
                    let n = levels.len() as f32;
                    let w = if implicit { 1.0 / n.sqrt() } else { 1.0 / n };
                    list.extend(levels.iter().map(|&l| (*next + l, w)));
                }
                *next += input.rows as u32;
            }
            let mut b = Block {
                row_ptr: vec![0],
                feat: Vec::new(),
                val: Vec::new(),
                first,
                end: *next,
            };
            for list in lists {
                for (j, x) in list {
                    b.feat.push(j);
                    b.val.push(x);
                }
                b.row_ptr.push(b.feat.len() as u32);
            }
            b
        };
        let user = block(true, &mut next);
        let item = block(false, &mut next);
        let clock = match times {
            Some(times) if day || age => {
                let t0 = *times.iter().min().expect("not empty");
                let last = *times.iter().max().expect("not empty");
                let span = (last as i128 - t0 as i128) / 86_400 + 1;
                if span > MAX_DAYS as i128 {
                    return Err(Error::Usage(format!(
                        "fm: the ratings' timestamps span {span} days (more than {MAX_DAYS}); \
                         the `day` feature reads Unix seconds (are these milliseconds?)"
                    )));
                }
                let mut clock = Clock {
                    t0,
                    days: span as u32,
                    item_first: vec![u32::MAX; set.n_items as usize],
                    day_share: Vec::new(),
                    user_days: Block {
                        row_ptr: vec![0],
                        feat: Vec::new(),
                        val: Vec::new(),
                        first: 0,
                        end: 0,
                    },
                    day: None,
                    age: None,
                };
                for (&i, &t) in set.ratings.items.iter().zip(times) {
                    let d = clock.day_of(t);
                    let first = &mut clock.item_first[i as usize];
                    *first = (*first).min(d);
                }
                let mut counts = vec![0u64; clock.days as usize];
                for &t in times {
                    counts[clock.day_of(t) as usize] += 1;
                }
                let n = times.len() as f64;
                clock.day_share = counts.iter().map(|&c| (c as f64 / n) as f32).collect();
                for d in &mut clock.item_first {
                    if *d == u32::MAX {
                        *d = 0;
                    }
                }
                for (on, name, len, slot) in [
                    (day, "day", clock.days, &mut clock.day),
                    (age, "item_age", AGE_BUCKETS, &mut clock.age),
                ] {
                    if on {
                        groups.push(Group {
                            name: name.into(),
                            first: next,
                            len,
                        });
                        *slot = Some(next);
                        next += len;
                    }
                }
                // Each user's days, by share of the user's ratings.
                let (first, end) = clock.day.map_or((next, next), |f| (f, f + clock.days));
                let mut by_user: Vec<Vec<u32>> = vec![Vec::new(); set.n_users as usize];
                if clock.day.is_some() {
                    for (&u, &t) in set.ratings.users.iter().zip(times) {
                        by_user[u as usize].push(clock.day_of(t));
                    }
                }
                let b = &mut clock.user_days;
                (b.first, b.end) = (first, end);
                for mut days in by_user {
                    days.sort_unstable();
                    let n = days.len() as f32;
                    for run in days.chunk_by(|a, b| a == b) {
                        b.feat.push(first + run[0]);
                        b.val.push(run.len() as f32 / n);
                    }
                    b.row_ptr.push(b.feat.len() as u32);
                }
                Some(clock)
            }
            _ => None,
        };
        Ok(Design {
            user,
            item,
            groups,
            clock,
        })
    }
}
