//! Models. Each file holds one model: its params, weights, `fit` and predictions.
