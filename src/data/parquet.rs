//! Parquet ratings: one file, or a folder as Spark's `df.write.parquet(path)` leaves it
//! (part files `part-*.parquet`, a `_SUCCESS` marker, maybe `.crc` files); and the
//! Parquet writer of top-N lists.
//!
//! **Detection** ([`is_parquet`]): a file named `*.parquet` or starting with the `PAR1`
//! magic; a folder holding part files. A folder's part files are every `*.parquet` file
//! in it whose name does not start with `_` or `.` (so `_SUCCESS`, `_metadata` and the
//! `.crc` files are skipped), read in name order as one file (rows are numbered on across them; errors name the part file and
//! the row within it). Subfolders (partitioned datasets) are not read.
//!
//! **Columns**: each of [`ReadOptions::columns`] chosen by number or name is taken as
//! given. The others are found by their conventional names, ignoring ASCII case (user:
//! `user`, `userId`, `user_id`; item: `item`, `itemId`, `item_id`, `movieId`,
//! `movie_id`; rating: `rating`; time: `timestamp`, `time`; no time column is no
//! time), or, when the file has none of those names, by position: user, item, rating
//! and, when the fourth column holds integers or timestamps, time.
//!
//! **Types**: ids may be integers of any width (signed or not) or strings (UTF-8, large,
//! view, binary, or dictionary-encoded); they become the same raw id strings as the text
//! readers make (`42`, not `42.0`). Ratings may be floats (32 or 64 bits), integers or
//! decimals; times integers (Unix seconds), timestamps of any unit (floored to seconds)
//! or dates. Ratings go through the same checks as every reader's (finite, inside
//! [`ReadOptions::scale`], the duplicate policy); the scale is otherwise the observed
//! range. Codecs: uncompressed, Snappy and Zstandard.
//!
//! **Errors** (all [`Error::BadInput`] or [`Error::Parse`], never a panic): a damaged
//! or truncated file; a column of the wrong type (e.g. ratings as strings), naming the
//! column; a null in a used column, naming the row; a named column missing, listing the
//! file's columns.

use super::delimited::{RatingSink, find_name, observed_scale};
use super::{Column, IdMap, RatingScale, Ratings, ReadOptions};
use crate::error::{Error, Result};
use ::parquet::arrow::ArrowWriter;
use ::parquet::arrow::ProjectionMask;
use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use ::parquet::basic::Compression;
use ::parquet::file::properties::WriterProperties;
use arrow_array::builder::{ArrayBuilder, Float32Builder, Int32Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use std::cell::Cell;
use std::fs::File;
use std::io::{Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};

/// The first (and last) four bytes of every Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// The roles of the four columns, as messages name them.
const ROLES: [&str; 4] = ["user", "item", "rating", "time"];

/// Conventional column names of each role, matched ignoring ASCII case, in order.
pub const CONVENTIONAL_NAMES: [&[&str]; 4] = [
    &["user", "userId", "user_id"],
    &["item", "itemId", "item_id", "movieId", "movie_id"],
    &["rating"],
    &["timestamp", "time"],
];

/// Rows per record batch read or written.
const BATCH_ROWS: usize = 64 * 1024;

/// True when `path` is Parquet: a folder holding `*.parquet` part files (Spark's output;
/// a `_SUCCESS` marker alone does not make one, Spark writes it beside CSV parts too), a
/// file named `*.parquet`, or a file starting with `PAR1`.
pub fn is_parquet(path: &Path) -> bool {
    if path.is_dir() {
        return part_files(path).is_ok_and(|p| !p.is_empty());
    }
    if has_parquet_extension(path) {
        return true;
    }
    let mut head = [0u8; 4];
    File::open(path).is_ok_and(|mut f| f.read_exact(&mut head).is_ok() && &head == MAGIC)
}

fn has_parquet_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// The part files of a Parquet folder, in name order: its `*.parquet` files whose names
/// do not start with `_` or `.` (possibly none).
pub fn part_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('_') || name.starts_with('.') || !has_parquet_extension(&path) {
            continue;
        }
        if path.is_file() {
            parts.push(path);
        }
    }
    parts.sort();
    Ok(parts)
}

/// Reads a Parquet ratings file or a folder of part files (see the module docs),
/// mapping raw ids through `users` / `items`. Returns the ratings, the warnings, and
/// the scale: `opts.scale`, or else the observed minimum..maximum.
pub fn read(
    path: &Path,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<(Ratings, Vec<String>, RatingScale)> {
    let folder = path.is_dir();
    let files = if folder {
        let parts = part_files(path)?;
        if parts.is_empty() {
            return Err(Error::bad_input(
                path,
                "no Parquet part files (*.parquet) in the folder",
            ));
        }
        parts
    } else {
        vec![path.to_path_buf()]
    };
    let mut sink: Option<(RatingSink, [Option<String>; 4], PathBuf)> = None;
    let mut next = 1;
    for file in &files {
        let part = without_panics(file, || open(file, opts))?;
        let (sink, first_names, first_file) = sink.get_or_insert_with(|| {
            let names = std::array::from_fn(|k| {
                part.names[k]
                    .clone()
                    .unwrap_or_else(|| ROLES[k].to_string())
            });
            let with_times = part.names[3].is_some() && !opts.drop_times;
            (
                RatingSink::rows(path, names, opts.scale, with_times),
                part.names.clone(),
                file.clone(),
            )
        });
        if *first_names != part.names {
            let show = |n: &[Option<String>; 4]| {
                n.iter()
                    .map(|c| c.as_deref().unwrap_or("-"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Error::bad_input(
                file,
                format!(
                    "its user, item, rating and time columns ({}) differ from those of {} ({})",
                    show(&part.names),
                    first_file.display(),
                    show(first_names)
                ),
            ));
        }
        if folder {
            sink.start_part(next, file);
        }
        next += without_panics(file, || read_part(file, part, sink, users, items, next))?;
    }
    let (sink, _, _) = sink.expect("at least one file");
    let (ratings, warnings) = sink.finish(opts.duplicates, users, items)?;
    let scale = opts
        .scale
        .unwrap_or_else(|| observed_scale(&ratings.values));
    Ok((ratings, warnings, scale))
}

/// Runs `f`, a read of `file`, turning a panic inside it into an [`Error::BadInput`]
/// without printing it. The Parquet decoder asserts on some damaged data (e.g. a page of
/// a byte-stream-split column shorter than its values); a damaged file must be an input
/// error like any other. The panic hook installed for this (once, chaining to the one
/// before) stays silent only on this thread and only while such a read runs.
fn without_panics<T>(file: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let out = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    out.unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the decoder failed".into());
        Err(Error::bad_input(
            file,
            format!("damaged Parquet data: {why}"),
        ))
    })
}

/// A Parquet file opened for reading its chosen columns.
struct Part {
    builder: ParquetRecordBatchReaderBuilder<File>,
    /// The chosen column of each role (user, item, rating, time).
    columns: [Option<usize>; 4],
    /// Their names.
    names: [Option<String>; 4],
}

fn open(file: &Path, opts: &ReadOptions) -> Result<Part> {
    let handle = File::open(file).map_err(|e| Error::io(file, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(handle)
        .map_err(|e| Error::bad_input(file, format!("not a readable Parquet file: {e}")))?;
    check_layout(file, &builder)?;
    let schema = builder.schema().clone();
    let fields = schema.fields();
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    let types: Vec<&DataType> = fields.iter().map(|f| f.data_type()).collect();
    let columns = choose_columns(file, &names, &types, opts)?;
    check_types(file, fields, &columns)?;
    Ok(Part {
        builder,
        names: columns.map(|c| c.map(|c| names[c].to_string())),
        columns,
    })
}

/// Checks every chosen column's type before any row is read.
fn check_types(
    file: &Path,
    fields: &arrow_schema::Fields,
    columns: &[Option<usize>; 4],
) -> Result<()> {
    for (role, col) in columns.iter().enumerate() {
        if let Some(c) = *col {
            let empty = arrow_array::new_empty_array(fields[c].data_type());
            let checked = match role {
                0 | 1 => id_getter(empty.as_ref()).map(drop),
                2 => rating_getter(empty.as_ref()).map(drop),
                _ => time_getter(empty.as_ref()).map(drop),
            };
            checked.map_err(|m| {
                Error::bad_input(
                    file,
                    format!("column `{}` (the {}): {m}", fields[c].name(), ROLES[role]),
                )
            })?;
        }
    }
    Ok(())
}

/// Reads ratings from Arrow record batches of `schema` (a pyarrow Table through the
/// Arrow C stream interface, a Spark DataFrame's batches): the columns are chosen as in
/// a Parquet file (`opts.columns`, else the conventional names, else positions), with
/// the same types, checks and errors; `source` names the data in messages, rows are
/// numbered from 1 across the batches. Returns what [`read`] returns.
pub fn read_batches<E: std::fmt::Display>(
    source: &Path,
    schema: &Schema,
    batches: impl IntoIterator<Item = std::result::Result<RecordBatch, E>>,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<(Ratings, Vec<String>, RatingScale)> {
    let fields = schema.fields();
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    let types: Vec<&DataType> = fields.iter().map(|f| f.data_type()).collect();
    let columns = choose_columns(source, &names, &types, opts)?;
    check_types(source, fields, &columns)?;
    let names = columns.map(|c| c.map(|c| names[c].to_string()));
    let with_times = names[3].is_some() && !opts.drop_times;
    let role_names =
        std::array::from_fn(|k| names[k].clone().unwrap_or_else(|| ROLES[k].to_string()));
    let mut sink = RatingSink::rows(source, role_names, opts.scale, with_times);
    let at = columns;
    push_batches(source, batches, &at, &names, &mut sink, users, items, 1)?;
    let (ratings, warnings) = sink.finish(opts.duplicates, users, items)?;
    if ratings.is_empty() {
        return Err(Error::bad_input(source, "no ratings"));
    }
    let scale = opts
        .scale
        .unwrap_or_else(|| observed_scale(&ratings.values));
    Ok((ratings, warnings, scale))
}

/// Checks what the Parquet reader takes on trust from the footer (and would panic on):
/// every column chunk lies inside the file, every count is non-negative.
fn check_layout(file: &Path, builder: &ParquetRecordBatchReaderBuilder<File>) -> Result<()> {
    let len = std::fs::metadata(file)
        .map_err(|e| Error::io(file, e))?
        .len();
    let damaged = |what: String| Error::bad_input(file, format!("damaged Parquet file: {what}"));
    for (g, group) in builder.metadata().row_groups().iter().enumerate() {
        if group.num_rows() < 0 {
            return Err(damaged(format!(
                "row group {g} has {} rows",
                group.num_rows()
            )));
        }
        for chunk in group.columns() {
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or_else(|| chunk.data_page_offset());
            let size = chunk.compressed_size();
            let inside = u64::try_from(start)
                .ok()
                .zip(u64::try_from(size).ok())
                .and_then(|(a, b)| a.checked_add(b))
                .is_some_and(|end| end <= len);
            if !inside || chunk.data_page_offset() < 0 {
                return Err(damaged(format!(
                    "a column chunk of row group {g} lies outside the file (at {start}, {size} bytes)"
                )));
            }
        }
    }
    Ok(())
}

/// The column of each role (see the module docs), from the file's column `names`.
fn choose_columns(
    file: &Path,
    names: &[&str],
    types: &[&DataType],
    opts: &ReadOptions,
) -> Result<[Option<usize>; 4]> {
    let wanted = opts.columns.as_array();
    let list = || names.join(", ");
    let conventional = |k: usize| {
        CONVENTIONAL_NAMES[k]
            .iter()
            .find_map(|c| names.iter().position(|n| n.eq_ignore_ascii_case(c)))
    };
    let by_name = (0..4).any(|k| *wanted[k] == Column::Detect && conventional(k).is_some());
    let mut chosen = [None; 4];
    for k in 0..4 {
        chosen[k] = match wanted[k] {
            Column::Absent if k < 2 => {
                return Err(Error::Usage(format!(
                    "the {} column cannot be 'none'",
                    ROLES[k]
                )));
            }
            Column::Absent => None,
            Column::Index(i) if *i < names.len() => Some(*i),
            Column::Index(i) => {
                return Err(Error::bad_input(
                    file,
                    format!(
                        "no column {i} for the {} (0-based; the file's {} columns: {})",
                        ROLES[k],
                        names.len(),
                        list()
                    ),
                ));
            }
            Column::Name(name) => {
                Some(find_name(names.iter().copied(), name).ok_or_else(|| {
                    Error::bad_input(
                        file,
                        format!(
                            "no column `{name}` for the {} (the file's columns: {})",
                            ROLES[k],
                            list()
                        ),
                    )
                })?)
            }
            Column::Detect if by_name => match conventional(k) {
                Some(c) => Some(c),
                None if k == 3 => None,
                None => {
                    return Err(Error::bad_input(
                        file,
                        format!(
                            "no {} column (none named {}); give --{}-col NAME{} \
                             (the file's columns: {})",
                            ROLES[k],
                            CONVENTIONAL_NAMES[k].join(", "),
                            ROLES[k],
                            if k == 2 { " or 'none'" } else { "" },
                            list()
                        ),
                    ));
                }
            },
            Column::Detect if k < names.len() => {
                let time_like = matches!(
                    types[k],
                    DataType::Int8
                        | DataType::Int16
                        | DataType::Int32
                        | DataType::Int64
                        | DataType::UInt8
                        | DataType::UInt16
                        | DataType::UInt32
                        | DataType::UInt64
                        | DataType::Timestamp(..)
                );
                (k < 3 || time_like).then_some(k)
            }
            Column::Detect if k == 3 => None,
            Column::Detect => {
                return Err(Error::bad_input(
                    file,
                    format!(
                        "no {} column: the file has {} columns ({}) and none of the \
                         conventional names; give --{}-col",
                        ROLES[k],
                        names.len(),
                        list(),
                        ROLES[k]
                    ),
                ));
            }
        };
    }
    for a in 0..4 {
        for b in a + 1..4 {
            if let (Some(x), Some(y)) = (chosen[a], chosen[b])
                && x == y
            {
                return Err(Error::Usage(format!(
                    "{}: column `{}` is chosen as both the {} and the {}",
                    file.display(),
                    names[x],
                    ROLES[a],
                    ROLES[b]
                )));
            }
        }
    }
    Ok(chosen)
}

/// Streams the chosen columns of one file into `sink`, its rows numbered from `first`
/// in the sink's count. Returns the number of rows.
fn read_part(
    file: &Path,
    part: Part,
    sink: &mut RatingSink,
    users: &mut IdMap,
    items: &mut IdMap,
    first: usize,
) -> Result<usize> {
    let Part {
        builder,
        columns,
        names,
    } = part;
    let mut roots: Vec<usize> = columns.iter().flatten().copied().collect();
    roots.sort_unstable();
    // The position of each role's column among the projected ones.
    let at = columns.map(|c| c.map(|c| roots.binary_search(&c).expect("projected")));
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| Error::bad_input(file, format!("not a readable Parquet file: {e}")))?;
    push_batches(file, reader, &at, &names, sink, users, items, first)
}

/// Streams record batches whose column of each role sits at `at` into `sink`, rows
/// numbered from `first` in the sink's count; `file` and `names` name them in errors.
/// Returns the number of rows.
#[allow(clippy::too_many_arguments)]
fn push_batches<E: std::fmt::Display>(
    file: &Path,
    batches: impl IntoIterator<Item = std::result::Result<RecordBatch, E>>,
    at: &[Option<usize>; 4],
    names: &[Option<String>; 4],
    sink: &mut RatingSink,
    users: &mut IdMap,
    items: &mut IdMap,
    first: usize,
) -> Result<usize> {
    let damaged = |e: &dyn std::fmt::Display| {
        Error::bad_input(file, format!("damaged or truncated data: {e}"))
    };
    let name = |k: usize| names[k].as_deref().unwrap_or(ROLES[k]);
    let (mut user, mut item) = (Vec::with_capacity(32), Vec::with_capacity(32));
    let mut row0 = 0;
    for batch in batches {
        let batch = batch.map_err(|e| damaged(&e))?;
        let column = |k: usize| at[k].map(|p| batch.column(p).as_ref());
        let typed = |k: usize, m: String| {
            Error::bad_input(
                file,
                format!("column `{}` (the {}): {m}", name(k), ROLES[k]),
            )
        };
        let (users_col, items_col) = (column(0).expect("user"), column(1).expect("item"));
        let get_user = id_getter(users_col).map_err(|m| typed(0, m))?;
        let get_item = id_getter(items_col).map_err(|m| typed(1, m))?;
        let get_rating = column(2)
            .map(|c| rating_getter(c).map_err(|m| typed(2, m)))
            .transpose()?;
        let get_time = column(3)
            .map(|c| time_getter(c).map_err(|m| typed(3, m)))
            .transpose()?;
        let nulls: [_; 4] = std::array::from_fn(|k| column(k).and_then(|c| c.logical_nulls()));
        for k in 0..batch.num_rows() {
            let row = row0 + k + 1;
            if let Some(role) = (0..4).find(|&r| nulls[r].as_ref().is_some_and(|n| n.is_null(k))) {
                let what = ["null id", "null id", "null rating", "null time"][role];
                return Err(Error::parse(
                    file,
                    row,
                    name(role),
                    format!("row {row}: {what}"),
                ));
            }
            user.clear();
            item.clear();
            get_user(k, &mut user);
            get_item(k, &mut item);
            let value = get_rating.as_ref().map_or(1.0, |g| g(k) as f32);
            let time = match &get_time {
                None => None,
                Some(g) => Some(g(k).ok_or_else(|| {
                    Error::parse(
                        file,
                        row,
                        name(3),
                        format!("row {row}: the time is out of range"),
                    )
                })?),
            };
            sink.push_value(first + row0 + k, &user, &item, value, time, users, items)?;
        }
        row0 += batch.num_rows();
    }
    Ok(row0)
}

/// The ids of an Arrow column (integers of any width or strings, as [`read_batches`]
/// takes them) as the raw id strings the readers make; a null or a column of another
/// type is an error naming `name`.
pub fn id_strings(col: &dyn Array, name: &str) -> std::result::Result<Vec<String>, String> {
    let get = id_getter(col).map_err(|m| format!("column `{name}`: {m}"))?;
    let nulls = col.logical_nulls();
    let mut buf = Vec::with_capacity(32);
    (0..col.len())
        .map(|k| {
            if nulls.as_ref().is_some_and(|n| n.is_null(k)) {
                return Err(format!("column `{name}`, row {}: null id", k + 1));
            }
            buf.clear();
            get(k, &mut buf);
            String::from_utf8(buf.clone())
                .map_err(|_| format!("column `{name}`, row {}: the id is not UTF-8", k + 1))
        })
        .collect()
}

/// The times of an Arrow column (integers as Unix seconds, timestamps or dates, as
/// [`read_batches`] takes them) in Unix seconds; a null is `None` (no time). A column of
/// another type, or a time out of range, is an error naming `name`.
pub fn time_values(col: &dyn Array, name: &str) -> std::result::Result<Vec<Option<i64>>, String> {
    let get = time_getter(col).map_err(|m| format!("column `{name}`: {m}"))?;
    let nulls = col.logical_nulls();
    (0..col.len())
        .map(|k| {
            if nulls.as_ref().is_some_and(|n| n.is_null(k)) {
                return Ok(None);
            }
            get(k)
                .map(Some)
                .ok_or_else(|| format!("column `{name}`, row {}: time out of range", k + 1))
        })
        .collect()
}

/// Appends the id at a row, as text, to a buffer.
type IdGetter<'a> = Box<dyn Fn(usize, &mut Vec<u8>) + 'a>;

/// The id getter of a column, or why its type cannot hold ids.
fn id_getter(col: &dyn Array) -> std::result::Result<IdGetter<'_>, String> {
    macro_rules! int {
        ($t:ty) => {{
            let a = col.as_primitive::<$t>();
            Box::new(move |k, out: &mut Vec<u8>| {
                // Writing into a Vec cannot fail.
                let _ = write!(out, "{}", a.value(k));
            })
        }};
    }
    macro_rules! bytes {
        ($a:expr) => {{
            let a = $a;
            Box::new(move |k, out: &mut Vec<u8>| {
                let v: &[u8] = a.value(k).as_ref();
                out.extend_from_slice(v)
            })
        }};
    }
    Ok(match col.data_type() {
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Utf8 => bytes!(col.as_string::<i32>()),
        DataType::LargeUtf8 => bytes!(col.as_string::<i64>()),
        DataType::Utf8View => bytes!(col.as_string_view()),
        DataType::Binary => bytes!(col.as_binary::<i32>()),
        DataType::LargeBinary => bytes!(col.as_binary::<i64>()),
        DataType::BinaryView => bytes!(col.as_binary_view()),
        DataType::Dictionary(_, _) => {
            let dict = col.as_any_dictionary();
            // (`normalized_keys` asserts values; with none, every key is null and unread.)
            let keys = if dict.values().is_empty() {
                Vec::new()
            } else {
                dict.normalized_keys()
            };
            let values = id_getter(dict.values().as_ref())?;
            Box::new(move |k, out: &mut Vec<u8>| values(keys[k], out))
        }
        other => return Err(format!("holds {other}; ids must be integers or strings")),
    })
}

/// The rating at a row.
type NumberGetter<'a> = Box<dyn Fn(usize) -> f64 + 'a>;

/// The rating getter of a column, or why its type cannot hold ratings.
fn rating_getter(col: &dyn Array) -> std::result::Result<NumberGetter<'_>, String> {
    macro_rules! num {
        ($t:ty) => {{
            let a = col.as_primitive::<$t>();
            Box::new(move |k| a.value(k) as f64)
        }};
    }
    macro_rules! decimal {
        ($t:ty, $scale:expr) => {{
            let a = col.as_primitive::<$t>();
            let unit = 10f64.powi(-(*$scale as i32));
            Box::new(move |k| a.value(k) as f64 * unit)
        }};
    }
    Ok(match col.data_type() {
        DataType::Float32 => num!(Float32Type),
        DataType::Float64 => num!(Float64Type),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Decimal32(_, s) => decimal!(Decimal32Type, s),
        DataType::Decimal64(_, s) => decimal!(Decimal64Type, s),
        DataType::Decimal128(_, s) => decimal!(Decimal128Type, s),
        t @ (DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::Dictionary(..)) => {
            return Err(format!(
                "holds strings ({t}); ratings must be numbers (integers, floats or decimals)"
            ));
        }
        other => {
            return Err(format!(
                "holds {other}; ratings must be numbers (integers, floats or decimals)"
            ));
        }
    })
}

/// The Unix time in seconds at a row (`None`: out of range).
type TimeGetter<'a> = Box<dyn Fn(usize) -> Option<i64> + 'a>;

/// The time getter of a column, or why its type cannot hold times.
fn time_getter(col: &dyn Array) -> std::result::Result<TimeGetter<'_>, String> {
    macro_rules! scaled {
        ($t:ty, $per_second:expr) => {{
            let a = col.as_primitive::<$t>();
            Box::new(move |k| {
                i64::try_from(a.value(k))
                    .ok()
                    .map(|v| v.div_euclid($per_second))
            })
        }};
    }
    Ok(match col.data_type() {
        DataType::Int8 => scaled!(Int8Type, 1),
        DataType::Int16 => scaled!(Int16Type, 1),
        DataType::Int32 => scaled!(Int32Type, 1),
        DataType::Int64 => scaled!(Int64Type, 1),
        DataType::UInt8 => scaled!(UInt8Type, 1),
        DataType::UInt16 => scaled!(UInt16Type, 1),
        DataType::UInt32 => scaled!(UInt32Type, 1),
        DataType::UInt64 => scaled!(UInt64Type, 1),
        DataType::Timestamp(TimeUnit::Second, _) => scaled!(TimestampSecondType, 1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            scaled!(TimestampMillisecondType, 1_000)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            scaled!(TimestampMicrosecondType, 1_000_000)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            scaled!(TimestampNanosecondType, 1_000_000_000)
        }
        DataType::Date32 => {
            let a = col.as_primitive::<Date32Type>();
            Box::new(move |k| Some(a.value(k) as i64 * 86_400))
        }
        DataType::Date64 => scaled!(Date64Type, 1_000),
        other => {
            return Err(format!(
                "holds {other}; times must be integers (Unix seconds), timestamps or dates"
            ));
        }
    })
}

/// Writes top-N lists as Parquet rows `user` (string), `rank` (int32, from 1), `item`
/// (string), `score` (float32), Snappy-compressed, into any writer (the CLI's is the
/// atomic file writer of [`crate::store`]). Rows are buffered in record batches and
/// handed on as each is encoded; [`ListWriter::finish`] writes the rest and the footer.
pub struct ListWriter<'w> {
    out: &'w mut dyn Write,
    /// What the Parquet writer has produced and `out` not yet received.
    pending: Arc<Mutex<Vec<u8>>>,
    writer: ArrowWriter<Shared>,
    schema: Arc<Schema>,
    users: StringBuilder,
    ranks: Int32Builder,
    items: StringBuilder,
    scores: Float32Builder,
}

/// The Parquet writer's sink: a buffer shared with [`ListWriter`], which drains it.
#[derive(Clone)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned buffer"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> ListWriter<'w> {
    /// A writer of lists into `out`.
    pub fn new(out: &'w mut dyn Write) -> std::io::Result<Self> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, false),
            Field::new("rank", DataType::Int32, false),
            Field::new("item", DataType::Utf8, false),
            Field::new("score", DataType::Float32, false),
        ]));
        let pending = Arc::new(Mutex::new(Vec::new()));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(Shared(pending.clone()), schema.clone(), Some(props))
            .map_err(std::io::Error::other)?;
        Ok(ListWriter {
            out,
            pending,
            writer,
            schema,
            users: StringBuilder::new(),
            ranks: Int32Builder::new(),
            items: StringBuilder::new(),
            scores: Float32Builder::new(),
        })
    }

    /// Adds one row: `user`'s item of rank `rank` (1 = best) and its score.
    pub fn push(&mut self, user: &str, rank: usize, item: &str, score: f32) -> std::io::Result<()> {
        let rank = i32::try_from(rank).map_err(std::io::Error::other)?;
        self.users.append_value(user);
        self.ranks.append_value(rank);
        self.items.append_value(item);
        self.scores.append_value(score);
        if self.ranks.len() >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> std::io::Result<()> {
        if self.ranks.is_empty() {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.users.finish()),
            Arc::new(self.ranks.finish()),
            Arc::new(self.items.finish()),
            Arc::new(self.scores.finish()),
        ];
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(std::io::Error::other)?;
        self.writer.write(&batch).map_err(std::io::Error::other)?;
        self.drain()
    }

    /// Hands what the Parquet writer has produced on to `out`.
    fn drain(&mut self) -> std::io::Result<()> {
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| std::io::Error::other("poisoned buffer"))?;
        self.out.write_all(&pending)?;
        pending.clear();
        Ok(())
    }

    /// Writes the remaining rows and the file's footer.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.write_batch()?;
        let ListWriter {
            out,
            pending,
            writer,
            ..
        } = self;
        writer.close().map_err(std::io::Error::other)?;
        let bytes = std::mem::take(
            &mut *pending
                .lock()
                .map_err(|_| std::io::Error::other("poisoned buffer"))?,
        );
        out.write_all(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times of an Arrow column in Unix seconds: integers as they are, timestamps of any
    /// unit and dates scaled, nulls as no time; a string column is refused by name.
    #[test]
    fn time_values_read_seconds_timestamps_dates_and_nulls() {
        use arrow_array::{Date32Array, Int64Array, StringArray, TimestampMillisecondArray};
        let secs = Int64Array::from(vec![Some(86_400), None, Some(-5)]);
        assert_eq!(
            time_values(&secs, "t").unwrap(),
            [Some(86_400), None, Some(-5)]
        );
        let ms = TimestampMillisecondArray::from(vec![1_700_000_000_999, -1]);
        assert_eq!(
            time_values(&ms, "t").unwrap(),
            [Some(1_700_000_000), Some(-1)]
        );
        let days = Date32Array::from(vec![2]);
        assert_eq!(time_values(&days, "t").unwrap(), [Some(172_800)]);
        let text = StringArray::from(vec!["yesterday"]);
        let e = time_values(&text, "when").unwrap_err();
        assert!(
            e.contains("column `when`") && e.contains("times must be"),
            "{e}"
        );
    }

    #[test]
    fn list_writer_streams_several_batches_into_one_file() {
        let n = BATCH_ROWS * 2 + 123;
        let mut bytes = Vec::new();
        let mut w = ListWriter::new(&mut bytes).unwrap();
        for k in 0..n {
            let user = (k / 10).to_string();
            w.push(&user, k % 10 + 1, &format!("i{k}"), k as f32 * 0.5)
                .unwrap();
        }
        w.finish().unwrap();
        assert_eq!(&bytes[..4], MAGIC);
        let path = std::env::temp_dir().join(format!(
            "embedrec-list-writer-{}.parquet",
            std::process::id()
        ));
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut k = 0;
        for batch in reader {
            let b = batch.unwrap();
            let ranks = b.column(1).as_primitive::<Int32Type>();
            let items = b.column(2).as_string::<i32>();
            let scores = b.column(3).as_primitive::<Float32Type>();
            for r in 0..b.num_rows() {
                assert_eq!(ranks.value(r) as usize, k % 10 + 1);
                assert_eq!(items.value(r), format!("i{k}"));
                assert_eq!(scores.value(r), k as f32 * 0.5);
                k += 1;
            }
        }
        assert_eq!(k, n);
    }
}
