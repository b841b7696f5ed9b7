//! Element-wise activation functions of dense layers.
//!
//! Every derivative here is computed from the activation's *output* `y = f(z)`: `relu`
//! and `leaky_relu` (slope >= 0) are increasing with `y > 0` exactly when `z > 0`,
//! `tanh' = 1 - y^2` and `sigmoid' = y (1 - y)`. So a layer keeps only its output for the
//! backward pass, which the next layer needs as its input anyway.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// The slope of `leaky_relu` for negative inputs when none is given: 0.2, the default of
/// `keras.activations.leaky_relu`, which is what Keras's `Dense(activation="leaky_relu")`
/// uses. (Keras's separate `LeakyReLU` layer defaults to 0.3, PyTorch to 0.01; write
/// `leaky_relu:0.3` or `leaky_relu:0.01` for those.)
pub const LEAKY_RELU_SLOPE: f32 = 0.2;

/// An activation function. Parsed from `linear`, `relu`, `leaky_relu` (slope
/// [`LEAKY_RELU_SLOPE`]), `leaky_relu:A` (slope `A` in [0, 1)), `tanh` or `sigmoid`;
/// serialised as the same string.
///
/// ```
/// use embedrec::nn::Activation;
/// let a: Activation = "leaky_relu".parse().unwrap();
/// assert_eq!(a, Activation::LeakyRelu(0.2));
/// assert_eq!(a.value(-1.0), -0.2);
/// assert_eq!("leaky_relu:0.3".parse::<Activation>().unwrap().to_string(), "leaky_relu:0.3");
/// assert_eq!(Activation::Sigmoid.value(0.0), 0.5);
/// assert!("softmax".parse::<Activation>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Activation {
    /// `f(z) = z`.
    Linear,
    /// `f(z) = max(z, 0)`.
    Relu,
    /// `f(z) = z` for `z > 0`, `a z` otherwise (`0 <= a < 1`).
    LeakyRelu(f32),
    /// `f(z) = tanh(z)`.
    Tanh,
    /// `f(z) = 1 / (1 + e^-z)`.
    Sigmoid,
}

impl Activation {
    /// `f(z)`.
    #[inline]
    pub fn value(&self, z: f32) -> f32 {
        match *self {
            Activation::Linear => z,
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu(a) => {
                if z > 0.0 {
                    z
                } else {
                    a * z
                }
            }
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        }
    }

    /// `f'(z)` given the output `y = f(z)`. At the kink of `relu` and `leaky_relu`
    /// (`z = 0`) this is the left derivative, as in TensorFlow.
    #[inline]
    pub fn derivative_from_output(&self, y: f32) -> f32 {
        match *self {
            Activation::Linear => 1.0,
            Activation::Relu => (y > 0.0) as u8 as f32,
            Activation::LeakyRelu(a) => {
                if y > 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Activation::Tanh => 1.0 - y * y,
            Activation::Sigmoid => y * (1.0 - y),
        }
    }

    /// Replaces every pre-activation in `z` by its activation.
    pub fn apply(&self, z: &mut [f32]) {
        match *self {
            Activation::Linear => {}
            Activation::Relu => z.iter_mut().for_each(|z| *z = z.max(0.0)),
            _ => z.iter_mut().for_each(|z| *z = self.value(*z)),
        }
    }

    /// Multiplies each gradient w.r.t. an output by the derivative at that output (`y`
    /// as returned by [`Activation::apply`]), giving the gradient w.r.t. the
    /// pre-activation.
    pub fn backprop(&self, y: &[f32], grad: &mut [f32]) {
        assert_eq!(y.len(), grad.len(), "one gradient per output");
        if *self == Activation::Linear {
            return;
        }
        grad.iter_mut()
            .zip(y)
            .for_each(|(g, &y)| *g *= self.derivative_from_output(y));
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Linear => write!(f, "linear"),
            Activation::Relu => write!(f, "relu"),
            Activation::LeakyRelu(a) if *a == LEAKY_RELU_SLOPE => write!(f, "leaky_relu"),
            Activation::LeakyRelu(a) => write!(f, "leaky_relu:{a}"),
            Activation::Tanh => write!(f, "tanh"),
            Activation::Sigmoid => write!(f, "sigmoid"),
        }
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Usage(format!(
                "--activation: expected linear, relu, leaky_relu[:A] (0 <= A < 1), tanh or \
                 sigmoid, got '{s}'"
            ))
        };
        Ok(match s {
            "linear" => Activation::Linear,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu(LEAKY_RELU_SLOPE),
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            _ => {
                let a = s.strip_prefix("leaky_relu:").ok_or_else(bad)?;
                let a: f32 = a.parse().map_err(|_| bad())?;
                if !(0.0..1.0).contains(&a) {
                    return Err(bad());
                }
                Activation::LeakyRelu(a)
            }
        })
    }
}

impl TryFrom<String> for Activation {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Activation> for String {
    fn from(a: Activation) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_and_serde_round_trip() {
        for s in [
            "linear",
            "relu",
            "leaky_relu",
            "leaky_relu:0.3",
            "leaky_relu:0",
            "tanh",
            "sigmoid",
        ] {
            let a: Activation = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), a);
        }
        for bad in [
            "",
            "Relu",
            "leaky_relu:1",
            "leaky_relu:-0.1",
            "leaky_relu:x",
            "gelu",
        ] {
            assert!(
                matches!(bad.parse::<Activation>(), Err(Error::Usage(_))),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<Activation>("\"softmax\"").is_err());
    }

    /// The derivative from the output agrees with a central difference of `value`.
    #[test]
    fn derivative_matches_finite_difference() {
        let acts = [
            Activation::Linear,
            Activation::Relu,
            Activation::LeakyRelu(0.2),
            Activation::Tanh,
            Activation::Sigmoid,
        ];
        for act in acts {
            for &z in &[-3.0f64, -0.7, -0.1, 0.2, 0.9, 2.5] {
                let f = |z: f64| act.value(z as f32) as f64;
                let h = 1e-3;
                let numeric = (f(z + h) - f(z - h)) / (2.0 * h);
                let analytic = act.derivative_from_output(act.value(z as f32)) as f64;
                assert!(
                    (numeric - analytic).abs() < 1e-3,
                    "{act} at {z}: {numeric} vs {analytic}"
                );
            }
        }
    }
}
