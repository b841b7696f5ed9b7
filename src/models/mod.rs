//! Models. Each kind is one module: its params (which implement [`Fit`]), its trained
//! model (which implements [`Model`]) and its [`Kind`] entry, listed once in
//! [`registry`]. Everything else (the model file, blends, fold-in, serving) reaches a
//! kind through the registry and the trait, never by naming it.

/// The three [`Model`] methods every kind writes the same way (inside `impl Model`).
macro_rules! boxed_model {
    () => {
        fn clone_model(&self) -> $crate::models::AnyModel {
            $crate::models::AnyModel::new(self.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
    };
}

pub mod autorec;
pub mod baseline;
pub mod blend;
#[cfg(test)]
pub(crate) mod constant;
pub mod deep;
pub mod ease;
pub mod fit;
pub mod flags;
pub mod fm;
pub mod ials;
pub mod knn;
pub mod mf;
pub mod mf_rank;
pub mod neumf;
pub mod popularity;
pub mod ranking;

pub use autorec::{AutoRec, AutoRecInput, AutoRecParams};
pub use baseline::{Baseline, BaselineParams, GlobalMean};
pub use blend::{Blend, BlendParams};
pub use deep::{Deep, DeepParams, SideInput};
pub use ease::{Ease, EaseParams};
pub use fit::{
    EpochStats, Feedback, Fit, FitOptions, Fitted, PopularityParams, RowOptions, RowValidation,
    TrainingSet, Validation,
};
pub use fm::{Fm, FmParams, Solver as FmSolver};
pub use ials::{Confidence, Ials, IalsParams};
pub use knn::{Knn, KnnParams};
pub use mf::{Mf, MfParams};
pub use mf_rank::{MfRankParams, RankLoss, RankOptimizer, Sampling};
pub use neumf::{NeuMf, NeuMfParams};
pub use popularity::Popularity;

pub use crate::model::{AnyModel, FoldedUser, Model, NamedTensor, Prediction, Recommender};

mod registry;
mod tensors;
pub(crate) mod threads;
mod training;
pub use registry::*;
pub use tensors::*;
pub(crate) use training::with_training_fields;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::model::TrainedModel;
    use std::path::Path;

    /// Every kind, with small settings: the every-kind test list. A kind in the
    /// registry without an entry here fails [`every_kind_round_trips_through_the_registry`].
    fn every_kind() -> Vec<Box<dyn Fit>> {
        vec![
            Box::new(BaselineParams::default()),
            Box::new(MfParams {
                dim: 4,
                epochs: 2,
                ..Default::default()
            }),
            Box::new(MfRankParams {
                dim: 4,
                epochs: 1,
                ..Default::default()
            }),
            Box::new(DeepParams {
                dim: 4,
                hidden: vec![8],
                epochs: 1,
                features: vec![("occupation".into(), 2), ("genres".into(), 2)],
                ..Default::default()
            }),
            Box::new(KnnParams::default()),
            Box::new(AutoRecParams {
                hidden: 4,
                epochs: 1,
                ..Default::default()
            }),
            Box::new(BlendParams {
                members: vec!["baseline".into(), "mf".into()],
                ..Default::default()
            }),
            Box::new(IalsParams {
                dim: 4,
                iterations: 1,
                ..Default::default()
            }),
            Box::new(PopularityParams::default()),
            Box::new(FmParams {
                dim: 2,
                sweeps: 4,
                burn_in: 1,
                keep: 2,
                ..Default::default()
            }),
            Box::new(NeuMfParams {
                dim: 4,
                mlp_dim: 4,
                hidden: vec![4],
                epochs: 1,
                ..Default::default()
            }),
            Box::new(EaseParams::default()),
            Box::new(constant::ConstantParams::default()),
        ]
    }

    fn data() -> (Dataset, Dataset) {
        let data = Dataset::synthetic(60, 40, 900, 11).unwrap();
        data.split(&"random:0.2".parse().unwrap(), 42).unwrap()
    }

    /// Each kind trains through `Fit`, saves, loads back through the registry alone as
    /// the same model, and recommends the same lists.
    #[test]
    fn every_kind_round_trips_through_the_registry() {
        let (train, _) = data();
        let kinds = every_kind();
        for k in REGISTRY {
            assert!(
                kinds.iter().any(|p| p.kind() == k.name),
                "kind `{}` has no entry in the every-kind test list",
                k.name
            );
        }
        for params in &kinds {
            let model = params.fit(&train, &FitOptions::default()).unwrap();
            assert_eq!(model.model.kind(), params.kind());
            let bytes = model.to_bytes().unwrap();
            let back = TrainedModel::from_bytes(&bytes, Path::new("m.emb")).unwrap();
            assert_eq!(back.model, model.model, "{}", params.kind());
            assert_eq!(back.feedback, model.feedback, "{}", params.kind());
            let user = train.users.raw(0);
            assert_eq!(
                back.recommend(user, 5).unwrap(),
                model.recommend(user, 5).unwrap(),
                "{}",
                params.kind()
            );
        }
    }

    /// A model file whose params state a shape the tensors contradict (a factor width,
    /// hidden layer sizes, a catalog limit) or fail their kind's check is refused at
    /// load naming the problem, for every kind whose params state one; the untouched
    /// file loads.
    #[test]
    fn params_contradicting_the_tensors_are_refused() {
        use serde_json::json;
        let (train, _) = data();
        let edits: Vec<(&str, &str, serde_json::Value)> = vec![
            ("mf", "dim", json!(5)),
            ("mf", "dim", json!(null)),
            ("deep", "dim", json!(5)),
            ("deep", "hidden", json!([9])),
            ("autorec", "hidden", json!(5)),
            ("autorec", "hidden", json!(0)),
            ("ials", "dim", json!(3)),
            ("neumf", "dim", json!(3)),
            ("neumf", "mlp_dim", json!(3)),
            ("neumf", "hidden", json!([4, 2])),
            ("knn", "max_items", json!(3)),
            ("knn", "k", json!(0)),
            ("ease", "l2", json!(-1.0)),
        ];
        let mut tried = 0;
        for params in every_kind() {
            let model = params.fit(&train, &FitOptions::default()).unwrap();
            let is_rank = model.feedback == crate::models::Feedback::Preferences;
            for (kind, field, value) in &edits {
                if *kind != params.kind() || (*kind == "mf" && is_rank) {
                    continue;
                }
                let mut bad = model.clone();
                bad.params[*field] = value.clone();
                let bytes = bad.to_bytes().unwrap();
                match TrainedModel::from_bytes(&bytes, Path::new("m.emb")) {
                    Ok(_) => panic!("{kind}: params {field} = {value} loaded"),
                    Err(e) => {
                        assert_eq!(e.exit_code(), 2);
                        let m = e.to_string();
                        assert!(
                            m.contains(field) || m.contains("tensor `"),
                            "{kind} {field}: {m}"
                        );
                    }
                }
                tried += 1;
            }
            let bytes = model.to_bytes().unwrap();
            TrainedModel::from_bytes(&bytes, Path::new("m.emb")).unwrap();
        }
        assert_eq!(tried, edits.len());
    }

    /// Params by kind name: defaults or a preset with names laid over them; unknown
    /// names, unknown presets and a rating-only kind asked for implicit feedback are
    /// usage errors naming what is wrong.
    #[test]
    fn params_by_kind_name() {
        let over = serde_json::json!({"dim": 16, "optimizer": {"kind": "adam"}});
        let mf = params_for("mf", None, &over, false).unwrap().to_json();
        assert_eq!(
            (mf["dim"].as_u64(), mf["optimizer"]["kind"].as_str()),
            (Some(16), Some("adam"))
        );
        assert_eq!(mf["lr"], serde_json::json!(MfParams::default().lr));
        let book = params_for("mf", Some("book-mf"), &serde_json::json!({}), false).unwrap();
        assert_eq!(book.to_json(), serde_json::json!(MfParams::book_mf()));
        let rank = params_for("mf", None, &serde_json::json!({}), true).unwrap();
        assert!(rank.to_json()["loss"].is_string() && rank.to_json().get("batch").is_none());
        let deep = params_for("deep", None, &serde_json::json!({}), true).unwrap();
        assert_eq!(deep.to_json(), serde_json::json!(DeepParams::implicit()));
        for (kind, preset, over, implicit, says) in [
            ("mf", None, serde_json::json!({"dimm": 3}), false, "dimm"),
            (
                "knn",
                Some("book-mf"),
                serde_json::json!({}),
                false,
                "no presets",
            ),
            (
                "mf",
                Some("book-dl"),
                serde_json::json!({}),
                false,
                "book-mf",
            ),
            ("knn", None, serde_json::json!({}), true, "ratings"),
            ("mf", None, serde_json::json!({"dim": 0}), false, "dim"),
            (
                "wide",
                None,
                serde_json::json!({}),
                false,
                "unknown model kind",
            ),
        ] {
            match params_for(kind, preset, &over, implicit) {
                Err(crate::Error::Usage(m)) => assert!(m.contains(says), "{kind}: {m}"),
                Err(other) => panic!("{kind}: {other:?}"),
                Ok(p) => panic!("{kind}: accepted {:?}", p.to_json()),
            }
        }
    }

    /// The constant kind, known to nothing but its module and its registry line, is a
    /// model like any other: trained, saved, loaded, recommended, folded into (not
    /// supported: a clear error), and blended.
    #[test]
    fn a_kind_added_by_the_recipe_works_everywhere() {
        let (train, test) = data();
        let p = constant::ConstantParams { value: 4.25 };
        let model = p.fit(&train, &FitOptions::default()).unwrap();
        let dir = std::env::temp_dir().join(format!("embedrec-constant-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("constant.emb");
        model.save(&path).unwrap();
        let back = TrainedModel::load(&path).unwrap();
        assert_eq!(back.model.kind(), "constant");
        let user = train.users.raw(0);
        let list = back.recommend(user, 3).unwrap();
        assert_eq!(list.items.len(), 3);
        assert!(list.items.iter().all(|r| r.score == 4.25));
        assert_eq!(back.predict(user, "no such item").value, 4.25);
        assert!(back.evaluate(&test).unwrap().rmse > 0.0);
        let item = train.items.raw(0).to_string();
        assert!(matches!(
            back.fold_in(&[(item.as_str(), 4.0)]),
            Err(crate::Error::Usage(_))
        ));
        // As a blend member, by name, through the registry.
        let blend = BlendParams {
            members: vec!["baseline".into(), "constant".into()],
            ..Default::default()
        }
        .fit(&train, &FitOptions::default())
        .unwrap();
        let blend_path = dir.join("blend.emb");
        blend.save(&blend_path).unwrap();
        let blend_back = TrainedModel::load(&blend_path).unwrap();
        assert_eq!(blend_back.model, blend.model);
        assert!(blend_back.tensor_names().iter().any(|n| n == "m1.value"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every kind's `read` gives back the params it is handed (as `to_json` writes
    /// them) as the same kind, for rating and implicit params alike; a value of the
    /// wrong type is a usage error with the context; popularity has nothing to read.
    #[test]
    fn params_read_back_through_the_registry() {
        let mut read = 0;
        for k in REGISTRY {
            for implicit in [false, true] {
                let Ok(p) = (k.params)(None, &serde_json::Value::Null, implicit) else {
                    continue;
                };
                if k.read.is_none() {
                    let e = params_like(&*p, p.to_json(), implicit, "ctx")
                        .err()
                        .unwrap();
                    assert!(e.to_string().contains("no parameters"), "{e}");
                    continue;
                }
                let back = params_like(&*p, p.to_json(), implicit, "ctx").unwrap();
                assert_eq!(back.kind(), p.kind());
                assert_eq!(
                    back.to_json(),
                    p.to_json(),
                    "{} implicit {implicit}",
                    k.name
                );
                read += 1;
            }
        }
        assert!(read >= 12, "{read}");
        let mf = MfParams::default();
        let mut v = mf.to_json();
        v["lr"] = serde_json::json!("fast");
        let e = params_like(&mf, v, false, "ctx").err().unwrap();
        assert!(e.to_string().starts_with("ctx: "), "{e}");
        // The implicit mf params are MF with a ranking loss.
        let rank = params_like(
            &mf_rank::MfRankParams::default(),
            MfRankParams::default().to_json(),
            true,
            "ctx",
        )
        .unwrap();
        assert!(rank.to_json().get("negatives").is_some());
    }
}
