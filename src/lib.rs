#![doc = include_str!("../README.md")]
//!
//! ---
//!
//! The modules, in the order data flows through them: [`data`] (readers, splits,
//! synthetic data) -> [`nn`] (the neural core) -> [`train`] (the epoch loop) ->
//! [`models`] (every kind's params and model, the [`Fit`] trait) -> [`eval`] and
//! [`recommend`] -> [`store`] (the model file, [`TrainedModel`]) -> [`serve`] and [`cli`].
//! ARCHITECTURE.md describes the design.

pub mod cli;
pub mod data;
pub mod error;
pub mod eval;
pub mod files;
#[doc(hidden)]
pub mod fuzz_targets;
pub mod metrics;
pub mod model;
pub mod models;
pub mod nn;
pub mod plot;
pub mod recommend;
pub mod rng;
pub mod serve;
pub mod store;
pub mod train;

pub use data::{Dataset, SplitSpec};
pub use error::{Error, Result};
pub use models::{Feedback, Fit, FitOptions, Validation};
pub use store::TrainedModel;
