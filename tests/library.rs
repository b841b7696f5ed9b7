//! The library API as a Rust user meets it: `Fit` on datasets with raw ids, the options
//! it honours, and the trained model's raw-id methods.

mod common;

use common::{TempDir, embedrec};
use embedrec::data::{Dataset, SplitSpec};
use embedrec::models::{
    BlendParams, EaseParams, EpochStats, Feedback, Fit, FitOptions, IalsParams, KnnParams,
    MfParams, MfRankParams, PopularityParams, Recommender, Validation,
};
use embedrec::{Error, TrainedModel};
use std::cell::RefCell;

fn data() -> (Dataset, Dataset) {
    let data = Dataset::synthetic(200, 150, 5_000, 3).unwrap();
    data.split(&"random:0.2".parse::<SplitSpec>().unwrap(), 42)
        .unwrap()
}

fn small_mf() -> MfParams {
    MfParams {
        dim: 8,
        epochs: 6,
        ..Default::default()
    }
}

#[test]
fn patience_without_validation_is_a_usage_error() {
    let (train, _) = data();
    let p = MfParams {
        patience: 2,
        ..small_mf()
    };
    match p.fit(&train, &FitOptions::default()) {
        Err(Error::Usage(m)) => assert!(m.contains("patience"), "{m}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
    // With the params' carve, or validation data given, it trains and stops on it.
    let carved = MfParams {
        val_fraction: 0.1,
        ..p.clone()
    }
    .fit(&train, &FitOptions::default())
    .unwrap();
    assert!(carved.history.iter().all(|e| e.val_rmse.is_some()));
    let (fit_part, held) = train
        .split(&"random:0.1".parse::<SplitSpec>().unwrap(), 7)
        .unwrap();
    let options = FitOptions {
        validation: Validation::Data(&held),
        ..FitOptions::default()
    };
    let given = p.fit(&fit_part, &options).unwrap();
    assert!(given.history.iter().all(|e| e.val_rmse.is_some()));
}

#[test]
fn the_epoch_callback_sees_every_epoch_and_can_stop_training() {
    let (train, test) = data();
    let seen = RefCell::new(Vec::new());
    let record = |e: &EpochStats, m: &dyn Recommender| {
        assert_eq!(m.kind(), "mf");
        seen.borrow_mut().push((e.epoch, e.watch_rmse.is_some()));
        Ok(())
    };
    let options = FitOptions {
        watch: Some(&test),
        on_epoch: Some(&record),
        ..FitOptions::default()
    };
    let model = small_mf().fit(&train, &options).unwrap();
    assert_eq!(
        *seen.borrow(),
        (1..=6).map(|e| (e, true)).collect::<Vec<_>>()
    );
    assert_eq!(model.history.len(), 6);
    assert_eq!(model.training.epochs_run, 6);
    // An error from the callback ends training after that epoch and is returned.
    let stop = |e: &EpochStats, _: &dyn Recommender| {
        if e.epoch == 2 {
            return Err(Error::Usage("interrupted".into()));
        }
        Ok(())
    };
    let options = FitOptions {
        on_epoch: Some(&stop),
        ..FitOptions::default()
    };
    let err = small_mf().fit(&train, &options).unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
}

#[test]
fn min_rating_is_honoured_by_the_library() {
    let (train, _) = data();
    let all = PopularityParams::default()
        .fit(&train, &FitOptions::default())
        .unwrap();
    let liked = PopularityParams {
        min_rating: Some(4.0),
    }
    .fit(&train, &FitOptions::default())
    .unwrap();
    let total = |m: &TrainedModel| -> f32 {
        (0..m.model.n_items())
            .map(|i| m.model.score(0, i))
            .sum::<f32>()
    };
    let liked_count = train.ratings.values.iter().filter(|&&v| v >= 4.0).count();
    assert_eq!(total(&all) as usize, train.ratings.len());
    assert_eq!(total(&liked) as usize, liked_count);
    assert_eq!(liked.params["min_rating"], 4.0);
    let none = IalsParams {
        min_rating: Some(6.0),
        ..Default::default()
    }
    .fit(&train, &FitOptions::default());
    assert!(matches!(none, Err(Error::Usage(_))), "{none:?}");
    // A rating loss takes no min_rating.
    let deep = embedrec::models::DeepParams {
        min_rating: Some(4.0),
        ..Default::default()
    };
    assert!(matches!(Fit::check(&deep), Err(Error::Usage(_))));
}

#[test]
fn feedback_is_explicit_and_decides_the_metrics() {
    let (train, test) = data();
    let opts = FitOptions::default();
    let ials = IalsParams {
        dim: 4,
        iterations: 2,
        ..Default::default()
    }
    .fit(&train, &opts)
    .unwrap();
    let warp = MfRankParams {
        dim: 4,
        epochs: 2,
        ..Default::default()
    }
    .fit(&train, &opts)
    .unwrap();
    let ease = EaseParams::default().fit(&train, &opts).unwrap();
    let knn = KnnParams::default().fit(&train, &opts).unwrap();
    for m in [&ials, &warp, &ease] {
        assert_eq!(m.feedback, Feedback::Preferences, "{}", m.model.kind());
        let json = m.evaluate(&test).unwrap().to_json();
        assert!(json.get("rmse").is_none() && json.get("ndcg@10").is_some());
    }
    assert_eq!(knn.feedback, Feedback::Ratings);
    assert!(knn.evaluate(&test).unwrap().to_json()["rmse"].is_f64());
    // The model file keeps it.
    let dir = TempDir::new("library-feedback");
    let path = dir.path("warp.emb");
    warp.save(&path).unwrap();
    assert_eq!(
        TrainedModel::load(&path).unwrap().feedback,
        Feedback::Preferences
    );
}

#[test]
fn raw_id_methods_agree_with_each_other() {
    let (train, test) = data();
    let model = small_mf().fit(&train, &FitOptions::default()).unwrap();
    let users: Vec<String> = ["1", "2", "no such user", "7", "1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let many = model.recommend_many(&users, 5, 2).unwrap();
    for (u, list) in users.iter().zip(&many) {
        let one = model.recommend(u, 5).unwrap();
        assert_eq!(one.fallback, list.fallback, "{u}");
        let ids = |l: &embedrec::recommend::RecommendationList| {
            l.items.iter().map(|r| r.item.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&one), ids(list), "{u}");
    }
    assert!(many[2].fallback);
    assert!(model.recommend("1", 0).is_err());
    // A rating the model saw in training is excluded from the user's list.
    let seen = train.users.raw(train.ratings.users[0]).to_string();
    let item = train.items.raw(train.ratings.items[0]).to_string();
    assert!(
        model
            .recommend(&seen, 150)
            .unwrap()
            .items
            .iter()
            .all(|r| r.item != item)
    );
    let p = model.predict(&seen, &item);
    assert!(!p.fallback && (1.0..=5.0).contains(&p.value));
    assert!(model.predict("no such user", &item).fallback);
    // Fold-in of a new user by raw ids; unknown items come back.
    let (folded, unknown) = model
        .fold_in(&[(item.as_str(), 5.0), ("no such item", 3.0)])
        .unwrap();
    assert_eq!(unknown, ["no such item"]);
    // A rating outside the model's scale (or not a number) is a usage error naming it,
    // for a known item or not; so is one given by model row.
    for (it, r, says) in [
        (item.as_str(), -7.0, "-7"),
        ("no such item", 6.0, "6"),
        (item.as_str(), f32::NAN, "not a number"),
    ] {
        match model.fold_in(&[(item.as_str(), 4.0), (it, r)]) {
            Err(embedrec::Error::Usage(m)) => {
                assert!(m.contains(it) && m.contains(says), "{m}")
            }
            other => panic!("rating {r} of {it}: {other:?}"),
        }
    }
    let row = model.item_index(&item).unwrap();
    match embedrec::recommend::fold_in(&model, &[(row, 5.5)]) {
        Err(embedrec::Error::Usage(m)) => assert!(m.contains("5.5") && m.contains(&item), "{m}"),
        other => panic!("{other:?}"),
    }
    let list = model.recommend_folded(&folded, 3).unwrap();
    assert_eq!(list.items.len(), 3);
    assert!(list.items.iter().all(|r| r.item != item));
    assert_eq!(model.similar(&item, 4).unwrap().items.len(), 4);
    // evaluate by raw ids counts ids the model lacks as unknown.
    let e = model.evaluate(&test).unwrap();
    assert_eq!(e.count, test.ratings.len());
    assert!(e.rmse > 0.5 && e.rmse < 1.5, "{}", e.rmse);
}

#[test]
fn a_dataset_with_unrated_ids_keeps_only_the_rated_ones_as_rows() {
    // The test half keeps every id of the data; a model trained on it has rows for the
    // ids rated there only.
    let (_, test) = data();
    let rated_users = {
        let mut u = test.ratings.users.clone();
        u.sort_unstable();
        u.dedup();
        u.len()
    };
    assert!(rated_users < test.users.len());
    let model = small_mf().fit(&test, &FitOptions::default()).unwrap();
    assert_eq!(model.users.len(), rated_users);
    assert_eq!(model.model.n_users() as usize, rated_users);
}

#[test]
fn a_blend_trains_its_members_through_the_library() {
    let (train, test) = data();
    let p = BlendParams {
        members: vec!["baseline".into(), "knn".into()],
        ..Default::default()
    };
    let blend = p.fit(&train, &FitOptions::default()).unwrap();
    assert_eq!(blend.model.kind(), "blend");
    assert_eq!(blend.params["member_params"].as_array().unwrap().len(), 2);
    let rmse = blend.evaluate(&test).unwrap().rmse;
    let baseline = embedrec::models::BaselineParams::default()
        .fit(&train, &FitOptions::default())
        .unwrap()
        .evaluate(&test)
        .unwrap()
        .rmse;
    assert!(rmse < baseline + 0.01, "blend {rmse} baseline {baseline}");
    let none = FitOptions {
        validation: Validation::None,
        ..FitOptions::default()
    };
    assert!(matches!(p.fit(&train, &none), Err(Error::Usage(_))));
}

/// The default blend fits its weights on out-of-fold predictions of every training
/// rating (5 folds); one carve with `folds = 1`. Folds trained at once give the same model.
#[test]
fn a_blend_fits_its_weights_on_out_of_fold_predictions() {
    let (train, test) = data();
    let p = BlendParams {
        members: vec!["baseline".into(), "knn".into()],
        ..Default::default()
    };
    let one = p.fit(&train, &FitOptions::default()).unwrap();
    let v = &one.params["validation"];
    assert_eq!(v["folds"], 5);
    assert_eq!(v["ratings"].as_u64().unwrap() as usize, train.ratings.len());
    let two = BlendParams {
        threads: 2,
        ..p.clone()
    }
    .fit(&train, &FitOptions::default())
    .unwrap();
    assert_eq!(two.params["validation"], one.params["validation"]);
    let pairs: Vec<(String, String)> = (0..test.ratings.len())
        .map(|k| {
            let r = &test.ratings;
            (
                test.users.raw(r.users[k]).to_string(),
                test.items.raw(r.items[k]).to_string(),
            )
        })
        .collect();
    for (u, i) in &pairs {
        assert_eq!(
            one.predict(u, i).value.to_bits(),
            two.predict(u, i).value.to_bits()
        );
    }
    // A blend holding fm (time features by default) needs the timestamps a front may
    // otherwise drop; one of rating models without time features does not.
    assert!(!p.needs_times());
    let with_fm = BlendParams {
        members: vec!["baseline".into(), "fm".into()],
        ..p.clone()
    };
    assert!(with_fm.needs_times());
    let carve = BlendParams { folds: 1, ..p }
        .fit(&train, &FitOptions::default())
        .unwrap();
    let v = &carve.params["validation"];
    assert_eq!(v["folds"], 1);
    let carved = v["ratings"].as_u64().unwrap() as usize;
    assert!(carved < train.ratings.len() / 5, "{carved} carved");
    assert_ne!(
        carve.params["validation"]["weights"],
        one.params["validation"]["weights"]
    );
}

/// `evaluate` of a trained model scores each test rating at its own time, as training
/// reports it: a model with time features (fm's `day`) gets the same RMSE from
/// `evaluate` as from its predictions at the test times, and another without the times.
#[test]
fn evaluate_predicts_the_test_ratings_at_their_times() {
    let (mut train, mut test) = data();
    for d in [&mut train, &mut test] {
        let n = d.ratings.len() as i64;
        d.ratings.times = Some(
            (0..n)
                .map(|k| 1_000_000_000 + (k * 7_919 % 400) * 86_400)
                .collect(),
        );
    }
    let p = embedrec::models::FmParams {
        sweeps: 30,
        burn_in: 10,
        features: vec!["day".into()],
        ..Default::default()
    };
    let fm = p.fit(&train, &FitOptions::default()).unwrap();
    let r = &test.ratings;
    let (mut users, mut items, mut times, mut values) = (vec![], vec![], vec![], vec![]);
    for k in 0..r.len() {
        let (u, i) = (test.users.raw(r.users[k]), test.items.raw(r.items[k]));
        if let (Some(u), Some(i)) = (fm.user_index(u), fm.item_index(i)) {
            users.push(u);
            items.push(i);
            times.push(r.times.as_ref().unwrap()[k]);
            values.push(r.values[k]);
        }
    }
    assert_eq!(values.len(), r.len(), "every test id is known");
    let mut at = Vec::new();
    fm.model
        .predict_many_at(&users, &items, Some(&times), &mut at);
    let se: f64 = at
        .iter()
        .zip(&values)
        .map(|(p, v)| ((fm.scale.clip(p.value) - v) as f64).powi(2))
        .sum();
    let expected = (se / values.len() as f64).sqrt();
    let rmse = fm.evaluate(&test).unwrap().rmse;
    assert!(
        (rmse - expected).abs() < 1e-9,
        "evaluate {rmse}, at the times {expected}"
    );
    let mut untimed = test.clone();
    untimed.ratings.times = None;
    assert_ne!(fm.evaluate(&untimed).unwrap().rmse, rmse);
    // One pair at its time by raw ids: the same prediction, clipped; no time: the
    // untimed prediction; an unknown user: the fallback whatever the time.
    for k in [0, 7, 19] {
        let (u, i) = (test.users.raw(r.users[k]), test.items.raw(r.items[k]));
        let t = r.times.as_ref().unwrap()[k];
        let p = fm.predict_at(u, i, Some(t));
        assert_eq!(p.value, fm.scale.clip(at[k].value), "pair {k}");
        assert!(!p.fallback);
        assert_eq!(fm.predict_at(u, i, None), fm.predict(u, i));
        assert_eq!(fm.predict_at("nobody", i, Some(t)), fm.predict("nobody", i));
    }
    let times = r.times.as_ref().unwrap();
    let (first, last) = (times.iter().min().unwrap(), times.iter().max().unwrap());
    let (u, i) = (test.users.raw(r.users[0]), test.items.raw(r.items[0]));
    assert_ne!(
        fm.predict_at(u, i, Some(*first)),
        fm.predict_at(u, i, Some(*last)),
        "the day matters"
    );
}

/// The command line is a front over the same calls: a model trained by `embedrec train`
/// on a file predicts exactly as one trained by the library on the same file and split.
#[test]
fn the_cli_and_the_library_train_the_same_model() {
    let dir = TempDir::new("library-cli");
    let file = dir.path("ratings.csv");
    let data = Dataset::synthetic(120, 90, 2_500, 5).unwrap();
    let mut csv = String::from("user,item,rating,timestamp\n");
    for k in 0..data.ratings.len() {
        let r = &data.ratings;
        csv += &format!(
            "{},{},{},{}\n",
            data.users.raw(r.users[k]),
            data.items.raw(r.items[k]),
            r.values[k],
            1_000_000 + k
        );
    }
    std::fs::write(&file, csv).unwrap();
    let out = dir.path("cli.emb");
    let o = embedrec(&[
        "train",
        "--model",
        "mf",
        "--data",
        file.to_str().unwrap(),
        "--split",
        "random:0.2",
        "--dim",
        "8",
        "--epochs",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cli = TrainedModel::load(&out).unwrap();
    let loaded = Dataset::load(&file).unwrap();
    let (train, _) = loaded
        .split(&"random:0.2".parse::<SplitSpec>().unwrap(), 42)
        .unwrap();
    let lib = MfParams {
        dim: 8,
        epochs: 5,
        ..Default::default()
    }
    .fit(&train, &FitOptions::default())
    .unwrap();
    assert_eq!(cli.users, lib.users);
    assert_eq!(cli.model, lib.model);
    assert_eq!(cli.params, lib.params);
    assert_eq!(cli.fingerprint, lib.fingerprint);
}
