//! Losses on a batch of prediction errors, with their gradients.

use crate::error::{Error, Result};
use std::str::FromStr;

/// A loss over the errors `e_k = prediction_k - target_k` of a batch of size B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Mean squared error `(1/B) sum e_k^2` (Keras's `mse`, no factor 1/2).
    Mse,
    /// Batch RMSE `sqrt((1/B) sum e_k^2)`: what the textbook's Keras code minimises.
    /// Its gradient `e_k / (B * rmse)` shrinks as the batch fits better.
    Rmse,
}

impl Loss {
    /// The loss of `errors`, and its gradient with respect to each prediction written
    /// into `grad` (same length). An empty batch has loss 0.
    ///
    /// ```
    /// use embedrec::nn::Loss;
    /// let mut g = [0.0; 2];
    /// assert_eq!(Loss::Mse.value_and_grad(&[1.0, -3.0], &mut g), 5.0);
    /// assert_eq!(g, [1.0, -3.0]);
    /// ```
    pub fn value_and_grad(&self, errors: &[f32], grad: &mut [f32]) -> f64 {
        debug_assert_eq!(errors.len(), grad.len());
        if errors.is_empty() {
            return 0.0;
        }
        let b = errors.len() as f64;
        let mse = errors.iter().map(|&e| e as f64 * e as f64).sum::<f64>() / b;
        match self {
            Loss::Mse => {
                let scale = (2.0 / b) as f32;
                grad.iter_mut()
                    .zip(errors)
                    .for_each(|(g, &e)| *g = scale * e);
                mse
            }
            Loss::Rmse => {
                let rmse = mse.sqrt();
                // The gradient of sqrt at 0 is undefined; a perfect batch gets none.
                let scale = if rmse > 0.0 {
                    (1.0 / (b * rmse)) as f32
                } else {
                    0.0
                };
                grad.iter_mut()
                    .zip(errors)
                    .for_each(|(g, &e)| *g = scale * e);
                rmse
            }
        }
    }
}

impl Loss {
    /// The loss of `errors` and the factor `c` with d loss / d prediction_k = `c * e_k`
    /// (both supported losses have this form: `2 / B` for MSE, `1 / (B rmse)` for RMSE,
    /// 0 for a perfect batch).
    pub fn value_and_scale(&self, errors: &[f32]) -> (f64, f32) {
        if errors.is_empty() {
            return (0.0, 0.0);
        }
        let b = errors.len() as f64;
        let mse = errors.iter().map(|&e| e as f64 * e as f64).sum::<f64>() / b;
        match self {
            Loss::Mse => (mse, (2.0 / b) as f32),
            Loss::Rmse => {
                let rmse = mse.sqrt();
                (
                    rmse,
                    if rmse > 0.0 {
                        (1.0 / (b * rmse)) as f32
                    } else {
                        0.0
                    },
                )
            }
        }
    }
}

impl FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mse" => Ok(Loss::Mse),
            "rmse" => Ok(Loss::Rmse),
            _ => Err(Error::Usage(format!(
                "--loss: expected mse or rmse, got '{s}'"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Loss;

    /// Central differences in f64 against the analytic gradient.
    #[test]
    fn gradient_check() {
        let errors = [0.3f32, -1.2, 0.7, 2.0, -0.1];
        for loss in [Loss::Mse, Loss::Rmse] {
            let mut grad = [0.0f32; 5];
            loss.value_and_grad(&errors, &mut grad);
            for (k, &analytic) in grad.iter().enumerate() {
                let h = 1e-3f64;
                let f = |d: f64| {
                    let e: Vec<f64> = errors
                        .iter()
                        .enumerate()
                        .map(|(j, &x)| x as f64 + if j == k { d } else { 0.0 })
                        .collect();
                    let mse = e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64;
                    if loss == Loss::Mse { mse } else { mse.sqrt() }
                };
                let numeric = (f(h) - f(-h)) / (2.0 * h);
                assert!(
                    (numeric - analytic as f64).abs() < 1e-5,
                    "{loss:?} k={k}: {numeric} vs {analytic}"
                );
            }
        }
    }

    #[test]
    fn perfect_batch_has_zero_rmse_gradient() {
        let mut g = [1.0f32; 3];
        assert_eq!(Loss::Rmse.value_and_grad(&[0.0; 3], &mut g), 0.0);
        assert_eq!(g, [0.0; 3]);
    }
}
