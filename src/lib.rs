//! # embedrec
//!
//! A recommender engine: matrix factorization as a neural network, deep recommenders
//! with side variables, hybrids and top-N recommendation, trained on rating or
//! interaction logs. See README.md for the user guide and ARCHITECTURE.md for the design.

pub mod cli;
pub mod data;
pub mod error;
pub mod eval;
pub mod models;
pub mod nn;
pub mod plot;
pub mod recommend;
pub mod rng;
pub mod serve;
pub mod store;
pub mod train;

pub use error::{Error, Result};
