//! Flags to library params, one path for every kind: the flags given become a JSON object
//! of params fields (each kind declares its flags and their fields beside its registry
//! line, [`Kind::flags`]), laid with `--config` over the defaults or the preset by
//! [`params_for`]; validated before any data is read.

use super::*;
use crate::models::flags::{Flag, merge};
use crate::models::{Kind, params_for};
use serde_json::Value;

impl TrainArgs {
    /// The registry's line of the chosen kind.
    pub(super) fn kind(&self) -> Result<&'static Kind> {
        crate::models::kind(&self.model).map_err(Error::Usage)
    }

    /// The model's validated parameters (every flag is checked before data is read):
    /// the defaults or the preset < `--seed` < `--config` < the flags.
    pub(crate) fn params(&self) -> Result<KindParams> {
        let kind = self.kind()?;
        let implicit = self.is_implicit(kind);
        let accepted = self.refuse_foreign_flags(kind, implicit)?;
        // Validates the implicit-feedback flags of every kind (errors for rating models).
        let settings = self.implicit_settings(implicit)?;
        self.check_preset(kind, implicit)?;
        let preset = self.preset.as_deref();
        let mut over = json!({});
        let defaults = params_for(kind.name, preset, &over, implicit)?.to_json();
        if defaults.get("seed").is_some() {
            over["seed"] = json!(self.seed);
        }
        if let Some(path) = &self.config {
            let config = config_values(kind, implicit, path, &defaults, &over)?;
            merge(&mut over, config);
        }
        for (name, value) in self.given_flags() {
            if let (Some(value), Some(flag)) = (value, accepted.iter().find(|f| f.name == name)) {
                flag.apply(&value, &mut over)?;
            }
        }
        // The implicit conversion is part of what the model is trained on.
        if implicit {
            over["min_rating"] = json!(self.min_rating);
        }
        let params = params_for(kind.name, preset, &over, implicit)?;
        if !implicit {
            needs_carve(&params.to_json())?;
        }
        Ok(KindParams {
            params,
            implicit: settings,
        })
    }

    /// Whether the model is trained on implicit feedback: `--implicit`, a kind that
    /// trains on nothing else, or a ranking `--loss`.
    pub(super) fn is_implicit(&self, kind: &Kind) -> bool {
        let ranking_loss = self
            .hyper
            .loss
            .as_deref()
            .is_some_and(|l| l.parse::<RankLoss>().is_ok());
        self.implicit || !kind.trains_on_ratings() || ranking_loss
    }

    /// A `--preset` (or `--config`) the kind cannot take, as a usage error.
    fn check_preset(&self, kind: &Kind, implicit: bool) -> Result<()> {
        if kind.read.is_none() && (self.preset.is_some() || self.config.is_some()) {
            return Err(Error::Usage(format!(
                "{} has no presets and no hyper-parameters",
                kind.name
            )));
        }
        let Some(preset) = self.preset.as_deref() else {
            return Ok(());
        };
        // The presets of a kind that trains on both are rating models.
        let presets = if implicit && kind.trains_on_ratings() {
            &[][..]
        } else {
            kind.presets
        };
        if presets.is_empty() {
            return Err(Error::Usage(kind.no_preset.map_or_else(
                || format!("{} has no presets", kind.name),
                str::to_string,
            )));
        }
        if !presets.contains(&preset) {
            return Err(Error::Usage(format!(
                "unknown --preset '{preset}' for {}: expected {}",
                kind.name,
                presets.join(" or ")
            )));
        }
        Ok(())
    }
}

/// The keys of the TOML file `path`, as a JSON object, checked against the kind's
/// params laid over `defaults` with `over` (unknown keys and wrong types are errors
/// naming the file, and the key as TOML does).
fn config_values(
    kind: &Kind,
    implicit: bool,
    path: &std::path::Path,
    defaults: &Value,
    over: &Value,
) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| Error::bad_input(path, e.to_string()))?;
    let config = serde_json::to_value(table).map_err(|e| Error::bad_input(path, e.to_string()))?;
    let read = kind
        .read
        .expect("a kind without parameters refuses --config");
    let mut all = defaults.clone();
    merge(&mut all, over.clone());
    merge(&mut all, config.clone());
    if let Err(e) = read(all, implicit) {
        let mut message = format!("{}\n", e.error);
        if !e.keys.is_empty() {
            message += &format!("in `{}`\n", e.keys.join("."));
        }
        return Err(Error::bad_input(path, message));
    }
    Ok(config)
}

impl TrainArgs {
    /// The implicit-feedback settings (`None` for a rating model), validated.
    pub(super) fn implicit_settings(&self, implicit: bool) -> Result<Option<Implicit>> {
        if !implicit {
            if self.min_rating.is_some() || self.threshold.is_some() || self.protocol.is_some() {
                return Err(Error::Usage(
                    "--min-rating, --threshold and --protocol need --implicit".into(),
                ));
            }
            return Ok(None);
        }
        if let Some(r) = self.min_rating
            && !r.is_finite()
        {
            return Err(Error::Usage(format!(
                "--min-rating must be a number, got {r}"
            )));
        }
        let threshold =
            match self.threshold.as_deref() {
                Some("none") => None,
                Some(t) => Some(t.parse::<f32>().ok().filter(|t| t.is_finite()).ok_or_else(
                    || {
                        Error::Usage(format!(
                            "--threshold: expected a number or 'none', got '{t}'"
                        ))
                    },
                )?),
                None if self.data.reader.has_no_rating_column() => None,
                None => Some(DEFAULT_THRESHOLD),
            };
        Ok(Some(Implicit {
            min_rating: self.min_rating,
            threshold,
            protocol: self.protocol.unwrap_or(Protocol::Full),
        }))
    }

    /// The flags the kind takes in this mode ([`Kind::flags`]); a given hyper-parameter
    /// flag that is not among them is a usage error naming the flag and the kind.
    fn refuse_foreign_flags(&self, kind: &Kind, implicit: bool) -> Result<Vec<Flag>> {
        let accepted = (kind.flags)(implicit)
            .or_else(|| (kind.flags)(!implicit))
            .unwrap_or_default();
        let what = match (
            kind.trains_on_ratings() && kind.trains_on_implicit(),
            implicit,
        ) {
            (true, true) => format!("{} on implicit feedback", kind.name),
            (true, false) => format!("{} on ratings", kind.name),
            _ => kind.name.to_string(),
        };
        let given = self.given_flags();
        if let Some((flag, _)) = given
            .iter()
            .find(|(flag, value)| value.is_some() && !accepted.iter().any(|f| f.name == *flag))
        {
            let names: Vec<&str> = accepted.iter().map(|f| f.name).collect();
            return Err(Error::Usage(format!(
                "{flag} does not apply to {what} (it takes: {})",
                names.join(" ")
            )));
        }
        Ok(accepted)
    }
}

/// The command line's validation data is the params' carve: early stopping needs one.
fn needs_carve(params: &Value) -> Result<()> {
    let patience = params.get("patience").and_then(Value::as_u64).unwrap_or(0);
    let carve = params.get("val_fraction").and_then(Value::as_f64);
    if patience > 0 && carve == Some(0.0) {
        return Err(Error::Usage(
            "early stopping (--patience > 0) needs a validation carve (--val-fraction > 0)".into(),
        ));
    }
    Ok(())
}

/// A model's validated params, with how its feedback is read.
pub(crate) struct KindParams {
    /// The params, as the library trains them.
    pub params: Box<dyn Fit>,
    /// The implicit-feedback settings of an implicit model (`None` for rating models).
    pub implicit: Option<Implicit>,
}

/// How ratings become implicit feedback, and how test items become relevant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Implicit {
    /// Interactions are the training ratings >= this (`None`: all); also set in the
    /// model's params, which the library honours.
    pub min_rating: Option<f32>,
    /// Relevant test items: rating >= this (`None`: all).
    pub threshold: Option<f32>,
    /// How the final model's test data is ranked (the per-epoch history is protocol A).
    pub protocol: Protocol,
}

impl Default for Implicit {
    fn default() -> Self {
        Implicit {
            min_rating: None,
            threshold: Some(DEFAULT_THRESHOLD),
            protocol: Protocol::Full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        train: TrainArgs,
    }

    /// `train` with `extra` (data files that are never read).
    fn args(extra: &[&str]) -> TrainArgs {
        let mut all = vec!["train", "--train", "no-such.base", "--test", "no-such.test"];
        all.extend_from_slice(extra);
        Line::try_parse_from(all).unwrap().train
    }

    /// The `constant` kind (registered for tests only) has no line of command-line code:
    /// `--model` offers it, its params come through the registry, and a flag it does not
    /// declare is refused naming it.
    #[test]
    fn a_registered_kind_is_on_the_command_line_without_code_there() {
        let p = args(&["--model", "constant"]).params().unwrap();
        assert_eq!(p.params.kind(), "constant");
        assert_eq!(p.params.to_json(), json!({ "value": 3.5 }));
        assert!(p.implicit.is_none());
        let e = args(&["--model", "constant", "--dim", "3"])
            .params()
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "--dim does not apply to constant (it takes: )"
        );
        assert_eq!(e.exit_code(), 2);
    }

    /// The preset < `--seed` < `--config` < the flags, nested fields merged key by key.
    #[test]
    fn flags_lie_over_the_config_which_lies_over_the_preset() {
        let dir = std::env::temp_dir().join(format!("embedrec-cli-params-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("mf.toml");
        std::fs::write(
            &config,
            "lr = 0.02\nepochs = 3\nseed = 7\n[optimizer]\nmomentum = 0.5\n",
        )
        .unwrap();
        let config = config.to_str().unwrap();
        let p = args(&[
            "--model",
            "mf",
            "--preset",
            "book-mf",
            "--config",
            config,
            "--seed",
            "9",
            "--lr",
            "0.03",
            "--optimizer",
            "adam",
        ])
        .params()
        .unwrap()
        .params
        .to_json();
        let book = crate::models::MfParams::book_mf();
        assert_eq!(p["lr"], json!(0.03f32));
        assert_eq!(p["epochs"], json!(3));
        assert_eq!(p["seed"], json!(7), "the config's seed wins over --seed");
        assert_eq!(p["optimizer"]["kind"], json!("adam"));
        assert_eq!(p["optimizer"]["momentum"], json!(0.5f32));
        assert_eq!(p["l2"], json!(book.l2), "the preset's value stays");
        // Without the config, --seed is the seed.
        let p = args(&["--model", "mf", "--seed", "9"]).params().unwrap();
        assert_eq!(p.params.to_json()["seed"], json!(9));
        // A bad value in the config names the file and the key.
        std::fs::write(dir.join("bad.toml"), "[optimizer]\nkind = \"fast\"\n").unwrap();
        let bad = dir.join("bad.toml");
        let e = args(&["--model", "mf", "--config", bad.to_str().unwrap()])
            .params()
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("bad.toml") && e.contains("in `optimizer.kind`"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Implicit feedback: the kind's implicit flags, `--min-rating` into the params.
    #[test]
    fn implicit_flags_reach_the_implicit_params() {
        let p = args(&[
            "--model",
            "ials",
            "--epochs",
            "4",
            "--init",
            "normal:0.2",
            "--min-rating",
            "4",
        ])
        .params()
        .unwrap();
        let v = p.params.to_json();
        assert_eq!(v["iterations"], json!(4));
        assert_eq!(v["init"], json!(0.2f32));
        assert_eq!(v["min_rating"], json!(4.0f32));
        assert_eq!(p.implicit.unwrap().min_rating, Some(4.0));
        let v = args(&["--model", "mf", "--loss", "bpr", "--negatives", "3"])
            .params()
            .unwrap()
            .params
            .to_json();
        assert_eq!(
            (v["loss"].clone(), v["negatives"].clone()),
            (json!("bpr"), json!(3))
        );
    }
}
