//! I-AutoRec (Sedhain, Menon, Sanner and Xie, WWW 2015): an autoencoder over each
//! item's vector of user ratings, trained on the observed entries only.
//!
//! For item `i` with training ratings `r_ui` (`u` in `R(i)`), the code is
//! `h_i = sigmoid(sum_{u in R(i)} r_ui V_u + b)` (`V`: users x H, the encoder) and the
//! reconstruction of user `u`'s rating is `c_u + W_u . h_i` (`W`: users x H, the decoder).
//! The loss is `1/2 sum_{observed} (c_u + W_u . h_i - r_ui)^2 + lambda/2 (|V|^2 + |W|^2)`;
//! both sums run over the observed entries only, so an epoch costs O(ratings x H), not
//! O(items x users x H): the encoder reads each item's sparse rating vector and the
//! decoder is evaluated at the observed users only. Minibatches of items, Adam, a
//! `B / items` share of the penalty per batch.
//!
//! Once trained, the item codes `h_i` are computed from all the training ratings, and a
//! prediction is a dot product `c_u + W_u . h_i` — so scoring, top-N, `similar` (cosine of
//! codes) and fold-in (ridge regression of a new user's `W_u, c_u` on the frozen codes)
//! work as for MF. Unknown users or items get the fallback of a bias [`Baseline`] fitted
//! on the same data.

use super::with_training_fields;
use super::{AnyModel, Feedback, FoldedUser, Kind, Model, NamedTensor, Prediction, Tensors};
use super::{Baseline, BaselineParams, Recommender};
use crate::data::Ratings;
use crate::error::{Error, Result};
use crate::nn::kernels::{axpy, dot};
use crate::nn::{Optimizer, OptimizerKind};
use crate::rng::Rng;
use crate::train::{EpochRecord, EvalSets, History, Network, SHUFFLE_SALT, Schedule};
use std::sync::Arc;

with_training_fields! {
    /// Parameters of [`AutoRec`].
    ///
    /// | name | default | meaning | valid range |
    /// |---|---|---|---|
    /// | `hidden` | 500 | code size H | ≥ 1 |
    /// | `epochs` | 60 | passes over the items | 1..=100000 |
    /// | `batch` | 64 | items per minibatch | ≥ 1 |
    /// | `optimizer` | Adam | optimizer of every weight (see [`Optimizer`]) | |
    /// | `lr` | 0.001 | learning rate | > 0 |
    /// | `lr_decay` | 0.97 | learning-rate multiplier after each epoch | (0, 1] |
    /// | `l2` | none: `8500 x users / ratings` | `lambda`, the L2 penalty of `V` and `W`; unset, the rule of [`AutoRecParams::l2_rule`] (100 on ML-100K's folds) | ≥ 0 |
    /// | `init` | 0.03 | encoder and decoder weights drawn uniformly from ±`init` | > 0 |
    /// | `val_fraction` | 0.1 | share of training data carved for early stopping (used with `patience`; with `patience` 0 nothing is carved) | [0, 0.5] |
    /// | `patience` | 10 | epochs without a better validation RMSE before stopping (0: never; all `epochs` on all the training ratings) | |
    /// | `refit` | true | after early stopping on a carve, train again on all the training ratings for the best epoch count | |
    /// | `input` | auto | the encoder's input: `ratings`, `residuals` (of the baseline, with `residual`), or `auto`: with early stopping, both are trained on the carve and the better kept; without, `ratings` | |
    /// | `seed` | 42 | initialisation and shuffling | any |
    /// | `clip` | true | clip predictions to the rating scale | |
    /// | `residual` | true | learn the residual of a bias baseline `mu + b_u + b_i` fitted on the same ratings (the decoder's targets are the residuals, the encoder's input as `input` says; the prediction adds the baseline back) | |
    ///
    /// The defaults were chosen on a validation split carved from `u1.base` (`embedrec
    /// search --model autorec --data u1.base --grid ...`, 10% held out; see BENCHMARKS.md),
    /// never on a test file; the residual, the early stopping, the input choice and the
    /// lambda rule on carves of ML-100K and of three shapes unlike it (docs/tuning.md).
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(default)]
    pub struct AutoRecParams {
        /// Code size H.
        pub hidden: usize,
        ..schedule,
        /// L2 penalty `lambda` of the encoder and decoder weights; `None`: the rule of
        /// [`AutoRecParams::l2_rule`].
        pub l2: Option<f32>,
        /// Half-width of the uniform weight initialisation.
        pub init: f32,
        ..stopping,
        /// Learn the residual of the bias baseline instead of the raw ratings (a model file
        /// without this key predates it: raw ratings).
        #[serde(default)]
        pub residual: bool,
        /// After early stopping on a carve, train again on all the training ratings for the
        /// best epoch count.
        pub refit: bool,
        /// The encoder's input.
        pub input: AutoRecInput,
    }
}

/// What the encoder of [`AutoRecParams`] reads of an item's ratings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoRecInput {
    /// With early stopping on validation data, both inputs are tried and the one of the
    /// better validation RMSE kept; without, `Ratings`.
    #[default]
    Auto,
    /// The ratings themselves (Sedhain et al.): the code also sees who rated the item.
    Ratings,
    /// The ratings less the bias baseline's `mu + b_u + b_i` (needs `residual`): only
    /// how the raters departed from the baseline.
    Residuals,
}

impl Default for AutoRecParams {
    fn default() -> Self {
        AutoRecParams {
            hidden: 500,
            epochs: 60,
            batch: 64,
            optimizer: Optimizer {
                kind: OptimizerKind::Adam,
                ..Default::default()
            },
            lr: 0.001,
            lr_decay: 0.97,
            l2: None,
            init: 0.03,
            val_fraction: 0.1,
            patience: 10,
            seed: 42,
            clip: true,
            residual: true,
            refit: true,
            input: AutoRecInput::Auto,
        }
    }
}

impl AutoRecParams {
    /// Checks the ranges in the table above.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Usage(format!("autorec {what}")));
        if self.hidden == 0 || self.batch == 0 {
            return bad(format!(
                "hidden and batch must be >= 1, got {} and {}",
                self.hidden, self.batch
            ));
        }
        if !(1..=100_000).contains(&self.epochs) {
            return bad(format!("epochs must be in 1..=100000, got {}", self.epochs));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be > 0, got {}", self.lr));
        }
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return bad(format!("lr_decay must be in (0, 1], got {}", self.lr_decay));
        }
        if let Some(l2) = self.l2
            && !(l2.is_finite() && l2 >= 0.0)
        {
            return bad(format!("l2 must be >= 0, got {l2}"));
        }
        if self.input == AutoRecInput::Residuals && !self.residual {
            return bad("input residuals needs residual (targets of the baseline)".into());
        }
        if !(self.init.is_finite() && self.init > 0.0) {
            return bad(format!("init must be > 0, got {}", self.init));
        }
        if !(0.0..=0.5).contains(&self.val_fraction) {
            return bad(format!(
                "val_fraction must be in [0, 0.5], got {}",
                self.val_fraction
            ));
        }
        self.optimizer.check()
    }

    /// The default `lambda` for training ratings `r`: `8500 x users / ratings` (users
    /// with a training rating), i.e. 100 at ML-100K's 85 ratings a user, more for users
    /// with fewer ratings each. Chosen on validation carves (docs/tuning.md).
    pub fn l2_rule(r: &Ratings) -> f32 {
        if r.is_empty() {
            return 100.0;
        }
        let mut users = r.users.clone();
        users.sort_unstable();
        users.dedup();
        (8500.0 * users.len() as f64 / r.len() as f64) as f32
    }

    /// `l2`, or the rule's value for `train`.
    pub fn l2_for(&self, train: &Ratings) -> f32 {
        self.l2.unwrap_or_else(|| Self::l2_rule(train))
    }

    /// Trains on `sets.train` (users below `n_users`, items below `n_items`), reporting
    /// RMSE on every set after each epoch (clipped by `sets.clip`); with a validation set
    /// and `patience > 0` the best epoch's weights are kept. One thread: a seeded run is
    /// bit-reproducible.
    ///
    /// ```
    /// use embedrec::data::Ratings;
    /// use embedrec::models::{AutoRecParams, Recommender};
    /// use embedrec::train::EvalSets;
    /// let mut r = Ratings::default();
    /// for (u, i, v) in [(0, 0, 5.0), (0, 1, 4.0), (1, 0, 2.0), (1, 1, 1.0), (2, 0, 5.0)] {
    ///     r.push(u, i, v, None);
    /// }
    /// let sets = EvalSets { train: &r, val: None, test: None, clip: None };
    /// let p = AutoRecParams {
    ///     hidden: 4, epochs: 300, l2: Some(0.01), lr: 0.01, patience: 0, ..Default::default()
    /// };
    /// let (model, _) = p.train(sets, 3, 2, |_, _| Ok(())).unwrap();
    /// assert!(model.score(2, 1) > model.score(1, 1)); // user 2 rates like user 0
    /// ```
    pub fn train(
        &self,
        sets: EvalSets<'_>,
        n_users: u32,
        n_items: u32,
        mut on_epoch: impl FnMut(&EpochRecord, &dyn Recommender) -> Result<()>,
    ) -> Result<(AutoRec, History)> {
        self.check()?;
        if self.patience > 0 && sets.val.is_none() {
            return Err(Error::Usage(
                "patience > 0 (early stopping) needs validation data: a validation carve \
                 (val_fraction > 0) or validation ratings"
                    .into(),
            ));
        }
        let train = sets.train;
        if train.is_empty() {
            return Err(Error::Usage("cannot train on no ratings".into()));
        }
        let fallback = BaselineParams::default().train(train, n_users, n_items, |_, _| Ok(()))?;
        let mut columns = ItemColumns::new(train, n_items as usize);
        if self.residual {
            columns.subtract_baseline(&fallback, self.input == AutoRecInput::Residuals);
        }
        let l2 = self.l2_for(train);
        let net = Net::new(self, n_users as usize);
        let model = net.model(&columns, &fallback, n_items as usize, self.residual);
        let mut trainer = Trainer {
            order: (0..n_items).filter(|&i| columns.len(i) > 0).collect(),
            columns: Arc::new(columns),
            fallback,
            net,
            model,
            l2,
            n_items: n_items as usize,
            optimizer: self.optimizer,
            residual: self.residual,
        };
        let schedule = Schedule {
            // The loop seeds its shuffle with `seed ^ SHUFFLE_SALT`: autorec's item
            // order is drawn from `self.seed ^ 0xa07e_c0de`, as it always was.
            seed: self.seed ^ 0xa07e_c0de ^ SHUFFLE_SALT,
            ..self.schedule()
        };
        let history = crate::train::fit(&mut trainer, sets, &schedule, |record, t| {
            on_epoch(record, &t.model)
        })?;
        Ok((trainer.model, history))
    }
}

/// The training ratings grouped by item (CSR).
struct ItemColumns {
    offsets: Vec<usize>,
    users: Vec<u32>,
    /// The encoder's inputs.
    values: Vec<f32>,
    /// The decoder's targets.
    targets: Vec<f32>,
}

impl ItemColumns {
    fn new(r: &Ratings, n_items: usize) -> Self {
        let mut offsets = vec![0usize; n_items + 1];
        r.items.iter().for_each(|&i| offsets[i as usize + 1] += 1);
        for i in 0..n_items {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let (mut users, mut values) = (vec![0u32; r.len()], vec![0f32; r.len()]);
        for k in 0..r.len() {
            let at = &mut fill[r.items[k] as usize];
            users[*at] = r.users[k];
            values[*at] = r.values[k];
            *at += 1;
        }
        ItemColumns {
            offsets,
            users,
            targets: values.clone(),
            values,
        }
    }

    /// Makes the targets (and with `inputs`, the encoder's inputs too) the residuals of
    /// `base`.
    fn subtract_baseline(&mut self, base: &Baseline, inputs: bool) {
        for item in 0..self.offsets.len() - 1 {
            for k in self.offsets[item]..self.offsets[item + 1] {
                self.targets[k] -= base.score(self.users[k], item as u32);
            }
        }
        if inputs {
            self.values.clone_from(&self.targets);
        }
    }

    /// The item's users, inputs and targets.
    fn column_targets(&self, item: u32) -> (&[u32], &[f32], &[f32]) {
        let (lo, hi) = (self.offsets[item as usize], self.offsets[item as usize + 1]);
        (
            &self.users[lo..hi],
            &self.values[lo..hi],
            &self.targets[lo..hi],
        )
    }

    fn len(&self, item: u32) -> usize {
        self.offsets[item as usize + 1] - self.offsets[item as usize]
    }

    fn column(&self, item: u32) -> (&[u32], &[f32]) {
        let (lo, hi) = (self.offsets[item as usize], self.offsets[item as usize + 1]);
        (&self.users[lo..hi], &self.values[lo..hi])
    }
}

/// The trainable weights with their gradients and optimizer state.
#[derive(Debug, Clone)]
struct Net {
    h: usize,
    /// Encoder `V`, users x H; its bias `b` (H).
    enc: Vec<f32>,
    enc_bias: Vec<f32>,
    /// Decoder `W`, users x H; its bias `c` (users).
    dec: Vec<f32>,
    dec_bias: Vec<f32>,
    grads: [Vec<f32>; 4],
    m: [Vec<f32>; 4],
    v: [Vec<f32>; 4],
    /// Scratch: the code, the pre-activation gradient.
    code: Vec<f32>,
    dcode: Vec<f32>,
}

impl Net {
    fn new(p: &AutoRecParams, users: usize) -> Self {
        let h = p.hidden;
        let mut rng = Rng::seeded(p.seed);
        let a = p.init as f64;
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform_in(-a, a) as f32).collect() };
        let enc = draw(users * h);
        let dec = draw(users * h);
        let sizes = [users * h, h, users * h, users];
        let state = |slot: usize| {
            sizes.map(|n| {
                vec![
                    if p.optimizer.state_slots() >= slot {
                        p.optimizer.state_init()
                    } else {
                        0.0
                    };
                    n
                ]
            })
        };
        Net {
            h,
            enc,
            enc_bias: vec![0.0; h],
            dec,
            dec_bias: vec![0.0; users],
            grads: sizes.map(|n| vec![0.0; n]),
            m: state(1),
            v: state(2),
            code: vec![0.0; h],
            dcode: vec![0.0; h],
        }
    }

    fn zero_grad(&mut self) {
        self.grads
            .iter_mut()
            .for_each(|g| g.iter_mut().for_each(|x| *x = 0.0));
    }

    /// `code = sigmoid(sum r_u V_u + b)` of one item column.
    fn encode(
        enc: &[f32],
        enc_bias: &[f32],
        h: usize,
        users: &[u32],
        values: &[f32],
        code: &mut [f32],
    ) {
        code.copy_from_slice(enc_bias);
        for (&u, &r) in users.iter().zip(values) {
            axpy(r, &enc[u as usize * h..(u as usize + 1) * h], code);
        }
        code.iter_mut().for_each(|z| *z = 1.0 / (1.0 + (-*z).exp()));
    }

    /// Adds the gradient of the batch's data loss `1/2 sum (c_u + W_u.h_i - r_ui)^2` to
    /// the gradients and returns that loss.
    fn batch_loss_and_grad(&mut self, items: &[u32], columns: &ItemColumns) -> f64 {
        let h = self.h;
        let mut loss = 0.0f64;
        let [g_enc, g_enc_bias, g_dec, g_dec_bias] = &mut self.grads;
        for &item in items {
            let (users, values, targets) = columns.column_targets(item);
            Self::encode(&self.enc, &self.enc_bias, h, users, values, &mut self.code);
            self.dcode.iter_mut().for_each(|d| *d = 0.0);
            for (&u, &r) in users.iter().zip(targets) {
                let u = u as usize;
                let w = &self.dec[u * h..(u + 1) * h];
                let e = self.dec_bias[u] + dot(w, &self.code) - r;
                loss += 0.5 * (e as f64) * (e as f64);
                g_dec_bias[u] += e;
                axpy(e, &self.code, &mut g_dec[u * h..(u + 1) * h]);
                axpy(e, w, &mut self.dcode);
            }
            // through the sigmoid
            for (d, &y) in self.dcode.iter_mut().zip(&self.code) {
                *d *= y * (1.0 - y);
            }
            g_enc_bias
                .iter_mut()
                .zip(&self.dcode)
                .for_each(|(g, &d)| *g += d);
            for (&u, &r) in users.iter().zip(values) {
                let u = u as usize;
                axpy(r, &self.dcode, &mut g_enc[u * h..(u + 1) * h]);
            }
        }
        loss
    }

    /// One optimizer step on every weight, with `l2 * W` added to the gradients of `V`
    /// and `W` (the batch's share of `lambda/2 |W|^2`).
    fn apply(&mut self, step: &crate::nn::Step, l2: f32) {
        let params: [&mut Vec<f32>; 4] = [
            &mut self.enc,
            &mut self.enc_bias,
            &mut self.dec,
            &mut self.dec_bias,
        ];
        for (k, w) in params.into_iter().enumerate() {
            if l2 > 0.0 && (k == 0 || k == 2) {
                self.grads[k]
                    .iter_mut()
                    .zip(w.iter())
                    .for_each(|(g, &x)| *g += l2 * x);
            }
            step.update(w, &self.grads[k], &mut self.m[k], &mut self.v[k]);
        }
    }

    /// The servable model: codes of every item from `columns`.
    fn model(
        &self,
        columns: &ItemColumns,
        fallback: &Baseline,
        n_items: usize,
        residual: bool,
    ) -> AutoRec {
        let h = self.h;
        let mut codes = vec![0.0f32; n_items * h];
        for (i, code) in codes.chunks_exact_mut(h).enumerate() {
            let (users, values) = columns.column(i as u32);
            Self::encode(&self.enc, &self.enc_bias, h, users, values, code);
        }
        AutoRec {
            hidden: h,
            decoder: self.dec.clone(),
            output_bias: self.dec_bias.clone(),
            codes,
            fallback: fallback.clone(),
            residual,
        }
    }
}

/// What the shared epoch loop ([`crate::train::fit`]) drives: the network, the items'
/// columns it trains on (shuffled item order, batches of items), and the servable model
/// as of the last epoch, which the loop evaluates and keeps at the best epoch.
#[derive(Clone)]
struct Trainer {
    net: Net,
    columns: Arc<ItemColumns>,
    fallback: Baseline,
    /// The items with ratings, in this epoch's order.
    order: Vec<u32>,
    model: AutoRec,
    l2: f32,
    n_items: usize,
    optimizer: Optimizer,
    residual: bool,
}

impl Network for Trainer {
    /// Not used: the epochs run in the network's own order (batches of items, not of
    /// ratings; see [`Network::train_epoch_in_own_order`]).
    fn train_batch(&mut self, _: &Ratings, _: &[u32], _: u64, _: f32) -> f64 {
        0.0
    }

    fn train_epoch_in_own_order(
        &mut self,
        _: &Ratings,
        batch: usize,
        rng: &mut Rng,
        step: &mut u64,
        lr: f32,
    ) -> bool {
        rng.shuffle(&mut self.order);
        for items in self.order.chunks(batch) {
            *step += 1;
            self.net.zero_grad();
            self.net.batch_loss_and_grad(items, &self.columns);
            let share = items.len() as f32 / self.order.len() as f32;
            self.net
                .apply(&self.optimizer.step(*step, lr), self.l2 * share);
        }
        true
    }

    /// Rebuilds the servable model (every item's code) from the weights.
    fn flush(&mut self) {
        self.model = (self.net).model(&self.columns, &self.fallback, self.n_items, self.residual);
    }
}

impl Recommender for Trainer {
    fn kind(&self) -> &'static str {
        self.model.kind()
    }
    fn n_users(&self) -> u32 {
        self.model.n_users()
    }
    fn n_items(&self) -> u32 {
        self.model.n_items()
    }
    fn param_count(&self) -> usize {
        self.model.param_count()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        self.model.score(user, item)
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.model.fallback(user, item)
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        self.model.score_items(user, out)
    }
    fn predict_many(&self, users: &[u32], items: &[u32], out: &mut Vec<Prediction>) {
        self.model.predict_many(users, items, out)
    }
    fn predict_many_at(
        &self,
        users: &[u32],
        items: &[u32],
        times: Option<&[i64]>,
        out: &mut Vec<Prediction>,
    ) {
        self.model.predict_many_at(users, items, times, out)
    }
}

/// A trained I-AutoRec, in its servable form: `score(u, i) = c_u + W_u . h_i`.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoRec {
    /// Code size H.
    pub hidden: usize,
    /// Decoder rows `W_u`, users x H.
    pub decoder: Vec<f32>,
    /// Decoder bias `c_u`, one per user.
    pub output_bias: Vec<f32>,
    /// Item codes `h_i`, items x H, computed from the training ratings.
    pub codes: Vec<f32>,
    /// Bias model for unknown users or items.
    pub fallback: Baseline,
    /// Whether the scores add `fallback`'s `mu + b_u + b_i` (the network learned the
    /// residual of that baseline).
    pub residual: bool,
}

impl Recommender for AutoRec {
    fn kind(&self) -> &'static str {
        "autorec"
    }
    fn n_users(&self) -> u32 {
        self.output_bias.len() as u32
    }
    fn n_items(&self) -> u32 {
        (self.codes.len() / self.hidden) as u32
    }
    fn param_count(&self) -> usize {
        // encoder and decoder with their biases (the codes are derived from them)
        2 * self.decoder.len() + self.output_bias.len() + self.hidden
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        let (u, i, h) = (user as usize, item as usize, self.hidden);
        let base = if self.residual {
            self.fallback.score(user, item)
        } else {
            0.0
        };
        base + self.output_bias[u]
            + dot(
                &self.decoder[u * h..(u + 1) * h],
                &self.codes[i * h..(i + 1) * h],
            )
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.fallback.fallback(user, item)
    }
}

impl Model for AutoRec {
    boxed_model!();

    /// `decoder [U, H]`, `output_bias [U]`, `codes [I, H]`, and the fallback baseline's
    /// `mu`, `user_bias`, `item_bias`.
    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        let (u, i, h) = (
            self.output_bias.len(),
            self.codes.len() / self.hidden,
            self.hidden,
        );
        let mut v = vec![
            NamedTensor::new("decoder", &[u, h], &self.decoder),
            NamedTensor::new("output_bias", &[u], &self.output_bias),
            NamedTensor::new("codes", &[i, h], &self.codes),
        ];
        v.extend(self.fallback.named_tensors());
        v
    }

    fn item_factors(&self) -> Option<(&[f32], usize)> {
        Some((&self.codes, self.hidden))
    }

    /// The decoder row and bias of the new user: ridge regression on the frozen item
    /// codes with the training penalty lambda on the row (AutoRec's objective restricted
    /// to this user); a residual model fits the ratings less `mu + b_i`, the intercept
    /// taking the place of the user's bias and output bias together.
    fn fold_in(
        &self,
        params: &serde_json::Value,
        _: Feedback,
        ratings: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser> {
        let l2 = params.get("l2").and_then(|v| v.as_f64()).unwrap_or(100.0);
        let h = self.hidden;
        let codes = |i: u32| &self.codes[i as usize * h..(i as usize + 1) * h];
        let offset = |i: u32| self.item_offset(i);
        let (w, bias) =
            crate::nn::linalg::ridge_user(ratings, h, codes, offset, l2.max(1e-6), 1e-6);
        Ok(FoldedUser {
            bias,
            factors: w,
            ..base
        })
    }

    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        let h = self.hidden;
        (0..self.n_items() as usize)
            .map(|i| {
                self.item_offset(i as u32)
                    + user.bias
                    + dot(&user.factors, &self.codes[i * h..(i + 1) * h])
            })
            .collect()
    }
}

impl AutoRec {
    /// What a residual model adds to every score of item `item` besides the user's
    /// terms: `mu + b_i` (0 for a model of raw ratings).
    fn item_offset(&self, item: u32) -> f32 {
        if self.residual {
            self.fallback.mu + self.fallback.item_bias[item as usize]
        } else {
            0.0
        }
    }
}

fn load(
    params: &serde_json::Value,
    users: usize,
    items: usize,
    t: &mut Tensors<'_>,
) -> std::result::Result<AnyModel, String> {
    let p = super::params_of::<AutoRecParams>("autorec", params, AutoRecParams::check)?;
    let hidden = p.hidden;
    let decoder = t.values("decoder", &[users, hidden])?;
    Ok(AnyModel::new(AutoRec {
        hidden,
        decoder,
        output_bias: t.values("output_bias", &[users])?,
        codes: t.values("codes", &[items, hidden])?,
        fallback: Baseline::load_tensors(users, items, t)?,
        residual: p.residual,
    }))
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "autorec",
    about: "I-AutoRec: an autoencoder of each item's ratings (code size --hidden)",
    load,
    member: Some(|seed| {
        Box::new(AutoRecParams {
            seed,
            ..Default::default()
        })
    }),
    params: super::rating_params::<AutoRecParams>,
    read: Some(super::read::<AutoRecParams>),
    presets: &[],
    flags: |implicit| {
        use super::flags::{self, Flag};
        (!implicit).then(|| {
            let mut v = flags::SCHEDULE.to_vec();
            v.push(flags::L2);
            v.extend(flags::STOPPING);
            v.push(Flag::parsed("--hidden", "hidden", |s| {
                let size: usize = s.trim().parse().map_err(|_| {
                    Error::Usage(format!("--hidden: autorec takes one code size, got '{s}'"))
                })?;
                Ok(size.into())
            }));
            v
        })
    },
    no_preset: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The data loss of a tiny net in f64, written independently of the training code.
    fn loss_f64(net: &Net, items: &[u32], cols: &ItemColumns) -> f64 {
        let h = net.h;
        let mut loss = 0.0;
        for &i in items {
            let (users, values) = cols.column(i);
            let code: Vec<f64> = (0..h)
                .map(|k| {
                    let z = net.enc_bias[k] as f64
                        + users
                            .iter()
                            .zip(values)
                            .map(|(&u, &r)| r as f64 * net.enc[u as usize * h + k] as f64)
                            .sum::<f64>();
                    1.0 / (1.0 + (-z).exp())
                })
                .collect();
            for (&u, &r) in users.iter().zip(values) {
                let u = u as usize;
                let o = net.dec_bias[u] as f64
                    + (0..h)
                        .map(|k| net.dec[u * h + k] as f64 * code[k])
                        .sum::<f64>();
                loss += 0.5 * (o - r as f64).powi(2);
            }
        }
        loss
    }

    fn weight(n: &mut Net, k: usize, j: usize) -> &mut f32 {
        match k {
            0 => &mut n.enc[j],
            1 => &mut n.enc_bias[j],
            2 => &mut n.dec[j],
            _ => &mut n.dec_bias[j],
        }
    }

    /// Finite-difference check of every weight's gradient (central differences of the
    /// f64 loss).
    #[test]
    fn gradients_match_finite_differences() {
        let mut r = Ratings::default();
        for (u, i, v) in [
            (0, 0, 5.0),
            (1, 0, 3.0),
            (2, 0, 1.0),
            (0, 1, 2.0),
            (2, 1, 4.0),
            (1, 2, 5.0),
            (3, 2, 2.0),
        ] {
            r.push(u, i, v, None);
        }
        let cols = ItemColumns::new(&r, 3);
        let p = AutoRecParams {
            hidden: 3,
            init: 0.3,
            ..Default::default()
        };
        let mut net = Net::new(&p, 4);
        net.enc_bias = vec![0.1, -0.2, 0.05];
        net.dec_bias = vec![3.0, 2.5, 3.5, 1.0];
        let items = [0u32, 1, 2];
        net.zero_grad();
        let loss = net.batch_loss_and_grad(&items, &cols);
        assert!((loss - loss_f64(&net, &items, &cols)).abs() < 1e-4);
        let eps = 1e-3f32;
        for k in 0..4 {
            for j in 0..net.grads[k].len() {
                let mut plus = net.clone();
                let mut minus = net.clone();
                *weight(&mut plus, k, j) += eps;
                *weight(&mut minus, k, j) -= eps;
                let numeric = (loss_f64(&plus, &items, &cols) - loss_f64(&minus, &items, &cols))
                    / (2.0 * eps as f64);
                let analytic = net.grads[k][j] as f64;
                assert!(
                    (numeric - analytic).abs() < 2e-2 * (1.0 + numeric.abs()),
                    "tensor {k}[{j}]: numeric {numeric} analytic {analytic}"
                );
            }
        }
    }

    /// A seeded run is bit-reproducible.
    #[test]
    fn seeded_runs_are_identical() {
        let mut r = Ratings::default();
        let mut rng = Rng::seeded(3);
        for _ in 0..300 {
            r.push(
                rng.below(20) as u32,
                rng.below(15) as u32,
                1.0 + rng.below(5) as f32,
                None,
            );
        }
        let sets = EvalSets {
            train: &r,
            val: None,
            test: None,
            clip: None,
        };
        let p = AutoRecParams {
            hidden: 8,
            epochs: 3,
            batch: 4,
            patience: 0,
            ..Default::default()
        };
        let (a, _) = p.train(sets, 20, 15, |_, _| Ok(())).unwrap();
        let (b, _) = p.train(sets, 20, 15, |_, _| Ok(())).unwrap();
        assert_eq!(a, b);
    }
}
