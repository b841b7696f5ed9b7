//! Parquet in and out: files and Spark folders read as ratings (every id, rating and time
//! type, both codecs, column detection and choice, errors), `recommend --all-users`
//! writing Parquet.

mod common;

use arrow_array::builder::{StringBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMillisecondArray, UInt64Array,
};
use common::{TempDir, embedrec, last_json, stderr};
use embedrec::data::{self, Column, Columns, Dataset, DuplicatePolicy, ReadOptions};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The small data every test writes: (user, item, rating, time).
const ROWS: [(i64, i64, f64, i64); 8] = [
    (1, 10, 4.0, 881250949),
    (1, 20, 3.5, 881250950),
    (2, 10, 5.0, 881250951),
    (2, 30, 1.0, 881250952),
    (3, 20, 2.5, 881250953),
    (3, 30, 4.5, 881250954),
    (4, 10, 3.0, 881250955),
    (4, 40, 2.0, 881250956),
];

fn users_i64() -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(ROWS.iter().map(|r| r.0)))
}
fn items_i64() -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(ROWS.iter().map(|r| r.1)))
}
fn ratings_f64() -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(ROWS.iter().map(|r| r.2)))
}
fn times_i64() -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(ROWS.iter().map(|r| r.3)))
}

/// Writes `columns` as one Parquet file compressed with `codec`.
fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>, codec: Compression) -> PathBuf {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder().set_compression(codec).build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path.to_path_buf()
}

/// The conventional MovieLens-style file: userId, movieId, rating, timestamp.
fn movielens_style(dir: &TempDir, name: &str, codec: Compression) -> PathBuf {
    write_parquet(
        &dir.path(name),
        vec![
            ("userId", users_i64()),
            ("movieId", items_i64()),
            ("rating", ratings_f64()),
            ("timestamp", times_i64()),
        ],
        codec,
    )
}

/// The same rows as CSV with a header.
fn csv_of_rows(dir: &TempDir) -> PathBuf {
    let mut text = String::from("user,item,rating,timestamp\n");
    for (u, i, r, t) in ROWS {
        text.push_str(&format!("{u},{i},{r},{t}\n"));
    }
    dir.write("rows.csv", text)
}

fn load(path: &Path) -> Dataset {
    data::load(path, &ReadOptions::default()).unwrap()
}

fn columns(user: Column, item: Column, rating: Column, time: Column) -> ReadOptions {
    ReadOptions {
        columns: Columns {
            user,
            item,
            rating,
            time,
        },
        ..ReadOptions::default()
    }
}

/// (raw user, raw item, rating, time) of every rating, in order.
fn triples(d: &Dataset) -> Vec<(String, String, f32, Option<i64>)> {
    let r = &d.ratings;
    (0..r.len())
        .map(|k| {
            (
                d.users.raw(r.users[k]).to_string(),
                d.items.raw(r.items[k]).to_string(),
                r.values[k],
                r.times.as_ref().map(|t| t[k]),
            )
        })
        .collect()
}

fn codecs() -> [Compression; 3] {
    [
        Compression::UNCOMPRESSED,
        Compression::SNAPPY,
        Compression::ZSTD(ZstdLevel::default()),
    ]
}

#[test]
fn parquet_reads_as_the_csv_of_the_same_rows_with_every_codec() {
    let dir = TempDir::new("pq-round");
    let csv = load(&csv_of_rows(&dir));
    for (k, codec) in codecs().into_iter().enumerate() {
        let p = movielens_style(&dir, &format!("r{k}.parquet"), codec);
        let d = load(&p);
        assert_eq!(d.ratings, csv.ratings, "{codec:?}");
        assert_eq!(d.users.raw_ids(), csv.users.raw_ids(), "{codec:?}");
        assert_eq!(d.items.raw_ids(), csv.items.raw_ids(), "{codec:?}");
        assert_eq!(d.scale, csv.scale, "{codec:?}");
        assert!(d.warnings.is_empty());
        assert_eq!(d.users.raw_ids(), ["1", "2", "3", "4"]);
    }
}

#[test]
fn parquet_is_found_by_its_magic_without_the_extension() {
    let dir = TempDir::new("pq-magic");
    let p = movielens_style(&dir, "ratings.bin", Compression::SNAPPY);
    assert!(data::parquet::is_parquet(&p));
    assert_eq!(load(&p).ratings.len(), ROWS.len());
    // A file named `.parquet` that is not one is an error naming it, not a guess.
    let fake = dir.write("fake.parquet", "user,item,rating\n1,2,3\n");
    let e = data::load(&fake, &ReadOptions::default()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("fake.parquet"), "{e}");
}

#[test]
fn spark_folder_reads_its_part_files_in_name_order() {
    let dir = TempDir::new("pq-spark");
    let out = dir.path("ratings.parquet");
    std::fs::create_dir(&out).unwrap();
    let half = |a: &ArrayRef, first: bool| a.slice(if first { 0 } else { 4 }, 4);
    for (name, first) in [
        ("part-00001-abc-c000.snappy.parquet", false),
        ("part-00000-abc-c000.snappy.parquet", true),
    ] {
        write_parquet(
            &out.join(name),
            vec![
                ("user_id", half(&users_i64(), first)),
                ("item_id", half(&items_i64(), first)),
                ("rating", half(&ratings_f64(), first)),
                ("timestamp", half(&times_i64(), first)),
            ],
            Compression::SNAPPY,
        );
        std::fs::write(out.join(format!(".{name}.crc")), b"crc bytes").unwrap();
    }
    std::fs::write(out.join("_SUCCESS"), b"").unwrap();
    std::fs::write(out.join("._SUCCESS.crc"), b"crc").unwrap();
    let d = load(&out);
    assert_eq!(triples(&d), triples(&load(&csv_of_rows(&dir))));
    assert_eq!(d.source, out);

    // --train / --test from folders: the test ids join the training id maps.
    let (train, split) = data::load_train_test(
        &out,
        &out.join("part-00001-abc-c000.snappy.parquet"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(train.ratings.len(), 8);
    assert_eq!(split.test.len(), 4);

    // An error in the second part names that file and the row within it.
    let bad = dir.path("bad");
    std::fs::create_dir(&bad).unwrap();
    for (name, rating) in [("part-0.parquet", 4.0), ("part-1.parquet", 9.0)] {
        write_parquet(
            &bad.join(name),
            vec![
                ("user", users_i64().slice(0, 2)),
                ("item", items_i64().slice(0, 2)),
                (
                    "rating",
                    Arc::new(Float64Array::from(vec![3.0, rating])) as ArrayRef,
                ),
            ],
            Compression::SNAPPY,
        );
    }
    let opts = ReadOptions {
        scale: Some(data::RatingScale { min: 1.0, max: 5.0 }),
        ..ReadOptions::default()
    };
    let e = data::load(&bad, &opts).unwrap_err().to_string();
    assert!(
        e.contains("part-1.parquet:2:") && e.contains("outside the scale"),
        "{e}"
    );
    // Duplicates across parts name both files.
    let opts = ReadOptions {
        duplicates: DuplicatePolicy::Error,
        ..ReadOptions::default()
    };
    let e = data::load(&bad, &opts).unwrap_err().to_string();
    assert!(
        e.contains("part-1.parquet:1:")
            && e.contains("first in")
            && e.contains("part-0.parquet on row 1"),
        "{e}"
    );

    // A folder with the marker and no part file (e.g. Spark's CSV output) says so.
    let csv = dir.path("csv-out");
    std::fs::create_dir(&csv).unwrap();
    std::fs::write(csv.join("_SUCCESS"), b"").unwrap();
    std::fs::write(csv.join("part-00000.csv"), b"1,2,3\n").unwrap();
    let e = data::load(&csv, &ReadOptions::default()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("no *.parquet part files"), "{e}");
}

#[test]
fn id_types_give_the_raw_ids_of_the_text_readers() {
    let dir = TempDir::new("pq-ids");
    let want = triples(&load(&csv_of_rows(&dir)));
    let strings = |f: fn(&(i64, i64, f64, i64)) -> i64| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(
            ROWS.iter().map(|r| f(r).to_string()),
        ))
    };
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    for r in ROWS {
        dict.append_value(r.1.to_string());
    }
    let unsigned: ArrayRef = Arc::new(UInt64Array::from_iter_values(
        ROWS.iter().map(|r| r.0 as u64),
    ));
    let short: ArrayRef = Arc::new(Int16Array::from_iter_values(
        ROWS.iter().map(|r| r.1 as i16),
    ));
    for (k, (users, items)) in [
        (strings(|r| r.0), strings(|r| r.1)),
        (unsigned, Arc::new(dict.finish()) as ArrayRef),
        (users_i64(), short),
    ]
    .into_iter()
    .enumerate()
    {
        let p = write_parquet(
            &dir.path(&format!("ids{k}.parquet")),
            vec![
                ("user", users),
                ("item", items),
                ("rating", ratings_f64()),
                ("time", times_i64()),
            ],
            Compression::SNAPPY,
        );
        assert_eq!(triples(&load(&p)), want, "case {k}");
    }
    // Text ids that are not numbers stay as they are.
    let names: ArrayRef = Arc::new(StringArray::from(vec!["alice", "bob", "alice"]));
    let p = write_parquet(
        &dir.path("names.parquet"),
        vec![
            ("user", names.clone()),
            (
                "item",
                Arc::new(StringArray::from(vec!["x", "x", "y"])) as ArrayRef,
            ),
            (
                "rating",
                Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef,
            ),
        ],
        Compression::SNAPPY,
    );
    let d = load(&p);
    assert_eq!(d.users.raw_ids(), ["alice", "bob"]);
    assert_eq!(d.ratings.values, [1.0, 2.0, 3.0]);
    assert!(d.ratings.times.is_none());
}

#[test]
fn rating_types_float32_float64_and_integers() {
    let dir = TempDir::new("pq-ratings");
    let f32s: ArrayRef = Arc::new(Float32Array::from_iter_values(
        ROWS.iter().map(|r| r.2 as f32),
    ));
    let ints: ArrayRef = Arc::new(Int32Array::from_iter_values(
        ROWS.iter().map(|r| r.2.ceil() as i32),
    ));
    for (k, (ratings, want)) in [
        (ratings_f64(), ROWS.map(|r| r.2 as f32)),
        (f32s, ROWS.map(|r| r.2 as f32)),
        (ints, ROWS.map(|r| r.2.ceil() as f32)),
    ]
    .into_iter()
    .enumerate()
    {
        let p = write_parquet(
            &dir.path(&format!("r{k}.parquet")),
            vec![
                ("user", users_i64()),
                ("item", items_i64()),
                ("rating", ratings),
            ],
            Compression::ZSTD(ZstdLevel::default()),
        );
        assert_eq!(load(&p).ratings.values, want, "case {k}");
    }
}

#[test]
fn timestamps_of_any_unit_become_unix_seconds() {
    let dir = TempDir::new("pq-times");
    let ms: ArrayRef = Arc::new(TimestampMillisecondArray::from_iter_values(
        ROWS.iter().map(|r| r.3 * 1000 + 999),
    ));
    let p = write_parquet(
        &dir.path("t.parquet"),
        vec![
            ("user", users_i64()),
            ("item", items_i64()),
            ("rating", ratings_f64()),
            ("timestamp", ms),
        ],
        Compression::SNAPPY,
    );
    let d = load(&p);
    assert_eq!(d.ratings.times.unwrap(), ROWS.map(|r| r.3));
}

#[test]
fn columns_by_conventional_name_explicit_name_index_or_position() {
    let dir = TempDir::new("pq-cols");
    let want = triples(&load(&csv_of_rows(&dir)));
    // Conventional names in any case and order, among other columns.
    let p = write_parquet(
        &dir.path("named.parquet"),
        vec![
            ("Timestamp", times_i64()),
            ("extra", ratings_f64()),
            ("RATING", ratings_f64()),
            ("ITEM_ID", items_i64()),
            ("UserId", users_i64()),
        ],
        Compression::SNAPPY,
    );
    assert_eq!(triples(&load(&p)), want);
    // Names nobody could guess: by position (the fourth column is an integer: the time).
    let p = write_parquet(
        &dir.path("anon.parquet"),
        vec![
            ("a", users_i64()),
            ("b", items_i64()),
            ("c", ratings_f64()),
            ("d", times_i64()),
        ],
        Compression::SNAPPY,
    );
    assert_eq!(triples(&load(&p)), want);
    // Chosen by name and by number.
    let p = write_parquet(
        &dir.path("odd.parquet"),
        vec![
            ("when", times_i64()),
            ("customer", users_i64()),
            ("product", items_i64()),
            ("stars", ratings_f64()),
        ],
        Compression::SNAPPY,
    );
    let opts = columns(
        Column::Name("customer".into()),
        Column::Index(2),
        Column::Name("Stars".into()),
        Column::Index(0),
    );
    assert_eq!(triples(&data::load(&p, &opts).unwrap()), want);
    // No rating column: interactions of value 1; no time.
    let opts = columns(
        Column::Name("customer".into()),
        Column::Name("product".into()),
        Column::Absent,
        Column::Absent,
    );
    let d = data::load(&p, &opts).unwrap();
    assert!(d.ratings.values.iter().all(|&v| v == 1.0) && d.ratings.times.is_none());
    // A missing named column lists the file's columns.
    let opts = columns(
        Column::Name("user".into()),
        Column::Detect,
        Column::Detect,
        Column::Detect,
    );
    let e = data::load(&p, &opts).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let e = e.to_string();
    assert!(
        e.contains("odd.parquet")
            && e.contains("no column `user`")
            && e.contains("when, customer, product, stars"),
        "{e}"
    );
    // The same column twice is refused.
    let opts = columns(
        Column::Index(1),
        Column::Index(1),
        Column::Detect,
        Column::Detect,
    );
    let e = data::load(&p, &opts).unwrap_err().to_string();
    assert!(e.contains("both the user and the item"), "{e}");
}

#[test]
fn delimited_files_with_a_header_take_column_names() {
    let dir = TempDir::new("pq-csv-names");
    let p = dir.write("log.csv", "when,who,what,stars\n5,a,x,4\n6,b,x,2\n");
    let comma = |c: ReadOptions| ReadOptions {
        delimited: Some(data::DelimitedSpec::default()),
        ..c
    };
    let opts = comma(columns(
        Column::Name("WHO".into()),
        Column::Name("what".into()),
        Column::Name("stars".into()),
        Column::Name("when".into()),
    ));
    let d = data::load(&p, &opts).unwrap();
    assert_eq!(
        triples(&d),
        [
            ("a".into(), "x".into(), 4.0, Some(5)),
            ("b".into(), "x".into(), 2.0, Some(6))
        ]
    );
    let opts = comma(columns(
        Column::Name("nobody".into()),
        Column::Detect,
        Column::Detect,
        Column::Detect,
    ));
    let e = data::load(&p, &opts).unwrap_err().to_string();
    assert!(
        e.contains("no column `nobody`") && e.contains("when, who, what, stars"),
        "{e}"
    );
}

#[test]
fn bad_parquet_is_an_input_error_naming_file_column_and_row() {
    let dir = TempDir::new("pq-bad");
    let good = movielens_style(&dir, "good.parquet", Compression::SNAPPY);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.write("cut.parquet", &bytes[..bytes.len() / 2]);
    let check = |p: &Path, opts: &ReadOptions, says: &[&str]| {
        let e = data::load(p, opts).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let e = e.to_string();
        for s in says {
            assert!(e.contains(s), "`{s}` not in: {e}");
        }
    };
    let default = ReadOptions::default();
    check(&cut, &default, &["cut.parquet", "Parquet"]);
    let strings: ArrayRef = Arc::new(StringArray::from_iter_values(
        ROWS.iter().map(|r| r.2.to_string()),
    ));
    let p = write_parquet(
        &dir.path("text.parquet"),
        vec![
            ("user", users_i64()),
            ("item", items_i64()),
            ("rating", strings),
        ],
        Compression::SNAPPY,
    );
    check(&p, &default, &["text.parquet", "`rating`", "strings"]);
    let mut users = StringBuilder::new();
    for k in 0..ROWS.len() {
        if k == 5 {
            users.append_null();
        } else {
            users.append_value(k.to_string());
        }
    }
    let p = write_parquet(
        &dir.path("null-id.parquet"),
        vec![
            ("user", Arc::new(users.finish()) as ArrayRef),
            ("item", items_i64()),
            ("rating", ratings_f64()),
        ],
        Compression::SNAPPY,
    );
    check(
        &p,
        &default,
        &["null-id.parquet:6:", "`user`", "row 6", "null id"],
    );
    let ratings: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None, Some(2.0)]));
    let p = write_parquet(
        &dir.path("null-rating.parquet"),
        vec![
            ("user", users_i64().slice(0, 3)),
            ("item", items_i64().slice(0, 3)),
            ("rating", ratings),
        ],
        Compression::SNAPPY,
    );
    check(
        &p,
        &default,
        &["null-rating.parquet:2:", "`rating`", "null rating"],
    );
    let nan: ArrayRef = Arc::new(Float64Array::from(vec![1.0, f64::NAN]));
    let p = write_parquet(
        &dir.path("nan.parquet"),
        vec![
            ("user", users_i64().slice(0, 2)),
            ("item", items_i64().slice(0, 2)),
            ("rating", nan),
        ],
        Compression::SNAPPY,
    );
    check(&p, &default, &["nan.parquet:2:", "not a finite number"]);
    // Only user and item: no rating column is found, and the flag is suggested.
    let p = write_parquet(
        &dir.path("pairs.parquet"),
        vec![("userId", users_i64()), ("movieId", items_i64())],
        Compression::SNAPPY,
    );
    check(
        &p,
        &default,
        &["no rating column", "--rating-col", "userId, movieId"],
    );
}

#[test]
fn recommend_all_users_writes_parquet_that_reads_back() {
    let dir = TempDir::new("pq-recs");
    let data = common::synth(&dir, "syn", 60, 80, 2000);
    // The synthetic ratings as Parquet, to train from.
    let d = load(&data);
    let r = &d.ratings;
    let raw = |m: &data::IdMap, v: &[u32]| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(v.iter().map(|&k| m.raw(k))))
    };
    let p = write_parquet(
        &dir.path("train.parquet"),
        vec![
            ("user", raw(&d.users, &r.users)),
            ("item", raw(&d.items, &r.items)),
            (
                "rating",
                Arc::new(Float32Array::from(r.values.clone())) as ArrayRef,
            ),
        ],
        Compression::SNAPPY,
    );
    let model = dir.path("m.model");
    let o = embedrec(&[
        "train",
        "--model",
        "mf",
        "--epochs",
        "3",
        "--data",
        p.to_str().unwrap(),
        "--split",
        "random:0.1",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(last_json(&o)["users"].as_u64(), Some(60));
    let mut lists = Vec::new();
    for name in ["recs.parquet", "recs.csv"] {
        let out = dir.path(name);
        let o = embedrec(&[
            "recommend",
            "--model",
            model.to_str().unwrap(),
            "--all-users",
            "--out",
            out.to_str().unwrap(),
            "-n",
            "4",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        lists.push(out);
    }
    let csv: Vec<(String, i32, String, f32)> = std::fs::read_to_string(&lists[1])
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].into(),
                f[1].parse().unwrap(),
                f[2].into(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    let file = std::fs::File::open(&lists[0]).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let names: Vec<&str> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["user", "rank", "item", "score"]);
    let codec = builder.metadata().row_group(0).column(0).compression();
    assert_eq!(codec, Compression::SNAPPY);
    let mut rows = Vec::new();
    for batch in builder.build().unwrap() {
        let b = batch.unwrap();
        let s = |k: usize| {
            b.column(k)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone()
        };
        let (users, items) = (s(0), s(2));
        let ranks = b.column(1).as_any().downcast_ref::<Int32Array>().unwrap();
        let scores = b.column(3).as_any().downcast_ref::<Float32Array>().unwrap();
        for k in 0..b.num_rows() {
            rows.push((
                users.value(k).to_string(),
                ranks.value(k),
                items.value(k).to_string(),
                scores.value(k),
            ));
        }
    }
    assert_eq!(rows.len(), 60 * 4);
    assert_eq!(rows, csv);
}

#[test]
fn cli_reads_parquet_and_reports_bad_files_with_exit_2() {
    let dir = TempDir::new("pq-cli");
    let p = write_parquet(
        &dir.path("odd.parquet"),
        vec![
            ("customer", users_i64()),
            ("product", items_i64()),
            ("stars", ratings_f64()),
            ("when", times_i64()),
        ],
        Compression::ZSTD(ZstdLevel::default()),
    );
    let path = p.to_str().unwrap();
    let o = embedrec(&[
        "data",
        "stats",
        path,
        "--user-col",
        "customer",
        "--item-col",
        "1",
        "--rating-col",
        "stars",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(last_json(&o)["ratings"].as_u64(), Some(8));
    assert_eq!(last_json(&o)["users"].as_u64(), Some(4));

    let o = embedrec(&["data", "stats", path, "--user-col", "user", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("odd.parquet") && e.contains("customer, product, stars, when"),
        "{e}"
    );
    assert!(o.stdout.is_empty());

    let strings: ArrayRef = Arc::new(StringArray::from_iter_values(
        ROWS.iter().map(|r| r.2.to_string()),
    ));
    let text = write_parquet(
        &dir.path("text.parquet"),
        vec![
            ("user", users_i64()),
            ("item", items_i64()),
            ("rating", strings),
        ],
        Compression::SNAPPY,
    );
    let ratings: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None]));
    let null = write_parquet(
        &dir.path("null.parquet"),
        vec![
            ("user", users_i64().slice(0, 2)),
            ("item", items_i64().slice(0, 2)),
            ("rating", ratings),
        ],
        Compression::SNAPPY,
    );
    let bytes = std::fs::read(&p).unwrap();
    let cut = dir.write("cut.parquet", &bytes[..bytes.len() - 9]);
    for (file, says) in [
        (&text, vec!["text.parquet", "`rating`", "strings"]),
        (&null, vec!["null.parquet", "`rating`", "row 2"]),
        (&cut, vec!["cut.parquet", "Parquet"]),
    ] {
        let o = embedrec(&["data", "stats", file.to_str().unwrap(), "--json"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        for s in says {
            assert!(e.contains(s), "`{s}` not in: {e}");
        }
        assert!(!e.contains("panicked"), "{e}");
    }

    // --train / --test as Parquet.
    let test = write_parquet(
        &dir.path("test.parquet"),
        vec![
            ("user", users_i64().slice(0, 3)),
            ("item", items_i64().slice(4, 3)),
            ("rating", ratings_f64().slice(0, 3)),
        ],
        Compression::SNAPPY,
    );
    let o = embedrec(&[
        "train",
        "--model",
        "baseline",
        "--train",
        &dir.path("r.parquet").to_string_lossy(),
        "--test",
        test.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2), "a missing file: {}", stderr(&o));
    let train = movielens_style(&dir, "r.parquet", Compression::SNAPPY);
    let o = embedrec(&[
        "train",
        "--model",
        "baseline",
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(last_json(&o)["test_count"].as_u64(), Some(3));
}

// ---- random bytes and damaged files: Ok or Err, never a panic ----

#[test]
fn every_single_byte_change_is_ok_or_an_input_error() {
    // Exhaustive over the positions of a small file: damaged footers, page headers and
    // page data (some of which make the Parquet decoder itself assert).
    let dir = TempDir::new("pq-flips");
    let good = std::fs::read(movielens_style(&dir, "good.parquet", Compression::SNAPPY)).unwrap();
    let p = dir.path("x.parquet");
    let mut errors = 0;
    for k in 0..good.len() {
        for byte in [0x00, 0x9f, 0xff] {
            let mut bytes = good.clone();
            bytes[k] = byte;
            std::fs::write(&p, &bytes).unwrap();
            if let Err(e) = data::load(&p, &ReadOptions::default()) {
                assert_eq!(e.exit_code(), 2, "byte {k} = {byte}: {e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_as_parquet(b in prop::collection::vec(any::<u8>(), 0..3000), magic in any::<bool>()) {
        let dir = TempDir::new("pq-fuzz");
        let mut bytes = b;
        if magic {
            bytes.splice(0..0, *b"PAR1");
            bytes.extend_from_slice(b"PAR1");
        }
        let p = dir.write("x.parquet", &bytes);
        if let Err(e) = data::load(&p, &ReadOptions::default()) {
            prop_assert_eq!(e.exit_code(), 2, "{}", e);
        }
    }

    #[test]
    fn damaged_parquet_files(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
        codec in 0..3usize,
    ) {
        let dir = TempDir::new("pq-damage");
        let p = movielens_style(&dir, "x.parquet", codecs()[codec]);
        let mut bytes = std::fs::read(&p).unwrap();
        for (at, byte) in flips {
            let k = at.index(bytes.len());
            bytes[k] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        std::fs::write(&p, &bytes).unwrap();
        if let Err(e) = data::load(&p, &ReadOptions::default()) {
            prop_assert_eq!(e.exit_code(), 2, "{}", e);
        }
    }
}
