//! Replays the fuzz targets' committed inputs on every build: each file of
//! `fuzz/corpus/<target>/` (the seeds) and `fuzz/regressions/<target>/` (inputs that
//! once crashed a target, kept after their fix) is fed to the target's body in
//! `embedrec::fuzz_targets`, which must not panic. libFuzzer itself runs only under
//! `scripts/fuzz.sh`.

use embedrec::fuzz_targets::{self, TARGETS};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, in name order (none when the folder is absent).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    files.retain(|p| p.is_file());
    files.sort();
    files
}

/// Feeds every seed and regression of `name` to its target; fails naming each input
/// that panicked, and when the target has no seed at all.
fn replay(name: &str) {
    let target = fuzz_targets::target(name).expect("a target of that name");
    let seeds = inputs("corpus", name);
    assert!(!seeds.is_empty(), "no seeds in fuzz/corpus/{name}");
    let mut failed = Vec::new();
    for file in seeds.iter().chain(&inputs("regressions", name)) {
        let bytes = std::fs::read(file).unwrap();
        if std::panic::catch_unwind(|| target(&bytes)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    fuzz_targets::remove_scratch();
    assert!(failed.is_empty(), "{name} panicked on: {failed:?}");
}

#[test]
fn delimited() {
    replay("delimited");
}

#[test]
fn movielens() {
    replay("movielens");
}

#[test]
fn model_file() {
    replay("model_file");
}

#[test]
fn split() {
    replay("split");
}

#[test]
fn fold_in_ratings() {
    replay("fold_in_ratings");
}

#[test]
fn http_json() {
    replay("http_json");
}

/// Every folder of seeds or regressions belongs to a target, and every target has a
/// harness in `fuzz/fuzz_targets/` (so that a renamed target cannot leave its inputs
/// unreplayed).
#[test]
fn every_folder_names_a_target_and_every_target_has_a_harness() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().into_string().unwrap();
            assert!(
                fuzz_targets::target(&name).is_some(),
                "fuzz/{kind}/{name} names no target"
            );
        }
    }
    for (name, _) in TARGETS {
        let harness = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&harness)
            .unwrap_or_else(|e| panic!("{}: {e}", harness.display()));
        assert!(
            text.contains(&format!("fuzz_targets::{name}(")),
            "{} does not call its target",
            harness.display()
        );
    }
}

/// The model-file target reaches the checks behind the checksum: a seed whose
/// metadata is edited fails its checksum, and the target's resealing makes the load
/// get past it (to be refused by the params-against-shapes check here).
#[test]
fn model_file_seeds_load_and_a_resealed_edit_reaches_the_validation() {
    for file in inputs("corpus", "model_file") {
        let bytes = std::fs::read(&file).unwrap();
        embedrec::TrainedModel::from_bytes(&bytes, &file)
            .unwrap_or_else(|e| panic!("seed {} does not load: {e}", file.display()));
    }
    let mf = std::fs::read(fuzz_dir().join("corpus/model_file/mf")).unwrap();
    let text = String::from_utf8_lossy(&mf);
    let at = text.find("\\\"dim\\\":3").expect("the mf seed's dim");
    let mut edited = mf.clone();
    edited[at + "\\\"dim\\\":".len()] = b'4';
    let e = embedrec::TrainedModel::from_bytes(&edited, Path::new("edited.emb"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    let resealed = fuzz_targets::resealed(&edited).expect("a resealed file");
    let e = embedrec::TrainedModel::from_bytes(&resealed, Path::new("resealed.emb"))
        .unwrap_err()
        .to_string();
    assert!(!e.contains("checksum"), "{e}");
    assert!(e.contains("dim"), "{e}");
}
