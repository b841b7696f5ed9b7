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

    /// Gives back the spare capacity of the columns (after reading: the vectors grew by
    /// doubling).
    pub fn shrink_to_fit(&mut self) {
        self.users.shrink_to_fit();
        self.items.shrink_to_fit();
        self.values.shrink_to_fit();
        if let Some(t) = &mut self.times {
            t.shrink_to_fit();
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
/// // "007" and "7" are different ids.
/// assert_eq!(ids.get_or_insert("007"), 2);
/// assert_eq!(ids.get_or_insert("7"), 3);
/// assert_eq!(ids.index_of("07"), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct IdMap {
    raw: Vec<String>,
    /// Ids that are not small canonical decimal numbers.
    index: HashMap<String, u32, FxBuild>,
    /// Ids that are canonical decimal numbers below [`NUMERIC_IDS`] (MovieLens ids):
    /// `numeric[n]` is the index of id `n`, or `u32::MAX`. A direct lookup into a small
    /// table instead of a hash probe into a large one (loading is bound by those misses).
    numeric: Vec<u32>,
}

/// Numeric ids below this use the direct table of [`IdMap`] (at most 16 MB).
const NUMERIC_IDS: u32 = 1 << 22;

/// The value of `raw` when it is a canonical decimal number (digits, no leading zero
/// unless it is `"0"`) below [`NUMERIC_IDS`]: a one-to-one map between such strings and
/// numbers.
#[inline]
fn small_number(raw: &str) -> Option<u32> {
    let b = raw.as_bytes();
    if b.is_empty() || b.len() > 7 || (b[0] == b'0' && b.len() > 1) {
        return None;
    }
    let mut n = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u32;
    }
    (n < NUMERIC_IDS).then_some(n)
}

impl PartialEq for IdMap {
    fn eq(&self, other: &Self) -> bool {
        // `index` and `numeric` are functions of `raw`.
        self.raw == other.raw
    }
}

/// The Fx hash of rustc (`rustc-hash`) with a finalising mix: a multiply-rotate per 8
/// bytes, much faster than SipHash on short ids. Not DoS-resistant, which a map of ids read from local files
/// does not need.
#[derive(Debug, Clone, Copy, Default)]
struct FxBuild;

impl std::hash::BuildHasher for FxBuild {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.add(b as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // The product's low bits depend only on the input's low bits (for numeric ids:
        // the first digits), and the map indexes buckets by the low bits: mix the high
        // bits down (MurmurHash3's finaliser step).
        let h = (self.0 ^ (self.0 >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }
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
        let next = self.raw.len() as u32;
        if let Some(n) = small_number(raw) {
            let n = n as usize;
            if n >= self.numeric.len() {
                let len = (n + 1).next_power_of_two().max(1024);
                self.numeric.resize(len, u32::MAX);
            }
            if self.numeric[n] != u32::MAX {
                return self.numeric[n];
            }
            self.numeric[n] = next;
        } else {
            if let Some(&k) = self.index.get(raw) {
                return k;
            }
            self.index.insert(raw.to_string(), next);
        }
        self.raw.push(raw.to_string());
        next
    }

    /// The index of `raw`, if known.
    pub fn index_of(&self, raw: &str) -> Option<u32> {
        match small_number(raw) {
            Some(n) => self
                .numeric
                .get(n as usize)
                .copied()
                .filter(|&k| k != u32::MAX),
            None => self.index.get(raw).copied(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The two stores (direct table, hash map) behave as one map from strings.
    #[test]
    fn id_map_matches_a_plain_hash_map() {
        let mut rng = crate::rng::Rng::seeded(3);
        let mut ids = IdMap::default();
        let mut reference: HashMap<String, u32> = HashMap::new();
        for _ in 0..20_000 {
            let raw = match rng.below(5) {
                0 => format!("{}", rng.below(3000)),
                1 => format!("0{}", rng.below(300)),
                2 => format!("{}", NUMERIC_IDS as usize - 2 + rng.below(4)),
                3 => format!("u{}", rng.below(500)),
                _ => format!("{}", rng.below(100_000_000)),
            };
            let next = reference.len() as u32;
            let want = *reference.entry(raw.clone()).or_insert(next);
            assert_eq!(ids.get_or_insert(&raw), want, "{raw}");
        }
        assert_eq!(ids.len(), reference.len());
        for (raw, &k) in &reference {
            assert_eq!(ids.index_of(raw), Some(k));
            assert_eq!(ids.raw(k), raw);
        }
        for absent in ["", "-1", "+5", "1.0", " 7", "99999999999"] {
            assert_eq!(
                ids.index_of(absent),
                reference.get(absent).copied(),
                "{absent}"
            );
        }
    }
}
