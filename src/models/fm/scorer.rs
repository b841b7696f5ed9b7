//! Scoring with the kept samples. A sample's prediction for user `u`, item `i` (and a
//! time row `t`) is `w0 + a_u + a_i (+ a_t) + <q_u, q_i> (+ <q_u + q_i, q_t>)`, with `a`
//! a row's own terms (linear plus its pairwise interactions) and `q` its factor sums.
//! The average over S samples is therefore `bias + ua[u] + ia[i] + <p_u, q_i>`, where
//! `ua`, `ia` average the rows' own terms and `p_u`, `q_i` concatenate the samples'
//! factor sums, each scaled by `1/sqrt(S)`: one dot product of `S x K` values, as a
//! matrix factorization's.
//!
//! With time features, the rows used for scores without a time (`score`, `score_items`,
//! fold-in) hold the time row expected for the pair: a known user's row the `day`
//! terms averaged over the user's training days (by their share of the user's
//! ratings; a new user's over every training rating's day), an item's row the item's
//! age at the last training day;
//! [`Scorer::score_at`] scores at any time from the untimed item rows and the day and
//! item-age tables.

use super::design::{AGE_BUCKETS, Clock, Design};
use super::gibbs::row_summaries;
use crate::models::{Prediction, Recommender};
use crate::nn::kernels::dot;

/// See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scorer {
    pub bias: f32,
    pub ua: Vec<f32>,
    pub ia: Vec<f32>,
    pub p: Vec<f32>,
    pub q: Vec<f32>,
    pub width: usize,
    /// `[S, items]`: each sample's item-row terms (at the last training day).
    pub item_a: Vec<f32>,
    time: Option<Timed>,
}

/// What scores at a given time: the untimed item rows and the time tables.
#[derive(Debug, Clone, PartialEq)]
struct Timed {
    clock: Clock,
    ua: Vec<f32>,
    p: Vec<f32>,
    ia: Vec<f32>,
    q: Vec<f32>,
    day_a: Vec<f32>,
    day_v: Vec<f32>,
    age_a: Vec<f32>,
    age_v: Vec<f32>,
}

impl Scorer {
    /// The scorer of samples given as `(w0, w, v)`.
    pub fn of_samples<'s>(
        design: &Design,
        k: usize,
        samples: impl ExactSizeIterator<Item = (f64, &'s [f64], &'s [f64])>,
    ) -> Scorer {
        let s = samples.len();
        let (users, items) = (design.user.rows(), design.item.rows());
        let width = s * k;
        let scale = 1.0 / (s as f64).sqrt();
        let share = 1.0 / s as f64;
        let mut bias = 0.0;
        let (mut ua, mut ia, mut ia_raw) =
            (vec![0f64; users], vec![0f64; items], vec![0f64; items]);
        let mut ua_raw = vec![0f64; users];
        let (mut p, mut p_raw) = (vec![0f32; users * width], vec![0f32; users * width]);
        let (mut q, mut q_raw) = (vec![0f32; items * width], vec![0f32; items * width]);
        let mut item_a = vec![0f32; s * items];
        let clock = design.clock.as_ref();
        let table = |first: Option<u32>, len: usize| match first {
            Some(_) => (vec![0f64; len], vec![0f32; len * width]),
            None => (Vec::new(), Vec::new()),
        };
        let (mut day_a, mut day_v) = table(
            clock.and_then(|c| c.day),
            clock.map_or(0, |c| c.days as usize),
        );
        let (mut age_a, mut age_v) = table(clock.and_then(|c| c.age), AGE_BUCKETS as usize);
        for (t, (w0, w, v)) in samples.enumerate() {
            bias += w0 * share;
            let (a, sums) = row_summaries(&design.user, w, v, k);
            let mut qt = vec![0f64; k];
            for u in 0..users {
                let qu = &sums[u * k..(u + 1) * k];
                // A known user's score without a time: averaged over the user's days.
                qt.iter_mut().for_each(|x| *x = 0.0);
                let mut a_now = a[u];
                if let Some(c) = clock.filter(|c| c.day.is_some()) {
                    for (j, share) in c.user_days.row(u) {
                        a_now += share * w[j];
                        for f in 0..k {
                            qt[f] += share * v[j * k + f];
                        }
                    }
                    a_now += qu.iter().zip(&qt).map(|(x, y)| x * y).sum::<f64>();
                }
                ua[u] += a_now * share;
                ua_raw[u] += a[u] * share;
                for f in 0..k {
                    p[u * width + t * k + f] = ((qu[f] + qt[f]) * scale) as f32;
                    p_raw[u * width + t * k + f] = (qu[f] * scale) as f32;
                }
            }
            let (a, sums) = row_summaries(&design.item, w, v, k);
            let mut qt = vec![0f64; k];
            for i in 0..items {
                let qi = &sums[i * k..(i + 1) * k];
                let mut a_now = a[i];
                qt.iter_mut().for_each(|x| *x = 0.0);
                // The item's age at the last training day (the day itself is in the
                // user's row).
                if let Some((c, first)) = clock.and_then(|c| c.age.map(|f| (c, f))) {
                    let j = (first + c.age_of(i as u32, c.now())) as usize;
                    a_now += w[j];
                    for f in 0..k {
                        qt[f] = v[j * k + f];
                    }
                    a_now += qi.iter().zip(&qt).map(|(x, y)| x * y).sum::<f64>();
                }
                ia[i] += a_now * share;
                ia_raw[i] += a[i] * share;
                item_a[t * items + i] = a_now as f32;
                for f in 0..k {
                    q[i * width + t * k + f] = ((qi[f] + qt[f]) * scale) as f32;
                    q_raw[i * width + t * k + f] = (qi[f] * scale) as f32;
                }
            }
            for (first, acc, out) in [
                (clock.and_then(|c| c.day), &mut day_a, &mut day_v),
                (clock.and_then(|c| c.age), &mut age_a, &mut age_v),
            ] {
                if let Some(first) = first {
                    for (l, slot) in acc.iter_mut().enumerate() {
                        let j = first as usize + l;
                        *slot += w[j] * share;
                        for f in 0..k {
                            out[l * width + t * k + f] = (v[j * k + f] * scale) as f32;
                        }
                    }
                }
            }
        }
        let f32s = |x: Vec<f64>| x.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        let time = clock.map(|c| Timed {
            clock: c.clone(),
            ua: f32s(ua_raw),
            p: p_raw,
            ia: f32s(ia_raw),
            q: q_raw,
            day_a: f32s(day_a),
            day_v,
            age_a: f32s(age_a),
            age_v,
        });
        Scorer {
            bias: bias as f32,
            ua: f32s(ua),
            ia: f32s(ia),
            p,
            q,
            width,
            item_a,
            time,
        }
    }

    /// The (unclipped) score of a user and an item, either unknown (`None`), at time `t`
    /// (Unix seconds); without time features, the score or fallback.
    pub fn score_at(&self, user: Option<u32>, item: Option<u32>, t: i64) -> f32 {
        let Some(tm) = &self.time else {
            return match (user, item) {
                (Some(u), Some(i)) => self.score(u, i),
                (u, i) => self.fallback(u, i),
            };
        };
        let w = self.width;
        let pu = user.map(|u| &tm.p[u as usize * w..(u as usize + 1) * w]);
        let qi = item.map(|i| &tm.q[i as usize * w..(i as usize + 1) * w]);
        let both = |x: &[f32]| pu.map_or(0.0, |p| dot(p, x)) + qi.map_or(0.0, |q| dot(q, x));
        let mut value = self.bias
            + user.map_or(0.0, |u| tm.ua[u as usize])
            + item.map_or(0.0, |i| tm.ia[i as usize]);
        if let (Some(p), Some(q)) = (pu, qi) {
            value += dot(p, q);
        }
        let day = tm.clock.day_of(t);
        let dv = tm
            .clock
            .day
            .map(|_| &tm.day_v[day as usize * w..(day as usize + 1) * w]);
        if let Some(dv) = dv {
            value += tm.day_a[day as usize] + both(dv);
        }
        if let (Some(_), Some(i)) = (tm.clock.age, item) {
            let b = tm.clock.age_of(i, day) as usize;
            let av = &tm.age_v[b * w..(b + 1) * w];
            value += tm.age_a[b] + both(av) + dv.map_or(0.0, |d| dot(d, av));
        }
        value
    }

    /// [`Recommender::predict_many_at`].
    pub fn predict_at(
        &self,
        users: &[u32],
        items: &[u32],
        times: Option<&[i64]>,
        out: &mut Vec<Prediction>,
    ) {
        let (Some(times), Some(_)) = (times, &self.time) else {
            return self.predict_many(users, items, out);
        };
        out.clear();
        out.extend((users.iter().zip(items).zip(times)).map(|((&u, &i), &t)| {
            let u = (u < self.n_users()).then_some(u);
            let i = (i < self.n_items()).then_some(i);
            Prediction {
                value: self.score_at(u, i, t),
                fallback: u.is_none() || i.is_none(),
            }
        }));
    }
}

impl Recommender for Scorer {
    fn kind(&self) -> &'static str {
        "fm"
    }
    fn n_users(&self) -> u32 {
        self.ua.len() as u32
    }
    fn n_items(&self) -> u32 {
        self.ia.len() as u32
    }
    fn param_count(&self) -> usize {
        1 + self.ua.len() + self.ia.len() + self.p.len() + self.q.len()
    }
    fn score(&self, user: u32, item: u32) -> f32 {
        let (u, i, w) = (user as usize, item as usize, self.width);
        self.bias
            + self.ua[u]
            + self.ia[i]
            + dot(&self.p[u * w..(u + 1) * w], &self.q[i * w..(i + 1) * w])
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        self.bias
            + user.map_or(0.0, |u| self.ua[u as usize])
            + item.map_or(0.0, |i| self.ia[i as usize])
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        let (u, w) = (user as usize, self.width);
        let pu = &self.p[u * w..(u + 1) * w];
        let base = self.bias + self.ua[u];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = base + self.ia[i] + dot(pu, &self.q[i * w..(i + 1) * w]);
        }
    }
    fn predict_many_at(
        &self,
        users: &[u32],
        items: &[u32],
        times: Option<&[i64]>,
        out: &mut Vec<Prediction>,
    ) {
        self.predict_at(users, items, times, out)
    }
}
