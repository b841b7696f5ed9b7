//! Optimizers with row-sparse ("lazy") state: a step updates only the rows a batch
//! touched, and only their moment estimates (TensorFlow's LazyAdam semantics). Bias
//! corrections use the global step count. Formulas and defaults follow Keras 3.

use crate::error::{Error, Result};
use std::str::FromStr;

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `w -= lr g`, optionally with (Nesterov) momentum.
    Sgd,
    /// Adam (Kingma and Ba 2015).
    Adam,
    /// Adamax, Adam's infinity-norm variant.
    Adamax,
    /// Adagrad.
    Adagrad,
}

impl FromStr for OptimizerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            "adamax" => Ok(OptimizerKind::Adamax),
            "adagrad" => Ok(OptimizerKind::Adagrad),
            _ => Err(Error::Usage(format!(
                "--optimizer: expected sgd, adam, adamax or adagrad, got '{s}'"
            ))),
        }
    }
}

/// An optimizer's settings (the learning rate is given per step, so that schedules can
/// change it).
///
/// | field | default | meaning |
/// |---|---|---|
/// | `kind` | sgd | update rule |
/// | `momentum` | 0 | SGD momentum in [0, 1) |
/// | `nesterov` | false | Nesterov momentum (SGD) |
/// | `beta1` | 0.9 | first-moment decay (Adam, Adamax) |
/// | `beta2` | 0.999 | second-moment decay (Adam, Adamax) |
/// | `epsilon` | 1e-7 | denominator guard (Keras's default) |
/// | `initial_accumulator` | 0.1 | Adagrad's starting accumulator (Keras's default) |
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Optimizer {
    /// Update rule.
    pub kind: OptimizerKind,
    /// SGD momentum.
    pub momentum: f32,
    /// Nesterov momentum (SGD).
    pub nesterov: bool,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Denominator guard.
    pub epsilon: f32,
    /// Adagrad's starting accumulator.
    pub initial_accumulator: f32,
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer {
            kind: OptimizerKind::Sgd,
            momentum: 0.0,
            nesterov: false,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            initial_accumulator: 0.1,
        }
    }
}

impl Optimizer {
    /// Checks the settings.
    pub fn check(&self) -> Result<()> {
        let unit = |name: &str, v: f32| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::Usage(format!("{name} must be in [0, 1), got {v}")))
            }
        };
        unit("momentum", self.momentum)?;
        unit("beta1", self.beta1)?;
        unit("beta2", self.beta2)?;
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(Error::Usage(format!(
                "epsilon must be > 0, got {}",
                self.epsilon
            )));
        }
        if !(self.initial_accumulator >= 0.0 && self.initial_accumulator.is_finite()) {
            return Err(Error::Usage(format!(
                "initial accumulator must be >= 0, got {}",
                self.initial_accumulator
            )));
        }
        Ok(())
    }

    /// How many state slots per weight this optimizer keeps (0, 1 or 2).
    pub fn state_slots(&self) -> usize {
        match self.kind {
            OptimizerKind::Sgd => (self.momentum > 0.0) as usize,
            OptimizerKind::Adagrad => 1,
            OptimizerKind::Adam | OptimizerKind::Adamax => 2,
        }
    }

    /// Initial value of the state slots.
    pub fn state_init(&self) -> f32 {
        match self.kind {
            OptimizerKind::Adagrad => self.initial_accumulator,
            _ => 0.0,
        }
    }

    /// The coefficients of global step `step` (1-based) at learning rate `lr`.
    pub fn step(&self, step: u64, lr: f32) -> Step {
        let t = step.max(1) as i32;
        let scale = match self.kind {
            OptimizerKind::Adam => {
                (lr as f64 * (1.0 - (self.beta2 as f64).powi(t)).sqrt()
                    / (1.0 - (self.beta1 as f64).powi(t))) as f32
            }
            OptimizerKind::Adamax => (lr as f64 / (1.0 - (self.beta1 as f64).powi(t))) as f32,
            _ => lr,
        };
        Step {
            opt: *self,
            lr,
            scale,
        }
    }
}

/// The per-step coefficients of an [`Optimizer`].
#[derive(Debug, Clone, Copy)]
pub struct Step {
    opt: Optimizer,
    /// Learning rate of this step.
    pub lr: f32,
    /// lr with bias corrections folded in (Adam, Adamax).
    scale: f32,
}

impl Step {
    /// True for SGD without momentum (`w -= lr g`).
    #[inline]
    pub fn is_plain_sgd(&self) -> bool {
        self.opt.kind == OptimizerKind::Sgd && self.opt.momentum == 0.0
    }

    /// Updates one row `w` with gradient `g`; `m` and `v` are its state slots (empty
    /// when the optimizer keeps fewer).
    #[inline]
    pub fn update(&self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        self.update_decayed(1.0, w, g, m, v)
    }

    /// Multiplies `w` by `decay` (decoupled weight decay), then updates it as
    /// [`Step::update`] does; one pass for plain SGD.
    #[inline(always)]
    pub fn update_decayed(
        &self,
        decay: f32,
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
    ) {
        let o = &self.opt;
        if o.kind == OptimizerKind::Sgd && o.momentum == 0.0 {
            let lr = self.lr;
            w.iter_mut()
                .zip(g)
                .for_each(|(w, &g)| *w = *w * decay - lr * g);
            return;
        }
        if decay != 1.0 {
            w.iter_mut().for_each(|w| *w *= decay);
        }
        match o.kind {
            OptimizerKind::Sgd if o.momentum == 0.0 => unreachable!("handled above"),
            OptimizerKind::Sgd => {
                let (lr, mu) = (self.lr, o.momentum);
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    *m = mu * *m - lr * g;
                    *w += if o.nesterov { mu * *m - lr * g } else { *m };
                }
            }
            OptimizerKind::Adam => {
                let (b1, b2, eps, a) = (o.beta1, o.beta2, o.epsilon, self.scale);
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m += (g - *m) * (1.0 - b1);
                    *v += (g * g - *v) * (1.0 - b2);
                    *w -= a * *m / (v.sqrt() + eps);
                }
            }
            OptimizerKind::Adamax => {
                let (b1, b2, eps, a) = (o.beta1, o.beta2, o.epsilon, self.scale);
                for (((w, &g), m), u) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *u = (b2 * *u).max(g.abs());
                    *w -= a * *m / (*u + eps);
                }
            }
            OptimizerKind::Adagrad => {
                let (lr, eps) = (self.lr, o.epsilon);
                for ((w, &g), acc) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    *acc += g * g;
                    *w -= lr * g / (*acc + eps).sqrt();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(opt: Optimizer, steps: &[(f32, f32)]) -> f32 {
        let (mut w, mut m, mut v) = ([1.0f32], [opt.state_init()], [opt.state_init()]);
        for (t, &(lr, g)) in steps.iter().enumerate() {
            opt.step(t as u64 + 1, lr)
                .update(&mut w, &[g], &mut m, &mut v);
        }
        w[0]
    }

    /// Each rule against its formula worked by hand (f64) for two steps.
    #[test]
    fn updates_match_hand_computation() {
        let steps = [(0.1f32, 0.5f32), (0.1, -0.2)];
        let close = |a: f32, b: f64| assert!((a as f64 - b).abs() < 1e-6, "{a} vs {b}");
        let sgd = Optimizer::default();
        close(run(sgd, &steps), 1.0 - 0.05 + 0.02);
        let mom = Optimizer {
            momentum: 0.9,
            ..sgd
        };
        let v1 = -0.05;
        let v2 = 0.9 * v1 + 0.02;
        close(run(mom, &steps), 1.0 + v1 + v2);
        let nes = Optimizer {
            nesterov: true,
            ..mom
        };
        close(
            run(nes, &steps),
            1.0 + (0.9 * v1 - 0.05) + (0.9 * v2 + 0.02),
        );
        let adam = Optimizer {
            kind: OptimizerKind::Adam,
            ..sgd
        };
        let (mut w, mut m, mut v) = (1.0f64, 0.0f64, 0.0f64);
        for (t, &(lr, g)) in steps.iter().enumerate() {
            let (lr, g, t) = (lr as f64, g as f64, t as i32 + 1);
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            w -= lr * (1.0 - 0.999f64.powi(t)).sqrt() / (1.0 - 0.9f64.powi(t)) * m
                / (v.sqrt() + 1e-7);
        }
        close(run(adam, &steps), w);
        let adamax = Optimizer {
            kind: OptimizerKind::Adamax,
            ..sgd
        };
        let (mut w, mut m, mut u) = (1.0f64, 0.0f64, 0.0f64);
        for (t, &(lr, g)) in steps.iter().enumerate() {
            let (lr, g, t) = (lr as f64, g as f64, t as i32 + 1);
            m = 0.9 * m + 0.1 * g;
            u = (0.999 * u).max(g.abs());
            w -= lr / (1.0 - 0.9f64.powi(t)) * m / (u + 1e-7);
        }
        close(run(adamax, &steps), w);
        let adagrad = Optimizer {
            kind: OptimizerKind::Adagrad,
            ..sgd
        };
        let acc1 = 0.1 + 0.25;
        let acc2 = acc1 + 0.04;
        close(
            run(adagrad, &steps),
            1.0 - 0.05 / (acc1 + 1e-7f64).sqrt() + 0.02 / (acc2 + 1e-7f64).sqrt(),
        );
    }

    #[test]
    fn bad_settings_are_rejected() {
        assert!(
            Optimizer {
                momentum: 1.0,
                ..Default::default()
            }
            .check()
            .is_err()
        );
        assert!(
            Optimizer {
                epsilon: 0.0,
                ..Default::default()
            }
            .check()
            .is_err()
        );
        assert!("rmsprop".parse::<OptimizerKind>().is_err());
    }
}
