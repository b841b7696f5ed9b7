//! Bias baselines: the global mean, and `mu + b_u + b_i` fitted by alternating least
//! squares (the method and defaults of Surprise's `BaselineOnly`).

use super::Recommender;
use super::flags::Flag;
use super::{AnyModel, Feedback, FoldedUser, Kind, Model, NamedTensor, Tensors};
use crate::data::Ratings;
use crate::error::{Error, Result};

/// Parameters of [`Baseline`].
///
/// | name | default | meaning | valid range |
/// |---|---|---|---|
/// | `epochs` | 10 | ALS sweeps (item biases, then user biases) | 1..=10000 |
/// | `reg_item` | 10 | L2 shrinkage of item biases | ≥ 0 |
/// | `reg_user` | 15 | L2 shrinkage of user biases | ≥ 0 |
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BaselineParams {
    /// ALS sweeps.
    pub epochs: usize,
    /// L2 shrinkage of item biases.
    pub reg_item: f64,
    /// L2 shrinkage of user biases.
    pub reg_user: f64,
}

impl Default for BaselineParams {
    fn default() -> Self {
        BaselineParams {
            epochs: 10,
            reg_item: 10.0,
            reg_user: 15.0,
        }
    }
}

impl BaselineParams {
    /// Checks the ranges in the table above.
    pub fn check(&self) -> Result<()> {
        if !(1..=10_000).contains(&self.epochs) {
            return Err(Error::Usage(format!(
                "baseline epochs must be in 1..=10000, got {}",
                self.epochs
            )));
        }
        for (name, v) in [("reg_item", self.reg_item), ("reg_user", self.reg_user)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::Usage(format!(
                    "baseline {name} must be a finite number >= 0, got {v}"
                )));
            }
        }
        Ok(())
    }

    /// Fits the biases on `train` (indices below `n_users` / `n_items`), calling
    /// `on_epoch(epoch, &model)` after each sweep (epochs count from 1).
    ///
    /// ```
    /// use embedrec::data::Ratings;
    /// use embedrec::models::{BaselineParams, Recommender};
    /// let mut r = Ratings::default();
    /// for (u, i, v) in [(0, 0, 5.0), (0, 1, 4.0), (1, 0, 3.0), (1, 1, 2.0)] {
    ///     r.push(u, i, v, None);
    /// }
    /// let model = BaselineParams::default().train(&r, 2, 2, |_, _| Ok(())).unwrap();
    /// assert!(model.score(0, 0) > model.score(1, 1));
    /// ```
    pub fn train(
        &self,
        train: &Ratings,
        n_users: u32,
        n_items: u32,
        mut on_epoch: impl FnMut(usize, &Baseline) -> Result<()>,
    ) -> Result<Baseline> {
        self.check()?;
        if train.is_empty() {
            return Err(Error::Usage("cannot fit a baseline on no ratings".into()));
        }
        let mu = train.mean();
        let mut model = Baseline {
            mu: mu as f32,
            user_bias: vec![0.0; n_users as usize],
            item_bias: vec![0.0; n_items as usize],
        };
        let mut sums_u = vec![0.0f64; n_users as usize];
        let mut sums_i = vec![0.0f64; n_items as usize];
        let mut count_u = vec![0u32; n_users as usize];
        let mut count_i = vec![0u32; n_items as usize];
        for (&u, &i) in train.users.iter().zip(&train.items) {
            count_u[u as usize] += 1;
            count_i[i as usize] += 1;
        }
        for epoch in 1..=self.epochs {
            sums_i.iter_mut().for_each(|s| *s = 0.0);
            for k in 0..train.len() {
                let (u, i) = (train.users[k] as usize, train.items[k] as usize);
                sums_i[i] += train.values[k] as f64 - mu - model.user_bias[u] as f64;
            }
            for (b, (&s, &c)) in model.item_bias.iter_mut().zip(sums_i.iter().zip(&count_i)) {
                *b = (s / (self.reg_item + c as f64)) as f32;
            }
            sums_u.iter_mut().for_each(|s| *s = 0.0);
            for k in 0..train.len() {
                let (u, i) = (train.users[k] as usize, train.items[k] as usize);
                sums_u[u] += train.values[k] as f64 - mu - model.item_bias[i] as f64;
            }
            for (b, (&s, &c)) in model.user_bias.iter_mut().zip(sums_u.iter().zip(&count_u)) {
                *b = (s / (self.reg_user + c as f64)) as f32;
            }
            on_epoch(epoch, &model)?;
        }
        Ok(model)
    }
}

/// `mu + b_u + b_i`.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Global mean of the training ratings.
    pub mu: f32,
    /// Per-user bias.
    pub user_bias: Vec<f32>,
    /// Per-item bias.
    pub item_bias: Vec<f32>,
}

impl Recommender for Baseline {
    fn kind(&self) -> &'static str {
        "baseline"
    }
    fn n_users(&self) -> u32 {
        self.user_bias.len() as u32
    }
    fn n_items(&self) -> u32 {
        self.item_bias.len() as u32
    }
    fn param_count(&self) -> usize {
        self.user_bias.len() + self.item_bias.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        self.mu + self.user_bias[user as usize] + self.item_bias[item as usize]
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.mu
            + user.map_or(0.0, |u| self.user_bias[u as usize])
            + item.map_or(0.0, |i| self.item_bias[i as usize])
    }
}

/// Predicts the global mean of the training ratings for everything.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalMean {
    /// The mean.
    pub mu: f32,
    /// Users seen in training.
    pub users: u32,
    /// Items seen in training.
    pub items: u32,
}

impl GlobalMean {
    /// The mean of `train`.
    pub fn fit(train: &Ratings, n_users: u32, n_items: u32) -> Self {
        GlobalMean {
            mu: train.mean() as f32,
            users: n_users,
            items: n_items,
        }
    }
}

impl Recommender for GlobalMean {
    fn kind(&self) -> &'static str {
        "global-mean"
    }
    fn n_users(&self) -> u32 {
        self.users
    }
    fn n_items(&self) -> u32 {
        self.items
    }
    fn param_count(&self) -> usize {
        1
    }
    fn score(&self, _: u32, _: u32) -> f32 {
        self.mu
    }
    fn fallback(&self, _: Option<u32>, _: Option<u32>) -> f32 {
        self.mu
    }
}

impl Baseline {
    /// The bias of a new user from `(item, rating)` pairs with the items frozen: the ALS
    /// user step `b_u = sum (r - mu - b_i) / (reg_user + n)`.
    pub fn fold_in_bias(&self, ratings: &[(u32, f32)], reg_user: f64) -> f32 {
        let n = ratings.len() as f64;
        let sum: f64 = ratings
            .iter()
            .map(|&(i, r)| (r - self.mu - self.item_bias[i as usize]) as f64)
            .sum();
        (sum / (reg_user + n)) as f32
    }

    /// The baseline's tensors under `t`, for `users` x `items` rows.
    pub(crate) fn load_tensors(
        users: usize,
        items: usize,
        t: &mut Tensors<'_>,
    ) -> Result<Self, String> {
        Ok(Baseline {
            mu: t.scalar("mu")?,
            user_bias: t.values("user_bias", &[users])?,
            item_bias: t.values("item_bias", &[items])?,
        })
    }

    /// The baseline's tensors (`mu [1]`, `user_bias [U]`, `item_bias [I]`).
    pub(crate) fn named_tensors(&self) -> Vec<NamedTensor<'_>> {
        vec![
            NamedTensor::new("mu", &[1], std::slice::from_ref(&self.mu)),
            NamedTensor::new("user_bias", &[self.user_bias.len()], &self.user_bias),
            NamedTensor::new("item_bias", &[self.item_bias.len()], &self.item_bias),
        ]
    }
}

/// `reg_user` of baseline params in a model file (`None`: absent), or the default.
pub(crate) fn reg_user_of(params: Option<&serde_json::Value>) -> f64 {
    params
        .and_then(|p| p.get("reg_user"))
        .and_then(|v| v.as_f64())
        .unwrap_or(BaselineParams::default().reg_user)
}

impl Model for Baseline {
    boxed_model!();

    fn tensors(&self) -> Vec<NamedTensor<'_>> {
        self.named_tensors()
    }

    /// The ALS user step ([`Baseline::fold_in_bias`]).
    fn fold_in(
        &self,
        params: &serde_json::Value,
        _: Feedback,
        ratings: &[(u32, f32)],
        base: FoldedUser,
    ) -> Result<FoldedUser> {
        Ok(FoldedUser {
            bias: self.fold_in_bias(ratings, reg_user_of(Some(params))),
            ..base
        })
    }

    fn folded_scores(&self, user: &FoldedUser) -> Vec<f32> {
        self.item_bias
            .iter()
            .map(|&bi| self.mu + user.bias + bi)
            .collect()
    }
}

/// The registry's entry.
pub(crate) const KIND: Kind = Kind {
    name: "baseline",
    about: "mu + user bias + item bias, fitted by ALS (Surprise's BaselineOnly)",
    load: |_, users, items, t| Baseline::load_tensors(users, items, t).map(AnyModel::new),
    member: Some(|_| Box::new(BaselineParams::default())),
    params: super::rating_params::<BaselineParams>,
    read: Some(super::read::<BaselineParams>),
    presets: &[],
    flags: |implicit| {
        (!implicit).then(|| {
            vec![
                Flag::field("--epochs", "epochs"),
                Flag::field("--reg-user", "reg_user"),
                Flag::field("--reg-item", "reg_item"),
            ]
        })
    },
    no_preset: Some("the baseline has no presets"),
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Closed-form check: with one sweep from zero user biases, b_i = sum(r - mu) / (reg + n_i).
    #[test]
    fn first_sweep_matches_hand_computation() {
        let mut r = Ratings::default();
        for (u, i, v) in [(0, 0, 5.0), (1, 0, 4.0), (0, 1, 1.0)] {
            r.push(u, i, v, None);
        }
        let p = BaselineParams {
            epochs: 1,
            reg_item: 1.0,
            reg_user: 2.0,
        };
        let m = p.train(&r, 2, 2, |_, _| Ok(())).unwrap();
        let mu = 10.0 / 3.0;
        let bi0 = ((5.0 - mu) + (4.0 - mu)) / 3.0;
        let bi1 = (1.0 - mu) / 2.0;
        let bu0 = ((5.0 - mu - bi0) + (1.0 - mu - bi1)) / 4.0;
        let bu1 = (4.0 - mu - bi0) / 3.0;
        let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-5;
        assert!(close(m.item_bias[0], bi0) && close(m.item_bias[1], bi1));
        assert!(close(m.user_bias[0], bu0) && close(m.user_bias[1], bu1));
        assert!(close(m.score(1, 1), mu + bu1 + bi1));
        let p = m.predict(5, 0);
        assert!(p.fallback && close(p.value, mu + bi0));
    }

    #[test]
    fn bad_params_are_usage_errors() {
        let r = Ratings::default();
        assert!(
            BaselineParams {
                epochs: 0,
                ..Default::default()
            }
            .train(&r, 1, 1, |_, _| Ok(()))
            .is_err()
        );
        assert!(
            BaselineParams {
                reg_user: f64::NAN,
                ..Default::default()
            }
            .check()
            .is_err()
        );
        assert!(
            BaselineParams::default()
                .train(&r, 1, 1, |_, _| Ok(()))
                .is_err()
        );
    }
}
