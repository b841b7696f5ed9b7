//! The model file and `embedrec predict`, end to end through the binary.

mod common;
use common::*;
use embedrec::models::Recommender;
use embedrec::store;
use std::path::{Path, PathBuf};

/// Synthetic data in a temp folder (MovieLens 100K layout).
fn synth(dir: &TempDir) -> PathBuf {
    let out = dir.path("syn");
    let o = embedrec(&[
        "data",
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--users",
        "120",
        "--items",
        "150",
        "--ratings",
        "4000",
        "--seed",
        "9",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// Trains `kind` with `--out`, returning the model path.
fn train(dir: &TempDir, data: &Path, kind: &str) -> PathBuf {
    let model = dir.path(&format!("{kind}.safetensors"));
    let mut args = vec![
        "train",
        "--model",
        kind,
        "--data",
        data.to_str().unwrap(),
        "--split",
        "random:0.2",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ];
    if kind == "mf" {
        args.extend(["--epochs", "3", "--dim", "8"]);
    }
    let o = embedrec(&args);
    assert!(o.status.success(), "{kind}: {}", stderr(&o));
    let j = last_json(&o);
    assert_eq!(j["model"], kind);
    assert!(model.is_file(), "{kind}: no model file written");
    model
}

fn predict(model: &Path, user: &str, item: &str) -> std::process::Output {
    embedrec(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--user",
        user,
        "--item",
        item,
        "--json",
    ])
}

#[test]
fn train_out_then_predict_matches_the_library() {
    let dir = TempDir::new("modelfile-predict");
    let data = synth(&dir);
    for kind in ["baseline", "mf"] {
        let path = train(&dir, &data, kind);
        let saved = store::load(&path).unwrap();
        assert_eq!(saved.model.kind(), kind);
        assert!(saved.clip);
        assert_eq!(saved.training.embedrec_version, env!("CARGO_PKG_VERSION"));
        // A known pair: the user's first training item.
        let user = saved.users.raw(0).to_string();
        let item_idx = saved.rated_items(0)[0];
        let item = saved.items.raw(item_idx).to_string();
        let want = saved.predict_raw(&user, &item);
        assert!(!want.fallback);
        assert_eq!(
            want.value,
            saved.scale.clip(saved.model.score(0, item_idx)),
            "{kind}"
        );
        let o = predict(&path, &user, &item);
        assert!(o.status.success(), "{kind}: {}", stderr(&o));
        let j = last_json(&o);
        assert_eq!(j["user"], user.as_str());
        assert_eq!(j["item"], item.as_str());
        assert_eq!(j["fallback"], false);
        let got = j["prediction"].as_f64().unwrap() as f32;
        assert_eq!(
            got, want.value,
            "{kind}: CLI {got} vs library {}",
            want.value
        );
        // Text output.
        let o = embedrec(&[
            "predict",
            "--model",
            path.to_str().unwrap(),
            "--user",
            &user,
            "--item",
            &item,
        ]);
        assert!(o.status.success());
        assert!(
            stdout(&o).contains(&format!("{:.4}", want.value)),
            "{}",
            stdout(&o)
        );
        // An unknown user: the fallback (mu + item bias), flagged.
        let o = predict(&path, "no-such-user", &item);
        assert!(o.status.success(), "{}", stderr(&o));
        let j = last_json(&o);
        assert_eq!(j["fallback"], true);
        let fb = saved.scale.clip(saved.model.fallback(None, Some(item_idx)));
        assert_eq!(j["prediction"].as_f64().unwrap() as f32, fb);
        let o = embedrec(&[
            "predict",
            "--model",
            path.to_str().unwrap(),
            "--user",
            "no-such-user",
            "--item",
            &item,
        ]);
        assert!(stdout(&o).contains("fallback"), "{}", stdout(&o));
    }
}

#[test]
fn corrupt_truncated_and_missing_models_exit_2() {
    let dir = TempDir::new("modelfile-corrupt");
    let data = synth(&dir);
    let good = train(&dir, &data, "baseline");
    let bytes = std::fs::read(&good).unwrap();
    let check = |path: &Path, what: &str| {
        let o = predict(path, "1", "1");
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{what}: {err}");
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            err.contains(name),
            "{what}: error does not name the file: {err}"
        );
        assert!(stdout(&o).trim().is_empty(), "{what}: printed to stdout");
        err
    };
    let truncated = dir.write("truncated.safetensors", &bytes[..bytes.len() / 2]);
    let err = check(&truncated, "truncated");
    assert!(err.contains("truncated"), "{err}");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let err = check(&dir.write("flipped.safetensors", &flipped), "flipped");
    assert!(err.contains("checksum"), "{err}");
    check(
        &dir.write("garbage.safetensors", b"hello, world"),
        "garbage",
    );
    check(&dir.write("empty.safetensors", b""), "empty");
    check(&dir.path("missing.safetensors"), "missing");
}

#[test]
fn unwritable_out_fails_without_json_and_leaves_nothing() {
    let dir = TempDir::new("modelfile-unwritable");
    let data = synth(&dir);
    let before: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    // The output folder does not exist: training succeeds, saving fails.
    let o = embedrec(&[
        "train",
        "--model",
        "baseline",
        "--data",
        data.to_str().unwrap(),
        "--split",
        "random:0.2",
        "--out",
        dir.path("no/such/folder/m.safetensors").to_str().unwrap(),
        "--json",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("m.safetensors"), "{}", stderr(&o));
    assert!(
        stdout(&o).trim().is_empty(),
        "JSON printed despite the error"
    );
    let after: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert_eq!(before.len(), after.len(), "a stray file was left behind");
}

/// A saved model with one byte changed in each class — the header length, the
/// safetensors header, every metadata field (values and keys), the checksum, the
/// tensor data — is refused with exit 2 naming the file, or answers exactly as the
/// original (a change that means nothing, e.g. JSON whitespace).
#[test]
fn one_byte_edits_of_every_class_are_refused_or_change_nothing() {
    let dir = TempDir::new("modelfile-mutate");
    let data = synth(&dir);
    let good = train(&dir, &data, "mf");
    let saved = store::load(&good).unwrap();
    let user = saved.users.raw(0).to_string();
    let item = saved.items.raw(5).to_string();
    let answers = |path: &Path| {
        let p = predict(path, &user, &item);
        let r = embedrec(&[
            "recommend",
            "--model",
            path.to_str().unwrap(),
            "--user",
            &user,
            "-n",
            "5",
            "--json",
        ]);
        (p, r)
    };
    let (p0, r0) = answers(&good);
    assert!(
        p0.status.success() && r0.status.success(),
        "{}",
        stderr(&p0)
    );
    let bytes = std::fs::read(&good).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let find = |pat: &str| {
        bytes
            .windows(pat.len())
            .position(|w| w == pat.as_bytes())
            .unwrap_or_else(|| panic!("{pat} not in the file"))
    };
    // (class, position) pairs: a few bytes of each metadata field's key and value.
    let mut cases: Vec<(String, usize)> = vec![
        ("header length".into(), 0),
        ("header length".into(), 3),
        ("safetensors header".into(), 9),
        ("checksum".into(), find("\"embedrec_checksum\":\"") + 22),
        ("checksum".into(), find("\"embedrec_checksum\":\"") + 5),
        ("tensor data".into(), 8 + n + 1),
        ("tensor data".into(), bytes.len() - 2),
    ];
    for key in [
        "format_version",
        "kind",
        "params",
        "users",
        "items",
        "scale",
        "clip",
        "feedback",
        "titles",
        "fingerprint",
        "training",
    ] {
        let k = find(&format!("\\\"{key}\\\":"));
        let value = k + key.len() + 5;
        for pos in [k + 2, value, value + 1, value + 3] {
            cases.push((format!("metadata {key}"), pos));
        }
    }
    // The two one-byte edits that used to change answers silently: the scale maximum
    // 5 -> 3, and a digit of a raw item id.
    cases.push(("scale max".into(), find("\\\"max\\\":5") + 8));
    let id = find(&format!(",\\\"{item}\\\",")) + 3;
    cases.push(("raw item id".into(), id));
    assert!(cases.len() > 40);
    for (k, (class, pos)) in cases.iter().enumerate() {
        let mut b = bytes.clone();
        b[*pos] = match (class.as_str(), b[*pos]) {
            ("scale max", _) => b'3',
            (_, d @ b'0'..=b'8') => d + 1,
            (_, x) => x ^ 0x01,
        };
        let path = dir.write(&format!("m{k}.safetensors"), &b);
        let (p, r) = answers(&path);
        if p.status.success() {
            // Only the framing has bytes whose change means nothing; every edit inside
            // the metadata, the checksum or the tensors is refused.
            assert_eq!(class, "safetensors header", "byte {pos} accepted");
            assert_eq!(stdout(&p), stdout(&p0), "{class} byte {pos}: predict");
            assert_eq!(stdout(&r), stdout(&r0), "{class} byte {pos}: recommend");
        } else {
            for o in [&p, &r] {
                assert_eq!(
                    o.status.code(),
                    Some(2),
                    "{class} byte {pos}: {}",
                    stderr(o)
                );
                assert!(
                    stderr(o).contains(&format!("m{k}.safetensors")),
                    "{}",
                    stderr(o)
                );
                assert!(stdout(o).trim().is_empty());
            }
        }
    }
}
