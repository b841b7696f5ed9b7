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

/// Where a model's tensors are read from: the model file's tensors by full name.
pub trait TensorFile {
    /// The f32 tensor `name`: shape and values.
    fn f32(&mut self, name: &str) -> Result<(Vec<usize>, Vec<f32>), String>;
    /// The u32 tensor `name`: shape and values.
    fn u32(&mut self, name: &str) -> Result<(Vec<usize>, Vec<u32>), String>;
    /// Whether the file holds a tensor `name`.
    fn has(&self, name: &str) -> bool;
}

/// A scoped view of a [`TensorFile`] (candle's `VarBuilder::pp`): names are read under
/// the prefix ([`Tensors::pp`] nests one more), so a blend hands each member `m{k}.`.
pub struct Tensors<'a> {
    file: &'a mut dyn TensorFile,
    prefix: String,
}

impl<'a> Tensors<'a> {
    /// The whole file, unprefixed.
    pub fn new(file: &'a mut dyn TensorFile) -> Self {
        Tensors {
            file,
            prefix: String::new(),
        }
    }

    /// The view of the names under `prefix.` within this one.
    pub fn pp(&mut self, prefix: &str) -> Tensors<'_> {
        Tensors {
            prefix: format!("{}{prefix}.", self.prefix),
            file: &mut *self.file,
        }
    }

    fn full(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Whether the tensor `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.file.has(&self.full(name))
    }

    /// The f32 tensor `name`, its shape checked against `want` when given.
    pub fn f32(
        &mut self,
        name: &str,
        want: Option<&[usize]>,
    ) -> Result<(Vec<usize>, Vec<f32>), String> {
        let full = self.full(name);
        let (shape, data) = self.file.f32(&full)?;
        match want {
            Some(want) if shape != want => Err(format!(
                "tensor `{full}` has shape {shape:?}, expected {want:?}"
            )),
            _ => Ok((shape, data)),
        }
    }

    /// The values of the f32 tensor `name` of shape `want`.
    pub fn values(&mut self, name: &str, want: &[usize]) -> Result<Vec<f32>, String> {
        Ok(self.f32(name, Some(want))?.1)
    }

    /// The one value of the f32 tensor `name` of shape `[1]`.
    pub fn scalar(&mut self, name: &str) -> Result<f32, String> {
        Ok(self.values(name, &[1])?[0])
    }

    /// The u32 tensor `name` (1-dimensional).
    pub fn u32(&mut self, name: &str) -> Result<Vec<u32>, String> {
        let full = self.full(name);
        let (shape, data) = self.file.u32(&full)?;
        if shape.len() != 1 {
            return Err(format!(
                "tensor `{full}` must be 1-dimensional, has shape {shape:?}"
            ));
        }
        Ok(data)
    }
}

/// A kind's params from a model file's metadata, checked.
pub fn params_of<P: serde::de::DeserializeOwned>(
    kind: &str,
    params: &serde_json::Value,
    check: impl FnOnce(&P) -> crate::Result<()>,
) -> Result<P, String> {
    let p: P = serde_json::from_value(params.clone())
        .map_err(|e| format!("invalid {kind} model params: {e}"))?;
    check(&p).map_err(|e| format!("invalid {kind} model params: {e}"))?;
    Ok(p)
}

/// Loads a model of one kind: its params (the model file's), its rows (`users`,
/// `items`) and its tensors; a message naming the problem when they do not fit.
pub type LoadFn =
    fn(&serde_json::Value, usize, usize, &mut Tensors<'_>) -> Result<AnyModel, String>;

/// One model kind: what the model file, blends and serving need to know of it.
#[derive(Clone, Copy)]
pub struct Kind {
    /// Its name, as on the command line and in the model file.
    pub name: &'static str,
    /// Rebuilds a trained model from the model file.
    pub load: LoadFn,
    /// A blend member of this kind: its default params, with the blend's seed; `None`
    /// when the kind cannot be a blend member (not a rating model).
    pub member: Option<fn(u64) -> Box<dyn Fit>>,
    /// Its params: the defaults (those for implicit feedback when asked; a usage error
    /// for a kind that trains on ratings only), or a named preset, with the keys of a
    /// JSON object laid over them (names as the params struct's fields; an unknown one
    /// is a usage error).
    pub params: ParamsFn,
    /// Its presets' names.
    pub presets: &'static [&'static str],
}

/// See [`Kind::params`]: (preset, overrides, implicit) -> params.
pub type ParamsFn = fn(Option<&str>, &serde_json::Value, bool) -> crate::Result<Box<dyn Fit>>;

/// `base` with the keys of the JSON object `over` laid over it (objects merged key by
/// key), read back as `T`: unknown keys and wrong types are usage errors naming them.
pub fn overlay<T: serde::Serialize + serde::de::DeserializeOwned>(
    base: T,
    over: &serde_json::Value,
) -> crate::Result<T> {
    fn merge(base: &mut serde_json::Value, over: &serde_json::Value) {
        match (base, over) {
            (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
                for (k, v) in o {
                    match b.get_mut(k) {
                        Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                        _ => {
                            b.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            (b, o) => *b = o.clone(),
        }
    }
    if !(over.is_object() || over.is_null()) {
        return Err(crate::Error::Usage(format!(
            "params must be a JSON object of names and values, got {over}"
        )));
    }
    let mut v =
        serde_json::to_value(&base).map_err(|e| crate::Error::Usage(format!("params: {e}")))?;
    if over.is_object() {
        merge(&mut v, over);
    }
    serde_json::from_value(v).map_err(|e| crate::Error::Usage(format!("params: {e}")))
}

/// The params of the kind named `kind` (see [`Kind::params`]), checked.
pub fn params_for(
    kind: &str,
    preset: Option<&str>,
    over: &serde_json::Value,
    implicit: bool,
) -> crate::Result<Box<dyn Fit>> {
    let k = self::kind(kind).map_err(crate::Error::Usage)?;
    if let Some(p) = preset
        && !k.presets.contains(&p)
    {
        return Err(crate::Error::Usage(if k.presets.is_empty() {
            format!("{kind} has no presets")
        } else {
            format!(
                "unknown preset '{p}' for {kind}: expected {}",
                k.presets.join(" or ")
            )
        }));
    }
    let params = (k.params)(preset, over, implicit)?;
    params.check()?;
    Ok(params)
}

/// The [`ParamsFn`] of a kind without presets that trains on ratings only.
pub(crate) fn rating_params<T>(
    _: Option<&str>,
    over: &serde_json::Value,
    implicit: bool,
) -> crate::Result<Box<dyn Fit>>
where
    T: Fit + Default + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    if implicit {
        return Err(crate::Error::Usage(format!(
            "{} trains on ratings, not on implicit feedback",
            T::default().kind()
        )));
    }
    Ok(Box::new(overlay(T::default(), over)?))
}

/// The [`ParamsFn`] of a kind without presets that trains on implicit feedback only.
pub(crate) fn implicit_params<T>(
    _: Option<&str>,
    over: &serde_json::Value,
    _: bool,
) -> crate::Result<Box<dyn Fit>>
where
    T: Fit + Default + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    Ok(Box::new(overlay(T::default(), over)?))
}

/// Every model kind, one line each.
pub const REGISTRY: &[Kind] = &[
    baseline::KIND,
    mf::KIND,
    deep::KIND,
    knn::KIND,
    autorec::KIND,
    blend::KIND,
    ials::KIND,
    popularity::KIND,
    neumf::KIND,
    ease::KIND,
    fm::KIND,
    #[cfg(test)]
    constant::KIND,
];

/// The registry's entry for `name`.
pub fn kind(name: &str) -> Result<&'static Kind, String> {
    REGISTRY.iter().find(|k| k.name == name).ok_or_else(|| {
        let names: Vec<&str> = REGISTRY.iter().map(|k| k.name).collect();
        format!("unknown model kind `{name}` (known: {})", names.join(", "))
    })
}

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
}
