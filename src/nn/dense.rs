//! Fully connected layers: `y = act(x W + b)` over a batch, with backward pass and
//! optimizer update. The three products of a step (`x W`, `x^T dZ`, `dZ W^T`) run on
//! [`super::linalg::matmul`].

use super::linalg::{Mat, matmul_threads};
use super::{Activation, Optimizer, Step};
use crate::error::{Error, Result};
use crate::rng::Rng;
use std::fmt;
use std::str::FromStr;

/// How a dense layer's weights start (the bias always starts at zero, as in Keras).
///
/// | name | weights drawn from | Keras name |
/// |---|---|---|
/// | `glorot_uniform` | U(-a, a), a = sqrt(6 / (input + output)) | `GlorotUniform` (the `Dense` default) |
/// | `he_uniform` | U(-a, a), a = sqrt(6 / input) (variance 2 / input) | `HeUniform` |
///
/// He is offered in its uniform form: it has exactly the intended variance 2 / input
/// without the truncation correction that Keras's `HeNormal` (a truncated normal) needs.
///
/// ```
/// use embedrec::nn::DenseInit;
/// assert_eq!("he_uniform".parse::<DenseInit>().unwrap(), DenseInit::HeUniform);
/// assert!((DenseInit::GlorotUniform.limit(402, 2048) - (6.0f32 / 2450.0).sqrt()).abs() < 1e-7);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenseInit {
    /// Glorot (Xavier) uniform.
    #[default]
    GlorotUniform,
    /// He (Kaiming) uniform, for ReLU-like activations.
    HeUniform,
}

impl DenseInit {
    /// The bound `a` of the uniform distribution U(-a, a) for an `input x output` layer.
    pub fn limit(&self, input: usize, output: usize) -> f32 {
        let fan = match self {
            DenseInit::GlorotUniform => (input + output) as f64,
            DenseInit::HeUniform => input as f64,
        };
        (6.0 / fan.max(1.0)).sqrt() as f32
    }
}

impl fmt::Display for DenseInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DenseInit::GlorotUniform => "glorot_uniform",
            DenseInit::HeUniform => "he_uniform",
        })
    }
}

impl FromStr for DenseInit {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "glorot_uniform" => Ok(DenseInit::GlorotUniform),
            "he_uniform" => Ok(DenseInit::HeUniform),
            _ => Err(Error::Usage(format!(
                "dense initialiser: expected glorot_uniform or he_uniform, got '{s}'"
            ))),
        }
    }
}

/// What a [`Dense`] layer's forward pass keeps for its backward pass: its output
/// (activations are differentiated from their output, see [`Activation`]) and scratch
/// for the gradient w.r.t. the pre-activation. Reused from batch to batch.
#[derive(Debug, Clone, Default)]
pub struct DenseCache {
    /// Output of the last forward pass (batch x output).
    y: Vec<f32>,
    /// Gradient w.r.t. the pre-activation (batch x output).
    dz: Vec<f32>,
    /// Rows of the last forward pass.
    batch: usize,
}

impl DenseCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The output of the last forward pass (batch x output, row-major).
    pub fn output(&self) -> &[f32] {
        &self.y
    }
}

/// A fully connected layer `y = act(x W + b)`: `W` is `input x output` (row-major), `b`
/// has `output` elements. Gradients accumulate over [`Dense::backward`] calls until
/// [`Dense::apply`] updates the weights and clears them.
///
/// ```
/// use embedrec::nn::{Activation, Dense, DenseCache, Optimizer};
/// // 2 inputs -> 1 output: y = relu(x . (1, -1) + 0.5)
/// let opt = Optimizer::default(); // plain SGD
/// let mut layer = Dense::from_weights(2, 1, vec![1.0, -1.0], vec![0.5], Activation::Relu, opt);
/// let x = [3.0, 1.0, 0.0, 2.0]; // two rows
/// let (mut y, mut cache) = ([0.0; 2], DenseCache::new());
/// layer.forward(&x, 2, &mut y, &mut cache);
/// assert_eq!(y, [2.5, 0.0]);
/// // d(sum y)/dx: only the first row is active
/// let mut dx = [0.0; 4];
/// layer.backward(&x, 2, &[1.0, 1.0], Some(&mut dx), &mut cache);
/// assert_eq!(dx, [1.0, -1.0, 0.0, 0.0]);
/// assert_eq!(layer.weight_grad(), &[3.0, 1.0]);
/// layer.apply(&opt.step(1, 0.5)); // w -= 0.5 dW
/// assert_eq!(layer.weight(), &[-0.5, -1.5]);
/// ```
#[derive(Debug, Clone)]
pub struct Dense {
    input: usize,
    output: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
    /// The activation applied to `x W + b`.
    pub activation: Activation,
    /// L2 factor on the weights (not the bias): `l2 * sum W^2` is added to the loss, so
    /// [`Dense::apply`] adds `2 l2 W` to the weight gradient (Keras's
    /// `kernel_regularizer=l2(l2)`; added once per step, not scaled by the batch).
    pub l2: f32,
    /// Threads for the matrix products (1: the calling thread only; see
    /// [`super::linalg::matmul_threads`]).
    pub threads: usize,
    grad_w: Vec<f32>,
    grad_b: Vec<f32>,
    /// Optimizer state slots of the weights and the bias (empty when unused).
    m_w: Vec<f32>,
    v_w: Vec<f32>,
    m_b: Vec<f32>,
    v_b: Vec<f32>,
}

impl Dense {
    /// An `input x output` layer initialised by `init` from `rng` (zero bias), trained
    /// with `optimizer`; no L2, one thread.
    pub fn new(
        input: usize,
        output: usize,
        activation: Activation,
        init: DenseInit,
        rng: &mut Rng,
        optimizer: Optimizer,
    ) -> Self {
        let a = init.limit(input, output) as f64;
        let weight = (0..input * output)
            .map(|_| rng.uniform_in(-a, a) as f32)
            .collect();
        Self::from_weights(
            input,
            output,
            weight,
            vec![0.0; output],
            activation,
            optimizer,
        )
    }

    /// A layer with the given weights (`input x output`, row-major) and bias.
    ///
    /// # Panics
    /// When the lengths do not match the shape.
    pub fn from_weights(
        input: usize,
        output: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
        activation: Activation,
        optimizer: Optimizer,
    ) -> Self {
        assert_eq!(
            weight.len(),
            input * output,
            "weights must be input x output"
        );
        assert_eq!(bias.len(), output, "one bias per output");
        let slots = optimizer.state_slots();
        let state = |slot: usize, n: usize| {
            if slots >= slot {
                vec![optimizer.state_init(); n]
            } else {
                Vec::new()
            }
        };
        Dense {
            input,
            output,
            activation,
            l2: 0.0,
            threads: 1,
            grad_w: vec![0.0; weight.len()],
            grad_b: vec![0.0; output],
            m_w: state(1, weight.len()),
            v_w: state(2, weight.len()),
            m_b: state(1, output),
            v_b: state(2, output),
            weight,
            bias,
        }
    }

    /// Width of the input.
    pub fn input(&self) -> usize {
        self.input
    }

    /// Width of the output.
    pub fn output(&self) -> usize {
        self.output
    }

    /// The weights `W` (input x output, row-major).
    pub fn weight(&self) -> &[f32] {
        &self.weight
    }

    /// Mutable weights.
    pub fn weight_mut(&mut self) -> &mut [f32] {
        &mut self.weight
    }

    /// The bias `b`.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    /// Mutable bias.
    pub fn bias_mut(&mut self) -> &mut [f32] {
        &mut self.bias
    }

    /// The weight gradient accumulated since the last [`Dense::apply`] (without L2).
    pub fn weight_grad(&self) -> &[f32] {
        &self.grad_w
    }

    /// The bias gradient accumulated since the last [`Dense::apply`].
    pub fn bias_grad(&self) -> &[f32] {
        &self.grad_b
    }

    /// The accumulated weight and bias gradients, to add to (for [`super::Mlp`]'s
    /// affine-chain path).
    pub(crate) fn grads_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        (&mut self.grad_w, &mut self.grad_b)
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        self.weight.len() + self.bias.len()
    }

    /// `out = act(x W + b)` for `batch` rows of `x` (batch x input); nothing is kept.
    pub fn infer(&self, x: &[f32], batch: usize, out: &mut [f32]) {
        assert_eq!(x.len(), batch * self.input, "x must be batch x input");
        assert_eq!(out.len(), batch * self.output, "out must be batch x output");
        for row in out.chunks_exact_mut(self.output) {
            row.copy_from_slice(&self.bias);
        }
        matmul_threads(
            Mat::new(x, batch, self.input),
            Mat::new(&self.weight, self.input, self.output),
            out,
            true,
            self.threads,
        );
        self.activation.apply(out);
    }

    /// `out = act(x W + b)` for `batch` rows of `x` (batch x input), keeping in `cache`
    /// what [`Dense::backward`] needs.
    pub fn forward(&self, x: &[f32], batch: usize, out: &mut [f32], cache: &mut DenseCache) {
        self.infer(x, batch, out);
        cache.y.clear();
        cache.y.extend_from_slice(out);
        cache.batch = batch;
    }

    /// Backward pass of the last [`Dense::forward`] (same `x` and `batch`, and its
    /// `cache`): given `grad_out` = dL/dy (batch x output), adds `x^T dZ` to the weight
    /// gradient and the column sums of `dZ` to the bias gradient, where dZ = dL/d(xW + b),
    /// and writes dL/dx = `dZ W^T` into `grad_in` (batch x input) when given.
    pub fn backward(
        &mut self,
        x: &[f32],
        batch: usize,
        grad_out: &[f32],
        grad_in: Option<&mut [f32]>,
        cache: &mut DenseCache,
    ) {
        assert_eq!(
            (cache.batch, cache.y.len()),
            (batch, batch * self.output),
            "backward needs the cache of a forward pass over the same batch"
        );
        assert_eq!(x.len(), batch * self.input, "x must be batch x input");
        assert_eq!(
            grad_out.len(),
            batch * self.output,
            "grad_out must be batch x output"
        );
        cache.dz.clear();
        cache.dz.extend_from_slice(grad_out);
        self.activation.backprop(&cache.y, &mut cache.dz);
        let dz = Mat::new(&cache.dz, batch, self.output);
        matmul_threads(
            Mat::new(x, batch, self.input).t(),
            dz,
            &mut self.grad_w,
            true,
            self.threads,
        );
        for row in cache.dz.chunks_exact(self.output) {
            self.grad_b.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
        }
        if let Some(grad_in) = grad_in {
            assert_eq!(
                grad_in.len(),
                batch * self.input,
                "grad_in must be batch x input"
            );
            matmul_threads(
                dz,
                Mat::new(&self.weight, self.input, self.output).t(),
                grad_in,
                false,
                self.threads,
            );
        }
    }

    /// Updates the weights (gradient plus `2 l2 W`) and the bias with `step`, then
    /// clears the gradients.
    pub fn apply(&mut self, step: &Step) {
        if self.l2 > 0.0 {
            let c = 2.0 * self.l2;
            self.grad_w
                .iter_mut()
                .zip(&self.weight)
                .for_each(|(g, &w)| *g += c * w);
        }
        step.update(&mut self.weight, &self.grad_w, &mut self.m_w, &mut self.v_w);
        step.update(&mut self.bias, &self.grad_b, &mut self.m_b, &mut self.v_b);
        self.zero_grad();
    }

    /// Clears the accumulated gradients.
    pub fn zero_grad(&mut self) {
        self.grad_w.iter_mut().for_each(|g| *g = 0.0);
        self.grad_b.iter_mut().for_each(|g| *g = 0.0);
    }

    /// The L2 penalty `l2 * sum W^2`, in f64.
    pub fn penalty(&self) -> f64 {
        self.l2 as f64 * self.weight.iter().map(|&w| (w as f64).powi(2)).sum::<f64>()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nn::OptimizerKind;

    pub(crate) const ACTIVATIONS: [Activation; 5] = [
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Tanh,
        Activation::Sigmoid,
    ];

    /// f64 reference of `act(x W + b)` for one layer, written independently of the
    /// f32 code (scalar activation formulas, plain loops).
    pub(crate) fn reference_layer(
        act: Activation,
        x: &[f64],
        batch: usize,
        w: &[f64],
        b: &[f64],
    ) -> Vec<f64> {
        let (output, input) = (b.len(), w.len() / b.len());
        let f = |z: f64| match act {
            Activation::Linear => z,
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu(a) => {
                if z > 0.0 {
                    z
                } else {
                    a as f64 * z
                }
            }
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
        };
        let mut y = vec![0.0; batch * output];
        for r in 0..batch {
            for j in 0..output {
                let mut z = b[j];
                for i in 0..input {
                    z += x[r * input + i] * w[i * output + j];
                }
                y[r * output + j] = f(z);
            }
        }
        y
    }

    pub(crate) fn random(n: usize, a: f64, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform_in(-a, a) as f32).collect()
    }

    pub(crate) fn f64s(x: &[f32]) -> Vec<f64> {
        x.iter().map(|&v| v as f64).collect()
    }

    pub(crate) fn assert_close(numeric: f64, analytic: f32, what: &str) {
        let analytic = analytic as f64;
        assert!(
            (numeric - analytic).abs() < 1e-4 * (1.0 + numeric.abs()),
            "{what}: numeric {numeric} analytic {analytic}"
        );
    }

    /// Loss `L = sum c * y` with fixed random `c`; its gradient w.r.t. `y` is `c`.
    /// Finite differences of the f64 reference (step 1e-6, where f64 is exact enough)
    /// against the layer's gradients: every weight, bias and input element, batch 3,
    /// for each activation.
    #[test]
    fn gradient_check_every_weight_bias_and_input() {
        let (input, output, batch) = (5, 4, 3);
        for act in ACTIVATIONS {
            let mut rng = Rng::seeded(11);
            let mut layer = Dense::new(
                input,
                output,
                act,
                DenseInit::GlorotUniform,
                &mut rng,
                Optimizer::default(),
            );
            layer
                .bias_mut()
                .copy_from_slice(&random(output, 0.5, &mut rng));
            let x = random(batch * input, 1.0, &mut rng);
            let c = f64s(&random(batch * output, 1.0, &mut rng));
            let (mut y, mut cache) = (vec![0.0; batch * output], DenseCache::new());
            layer.forward(&x, batch, &mut y, &mut cache);
            let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
            let mut dx = vec![f32::NAN; batch * input];
            layer.backward(&x, batch, &c32, Some(&mut dx), &mut cache);

            let (w, b, xs) = (f64s(layer.weight()), f64s(layer.bias()), f64s(&x));
            let loss = |w: &[f64], b: &[f64], x: &[f64]| {
                let y = reference_layer(act, x, batch, w, b);
                y.iter().zip(&c).map(|(y, c)| y * c).sum::<f64>()
            };
            // the forward pass itself agrees with the reference
            for (a, r) in y.iter().zip(reference_layer(act, &xs, batch, &w, &b)) {
                assert!((*a as f64 - r).abs() < 1e-5, "{act}: forward {a} vs {r}");
            }
            let h = 1e-6;
            let diff = |v: &mut Vec<f64>, j: usize, f: &dyn Fn(&[f64]) -> f64| {
                let keep = v[j];
                v[j] = keep + h;
                let plus = f(v);
                v[j] = keep - h;
                let minus = f(v);
                v[j] = keep;
                (plus - minus) / (2.0 * h)
            };
            let mut wv = w.clone();
            for j in 0..w.len() {
                let n = diff(&mut wv, j, &|w| loss(w, &b, &xs));
                assert_close(n, layer.weight_grad()[j], &format!("{act} weight {j}"));
            }
            let mut bv = b.clone();
            for j in 0..b.len() {
                let n = diff(&mut bv, j, &|b| loss(&w, b, &xs));
                assert_close(n, layer.bias_grad()[j], &format!("{act} bias {j}"));
            }
            let mut xv = xs.clone();
            for (j, &g) in dx.iter().enumerate() {
                let n = diff(&mut xv, j, &|x| loss(&w, &b, x));
                assert_close(n, g, &format!("{act} input {j}"));
            }
        }
    }

    /// Gradients accumulate over backward calls until `apply`; `apply` adds `2 l2 W`,
    /// updates with the optimizer and clears the gradients.
    #[test]
    fn apply_adds_l2_updates_and_clears() {
        let opt = Optimizer::default();
        let mut layer = Dense::from_weights(
            1,
            2,
            vec![1.0, -2.0],
            vec![0.5, 0.0],
            Activation::Linear,
            opt,
        );
        layer.l2 = 0.25;
        let x = [2.0];
        let (mut y, mut cache) = ([0.0; 2], DenseCache::new());
        for _ in 0..2 {
            layer.forward(&x, 1, &mut y, &mut cache);
            layer.backward(&x, 1, &[1.0, 3.0], None, &mut cache);
        }
        assert_eq!(layer.weight_grad(), &[4.0, 12.0]);
        assert_eq!(layer.bias_grad(), &[2.0, 6.0]);
        assert!((layer.penalty() - 0.25 * 5.0).abs() < 1e-12);
        layer.apply(&opt.step(1, 0.5));
        // w -= 0.5 (g + 2 * 0.25 w) = 0.5 * (4.5, 11); the bias has no L2
        assert_eq!(layer.weight(), &[-1.25, -7.5]);
        assert_eq!(layer.bias(), &[-0.5, -3.0]);
        assert!(
            layer
                .weight_grad()
                .iter()
                .chain(layer.bias_grad())
                .all(|&g| g == 0.0)
        );
    }

    /// Adam keeps per-weight state for weights and bias (two slots each).
    #[test]
    fn adam_state_is_sized_and_used() {
        let opt = Optimizer {
            kind: OptimizerKind::Adam,
            ..Optimizer::default()
        };
        let mut layer = Dense::from_weights(2, 1, vec![0.0; 2], vec![0.0], Activation::Linear, opt);
        assert_eq!(
            (layer.m_w.len(), layer.v_w.len(), layer.m_b.len()),
            (2, 2, 1)
        );
        let (mut y, mut cache) = ([0.0; 1], DenseCache::new());
        layer.forward(&[1.0, -1.0], 1, &mut y, &mut cache);
        layer.backward(&[1.0, -1.0], 1, &[1.0], None, &mut cache);
        layer.apply(&opt.step(1, 0.01));
        // Adam's first step moves every weight by about lr against the gradient sign
        assert!((layer.weight()[0] + 0.01).abs() < 1e-4);
        assert!((layer.weight()[1] - 0.01).abs() < 1e-4);
        assert!((layer.bias()[0] + 0.01).abs() < 1e-4);
    }

    /// Glorot and He bounds, zero bias, seeded draws.
    #[test]
    fn initialisers_respect_their_bounds_and_seed() {
        let opt = Optimizer::default();
        for init in [DenseInit::GlorotUniform, DenseInit::HeUniform] {
            let a = init.limit(30, 10);
            let layer = Dense::new(30, 10, Activation::Relu, init, &mut Rng::seeded(5), opt);
            assert!(layer.weight().iter().all(|w| w.abs() <= a));
            assert!(layer.bias().iter().all(|&b| b == 0.0));
            let var = layer
                .weight()
                .iter()
                .map(|&w| (w as f64).powi(2))
                .sum::<f64>()
                / 300.0;
            let want = (a as f64).powi(2) / 3.0;
            assert!(
                (var / want - 1.0).abs() < 0.25,
                "{init}: variance {var} vs {want}"
            );
            let again = Dense::new(30, 10, Activation::Relu, init, &mut Rng::seeded(5), opt);
            assert_eq!(layer.weight(), again.weight());
        }
        assert!(
            (DenseInit::GlorotUniform.limit(402, 2048) - (6.0f32 / 2450.0).sqrt()).abs() < 1e-7
        );
        assert_eq!(DenseInit::HeUniform.limit(24, 7), 0.5);
        assert!("xavier".parse::<DenseInit>().is_err());
    }
}
