//! Side inputs: each user's and item's side-variable levels (via the raw ids), and the
//! implicit `rated` / `raters` sets built from the training ratings.

use super::*;

/// One side variable as the network sees it: for every user (or item) index of the
/// split, its level indices (rows of the variable's embedding table), in CSR form.
/// Every entity has at least one level: a missing value, an id absent from the metadata
/// and an empty multi-valued list all map to the variable's `"unknown"` level, or to an
/// extra row added after the levels when the variable has none. A multi-valued entity's
/// input is the average of its levels' embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct SideInput {
    /// Variable name (`occupation`, `genres`, ...).
    pub name: String,
    /// True for a user variable, false for an item variable.
    pub of_users: bool,
    /// Embedding size.
    pub dim: usize,
    /// Rows of the embedding table (levels, plus one when an extra unknown row was needed).
    pub rows: usize,
    /// Entity `e`'s levels are `levels[offsets[e]..offsets[e + 1]]`.
    pub offsets: Vec<u32>,
    /// Level indices, all below `rows`.
    pub levels: Vec<u32>,
}

impl SideInput {
    /// Levels of entity `e` (a user or item index).
    #[inline]
    pub fn of(&self, e: u32) -> &[u32] {
        let e = e as usize;
        &self.levels[self.offsets[e] as usize..self.offsets[e + 1] as usize]
    }

    /// Number of entities.
    pub fn entities(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Checks the CSR structure (for loaded models).
    pub fn check(&self, entities: usize) -> std::result::Result<(), String> {
        let ok = self.offsets.len() == entities + 1
            && self.offsets.first() == Some(&0)
            && self.offsets.windows(2).all(|w| w[0] < w[1])
            && *self.offsets.last().unwrap() as usize == self.levels.len()
            && self.levels.iter().all(|&l| (l as usize) < self.rows)
            && self.dim >= 1;
        if ok {
            Ok(())
        } else {
            Err(format!("side variable `{}`: malformed lookup", self.name))
        }
    }
}

/// Builds the lookups of `features` (name, size) for the users and items of `split`
/// from the side tables of `data`: a name is looked up among the user variables first,
/// then among the item variables; an unknown name is a usage error listing the ones
/// there are. Two implicit-feedback variables exist for any data (unless the metadata
/// has variables of those names): `rated`, each user's set of items rated in
/// `split.train` (SVD++'s N(u), averaged), and `raters`, each item's set of users.
pub fn side_inputs(
    features: &[(String, usize)],
    data: &Dataset,
    split: &TrainTest,
) -> Result<Vec<SideInput>> {
    side_inputs_of(features, &crate::models::TrainingSet::of_split(split, data))
}

/// [`side_inputs`] for the rows of a [`crate::models::TrainingSet`].
pub fn side_inputs_of(
    features: &[(String, usize)],
    set: &crate::models::TrainingSet<'_>,
) -> Result<Vec<SideInput>> {
    let mut out = Vec::with_capacity(features.len());
    for (name, dim) in features {
        let implicit = (name == "rated" || name == "raters")
            && set.features.users.variable(name).is_none()
            && set.features.items.variable(name).is_none();
        if implicit {
            out.push(implicit_input(name, *dim, set));
            continue;
        }
        let (table, of_users, ids, n) = if set.features.users.variable(name).is_some() {
            (&set.features.users, true, set.users, set.n_users)
        } else if set.features.items.variable(name).is_some() {
            (&set.features.items, false, set.items, set.n_items)
        } else {
            let names: Vec<&str> = (set.features.users.variables.iter())
                .chain(&set.features.items.variables)
                .map(|v| v.name.as_str())
                .collect();
            return Err(Error::Usage(format!(
                "unknown side variable '{name}' (this data has: {}; always: rated, raters)",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        };
        let var = table.variable(name).expect("checked above");
        let unknown_level = (!var.multi_valued)
            .then(|| var.levels.iter().position(|l| l == "unknown"))
            .flatten();
        let extra = var.levels.len() as u32;
        let mut needs_extra = false;
        let mut offsets = vec![0u32];
        let mut levels = Vec::new();
        for e in 0..n {
            let values = table
                .ids
                .index_of(ids.raw(e))
                .and_then(|k| var.values.get(k as usize))
                .filter(|v| !v.is_empty());
            match values {
                Some(v) => levels.extend_from_slice(v),
                None => levels.push(unknown_level.map_or_else(
                    || {
                        needs_extra = true;
                        extra
                    },
                    |l| l as u32,
                )),
            }
            offsets.push(levels.len() as u32);
        }
        out.push(SideInput {
            name: name.clone(),
            of_users,
            dim: *dim,
            rows: var.levels.len() + needs_extra as usize,
            offsets,
            levels,
        });
    }
    Ok(out)
}

/// The implicit-feedback variables of the training ratings (as SVD++'s N(u)): `rated`,
/// a user's set of rated items (levels: item indices), or `raters`, an item's set of
/// users. An entity without any (not possible for a training id) gets an extra row.
pub(super) fn implicit_input(
    name: &str,
    dim: usize,
    set: &crate::models::TrainingSet<'_>,
) -> SideInput {
    let of_users = name == "rated";
    let (n, levels_n) = if of_users {
        (set.n_users, set.n_items)
    } else {
        (set.n_items, set.n_users)
    };
    let (keys, vals) = if of_users {
        (&set.ratings.users, &set.ratings.items)
    } else {
        (&set.ratings.items, &set.ratings.users)
    };
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
    for (&k, &v) in keys.iter().zip(vals) {
        lists[k as usize].push(v);
    }
    let mut needs_extra = false;
    let mut offsets = vec![0u32];
    let mut levels = Vec::with_capacity(keys.len());
    for mut list in lists {
        list.sort_unstable();
        list.dedup();
        if list.is_empty() {
            needs_extra = true;
            list.push(levels_n);
        }
        levels.extend_from_slice(&list);
        offsets.push(levels.len() as u32);
    }
    SideInput {
        name: name.to_string(),
        of_users,
        dim,
        rows: levels_n as usize + needs_extra as usize,
        offsets,
        levels,
    }
}
