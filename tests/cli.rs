//! The command-line contract, end to end through the binary.

mod common;
use common::*;

#[test]
fn demo_prints_an_rmse_table_and_a_top_10_list() {
    let o = embedrec(&["demo"]);
    assert!(o.status.success(), "demo failed: {}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("test RMSE"), "{out}");
    assert!(
        out.contains("global mean") && out.contains("noise floor"),
        "{out}"
    );
    let ranked = out
        .lines()
        .filter(|l| {
            l.trim_start()
                .split('.')
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .count();
    assert_eq!(ranked, 10, "expected a top-10 list:\n{out}");
    // The trained baseline must beat the global mean on the synthetic data.
    let rmse = |name: &str| -> f64 {
        let line = out.lines().find(|l| l.starts_with(name)).unwrap();
        line[28..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(rmse("baseline") < rmse("global mean"), "{out}");
}

#[test]
fn usage_errors_exit_2_without_json() {
    for args in [
        &["train", "--model", "nope"][..],
        &["train", "--model", "baseline"],
        &["data", "stats"],
        &["no-such-command"],
        &["data", "stats", "/definitely/not/here", "--json"],
        &["bench", "train", "--rounds", "0"],
    ] {
        let o = embedrec(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).trim().is_empty(), "{args:?} printed to stdout");
    }
}

#[test]
fn malformed_line_names_file_and_line_and_exits_2() {
    let dir = TempDir::new("cli-malformed");
    let f = dir.write("bad.data", "1\t2\t5\t881250949\n1\t3\tfive\t881250949\n");
    let o = embedrec(&["data", "stats", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("bad.data") && err.contains(":2:") && err.contains("rating"),
        "{err}"
    );
}

#[test]
fn no_command_panics_on_garbage_input() {
    let dir = TempDir::new("cli-garbage");
    let mut state = 0x9e3779b97f4a7c15u64;
    for case in 0..8 {
        let bytes: Vec<u8> = (0..1000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let f = dir.write(&format!("u{case}.data"), &bytes);
        for args in [&["data", "stats"][..], &["bench", "read", "--runs", "1"]] {
            let mut full = args.to_vec();
            full.push(f.to_str().unwrap());
            let o = embedrec(&full);
            assert_eq!(o.status.code(), Some(2), "{full:?}: {}", stderr(&o));
            assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        }
    }
}

#[test]
fn synth_then_stats_and_train_on_a_split() {
    let dir = TempDir::new("cli-synth");
    let out = dir.path("syn");
    let o = embedrec(&[
        "data",
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--users",
        "200",
        "--items",
        "300",
        "--ratings",
        "8000",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = embedrec(&["data", "stats", out.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = last_json(&o);
    assert_eq!(
        (
            s["ratings"].as_u64(),
            s["users"].as_u64(),
            s["items"].as_u64()
        ),
        (Some(8000), Some(200), Some(300))
    );
    for split in ["random:0.2", "kfold:5:2", "user-out:2", "temporal:0.1"] {
        let o = embedrec(&[
            "train",
            "--model",
            "baseline",
            "--data",
            out.to_str().unwrap(),
            "--split",
            split,
            "--json",
        ]);
        assert!(o.status.success(), "{split}: {}", stderr(&o));
        let j = last_json(&o);
        let (test, unknown) = (
            j["test_count"].as_u64().unwrap(),
            j["test_unknown"].as_u64().unwrap(),
        );
        assert!(test > 0 && unknown <= test, "{split}: {j}");
        assert!(j["train_rmse"].as_f64().unwrap() < 1.2, "{split}: {j}");
    }
    let csv = dir.path("syn.csv");
    let o = embedrec(&[
        "data",
        "synth",
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
        "--ratings",
        "5000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = embedrec(&[
        "data",
        "stats",
        csv.to_str().unwrap(),
        "--delimiter",
        ",",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(last_json(&o)["ratings"].as_u64(), Some(5000));
}

#[test]
fn bad_split_specs_are_usage_errors() {
    let dir = TempDir::new("cli-split");
    let f = dir.write("r.csv", "user,item,rating\na,x,4\nb,y,3\n");
    for spec in ["random:1.5", "kfold:5:9", "nonsense", "temporal:0.2"] {
        let o = embedrec(&[
            "train",
            "--model",
            "baseline",
            "--data",
            f.to_str().unwrap(),
            "--delimiter",
            ",",
            "--time-col",
            "none",
            "--split",
            spec,
        ]);
        assert_eq!(o.status.code(), Some(2), "{spec}: {}", stderr(&o));
    }
}

#[test]
fn ml100k_stats_counts_and_titles() {
    let Some(dir) = ml100k() else { return };
    let o = embedrec(&["data", "stats", dir.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = last_json(&o);
    assert_eq!(
        (
            s["ratings"].as_u64(),
            s["users"].as_u64(),
            s["items"].as_u64()
        ),
        (Some(100000), Some(943), Some(1682))
    );
    let titles: Vec<&str> = s["top_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert!(titles.contains(&"Star Wars (1977)"), "{titles:?}");
    let o = embedrec(&["data", "stats", dir.to_str().unwrap()]);
    assert!(stdout(&o).contains("Star Wars (1977)"));
}

#[test]
fn ml100k_baseline_on_u1_matches_surprise() {
    let Some(dir) = ml100k() else { return };
    let (train, test) = (dir.join("u1.base"), dir.join("u1.test"));
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
    let j = last_json(&o);
    for key in [
        "model",
        "params",
        "users",
        "items",
        "param_count",
        "epochs_run",
        "train_seconds",
        "train_rmse",
        "test_rmse",
        "test_mae",
        "test_count",
        "test_unknown",
        "history",
    ] {
        assert!(j.get(key).is_some(), "missing key {key}: {j}");
    }
    assert_eq!(j["model"], "baseline");
    assert_eq!(
        (j["users"].as_u64(), j["items"].as_u64()),
        (Some(943), Some(1650))
    );
    assert_eq!(j["test_count"].as_u64(), Some(20000));
    // Surprise 1.1.5 BaselineOnly (ALS, reg_i 10, reg_u 15, 10 epochs) on u1: 0.960.
    let rmse = j["test_rmse"].as_f64().unwrap();
    assert!((rmse - 0.960).abs() < 0.005, "test RMSE {rmse}");
    let history = j["history"].as_array().unwrap();
    assert_eq!(history.len(), 10);
    assert!(history.iter().all(|h| h["epoch"].is_u64()
        && h["train_rmse"].is_f64()
        && h["test_rmse"].is_f64()
        && h["seconds"].is_f64()));
}

#[test]
fn cv_reports_mean_and_std_over_folds() {
    let dir = TempDir::new("cli-cv");
    let out = synth(&dir, "syn", 150, 200, 6000);
    let o = embedrec(&[
        "cv",
        "--model",
        "mf",
        "--data",
        out.to_str().unwrap(),
        "--folds",
        "3",
        "--epochs",
        "3",
        "--dim",
        "8",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    assert_eq!(j["folds"], 3);
    let rmse = &j["rmse"];
    let folds: Vec<f64> = rmse["folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(folds.len(), 3);
    let mean = folds.iter().sum::<f64>() / 3.0;
    assert!((rmse["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!(rmse["std"].as_f64().unwrap() >= 0.0 && j["ndcg@10"]["mean"].is_f64());
    let o = embedrec(&[
        "cv",
        "--model",
        "mf",
        "--data",
        out.to_str().unwrap(),
        "--split",
        "random:0.2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = embedrec(&[
        "cv",
        "--model",
        "mf",
        "--data",
        out.to_str().unwrap(),
        "--folds",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn search_scores_every_grid_point_on_validation_data() {
    let dir = TempDir::new("cli-search");
    let out = synth(&dir, "syn", 150, 200, 6000);
    let data = out.to_str().unwrap();
    let o = embedrec(&[
        "search",
        "--model",
        "mf",
        "--data",
        data,
        "--grid",
        "dim=2,8 l2=0.01,0.05",
        "--epochs",
        "3",
        "--folds",
        "2",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    let trials = j["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    let scores: Vec<f64> = trials
        .iter()
        .map(|t| t["val_rmse"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    assert_eq!(j["best"], trials[0]);
    let o = embedrec(&[
        "search",
        "--model",
        "mf",
        "--data",
        data,
        "--grid",
        "dim=2,8,16",
        "--random",
        "2",
        "--epochs",
        "1",
        "--json",
    ]);
    assert_eq!(last_json(&o)["trials"].as_array().unwrap().len(), 2);
    for bad in [
        &["--grid", "nope=1"][..],
        &["--grid", "dim=2", "--split", "random:0.2"],
        &["--grid", "dim=0"],
    ] {
        let mut args = vec!["search", "--model", "mf", "--data", data];
        args.extend_from_slice(bad);
        assert_eq!(embedrec(&args).status.code(), Some(2), "{bad:?}");
    }
}

#[test]
fn knn_trains_saves_and_serves_predictions() {
    let dir = TempDir::new("cli-knn");
    let out = synth(&dir, "syn", 100, 120, 4000);
    let model = dir.path("knn.emb");
    let o = embedrec(&[
        "train",
        "--model",
        "knn",
        "--data",
        out.to_str().unwrap(),
        "--split",
        "random:0.2",
        "--neighbors",
        "20",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    assert_eq!(j["model"], "knn");
    assert_eq!(j["params"]["k"], 20);
    let trained_rmse = j["test_rmse"].as_f64().unwrap();
    assert!(trained_rmse < 1.2, "{j}");
    let o = embedrec(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--user",
        "1",
        "--item",
        "2",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = last_json(&o)["prediction"].as_f64().unwrap();
    assert!((1.0..=5.0).contains(&p));
    let o = embedrec(&[
        "recommend",
        "--model",
        model.to_str().unwrap(),
        "--ratings",
        "1:5",
    ]);
    // kNN folds a new user in (see tests/model_kinds.rs for the exactness check).
    assert!(o.status.success(), "{}", stderr(&o));
}

// ---- output failures: a closed pipe ends quietly, other write errors exit 1 ----

/// Runs `embedrec args` with stdout sent to `out`, stderr captured.
fn embedrec_with_stdout(args: &[&str], out: std::process::Stdio) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_embedrec"))
        .args(args)
        .stdout(out)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run embedrec")
}

/// Commands that print to stdout, on a small synthetic folder and a model trained on it.
fn printing_commands(dir: &TempDir) -> Vec<Vec<String>> {
    let data = synth(dir, "syn", 60, 80, 2000);
    let data = data.to_str().unwrap().to_string();
    let model = dir.path("mf.emb").to_str().unwrap().to_string();
    let train = [
        "train",
        "--model",
        "mf",
        "--dim",
        "4",
        "--epochs",
        "2",
        "--data",
        &data,
        "--split",
        "random:0.2",
    ];
    let mut with_out = train.to_vec();
    with_out.extend(["--out", &model]);
    let o = embedrec(&with_out);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut train_json = train.to_vec();
    train_json.push("--json");
    let commands: Vec<Vec<&str>> = vec![
        vec!["data", "stats", &data],
        vec!["data", "stats", &data, "--json"],
        train.to_vec(),
        train_json,
        vec!["predict", "--model", &model, "--user", "1", "--item", "2"],
        vec!["recommend", "--model", &model, "--user", "1", "-n", "30"],
        vec!["similar", "--model", &model, "--item", "2", "--json"],
        vec!["eval", "--model", &model, "--test", &data],
    ];
    commands
        .into_iter()
        .map(|c| c.into_iter().map(String::from).collect())
        .collect()
}

#[test]
fn closed_stdout_pipe_ends_quietly_with_exit_0() {
    let dir = TempDir::new("cli-epipe");
    for args in printing_commands(&dir) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // The reading end is closed before the command starts (`cmd | true` where
        // `true` has already exited): every write to stdout fails with a broken pipe.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = embedrec_with_stdout(&args, writer.into());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).is_empty(), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn stdout_pipe_closed_after_the_first_line_ends_quietly() {
    // `embedrec ... | head -1`, by a real shell pipeline; `head` may close early.
    let dir = TempDir::new("cli-head");
    let data = synth(&dir, "syn", 60, 80, 2000);
    let script = format!(
        "set -o pipefail; '{}' data stats '{}' --top 500 | head -1",
        env!("CARGO_BIN_EXE_embedrec"),
        data.display()
    );
    let o = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn stdout_write_failure_is_an_error_exit_1() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipping: no /dev/full");
        return;
    }
    let dir = TempDir::new("cli-full");
    for args in printing_commands(&dir) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = embedrec_with_stdout(&args, full.into());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.starts_with("error:") && err.contains("stdout") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

// ---- a model path that is not a regular file ----

/// Runs `embedrec args`, killing it (and failing) when it has not ended within 20 s.
fn embedrec_within_20s(args: &[&str]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_embedrec"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{args:?} hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A named pipe given as a data file (`--data`, `--train`, `--test`, `data stats`) is
/// refused with exit 2 naming it, instead of blocking until something writes to it.
#[cfg(unix)]
#[test]
fn data_file_that_is_a_fifo_is_an_input_error() {
    let dir = TempDir::new("cli-fifo-data");
    let fifo = dir.path("ratings.txt");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: creates a named pipe at a fresh path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let csv = dir.path("ok.csv");
    std::fs::write(&csv, "1,1,4\n1,2,3\n2,1,5\n2,2,2\n").unwrap();
    let (f, ok) = (fifo.to_str().unwrap(), csv.to_str().unwrap());
    for args in [
        &["data", "stats", f][..],
        &[
            "train",
            "--model",
            "baseline",
            "--data",
            f,
            "--split",
            "random:0.2",
        ],
        &["train", "--model", "baseline", "--train", f, "--test", ok],
        &["train", "--model", "baseline", "--train", ok, "--test", f],
    ] {
        let o = embedrec_within_20s(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(f) && err.contains("not a regular file"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn model_that_is_a_folder_or_a_fifo_is_an_input_error() {
    let dir = TempDir::new("cli-notfile");
    let folder = dir.path("folder.emb");
    std::fs::create_dir(&folder).unwrap();
    let mut paths = vec![folder];
    #[cfg(unix)]
    {
        let fifo = dir.path("fifo.emb");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: creates a named pipe at a fresh path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        paths.push(fifo);
    }
    for path in &paths {
        let m = path.to_str().unwrap();
        for args in [
            &["predict", "--model", m, "--user", "1", "--item", "2"][..],
            &["similar", "--model", m, "--item", "2"],
            &["serve", "--model", m, "--addr", "127.0.0.1:0"],
        ] {
            let o = embedrec_within_20s(args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(m) && err.contains("not a regular file"),
                "{args:?}: {err}"
            );
        }
    }
}
