//! A multilayer perceptron for the deep recommenders: hidden [`Dense`] layers with one
//! activation, [`Dropout`] after each hidden layer, and a final linear layer with one
//! unit. Its input is a batch of concatenated embeddings; its output one value per row;
//! its backward pass returns the gradient w.r.t. the input, which the model scatters
//! back into the embedding rows.

use super::kernels::{axpy, dot};
use super::{Activation, Dense, DenseCache, DenseInit, Dropout, Optimizer, Step};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Dense layers with dropout between them, and the buffers of one training batch.
///
/// ```
/// use embedrec::nn::{Activation, DenseInit, Mlp, Optimizer};
/// use embedrec::rng::Rng;
/// let mut rng = Rng::seeded(1);
/// let opt = Optimizer::default();
/// // 6 inputs -> 8 -> 4 -> 1
/// let mut mlp = Mlp::new(6, &[8, 4], Activation::Relu, 0.0, DenseInit::GlorotUniform, opt, &mut rng)
///     .unwrap();
/// let x = vec![0.5f32; 3 * 6]; // 3 rows
/// let y = mlp.forward_train(&x, 3, &mut rng).to_vec();
/// assert_eq!(y.len(), 3);
/// let mut dx = vec![0.0; 3 * 6];
/// mlp.backward(&x, &[1.0, 1.0, 1.0], Some(&mut dx)); // d(sum y)/dx
/// mlp.apply(&opt.step(1, 0.01));
/// let mut p = vec![0.0; 3];
/// mlp.predict(&x, 3, &mut p); // inference: no dropout, nothing kept
/// assert_eq!(mlp.param_count(), 6 * 8 + 8 + 8 * 4 + 4 + 4 + 1);
/// ```
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Dense>,
    /// One per hidden layer (after its activation).
    dropouts: Vec<Dropout>,
    caches: Vec<DenseCache>,
    /// Output of each hidden layer after dropout: the next layer's input.
    hidden_out: Vec<Vec<f32>>,
    /// Gradient w.r.t. each hidden layer's output.
    hidden_grad: Vec<Vec<f32>>,
    out: Vec<f32>,
    batch: usize,
    /// Use the affine-chain path when the stack is affine (see [`Mlp::is_affine`]).
    collapse: bool,
    /// The affine chain of the last [`Mlp::forward_train`] when it took that path.
    chain: Option<AffineChain>,
}

/// An all-linear stack without dropout, `y = (..((x W1 + b1) W2 + b2)..) WL + bL`, seen
/// as the one affine map it is: `y = x . s[0] + c`, where `s[l]` = dy/dh_l is the
/// sensitivity of the output to layer l's output (`s[L] = [1]`,
/// `s[l-1] = W_l s[l]`) and `c = sum_l b_l . s[l]`. Computing `s` costs one pass over
/// the weights per batch instead of `2 x weights` FLOP per row, and every gradient
/// follows from it exactly (see [`Mlp::backward`]): the same maths as the layer-by-layer
/// path in another order (so f32 rounding differs).
#[derive(Debug, Clone)]
struct AffineChain {
    /// `sensitivity[l]` = dy/dh_l, l = 0 (the input) ..= L (the output, `[1]`).
    sensitivity: Vec<Vec<f32>>,
    offset: f32,
}

impl AffineChain {
    fn of(layers: &[Dense]) -> Self {
        let mut sensitivity = vec![vec![1.0f32]];
        for layer in layers.iter().rev() {
            let below = sensitivity.last().expect("starts with the output");
            let above: Vec<f32> = layer
                .weight()
                .chunks_exact(layer.output())
                .map(|row| dot(row, below))
                .collect();
            sensitivity.push(above);
        }
        sensitivity.reverse();
        let offset = layers
            .iter()
            .zip(&sensitivity[1..])
            .map(|(l, s)| dot(l.bias(), s))
            .sum();
        AffineChain {
            sensitivity,
            offset,
        }
    }

    fn apply(&self, x: &[f32], out: &mut [f32]) {
        let s0 = &self.sensitivity[0];
        for (o, row) in out.iter_mut().zip(x.chunks_exact(s0.len())) {
            *o = dot(row, s0) + self.offset;
        }
    }
}

impl Mlp {
    /// `input -> hidden[0] -> ... -> 1`: hidden layers with `activation` and `init`,
    /// dropout `dropout` after each, and a final linear unit (Glorot-uniform, as Keras's
    /// `Dense(1)`). Weights are drawn from `rng` layer by layer.
    pub fn new(
        input: usize,
        hidden: &[usize],
        activation: Activation,
        dropout: f32,
        init: DenseInit,
        optimizer: Optimizer,
        rng: &mut Rng,
    ) -> Result<Self> {
        if input == 0 || hidden.contains(&0) {
            return Err(Error::Usage(format!(
                "dense layers need at least one unit (input {input}, hidden {hidden:?})"
            )));
        }
        let mut layers = Vec::with_capacity(hidden.len() + 1);
        let mut width = input;
        for &h in hidden {
            layers.push(Dense::new(width, h, activation, init, rng, optimizer));
            width = h;
        }
        layers.push(Dense::new(
            width,
            1,
            Activation::Linear,
            DenseInit::GlorotUniform,
            rng,
            optimizer,
        ));
        Self::from_layers(layers, dropout)
    }

    /// An MLP of the given layers (each one's input is the previous one's output; the
    /// last has one output) with dropout `dropout` after every layer but the last.
    pub fn from_layers(layers: Vec<Dense>, dropout: f32) -> Result<Self> {
        let Some(last) = layers.last() else {
            return Err(Error::Usage("an MLP needs at least one layer".into()));
        };
        if last.output() != 1 {
            return Err(Error::Usage(format!(
                "the last layer must have one output, not {}",
                last.output()
            )));
        }
        if let Some(w) = layers.windows(2).find(|w| w[0].output() != w[1].input()) {
            return Err(Error::Usage(format!(
                "layer widths do not chain: {} outputs into {} inputs",
                w[0].output(),
                w[1].input()
            )));
        }
        let hidden = layers.len() - 1;
        Ok(Mlp {
            dropouts: vec![Dropout::new(dropout)?; hidden],
            caches: vec![DenseCache::new(); layers.len()],
            hidden_out: vec![Vec::new(); hidden],
            hidden_grad: vec![Vec::new(); hidden],
            out: Vec::new(),
            batch: 0,
            collapse: true,
            chain: None,
            layers,
        })
    }

    /// True when every layer is linear and no dropout is on: the stack is then one
    /// affine map of its input, and training and inference take a shortcut that gives
    /// the same maths in far fewer FLOP (one pass over the weights per batch, not two
    /// FLOP per weight per row; see [`Mlp::set_collapse`]). The textbook's `book-dl` model
    /// is such a stack.
    pub fn is_affine(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.activation == Activation::Linear)
            && self.dropouts.iter().all(|d| d.rate() == 0.0)
    }

    /// Whether an affine stack ([`Mlp::is_affine`]) takes the affine-chain shortcut (the
    /// default) or the layer-by-layer matrix products (for benchmarks of the dense
    /// layers, and tests comparing the two).
    pub fn set_collapse(&mut self, collapse: bool) {
        self.collapse = collapse;
    }

    /// True when training and inference take the affine-chain shortcut.
    pub fn uses_affine_chain(&self) -> bool {
        self.collapse && self.is_affine()
    }

    /// Width of the input.
    pub fn input(&self) -> usize {
        self.layers[0].input()
    }

    /// The layers, input first.
    pub fn layers(&self) -> &[Dense] {
        &self.layers
    }

    /// Mutable layers (to set L2 factors or threads, or to read and write weights).
    pub fn layers_mut(&mut self) -> &mut [Dense] {
        &mut self.layers
    }

    /// The dropout after each hidden layer (with its last mask).
    pub fn dropouts(&self) -> &[Dropout] {
        &self.dropouts
    }

    /// Sets the L2 factor of every layer's weights.
    pub fn set_l2(&mut self, l2: f32) {
        self.layers.iter_mut().for_each(|l| l.l2 = l2);
    }

    /// Sets the threads of every layer's matrix products.
    pub fn set_threads(&mut self, threads: usize) {
        self.layers.iter_mut().for_each(|l| l.threads = threads);
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(Dense::param_count).sum()
    }

    /// The sum of the layers' L2 penalties.
    pub fn penalty(&self) -> f64 {
        self.layers.iter().map(Dense::penalty).sum()
    }

    /// Training forward pass over `batch` rows of `x` (batch x input): dropout masks are
    /// drawn from `rng`, and everything [`Mlp::backward`] needs is kept. Returns one
    /// output per row.
    pub fn forward_train(&mut self, x: &[f32], batch: usize, rng: &mut Rng) -> &[f32] {
        self.batch = batch;
        if self.uses_affine_chain() {
            assert_eq!(x.len(), batch * self.input(), "x must be batch x input");
            let chain = AffineChain::of(&self.layers);
            self.out.resize(batch, 0.0);
            chain.apply(x, &mut self.out);
            self.chain = Some(chain);
            return &self.out;
        }
        self.chain = None;
        let n = self.layers.len();
        for i in 0..n {
            let layer = &self.layers[i];
            let (before, after) = self.hidden_out.split_at_mut(i);
            let input: &[f32] = if i == 0 { x } else { &before[i - 1] };
            let out = if i + 1 < n {
                &mut after[0]
            } else {
                &mut self.out
            };
            out.resize(batch * layer.output(), 0.0);
            layer.forward(input, batch, out, &mut self.caches[i]);
            if i + 1 < n {
                self.dropouts[i].forward_train(out, rng);
            }
        }
        self.batch = batch;
        &self.out
    }

    /// Backward pass of the last [`Mlp::forward_train`] (same `x`): `grad_out` holds
    /// dL/d(output) per row. Accumulates every layer's gradients and writes dL/dx
    /// (batch x input) into `grad_in` when given.
    pub fn backward(&mut self, x: &[f32], grad_out: &[f32], grad_in: Option<&mut [f32]>) {
        let (n, batch) = (self.layers.len(), self.batch);
        assert_eq!(grad_out.len(), batch, "one output gradient per row");
        if let Some(chain) = self.chain.take() {
            self.backward_affine(&chain, x, grad_out, grad_in);
            self.chain = Some(chain);
            return;
        }
        let mut grad_in = grad_in;
        for i in (0..n).rev() {
            let (grads_below, grads_here) = self.hidden_grad.split_at_mut(i);
            let g_out: &[f32] = if i + 1 < n { &grads_here[0] } else { grad_out };
            let input: &[f32] = if i == 0 { x } else { &self.hidden_out[i - 1] };
            let g_in: Option<&mut [f32]> = if i == 0 {
                grad_in.as_deref_mut()
            } else {
                let g = &mut grads_below[i - 1];
                g.resize(batch * self.layers[i].input(), 0.0);
                Some(g.as_mut_slice())
            };
            self.layers[i].backward(input, batch, g_out, g_in, &mut self.caches[i]);
            if i > 0 {
                self.dropouts[i - 1].backward(&mut self.hidden_grad[i - 1]);
            }
        }
    }

    /// [`Mlp::backward`] of an affine stack, from its chain: with `g` = dL/dy per row,
    /// dL/dh_l = g s[l]^T (rank one), so layer l's weight gradient is
    /// `a[l-1] s[l]^T` with `a[l-1]` = h_{l-1}^T g, its bias gradient `(sum g) s[l]`,
    /// and `a[l] = W_l^T a[l-1] + (sum g) b_l` chains upwards from `a[0] = x^T g`;
    /// dL/dx = g s[0]^T.
    fn backward_affine(
        &mut self,
        chain: &AffineChain,
        x: &[f32],
        grad_out: &[f32],
        grad_in: Option<&mut [f32]>,
    ) {
        let width = self.input();
        assert_eq!(x.len(), grad_out.len() * width, "x must be batch x input");
        let total: f32 = grad_out.iter().sum();
        let mut a = vec![0.0f32; width];
        for (row, &g) in x.chunks_exact(width).zip(grad_out) {
            axpy(g, row, &mut a);
        }
        for (layer, s) in self.layers.iter_mut().zip(&chain.sensitivity[1..]) {
            let mut next = vec![0.0f32; layer.output()];
            for (w_row, &ai) in layer.weight().chunks_exact(layer.output()).zip(&a) {
                axpy(ai, w_row, &mut next);
            }
            axpy(total, layer.bias(), &mut next);
            let (grad_w, grad_b) = layer.grads_mut();
            for (g_row, &ai) in grad_w.chunks_exact_mut(s.len()).zip(&a) {
                axpy(ai, s, g_row);
            }
            axpy(total, s, grad_b);
            a = next;
        }
        if let Some(grad_in) = grad_in {
            let s0 = &chain.sensitivity[0];
            for (row, &g) in grad_in.chunks_exact_mut(width).zip(grad_out) {
                row.iter_mut().zip(s0).for_each(|(d, &s)| *d = g * s);
            }
        }
    }

    /// Updates every layer with `step` and clears the gradients.
    pub fn apply(&mut self, step: &Step) {
        self.layers.iter_mut().for_each(|l| l.apply(step));
    }

    /// Inference over `batch` rows of `x` into `out` (one value per row): no dropout,
    /// nothing kept (allocates its scratch).
    pub fn predict(&self, x: &[f32], batch: usize, out: &mut [f32]) {
        assert_eq!(out.len(), batch, "one output per row");
        if self.uses_affine_chain() {
            assert_eq!(x.len(), batch * self.input(), "x must be batch x input");
            AffineChain::of(&self.layers).apply(x, out);
            return;
        }
        let mut input = x.to_vec();
        let n = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            if i + 1 == n {
                layer.infer(&input, batch, out);
            } else {
                let mut next = vec![0.0; batch * layer.output()];
                layer.infer(&input, batch, &mut next);
                input = next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::dense::tests::{ACTIVATIONS, assert_close, f64s, random, reference_layer};

    /// f64 reference of the whole MLP: layer by layer, the given dropout masks (one per
    /// hidden layer, empty = none) multiplied in after each hidden layer.
    fn reference_mlp(
        acts: &[Activation],
        ws: &[Vec<f64>],
        bs: &[Vec<f64>],
        masks: &[Vec<f64>],
        x: &[f64],
        batch: usize,
    ) -> Vec<f64> {
        let mut h = x.to_vec();
        for l in 0..ws.len() {
            h = reference_layer(acts[l], &h, batch, &ws[l], &bs[l]);
            if l + 1 < ws.len() && !masks[l].is_empty() {
                h.iter_mut().zip(&masks[l]).for_each(|(h, m)| *h *= m);
            }
        }
        h
    }

    /// Every weight, bias and input element of a 2-hidden-layer MLP (batch 4) against
    /// finite differences of the f64 reference with `L = sum c * y`, for each
    /// activation; without dropout, and with dropout using the masks of the forward
    /// pass (a fixed mask makes the network a fixed function).
    #[test]
    fn gradient_check_every_weight_and_input() {
        let (input, hidden, batch) = (6, [5, 3], 4);
        for act in ACTIVATIONS {
            for dropout in [0.0f32, 0.4] {
                let mut rng = Rng::seeded(21);
                let opt = Optimizer::default();
                let mut mlp = Mlp::new(
                    input,
                    &hidden,
                    act,
                    dropout,
                    DenseInit::HeUniform,
                    opt,
                    &mut rng,
                )
                .unwrap();
                for layer in mlp.layers_mut() {
                    let b = random(layer.output(), 0.3, &mut rng);
                    layer.bias_mut().copy_from_slice(&b);
                }
                let x = random(batch * input, 1.0, &mut rng);
                let c = f64s(&random(batch, 1.0, &mut rng));
                let y = mlp.forward_train(&x, batch, &mut rng).to_vec();
                let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
                let mut dx = vec![f32::NAN; batch * input];
                mlp.backward(&x, &c32, Some(&mut dx));

                let acts: Vec<Activation> = mlp.layers().iter().map(|l| l.activation).collect();
                let mut ws: Vec<Vec<f64>> = mlp.layers().iter().map(|l| f64s(l.weight())).collect();
                let mut bs: Vec<Vec<f64>> = mlp.layers().iter().map(|l| f64s(l.bias())).collect();
                let masks: Vec<Vec<f64>> = mlp.dropouts().iter().map(|d| f64s(d.mask())).collect();
                assert_eq!(masks.iter().any(|m| m.contains(&0.0)), dropout > 0.0);
                let mut xs = f64s(&x);
                let loss = |ws: &[Vec<f64>], bs: &[Vec<f64>], x: &[f64]| {
                    let y = reference_mlp(&acts, ws, bs, &masks, x, batch);
                    y.iter().zip(&c).map(|(y, c)| y * c).sum::<f64>()
                };
                let reference = reference_mlp(&acts, &ws, &bs, &masks, &xs, batch);
                for (a, r) in y.iter().zip(&reference) {
                    assert!((*a as f64 - r).abs() < 1e-5, "{act}: forward {a} vs {r}");
                }
                let h = 1e-6;
                let what = format!("{act} dropout {dropout}");
                for l in 0..ws.len() {
                    for j in 0..ws[l].len() {
                        let keep = ws[l][j];
                        ws[l][j] = keep + h;
                        let plus = loss(&ws, &bs, &xs);
                        ws[l][j] = keep - h;
                        let minus = loss(&ws, &bs, &xs);
                        ws[l][j] = keep;
                        let g = mlp.layers()[l].weight_grad()[j];
                        assert_close((plus - minus) / (2.0 * h), g, &format!("{what} W{l}[{j}]"));
                    }
                    for j in 0..bs[l].len() {
                        let keep = bs[l][j];
                        bs[l][j] = keep + h;
                        let plus = loss(&ws, &bs, &xs);
                        bs[l][j] = keep - h;
                        let minus = loss(&ws, &bs, &xs);
                        bs[l][j] = keep;
                        let g = mlp.layers()[l].bias_grad()[j];
                        assert_close((plus - minus) / (2.0 * h), g, &format!("{what} b{l}[{j}]"));
                    }
                }
                for j in 0..xs.len() {
                    let keep = xs[j];
                    xs[j] = keep + h;
                    let plus = loss(&ws, &bs, &xs);
                    xs[j] = keep - h;
                    let minus = loss(&ws, &bs, &xs);
                    xs[j] = keep;
                    assert_close((plus - minus) / (2.0 * h), dx[j], &format!("{what} x[{j}]"));
                }
            }
        }
    }

    /// The textbook's deep network uses linear activations: then the whole MLP is one
    /// affine map `x W + b` with `W = W0 W1 W2` and `b = (b0 W1 + b1) W2 + b2`, so it
    /// cannot model any interaction between its inputs (user x item).
    #[test]
    fn linear_mlp_is_one_linear_map() {
        let mut rng = Rng::seeded(8);
        let (input, batch) = (7, 5);
        let mut mlp = Mlp::new(
            input,
            &[9, 4],
            Activation::Linear,
            0.0,
            DenseInit::GlorotUniform,
            Optimizer::default(),
            &mut rng,
        )
        .unwrap();
        for layer in mlp.layers_mut() {
            let b = random(layer.output(), 0.5, &mut rng);
            layer.bias_mut().copy_from_slice(&b);
        }
        // compose in f64: w (input x width) and b (width), layer by layer
        let mut w: Vec<f64> = (0..input * input)
            .map(|k| (k / input == k % input) as u8 as f64)
            .collect();
        let mut b = vec![0.0f64; input];
        let mut width = input;
        for layer in mlp.layers() {
            let (lw, out) = (f64s(layer.weight()), layer.output());
            let mut nw = vec![0.0; input * out];
            let mut nb = f64s(layer.bias());
            for j in 0..out {
                for k in 0..width {
                    for i in 0..input {
                        nw[i * out + j] += w[i * width + k] * lw[k * out + j];
                    }
                    nb[j] += b[k] * lw[k * out + j];
                }
            }
            (w, b, width) = (nw, nb, out);
        }
        assert_eq!(width, 1);
        let x = random(batch * input, 1.0, &mut rng);
        let mut y = vec![0.0; batch];
        mlp.predict(&x, batch, &mut y);
        let trained = mlp.forward_train(&x, batch, &mut rng).to_vec();
        assert_eq!(y, trained);
        for r in 0..batch {
            let lin: f64 = b[0]
                + (0..input)
                    .map(|i| x[r * input + i] as f64 * w[i])
                    .sum::<f64>();
            assert!(
                (y[r] as f64 - lin).abs() < 1e-5,
                "row {r}: {} vs {lin}",
                y[r]
            );
        }
    }

    /// The affine-chain shortcut of a linear stack gives the layer-by-layer path's
    /// outputs, weight and bias gradients and input gradient (up to f32 rounding), and
    /// is not taken with a non-linear activation or with dropout.
    #[test]
    fn affine_chain_matches_layer_by_layer() {
        let (input, batch) = (11, 6);
        let build = |collapse: bool| {
            let mut rng = Rng::seeded(13);
            let mut mlp = Mlp::new(
                input,
                &[17, 5],
                Activation::Linear,
                0.0,
                DenseInit::GlorotUniform,
                Optimizer::default(),
                &mut rng,
            )
            .unwrap();
            for layer in mlp.layers_mut() {
                let b = random(layer.output(), 0.5, &mut rng);
                layer.bias_mut().copy_from_slice(&b);
            }
            mlp.set_collapse(collapse);
            mlp
        };
        let (mut fast, mut slow) = (build(true), build(false));
        assert!(fast.uses_affine_chain() && !slow.uses_affine_chain());
        let mut rng = Rng::seeded(3);
        let x = random(batch * input, 1.0, &mut rng);
        let g = random(batch, 1.0, &mut rng);
        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            for (j, (a, b)) in a.iter().zip(b).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{what}[{j}]: {a} vs {b}"
                );
            }
        };
        let (mut dx_fast, mut dx_slow) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
        for round in 0..2 {
            let y_fast = fast.forward_train(&x, batch, &mut rng).to_vec();
            let y_slow = slow.forward_train(&x, batch, &mut rng).to_vec();
            close(&y_fast, &y_slow, "output");
            let mut p = vec![0.0; batch];
            fast.predict(&x, batch, &mut p);
            close(&p, &y_slow, "predict");
            fast.backward(&x, &g, Some(&mut dx_fast));
            slow.backward(&x, &g, Some(&mut dx_slow));
            close(&dx_fast, &dx_slow, "dx");
            for (a, b) in fast.layers().iter().zip(slow.layers()) {
                close(a.weight_grad(), b.weight_grad(), "weight gradient");
                close(a.bias_grad(), b.bias_grad(), "bias gradient");
            }
            // a step, so the second round runs on updated weights
            let step = Optimizer::default().step(round + 1, 0.1);
            fast.apply(&step);
            slow.apply(&step);
        }
        for (act, dropout) in [(Activation::Relu, 0.0), (Activation::Linear, 0.2)] {
            let mut rng = Rng::seeded(1);
            let opt = Optimizer::default();
            let init = DenseInit::GlorotUniform;
            let mlp = Mlp::new(input, &[4], act, dropout, init, opt, &mut rng).unwrap();
            assert!(!mlp.uses_affine_chain(), "{act} dropout {dropout}");
        }
    }

    /// Training reduces a squared loss on a non-linear target (x0 * x1, an interaction)
    /// with ReLU layers: the forward, backward and apply steps fit together.
    #[test]
    fn relu_mlp_learns_an_interaction() {
        let mut rng = Rng::seeded(5);
        let opt = Optimizer {
            kind: crate::nn::OptimizerKind::Adam,
            ..Optimizer::default()
        };
        let mut mlp = Mlp::new(
            2,
            &[32, 16],
            Activation::Relu,
            0.0,
            DenseInit::HeUniform,
            opt,
            &mut rng,
        )
        .unwrap();
        let batch = 64;
        let mse = |mlp: &Mlp, x: &[f32], t: &[f32]| {
            let mut y = vec![0.0; t.len()];
            mlp.predict(x, t.len(), &mut y);
            y.iter()
                .zip(t)
                .map(|(y, t)| ((y - t) as f64).powi(2))
                .sum::<f64>()
                / t.len() as f64
        };
        let xt = random(2 * 512, 1.0, &mut rng);
        let tt: Vec<f32> = xt.chunks(2).map(|p| p[0] * p[1]).collect();
        let before = mse(&mlp, &xt, &tt);
        for step in 1..=600u64 {
            let x = random(2 * batch, 1.0, &mut rng);
            let y = mlp.forward_train(&x, batch, &mut rng).to_vec();
            let g: Vec<f32> = y
                .iter()
                .zip(x.chunks(2))
                .map(|(y, p)| 2.0 * (y - p[0] * p[1]) / batch as f32)
                .collect();
            mlp.backward(&x, &g, None);
            mlp.apply(&opt.step(step, 0.01));
        }
        let after = mse(&mlp, &xt, &tt);
        assert!(after < 0.2 * before, "mse {before} -> {after}");
    }

    #[test]
    fn bad_shapes_are_usage_errors() {
        let opt = Optimizer::default();
        let mut rng = Rng::seeded(1);
        let relu = Activation::Relu;
        let init = DenseInit::GlorotUniform;
        assert!(Mlp::new(0, &[4], relu, 0.0, init, opt, &mut rng).is_err());
        assert!(Mlp::new(3, &[4, 0], relu, 0.0, init, opt, &mut rng).is_err());
        assert!(Mlp::new(3, &[4], relu, 1.0, init, opt, &mut rng).is_err());
        let l = |i, o| Dense::new(i, o, relu, init, &mut Rng::seeded(1), opt);
        assert!(Mlp::from_layers(vec![], 0.0).is_err());
        assert!(Mlp::from_layers(vec![l(3, 2)], 0.0).is_err());
        assert!(Mlp::from_layers(vec![l(3, 2), l(3, 1)], 0.0).is_err());
        assert!(Mlp::from_layers(vec![l(3, 2), l(2, 1)], 0.0).is_ok());
        // an MLP without hidden layers is a linear model
        assert!(Mlp::new(3, &[], relu, 0.0, init, opt, &mut rng).is_ok());
    }
}
