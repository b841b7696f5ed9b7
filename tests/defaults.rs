//! Every rating kind's defaults on data unlike MovieLens 100K: a catalog much wider than
//! its users, long-tailed, in half stars (the shape of MovieLens latest-small), must
//! beat the bias baseline on held-out ratings; and a half-star file in the 100K format
//! trains without `--scale`.

mod common;

use common::{TempDir, embedrec, last_json, stderr};
use embedrec::data::synthetic::{SynthFormat, SynthParams, generate, write};
use embedrec::data::{Dataset, RatingScale, SplitSpec};
use embedrec::models::{FitOptions, REGISTRY, params_for};

/// MovieLens latest-small's character (610 x 9,724, 100,836 ratings) at 40% of its
/// size: 16 items a user, 160 ratings a user, most items rated fewer than 5 times, half
/// stars 0.5..5.
fn wide_half_stars() -> SynthParams {
    SynthParams {
        users: 250,
        items: 4_000,
        ratings: 40_000,
        seed: 7,
        scale: RatingScale::HALF_STARS,
        side_variables: false,
        ..SynthParams::default()
    }
}

fn split(data: &Dataset) -> (Dataset, Dataset) {
    data.split(&"random:0.2".parse::<SplitSpec>().unwrap(), 42)
        .unwrap()
}

/// The test RMSE of `kind`'s defaults trained on `train`.
fn test_rmse(kind: &str, train: &Dataset, test: &Dataset) -> f64 {
    let params = params_for(kind, None, &serde_json::json!({}), false).unwrap();
    let model = params.fit(train, &FitOptions::default()).unwrap();
    model.evaluate(test).unwrap().rmse
}

#[test]
fn the_generated_shape_is_wide_long_tailed_and_in_half_stars() {
    let syn = generate(&wide_half_stars()).unwrap();
    let d = &syn.dataset;
    assert_eq!(d.scale, RatingScale::HALF_STARS);
    assert!(d.ratings.values.iter().any(|v| v.fract() == 0.5));
    assert!(d.ratings.values.iter().all(|v| (2.0 * v).fract() == 0.0));
    let mut counts = vec![0usize; d.items.len()];
    d.ratings
        .items
        .iter()
        .for_each(|&i| counts[i as usize] += 1);
    let rare = counts.iter().filter(|&&c| c < 5).count() as f64 / counts.len() as f64;
    assert!(
        (0.45..0.8).contains(&rare),
        "share of items rated < 5 times: {rare}"
    );
}

#[test]
fn every_rating_kind_beats_the_baseline_on_a_wide_half_star_catalog() {
    let syn = generate(&wide_half_stars()).unwrap();
    let (train, test) = split(&syn.dataset);
    let baseline = test_rmse("baseline", &train, &test);
    let (mut worse, mut tried) = (Vec::new(), 0);
    // The rating kinds: those that can be blend members, and the blend.
    let rating_kinds = REGISTRY
        .iter()
        .filter(|k| (k.member.is_some() || k.name == "blend") && k.name != "baseline");
    for kind in rating_kinds {
        let rmse = test_rmse(kind.name, &train, &test);
        tried += 1;
        eprintln!("{:<9} {rmse:.4} (baseline {baseline:.4})", kind.name);
        if rmse >= baseline {
            worse.push(format!("{} {rmse:.4}", kind.name));
        }
    }
    // mf, deep, neumf, knn, autorec, blend
    assert!(tried >= 6, "only {tried} rating kinds");
    assert!(
        worse.is_empty(),
        "not better than the baseline's {baseline:.4}: {worse:?}"
    );
}

#[test]
fn a_half_star_file_in_the_100k_format_trains_without_a_scale() {
    let dir = TempDir::new("half-star-u1");
    let syn = generate(&SynthParams {
        users: 100,
        items: 300,
        ratings: 4_000,
        scale: RatingScale::HALF_STARS,
        ..SynthParams::default()
    })
    .unwrap();
    write(&syn, &dir.0, SynthFormat::Ml100k).unwrap();
    // u1.base / u1.test from u.data, as the 100K folds are named.
    let lines: Vec<String> = std::fs::read_to_string(dir.0.join("u.data"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let (base, test) = lines.split_at(lines.len() * 4 / 5);
    let base_path = dir.write("u1.base", &(base.join("\n") + "\n"));
    let test_path = dir.write("u1.test", &(test.join("\n") + "\n"));
    let out = embedrec(&[
        "train",
        "--model",
        "baseline",
        "--train",
        base_path.to_str().unwrap(),
        "--test",
        test_path.to_str().unwrap(),
        "--json",
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("0.5..5") && err.contains("half stars"),
        "{err}"
    );
    let j = last_json(&out);
    assert_eq!(j["test_count"], test.len());
    assert!(j["test_rmse"].as_f64().unwrap() < 1.5);
    // --scale still decides: a declared 1..5 refuses the half stars below 1.
    let out = embedrec(&[
        "train",
        "--model",
        "baseline",
        "--train",
        base_path.to_str().unwrap(),
        "--test",
        test_path.to_str().unwrap(),
        "--scale",
        "1:5",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside the scale 1..5"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn autorec_stops_early_and_refits_by_default_and_patience_0_turns_it_off() {
    let data = Dataset::synthetic(200, 150, 5_000, 3).unwrap();
    let (train, _) = split(&data);
    let fit = |over: serde_json::Value| {
        params_for("autorec", None, &over, false)
            .unwrap()
            .fit(&train, &FitOptions::default())
            .unwrap()
    };
    let over = serde_json::json!({"hidden": 16, "epochs": 40});
    // Defaults: the refit's params, run on all the ratings, nothing carved.
    let stopped = fit(over.clone());
    let p = &stopped.params;
    assert_eq!(p["patience"], 0);
    assert_eq!(p["val_fraction"], 0.0);
    assert!(p["input"] == "ratings" || p["input"] == "residuals", "{p}");
    let epochs = p["epochs"].as_u64().unwrap() as usize;
    assert!((1..=40).contains(&epochs), "{p}");
    assert_eq!(stopped.history.len(), epochs);
    assert!(stopped.history.iter().all(|e| e.val_rmse.is_none()));
    // The rule's lambda, from all the training ratings.
    let users = {
        let mut u = train.ratings.users.clone();
        u.sort_unstable();
        u.dedup();
        u.len()
    };
    let rule = 8500.0 * users as f64 / train.ratings.len() as f64;
    assert!(
        (p["l2"].as_f64().unwrap() - rule).abs() < 1e-3 * rule,
        "{p}"
    );
    // --patience 0: every epoch on all the ratings, the ratings as input.
    let all = fit(serde_json::json!({"hidden": 16, "epochs": 40, "patience": 0}));
    assert_eq!(all.history.len(), 40);
    assert_eq!(all.params["input"], "ratings");
    assert_eq!(all.params["val_fraction"], 0.0);
}
