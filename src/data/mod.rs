//! Reading rating data: MovieLens 100K / 1M / 10M / 25M / latest, generic delimited
//! files, Parquet files and Spark's Parquet folders; side variables; splits; synthetic
//! data; downloads.
//!
//! Everything produces a [`Dataset`]: [`Ratings`] over dense indices, the two [`IdMap`]s,
//! optional [`Features`], the rating scale and the warnings met while reading.

pub mod delimited;
pub mod features;
pub mod fetch;
pub mod movielens;
pub mod parquet;
mod ratings;
pub mod split;
pub mod stats;
pub mod synthetic;

pub use features::{Features, SideTable, Variable};
pub use ratings::{IdMap, Ratings};
pub use split::{SplitSpec, TrainTest};

use crate::error::Result;
use std::path::{Path, PathBuf};

/// The range of valid rating values.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RatingScale {
    /// Lowest valid rating.
    pub min: f32,
    /// Highest valid rating.
    pub max: f32,
}

impl RatingScale {
    /// Whole stars 1..5 (MovieLens 100K and 1M).
    pub const STARS_1_5: RatingScale = RatingScale { min: 1.0, max: 5.0 };
    /// Half stars 0.5..5 (MovieLens 10M, 25M, latest).
    pub const HALF_STARS: RatingScale = RatingScale { min: 0.5, max: 5.0 };

    /// `x` clipped into the scale.
    pub fn clip(&self, x: f32) -> f32 {
        x.clamp(self.min, self.max)
    }

    /// True when `x` lies in the scale (inclusive).
    pub fn contains(&self, x: f32) -> bool {
        x >= self.min && x <= self.max
    }
}

/// What to do with a repeated (user, item) pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DuplicatePolicy {
    /// Fail, naming the file and both lines.
    Error,
    /// Keep the later rating (the default), with a warning giving the count.
    #[default]
    KeepLast,
    /// Replace the pair's ratings by their mean, with a warning giving the count.
    Mean,
}

/// Column layout of a generic delimited ratings file.
#[derive(Debug, Clone, PartialEq)]
pub struct DelimitedSpec {
    /// Field separator (one or more bytes, e.g. `","`, `"\t"`, `"::"`).
    pub delimiter: String,
    /// True when the first line is a header to skip.
    pub header: bool,
    /// 0-based column of the user id.
    pub user_col: usize,
    /// 0-based column of the item id.
    pub item_col: usize,
    /// 0-based column of the rating; `None` means every line is an interaction of value 1.
    pub rating_col: Option<usize>,
    /// 0-based column of the Unix timestamp, if any.
    pub time_col: Option<usize>,
}

impl Default for DelimitedSpec {
    fn default() -> Self {
        DelimitedSpec {
            delimiter: ",".into(),
            header: true,
            user_col: 0,
            item_col: 1,
            rating_col: Some(2),
            time_col: Some(3),
        }
    }
}

/// One column of a ratings file, as the caller chooses it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Column {
    /// Left to the reader: a Parquet file's conventional column name, else its position;
    /// for a delimited file the layout's own column.
    #[default]
    Detect,
    /// Not in the file: no rating (every record an interaction of value 1) or no time.
    /// Refused for the user and item columns.
    Absent,
    /// The 0-based column number.
    Index(usize),
    /// The column's name: a Parquet column, or a delimited file's header field (an exact
    /// match first, else the one match ignoring ASCII case).
    Name(String),
}

impl Column {
    /// Parses a command-line column: `none` is [`Column::Absent`], a whole number a
    /// [`Column::Index`], anything else a [`Column::Name`].
    pub fn parse(text: &str) -> Column {
        match text {
            "none" => Column::Absent,
            t => match t.parse() {
                Ok(k) => Column::Index(k),
                Err(_) => Column::Name(t.to_string()),
            },
        }
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Detect => f.write_str("detected"),
            Column::Absent => f.write_str("none"),
            Column::Index(k) => write!(f, "column {k}"),
            Column::Name(n) => write!(f, "`{n}`"),
        }
    }
}

/// The columns of the user id, item id, rating and time, each chosen by number or name
/// or left to the reader. They apply to Parquet files and to generic delimited files
/// (over the layout of [`ReadOptions::delimited`] or the guessed one; a name there needs
/// a header row), not to the fixed MovieLens formats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// The user id column.
    pub user: Column,
    /// The item id column.
    pub item: Column,
    /// The rating column.
    pub rating: Column,
    /// The time column (a Unix time in seconds).
    pub time: Column,
}

impl Columns {
    /// The four choices in the order user, item, rating, time.
    pub fn as_array(&self) -> [&Column; 4] {
        [&self.user, &self.item, &self.rating, &self.time]
    }
}

/// How to read rating files. The defaults detect MovieLens formats by file name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadOptions {
    /// Layout for files that are not recognised as MovieLens (by name); `None` = guess the
    /// layout ([`delimited::sniff`]: tab, comma, then `::`, header detected) or fail with a
    /// message asking for `--delimiter` and column flags.
    pub delimited: Option<DelimitedSpec>,
    /// Declared rating scale; a rating outside it is an error. `None` = the format's own
    /// scale (MovieLens) or the observed range (generic files).
    pub scale: Option<RatingScale>,
    /// Policy for repeated (user, item) pairs.
    pub duplicates: DuplicatePolicy,
    /// User metadata file overriding the one found beside the ratings.
    pub users_file: Option<PathBuf>,
    /// Item metadata file overriding the one found beside the ratings.
    pub items_file: Option<PathBuf>,
    /// Do not keep timestamps (they are still checked): 8 bytes a rating saved when no
    /// split needs them ([`split::SplitSpec::needs_times`]).
    pub drop_times: bool,
    /// Columns chosen by number or name (Parquet and generic delimited files); the
    /// default leaves every column to the reader.
    pub columns: Columns,
}

/// Ratings with their id maps, side information and provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The ratings, over the indices of `users` and `items`.
    pub ratings: Ratings,
    /// Raw user id <-> index.
    pub users: IdMap,
    /// Raw item id <-> index.
    pub items: IdMap,
    /// Side variables and titles (empty tables when the source had none).
    pub features: Features,
    /// Valid rating range.
    pub scale: RatingScale,
    /// Where the data came from (file or folder), for messages.
    pub source: PathBuf,
    /// Non-fatal problems met while reading (e.g. duplicates kept), one line each.
    pub warnings: Vec<String>,
}

impl Dataset {
    /// The display title of the item with index `item`, when metadata has one.
    pub fn item_title(&self, item: u32) -> Option<&str> {
        self.features.items.title(self.items.raw(item))
    }

    /// Loads a ratings file or a MovieLens folder with the default [`ReadOptions`]
    /// (formats detected by name, generic layouts guessed): see [`load`].
    pub fn load(path: impl AsRef<Path>) -> Result<Dataset> {
        load(path.as_ref(), &ReadOptions::default())
    }

    /// Loads with explicit [`ReadOptions`] (delimiter, columns, scale, duplicates).
    pub fn load_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Dataset> {
        load(path.as_ref(), options)
    }

    /// Seeded MovieLens-shaped synthetic ratings (side variables and titles included):
    /// `users` x `items` with exactly `ratings` ratings. See [`synthetic::generate`].
    pub fn synthetic(users: usize, items: usize, ratings: usize, seed: u64) -> Result<Dataset> {
        let params = synthetic::SynthParams {
            users,
            items,
            ratings,
            seed,
            ..Default::default()
        };
        Ok(synthetic::generate(&params)?.dataset)
    }

    /// Ratings from Arrow record batches of `schema` (e.g. a pyarrow Table or a Spark
    /// DataFrame's batches, through the Arrow C stream interface): columns, types, checks
    /// and errors as for a Parquet file ([`parquet::read_batches`]); `source` names the
    /// data in messages. No side variables.
    pub fn from_record_batches<E: std::fmt::Display>(
        source: &str,
        schema: &arrow_schema::Schema,
        batches: impl IntoIterator<Item = std::result::Result<arrow_array::RecordBatch, E>>,
        options: &ReadOptions,
    ) -> Result<Dataset> {
        let source = PathBuf::from(source);
        let (mut users, mut items) = (IdMap::default(), IdMap::default());
        let (ratings, warnings, scale) =
            parquet::read_batches(&source, schema, batches, options, &mut users, &mut items)?;
        Ok(Dataset {
            ratings,
            users,
            items,
            features: Features::default(),
            scale,
            source,
            warnings,
        })
    }

    /// Splits into a training and a test dataset (`seed` drives random splits). The
    /// training dataset holds the ids that have training ratings; the test dataset
    /// keeps every id of the data, so that a test id unknown to a model trained on the
    /// first is counted as unknown, never dropped.
    pub fn split(&self, spec: &SplitSpec, seed: u64) -> Result<(Dataset, Dataset)> {
        Ok(spec.apply(self, seed)?.into_datasets(self))
    }
}

/// Loads a ratings file or a MovieLens folder.
///
/// A folder is recognised as MovieLens 100K (`u.data`), 1M / 10M (`ratings.dat`) or
/// 25M / latest (`ratings.csv`), and its user and item metadata load with it. A file is
/// recognised by name (`u.data`, `*.base`, `*.test`, `ratings.dat`, `ratings.csv`); when it
/// lies in a MovieLens folder the metadata beside it loads too (overridden by
/// `opts.users_file` / `opts.items_file`). A Parquet file (named `*.parquet`, or starting
/// with the `PAR1` magic) or a folder of Parquet part files as Spark writes it is read by
/// [`parquet::read`] (columns from `opts.columns`, else found by name). Other files are
/// read as generic delimited files with `opts.delimited`, or a layout guessed by
/// [`delimited::sniff`], with `opts.columns` laid over it. Missing metadata gives empty
/// [`SideTable`]s. See [`movielens`] for the formats and scales.
pub fn load(path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    movielens::load(path, opts)
}

/// Loads predefined train and test files (e.g. `u1.base` / `u1.test`) into one
/// [`TrainTest`], with the training file's [`Dataset`] (metadata, scale, warnings).
/// Ids that appear only in the test file are counted as unknown, never dropped.
pub fn load_train_test(
    train: &Path,
    test: &Path,
    opts: &ReadOptions,
) -> Result<(Dataset, TrainTest)> {
    let mut data = load(train, opts)?;
    let mut users = data.users.clone();
    let mut items = data.items.clone();
    let mut test_opts = opts.clone();
    test_opts.scale = Some(data.scale);
    let (test_ratings, warnings) =
        movielens::read_ratings_into(test, &test_opts, &mut users, &mut items)?;
    data.warnings.extend(warnings);
    let split = TrainTest::new(data.ratings.clone(), test_ratings, users, items);
    Ok((data, split))
}
