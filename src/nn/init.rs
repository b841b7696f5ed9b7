//! Weight initialisers.

use crate::error::{Error, Result};
use crate::rng::Rng;
use std::fmt;
use std::str::FromStr;

/// How a table starts. Parsed from `uniform:A` or `normal:STD` (also `zeros`).
///
/// ```
/// use embedrec::nn::Init;
/// assert_eq!("uniform:0.05".parse::<Init>().unwrap(), Init::Uniform(0.05));
/// assert_eq!("normal:0.01".parse::<Init>().unwrap().to_string(), "normal:0.01");
/// assert!("uniform:-1".parse::<Init>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Init {
    /// Uniform in [-a, a] (Keras's `Embedding` default is a = 0.05).
    Uniform(f32),
    /// Normal with mean 0 and this standard deviation.
    Normal(f32),
    /// All zeros.
    Zeros,
}

impl Init {
    /// Fills `w` from `rng`.
    pub fn fill(&self, w: &mut [f32], rng: &mut Rng) {
        match *self {
            Init::Uniform(a) => w
                .iter_mut()
                .for_each(|x| *x = rng.uniform_in(-a as f64, a as f64) as f32),
            Init::Normal(s) => w
                .iter_mut()
                .for_each(|x| *x = (rng.normal() * s as f64) as f32),
            Init::Zeros => w.iter_mut().for_each(|x| *x = 0.0),
        }
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::Uniform(a) => write!(f, "uniform:{a}"),
            Init::Normal(s) => write!(f, "normal:{s}"),
            Init::Zeros => write!(f, "zeros"),
        }
    }
}

impl FromStr for Init {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Usage(format!(
                "--init: expected uniform:A, normal:STD or zeros (A, STD > 0), got '{s}'"
            ))
        };
        if s == "zeros" {
            return Ok(Init::Zeros);
        }
        let (kind, value) = s.split_once(':').ok_or_else(bad)?;
        let value: f32 = value.parse().map_err(|_| bad())?;
        if !(value.is_finite() && value > 0.0) {
            return Err(bad());
        }
        match kind {
            "uniform" => Ok(Init::Uniform(value)),
            "normal" => Ok(Init::Normal(value)),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Init {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Init> for String {
    fn from(i: Init) -> String {
        i.to_string()
    }
}
