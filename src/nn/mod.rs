//! The neural core, written for recommendation: embedding tables with row-sparse
//! gradients and lazily-updated optimizer state, dense matrix products (on the `gemm`
//! crate), initialisers and losses.

pub mod embedding;
pub mod init;
pub mod kernels;
pub mod linalg;
pub mod loss;
pub mod optim;

pub use embedding::{Embedding, L2Mode};
pub use init::Init;
pub use loss::Loss;
pub use optim::{Optimizer, OptimizerKind, Step};
