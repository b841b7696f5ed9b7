//! Side variables (user occupation, gender, age group; item genres, release year) and
//! item titles, as categorical values usable as embedding rows.

use super::IdMap;

/// One categorical side variable of one kind of entity (users or items).
///
/// Every entity of the owning [`SideTable`] has a list of level indices in `values`:
/// exactly one for single-valued variables (a missing value is the level `"unknown"`),
/// zero or more for multi-valued ones (genres). A level index is a row of the
/// variable's embedding table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variable {
    /// Name used on the command line: `occupation`, `gender`, `age`, `genres`, `year`.
    pub name: String,
    /// Level names; the level index is the position in this list.
    pub levels: Vec<String>,
    /// True when an entity may have several levels (genres).
    pub multi_valued: bool,
    /// Per entity (in the order of [`SideTable::ids`]): its level indices.
    pub values: Vec<Vec<u32>>,
}

/// Metadata for one kind of entity, keyed by the raw ids of the metadata file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SideTable {
    /// Raw ids in file order; entity `k` of every variable is `ids.raw(k)`.
    pub ids: IdMap,
    /// Side variables.
    pub variables: Vec<Variable>,
    /// Display titles (items only), in `ids` order; empty when the source had none.
    pub titles: Vec<String>,
}

impl SideTable {
    /// The variable called `name`, if present.
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    /// The title of the entity with raw id `raw`, if known.
    pub fn title(&self, raw: &str) -> Option<&str> {
        let k = self.ids.index_of(raw)? as usize;
        self.titles.get(k).map(String::as_str)
    }

    /// True when the table holds no entities.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// User and item side information loaded beside the ratings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// User variables: `occupation`, `gender`, `age` (the MovieLens 1M age bins).
    pub users: SideTable,
    /// Item variables: `genres` (multi-valued), `year`; and titles.
    pub items: SideTable,
}

/// The MovieLens 1M age bins, as (lower bound, label): 1 "Under 18", 18 "18-24",
/// 25 "25-34", 35 "35-44", 45 "45-49", 50 "50-55", 56 "56+".
pub const AGE_BINS: [(u32, &str); 7] = [
    (1, "Under 18"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-49"),
    (50, "50-55"),
    (56, "56+"),
];

/// The label of the 1M age bin holding a raw age in years (also used for 100K's ages).
///
/// ```
/// use embedrec::data::features::age_group;
/// assert_eq!(age_group(7), "Under 18");
/// assert_eq!(age_group(24), "18-24");
/// assert_eq!(age_group(73), "56+");
/// ```
pub fn age_group(age: u32) -> &'static str {
    AGE_BINS
        .iter()
        .rev()
        .find(|(lo, _)| age >= *lo)
        .map_or(AGE_BINS[0].1, |(_, label)| label)
}
