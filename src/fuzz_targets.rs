//! The bodies of the coverage-guided fuzz targets.
//!
//! Each function takes arbitrary bytes and must never panic: bad input is an `Err` the
//! function drops, and what an input is accepted as is checked against the invariants
//! its consumers rely on (a panic here is a bug found). The libFuzzer harnesses in
//! `fuzz/` (a crate of their own, outside the workspace) only call these functions;
//! `tests/fuzz_corpus.rs` feeds them every seed of `fuzz/corpus/<target>/` and every
//! crash input kept in `fuzz/regressions/<target>/`, so the suite replays them on every
//! build without libFuzzer.
//!
//! | target | input | what runs |
//! |---|---|---|
//! | `delimited` | one option byte, then a generic ratings file | [`crate::data::load`] with the layout guessed or given, a scale, a duplicate policy |
//! | `movielens` | one byte choosing the file name, then the file | the `u.data` / `*.base` / `ratings.dat` / `ratings.csv` readers and the `u.user` / `u.item` / `users.dat` / `movies.dat` / `movies.csv` metadata readers |
//! | `model_file` | a model file | [`TrainedModel::from_bytes`]; a file failing only its checksum is resealed with the right one and loaded again, so that the checks behind the checksum are reached; a model loaded is used (predict, recommend, similar, fold-in) and saved again |
//! | `split` | a `--split` text, a newline, seed bytes | [`SplitSpec`]'s parser, its display round trip, and the split of a small data set |
//! | `fold_in_ratings` | a `--ratings` text | the CLI's parser of `ITEM:RATING,...` on a small model, then fold-in and its list |
//! | `http_json` | one byte choosing the request, then a body or a path | the service's router (`POST /v1/predict`, `POST /v1/recommend`, `GET` lists with a path and query from the input); any 5xx or non-JSON answer is a bug |
//!
//! The readers read files, so the reader targets write the input to a scratch folder
//! of the calling thread (under the temporary folder, `embedrec-fuzz-PID-N`), removing
//! the file after each call; [`remove_scratch`] removes the folder.

use crate::data::{
    self, Column, Columns, Dataset, DelimitedSpec, DuplicatePolicy, RatingScale, ReadOptions,
    SplitSpec,
};
use crate::models::{Fit, FitOptions, mf::MfParams};
use crate::recommend;
use crate::serve::{self, AppState};
use crate::store::TrainedModel;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its libFuzzer harness and corpus folder.
pub const TARGETS: [(&str, Target); 6] = [
    ("delimited", delimited),
    ("movielens", movielens),
    ("model_file", model_file),
    ("split", split),
    ("fold_in_ratings", fold_in_ratings),
    ("http_json", http_json),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

thread_local! {
    static SCRATCH: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// This thread's scratch folder, created on first use.
fn scratch() -> PathBuf {
    SCRATCH.with(|s| {
        s.borrow_mut()
            .get_or_insert_with(|| {
                static NEXT: std::sync::atomic::AtomicUsize =
                    std::sync::atomic::AtomicUsize::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let dir =
                    std::env::temp_dir().join(format!("embedrec-fuzz-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("creating the fuzz scratch folder");
                dir
            })
            .clone()
    })
}

/// Removes this thread's scratch folder, if any.
pub fn remove_scratch() {
    SCRATCH.with(|s| {
        if let Some(dir) = s.borrow_mut().take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    });
}

/// Writes `bytes` as `name` in the scratch folder, runs `f` on its path, removes it.
fn with_file<T>(name: &str, bytes: &[u8], f: impl FnOnce(&Path) -> T) -> T {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("writing a fuzz input to the scratch folder");
    let out = f(&path);
    let _ = std::fs::remove_file(&path);
    out
}

/// What every dataset a reader returns must satisfy.
fn check_dataset(d: &Dataset, scale: Option<RatingScale>) {
    let r = &d.ratings;
    let n = r.len();
    assert_eq!(r.users.len(), n);
    assert_eq!(r.items.len(), n);
    assert_eq!(r.values.len(), n);
    if let Some(t) = &r.times {
        assert_eq!(t.len(), n);
    }
    assert!(r.users.iter().all(|&u| (u as usize) < d.users.len()));
    assert!(r.items.iter().all(|&i| (i as usize) < d.items.len()));
    assert!(r.values.iter().all(|v| v.is_finite()));
    let s = d.scale;
    assert!(s.min.is_finite() && s.max.is_finite() && s.min <= s.max);
    if let Some(declared) = scale {
        assert_eq!(s, declared);
        assert!(r.values.iter().all(|&v| v >= s.min && v <= s.max));
    }
}

/// Generic delimited files. Byte 0: bits 0-1 the duplicate policy (error, keep last,
/// mean), bit 2 a declared 1..5 scale, bit 3 drop the times, bit 4 a given layout
/// (comma, header, columns 0-3) instead of the guessed one, bit 5 the columns named
/// `user`, `item`, `rating` and no time.
pub fn delimited(data: &[u8]) {
    let Some((&flags, file)) = data.split_first() else {
        return;
    };
    let scale = (flags & 4 != 0).then_some(RatingScale { min: 1.0, max: 5.0 });
    let opts = ReadOptions {
        duplicates: match flags & 3 {
            0 => DuplicatePolicy::Error,
            2 => DuplicatePolicy::Mean,
            _ => DuplicatePolicy::KeepLast,
        },
        scale,
        drop_times: flags & 8 != 0,
        delimited: (flags & 16 != 0).then(|| DelimitedSpec {
            delimiter: ",".into(),
            header: true,
            user_col: 0,
            item_col: 1,
            rating_col: Some(2),
            time_col: Some(3),
        }),
        columns: if flags & 32 != 0 {
            Columns {
                user: Column::parse("user"),
                item: Column::parse("item"),
                rating: Column::parse("rating"),
                time: Column::parse("none"),
            }
        } else {
            Columns::default()
        },
        ..ReadOptions::default()
    };
    with_file("ratings.txt", file, |path| {
        if let Ok(d) = data::load(path, &opts) {
            check_dataset(&d, scale);
        }
    });
}

/// The file names the `movielens` target chooses from (byte 0 modulo their count).
const MOVIELENS_NAMES: [&str; 9] = [
    "u.data",
    "u1.base",
    "ratings.dat",
    "ratings.csv",
    "u.user",
    "u.item",
    "users.dat",
    "movies.dat",
    "movies.csv",
];

/// MovieLens ratings and metadata files: byte 0 picks the name (and so the reader).
pub fn movielens(data: &[u8]) {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let name = MOVIELENS_NAMES[pick as usize % MOVIELENS_NAMES.len()];
    with_file(name, file, |path| match name {
        "u.user" | "users.dat" => {
            let _ = data::movielens::read_users(path);
        }
        "u.item" | "movies.dat" | "movies.csv" => {
            let _ = data::movielens::read_items(path);
        }
        _ => {
            if let Ok(d) = data::load(path, &ReadOptions::default()) {
                check_dataset(&d, None);
            }
        }
    });
}

/// The model loader. A file refused only for its checksum is loaded again with the
/// checksum it should carry, so that mutations reach the checks behind it.
pub fn model_file(data: &[u8]) {
    let file = Path::new("fuzz.emb");
    if let Ok(m) = TrainedModel::from_bytes(data, file) {
        use_model(&m);
    } else if let Some(bytes) = resealed(data)
        && let Ok(m) = TrainedModel::from_bytes(&bytes, file)
    {
        use_model(&m);
    }
}

/// A model file refused for its checksum alone, with the checksum it should carry in
/// place of the stored one; `None` for a file refused for anything else.
pub fn resealed(data: &[u8]) -> Option<Vec<u8>> {
    let e = TrainedModel::from_bytes(data, Path::new("fuzz.emb")).err()?;
    let (actual, stored) = checksum_mismatch(&e.to_string())?;
    replace_first(data, stored.as_bytes(), actual.as_bytes())
}

/// The computed and the stored checksum of a checksum-mismatch error message (its
/// first two runs of 32 hex digits, in that order).
fn checksum_mismatch(message: &str) -> Option<(String, String)> {
    let rest = &message[message.find("checksum mismatch")?..];
    let mut sums = rest
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 32);
    Some((sums.next()?.to_string(), sums.next()?.to_string()))
}

/// `bytes` with the first occurrence of `from` replaced by `to` (same length).
fn replace_first(bytes: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    if from.len() != to.len() || from.is_empty() {
        return None;
    }
    let at = bytes.windows(from.len()).position(|w| w == from)?;
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    Some(out)
}

/// What a loaded model must do without panicking: predictions inside the scale when
/// clipped, lists, similar items, a fold-in, and a save that loads back.
fn use_model(m: &TrainedModel) {
    let (nu, ni) = (m.users.len(), m.items.len());
    let user = (nu > 0).then(|| m.users.raw(0).to_string());
    let item = (ni > 0).then(|| m.items.raw(0).to_string());
    let u = user.as_deref().unwrap_or("no such user");
    let i = item.as_deref().unwrap_or("no such item");
    for (u, i) in [(u, i), ("no such user", i), (u, "no such item")] {
        let p = m.predict_raw(u, i);
        if m.clip && p.value.is_finite() {
            assert!(p.value >= m.scale.min && p.value <= m.scale.max, "{p:?}");
        }
    }
    let list = recommend::recommend_user(m, u, 5);
    assert!(list.items.len() <= 5);
    if let Some(i) = &item {
        if recommend::has_item_embeddings(m) {
            let _ = recommend::similar_items(m, i, 5);
        }
        let rating = m.scale.max;
        if m.check_fold_in_rating(i, rating).is_ok()
            && let Ok(folded) = recommend::fold_in(m, &[(0, rating)])
        {
            let list = recommend::recommend_folded(m, &folded, 5);
            assert!(list.items.len() <= 5);
        }
    }
    let bytes = m.to_bytes().expect("a model that loads saves");
    TrainedModel::from_bytes(&bytes, Path::new("again.emb")).expect("a saved model loads");
}

/// Small data sets to split: tiny, and MovieLens-shaped with times.
fn split_data() -> &'static [Dataset; 3] {
    static DATA: OnceLock<[Dataset; 3]> = OnceLock::new();
    DATA.get_or_init(|| {
        let d = |u, i, r, s| Dataset::synthetic(u, i, r, s).expect("synthetic data");
        [d(3, 4, 6, 1), d(20, 30, 200, 2), d(60, 80, 1500, 3)]
    })
}

/// The split grammar: the first line is the spec; the next bytes give the seed and
/// choose the data set.
pub fn split(data: &[u8]) {
    let (text, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(k) => (&data[..k], &data[k + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(spec) = text.parse::<SplitSpec>() else {
        return;
    };
    let again: SplitSpec = spec
        .to_string()
        .parse()
        .expect("a parsed split displays as a split that parses");
    assert_eq!(again, spec);
    let mut seed = [0u8; 8];
    let n = rest.len().min(8);
    seed[..n].copy_from_slice(&rest[..n]);
    let pick = rest.get(8).copied().unwrap_or(0) as usize;
    let d = &split_data()[pick % 3];
    if let Ok(tt) = spec.apply(d, u64::from_le_bytes(seed)) {
        assert_eq!(tt.train.len() + tt.test.len(), d.ratings.len());
        assert!(
            tt.train
                .users
                .iter()
                .all(|&u| (u as usize) < tt.users.len())
        );
        assert!(tt.test.items.iter().all(|&i| (i as usize) < tt.items.len()));
    }
}

/// The small MF model the fold-in and HTTP targets use (trained once per process).
fn small_model() -> &'static TrainedModel {
    static MODEL: OnceLock<TrainedModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let data = Dataset::synthetic(30, 40, 500, 5).expect("synthetic data");
        MfParams {
            dim: 8,
            epochs: 3,
            ..Default::default()
        }
        .fit(&data, &FitOptions::default())
        .expect("training the fuzz model")
    })
}

/// The `--ratings ITEM:RATING,...` text of `embedrec recommend`, then the fold-in.
pub fn fold_in_ratings(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let m = small_model();
    let Ok((pairs, _unknown)) = crate::cli::recommend::parse_fold_in_ratings(m, text) else {
        return;
    };
    if pairs.is_empty() {
        return;
    }
    for &(_, r) in &pairs {
        assert!(r.is_finite() && r >= m.scale.min && r <= m.scale.max);
    }
    if let Ok(folded) = recommend::fold_in(m, &pairs) {
        let list = recommend::recommend_folded(m, &folded, 10);
        assert!(list.items.len() <= 10);
        assert!(list.items.iter().all(|r| r.score.is_finite()));
    }
}

/// The service's router and a runtime to drive it (built once per process).
fn service() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static SERVICE: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        let state: Arc<AppState> = AppState::new(
            Path::new("/nonexistent/embedrec-fuzz.emb"),
            small_model().clone(),
            64,
        );
        (rt, serve::app(state))
    })
}

/// HTTP requests. Byte 0: bits 0-1 choose `POST /v1/predict` or `POST /v1/recommend`
/// (the rest of the input is the body) or `GET /v1/users/<rest>` or
/// `GET /v1/items/<rest>` (the rest is the end of the path and the query); bit 2
/// leaves out `Content-Type: application/json`.
pub fn http_json(data: &[u8]) {
    use axum::body::Body;
    use axum::http::{Method, Request, header};
    use http_body_util::BodyExt;
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (method, uri, body) = match pick & 3 {
        0 => (Method::POST, "/v1/predict".to_string(), rest.to_vec()),
        1 => (Method::POST, "/v1/recommend".to_string(), rest.to_vec()),
        k => {
            let Ok(tail) = std::str::from_utf8(rest) else {
                return;
            };
            let base = if k == 2 { "/v1/users/" } else { "/v1/items/" };
            (Method::GET, format!("{base}{tail}"), Vec::new())
        }
    };
    let mut request = Request::builder().method(method).uri(uri.as_str());
    if pick & 4 == 0 {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let Ok(request) = request.body(Body::from(body)) else {
        return;
    };
    let (rt, app) = service();
    let svc = hyper_util::service::TowerToHyperService::new(app.clone());
    rt.block_on(async {
        let response = hyper::service::Service::call(&svc, request)
            .await
            .expect("the router answers every request");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("reading the answer")
            .to_bytes();
        assert!(
            !status.is_server_error(),
            "{uri}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .unwrap_or_else(|e| panic!("{uri}: {status}: the answer is not JSON: {e}"));
    });
}
