//! A kind that scores every pair with one constant. Compiled for tests only: it is the
//! "adding a model" recipe of ARCHITECTURE.md carried out (this module, its line in
//! [`super::REGISTRY`] and its entry in the every-kind test list), and the tests below
//! train, save, load, recommend and blend it through the registry alone.

use super::fit::{Feedback, Fit, Fitted, RowOptions, TrainingSet};
use super::{AnyModel, Kind, Model, NamedTensor, Recommender};
use crate::error::{Error, Result};
use serde_json::Value;

/// Params of the constant kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConstantParams {
    /// The score of every pair.
    pub value: f32,
}

impl Default for ConstantParams {
    fn default() -> Self {
        ConstantParams { value: 3.5 }
    }
}

/// Every pair scores `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    value: f32,
    users: u32,
    items: u32,
}

impl Recommender for Constant {
    fn kind(&self) -> &'static str {
        "constant"
    }
    fn n_users(&self) -> u32 {
        self.users
    }
    fn n_items(&self) -> u32 {
        self.items
    }
    fn param_count(&self) -> usize {
        1
    }
    fn score(&self, _: u32, _: u32) -> f32 {
        self.value
    }
    fn fallback(&self, _: Option<u32>, _: Option<u32>) -> f32 {
        self.value
    }
}

impl Fit for ConstantParams {
    fn kind(&self) -> &'static str {
        "constant"
    }
    fn to_json(&self) -> Value {
        serde_json::json!(self)
    }
    fn check(&self) -> Result<()> {
        if !self.value.is_finite() {
            return Err(Error::Usage("value must be finite".into()));
        }
        Ok(())
    }
    fn fit_rows(&self, set: &TrainingSet<'_>, _: &RowOptions<'_>) -> Result<Fitted> {
        Fit::check(self)?;
        Ok(Fitted {
            model: AnyModel::new(Constant {
                value: self.value,
                users: set.n_users,
                items: set.n_items,
            }),
            params: serde_json::json!(self),
            feedback: Feedback::Ratings,
            clip: true,
            history: Vec::new(),
            train_seconds: 0.0,
        })
    }
}

impl Model for Constant {
    boxed_model!();

    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        vec![NamedTensor::new(
            "value",
            &[1],
            std::slice::from_ref(&self.value),
        )]
    }
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "constant",
    about: "A constant prediction (tests only)",
    load: |_, users, items, t| {
        Ok(AnyModel::new(Constant {
            value: t.scalar("value")?,
            users: users as u32,
            items: items as u32,
        }))
    },
    member: Some(|_| Box::new(ConstantParams::default())),
    params: super::rating_params::<ConstantParams>,
    read: Some(super::read::<ConstantParams>),
    presets: &[],
    flags: |implicit| (!implicit).then(Vec::new),
    no_preset: None,
};
