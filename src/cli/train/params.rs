//! Flags to library params: a preset, a `--config` file and the flags laid over a kind's
//! defaults, validated before any data is read.

use super::*;

/// `base` overlaid with the keys of a TOML file (unknown keys are errors).
pub(super) fn overlay_config<T: serde::Serialize + serde::de::DeserializeOwned>(
    base: T,
    path: &std::path::Path,
) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let overlay: toml::Table =
        toml::from_str(&text).map_err(|e| Error::bad_input(path, e.to_string()))?;
    let mut merged =
        toml::Table::try_from(&base).map_err(|e| Error::bad_input(path, e.to_string()))?;
    merge_tables(&mut merged, overlay);
    merged
        .try_into()
        .map_err(|e: toml::de::Error| Error::bad_input(path, e.to_string()))
}

pub(super) fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `set!(params, flags, field)`: copies a flag that was given into the params;
/// `set!(params, flags, field, parse)` parses a text flag first.
macro_rules! set {
    ($p:ident, $h:ident, $field:ident) => {
        if let Some(v) = $h.$field.clone() {
            $p.$field = v;
        }
    };
    ($p:ident, $h:ident, $field:ident, parse) => {
        if let Some(v) = &$h.$field {
            $p.$field = v.parse()?;
        }
    };
}

/// `set_training!(params, flags)`: the flags of the shared training fields (see
/// `models::with_training_fields!`) that were given, copied into the params:
/// `--epochs --batch --lr --lr-decay --patience --val-fraction` and the optimizer flags.
macro_rules! set_training {
    ($p:ident, $h:ident) => {
        set!($p, $h, epochs);
        set!($p, $h, batch);
        set!($p, $h, lr);
        set!($p, $h, lr_decay);
        set!($p, $h, patience);
        set!($p, $h, val_fraction);
        $h.apply_optimizer(&mut $p.optimizer)?;
    };
}

impl HyperArgs {
    /// The optimizer flags (`--optimizer --momentum --nesterov`) applied to `o`.
    pub(super) fn apply_optimizer(&self, o: &mut crate::nn::Optimizer) -> Result<()> {
        if let Some(kind) = &self.optimizer {
            o.kind = kind.parse()?;
        }
        if let Some(m) = self.momentum {
            o.momentum = m;
        }
        if self.nesterov {
            o.nesterov = true;
        }
        Ok(())
    }
}

impl TrainArgs {
    /// `base` overlaid with `--config`, for a model `kind` that has no presets (a given
    /// `--preset` is a usage error).
    pub(super) fn without_preset<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        base: T,
    ) -> Result<T> {
        if self.preset.is_some() {
            return Err(Error::Usage(format!("{kind} has no presets")));
        }
        match &self.config {
            Some(path) => overlay_config(base, path),
            None => Ok(base),
        }
    }

    pub(super) fn mf_params(&self) -> Result<MfParams> {
        let mut p = match self.preset.as_deref() {
            None => MfParams::default(),
            Some("book-mf") => MfParams::book_mf(),
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unknown --preset '{other}' for mf: expected book-mf"
                )));
            }
        };
        p.seed = self.seed;
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, threads);
        set!(p, h, l2_mode, parse);
        set!(p, h, init, parse);
        set!(p, h, loss, parse);
        set_training!(p, h);
        p.check()?;
        Ok(p)
    }

    pub(super) fn deep_params(&self) -> Result<DeepParams> {
        let implicit = self.is_implicit();
        let mut p = match self.preset.as_deref() {
            None if implicit => DeepParams::implicit(),
            None => DeepParams::default(),
            Some(_) if implicit => {
                return Err(Error::Usage(
                    "the deep presets are rating models; --implicit takes no --preset".into(),
                ));
            }
            Some("book-dl") => DeepParams::book_dl(),
            Some("book-dl-occ") => DeepParams::book_dl_occ(),
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unknown --preset '{other}' for deep: expected book-dl or book-dl-occ"
                )));
            }
        };
        p.seed = self.seed;
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, l2_dense);
        set!(p, h, dropout);
        set!(p, h, product);
        set!(p, h, bias_shortcut);
        set!(p, h, dot_dim);
        set!(p, h, l2_dot);
        if let Some(v) = h.l2_side {
            p.l2_side = Some(v);
        }
        set!(p, h, table_lr);
        set!(p, h, pretrain, parse);
        set!(p, h, threads);
        set!(p, h, l2_mode, parse);
        set!(p, h, init, parse);
        set!(p, h, loss, parse);
        set!(p, h, activation, parse);
        if let Some(v) = &h.hidden {
            p.hidden = parse_hidden(v)?;
        }
        if let Some(v) = &h.features {
            p.features = parse_features(v)?;
        }
        set_training!(p, h);
        (p.negatives, p.sampling) = self.ranking_settings(p.loss, p.negatives, p.sampling)?;
        p.check()?;
        Ok(p)
    }

    /// `--negatives` and `--sampling` over a network's (`negatives`, `sampling`), checked
    /// against the model's mode: a ranking loss exactly when the model is implicit.
    pub(super) fn ranking_settings(
        &self,
        loss: NetLoss,
        negatives: usize,
        sampling: Sampling,
    ) -> Result<(usize, Sampling)> {
        match (self.is_implicit(), loss) {
            (true, NetLoss::Rating(l)) => {
                return Err(Error::Usage(format!(
                    "--implicit trains {:?} with a ranking loss (bpr, warp, bce or softmax), \
                     not {l:?}",
                    self.model
                )));
            }
            (false, _) if self.negatives.is_some() || self.sampling.is_some() => {
                return Err(Error::Usage(
                    "--negatives and --sampling need a ranking loss (--implicit)".into(),
                ));
            }
            _ => {}
        }
        let sampling = match &self.sampling {
            Some(s) => s.parse()?,
            None => sampling,
        };
        Ok((self.negatives.unwrap_or(negatives), sampling))
    }

    pub(super) fn neumf_params(&self) -> Result<NeuMfParams> {
        let base = if self.is_implicit() {
            NeuMfParams::implicit()
        } else {
            NeuMfParams::default()
        };
        let mut p = self.without_preset(
            "neumf",
            NeuMfParams {
                seed: self.seed,
                ..base
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, mlp_dim);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, l2_dense);
        set!(p, h, threads);
        set!(p, h, l2_mode, parse);
        set!(p, h, init, parse);
        set!(p, h, loss, parse);
        set!(p, h, activation, parse);
        if let Some(v) = &h.hidden {
            p.hidden = parse_hidden(v)?;
        }
        set_training!(p, h);
        (p.negatives, p.sampling) = self.ranking_settings(p.loss, p.negatives, p.sampling)?;
        p.check()?;
        Ok(p)
    }

    pub(super) fn baseline_params(&self) -> Result<BaselineParams> {
        let mut p = self.without_preset("the baseline", BaselineParams::default())?;
        if let Some(e) = self.hyper.epochs {
            p.epochs = e;
        }
        if let Some(r) = self.reg_user {
            p.reg_user = r;
        }
        if let Some(r) = self.reg_item {
            p.reg_item = r;
        }
        p.check()?;
        Ok(p)
    }

    pub(super) fn ials_params(&self) -> Result<IalsParams> {
        let mut p = self.without_preset(
            "ials",
            IalsParams {
                seed: self.seed,
                ..IalsParams::default()
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        if let Some(e) = h.epochs {
            p.iterations = e;
        }
        set!(p, h, l2);
        set!(p, h, threads);
        if let Some(init) = &h.init {
            match init.parse()? {
                crate::nn::Init::Normal(std) => p.init = std,
                _ => return Err(Error::Usage("ials takes --init normal:STD".into())),
            }
        }
        if let Some(a) = self.alpha {
            p.alpha = a;
        }
        if let Some(c) = &self.confidence {
            p.confidence = c.parse()?;
        }
        if let Some(c) = self.cg_steps {
            p.cg_steps = c;
        }
        if let Some(e) = self.l2_exponent {
            p.l2_exponent = e;
        }
        p.check()?;
        Ok(p)
    }

    pub(super) fn ease_params(&self) -> Result<EaseParams> {
        let mut p = match self.preset.as_deref() {
            None => EaseParams::default(),
            Some("next-item") => EaseParams::next_item(),
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unknown --preset '{other}' for ease: expected next-item"
                )));
            }
        };
        if let Some(path) = &self.config {
            p = overlay_config(p, path)?;
        }
        let h = &self.hyper;
        set!(p, h, l2);
        set!(p, h, threads);
        if let Some(r) = &self.recency {
            (p.recency_beta, p.recency_tau) = parse_recency(r)?;
        }
        p.check()?;
        Ok(p)
    }

    /// Whether the model is trained on implicit feedback.
    pub(super) fn is_implicit(&self) -> bool {
        let ranking_loss = self
            .hyper
            .loss
            .as_deref()
            .is_some_and(|l| l.parse::<RankLoss>().is_ok());
        self.implicit
            || matches!(
                self.model,
                ModelKind::Ials | ModelKind::Popularity | ModelKind::Ease
            )
            || ranking_loss
    }

    pub(super) fn mf_rank_params(&self) -> Result<MfRankParams> {
        let mut p = self.without_preset(
            "mf on implicit feedback",
            MfRankParams {
                seed: self.seed,
                ..MfRankParams::default()
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        set!(p, h, epochs);
        set!(p, h, lr);
        set!(p, h, lr_decay);
        set!(p, h, l2);
        set!(p, h, l2_bias);
        set!(p, h, optimizer, parse);
        if let Some(l) = &h.loss {
            p.loss = l.parse()?;
        }
        if let Some(init) = &h.init {
            match init.parse()? {
                crate::nn::Init::Normal(std) => p.init = std,
                _ => {
                    return Err(Error::Usage(
                        "mf on implicit feedback takes --init normal:STD".into(),
                    ));
                }
            }
        }
        if let Some(n) = self.negatives {
            p.negatives = n;
        }
        if let Some(s) = &self.sampling {
            p.sampling = s.parse()?;
        }
        p.check()?;
        Ok(p)
    }

    /// The implicit-feedback settings (`None` for a rating model), validated.
    pub(super) fn implicit_settings(&self) -> Result<Option<Implicit>> {
        if !self.is_implicit() {
            if self.min_rating.is_some() || self.threshold.is_some() || self.protocol.is_some() {
                return Err(Error::Usage(
                    "--min-rating, --threshold and --protocol need --implicit".into(),
                ));
            }
            return Ok(None);
        }
        if !matches!(
            self.model,
            ModelKind::Mf
                | ModelKind::Ials
                | ModelKind::Popularity
                | ModelKind::Ease
                | ModelKind::Deep
                | ModelKind::Neumf
        ) {
            return Err(Error::Usage(format!(
                "--implicit is supported for --model ials, ease, popularity, mf, deep and \
                 neumf, not {:?}",
                self.model
            )));
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
                None => Some(crate::eval::ranking::DEFAULT_THRESHOLD),
            };
        Ok(Some(Implicit {
            min_rating: self.min_rating,
            threshold,
            protocol: self.protocol.unwrap_or(Protocol::Full),
        }))
    }

    pub(super) fn knn_params(&self) -> Result<KnnParams> {
        let mut p = self.without_preset("knn", KnnParams::default())?;
        if let Some(k) = self.neighbors {
            p.k = k;
        }
        if let Some(s) = self.shrinkage {
            p.shrinkage = s;
        }
        if let Some(e) = self.hyper.epochs {
            p.baseline.epochs = e;
        }
        if let Some(r) = self.reg_user {
            p.baseline.reg_user = r;
        }
        if let Some(r) = self.reg_item {
            p.baseline.reg_item = r;
        }
        p.check()?;
        Ok(p)
    }
}

impl TrainArgs {
    pub(super) fn autorec_params(&self) -> Result<AutoRecParams> {
        let mut p = self.without_preset(
            "autorec",
            AutoRecParams {
                seed: self.seed,
                ..Default::default()
            },
        )?;
        let h = &self.hyper;
        if let Some(l2) = h.l2 {
            p.l2 = Some(l2);
        }
        if let Some(v) = &h.hidden {
            p.hidden = v.trim().parse().map_err(|_| {
                Error::Usage(format!("--hidden: autorec takes one code size, got '{v}'"))
            })?;
        }
        set_training!(p, h);
        p.check()?;
        Ok(p)
    }

    pub(super) fn fm_params(&self) -> Result<FmParams> {
        let mut p = self.without_preset(
            "fm",
            FmParams {
                seed: self.seed,
                ..Default::default()
            },
        )?;
        let h = &self.hyper;
        set!(p, h, dim);
        if let Some(v) = self.sweeps {
            p.sweeps = v;
        }
        if let Some(v) = self.burn_in {
            p.burn_in = v;
        }
        if let Some(v) = self.keep {
            p.keep = v;
        }
        if let Some(v) = &self.solver {
            p.solver = v.parse()?;
        }
        if let Some(v) = &self.link {
            p.link = v.parse()?;
        }
        set!(p, h, l2);
        set!(p, h, threads);
        if let Some(f) = &h.features {
            p.features = f
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| {
                    if t.contains(':') {
                        Err(Error::Usage(format!(
                            "--features: fm takes feature group names (every group has --dim \
                             factors), got '{t}'"
                        )))
                    } else {
                        Ok(t.to_string())
                    }
                })
                .collect::<Result<_>>()?;
        }
        p.check()?;
        Ok(p)
    }

    pub(super) fn blend_params(&self) -> Result<BlendParams> {
        let mut p = self.without_preset(
            "blend",
            BlendParams {
                seed: self.seed,
                ..Default::default()
            },
        )?;
        if let Some(m) = &self.members {
            p.members = m
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(r) = self.ridge {
            p.ridge = r;
        }
        if let Some(v) = self.hyper.val_fraction {
            p.val_fraction = v;
        }
        p.check()?;
        Ok(p)
    }
}

impl TrainArgs {
    /// The model's validated parameters (every flag is checked before data is read).
    pub(crate) fn params(&self) -> Result<KindParams> {
        self.refuse_foreign_flags()?;
        // Validates the implicit-feedback flags of every kind (errors for rating models).
        let implicit = self.implicit_settings()?;
        // The implicit conversion is part of what the model is trained on.
        let min = self.min_rating;
        let params: Box<dyn Fit> = match self.model {
            ModelKind::Baseline => Box::new(self.baseline_params()?),
            ModelKind::Mf if self.is_implicit() => Box::new(MfRankParams {
                min_rating: min,
                ..self.mf_rank_params()?
            }),
            ModelKind::Mf => {
                if self.negatives.is_some() || self.sampling.is_some() {
                    return Err(Error::Usage(
                        "--negatives and --sampling need a ranking loss (--implicit)".into(),
                    ));
                }
                let p = self.mf_params()?;
                needs_carve(p.patience, p.val_fraction)?;
                Box::new(p)
            }
            ModelKind::Deep if self.is_implicit() => Box::new(DeepParams {
                min_rating: min,
                ..self.deep_params()?
            }),
            ModelKind::Deep => {
                let p = self.deep_params()?;
                needs_carve(p.patience, p.val_fraction)?;
                Box::new(p)
            }
            ModelKind::Neumf if self.is_implicit() => Box::new(NeuMfParams {
                min_rating: min,
                ..self.neumf_params()?
            }),
            ModelKind::Neumf => {
                let p = self.neumf_params()?;
                needs_carve(p.patience, p.val_fraction)?;
                Box::new(p)
            }
            ModelKind::Knn => Box::new(self.knn_params()?),
            ModelKind::Autorec => {
                let p = self.autorec_params()?;
                needs_carve(p.patience, p.val_fraction)?;
                Box::new(p)
            }
            ModelKind::Blend => Box::new(self.blend_params()?),
            ModelKind::Fm => Box::new(self.fm_params()?),
            ModelKind::Ials => Box::new(IalsParams {
                min_rating: min,
                ..self.ials_params()?
            }),
            ModelKind::Ease => Box::new(EaseParams {
                min_rating: min,
                ..self.ease_params()?
            }),
            ModelKind::Popularity => {
                if self.preset.is_some() || self.config.is_some() {
                    return Err(Error::Usage(
                        "popularity has no presets and no hyper-parameters".into(),
                    ));
                }
                Box::new(PopularityParams { min_rating: min })
            }
        };
        Ok(KindParams { params, implicit })
    }
}

/// The command line's validation data is the params' carve: early stopping needs one.
fn needs_carve(patience: usize, carve: f64) -> Result<()> {
    if patience > 0 && carve == 0.0 {
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
