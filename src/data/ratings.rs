//! `Ratings` (struct of arrays over dense indices) and `IdMap` (raw id <-> index).

use std::collections::HashMap;

/// Ratings as a struct of arrays: rating `k` is `(users[k], items[k], values[k])`, with
/// `times[k]` when the source had timestamps. Indices are dense `u32`s assigned by an
/// [`IdMap`]; raw ids exist only at the edges.
///
/// ```
/// use embedrec::data::Ratings;
/// let mut r = Ratings::default();
/// r.push(0, 1, 4.0, None);
/// r.push(1, 0, 2.0, None);
/// assert_eq!(r.len(), 2);
/// assert_eq!(r.mean(), 3.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ratings {
    /// Dense user index of each rating.
    pub users: Vec<u32>,
    /// Dense item index of each rating.
    pub items: Vec<u32>,
    /// Rating value.
    pub values: Vec<f32>,
    /// Unix timestamps (seconds), when the source had them.
    pub times: Option<Vec<i64>>,
}

impl Ratings {
    /// An empty set with room for `n` ratings; `with_times` allocates the timestamp column.
    pub fn with_capacity(n: usize, with_times: bool) -> Self {
        Ratings {
            users: Vec::with_capacity(n),
            items: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
            times: with_times.then(|| Vec::with_capacity(n)),
        }
    }

    /// Number of ratings.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there are no ratings.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Appends one rating. A timestamp is stored only when the set has a time column;
    /// the first push into an empty set decides whether it has one.
    pub fn push(&mut self, user: u32, item: u32, value: f32, time: Option<i64>) {
        if self.is_empty() && self.times.is_none() && time.is_some() {
            self.times = Some(Vec::new());
        }
        self.users.push(user);
        self.items.push(item);
        self.values.push(value);
        if let Some(times) = &mut self.times {
            times.push(time.unwrap_or(0));
        }
    }

    /// The ratings at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Ratings {
        Ratings {
            users: indices.iter().map(|&k| self.users[k]).collect(),
            items: indices.iter().map(|&k| self.items[k]).collect(),
            values: indices.iter().map(|&k| self.values[k]).collect(),
            times: self
                .times
                .as_ref()
                .map(|t| indices.iter().map(|&k| t[k]).collect()),
        }
    }

    /// Mean rating (0 for an empty set), accumulated in f64.
    pub fn mean(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.values.iter().map(|&v| v as f64).sum::<f64>() / self.len() as f64
    }

    /// One past the largest user index (0 when empty).
    pub fn user_bound(&self) -> usize {
        self.users.iter().max().map_or(0, |&u| u as usize + 1)
    }

    /// One past the largest item index (0 when empty).
    pub fn item_bound(&self) -> usize {
        self.items.iter().max().map_or(0, |&i| i as usize + 1)
    }
}

/// A two-way map between raw ids (strings, as in the data) and dense `u32` indices,
/// assigned in order of first appearance.
///
/// ```
/// use embedrec::data::IdMap;
/// let mut ids = IdMap::default();
/// assert_eq!(ids.get_or_insert("196"), 0);
/// assert_eq!(ids.get_or_insert("42"), 1);
/// assert_eq!(ids.get_or_insert("196"), 0);
/// assert_eq!(ids.index_of("42"), Some(1));
/// assert_eq!(ids.raw(1), "42");
/// assert_eq!(ids.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdMap {
    raw: Vec<String>,
    index: HashMap<String, u32>,
}

impl IdMap {
    /// Builds a map from raw ids in index order. Duplicates keep their first index.
    pub fn from_raw<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut map = IdMap::default();
        for id in ids {
            map.get_or_insert(id.as_ref());
        }
        map
    }

    /// The index of `raw`, assigning the next free index when it is new.
    pub fn get_or_insert(&mut self, raw: &str) -> u32 {
        if let Some(&k) = self.index.get(raw) {
            return k;
        }
        let k = self.raw.len() as u32;
        self.raw.push(raw.to_string());
        self.index.insert(raw.to_string(), k);
        k
    }

    /// The index of `raw`, if known.
    pub fn index_of(&self, raw: &str) -> Option<u32> {
        self.index.get(raw).copied()
    }

    /// The raw id of index `k`. Panics when `k` is out of range (an internal bug).
    pub fn raw(&self, k: u32) -> &str {
        &self.raw[k as usize]
    }

    /// All raw ids in index order.
    pub fn raw_ids(&self) -> &[String] {
        &self.raw
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when no id is mapped.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}
