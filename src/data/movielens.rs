//! MovieLens readers (100K, 1M, 10M, 25M / latest) and folder detection.
//!
//! | file | format | scale |
//! |---|---|---|
//! | `u.data`, `*.base`, `*.test` (100K) | tab-separated `user item rating timestamp` | 1..5 when every rating is whole, else 0.5..5 with a warning |
//! | `ratings.dat` (1M, 10M) | `UserID::MovieID::Rating::Timestamp` | 1..5 when every rating is whole (1M), else 0.5..5 (10M) |
//! | `ratings.csv` (25M, latest) | CSV with header `userId,movieId,rating,timestamp` | 0.5..5 |
//! | anything else | generic delimited ([`super::delimited`]) | observed min..max snapped to whole or half stars, with a warning ([`super::delimited::inferred_scale`]) |
//!
//! `ratings.dat` and the 100K files are validated against 0.5..5 (the wider MovieLens
//! scale); their reported scale is 1..5 when every rating is a whole number (so 100K and
//! 1M read as whole stars and 10M, which has half stars, as half stars; a 100K-format
//! file of half stars, such as a subsample of a half-star data set written in that
//! format, reads as 0.5..5 with a warning naming the scale). `opts.scale`, when given, replaces the format's
//! scale both for validation and in the result.
//!
//! Metadata beside the ratings: `u.user` / `u.item` (+ `u.genre`) for 100K, `users.dat` /
//! `movies.dat` for 1M and 10M, `movies.csv` for 25M / latest. See [`read_users`] and
//! [`read_items`] for the variables they give.

use super::delimited::{self, LineEndings, RatingSink, for_each_line, parse_num, strip_bom};
use super::features::{AGE_BINS, age_group};
use super::{
    Dataset, DelimitedSpec, Features, IdMap, RatingScale, Ratings, ReadOptions, SideTable, Variable,
};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The 19 MovieLens 100K genres, in the order of `u.item`'s flags (used when `u.genre` is
/// absent).
pub const GENRES_100K: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// The MovieLens 1M occupations, indexed by their code 0..=20 in `users.dat`.
pub const OCCUPATIONS_1M: [&str; 21] = [
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
];

/// The level given to a missing single value.
const UNKNOWN: &str = "unknown";

/// The ratings formats recognised by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `u.data`, `*.base`, `*.test`.
    Ml100k,
    /// `ratings.dat`.
    Dat,
    /// `ratings.csv`.
    Csv,
    /// A Parquet file or a folder of Parquet part files.
    Parquet,
    /// Anything else.
    Generic,
}

impl Kind {
    fn of(file: &Path) -> Kind {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match name {
            "u.data" => Kind::Ml100k,
            "ratings.dat" => Kind::Dat,
            "ratings.csv" => Kind::Csv,
            _ if name.ends_with(".base") || name.ends_with(".test") => Kind::Ml100k,
            _ if super::parquet::is_parquet(file) => Kind::Parquet,
            _ => Kind::Generic,
        }
    }

    /// Names of the user and item metadata files that go with this format.
    fn metadata(self) -> (Option<&'static str>, Option<&'static str>) {
        match self {
            Kind::Ml100k => (Some("u.user"), Some("u.item")),
            Kind::Dat => (Some("users.dat"), Some("movies.dat")),
            Kind::Csv => (None, Some("movies.csv")),
            Kind::Parquet | Kind::Generic => (None, None),
        }
    }
}

/// See [`super::load`]. Generic files (names not recognised) use `opts.delimited`, or a
/// layout guessed by [`delimited::sniff`]. Missing metadata gives empty tables.
pub fn load(path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let file = ratings_file(path)?;
    let (mut users, mut items) = (IdMap::default(), IdMap::default());
    let (ratings, warnings, scale) = read_ratings(&file, opts, &mut users, &mut items)?;
    let (users_name, items_name) = Kind::of(&file).metadata();
    let beside = |name: Option<&str>| name.map(|n| file.with_file_name(n)).filter(|p| p.is_file());
    let users_file = opts.users_file.clone().or_else(|| beside(users_name));
    let items_file = opts.items_file.clone().or_else(|| beside(items_name));
    let features = Features {
        users: users_file
            .as_deref()
            .map(read_users)
            .transpose()?
            .unwrap_or_default(),
        items: items_file
            .as_deref()
            .map(read_items)
            .transpose()?
            .unwrap_or_default(),
    };
    Ok(Dataset {
        ratings,
        users,
        items,
        features,
        scale,
        source: path.to_path_buf(),
        warnings,
    })
}

/// Reads a ratings file with the format of `path` (detected as in [`super::load`]),
/// mapping raw ids through `users` / `items` (new ids get the next indices). Returns the
/// ratings and the warnings met.
pub fn read_ratings_into(
    path: &Path,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<(Ratings, Vec<String>)> {
    let file = ratings_file(path)?;
    let (ratings, warnings, _) = read_ratings(&file, opts, users, items)?;
    Ok((ratings, warnings))
}

/// The ratings file of `path`: itself, the MovieLens ratings file of a folder, or a
/// folder of Parquet part files itself.
fn ratings_file(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        // A named pipe, socket or device is refused before anything opens it (opening a
        // pipe blocks until a writer comes, e.g. in the Parquet magic check).
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(delimited::not_regular(path));
        }
        return Ok(path.to_path_buf());
    }
    ["u.data", "ratings.dat", "ratings.csv"]
        .iter()
        .map(|name| path.join(name))
        .find(|p| p.is_file())
        .or_else(|| super::parquet::is_parquet(path).then(|| path.to_path_buf()))
        .ok_or_else(|| {
            Error::bad_input(
                path,
                "not a MovieLens folder (no u.data, ratings.dat or ratings.csv in it) \
                 nor a Parquet folder (no *.parquet part files in it)",
            )
        })
}

/// Reads one ratings file; returns the ratings, the warnings and the rating scale.
fn read_ratings(
    file: &Path,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<(Ratings, Vec<String>, RatingScale)> {
    let kind = Kind::of(file);
    let (spec, names, bound) = match kind {
        Kind::Ml100k => (
            line_spec("\t"),
            ["user", "item", "rating", "timestamp"],
            RatingScale::HALF_STARS,
        ),
        Kind::Dat => (
            line_spec("::"),
            ["UserID", "MovieID", "Rating", "Timestamp"],
            RatingScale::HALF_STARS,
        ),
        Kind::Csv => (
            line_spec(","),
            ["userId", "movieId", "rating", "timestamp"],
            RatingScale::HALF_STARS,
        ),
        Kind::Parquet => return super::parquet::read(file, opts, users, items),
        Kind::Generic => {
            let spec = match &opts.delimited {
                Some(spec) => Cow::Borrowed(spec),
                None => Cow::Owned(delimited::sniff(file)?),
            };
            let spec = delimited::with_columns(file, &spec, &opts.columns)?;
            return delimited::read(file, &spec, opts, users, items);
        }
    };
    let scale = Some(opts.scale.unwrap_or(bound));
    let mut sink = RatingSink::new(file, names, scale, !opts.drop_times);
    if kind == Kind::Csv {
        read_csv_ratings(file, &mut sink, users, items)?;
    } else {
        delimited::read_lines(file, &spec, &mut sink, users, items)?;
    }
    let (ratings, mut warnings) = sink.finish(opts.duplicates, users, items)?;
    let whole = ratings.values.iter().all(|v| v.fract() == 0.0);
    let scale = opts.scale.unwrap_or(match kind {
        Kind::Dat | Kind::Ml100k if whole => RatingScale::STARS_1_5,
        Kind::Ml100k => {
            warnings.push(format!(
                "{}: ratings that are not whole stars; rating scale 0.5..5 (half stars) \
                 inferred from the data instead of MovieLens 100K's 1..5; --scale MIN:MAX \
                 declares it",
                file.display()
            ));
            bound
        }
        _ => bound,
    });
    Ok((ratings, warnings, scale))
}

/// The MovieLens line layout `user item rating timestamp`, no header.
fn line_spec(delimiter: &str) -> DelimitedSpec {
    DelimitedSpec {
        delimiter: delimiter.into(),
        header: false,
        ..DelimitedSpec::default()
    }
}

/// Streams `ratings.csv` (header optional: skipped when its rating field is not a
/// number) into `sink`.
fn read_csv_ratings(
    path: &Path,
    sink: &mut RatingSink,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<()> {
    let mut reader = csv_reader(path)?;
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line = record_line(&reader, &record);
        if std::mem::take(&mut first)
            && record.get(2).is_some_and(|f| parse_num::<f32>(f).is_none())
        {
            continue;
        }
        if record.len() == 1 && record[0].trim_ascii().is_empty() {
            continue;
        }
        if record.len() < 4 {
            return Err(Error::parse(
                path,
                line,
                sink.field_name(record.len()),
                format!("too few fields: expected 4, found {}", record.len()),
            ));
        }
        let (user, item, rating, time) = (&record[0], &record[1], &record[2], &record[3]);
        sink.push(line, user, item, Some(rating), Some(time), users, items)?;
    }
    Ok(())
}

/// A CSV reader of `path` whose record positions count every line ending (`\n`,
/// `\r\n`, lone `\r`) as one line.
fn csv_reader(path: &Path) -> Result<csv::Reader<LineEndings<File>>> {
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineEndings::open(path)?))
}

/// The 1-based line on which the record just read starts. (The `csv` crate's position of
/// a record is where the previous one ended, before any blank lines it skipped; the
/// reader's position after the record is the line after its line ending, which
/// [`LineEndings`] guarantees, less the line breaks inside quoted fields.)
fn record_line<R: std::io::Read>(reader: &csv::Reader<R>, record: &csv::ByteRecord) -> usize {
    let after = reader.position().line() as usize;
    let inside = record.as_slice().iter().filter(|&&b| b == b'\n').count();
    after.saturating_sub(1 + inside).max(1)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line() as usize);
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        _ => Error::parse(path, line, "record", message),
    }
}

/// Reads user metadata: MovieLens 1M `users.dat` (`UserID::Gender::Age::Occupation::Zip`,
/// when the name ends in `.dat`) or 100K `u.user` (`id|age|gender|occupation|zip`).
///
/// Variables: `occupation` (100K: levels in order of first appearance; 1M: the 21 names
/// of [`OCCUPATIONS_1M`] in code order), `gender` (levels in order of first appearance),
/// `age` (the 1M bins of [`AGE_BINS`], in order; 100K's raw ages are binned with
/// [`age_group`]), `zip` (the zip code's first character, as myFM's MovieLens examples
/// take it: a region of the US, or a letter for a Canadian postal code; levels in order
/// of first appearance; a missing zip code is `"unknown"`). An empty value is the level
/// `"unknown"`.
pub fn read_users(path: &Path) -> Result<SideTable> {
    let dat = path.extension().is_some_and(|e| e == "dat");
    let (delim, names) = if dat {
        ("::", ["UserID", "Gender", "Age", "Occupation"])
    } else {
        ("|", ["user id", "age", "gender", "occupation"])
    };
    let mut table = TableBuilder::new(path);
    let ages = IdMap::from_raw(AGE_BINS.iter().map(|(_, label)| label));
    let occupations = if dat {
        IdMap::from_raw(OCCUPATIONS_1M)
    } else {
        IdMap::default()
    };
    let (mut occupation, mut gender, mut age, mut zip) = (
        VariableBuilder::new("occupation", occupations),
        VariableBuilder::new("gender", IdMap::default()),
        VariableBuilder::new("age", ages),
        VariableBuilder::new("zip", IdMap::default()),
    );
    for_each_latin1_line(path, |line_no, line| {
        let f = fields(path, line_no, &line, delim, &names)?;
        let err = |k: usize, msg: String| Error::parse(path, line_no, names[k], msg);
        table.add(line_no, names[0], f[0])?;
        let (g, a, o) = if dat {
            (f[1], f[2], f[3])
        } else {
            (f[2], f[1], f[3])
        };
        let a_field = if dat { 2 } else { 1 };
        let years: u32 = parse_num(a.as_bytes())
            .ok_or_else(|| err(a_field, format!("`{a}` is not a whole number")))?;
        if dat && !AGE_BINS.iter().any(|&(lo, _)| lo == years) {
            let msg = format!("`{a}` is not a 1M age code (1, 18, 25, 35, 45, 50, 56)");
            return Err(err(a_field, msg));
        }
        age.push_one(age_group(years));
        gender.push_one(g);
        if dat {
            let code: usize = parse_num(o.as_bytes())
                .filter(|&c| c < OCCUPATIONS_1M.len())
                .ok_or_else(|| err(3, format!("`{o}` is not an occupation code 0-20")))?;
            occupation.values.push(vec![code as u32]);
        } else {
            occupation.push_one(o);
        }
        let z = f.get(4).copied().unwrap_or("");
        zip.push_one(&z[..z.chars().next().map_or(0, char::len_utf8)]);
        Ok(())
    })?;
    Ok(table.finish(vec![
        occupation.into(),
        gender.into(),
        age.into(),
        zip.into(),
    ]))
}

/// Reads item metadata: 1M / 10M `movies.dat` (`MovieID::Title::Genres`, Latin-1),
/// 25M / latest `movies.csv` (header `movieId,title,genres`, UTF-8), or else 100K
/// `u.item` (`id|title|release date|video release date|IMDb URL|genre flags`, Latin-1,
/// genre names from `u.genre` beside it, else [`GENRES_100K`]).
///
/// Gives titles and the variables `genres` (multi-valued; `.dat`/`.csv`: levels in order
/// of first appearance, `(no genres listed)` meaning none; `u.item`: the `u.genre` order)
/// and `year` (levels ascending, then `"unknown"` when some year is missing; from the
/// release date `01-Jan-1995` in `u.item`, from the title's trailing `(1995)` otherwise).
pub fn read_items(path: &Path) -> Result<SideTable> {
    let mut table = TableBuilder::new(path);
    let mut years = Vec::new();
    let genres = match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => read_movies_csv(path, &mut table, &mut years)?,
        Some("dat") => read_movies_dat(path, &mut table, &mut years)?,
        _ => read_u_item(path, &mut table, &mut years)?,
    };
    let genres = Variable {
        multi_valued: true,
        ..genres.into()
    };
    Ok(table.finish(vec![genres, year_variable(&years)]))
}

fn read_u_item(
    path: &Path,
    table: &mut TableBuilder,
    years: &mut Vec<Option<i32>>,
) -> Result<VariableBuilder> {
    let genre_file = path.with_file_name("u.genre");
    let genre_names = if genre_file.is_file() {
        read_u_genre(&genre_file)?
    } else {
        Vec::new()
    };
    let genre_names = if genre_names.is_empty() {
        GENRES_100K.iter().map(|g| g.to_string()).collect()
    } else {
        genre_names
    };
    let mut names = vec![
        "movie id",
        "movie title",
        "release date",
        "video release date",
        "IMDb URL",
    ];
    names.extend(genre_names.iter().map(String::as_str));
    let mut genres = VariableBuilder::new("genres", IdMap::from_raw(&genre_names));
    for_each_latin1_line(path, |line_no, line| {
        let f = fields(path, line_no, &line, "|", &names)?;
        table.add(line_no, names[0], f[0])?;
        table.titles.push(f[1].to_string());
        let date = f[2];
        let year = (!date.is_empty())
            .then(|| {
                date.get(date.len().saturating_sub(4)..)
                    .and_then(|y| parse_num::<i32>(y.as_bytes()))
                    .ok_or_else(|| {
                        let msg = format!("`{date}` is not a date like 01-Jan-1995");
                        Error::parse(path, line_no, names[2], msg)
                    })
            })
            .transpose()?;
        years.push(year);
        let mut levels = Vec::new();
        for (k, flag) in f[5..names.len()].iter().enumerate() {
            match *flag {
                "0" => {}
                "1" => levels.push(k as u32),
                _ => {
                    let msg = format!("genre flag `{flag}` is not 0 or 1");
                    return Err(Error::parse(path, line_no, names[5 + k], msg));
                }
            }
        }
        genres.values.push(levels);
        Ok(())
    })?;
    Ok(genres)
}

/// Genre names of `u.genre` (`name|index` lines), in file order.
fn read_u_genre(path: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for_each_latin1_line(path, |line_no, line| {
        let f = fields(path, line_no, &line, "|", &["genre"])?;
        names.push(f[0].to_string());
        Ok(())
    })?;
    Ok(names)
}

fn read_movies_dat(
    path: &Path,
    table: &mut TableBuilder,
    years: &mut Vec<Option<i32>>,
) -> Result<VariableBuilder> {
    let names = ["MovieID", "Title", "Genres"];
    let mut genres = VariableBuilder::new("genres", IdMap::default());
    for_each_latin1_line(path, |line_no, line| {
        let f = fields(path, line_no, &line, "::", &names)?;
        table.add(line_no, names[0], f[0])?;
        table.push_movie(f[1], f[2], years, &mut genres);
        Ok(())
    })?;
    Ok(genres)
}

fn read_movies_csv(
    path: &Path,
    table: &mut TableBuilder,
    years: &mut Vec<Option<i32>>,
) -> Result<VariableBuilder> {
    let names = ["movieId", "title", "genres"];
    let mut genres = VariableBuilder::new("genres", IdMap::default());
    let mut reader = csv_reader(path)?;
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line_no = record_line(&reader, &record);
        if std::mem::take(&mut first) && record.get(0).map(strip_bom) == Some(b"movieId") {
            continue;
        }
        if record.len() == 1 && record[0].trim_ascii().is_empty() {
            continue;
        }
        let mut f = [""; 3];
        for (k, name) in names.iter().enumerate() {
            let bytes = record.get(k).ok_or_else(|| {
                let msg = format!("too few fields: expected 3, found {}", record.len());
                Error::parse(path, line_no, name, msg)
            })?;
            f[k] = std::str::from_utf8(bytes)
                .map_err(|_| Error::parse(path, line_no, name, "not valid UTF-8"))?
                .trim();
        }
        table.add(line_no, names[0], f[0])?;
        table.push_movie(f[1], f[2], years, &mut genres);
    }
    Ok(genres)
}

/// The release year in a title's trailing `(1995)`, if any.
pub fn title_year(title: &str) -> Option<i32> {
    let inner = title.trim_end().strip_suffix(')')?;
    let year = &inner[inner.rfind('(')? + 1..];
    (year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())).then(|| year.parse().ok())?
}

/// The `year` variable: levels ascending, then `"unknown"` when a year is missing.
fn year_variable(years: &[Option<i32>]) -> Variable {
    let mut distinct: Vec<i32> = years.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut levels: Vec<String> = distinct.iter().map(i32::to_string).collect();
    let unknown = levels.len() as u32;
    if years.iter().any(Option::is_none) {
        levels.push(UNKNOWN.into());
    }
    let values = years
        .iter()
        .map(|y| match y {
            Some(y) => vec![distinct.binary_search(y).expect("listed") as u32],
            None => vec![unknown],
        })
        .collect();
    Variable {
        name: "year".into(),
        levels,
        multi_valued: false,
        values,
    }
}

/// Calls `f(line_number, text)` for every non-blank line of a Latin-1 file.
fn for_each_latin1_line(
    path: &Path,
    mut f: impl FnMut(usize, Cow<'_, str>) -> Result<()>,
) -> Result<()> {
    for_each_line(path, |line_no, bytes| {
        f(
            line_no,
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0,
        )?;
        Ok(true)
    })
}

/// The trimmed fields of `line`; an error naming the first missing field when there are
/// fewer than `names`.
fn fields<'l>(
    path: &Path,
    line_no: usize,
    line: &'l str,
    delim: &str,
    names: &[&str],
) -> Result<Vec<&'l str>> {
    let f: Vec<&str> = line.split(delim).map(str::trim).collect();
    if f.len() < names.len() {
        let msg = format!(
            "too few fields: expected {}, found {}",
            names.len(),
            f.len()
        );
        return Err(Error::parse(path, line_no, names[f.len()], msg));
    }
    Ok(f)
}

/// Builds a [`SideTable`] entity by entity.
struct TableBuilder<'a> {
    path: &'a Path,
    ids: IdMap,
    titles: Vec<String>,
}

impl<'a> TableBuilder<'a> {
    fn new(path: &'a Path) -> Self {
        TableBuilder {
            path,
            ids: IdMap::default(),
            titles: Vec::new(),
        }
    }

    /// Adds the entity `raw` read on line `line_no`; an error when it is empty or repeated.
    fn add(&mut self, line_no: usize, field: &str, raw: &str) -> Result<()> {
        let err = |msg: String| Error::parse(self.path, line_no, field, msg);
        if raw.is_empty() {
            return Err(err("empty id".into()));
        }
        if self.ids.index_of(raw).is_some() {
            return Err(err(format!("id `{raw}` appears twice")));
        }
        self.ids.get_or_insert(raw);
        Ok(())
    }

    /// Records a movie's title, year (from the title) and `|`-separated genres.
    fn push_movie(
        &mut self,
        title: &str,
        genre_list: &str,
        years: &mut Vec<Option<i32>>,
        genres: &mut VariableBuilder,
    ) {
        self.titles.push(title.to_string());
        years.push(title_year(title));
        let levels = genre_list
            .split('|')
            .map(str::trim)
            .filter(|g| !g.is_empty() && *g != "(no genres listed)")
            .map(|g| genres.levels.get_or_insert(g))
            .collect();
        genres.values.push(levels);
    }

    fn finish(self, variables: Vec<Variable>) -> SideTable {
        SideTable {
            ids: self.ids,
            variables,
            titles: self.titles,
        }
    }
}

/// A variable whose levels are assigned in order of first appearance.
struct VariableBuilder {
    name: String,
    levels: IdMap,
    values: Vec<Vec<u32>>,
}

impl VariableBuilder {
    /// An empty variable with the given initial levels.
    fn new(name: &str, levels: IdMap) -> Self {
        VariableBuilder {
            name: name.into(),
            levels,
            values: Vec::new(),
        }
    }

    /// Appends one entity with the single value `level` (`"unknown"` when empty).
    fn push_one(&mut self, level: &str) {
        let level = if level.is_empty() { UNKNOWN } else { level };
        let k = self.levels.get_or_insert(level);
        self.values.push(vec![k]);
    }
}

impl From<VariableBuilder> for Variable {
    fn from(b: VariableBuilder) -> Variable {
        Variable {
            name: b.name,
            levels: b.levels.raw_ids().to_vec(),
            multi_valued: false,
            values: b.values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_from_titles() {
        assert_eq!(title_year("Toy Story (1995)"), Some(1995));
        assert_eq!(title_year("Babylon 5 (1994) "), Some(1994));
        assert_eq!(
            title_year("Three Colors: Red (Trois couleurs: Rouge, 1994) (1994)"),
            Some(1994)
        );
        assert_eq!(title_year("Hyena Road"), None);
        assert_eq!(title_year("Stranger Things (2016-)"), None);
        assert_eq!(title_year("(Ö)"), None);
    }

    #[test]
    fn year_levels_ascending_then_unknown() {
        let v = year_variable(&[Some(1999), None, Some(1995), Some(1999)]);
        assert_eq!(v.levels, ["1995", "1999", "unknown"]);
        assert_eq!(v.values, [vec![1], vec![2], vec![0], vec![1]]);
    }

    #[test]
    fn kinds_by_file_name() {
        assert_eq!(Kind::of(Path::new("a/u.data")), Kind::Ml100k);
        assert_eq!(Kind::of(Path::new("book75.test")), Kind::Ml100k);
        assert_eq!(Kind::of(Path::new("ml-10M100K/ratings.dat")), Kind::Dat);
        assert_eq!(Kind::of(Path::new("ratings.csv")), Kind::Csv);
        assert_eq!(Kind::of(Path::new("my.csv")), Kind::Generic);
    }
}
