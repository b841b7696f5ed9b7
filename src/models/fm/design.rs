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

/// The whole design: the user block, the item block and the groups (in feature order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Design {
    pub user: Block,
    pub item: Block,
    pub groups: Vec<Group>,
}

impl Design {
    /// Features in all.
    pub fn n_features(&self) -> usize {
        self.item.end as usize
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

    /// The design of the rows of `set` with the extra feature groups `features`
    /// (`rated`, `raters`, side-variable names; `side` = every side variable the data
    /// has).
    pub fn build(set: &TrainingSet<'_>, features: &[String]) -> Result<Design> {
        let mut names: Vec<String> = Vec::new();
        for f in features {
            if f == "side" {
                for v in (set.features.users.variables.iter()).chain(&set.features.items.variables)
                {
                    if !names.contains(&v.name) {
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
        Ok(Design { user, item, groups })
    }
}
