//! Train/test splits: random holdout, k-fold, per-user leave-k-out, global temporal cut,
//! and predefined files ([`super::load_train_test`]).

use super::{Dataset, IdMap, Ratings};

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
    /// Builds a split from ratings over `users` / `items`, renumbering ids so that those
    /// seen in `train` come first (in order of first appearance in `train`), then the
    /// test-only ids, then ids seen in neither (dropped from the maps).
    pub fn new(train: Ratings, test: Ratings, users: IdMap, items: IdMap) -> Self {
        let (user_map, users, train_users) = renumber(&users, &train.users, &test.users);
        let (item_map, items, train_items) = renumber(&items, &train.items, &test.items);
        let remap = |r: Ratings| Ratings {
            users: r.users.iter().map(|&u| user_map[u as usize]).collect(),
            items: r.items.iter().map(|&i| item_map[i as usize]).collect(),
            values: r.values,
            times: r.times,
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
