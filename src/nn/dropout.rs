//! Inverted dropout: at training time each unit is zeroed with probability `rate` and the
//! kept ones are scaled by `1 / (1 - rate)`, so the expected activation is unchanged and
//! inference is the identity (as Keras's `Dropout`).

use crate::error::{Error, Result};
use crate::rng::Rng;

/// A dropout layer with the mask of its last training forward pass.
///
/// ```
/// use embedrec::nn::Dropout;
/// use embedrec::rng::Rng;
/// let mut d = Dropout::new(0.5).unwrap();
/// let mut x = vec![1.0f32; 8];
/// d.forward_train(&mut x, &mut Rng::seeded(1));
/// assert!(x.iter().all(|&v| v == 0.0 || v == 2.0)); // dropped, or kept and scaled
/// let mut g = vec![1.0f32; 8];
/// d.backward(&mut g); // the same mask
/// assert_eq!(g, x);
/// assert!(Dropout::new(1.0).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dropout {
    rate: f32,
    /// Per unit: 0 (dropped) or 1 / (1 - rate) (kept). Empty when `rate` is 0.
    mask: Vec<f32>,
}

impl Dropout {
    /// Dropout of each unit with probability `rate` in [0, 1).
    pub fn new(rate: f32) -> Result<Self> {
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::Usage(format!(
                "--dropout must be in [0, 1), got {rate}"
            )));
        }
        Ok(Dropout {
            rate,
            mask: Vec::new(),
        })
    }

    /// The drop probability.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// The mask of the last [`Dropout::forward_train`] (0 or `1 / (1 - rate)` per unit;
    /// empty when the rate is 0).
    pub fn mask(&self) -> &[f32] {
        &self.mask
    }

    /// Draws a new mask from `rng` (one draw per unit, in order) and applies it to `x`
    /// in place. With rate 0 nothing is drawn and `x` is unchanged.
    pub fn forward_train(&mut self, x: &mut [f32], rng: &mut Rng) {
        self.mask.clear();
        if self.rate == 0.0 {
            return;
        }
        let (rate, keep) = (self.rate as f64, 1.0 / (1.0 - self.rate));
        self.mask
            .extend((0..x.len()).map(|_| if rng.uniform() < rate { 0.0 } else { keep }));
        x.iter_mut().zip(&self.mask).for_each(|(x, &m)| *x *= m);
    }

    /// Multiplies the gradient w.r.t. the output by the last mask, giving the gradient
    /// w.r.t. the input.
    pub fn backward(&self, grad: &mut [f32]) {
        if self.rate == 0.0 {
            return;
        }
        assert_eq!(
            grad.len(),
            self.mask.len(),
            "dropout backward needs the mask of a forward pass of the same size"
        );
        grad.iter_mut().zip(&self.mask).for_each(|(g, &m)| *g *= m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_is_seeded_and_reproducible() {
        let mut d = Dropout::new(0.3).unwrap();
        let mut a = vec![1.0f32; 1000];
        d.forward_train(&mut a, &mut Rng::seeded(9));
        let mut b = vec![1.0f32; 1000];
        d.forward_train(&mut b, &mut Rng::seeded(9));
        assert_eq!(a, b);
        let mut c = vec![1.0f32; 1000];
        d.forward_train(&mut c, &mut Rng::seeded(10));
        assert_ne!(a, c);
    }

    /// Inverted scaling keeps the expectation: the mean of a dropped-out constant stays
    /// the constant, and about `1 - rate` of the units survive.
    #[test]
    fn inverted_scaling_keeps_the_expectation() {
        let n = 200_000;
        for rate in [0.1f32, 0.5, 0.8] {
            let mut d = Dropout::new(rate).unwrap();
            let mut x = vec![3.0f32; n];
            d.forward_train(&mut x, &mut Rng::seeded(2));
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let kept = x.iter().filter(|&&v| v != 0.0).count() as f64 / n as f64;
            // standard error of the mean is 3 sqrt(rate / (1 - rate) / n) < 0.014
            assert!((mean - 3.0).abs() < 0.05, "rate {rate}: mean {mean}");
            assert!(
                (kept - (1.0 - rate as f64)).abs() < 0.01,
                "rate {rate}: kept {kept}"
            );
            let scale = 3.0 * (1.0 / (1.0 - rate));
            assert!(x.iter().all(|&v| v == 0.0 || v == scale));
        }
    }

    /// Backward zeroes exactly the units the forward pass dropped and scales the rest by
    /// the same factor; rate 0 is the identity both ways.
    #[test]
    fn backward_uses_the_forward_mask() {
        let mut d = Dropout::new(0.4).unwrap();
        let x0: Vec<f32> = (1..=50).map(|i| i as f32).collect();
        let mut x = x0.clone();
        d.forward_train(&mut x, &mut Rng::seeded(4));
        let mut g = vec![0.5f32; 50];
        d.backward(&mut g);
        for i in 0..50 {
            assert_eq!(g[i] * x0[i] * 2.0, x[i], "unit {i}");
        }
        let mut id = Dropout::new(0.0).unwrap();
        let mut y = x0.clone();
        id.forward_train(&mut y, &mut Rng::seeded(4));
        id.backward(&mut y);
        assert_eq!(y, x0);
    }
}
