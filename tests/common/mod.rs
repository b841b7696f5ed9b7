//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A test's shared input is absent: with `EMBEDREC_REQUIRE_DATA` set (as `.ci/run`
/// does) that is a failure; otherwise the test is skipped with a printed notice.
pub fn absent(what: &str, path: &Path) {
    let required = std::env::var("EMBEDREC_REQUIRE_DATA").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "{what} not found at {} (EMBEDREC_REQUIRE_DATA is set)",
        path.display()
    );
    eprintln!(
        "skipping: {what} not found at {} (set EMBEDREC_DATA)",
        path.display()
    );
}

/// `$EMBEDREC_DATA/ml-100k` (default `../shared/data/ml-100k`), or `None` with a printed
/// notice when it is absent (a failure under `EMBEDREC_REQUIRE_DATA`, see [`absent`]).
pub fn ml100k() -> Option<PathBuf> {
    let root = std::env::var_os("EMBEDREC_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let dir = root.join("ml-100k");
    if dir.join("u.data").is_file() {
        Some(dir)
    } else {
        absent("MovieLens 100K", &dir);
        None
    }
}

/// Runs the `embedrec` binary with `args`.
pub fn embedrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_embedrec"))
        .args(args)
        .output()
        .expect("run embedrec")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last stdout line parsed as JSON (the `--json` rule).
pub fn last_json(o: &Output) -> serde_json::Value {
    let out = stdout(o);
    let line = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no stdout; stderr: {}", stderr(o)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

/// A fresh empty folder under the system temp folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "embedrec-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes synthetic ML-100K-format data (`embedrec data synth`) of the given shape into
/// `dir/name` and returns that folder.
pub fn synth(dir: &TempDir, name: &str, users: usize, items: usize, ratings: usize) -> PathBuf {
    let out = dir.path(name);
    let (u, i, r) = (users.to_string(), items.to_string(), ratings.to_string());
    let o = embedrec(&[
        "data",
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--users",
        &u,
        "--items",
        &i,
        "--ratings",
        &r,
    ]);
    assert!(o.status.success(), "data synth failed: {}", stderr(&o));
    out
}

/// `../shared/reference/textbook-keras`, or `None` with a printed notice when absent.
pub fn keras_reference_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/textbook-keras");
    if dir.is_dir() {
        Some(dir)
    } else {
        absent("the Keras reference curves", &dir);
        None
    }
}

/// (epoch, test RMSE) rows of a reference CSV `epoch,train_rmse,test_rmse,epoch_seconds`.
pub fn keras_reference_curve(path: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

/// `embedrec train --model MODEL --preset PRESET --json` on `{split}.base` /
/// `{split}.test` of the ML-100K folder `data`, with `extra` flags; the run's JSON.
pub fn train_preset(
    data: &Path,
    model: &str,
    preset: &str,
    split: &str,
    extra: &[&str],
) -> serde_json::Value {
    let train = data.join(format!("{split}.base"));
    let test = data.join(format!("{split}.test"));
    let mut args = vec![
        "train",
        "--model",
        model,
        "--preset",
        preset,
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--json",
    ];
    args.extend(extra);
    let o = embedrec(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    last_json(&o)
}

/// `embedrec train --model MODEL --preset PRESET` on ML-100K's `{split}.base` /
/// `{split}.test` checked against the Keras reference curve `csv`: final test RMSE
/// within 0.01 of `keras_final`, every epoch's within `epoch_tolerance`. Returns the
/// run's JSON, or None (after a printed notice) when the data or curves are absent.
pub fn check_preset_against_keras(
    model: &str,
    preset: &str,
    split: &str,
    csv: &str,
    keras_final: f64,
    epoch_tolerance: f64,
) -> Option<serde_json::Value> {
    let (data, refs) = (ml100k()?, keras_reference_dir()?);
    let j = train_preset(&data, model, preset, split, &[]);
    let rmse = j["test_rmse"].as_f64().unwrap();
    assert!(
        (rmse - keras_final).abs() <= 0.01,
        "{preset} {split}: test RMSE {rmse}, Keras {keras_final}"
    );
    let history = j["history"].as_array().unwrap();
    let reference = keras_reference_curve(&refs.join(csv));
    assert_eq!(history.len(), reference.len());
    for (h, (epoch, keras)) in history.iter().zip(reference) {
        assert_eq!(h["epoch"].as_u64(), Some(epoch));
        let ours = h["test_rmse"].as_f64().unwrap();
        assert!(
            (ours - keras).abs() <= epoch_tolerance,
            "{preset} {split} epoch {epoch}: ours {ours}, Keras {keras}"
        );
    }
    Some(j)
}
