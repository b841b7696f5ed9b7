//! MovieLens readers (100K, 1M, 10M, 25M / latest) and folder detection.

use super::{Dataset, IdMap, Ratings, ReadOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// See [`super::load`].
pub fn load(path: &Path, _opts: &ReadOptions) -> Result<Dataset> {
    Err(Error::bad_input(path, "reader not implemented yet"))
}

/// Reads a ratings file with the format of `path` (detected as in [`super::load`]),
/// mapping raw ids through `users` / `items` (new ids get the next indices). Returns the
/// ratings and the warnings met.
pub fn read_ratings_into(
    path: &Path,
    _opts: &ReadOptions,
    _users: &mut IdMap,
    _items: &mut IdMap,
) -> Result<(Ratings, Vec<String>)> {
    Err(Error::bad_input(path, "reader not implemented yet"))
}
