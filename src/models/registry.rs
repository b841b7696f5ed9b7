//! The registry of kinds: one [`Kind`] line per kind (its name, loader, blend-member
//! defaults, params by name, presets and command-line flags), and the params of a kind
//! by name.

use super::*;

/// Loads a model of one kind: its params (the model file's), its rows (`users`,
/// `items`) and its tensors; a message naming the problem when they do not fit.
pub type LoadFn =
    fn(&serde_json::Value, usize, usize, &mut Tensors<'_>) -> Result<AnyModel, String>;

/// One model kind: what the model file, blends and serving need to know of it.
#[derive(Clone, Copy)]
pub struct Kind {
    /// Its name, as on the command line and in the model file.
    pub name: &'static str,
    /// What it is, in one line (the command line's help of `--model`).
    pub about: &'static str,
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
    /// Its params from a complete JSON object of every value (as [`Fit::to_json`]
    /// writes them; `true`: the implicit-feedback params), not yet checked; `None` for
    /// a kind without parameters to vary.
    pub read: Option<ReadFn>,
    /// Its presets' names (those of the rating model, for a kind that trains on both
    /// ratings and implicit feedback).
    pub presets: &'static [&'static str],
    /// The hyper-parameter flags it takes on implicit feedback (`true`) or on ratings,
    /// in the order the command line lists them, each with the field its value goes to;
    /// `None` where it does not train on that feedback.
    pub flags: FlagsFn,
    /// The command line's answer to a `--preset` where the kind, in the mode asked, has
    /// none, when it is not "NAME has no presets".
    pub no_preset: Option<&'static str>,
}

/// See [`Kind::flags`]: (implicit) -> the flags, or `None`.
pub type FlagsFn = fn(bool) -> Option<Vec<flags::Flag>>;

impl Kind {
    /// Whether it trains on ratings ([`Kind::flags`]).
    pub fn trains_on_ratings(&self) -> bool {
        (self.flags)(false).is_some()
    }

    /// Whether it trains on implicit feedback ([`Kind::flags`]).
    pub fn trains_on_implicit(&self) -> bool {
        (self.flags)(true).is_some()
    }
}

/// A value that does not read as a kind's params ([`ReadFn`]): the error, and where.
#[derive(Debug)]
pub struct ReadError {
    /// The keys leading to the value, outermost first (empty: the object itself, e.g.
    /// an unknown key at the top).
    pub keys: Vec<String>,
    /// What is wrong.
    pub error: serde_json::Error,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// See [`Kind::read`]: (every value, implicit) -> params.
pub type ReadFn = fn(serde_json::Value, bool) -> Result<Box<dyn Fit>, ReadError>;

/// The [`ReadFn`] of a kind whose params are one type.
pub(crate) fn read<T>(v: serde_json::Value, _: bool) -> Result<Box<dyn Fit>, ReadError>
where
    T: Fit + serde::de::DeserializeOwned + 'static,
{
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(p) => Ok(Box::new(p)),
        Err(e) => {
            let mut keys: Vec<String> = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    _ => None,
                })
                .collect();
            let error = e.into_inner();
            // An unknown key is a fault of the object holding it.
            if keys.last().is_some_and(|k| {
                error
                    .to_string()
                    .starts_with(&format!("unknown field `{k}`"))
            }) {
                keys.pop();
            }
            Err(ReadError { keys, error })
        }
    }
}

/// The [`ReadFn`] of the kind of `params`; a usage error for a kind without
/// parameters to vary (popularity).
pub fn reader(params: &dyn Fit) -> crate::Result<ReadFn> {
    let name = params.kind();
    self::kind(name)
        .map_err(crate::Error::Usage)?
        .read
        .ok_or_else(|| crate::Error::Usage(format!("{name} has no parameters to search")))
}

/// `params` with the values of `v`, a complete JSON object of every value (as
/// [`Fit::to_json`] writes them, with some replaced), read back as the same kind's
/// params (see [`reader`]) and checked. A value that does not read is a usage error
/// starting with `context`.
pub fn params_like(
    params: &dyn Fit,
    v: serde_json::Value,
    implicit: bool,
    context: &str,
) -> crate::Result<Box<dyn Fit>> {
    let p =
        reader(params)?(v, implicit).map_err(|e| crate::Error::Usage(format!("{context}: {e}")))?;
    p.check()?;
    Ok(p)
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
