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
use super::probit::Curves;
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
    /// Under the ordered-probit link: what each sample's output needs on its own.
    link: Option<Linked>,
}

/// The ordered-probit link's view of the samples: a score is the expected level of
/// every sample's own output (see [`super::probit`]), averaged. A sample's output is
/// `w0 + a_u + a_i + S <p_u, q_i>` restricted to the sample's `K` entries of the
/// concatenated factor sums (each scaled by `1/sqrt(S)`).
#[derive(Debug, Clone, PartialEq)]
struct Linked {
    /// Each sample's expected level as a function of its output.
    curves: Curves,
    /// `[S]`.
    w0: Vec<f32>,
    /// `[S, users]`: each sample's user-row terms (with the user's days), as `ua`.
    ua: Vec<f32>,
    /// `[S, users]`, `[S, items]`, `[S, days]`, `[S, AGE_BUCKETS]`: the untimed rows and
    /// the time tables of each sample (empty without time features).
    ua_raw: Vec<f32>,
    ia_raw: Vec<f32>,
    day_a: Vec<f32>,
    age_a: Vec<f32>,
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
    /// The scorer of samples given as `(w0, w, v)`, under the ordered-probit link when
    /// `link` holds its levels and every sample's cut points (`[S, L - 1]`).
    pub fn of_samples<'s>(
        design: &Design,
        k: usize,
        samples: impl ExactSizeIterator<Item = (f64, &'s [f64], &'s [f64])>,
        link: Option<(&[f32], &[f32])>,
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
        let mut per = Linked {
            curves: Curves::new(&[0.0, 1.0], &[]),
            w0: Vec::new(),
            ua: Vec::new(),
            ua_raw: Vec::new(),
            ia_raw: Vec::new(),
            day_a: Vec::new(),
            age_a: Vec::new(),
        };
        let linked = link.is_some();
        for (t, (w0, w, v)) in samples.enumerate() {
            bias += w0 * share;
            if linked {
                per.w0.push(w0 as f32);
            }
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
                if linked {
                    per.ua.push(a_now as f32);
                    per.ua_raw.push(a[u] as f32);
                }
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
                if linked {
                    per.ia_raw.push(a[i] as f32);
                }
                item_a[t * items + i] = a_now as f32;
                for f in 0..k {
                    q[i * width + t * k + f] = ((qi[f] + qt[f]) * scale) as f32;
                    q_raw[i * width + t * k + f] = (qi[f] * scale) as f32;
                }
            }
            for (first, acc, out, own) in [
                (
                    clock.and_then(|c| c.day),
                    &mut day_a,
                    &mut day_v,
                    &mut per.day_a,
                ),
                (
                    clock.and_then(|c| c.age),
                    &mut age_a,
                    &mut age_v,
                    &mut per.age_a,
                ),
            ] {
                if let Some(first) = first {
                    for (l, slot) in acc.iter_mut().enumerate() {
                        let j = first as usize + l;
                        *slot += w[j] * share;
                        if linked {
                            own.push(w[j] as f32);
                        }
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
        let link = link.map(|(levels, cuts)| Linked {
            curves: Curves::new(levels, cuts),
            ..per
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
            link,
        }
    }

    /// Under the ordered-probit link: the average over samples of the expected level of
    /// each sample's output, the outputs given by `outputs(sample, k)`.
    #[inline]
    fn linked(&self, lk: &Linked, outputs: impl Fn(usize, usize) -> f32) -> f32 {
        let s = lk.w0.len();
        let k = self.width / s;
        let total: f32 = (0..s).map(|t| lk.curves.at(t, outputs(t, k))).sum();
        total / s as f32
    }

    /// The linked score of a known or unknown (`None`) user and item without a time.
    fn linked_score(&self, lk: &Linked, user: Option<u32>, item: Option<u32>) -> f32 {
        let (users, items, w) = (self.ua.len(), self.ia.len(), self.width);
        let s = lk.w0.len() as f32;
        self.linked(lk, |t, k| {
            let mut f = lk.w0[t];
            if let Some(u) = user {
                f += lk.ua[t * users + u as usize];
            }
            if let Some(i) = item {
                f += self.item_a[t * items + i as usize];
            }
            if let (Some(u), Some(i)) = (user, item) {
                f += s * dot(
                    part(&self.p, u as usize, w, t, k),
                    part(&self.q, i as usize, w, t, k),
                );
            }
            f
        })
    }

    /// Every item's score for a folded user: `bias` (the user row's own terms, averaged)
    /// and `factors` (the row's factor sums, as `p`'s rows; under the link followed by
    /// the row's own terms in each sample).
    pub fn folded_scores(&self, bias: f32, factors: &[f32]) -> Vec<f32> {
        let (w, items) = (self.width, self.ia.len());
        let Some(lk) = &self.link else {
            return (0..items)
                .map(|i| {
                    self.bias + bias + self.ia[i] + dot(&factors[..w], &self.q[i * w..(i + 1) * w])
                })
                .collect();
        };
        let s = lk.w0.len();
        let own = &factors[w..w + s];
        (0..items)
            .map(|i| {
                self.linked(lk, |t, k| {
                    lk.w0[t]
                        + own[t]
                        + self.item_a[t * items + i]
                        + s as f32 * dot(part(factors, 0, w, t, k), part(&self.q, i, w, t, k))
                })
            })
            .collect()
    }

    /// The linked score at time `t` (see [`Scorer::score_at`]).
    fn linked_score_at(
        &self,
        lk: &Linked,
        tm: &Timed,
        user: Option<u32>,
        item: Option<u32>,
        time: i64,
    ) -> f32 {
        let (users, items, w) = (self.ua.len(), self.ia.len(), self.width);
        let s = lk.w0.len() as f32;
        let day = tm.clock.day_of(time);
        let days = tm.clock.days as usize;
        let age = match (tm.clock.age, item) {
            (Some(_), Some(i)) => Some(tm.clock.age_of(i, day) as usize),
            _ => None,
        };
        self.linked(lk, |t, k| {
            let row = |x, r| part(x, r, w, t, k);
            let pu = user.map(|u| row(&tm.p, u as usize));
            let qi = item.map(|i| row(&tm.q, i as usize));
            let both = |x: &[f32]| pu.map_or(0.0, |p| dot(p, x)) + qi.map_or(0.0, |q| dot(q, x));
            let mut f = lk.w0[t];
            if let Some(u) = user {
                f += lk.ua_raw[t * users + u as usize];
            }
            if let Some(i) = item {
                f += lk.ia_raw[t * items + i as usize];
            }
            if let (Some(p), Some(q)) = (pu, qi) {
                f += s * dot(p, q);
            }
            let dv = tm.clock.day.map(|_| row(&tm.day_v, day as usize));
            if let Some(dv) = dv {
                f += lk.day_a[t * days + day as usize] + s * both(dv);
            }
            if let Some(b) = age {
                let av = row(&tm.age_v, b);
                f += lk.age_a[t * AGE_BUCKETS as usize + b]
                    + s * (both(av) + dv.map_or(0.0, |d| dot(d, av)));
            }
            f
        })
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
        if let Some(lk) = &self.link {
            return self.linked_score_at(lk, tm, user, item, t);
        }
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

/// Sample `t`'s `k` entries of row `r` of a table of rows of width `w`.
#[inline]
fn part(x: &[f32], r: usize, w: usize, t: usize, k: usize) -> &[f32] {
    &x[r * w + t * k..][..k]
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
        if let Some(lk) = &self.link {
            return self.linked_score(lk, Some(user), Some(item));
        }
        let (u, i, w) = (user as usize, item as usize, self.width);
        self.bias
            + self.ua[u]
            + self.ia[i]
            + dot(&self.p[u * w..(u + 1) * w], &self.q[i * w..(i + 1) * w])
    }
    fn fallback(&self, user: Option<u32>, item: Option<u32>) -> f32 {
        if let Some(lk) = &self.link {
            return self.linked_score(lk, user, item);
        }
        self.bias
            + user.map_or(0.0, |u| self.ua[u as usize])
            + item.map_or(0.0, |i| self.ia[i as usize])
    }
    fn score_items(&self, user: u32, out: &mut [f32]) {
        if let Some(lk) = &self.link {
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = self.linked_score(lk, Some(user), Some(i as u32));
            }
            return;
        }
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
