//! Reader tests: every MovieLens format and generic delimited files on small fixtures
//! written into a temporary folder, bad input (errors name file, line and field), random
//! bytes (never a panic), duplicate policies, and the real ML-100K when present.

mod common;

use embedrec::Error;
use embedrec::data::movielens::{read_items, read_users};
use embedrec::data::{
    self, Dataset, DelimitedSpec, DuplicatePolicy, RatingScale, ReadOptions, SideTable,
};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("embedrec-readers-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(path: &Path) -> embedrec::Result<Dataset> {
    data::load(path, &ReadOptions::default())
}

/// Loads `path`, expecting a parse error naming `name`, `line` and `field`.
fn expect_error(
    result: embedrec::Result<impl std::fmt::Debug>,
    name: &str,
    line: usize,
    field: &str,
) {
    let err = result.expect_err("an error");
    let msg = err.to_string();
    assert!(matches!(err, Error::Parse { .. }), "{msg}");
    assert!(msg.contains(name), "no file name `{name}` in: {msg}");
    assert!(
        msg.contains(&format!(":{line}:")),
        "no line {line} in: {msg}"
    );
    assert!(
        msg.contains(&format!("`{field}`")),
        "no field `{field}` in: {msg}"
    );
    assert_eq!(err.exit_code(), 2);
}

/// Raw ids of the rated (user, item) pairs with their values, in order.
fn triples(d: &Dataset) -> Vec<(String, String, f32)> {
    let r = &d.ratings;
    (0..r.len())
        .map(|k| {
            (
                d.users.raw(r.users[k]).to_string(),
                d.items.raw(r.items[k]).to_string(),
                r.values[k],
            )
        })
        .collect()
}

fn levels_of<'t>(table: &'t SideTable, var: &str, raw: &str) -> Vec<&'t str> {
    let v = table.variable(var).expect("variable");
    let k = table.ids.index_of(raw).expect("id") as usize;
    v.values[k]
        .iter()
        .map(|&l| v.levels[l as usize].as_str())
        .collect()
}

const GENRES: &str = "unknown|0\nAction|1\nAdventure|2\nAnimation|3\nChildren's|4\nComedy|5\n\
Crime|6\nDocumentary|7\nDrama|8\nFantasy|9\nFilm-Noir|10\nHorror|11\nMusical|12\nMystery|13\n\
Romance|14\nSci-Fi|15\nThriller|16\nWar|17\nWestern|18\n\n";

/// A small 100K folder; `u.item` has a Latin-1 title, `u.data` CRLF endings and a
/// trailing empty line.
fn ml100k(dir: &TempDir) {
    dir.write(
        "u.data",
        "196\t242\t3\t881250949\r\n186\t302\t3\t891717742\r\n196\t302\t5\t881250950\r\n\r\n",
    );
    dir.write(
        "u1.base",
        "196\t242\t3\t881250949\n186\t302\t4\t891717742\n",
    );
    dir.write(
        "u.user",
        "196|49|M|writer|55105\n186|39|F|executive|00000\n22|25|M|writer|40206\n7|57|M|writer|V3N4P\n8|36|M|writer|\n",
    );
    let mut item =
        b"242|Kolya (1996)|24-Jan-1997||http://x|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n\
302|L.A. Confidential (1997)|01-Jan-1997||http://y|0|0|0|0|0|0|1|0|0|0|0|0|0|1|0|0|1|0|0\n"
            .to_vec();
    item.extend_from_slice(
        b"1633|\xC1 k\xF6ldum klaka (1994)|||u|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n",
    );
    dir.write("u.item", item);
    dir.write("u.genre", GENRES);
}

#[test]
fn ml100k_folder_loads_ratings_and_metadata() {
    let dir = TempDir::new("100k");
    ml100k(&dir);
    let d = load(&dir.0).unwrap();
    assert_eq!(d.source, dir.0);
    assert_eq!(d.scale, RatingScale::STARS_1_5);
    assert_eq!(
        triples(&d),
        [
            ("196".into(), "242".into(), 3.0),
            ("186".into(), "302".into(), 3.0),
            ("196".into(), "302".into(), 5.0)
        ]
    );
    assert_eq!(
        d.ratings.times.as_deref(),
        Some(&[881250949, 891717742, 881250950][..])
    );
    assert!(d.warnings.is_empty());
    let users = &d.features.users;
    assert_eq!(
        users.variable("occupation").unwrap().levels,
        ["writer", "executive"]
    );
    assert_eq!(users.variable("gender").unwrap().levels, ["M", "F"]);
    assert_eq!(users.variable("age").unwrap().levels.len(), 7);
    assert_eq!(levels_of(users, "age", "196"), ["45-49"]);
    assert_eq!(levels_of(users, "occupation", "22"), ["writer"]);
    // The zip code's first character; a letter for a Canadian code, unknown when empty.
    assert_eq!(
        users.variable("zip").unwrap().levels,
        ["5", "0", "4", "V", "unknown"]
    );
    assert_eq!(levels_of(users, "zip", "22"), ["4"]);
    let items = &d.features.items;
    assert_eq!(d.item_title(0), Some("Kolya (1996)"));
    assert_eq!(items.title("1633"), Some("Á köldum klaka (1994)"));
    assert_eq!(
        levels_of(items, "genres", "302"),
        ["Crime", "Mystery", "Thriller"]
    );
    assert!(items.variable("genres").unwrap().multi_valued);
    assert_eq!(items.variable("genres").unwrap().levels.len(), 19);
    assert_eq!(items.variable("year").unwrap().levels, ["1997", "unknown"]);
    assert_eq!(levels_of(items, "year", "1633"), ["unknown"]);
}

#[test]
fn ml100k_split_file_picks_up_metadata_beside_it() {
    let dir = TempDir::new("100k-base");
    ml100k(&dir);
    let d = load(&dir.0.join("u1.base")).unwrap();
    assert_eq!(d.ratings.len(), 2);
    assert_eq!(d.features.users.ids.len(), 5);
    assert_eq!(d.features.items.title("242"), Some("Kolya (1996)"));
    // Overrides and the default genre names when u.genre is absent.
    let other = TempDir::new("100k-items");
    other.write(
        "items.txt",
        "9|Nine (2009)|01-Jan-2009||u|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n",
    );
    let opts = ReadOptions {
        items_file: Some(other.0.join("items.txt")),
        ..ReadOptions::default()
    };
    let d = data::load(&dir.0.join("u1.base"), &opts).unwrap();
    assert_eq!(d.features.items.title("9"), Some("Nine (2009)"));
    assert_eq!(levels_of(&d.features.items, "genres", "9"), ["Action"]);
}

#[test]
fn train_test_files_share_id_maps() {
    let dir = TempDir::new("100k-tt");
    ml100k(&dir);
    let test = dir.write("u1.test", "196\t302\t4\t1\n999\t242\t2\t2\n");
    let (d, split) =
        data::load_train_test(&dir.0.join("u1.base"), &test, &ReadOptions::default()).unwrap();
    assert_eq!(d.ratings.len(), 2);
    assert_eq!(split.test.len(), 2);
    assert_eq!(split.test_unknown(), 1);
}

#[test]
fn ml1m_reads_latin1_titles_and_coded_users() {
    let dir = TempDir::new("1m");
    dir.write("ratings.dat", "1::1193::5::978300760\n2::3::4::978300275\n");
    dir.write("users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
    dir.write(
        "movies.dat",
        b"1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n3::Caf\xE9 Society (1995)::Comedy|Romance\n",
    );
    let d = load(&dir.0).unwrap();
    assert_eq!(d.scale, RatingScale::STARS_1_5);
    assert_eq!(d.ratings.len(), 2);
    let users = &d.features.users;
    assert_eq!(levels_of(users, "age", "1"), ["Under 18"]);
    assert_eq!(levels_of(users, "age", "2"), ["56+"]);
    assert_eq!(levels_of(users, "occupation", "1"), ["K-12 student"]);
    assert_eq!(levels_of(users, "occupation", "2"), ["self-employed"]);
    assert_eq!(users.variable("occupation").unwrap().levels.len(), 21);
    assert_eq!(levels_of(users, "gender", "2"), ["M"]);
    assert_eq!(levels_of(users, "zip", "2"), ["7"]);
    let items = &d.features.items;
    assert_eq!(items.title("3"), Some("Café Society (1995)"));
    assert_eq!(levels_of(items, "genres", "3"), ["Comedy", "Romance"]);
    assert_eq!(levels_of(items, "year", "1193"), ["1975"]);
    assert_eq!(items.variable("year").unwrap().levels, ["1975", "1995"]);
}

#[test]
fn ml10m_half_stars_without_users() {
    let dir = TempDir::new("10m");
    dir.write(
        "ratings.dat",
        "1::122::4.5::838985046\n1::185::0.5::838983525\n",
    );
    dir.write(
        "movies.dat",
        "122::Boomerang (1992)::Comedy|Romance\n185::Net, The (1995)::(no genres listed)\n",
    );
    let d = load(&dir.0.join("ratings.dat")).unwrap();
    assert_eq!(d.scale, RatingScale::HALF_STARS);
    assert_eq!(d.ratings.values, [4.5, 0.5]);
    assert!(d.features.users.is_empty());
    assert!(levels_of(&d.features.items, "genres", "185").is_empty());
}

#[test]
fn ml25m_csv_with_quotes_and_no_genres() {
    let dir = TempDir::new("25m");
    dir.write(
        "ratings.csv",
        "userId,movieId,rating,timestamp\r\n1,296,5.0,1147880044\r\n1,306,3.5,1147868817\r\n",
    );
    dir.write(
        "movies.csv",
        "movieId,title,genres\n296,Pulp Fiction (1994),Comedy|Crime|Drama|Thriller\n\
306,\"Three Colors: Red (Trois couleurs: Rouge, 1994) (1994)\",Drama\n\
307,Fête (2001),(no genres listed)\n",
    );
    let d = load(&dir.0).unwrap();
    assert_eq!(d.scale, RatingScale::HALF_STARS);
    assert_eq!(d.ratings.values, [5.0, 3.5]);
    assert_eq!(
        d.ratings.times.as_deref(),
        Some(&[1147880044, 1147868817][..])
    );
    let items = &d.features.items;
    assert_eq!(
        items.title("306"),
        Some("Three Colors: Red (Trois couleurs: Rouge, 1994) (1994)")
    );
    assert_eq!(items.title("307"), Some("Fête (2001)"));
    assert!(levels_of(items, "genres", "307").is_empty());
    assert_eq!(levels_of(items, "genres", "306"), ["Drama"]);
    assert_eq!(levels_of(items, "year", "306"), ["1994"]);
    assert_eq!(items.variable("genres").unwrap().levels.len(), 4);
}

#[test]
fn generic_with_spec_string_ids_and_multibyte_delimiter() {
    let dir = TempDir::new("generic");
    let path = dir.write(
        "log.txt",
        "alice::Matrix, The::x\nbob::Heat::y\nalice::Heat::z\n",
    );
    let opts = ReadOptions {
        delimited: Some(DelimitedSpec {
            delimiter: "::".into(),
            header: false,
            user_col: 0,
            item_col: 1,
            rating_col: None,
            time_col: None,
        }),
        ..ReadOptions::default()
    };
    let d = data::load(&path, &opts).unwrap();
    assert_eq!(d.users.raw_ids(), ["alice", "bob"]);
    assert_eq!(d.items.raw_ids(), ["Matrix, The", "Heat"]);
    assert_eq!(d.ratings.values, [1.0; 3]);
    assert!(d.ratings.times.is_none());
    assert_eq!((d.scale.min, d.scale.max), (1.0, 1.0));
    assert!(d.features.items.is_empty());
}

#[test]
fn generic_sniffs_tab_comma_and_double_colon() {
    let dir = TempDir::new("sniff");
    let tab = dir.write("a.tsv", "u1\ti1\t2\nu2\ti1\t7\n");
    let d = load(&tab).unwrap();
    assert_eq!((d.scale.min, d.scale.max), (2.0, 7.0));
    assert!(d.ratings.times.is_none());
    let csv = dir.write("b.csv", "user,item,score,time\nu1,i1,2.5,10\n");
    let d = load(&csv).unwrap();
    assert_eq!(d.ratings.values, [2.5]);
    assert_eq!(d.ratings.times.as_deref(), Some(&[10][..]));
    let colons = dir.write("c.dat", "1::2::3::4\n");
    assert_eq!(load(&colons).unwrap().ratings.len(), 1);
    // A declared scale is enforced on generic files too.
    let opts = ReadOptions {
        scale: Some(RatingScale::STARS_1_5),
        ..ReadOptions::default()
    };
    expect_error(data::load(&tab, &opts), "a.tsv", 2, "rating");
    let junk = dir.write("d.txt", "hello world\n");
    let err = load(&junk).unwrap_err().to_string();
    assert!(
        err.contains("d.txt") && err.contains("--delimiter"),
        "{err}"
    );
}

#[test]
fn byte_order_marks_are_skipped() {
    let dir = TempDir::new("bom");
    let p = dir.write("plain.tsv", "\u{feff}u1\ti1\t4\n");
    assert_eq!(load(&p).unwrap().users.raw_ids(), ["u1"]);
    dir.write(
        "ratings.csv",
        "\u{feff}userId,movieId,rating,timestamp\n1,2,3,4\n",
    );
    dir.write(
        "movies.csv",
        "\u{feff}movieId,title,genres\n2,Two (2000),Drama\n",
    );
    let d = load(&dir.0).unwrap();
    assert_eq!(d.features.items.ids.raw_ids(), ["2"]);
}

#[test]
fn read_ratings_into_extends_existing_maps() {
    let dir = TempDir::new("into");
    let p = dir.write("u.data", "7\t8\t4\t1\n5\t8\t2\t2\n");
    let mut users = embedrec::data::IdMap::from_raw(["5"]);
    let mut items = embedrec::data::IdMap::default();
    let (r, warnings) =
        data::movielens::read_ratings_into(&p, &ReadOptions::default(), &mut users, &mut items)
            .unwrap();
    assert!(warnings.is_empty());
    assert_eq!(users.raw_ids(), ["5", "7"]);
    assert_eq!(r.users, [1, 0]);
    assert_eq!(r.items, [0, 0]);
}

#[test]
fn not_a_movielens_folder() {
    let dir = TempDir::new("nofolder");
    let err = load(&dir.0).unwrap_err();
    assert!(matches!(err, Error::BadInput { .. }), "{err}");
    let err = load(&dir.0.join("missing.data")).unwrap_err();
    assert_eq!(err.exit_code(), 2);
}

// ---- bad input: the error names file, line and field ----

#[test]
fn too_few_fields() {
    let dir = TempDir::new("few");
    let p = dir.write("u.data", "1\t2\t3\t4\n1\t2\n");
    expect_error(load(&p), "u.data", 2, "rating");
    let p = dir.write("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3\n");
    expect_error(load(&p), "ratings.csv", 2, "timestamp");
}

#[test]
fn non_numeric_rating() {
    let dir = TempDir::new("nonnum");
    let p = dir.write("ratings.dat", "1::2::3::4\n1::3::five::4\n");
    expect_error(load(&p), "ratings.dat", 2, "Rating");
}

#[test]
fn nan_and_infinite_ratings() {
    let dir = TempDir::new("nan");
    let p = dir.write("u.data", "1\t2\tNaN\t4\n");
    expect_error(load(&p), "u.data", 1, "rating");
    let p = dir.write("ratings.csv", "1,2,3,4\n1,3,inf,5\n");
    expect_error(load(&p), "ratings.csv", 2, "rating");
}

#[test]
fn rating_outside_scale() {
    let dir = TempDir::new("scale");
    let p = dir.write("u1.test", "1\t2\t3\t4\n\n1\t3\t6\t4\n");
    expect_error(load(&p), "u1.test", 3, "rating");
    let p = dir.write("ratings.dat", "1::2::5.5::4\n");
    expect_error(load(&p), "ratings.dat", 1, "Rating");
}

#[test]
fn non_numeric_timestamp() {
    let dir = TempDir::new("time");
    let p = dir.write("u.data", "1\t2\t3\tyesterday\n");
    expect_error(load(&p), "u.data", 1, "timestamp");
}

#[test]
fn empty_files_have_no_ratings() {
    let dir = TempDir::new("empty");
    for (name, body) in [
        ("u.data", ""),
        ("ratings.dat", "\n\n"),
        ("ratings.csv", "userId,movieId,rating,timestamp\n"),
        ("x.csv", ""),
    ] {
        let p = dir.write(name, body);
        let err = load(&p).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::BadInput { .. }), "{msg}");
        assert!(msg.contains(name) && msg.contains("no ratings"), "{msg}");
    }
}

#[test]
fn invalid_utf8() {
    let dir = TempDir::new("utf8");
    let p = dir.write("ratings.csv", b"1,2,3,4\n1,\xFF\xFE,3,4\n");
    expect_error(load(&p), "ratings.csv", 2, "movieId");
    let p = dir.write("u.data", b"\xC3\t2\t3\t4\n");
    expect_error(load(&p), "u.data", 1, "user");
    let p = dir.write("movies.csv", b"movieId,title,genres\n1,Caf\xE9,Drama\n");
    expect_error(read_items(&p), "movies.csv", 2, "title");
}

#[test]
fn malformed_metadata() {
    let dir = TempDir::new("meta");
    let p = dir.write("u.user", "1|24|M|technician|85711\n2|old|F|other|94043\n");
    expect_error(read_users(&p), "u.user", 2, "age");
    let p = dir.write("users.dat", "1::F::1::10::48067\n2::M::56::25::70072\n");
    expect_error(read_users(&p), "users.dat", 2, "Occupation");
    let p = dir.write("users.dat", "1::F::1::10::48067\n2::M::30::2::70072\n");
    expect_error(read_users(&p), "users.dat", 2, "Age");
    let p = dir.write(
        "u.item",
        "1|Toy Story (1995)|01-Jan-1995||u|0|0|0|2|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n",
    );
    expect_error(read_items(&p), "u.item", 1, "Animation");
    let p = dir.write("u.item", "1|Toy Story (1995)|Jan|\n");
    expect_error(read_items(&p), "u.item", 1, "IMDb URL");
    let p = dir.write(
        "movies.dat",
        "1::Toy Story (1995)::Comedy\n1::Again (1995)::Drama\n",
    );
    expect_error(read_items(&p), "movies.dat", 2, "MovieID");
    let p = dir.write("movies.dat", "1::Toy Story (1995)\n");
    expect_error(read_items(&p), "movies.dat", 1, "Genres");
    // Malformed metadata beside a good ratings file fails the load.
    dir.write("u.data", "1\t2\t3\t4\n");
    expect_error(load(&dir.0), "u.user", 2, "age");
}

// ---- duplicates ----

fn dup_file(dir: &TempDir) -> PathBuf {
    dir.write(
        "ratings.csv",
        "1,2,3,10\n1,3,4,11\n1,2,5,12\n1,2,4,13\n1,3,2,14\n9,9,1,15\n",
    )
}

fn with_policy(duplicates: DuplicatePolicy) -> ReadOptions {
    ReadOptions {
        duplicates,
        ..ReadOptions::default()
    }
}

#[test]
fn duplicates_error_names_both_lines() {
    let dir = TempDir::new("dup-err");
    let p = dup_file(&dir);
    let err = data::load(&p, &with_policy(DuplicatePolicy::Error)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ratings.csv:3:") && msg.contains("line 1"),
        "{msg}"
    );
    // The pair is named by its raw ids, not by internal indices.
    assert!(
        msg.contains("(`1`, `2`)") && !msg.contains("(0, 0)"),
        "{msg}"
    );
    let p = dir.write(
        "log.txt",
        "u\ti\tr\nalice\tHeat\t1\nbob\tHeat\t2\nbob\tHeat\t3\n",
    );
    let err = data::load(&p, &with_policy(DuplicatePolicy::Error)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(":4:") && msg.contains("(`bob`, `Heat`)"),
        "{msg}"
    );
}

#[test]
fn duplicates_keep_last() {
    let dir = TempDir::new("dup-last");
    let p = dup_file(&dir);
    let d = data::load(&p, &ReadOptions::default()).unwrap();
    assert_eq!(
        triples(&d),
        [
            ("1".into(), "2".into(), 4.0),
            ("1".into(), "3".into(), 2.0),
            ("9".into(), "9".into(), 1.0)
        ]
    );
    assert_eq!(d.ratings.times.as_deref(), Some(&[13, 14, 15][..]));
    assert_eq!(d.warnings.len(), 1);
    let w = &d.warnings[0];
    assert!(
        w.contains("ratings.csv") && w.contains("2 duplicate"),
        "{w}"
    );
}

#[test]
fn duplicates_mean() {
    let dir = TempDir::new("dup-mean");
    let p = dup_file(&dir);
    let d = data::load(&p, &with_policy(DuplicatePolicy::Mean)).unwrap();
    assert_eq!(d.ratings.values, [4.0, 3.0, 1.0]);
    assert!(d.warnings[0].contains("mean"), "{}", d.warnings[0]);
}

// ---- random bytes: Ok or Err, never a panic ----

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let alphabet: Vec<u8> = b"0123456789.-e|:,\t\n\r \"(no)NaF\xE9\xFF".to_vec();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2000),
        prop::collection::vec(prop::sample::select(alphabet), 0..2000),
    ]
}

/// Writes `bytes` as `name` (beside small valid 100K ratings) and runs `read` on it.
fn fuzz<T>(name: &str, bytes: &[u8], read: impl Fn(&Path) -> embedrec::Result<T>) {
    let dir = TempDir::new("fuzz");
    let p = dir.write(name, bytes);
    let _ = read(&p);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_u_data(b in bytes()) { fuzz("u.data", &b, load); }

    #[test]
    fn random_ratings_dat(b in bytes()) { fuzz("ratings.dat", &b, load); }

    #[test]
    fn random_ratings_csv(b in bytes()) { fuzz("ratings.csv", &b, load); }

    #[test]
    fn random_generic_sniffed(b in bytes()) { fuzz("log.txt", &b, load); }

    #[test]
    fn random_generic_with_spec(b in bytes()) {
        let opts = ReadOptions {
            delimited: Some(DelimitedSpec { delimiter: "::".into(), ..DelimitedSpec::default() }),
            duplicates: DuplicatePolicy::Mean,
            ..ReadOptions::default()
        };
        fuzz("log.txt", &b, |p| data::load(p, &opts));
    }

    #[test]
    fn random_u_user(b in bytes()) { fuzz("u.user", &b, read_users); }

    #[test]
    fn random_users_dat(b in bytes()) { fuzz("users.dat", &b, read_users); }

    #[test]
    fn random_u_item(b in bytes()) { fuzz("u.item", &b, read_items); }

    #[test]
    fn random_movies_dat(b in bytes()) { fuzz("movies.dat", &b, read_items); }

    #[test]
    fn random_movies_csv(b in bytes()) { fuzz("movies.csv", &b, read_items); }

    #[test]
    fn random_u_genre(b in bytes()) {
        let dir = TempDir::new("fuzz-genre");
        dir.write("u.genre", &b);
        let p = dir.write("u.item", "1|T (1995)|01-Jan-1995||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1\n");
        let _ = read_items(&p);
    }
}

// ---- the real ML-100K, when present ----

fn ml100k_dir() -> Option<PathBuf> {
    common::ml100k()
}

#[test]
fn real_ml100k_folder() {
    let Some(dir) = ml100k_dir() else { return };
    let d = load(&dir).unwrap();
    assert_eq!(d.ratings.len(), 100_000);
    assert_eq!(d.users.len(), 943);
    assert_eq!(d.items.len(), 1682);
    assert_eq!(d.scale, RatingScale::STARS_1_5);
    assert!(d.warnings.is_empty());
    let items = &d.features.items;
    assert_eq!(items.title("1"), Some("Toy Story (1995)"));
    assert_eq!(items.titles.len(), 1682);
    assert!(items.titles.iter().any(|t| t.contains('é')));
    assert!(items.titles.iter().any(|t| !t.is_ascii()));
    assert_eq!(
        levels_of(items, "genres", "1"),
        ["Animation", "Children's", "Comedy"]
    );
    assert_eq!(levels_of(items, "year", "1"), ["1995"]);
    let users = &d.features.users;
    assert_eq!(users.ids.len(), 943);
    let occupation = users.variable("occupation").unwrap();
    assert_eq!(occupation.levels.len(), 21);
    assert_eq!(&occupation.levels[..3], ["technician", "other", "writer"]);
    assert_eq!(levels_of(users, "age", "1"), ["18-24"]);
}

#[test]
fn real_ml100k_split_file() {
    let Some(dir) = ml100k_dir() else { return };
    let d = load(&dir.join("u1.base")).unwrap();
    assert_eq!(d.ratings.len(), 80_000);
    assert_eq!(d.features.items.title("1"), Some("Toy Story (1995)"));
    assert_eq!(d.features.users.ids.len(), 943);
    let (_, split) = data::load_train_test(
        &dir.join("u1.base"),
        &dir.join("u1.test"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(split.test.len(), 20_000);
}

/// Prints the time to read `u.data` (run with `--ignored --nocapture`; never asserted).
#[test]
#[ignore]
fn time_u_data() {
    let Some(dir) = ml100k_dir() else { return };
    let path = dir.join("u.data");
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let d = load(&path).unwrap();
        eprintln!(
            "u.data: {} ratings in {:?}",
            d.ratings.len(),
            start.elapsed()
        );
    }
    let start = std::time::Instant::now();
    let d = load(&dir).unwrap();
    eprintln!(
        "ml-100k folder with metadata: {} ratings in {:?}",
        d.ratings.len(),
        start.elapsed()
    );
}

/// Prints read throughput on a generated 1M-rating file in each line format (run with
/// `--ignored --nocapture`; never asserted).
#[test]
#[ignore]
fn time_generated_million() {
    let dir = TempDir::new("million");
    for (name, sep) in [
        ("ratings.dat", "::"),
        ("ratings.csv", ","),
        ("u.data", "\t"),
    ] {
        let mut body = String::with_capacity(30_000_000);
        for k in 0..1_000_000u64 {
            let (u, i) = (k % 6040, (k * 7919) % 3706);
            body.push_str(&format!("{u}{sep}{i}{sep}{}{sep}97830{k}\n", 1 + k % 5));
        }
        let p = dir.write(name, body);
        let start = std::time::Instant::now();
        let d = data::load(&p, &with_policy(DuplicatePolicy::KeepLast)).unwrap();
        eprintln!(
            "{name}: {} lines -> {} ratings in {:?}",
            1_000_000,
            d.ratings.len(),
            start.elapsed()
        );
    }
}

// ---- line endings: `\n`, `\r\n` and a lone `\r` (old Mac) all end a line ----

/// The body of a ratings file in each reader's layout: `rows` joined by `ends` in turn.
fn with_endings(header: Option<&str>, rows: &[String], ends: &[&str]) -> String {
    let mut s = String::new();
    let mut k = 0;
    let mut end = || {
        k += 1;
        ends[(k - 1) % ends.len()]
    };
    if let Some(h) = header {
        s.push_str(h);
        s.push_str(end());
    }
    for r in rows {
        s.push_str(r);
        s.push_str(end());
    }
    s
}

/// (file name, header, delimiter, rating field name) of every ratings reader.
const LINE_READERS: [(&str, Option<&str>, &str, &str); 5] = [
    ("u.data", None, "\t", "rating"),
    ("u1.base", None, "\t", "rating"),
    ("ratings.dat", None, "::", "Rating"),
    (
        "ratings.csv",
        Some("userId,movieId,rating,timestamp"),
        ",",
        "rating",
    ),
    ("log.tsv", Some("user\titem\trating\ttime"), "\t", "rating"),
];

fn rows(delim: &str, ratings: &[&str]) -> Vec<String> {
    ratings
        .iter()
        .enumerate()
        .map(|(k, r)| format!("{}{delim}{}{delim}{r}{delim}{}", k % 3 + 1, k + 10, 100 + k))
        .collect()
}

#[test]
fn cr_only_and_mixed_line_endings_read_every_line() {
    let dir = TempDir::new("cr");
    for ends in [&["\r"][..], &["\n", "\r\n", "\r"], &["\r", "\r", "\r\n"]] {
        for (name, header, delim, _) in LINE_READERS {
            let body = with_endings(header, &rows(delim, &["1", "2", "3", "4", "5", "4"]), ends);
            let p = dir.write(name, &body);
            let d = load(&p).unwrap_or_else(|e| panic!("{name} {ends:?}: {e}"));
            assert_eq!(
                d.ratings.values,
                [1.0, 2.0, 3.0, 4.0, 5.0, 4.0],
                "{name} {ends:?}"
            );
            assert_eq!(d.users.raw_ids(), ["1", "2", "3"], "{name} {ends:?}");
            assert_eq!(d.items.raw(d.ratings.items[5]), "15", "{name} {ends:?}");
        }
    }
}

#[test]
fn cr_only_files_report_the_right_line() {
    let dir = TempDir::new("cr-line");
    for ends in [&["\r"][..], &["\r\n", "\r", "\n"]] {
        for (name, header, delim, field) in LINE_READERS {
            // The bad rating is on line 5 of the file, header included.
            let n = if header.is_some() { 3 } else { 4 };
            let mut ratings = vec!["3"; n];
            ratings.extend(["x", "1", "2"]);
            let p = dir.write(name, with_endings(header, &rows(delim, &ratings), ends));
            expect_error(load(&p), name, 5, field);
        }
    }
}

#[test]
fn cr_only_blank_lines_count() {
    let dir = TempDir::new("cr-blank");
    let p = dir.write(
        "ratings.csv",
        "userId,movieId,rating,timestamp\r\r1,2,3,4\r\r\r1,3,x,4\r",
    );
    expect_error(load(&p), "ratings.csv", 6, "rating");
    let p = dir.write("u.data", "1\t2\t3\t4\r\n\r\r\n1\t3\tx\t4\r");
    expect_error(load(&p), "u.data", 4, "rating");
    // Blank lines before a CSV record count with `\n` endings too, and a record whose
    // quoted field spans lines is named by its first line.
    let p = dir.write("ratings.csv", "1,2,3,4\n\n\n1,3,x,4");
    expect_error(load(&p), "ratings.csv", 4, "rating");
    let p = dir.write("ratings.csv", "1,2,3,4\n\"1\r\n\",3,x,4\n1,4,3,4\n");
    expect_error(load(&p), "ratings.csv", 2, "rating");
    let p = dir.write(
        "movies.csv",
        "movieId,title,genres\n\n1,One,Drama\n\n1,Dup,Drama",
    );
    expect_error(read_items(&p), "movies.csv", 5, "movieId");
}

#[test]
fn cr_only_duplicates_name_both_lines() {
    let dir = TempDir::new("cr-dup");
    let p = dir.write(
        "ratings.csv",
        "1,2,3,10\r1,3,4,11\r1,4,5,12\r7,2,4,13\r1,3,2,14\r",
    );
    let err = data::load(&p, &with_policy(DuplicatePolicy::Error)).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ratings.csv:5:") && msg.contains("line 2"),
        "{msg}"
    );
}

#[test]
fn cr_only_metadata() {
    let dir = TempDir::new("cr-meta");
    let p = dir.write(
        "movies.csv",
        "movieId,title,genres\r1,One (1999),Drama\r2,Two,x\r3,One (1999),Drama\r1,Dup,Drama\r",
    );
    expect_error(read_items(&p), "movies.csv", 5, "movieId");
    let p = dir.write(
        "u.user",
        "1|24|M|technician|85711\r2|30|F|other|94043\r3|old|F|other|1\r",
    );
    expect_error(read_users(&p), "u.user", 3, "age");
}

#[test]
fn a_100k_format_file_of_half_stars_reads_as_half_stars_with_a_warning() {
    let dir = TempDir::new("half-100k");
    let half = dir.write("u1.base", "1\t2\t3.5\t4\n2\t2\t0.5\t5\n");
    let d = load(&half).unwrap();
    assert_eq!(d.scale, RatingScale::HALF_STARS);
    assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    assert!(
        d.warnings[0].contains("u1.base") && d.warnings[0].contains("0.5..5"),
        "{}",
        d.warnings[0]
    );
    // Whole stars keep 1..5, silently; a declared scale still refuses what it excludes.
    let p = dir.write("u.data", "1\t2\t3\t4\n2\t2\t2\t5\n");
    let d = load(&p).unwrap();
    assert_eq!(d.scale, RatingScale::STARS_1_5);
    assert!(d.warnings.is_empty());
    let opts = ReadOptions {
        scale: Some(RatingScale::STARS_1_5),
        ..ReadOptions::default()
    };
    expect_error(data::load(&half, &opts), "u1.base", 2, "rating");
}

#[test]
fn a_generic_file_snaps_its_scale_to_whole_or_half_stars_with_a_warning() {
    let dir = TempDir::new("snap");
    let d = load(&dir.write("a.tsv", "u1\ti1\t1.5\nu2\ti1\t4.2\n")).unwrap();
    assert_eq!((d.scale.min, d.scale.max), (1.5, 4.5));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("1.5..4.5") && w.contains("half stars")),
        "{:?}",
        d.warnings
    );
    let d = load(&dir.write("b.tsv", "u1\ti1\t2\nu2\ti1\t9\n")).unwrap();
    assert_eq!((d.scale.min, d.scale.max), (2.0, 9.0));
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("2..9") && w.contains("whole stars")),
        "{:?}",
        d.warnings
    );
}
