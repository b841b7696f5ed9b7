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

/// One fold of a cross-fitted blend: the held-out rating indices, each member's
/// predictions of them, and each member's params as fitted.
type FoldPredictions = (Vec<usize>, Vec<Vec<f32>>, Vec<Value>);

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
    /// A member that reads the timestamps (fm with time features) needs them kept.
    fn needs_times(&self) -> bool {
        member_params(self).is_ok_and(|members| members.iter().any(|m| m.needs_times()))
    }

    /// Trains the members on `folds` folds of the training data, each fold predicted by
    /// the members trained on the others (or, with `folds = 1`, on the training data less
    /// a validation carve, or on all of it when validation data is given); the weights on
    /// those predictions; then (with `refit`, always with folds) the members again on all
    /// the training data.
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
        let scale = set.scale;
        let mut member_json = Vec::new();
        let mut preds = Vec::new();
        // Member k's clipped prediction of validation target t, in columns[k][t].
        let predict = |model: &AnyModel, r: &Ratings, preds: &mut Vec<crate::model::Prediction>| {
            model.predict_many_at(&r.users, &r.items, r.times.as_deref(), preds);
            preds
                .iter()
                .map(|x| scale.clip(x.value))
                .collect::<Vec<f32>>()
        };
        let folds = match options.validation {
            RowValidation::Params => p.folds,
            _ => 1,
        };
        let (columns, first_models, val) = if folds > 1 {
            let n = set.ratings.len();
            if n < 2 * folds {
                return Err(Error::Usage(format!(
                    "blend: too few training ratings ({n}) for {folds} folds"
                )));
            }
            let (threads, threshold) = (options.threads, options.threshold);
            let run_fold = |f: usize| -> Result<FoldPredictions> {
                let (fit_idx, held_idx) = kfold(n, folds, f, p.seed);
                let (fit_ratings, held) =
                    (set.ratings.select(&fit_idx), set.ratings.select(&held_idx));
                let fold_set = set.with_ratings(&fit_ratings);
                let fold_options = RowOptions {
                    threads,
                    validation: RowValidation::Params,
                    watch: None,
                    threshold,
                    on_epoch: None,
                };
                let (mut columns, mut params, mut preds) = (Vec::new(), Vec::new(), Vec::new());
                for m in &members {
                    let fitted = m.fit_rows(&fold_set, &fold_options)?;
                    columns.push(predict(&fitted.model, &held, &mut preds));
                    params.push(fitted.params);
                }
                Ok((held_idx, columns, params))
            };
            let mut columns = vec![vec![0.0f32; n]; members.len()];
            for (f, fold) in
                crate::models::threads::map_ordered((0..folds).collect(), p.threads, run_fold)
                    .into_iter()
                    .enumerate()
            {
                let (held_idx, fold_columns, params) = fold?;
                for (column, fold_column) in columns.iter_mut().zip(fold_columns) {
                    for (&t, v) in held_idx.iter().zip(fold_column) {
                        column[t] = v;
                    }
                }
                if f == 0 {
                    member_json = params;
                }
            }
            (columns, Vec::new(), Cow::Borrowed(set.ratings))
        } else {
            let carve = match options.validation {
                RowValidation::Params => p.val_fraction,
                RowValidation::Carve(f) => f,
                RowValidation::Ratings(_) => 0.0,
                RowValidation::None => {
                    return Err(Error::Usage(
                        "a blend fits its weights on validation data: it cannot train without"
                            .into(),
                    ));
                }
            };
            let (fit_idx, val_idx) = if carve > 0.0 {
                validation_split(set.ratings, carve, p.seed)
            } else {
                ((0..set.ratings.len()).collect(), Vec::new())
            };
            let fit_ratings;
            let (first_set, val) = match options.validation {
                RowValidation::Ratings(v) => (*set, Cow::Borrowed(v)),
                _ => {
                    if val_idx.is_empty() || fit_idx.is_empty() {
                        return Err(Error::Usage(
                            "blend: too few training ratings to carve a validation set".into(),
                        ));
                    }
                    fit_ratings = set.ratings.select(&fit_idx);
                    let carved = set.ratings.select(&val_idx);
                    (set.with_ratings(&fit_ratings), Cow::Owned(carved))
                }
            };
            if val.is_empty() {
                return Err(Error::Usage("blend: the validation data is empty".into()));
            }
            let mut columns = Vec::new();
            let mut first_models = Vec::new();
            for m in &members {
                let fitted = m.fit_rows(&first_set, &member_options)?;
                columns.push(predict(&fitted.model, &val, &mut preds));
                member_json.push(fitted.params);
                first_models.push(fitted.model);
            }
            (columns, first_models, val)
        };
        let member_rmse: Vec<f64> = columns.iter().map(|c| rmse(c, &val.values)).collect();
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
        let refit =
            folds > 1 || (p.refit && !matches!(options.validation, RowValidation::Ratings(_)));
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
            "folds": folds,
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
