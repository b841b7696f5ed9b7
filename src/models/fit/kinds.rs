//! [`Fit`] for each kind's params: which orchestration (epochs and early stopping,
//! ranking sweeps, a closed form) trains it.

use super::*;

impl Fit for BaselineParams {
    fn kind(&self) -> &'static str {
        "baseline"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        BaselineParams::check(self)
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        no_validation("baseline", options)?;
        let clip = Some(set.scale);
        let mut history = Vec::new();
        let mut train_seconds = 0.0;
        let mut last = Instant::now();
        let model = self.train(set.ratings, set.n_users, set.n_items, |epoch, m| {
            let seconds = last.elapsed().as_secs_f64();
            train_seconds += seconds;
            let stats = EpochStats {
                epoch,
                epochs: self.epochs,
                seconds,
                train_rmse: Some(rating_metrics(m, set.ratings, clip).rmse),
                val_rmse: None,
                watch_rmse: options.watch.map(|w| rating_metrics(m, w, clip).rmse),
                watch_ndcg: None,
                watch_hr: None,
            };
            if let Some(f) = options.on_epoch {
                f(&stats, m)?;
            }
            history.push(stats);
            last = Instant::now();
            Ok(())
        })?;
        Ok(Fitted {
            model: model.into(),
            params: json!(self),
            feedback: Feedback::Ratings,
            clip: true,
            history,
            train_seconds,
        })
    }
}

impl Fit for KnnParams {
    fn kind(&self) -> &'static str {
        "knn"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        KnnParams::check(self)
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        no_validation("knn", options)?;
        closed_form(json!(self), Feedback::Ratings, true, || {
            self.train(set.ratings, set.n_users, set.n_items)
        })
    }
}

impl Fit for MfParams {
    fn kind(&self) -> &'static str {
        "mf"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        MfParams::check(self)
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        let p = MfParams {
            threads: options.threads.unwrap_or(self.threads),
            ..self.clone()
        };
        p.check()?;
        let setup = (json!(p), p.val_fraction, p.seed, p.clip, p.epochs);
        network(set, options, setup, |sets, on_epoch| {
            p.train(sets, set.n_users, set.n_items, on_epoch)
        })
    }
}

impl Fit for AutoRecParams {
    fn kind(&self) -> &'static str {
        "autorec"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        AutoRecParams::check(self)
    }
    /// Early stopping by default: `val_fraction` of the training ratings carved (or the
    /// given validation data), with `input: auto` both encoder inputs trained on it and
    /// the better kept, then (`refit`, on a carve) the winner trained again on all the
    /// training ratings for its best epoch count. `patience` 0, or no validation
    /// (`Validation::None`), trains all `epochs` on all the ratings. An unset `l2` is
    /// resolved from all the training ratings first, so the carve's runs and the refit
    /// share it. The params recorded are the ones the returned model was trained with.
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        Fit::check(self)?;
        let mut p = AutoRecParams {
            l2: Some(self.l2_for(set.ratings)),
            ..self.clone()
        };
        let carve = match options.validation {
            RowValidation::Params => p.val_fraction,
            RowValidation::Carve(f) => f,
            RowValidation::Ratings(_) => 1.0,
            RowValidation::None => 0.0,
        };
        let once = |p: &AutoRecParams, options: &RowOptions<'_>| {
            let setup = (json!(p), p.val_fraction, p.seed, p.clip, p.epochs);
            network(set, options, setup, |sets, on_epoch| {
                p.train(sets, set.n_users, set.n_items, on_epoch)
            })
        };
        if p.patience == 0 || carve == 0.0 {
            p.patience = 0;
            p.val_fraction = 0.0;
            if p.input == AutoRecInput::Auto {
                p.input = AutoRecInput::Ratings;
            }
            let options = match options.validation {
                RowValidation::Ratings(_) => *options,
                _ => RowOptions {
                    validation: RowValidation::None,
                    ..*options
                },
            };
            return once(&p, &options);
        }
        let inputs = match p.input {
            AutoRecInput::Auto if p.residual => {
                vec![AutoRecInput::Ratings, AutoRecInput::Residuals]
            }
            AutoRecInput::Auto => vec![AutoRecInput::Ratings],
            given => vec![given],
        };
        let mut best: Option<(f64, usize, AutoRecParams, Fitted)> = None;
        for input in inputs {
            let q = AutoRecParams { input, ..p.clone() };
            let fitted = once(&q, options)?;
            let (epoch, val) = fitted
                .history
                .iter()
                .filter_map(|e| e.val_rmse.map(|v| (e.epoch, v)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .ok_or_else(|| Error::Usage("autorec: the validation data is empty".into()))?;
            if best.as_ref().is_none_or(|b| val < b.0) {
                best = Some((val, epoch, q, fitted));
            }
        }
        let (_, epoch, q, fitted) = best.expect("at least one input");
        if !p.refit || matches!(options.validation, RowValidation::Ratings(_)) {
            return Ok(fitted);
        }
        let again = AutoRecParams {
            epochs: epoch,
            patience: 0,
            val_fraction: 0.0,
            ..q
        };
        let mut refitted = once(
            &again,
            &RowOptions {
                validation: RowValidation::None,
                ..*options
            },
        )?;
        refitted.train_seconds += fitted.train_seconds;
        Ok(refitted)
    }
}

impl Fit for NeuMfParams {
    fn kind(&self) -> &'static str {
        "neumf"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        NeuMfParams::check(self)?;
        check_min_rating("neumf", self.min_rating, self.loss.ranking().is_some())
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        let p = NeuMfParams {
            threads: options.threads.unwrap_or(self.threads),
            ..self.clone()
        };
        Fit::check(&p)?;
        if p.loss.ranking().is_some() {
            no_validation("neumf with a ranking loss", options)?;
            let rows = (set.n_users, set.n_items);
            return ranked(set, options, (json!(p), p.min_rating, p.epochs), |r, on| {
                p.train_ranking(r, rows, |e, m| on(e, m))
            });
        }
        let setup = (json!(p), p.val_fraction, p.seed, p.clip, p.epochs);
        network(set, options, setup, |sets, on_epoch| {
            p.train(sets, set.n_users, set.n_items, on_epoch)
        })
    }
}

impl Fit for DeepParams {
    fn kind(&self) -> &'static str {
        "deep"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        DeepParams::check(self)?;
        check_min_rating("deep", self.min_rating, self.loss.ranking().is_some())
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        let p = DeepParams {
            threads: options.threads.unwrap_or(self.threads),
            ..self.clone()
        };
        Fit::check(&p)?;
        let sides = crate::models::deep::side_inputs_of(&p.features, set)?;
        if p.loss.ranking().is_some() {
            no_validation("deep with a ranking loss", options)?;
            let rows = (set.n_users, set.n_items);
            return ranked(set, options, (json!(p), p.min_rating, p.epochs), |r, on| {
                p.train_ranking(r, rows, sides, |e, m| on(e, m))
            });
        }
        let setup = (json!(p), p.val_fraction, p.seed, p.clip, p.epochs);
        network(set, options, setup, |sets, on_epoch| {
            p.train(sets, set.n_users, set.n_items, sides, on_epoch)
        })
    }
}

impl Fit for MfRankParams {
    fn kind(&self) -> &'static str {
        "mf"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        MfRankParams::check(self)?;
        check_min_rating("mf", self.min_rating, true)
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        no_validation("mf with a ranking loss", options)?;
        Fit::check(self)?;
        let (users, items) = (set.n_users, set.n_items);
        ranked(
            set,
            options,
            (json!(self), self.min_rating, self.epochs),
            |r, on| self.train(r, users, items, |e, m| on(e, m)),
        )
    }
}

impl Fit for IalsParams {
    fn kind(&self) -> &'static str {
        "ials"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        IalsParams::check(self)?;
        check_min_rating("ials", self.min_rating, true)
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        no_validation("ials", options)?;
        let p = IalsParams {
            threads: options.threads.unwrap_or(self.threads),
            ..self.clone()
        };
        Fit::check(&p)?;
        let (users, items) = (set.n_users, set.n_items);
        ranked(
            set,
            options,
            (json!(p), p.min_rating, p.iterations),
            |r, on| p.train(r, users, items, |e, m| on(e, m)),
        )
    }
}

impl Fit for EaseParams {
    fn kind(&self) -> &'static str {
        "ease"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        EaseParams::check(self)?;
        check_min_rating("ease", self.min_rating, true)
    }
    fn needs_times(&self) -> bool {
        self.uses_recency()
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        no_validation("ease", options)?;
        let p = EaseParams {
            threads: options.threads.unwrap_or(self.threads),
            ..self.clone()
        };
        Fit::check(&p)?;
        let data = interactions(set.ratings, p.min_rating)?;
        closed_form(json!(p), Feedback::Preferences, false, || {
            p.train(&data, set.n_users, set.n_items)
        })
    }
}

/// Params of the popularity model: none but the implicit conversion.
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `min_rating` | none | interactions are the training ratings >= this (none: all) | a number |
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopularityParams {
    /// Interactions are the training ratings at or above this (`None`: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_rating: Option<f32>,
}

impl Fit for PopularityParams {
    fn kind(&self) -> &'static str {
        "popularity"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        check_min_rating("popularity", self.min_rating, true)
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        no_validation("popularity", options)?;
        Fit::check(self)?;
        let data = interactions(set.ratings, self.min_rating)?;
        closed_form(json!(self), Feedback::Preferences, false, || {
            Ok(Popularity::train(&data, set.n_users, set.n_items))
        })
    }
}
