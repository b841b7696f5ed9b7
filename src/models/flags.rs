//! The hyper-parameter flags of the command line, declared by each kind beside its
//! [`Kind`](super::Kind) line ([`Kind::flags`](super::Kind::flags)): a flag's name and
//! where its value lands in the kind's params, so that a front turns the flags given
//! into one JSON object of params fields and reads the params through the registry
//! ([`params_for`](super::params_for)). No front names a kind to do so.
//!
//! The lists shared by several kinds are here; a kind's own flags sit beside its
//! `KIND`.

use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::str::FromStr;

/// Parses a text flag into the JSON value of its field (a usage error naming the flag
/// when the text does not parse).
pub type ParseFn = fn(&str) -> Result<Value>;

/// Where a flag's value goes.
#[derive(Clone, Copy)]
pub enum Target {
    /// Into this field of the params (dotted for a nested one: `optimizer.momentum`),
    /// the value as given (a number; `true` for a switch).
    Field(&'static str),
    /// Into this field, the text parsed first; an empty path lays the parsed JSON
    /// object's fields over the params themselves (a flag that sets several fields).
    Parsed(&'static str, ParseFn),
    /// Not a params field: a setting the front handles itself (how ratings become
    /// implicit feedback, what is relevant, how the test data is ranked).
    Front,
}

/// One hyper-parameter flag a kind takes.
#[derive(Clone, Copy)]
pub struct Flag {
    /// As spelled on the command line: `--lr`.
    pub name: &'static str,
    /// Where its value goes.
    pub target: Target,
}

impl Flag {
    /// A flag whose value is the field's value.
    pub const fn field(name: &'static str, path: &'static str) -> Flag {
        Flag {
            name,
            target: Target::Field(path),
        }
    }

    /// A text flag parsed into the field's value.
    pub const fn parsed(name: &'static str, path: &'static str, parse: ParseFn) -> Flag {
        Flag {
            name,
            target: Target::Parsed(path, parse),
        }
    }

    /// A flag the front handles (see [`Target::Front`]).
    pub const fn front(name: &'static str) -> Flag {
        Flag {
            name,
            target: Target::Front,
        }
    }

    /// Lays `value`, the flag's value as given (a number, `true` for a switch, or the
    /// text of a text flag), into `over`, a JSON object of params fields.
    pub fn apply(&self, value: &Value, over: &mut Value) -> Result<()> {
        let (path, value) = match self.target {
            Target::Front => return Ok(()),
            Target::Field(path) => (path, value.clone()),
            Target::Parsed(path, parse) => {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                (path, parse(&text)?)
            }
        };
        let mut node = over;
        for key in path.split('.').filter(|k| !k.is_empty()) {
            if !node.is_object() {
                *node = json!({});
            }
            node = node
                .as_object_mut()
                .expect("an object")
                .entry(key)
                .or_insert_with(|| json!({}));
        }
        merge(node, value);
        Ok(())
    }
}

/// Params named as a front's keyword arguments (Python's `MF(lr=0.02, optimizer="adam")`),
/// as one JSON object of the kind's params fields: a name that spells one of the kind's
/// flags with `_` for `-` (`lr_decay` for `--lr-decay`) goes where the flag goes, a text
/// value parsed as the flag's text is; any other name, and a value that is not text for a
/// flag that parses text, is a params field by that name. So the names of the command
/// line and those of the params (as `get_params` shows them) are both accepted.
pub fn fields_of_named(kind: &super::Kind, implicit: bool, named: &Value) -> Result<Value> {
    let Some(named) = named.as_object() else {
        return Ok(named.clone());
    };
    let flags = (kind.flags)(implicit).unwrap_or_default();
    let mut over = json!({});
    for (name, value) in named {
        let spelled = format!("--{}", name.replace('_', "-"));
        let flag = flags
            .iter()
            .find(|f| f.name == spelled)
            .filter(|f| match f.target {
                Target::Field(_) => !value.is_object(),
                Target::Parsed(..) => value.is_string(),
                Target::Front => false,
            });
        match flag {
            Some(flag) => flag.apply(value, &mut over)?,
            None => merge(&mut over, json!({ name: value })),
        }
    }
    Ok(over)
}

/// `over`'s keys laid over `base` (objects merged key by key, anything else replaced).
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// The [`ParseFn`] of a field whose type parses from the flag's text.
pub fn parsed<T>(s: &str) -> Result<Value>
where
    T: FromStr + serde::Serialize,
    T::Err: Into<Error>,
{
    let v = s.parse::<T>().map_err(Into::into)?;
    serde_json::to_value(v).map_err(|e| Error::Usage(e.to_string()))
}

/// The implicit-feedback flags (what becomes an interaction, what is relevant, how the
/// test data is ranked), which every kind lists where it trains on implicit feedback.
/// The front sets `min_rating` in the params of an implicit model itself.
pub const IMPLICIT: &[Flag] = &[
    Flag::front("--implicit"),
    Flag::front("--min-rating"),
    Flag::front("--threshold"),
    Flag::front("--protocol"),
];

/// The ranking-loss flags: negatives per positive and how they are sampled.
pub const RANKING: &[Flag] = &[
    Flag::field("--negatives", "negatives"),
    Flag::parsed("--sampling", "sampling", parsed::<crate::models::Sampling>),
];

/// `--dim`: latent factors.
pub const DIM: Flag = Flag::field("--dim", "dim");
/// `--l2`.
pub const L2: Flag = Flag::field("--l2", "l2");
/// `--threads`.
pub const THREADS: Flag = Flag::field("--threads", "threads");

/// The schedule and optimizer flags of the kinds trained by the epoch loop (the shared
/// training fields, see `with_training_fields!`).
pub const SCHEDULE: &[Flag] = &[
    Flag::field("--epochs", "epochs"),
    Flag::field("--batch", "batch"),
    Flag::parsed(
        "--optimizer",
        "optimizer.kind",
        parsed::<crate::nn::OptimizerKind>,
    ),
    Flag::field("--lr", "lr"),
    Flag::field("--lr-decay", "lr_decay"),
    Flag::field("--momentum", "optimizer.momentum"),
    Flag::field("--nesterov", "optimizer.nesterov"),
];

/// Early stopping on a validation carve.
pub const STOPPING: &[Flag] = &[
    Flag::field("--patience", "patience"),
    Flag::field("--val-fraction", "val_fraction"),
];

/// The flags of the minibatch networks (mf, deep, neumf), with the kind's `--loss`;
/// without early stopping on implicit feedback (the ranking trainer has no validation
/// data to stop on).
pub fn network(loss: Flag, implicit: bool) -> Vec<Flag> {
    let mut v = vec![DIM];
    v.extend(SCHEDULE);
    v.extend([
        L2,
        Flag::field("--l2-bias", "l2_bias"),
        Flag::parsed("--l2-mode", "l2_mode", parsed::<crate::nn::L2Mode>),
        Flag::parsed("--init", "init", parsed::<crate::nn::Init>),
        loss,
    ]);
    if !implicit {
        v.extend(STOPPING);
    }
    v.push(THREADS);
    v
}

/// `2048,256` -> [2048, 256] (empty -> no layers): `--hidden` of the networks.
pub fn hidden_layers(s: &str) -> Result<Value> {
    let widths = s
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<usize>()
                .map_err(|_| Error::Usage(format!("--hidden: '{t}' is not a layer width")))
        })
        .collect::<Result<Vec<usize>>>()?;
    Ok(json!(widths))
}

/// A comma-separated list of names (empty items dropped).
pub fn names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// `--init normal:STD` of a kind whose `init` is the std of a normal draw, refused
/// with `who` (the kind as the message names it) for any other initialiser.
pub fn normal_std(s: &str, who: &str) -> Result<Value> {
    match s.parse()? {
        crate::nn::Init::Normal(std) => Ok(json!(std)),
        _ => Err(Error::Usage(format!("{who} takes --init normal:STD"))),
    }
}

/// `--loss` of a network on implicit feedback: a ranking loss; a rating loss is refused
/// naming the kind as `who`.
pub fn ranking_net_loss(s: &str, who: &str) -> Result<Value> {
    match s.parse()? {
        crate::models::ranking::NetLoss::Rating(l) => Err(Error::Usage(format!(
            "--implicit trains {who} with a ranking loss (bpr, warp, bce or softmax), not {l:?}"
        ))),
        loss => serde_json::to_value(loss).map_err(|e| Error::Usage(e.to_string())),
    }
}

/// The flags of fm (kept here rather than beside its `KIND`).
pub(crate) fn fm(implicit: bool) -> Option<Vec<Flag>> {
    (!implicit).then(|| {
        vec![
            DIM,
            Flag::field("--chains", "chains"),
            Flag::field("--sweeps", "sweeps"),
            Flag::field("--burn-in", "burn_in"),
            Flag::field("--keep", "keep"),
            Flag::parsed("--features", "features", fm_features),
            Flag::parsed("--solver", "solver", parsed::<crate::models::FmSolver>),
            Flag::parsed("--link", "link", parsed::<crate::models::fm::Link>),
            L2,
            THREADS,
        ]
    })
}

/// fm's `--features`: feature group names (every group has `--dim` factors).
fn fm_features(s: &str) -> Result<Value> {
    let groups = names(s);
    if let Some(t) = groups.iter().find(|t| t.contains(':')) {
        return Err(Error::Usage(format!(
            "--features: fm takes feature group names (every group has --dim factors), got \
             '{t}'"
        )));
    }
    Ok(json!(groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{REGISTRY, params_for};

    /// Every flag of every kind, in each mode the kind trains in, names a field its
    /// params have (a misspelt path would otherwise be dropped where a struct takes
    /// unknown keys), and no flag is declared twice.
    #[test]
    fn every_flag_lands_on_a_field() {
        for kind in REGISTRY {
            for implicit in [false, true] {
                let Some(flags) = (kind.flags)(implicit) else {
                    continue;
                };
                let params = params_for(kind.name, None, &json!({}), implicit)
                    .unwrap()
                    .to_json();
                for (n, flag) in flags.iter().enumerate() {
                    assert!(
                        !flags[..n].iter().any(|f| f.name == flag.name),
                        "{} declares {} twice",
                        kind.name,
                        flag.name
                    );
                    let path = match flag.target {
                        Target::Field(p) | Target::Parsed(p, _) => p,
                        Target::Front => continue,
                    };
                    let mut node = &params;
                    for key in path.split('.').filter(|k| !k.is_empty()) {
                        node = node.get(key).unwrap_or_else(|| {
                            panic!("{} {}: no field `{path}`", kind.name, flag.name)
                        });
                    }
                }
            }
        }
    }

    /// A keyword argument named as a flag lands where the flag does; other names, and
    /// values in the params' own form, are fields.
    #[test]
    fn named_params_go_where_the_flags_go_or_to_their_fields() {
        let mf = crate::models::kind("mf").unwrap();
        let over = fields_of_named(
            mf,
            false,
            &json!({"lr_decay": 0.5, "optimizer": "adam", "momentum": 0.8, "dim": 16, "seed": 3}),
        )
        .unwrap();
        assert_eq!(
            over,
            json!({"lr_decay": 0.5, "optimizer": {"kind": "adam", "momentum": 0.8}, "dim": 16, "seed": 3})
        );
        // The params' own form passes through: an object is a field's value.
        let whole = json!({"optimizer": {"kind": "sgd"}});
        assert_eq!(fields_of_named(mf, false, &whole).unwrap(), whole);
        let knn = crate::models::kind("knn").unwrap();
        assert_eq!(
            fields_of_named(knn, false, &json!({"neighbors": 30})).unwrap(),
            json!({"k": 30})
        );
        let deep = crate::models::kind("deep").unwrap();
        assert!(fields_of_named(deep, false, &json!({"hidden": "64,x"})).is_err());
    }

    /// A flag's value lands at its dotted path, objects merged key by key; a parsed
    /// flag with an empty path sets the fields of its object.
    #[test]
    fn apply_sets_nested_fields_and_keeps_their_neighbours() {
        let mut over = json!({ "optimizer": { "momentum": 0.5 }, "lr": 1 });
        SCHEDULE[2].apply(&json!("adam"), &mut over).unwrap();
        Flag::field("--lr", "lr")
            .apply(&json!(0.25), &mut over)
            .unwrap();
        Flag::parsed("--x", "", |_| Ok(json!({ "a": 1, "b": 2 })))
            .apply(&json!("x"), &mut over)
            .unwrap();
        assert_eq!(
            over,
            json!({ "optimizer": { "momentum": 0.5, "kind": "adam" }, "lr": 0.25, "a": 1, "b": 2 })
        );
        let e = SCHEDULE[2].apply(&json!("fast"), &mut over).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
