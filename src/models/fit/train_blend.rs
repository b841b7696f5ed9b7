//! Blend training: the members on a carve, ridge weights on the carve's held-out part,
//! then every member refitted on all the training ratings.

use super::*;

/// A blend member's params: its kind's defaults, with the blend's seed (the registry's
/// `member`).
pub(super) fn member_params(p: &BlendParams) -> Result<Vec<Box<dyn Fit>>> {
    p.members
        .iter()
        .map(|kind| match crate::models::kind(kind).map(|k| k.member) {
            Ok(Some(member)) => Ok(member(p.seed)),
            _ => Err(Error::Usage(format!(
                "blend member `{kind}` cannot be trained by a blend"
            ))),
        })
        .collect()
}

pub(super) fn rmse(predictions: &[f32], values: &[f32]) -> f64 {
    let se: f64 = predictions
        .iter()
        .zip(values)
        .map(|(p, v)| ((p - v) as f64).powi(2))
        .sum();
    (se / values.len().max(1) as f64).sqrt()
}

impl Fit for BlendParams {
    fn kind(&self) -> &'static str {
        "blend"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        BlendParams::check(self)
    }

    /// Trains the members on the training data less a validation carve (or on all of it
    /// when validation data is given), the weights on the members' predictions of the
    /// validation data, then (with `refit`) the members again on all the training data.
    fn fit_rows(&self, set: &TrainingSet<'_>, options: &RowOptions<'_>) -> Result<Fitted> {
        let p = self;
        Fit::check(p)?;
        let started = Instant::now();
        let members = member_params(p)?;
        let member_options = RowOptions {
            threads: options.threads,
            validation: RowValidation::Params,
            watch: None,
            threshold: options.threshold,
            on_epoch: None,
        };
        let carve = match options.validation {
            RowValidation::Params => p.val_fraction,
            RowValidation::Carve(f) => f,
            RowValidation::Ratings(_) => 0.0,
            RowValidation::None => {
                return Err(Error::Usage(
                    "a blend fits its weights on validation data: it cannot train without".into(),
                ));
            }
        };
        let (fit_idx, val_idx) = if carve > 0.0 {
            validation_split(set.ratings, carve, p.seed)
        } else {
            ((0..set.ratings.len()).collect(), Vec::new())
        };
        let (fit_ratings, carved);
        let (first_set, val) = match options.validation {
            RowValidation::Ratings(v) => (*set, v),
            _ => {
                if val_idx.is_empty() || fit_idx.is_empty() {
                    return Err(Error::Usage(
                        "blend: too few training ratings to carve a validation set".into(),
                    ));
                }
                fit_ratings = set.ratings.select(&fit_idx);
                carved = set.ratings.select(&val_idx);
                (set.with_ratings(&fit_ratings), &carved)
            }
        };
        if val.is_empty() {
            return Err(Error::Usage("blend: the validation data is empty".into()));
        }
        let scale = set.scale;
        let mut columns = Vec::new();
        let mut first_models = Vec::new();
        let mut member_json = Vec::new();
        let mut member_rmse = Vec::new();
        let mut preds = Vec::new();
        for m in &members {
            let fitted = m.fit_rows(&first_set, &member_options)?;
            fitted
                .model
                .predict_many_at(&val.users, &val.items, val.times.as_deref(), &mut preds);
            let column: Vec<f32> = preds.iter().map(|x| scale.clip(x.value)).collect();
            member_rmse.push(rmse(&column, &val.values));
            columns.push(column);
            member_json.push(fitted.params);
            first_models.push(fitted.model);
        }
        let (intercept, weights) = fit_weights(&columns, &val.values, p.ridge)?;
        let blended: Vec<f32> = (0..val.len())
            .map(|t| {
                intercept
                    + columns
                        .iter()
                        .zip(&weights)
                        .map(|(c, w)| w * c[t])
                        .sum::<f32>()
            })
            .collect();
        let blend_val_rmse = rmse(&blended, &val.values);
        let refit = p.refit && !matches!(options.validation, RowValidation::Ratings(_));
        let models = if refit {
            members
                .iter()
                .map(|m| m.fit_rows(set, &member_options).map(|f| f.model))
                .collect::<Result<Vec<_>>>()?
        } else {
            first_models
        };
        let blend = Blend::new(models, intercept, weights, Some(scale))?;
        let mut params = json!(p);
        params["member_params"] = json!(member_json);
        params["member_clip"] = json!(scale);
        params["validation"] = json!({
            "ratings": val.len(),
            "member_rmse": member_rmse,
            "blend_rmse": blend_val_rmse,
            "intercept": blend.intercept,
            "weights": blend.weights,
        });
        Ok(Fitted {
            model: blend.into(),
            params,
            feedback: Feedback::Ratings,
            clip: true,
            history: Vec::new(),
            train_seconds: started.elapsed().as_secs_f64(),
        })
    }
}
