//! Generic delimited rating files, and the line-parsing core shared by every
//! line-oriented ratings reader (MovieLens `u.data`, `ratings.dat`, generic files).
//!
//! Files are streamed: one [`BufReader`] and one reused line buffer, fields split by hand
//! on the delimiter bytes, numbers parsed from the field slices. The only allocations per
//! line are the [`IdMap`] insertions of ids not seen before.
//!
//! Accepted everywhere: `\n`, `\r\n` or lone `\r` line endings, mixed in one file (each is
//! one line break: `LineEndings`), blank lines (skipped, e.g. a trailing empty line),
//! ASCII spaces around fields. Errors name the file, the 1-based line and the field.

use super::{
    Column, Columns, DelimitedSpec, DuplicatePolicy, IdMap, RatingScale, Ratings, ReadOptions,
};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Names of the user, item, rating and timestamp fields used in error messages.
pub(crate) type FieldNames = [&'static str; 4];

/// Field names of generic files.
const GENERIC_NAMES: FieldNames = ["user", "item", "rating", "timestamp"];

/// Delimiters tried, in order, when a file has no [`DelimitedSpec`].
const SNIFF_DELIMITERS: [&str; 3] = ["\t", ",", "::"];

/// Reads a generic delimited ratings file laid out as `spec`, mapping raw ids (any
/// strings) through `users` / `items`. Without a rating column every line has the value
/// `1.0`. A rating outside `opts.scale` (when given) is an error; duplicates follow
/// `opts.duplicates`. Returns the ratings, the warnings, and the scale: `opts.scale`, or
/// else [`inferred_scale`] of the ratings, with a warning naming it (without a rating
/// column: 1..1, silently).
pub fn read(
    path: &Path,
    spec: &DelimitedSpec,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<(Ratings, Vec<String>, RatingScale)> {
    if spec.delimiter.is_empty() {
        return Err(Error::Usage("the delimiter must not be empty".into()));
    }
    let with_times = spec.time_col.is_some() && !opts.drop_times;
    let mut sink = RatingSink::new(path, GENERIC_NAMES, opts.scale, with_times);
    read_lines(path, spec, &mut sink, users, items)?;
    let (ratings, warnings) = sink.finish(opts.duplicates, users, items)?;
    let mut warnings = warnings;
    let scale = match opts.scale {
        Some(s) => s,
        None if spec.rating_col.is_none() => observed_scale(&ratings.values),
        None => {
            let (s, steps) = inferred_scale(&ratings.values);
            warnings.push(format!(
                "{}: rating scale {}..{} ({steps}) inferred from the data; --scale MIN:MAX \
                 declares it",
                path.display(),
                s.min,
                s.max
            ));
            s
        }
    };
    Ok((ratings, warnings, scale))
}

/// The scale of ratings read without a declared one: the observed minimum..maximum
/// snapped outwards to whole stars when every rating is whole, else to half stars (0.5
/// steps); with the name of the steps. 1..1 when there are no ratings.
pub(crate) fn inferred_scale(values: &[f32]) -> (RatingScale, &'static str) {
    let o = observed_scale(values);
    if values.iter().all(|v| v.fract() == 0.0) {
        (o, "whole stars")
    } else {
        let scale = RatingScale {
            min: (o.min * 2.0).floor() / 2.0,
            max: (o.max * 2.0).ceil() / 2.0,
        };
        (scale, "half stars")
    }
}

/// Guesses the layout of a ratings file without a [`DelimitedSpec`].
///
/// Tries tab, then comma, then `::`: the first delimiter that splits the first non-blank
/// line into at least three fields wins. That line is a header when its third field (the
/// rating) is not a number; columns are then user, item, rating, and a timestamp when
/// the first data line has a fourth field that is an integer. Fails with
/// [`Error::BadInput`] asking for `--delimiter` and column flags when nothing fits.
pub fn sniff(path: &Path) -> Result<DelimitedSpec> {
    let mut lines = Vec::new();
    for_each_line(path, |_, line| {
        lines.push(line.to_vec());
        Ok(lines.len() < 2)
    })?;
    let fail = || {
        Error::bad_input(
            path,
            "cannot detect the file's layout (tried tab, comma and `::` delimiters); \
             give --delimiter and the column flags",
        )
    };
    let first = lines
        .first()
        .ok_or_else(|| Error::bad_input(path, "no ratings"))?;
    let is_number = |f: &[u8]| parse_num::<f32>(f).is_some_and(f32::is_finite);
    for delim in SNIFF_DELIMITERS {
        let fields = |line: &[u8]| {
            let mut out = Vec::new();
            split_fields(line, delim.as_bytes(), &mut out);
            out.into_iter()
                .map(|(a, b)| line[a..b].to_vec())
                .collect::<Vec<_>>()
        };
        let head = fields(first);
        if head.len() < 3 {
            continue;
        }
        let header = !is_number(&head[2]);
        let data = if header {
            match lines.get(1) {
                Some(l) => fields(l),
                None => return Err(Error::bad_input(path, "no ratings")),
            }
        } else {
            head
        };
        if data.len() < 3 || !is_number(&data[2]) {
            continue;
        }
        let has_time = data.get(3).is_some_and(|f| parse_num::<i64>(f).is_some());
        return Ok(DelimitedSpec {
            delimiter: delim.to_string(),
            header,
            user_col: 0,
            item_col: 1,
            rating_col: Some(2),
            time_col: has_time.then_some(3),
        });
    }
    Err(fail())
}

/// `spec` with the caller's `columns` laid over it: a number or `none` replaces the
/// layout's column, a name is looked up in the header row (which `spec` must have;
/// an exact match first, else the one match ignoring ASCII case), [`Column::Detect`]
/// keeps the layout's column. Fails with [`Error::Usage`] when the user or item column
/// is `none`, and with [`Error::BadInput`] listing the header's fields when a name is
/// not among them.
pub fn with_columns(path: &Path, spec: &DelimitedSpec, columns: &Columns) -> Result<DelimitedSpec> {
    let mut out = spec.clone();
    let wanted = columns.as_array();
    if wanted.iter().all(|c| **c == Column::Detect) {
        return Ok(out);
    }
    let mut header: Option<Vec<String>> = None;
    let mut chosen = [
        Some(spec.user_col),
        Some(spec.item_col),
        spec.rating_col,
        spec.time_col,
    ];
    for (k, col) in wanted.into_iter().enumerate() {
        chosen[k] = match col {
            Column::Detect => chosen[k],
            Column::Absent if k < 2 => {
                return Err(Error::Usage(format!(
                    "the {} column cannot be 'none'",
                    GENERIC_NAMES[k]
                )));
            }
            Column::Absent => None,
            Column::Index(i) => Some(*i),
            Column::Name(name) => {
                if !spec.header {
                    return Err(Error::Usage(format!(
                        "{}: the {} column is named `{name}`, but the file has no header row \
                         (give the column's number)",
                        path.display(),
                        GENERIC_NAMES[k]
                    )));
                }
                if header.is_none() {
                    let mut fields = Vec::new();
                    for_each_line(path, |_, line| {
                        let mut ranges = Vec::new();
                        split_fields(line, spec.delimiter.as_bytes(), &mut ranges);
                        fields = ranges
                            .iter()
                            .map(|&(a, b)| String::from_utf8_lossy(&line[a..b]).into_owned())
                            .collect();
                        Ok(false)
                    })?;
                    header = Some(fields);
                }
                let fields = header.as_deref().unwrap_or_default();
                let found = find_name(fields.iter().map(String::as_str), name);
                Some(found.ok_or_else(|| {
                    Error::bad_input(
                        path,
                        format!(
                            "no column `{name}` for the {} (the header's columns: {})",
                            GENERIC_NAMES[k],
                            fields.join(", ")
                        ),
                    )
                })?)
            }
        };
    }
    let [user, item, rating, time] = chosen;
    out.user_col = user.expect("user column set");
    out.item_col = item.expect("item column set");
    out.rating_col = rating;
    out.time_col = time;
    Ok(out)
}

/// The position of `name` among `names`: an exact match first, else the one match
/// ignoring ASCII case (none when several match that way).
pub(crate) fn find_name<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
    name: &str,
) -> Option<usize> {
    if let Some(k) = names.clone().position(|n| n == name) {
        return Some(k);
    }
    let mut folded = names
        .enumerate()
        .filter(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(k, _)| k);
    match (folded.next(), folded.next()) {
        (Some(k), None) => Some(k),
        _ => None,
    }
}

/// Streams the ratings lines of `path` (laid out as `spec`) into `sink`.
pub(crate) fn read_lines(
    path: &Path,
    spec: &DelimitedSpec,
    sink: &mut RatingSink,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<()> {
    let delim = spec.delimiter.as_bytes();
    let cols = [
        Some(spec.user_col),
        Some(spec.item_col),
        spec.rating_col,
        spec.time_col,
    ];
    let mut skip_header = spec.header;
    let mut ranges = Vec::with_capacity(8);
    for_each_line(path, |line_no, line| {
        if std::mem::take(&mut skip_header) {
            return Ok(true);
        }
        split_fields(line, delim, &mut ranges);
        let field = |k: usize| -> Result<Option<&[u8]>> {
            let Some(col) = cols[k] else { return Ok(None) };
            match ranges.get(col) {
                Some(&(a, b)) => Ok(Some(&line[a..b])),
                None => Err(Error::parse(
                    path,
                    line_no,
                    sink.field_name(k),
                    format!(
                        "too few fields: expected at least {}, found {}",
                        col + 1,
                        ranges.len()
                    ),
                )),
            }
        };
        let (u, i, r, t) = (field(0)?, field(1)?, field(2)?, field(3)?);
        sink.push(
            line_no,
            u.unwrap_or_default(),
            i.unwrap_or_default(),
            r,
            t,
            users,
            items,
        )?;
        Ok(true)
    })
}

/// Calls `f(line_number, line)` for every non-blank line of `path` (1-based numbers,
/// line ending and a leading UTF-8 byte-order mark stripped) until `f` returns
/// `Ok(false)` or an error.
pub(crate) fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &[u8]) -> Result<bool>,
) -> Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, LineEndings::open(path)?);
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = if line_no == 1 { strip_bom(line) } else { line };
        if line.trim_ascii().is_empty() {
            continue;
        }
        if !f(line_no, line)? {
            return Ok(());
        }
    }
}

/// A reader that turns every line ending (`\r\n`, or a `\r` not followed by `\n`) into
/// `\n`, and ends a last line that has no line ending with one, so that a reader
/// splitting on `\n` (the line loop here, the `csv` crate's line count) sees each line
/// break of a file with old-Mac or mixed endings as one line, and every line ended.
pub(crate) struct LineEndings<R> {
    inner: R,
    /// The last byte handed out was a `\r` turned into `\n`: a `\n` right after it is
    /// the rest of the same `\r\n` and is dropped.
    after_cr: bool,
    /// Some byte was handed out and the last one is not a line ending.
    open_line: bool,
}

impl LineEndings<File> {
    /// Opens `path` for reading through the adapter ([`crate::files::open_regular`]).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        Ok(LineEndings::new(crate::files::open_regular(path)?))
    }
}

/// The error for a data file that is a named pipe, socket or device.
pub(crate) fn not_regular(path: &Path) -> Error {
    Error::bad_input(path, "not a regular file (a named pipe, socket or device)")
}

impl<R: Read> LineEndings<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineEndings {
            inner,
            after_cr: false,
            open_line: false,
        }
    }
}

impl<R: Read> Read for LineEndings<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.inner.read(out)?;
            if n == 0 {
                // The end: close a last line that has no line ending.
                return Ok(if std::mem::take(&mut self.open_line) {
                    out[0] = b'\n';
                    1
                } else {
                    0
                });
            }
            let got = &mut out[..n];
            // Rewritten only when the chunk has a `\r` or starts with the `\n` of a `\r\n`.
            let w = if got.contains(&b'\r') || (self.after_cr && got[0] == b'\n') {
                let mut w = 0;
                for r in 0..n {
                    let b = got[r];
                    if std::mem::take(&mut self.after_cr) && b == b'\n' {
                        continue;
                    }
                    if b == b'\r' {
                        got[w] = b'\n';
                        self.after_cr = true;
                    } else {
                        got[w] = b;
                    }
                    w += 1;
                }
                w
            } else {
                self.after_cr = false;
                n
            };
            // A chunk that was only the `\n` of a split `\r\n` is empty: read on
            // (returning 0 would mean the end of the file).
            if w > 0 {
                self.open_line = got[w - 1] != b'\n';
                return Ok(w);
            }
        }
    }
}

/// `bytes` without a leading UTF-8 byte-order mark.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Fills `out` with the byte ranges of the fields of `line` separated by `delim`
/// (must not be empty), each range trimmed of ASCII whitespace.
pub(crate) fn split_fields(line: &[u8], delim: &[u8], out: &mut Vec<(usize, usize)>) {
    out.clear();
    let (first, rest) = delim.split_first().expect("non-empty delimiter");
    let (mut start, mut k) = (0, 0);
    while let Some(p) = line[k..].iter().position(|b| b == first) {
        let at = k + p;
        k = at + 1;
        // Inline byte comparison: a `memcmp` call per candidate costs more here.
        if line[k..].iter().take(rest.len()).eq(rest) {
            out.push(trimmed(line, start, at));
            k = at + delim.len();
            start = k;
        }
    }
    out.push(trimmed(line, start, line.len()));
}

fn trimmed(line: &[u8], mut a: usize, mut b: usize) -> (usize, usize) {
    while a < b && line[a].is_ascii_whitespace() {
        a += 1;
    }
    while b > a && line[b - 1].is_ascii_whitespace() {
        b -= 1;
    }
    (a, b)
}

/// Parses a number from a field's bytes (None when not UTF-8 or not a number).
pub(crate) fn parse_num<T: std::str::FromStr>(field: &[u8]) -> Option<T> {
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

/// The smallest scale holding every value (1..1 when there are none).
pub(crate) fn observed_scale(values: &[f32]) -> RatingScale {
    let (min, max) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if min.is_finite() {
        RatingScale { min, max }
    } else {
        RatingScale { min: 1.0, max: 1.0 }
    }
}

/// Validates one rating record at a time and collects the ratings; shared by the
/// line-oriented readers and the CSV reader. [`RatingSink::finish`] applies the
/// duplicate policy.
pub(crate) struct RatingSink<'a> {
    path: &'a Path,
    names: [Cow<'a, str>; 4],
    /// What a record number counts in messages: `line`, or `row` (Parquet).
    unit: &'static str,
    /// Files whose records are numbered on, in one count (a Parquet folder's part files):
    /// `(first record number, file)`; empty = every record is in `path`.
    parts: Vec<(usize, &'a Path)>,
    scale: Option<RatingScale>,
    ratings: Ratings,
    /// Whether timestamps are stored (they are checked either way).
    with_times: bool,
    /// Sparse map rating index -> line: `(k, line)` = rating `k` is on `line`, and each
    /// following rating up to the next entry on the next line (no subtraction: any
    /// order of line numbers is representable).
    lines: Vec<(usize, usize)>,
}

impl<'a> RatingSink<'a> {
    /// A sink for `path`, naming fields `names`, rejecting ratings outside `scale`.
    pub(crate) fn new(
        path: &'a Path,
        names: FieldNames,
        scale: Option<RatingScale>,
        with_times: bool,
    ) -> Self {
        RatingSink {
            path,
            names: names.map(Cow::Borrowed),
            unit: "line",
            parts: Vec::new(),
            scale,
            ratings: Ratings::with_capacity(0, with_times),
            with_times,
            lines: Vec::new(),
        }
    }

    /// A sink whose fields are named `names` (a file's own column names) and whose
    /// records are rows (messages say `row N`); otherwise as [`RatingSink::new`].
    pub(crate) fn rows(
        path: &'a Path,
        names: [String; 4],
        scale: Option<RatingScale>,
        with_times: bool,
    ) -> Self {
        RatingSink {
            names: names.map(Cow::Owned),
            unit: "row",
            ..RatingSink::new(path, GENERIC_NAMES, scale, with_times)
        }
    }

    /// Records from record number `first` on are in `file` (numbers run on across the
    /// files of one sink; errors then name the file and the number within it).
    pub(crate) fn start_part(&mut self, first: usize, file: &'a Path) {
        self.parts.push((first, file));
    }

    /// The file and the number within it of record number `n`.
    fn locate(&self, n: usize) -> (&Path, usize) {
        let p = self.parts.partition_point(|&(first, _)| first <= n);
        match p.checked_sub(1).map(|p| self.parts[p]) {
            Some((first, file)) => (file, n - first + 1),
            None => (self.path, n),
        }
    }

    /// A parse error at record `n` in field `k`.
    fn error_at(&self, n: usize, k: usize, message: String) -> Error {
        let (file, n) = self.locate(n);
        Error::parse(file, n, &self.names[k], message)
    }

    /// Validates and stores one record from line `line_no`. A missing `rating` means 1;
    /// a `time` is checked, and stored only when the sink was made `with_times` (it must
    /// then be present on every line).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        line_no: usize,
        user: &[u8],
        item: &[u8],
        rating: Option<&[u8]>,
        time: Option<&[u8]>,
        users: &mut IdMap,
        items: &mut IdMap,
    ) -> Result<()> {
        let show = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
        // Parsed first, reported after the ids (an id error comes first on a line).
        let value = match rating {
            None => Ok(1.0),
            Some(f) => match parse_num::<f32>(f) {
                None => Err(self.error_at(line_no, 2, format!("`{}` is not a number", show(f)))),
                Some(v) if !v.is_finite() => {
                    Err(self.error_at(line_no, 2, format!("`{}` is not a finite number", show(f))))
                }
                Some(v) => Ok(v),
            },
        };
        let time = match time {
            None => Ok(None),
            Some(f) => parse_num::<i64>(f).map(Some).ok_or_else(|| {
                self.error_at(line_no, 3, format!("`{}` is not an integer", show(f)))
            }),
        };
        self.push_checked(line_no, user, item, value, time, users, items)
    }

    /// Validates and stores one record whose rating and time are numbers already (the
    /// Parquet reader's): ids must be non-empty UTF-8, the rating finite and inside the
    /// scale. `n` is the record's line or row number.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_value(
        &mut self,
        n: usize,
        user: &[u8],
        item: &[u8],
        value: f32,
        time: Option<i64>,
        users: &mut IdMap,
        items: &mut IdMap,
    ) -> Result<()> {
        self.push_checked(n, user, item, Ok(value), Ok(time), users, items)
    }

    /// Stores one record after checking its ids, then `value` and `time` (errors already
    /// made by the caller's parsing), then the rating's finiteness and scale.
    #[allow(clippy::too_many_arguments)]
    fn push_checked(
        &mut self,
        n: usize,
        user: &[u8],
        item: &[u8],
        value: Result<f32>,
        time: Result<Option<i64>>,
        users: &mut IdMap,
        items: &mut IdMap,
    ) -> Result<()> {
        fn id(f: &[u8]) -> std::result::Result<&str, &'static str> {
            match std::str::from_utf8(f.trim_ascii()) {
                Ok("") => Err("empty id"),
                Ok(s) => Ok(s),
                Err(_) => Err("not valid UTF-8"),
            }
        }
        let user = id(user).map_err(|m| self.error_at(n, 0, m.into()))?;
        let item = id(item).map_err(|m| self.error_at(n, 1, m.into()))?;
        let (value, time) = (value?, time?);
        if !value.is_finite() {
            return Err(self.error_at(n, 2, format!("{value} is not a finite number")));
        }
        if let Some(s) = self.scale.filter(|s| !s.contains(value)) {
            let msg = format!("rating {value} is outside the scale {}..{}", s.min, s.max);
            return Err(self.error_at(n, 2, msg));
        }
        let k = self.ratings.len();
        if self
            .lines
            .last()
            .is_none_or(|&(start, line)| line + (k - start) != n)
        {
            self.lines.push((k, n));
        }
        let (u, i) = (users.get_or_insert(user), items.get_or_insert(item));
        self.ratings
            .push(u, i, value, if self.with_times { time } else { None });
        Ok(())
    }

    /// The name of field `k` (0 user, 1 item, 2 rating, 3 timestamp).
    pub(crate) fn field_name(&self, k: usize) -> &str {
        &self.names[k]
    }

    /// The 1-based line of rating `k`.
    fn line_of(&self, k: usize) -> usize {
        let p = self.lines.partition_point(|&(start, _)| start <= k);
        let (start, line) = self.lines[p - 1];
        line + (k - start)
    }

    /// The ratings and warnings, after the duplicate policy; an error when there are no
    /// ratings. `users` / `items` are the maps the records were pushed with (errors name
    /// raw ids).
    pub(crate) fn finish(
        mut self,
        policy: DuplicatePolicy,
        users: &IdMap,
        items: &IdMap,
    ) -> Result<(Ratings, Vec<String>)> {
        if self.ratings.is_empty() {
            return Err(Error::bad_input(self.path, "no ratings"));
        }
        self.ratings.shrink_to_fit();
        let r = &self.ratings;
        if !has_duplicates(r) {
            return Ok((self.ratings, Vec::new()));
        }
        let key = |k: usize| ((r.users[k] as u64) << 32) | r.items[k] as u64;
        // Positions grouped by pair, in file order within each group (stable sort).
        let mut order: Vec<u32> = (0..r.len() as u32).collect();
        order.sort_by_key(|&k| key(k as usize));
        let groups = order
            .chunk_by(|&a, &b| key(a as usize) == key(b as usize))
            .filter(|g| g.len() > 1);
        if policy == DuplicatePolicy::Error {
            let g = groups.min_by_key(|g| g[1]).expect("a duplicate exists");
            let (first, second) = (g[0] as usize, g[1] as usize);
            let field = format!("{}, {}", self.names[0], self.names[1]);
            let (file, n) = self.locate(self.line_of(second));
            let (first_file, first_n) = self.locate(self.line_of(first));
            let unit = self.unit;
            let place = if first_file == file {
                format!("first on {unit} {first_n}")
            } else {
                format!("first in {} on {unit} {first_n}", first_file.display())
            };
            return Err(Error::parse(
                file,
                n,
                &field,
                format!(
                    "duplicate (user, item) pair (`{}`, `{}`), {place}",
                    users.raw(r.users[first]),
                    items.raw(r.items[first]),
                ),
            ));
        }
        let mut keep = vec![true; r.len()];
        let mut count = 0;
        let mut means = Vec::new();
        for g in groups {
            count += 1;
            let last = *g.last().expect("non-empty group") as usize;
            for &k in &g[..g.len() - 1] {
                keep[k as usize] = false;
            }
            if policy == DuplicatePolicy::Mean {
                let sum: f64 = g.iter().map(|&k| r.values[k as usize] as f64).sum();
                means.push((last, (sum / g.len() as f64) as f32));
            }
        }
        for (k, v) in means {
            self.ratings.values[k] = v;
        }
        let kept: Vec<usize> = (0..keep.len()).filter(|&k| keep[k]).collect();
        let ratings = self.ratings.select(&kept);
        let what = match policy {
            DuplicatePolicy::Mean => "replaced each by the mean of its ratings",
            _ => "kept the last rating of each",
        };
        let warning = format!(
            "{}: {count} duplicate (user, item) pairs, {what}",
            self.path.display()
        );
        Ok((ratings, vec![warning]))
    }
}

/// True when some (user, item) pair occurs twice. Groups the items by user (counting
/// sort: 4 bytes a rating, not a 64-bit key per rating) and sorts each user's items.
fn has_duplicates(r: &Ratings) -> bool {
    let mut start = vec![0usize; r.user_bound() + 1];
    for &u in &r.users {
        start[u as usize + 1] += 1;
    }
    for u in 1..start.len() {
        start[u] += start[u - 1];
    }
    let mut next = start.clone();
    let mut by_user = vec![0u32; r.len()];
    for (&u, &i) in r.users.iter().zip(&r.items) {
        by_user[next[u as usize]] = i;
        next[u as usize] += 1;
    }
    drop(next);
    start.windows(2).any(|w| {
        let items = &mut by_user[w[0]..w[1]];
        items.sort_unstable();
        items.windows(2).any(|p| p[0] == p[1])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found_per_user() {
        let mut r = Ratings::default();
        for (u, i) in [(0, 1), (2, 1), (0, 2), (2, 0), (1, 1)] {
            r.push(u, i, 1.0, None);
        }
        assert!(!has_duplicates(&r));
        r.push(2, 1, 3.0, None);
        assert!(has_duplicates(&r));
    }

    #[test]
    fn split_fields_handles_multibyte_delimiters_and_spaces() {
        let mut out = Vec::new();
        let line = b"a::b:: c ::";
        split_fields(line, b"::", &mut out);
        let fields: Vec<&[u8]> = out.iter().map(|&(a, b)| &line[a..b]).collect();
        assert_eq!(fields, [&b"a"[..], b"b", b"c", b""]);
        split_fields(b"x", b"\t", &mut out);
        assert_eq!(out, [(0, 1)]);
    }

    /// Hands out one byte per read, so that every `\r\n` is split across two reads.
    struct ByteAtATime<'a>(&'a [u8]);

    impl Read for ByteAtATime<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((&b, rest)), Some(o)) => {
                    *o = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn every_line_ending_becomes_one_newline() {
        let input = b"a\r\nb\rc\n\rd\r\r\ne\r";
        let want = b"a\nb\nc\n\nd\n\ne\n";
        let mut out = Vec::new();
        LineEndings::new(&b"x\ny"[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"x\ny\n", "the last line is ended");
        out.clear();
        LineEndings::new(&b""[..]).read_to_end(&mut out).unwrap();
        assert!(out.is_empty());
        LineEndings::new(&input[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, want);
        out.clear();
        LineEndings::new(ByteAtATime(input))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, want);
    }

    #[test]
    fn sink_lines_in_any_order() {
        // Line numbers that do not grow with the rating index (a reader that numbers
        // several records alike) must neither underflow nor be misreported.
        let path = Path::new("x");
        let mut sink = RatingSink::new(path, GENERIC_NAMES, None, false);
        let (mut users, mut items) = (IdMap::default(), IdMap::default());
        let lines = [1, 1, 1, 7, 8, 2, 0, 9];
        for (k, &line) in lines.iter().enumerate() {
            let item = k.to_string();
            sink.push(
                line,
                b"u",
                item.as_bytes(),
                None,
                None,
                &mut users,
                &mut items,
            )
            .unwrap();
        }
        let got: Vec<usize> = (0..lines.len()).map(|k| sink.line_of(k)).collect();
        assert_eq!(got, lines);
    }

    #[test]
    fn observed_scale_of_values() {
        let s = observed_scale(&[3.0, 0.5, 4.5]);
        assert_eq!((s.min, s.max), (0.5, 4.5));
    }
}
