//! `eval`, `recommend` (user, fold-in, all users) and `similar` through the binary.

mod common;
use common::*;
use std::collections::{HashMap, HashSet};

/// Synthetic data written as ML-100K files, split into train/test files, and an MF model.
fn fixture(dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let data = dir.path("syn");
    let o = embedrec(&[
        "data",
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--users",
        "120",
        "--items",
        "200",
        "--ratings",
        "6000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = std::fs::read_to_string(data.join("u.data"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Inside the folder, so the metadata beside them (u.item titles) loads too.
    let (train, test) = (data.join("syn.base"), data.join("syn.test"));
    let cut = lines.len() * 4 / 5;
    std::fs::write(&train, lines[..cut].join("\n")).unwrap();
    std::fs::write(&test, lines[cut..].join("\n")).unwrap();
    let model = dir.path("m.emb");
    let o = embedrec(&[
        "train",
        "--model",
        "mf",
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--dim",
        "8",
        "--epochs",
        "5",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    (train, test, model)
}

fn rated_in(file: &std::path::Path) -> HashMap<String, HashSet<String>> {
    let mut rated: HashMap<String, HashSet<String>> = HashMap::new();
    for line in std::fs::read_to_string(file).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        rated
            .entry(f[0].to_string())
            .or_default()
            .insert(f[1].to_string());
    }
    rated
}

#[test]
fn recommend_never_lists_training_items_and_falls_back_for_unknown_users() {
    let dir = TempDir::new("rec");
    let (train, _, model) = fixture(&dir);
    let rated = rated_in(&train);
    for user in ["1", "7", "42"] {
        let o = embedrec(&[
            "recommend",
            "--model",
            model.to_str().unwrap(),
            "--user",
            user,
            "-n",
            "15",
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let j = last_json(&o);
        assert_eq!(j["fallback"], false);
        let items = j["items"].as_array().unwrap();
        assert_eq!(items.len(), 15);
        for it in items {
            let item = it["item"].as_str().unwrap();
            assert!(
                !rated[user].contains(item),
                "user {user} was recommended training item {item}"
            );
            assert!(it["title"].as_str().unwrap().starts_with("Synthetic Movie"));
        }
        let scores: Vec<f64> = items.iter().map(|i| i["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "not sorted: {scores:?}"
        );
    }
    let o = embedrec(&[
        "recommend",
        "--model",
        model.to_str().unwrap(),
        "--user",
        "no-such-user",
        "--json",
    ]);
    assert_eq!(last_json(&o)["fallback"], true);

    let o = embedrec(&[
        "recommend",
        "--model",
        model.to_str().unwrap(),
        "--ratings",
        "1:5, 2:4,3:1,zzz:5",
        "-n",
        "5",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("zzz"),
        "unknown item should be reported"
    );
    let items: Vec<String> = last_json(&o)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(items.len(), 5);
    assert!(
        !items.iter().any(|i| i == "1" || i == "2" || i == "3"),
        "{items:?}"
    );

    // Ratings outside the model's scale (1..5): exit 2 naming the rating, nothing on
    // stdout, whether the item is known or not.
    for (ratings, says) in [("50:-7", "-7"), ("1:5,2:9", "9"), ("zzz:0", "zzz")] {
        let o = embedrec(&[
            "recommend",
            "--model",
            model.to_str().unwrap(),
            "--ratings",
            ratings,
            "--json",
        ]);
        assert_eq!(o.status.code(), Some(2), "{ratings}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(says) && e.contains("scale"), "{ratings}: {e}");
        assert!(stdout(&o).trim().is_empty(), "{ratings}");
    }

    let out = dir.path("all.csv");
    let o = embedrec(&[
        "recommend",
        "--model",
        model.to_str().unwrap(),
        "--all-users",
        "--out",
        out.to_str().unwrap(),
        "-n",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    let mut per_user: HashMap<&str, usize> = HashMap::new();
    for row in &rows {
        let f: Vec<&str> = row.split(',').collect();
        assert!(!rated[f[0]].contains(f[2]), "{row}");
        *per_user.entry(f[0]).or_default() += 1;
    }
    // Three each, except heavy users who rated (almost) every one of the 200 items.
    for (user, items) in &rated {
        let got = per_user.get(user.as_str()).copied().unwrap_or(0);
        assert!(
            got <= 3 && (items.len() > 190 || got == 3),
            "user {user}: {got} rows"
        );
    }
}

#[test]
fn similar_and_eval_report_per_contract() {
    let dir = TempDir::new("rec-eval");
    let (_, test, model) = fixture(&dir);
    let o = embedrec(&[
        "similar",
        "--model",
        model.to_str().unwrap(),
        "--item",
        "5",
        "-n",
        "4",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let items = last_json(&o)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4);
    assert!(
        items
            .iter()
            .all(|i| i["item"] != "5" && i["score"].as_f64().unwrap() <= 1.0 + 1e-6)
    );
    let o = embedrec(&[
        "similar",
        "--model",
        model.to_str().unwrap(),
        "--item",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));

    let o = embedrec(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    for key in [
        "rmse",
        "mae",
        "precision@10",
        "recall@10",
        "ndcg@10",
        "hr@10",
        "map@10",
        "mrr@10",
        "coverage@10",
    ] {
        let v = j[key]
            .as_f64()
            .unwrap_or_else(|| panic!("missing {key}: {j}"));
        assert!(v.is_finite() && v >= 0.0, "{key} = {v}");
    }
    assert!(j["rmse"].as_f64().unwrap() < 1.5);
    let o = embedrec(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--metrics",
        "rmse,ndcg",
        "--k",
        "5",
        "--json",
    ]);
    let j = last_json(&o);
    assert!(
        j.get("ndcg@5").is_some() && j.get("rmse").is_some() && j.get("mae").is_none(),
        "{j}"
    );
    let o = embedrec(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--metrics",
        "auc",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
