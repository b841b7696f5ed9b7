//! The neural core, written for recommendation: embedding tables with row-sparse
//! gradients and lazily-updated optimizer state, dense layers (on the `gemm` crate) with
//! activations and dropout, an MLP, initialisers and losses.

pub mod activation;
pub mod aligned;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod init;
pub mod kernels;
pub mod linalg;
pub mod loss;
pub mod mlp;
pub mod optim;

pub use activation::Activation;
pub use dense::{Dense, DenseCache, DenseInit};
pub use dropout::Dropout;
pub use embedding::{Embedding, L2Mode};
pub use init::Init;
pub use loss::Loss;
pub use mlp::Mlp;
pub use optim::{Optimizer, OptimizerKind, Step};
