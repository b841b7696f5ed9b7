//! The training loop shared by the neural models: epochs, seeded shuffling, minibatches,
//! a learning-rate schedule, per-epoch history and early stopping on validation data
//! carved from the training set. It never prints: callers see each epoch through a
//! callback (the command line draws its progress bar from it).

use crate::data::{RatingScale, Ratings};
use crate::error::Result;
use crate::metrics::rating_metrics;
use crate::model::Recommender;
use crate::rng::Rng;
use std::time::Instant;

/// A model the loop can train.
pub trait Network: Recommender + Clone {
    /// Trains on the ratings at positions `batch` of `data`, as global step `step`
    /// (1-based) with learning rate `lr`; returns the batch loss.
    fn train_batch(&mut self, data: &Ratings, batch: &[u32], step: u64, lr: f32) -> f64;

    /// Trains one epoch over all ratings of `data`, which the loop has already shuffled
    /// (and laid out contiguously, so that the hot loop reads memory in order), in
    /// minibatches of `batch` with learning rate `lr`; `step` is the global step count,
    /// advanced by the number of steps taken. The default calls
    /// [`Network::train_batch`] per minibatch; a network may override it with a faster or
    /// parallel schedule.
    fn train_epoch(&mut self, data: &Ratings, batch: usize, step: &mut u64, lr: f32) {
        let positions: Vec<u32> = (0..data.len() as u32).collect();
        for chunk in positions.chunks(batch) {
            *step += 1;
            self.train_batch(data, chunk, *step, lr);
        }
    }

    /// Trains one epoch over `data` (the training ratings, unshuffled) in an order the
    /// network draws from `rng` itself (in batches of `batch` where it uses batches), e.g.
    /// a cache-friendly blocked order, or its own packed copy shuffled in place. Returns
    /// false, having done nothing, when the network wants the loop's shuffled contiguous
    /// copy and [`Network::train_epoch`] instead (the default).
    fn train_epoch_in_own_order(
        &mut self,
        data: &Ratings,
        batch: usize,
        rng: &mut Rng,
        step: &mut u64,
        lr: f32,
    ) -> bool {
        let _ = (data, batch, rng, step, lr);
        false
    }

    /// Brings every weight up to date (lazy updates) before evaluation or saving.
    fn flush(&mut self);
}

/// Mixed into [`Schedule::seed`] to seed the loop's shuffling.
pub(crate) const SHUFFLE_SALT: u64 = 0x5851_f42d_4c95_7f2d;

/// How long and how fast to train.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Examples per minibatch.
    pub batch: usize,
    /// Learning rate of the first epoch.
    pub lr: f32,
    /// The learning rate is multiplied by this after every epoch (1 = constant).
    pub lr_decay: f32,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Stop after this many epochs without a better validation RMSE and restore the best
    /// weights (0 = never stop early; needs validation data).
    pub patience: usize,
}

/// One epoch of the history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// RMSE on all training ratings after the epoch.
    pub train_rmse: f64,
    /// RMSE on the validation ratings (carved from training data), when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_rmse: Option<f64>,
    /// RMSE on the test ratings, when given (reported only; never used for decisions).
    pub test_rmse: Option<f64>,
    /// Seconds the epoch's training took (evaluation excluded).
    pub seconds: f64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct History {
    /// Per-epoch records.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose weights were kept (the last one unless early stopping restored).
    pub best_epoch: usize,
    /// Total training seconds (evaluation excluded).
    pub train_seconds: f64,
    /// Total CPU seconds of all threads during training (evaluation excluded), where the
    /// platform reports it (0 elsewhere).
    pub train_cpu_seconds: f64,
}

/// CPU seconds used so far by all threads of this process (user + system), or 0 where
/// the platform does not say.
pub fn process_cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a complete `rusage` into the pointer we own; on failure
        // it returns -1 and we do not read the value.
        let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0;
        if ok {
            // SAFETY: initialised by the successful call above.
            let u = unsafe { usage.assume_init() };
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
            return secs(u.ru_utime) + secs(u.ru_stime);
        }
    }
    0.0
}

/// The peak resident set size of this process so far, in bytes (`VmHWM` of
/// `/proc/self/status` on Linux, else `getrusage`'s `ru_maxrss`), or None where the
/// platform does not say.
pub fn peak_rss_bytes() -> Option<u64> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
        if let Some(kb) = kb {
            return Some(kb * 1024);
        }
    }
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: as in `process_cpu_seconds`: getrusage fills the struct we own, and we
        // read it only after it reports success.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } == 0 {
            // SAFETY: initialised by the successful call above.
            let u = unsafe { usage.assume_init() };
            // Kilobytes on Linux and the BSDs, bytes on macOS.
            let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
            return Some(u.ru_maxrss as u64 * unit);
        }
    }
    None
}

/// The sets evaluated after every epoch.
#[derive(Debug, Clone, Copy)]
pub struct EvalSets<'a> {
    /// Training ratings (also the ones trained on).
    pub train: &'a Ratings,
    /// Validation ratings, for early stopping.
    pub val: Option<&'a Ratings>,
    /// Test ratings, reported only.
    pub test: Option<&'a Ratings>,
    /// Clip predictions to this scale when evaluating.
    pub clip: Option<RatingScale>,
}

/// Trains `net` on `sets.train` under `schedule`, calling `on_epoch` with the record and
/// the network after each epoch; an error from `on_epoch` ends training and is returned.
/// With `schedule.patience > 0` and validation data, stops early and leaves the best
/// weights in `net`; `patience > 0` without validation data is a usage error. One
/// thread, so a seeded run is bit-reproducible.
pub fn fit<N: Network>(
    net: &mut N,
    sets: EvalSets<'_>,
    schedule: &Schedule,
    mut on_epoch: impl FnMut(&EpochRecord, &N) -> Result<()>,
) -> Result<History> {
    if schedule.patience > 0 && sets.val.is_none() {
        return Err(crate::Error::Usage(
            "patience > 0 (early stopping) needs validation data: a validation carve \
             (val_fraction > 0) or validation ratings"
                .into(),
        ));
    }
    let train = sets.train;
    // Allocated on the first epoch that needs the shuffled copy.
    let mut order: Vec<u32> = Vec::new();
    let mut shuffled = Ratings::default();
    let mut rng = Rng::seeded(schedule.seed ^ SHUFFLE_SALT);
    let batch = schedule.batch.max(1);
    let mut history = History::default();
    let mut best: Option<(f64, N)> = None;
    let mut since_best = 0;
    let mut step = 0u64;
    let mut lr = schedule.lr;
    for epoch in 1..=schedule.epochs {
        let started = Instant::now();
        let cpu_started = process_cpu_seconds();
        if !net.train_epoch_in_own_order(train, batch, &mut rng, &mut step, lr) {
            if order.len() != train.len() {
                order = (0..train.len() as u32).collect();
            }
            rng.shuffle(&mut order);
            shuffle_into(train, &order, &mut shuffled);
            net.train_epoch(&shuffled, batch, &mut step, lr);
        }
        net.flush();
        let seconds = started.elapsed().as_secs_f64();
        history.train_seconds += seconds;
        history.train_cpu_seconds += process_cpu_seconds() - cpu_started;
        lr *= schedule.lr_decay;
        let rmse = |r: &Ratings| rating_metrics(net, r, sets.clip).rmse;
        let record = EpochRecord {
            epoch,
            train_rmse: rmse(train),
            val_rmse: sets.val.map(rmse),
            test_rmse: sets.test.map(rmse),
            seconds,
        };
        on_epoch(&record, net)?;
        history.best_epoch = epoch;
        let val = record.val_rmse;
        history.epochs.push(record);
        if let (Some(val), true) = (val, schedule.patience > 0) {
            if best.as_ref().is_none_or(|(b, _)| val < *b) {
                best = Some((val, net.clone()));
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= schedule.patience {
                    break;
                }
            }
        }
    }
    if let Some((_, best_net)) = best {
        *net = best_net;
        history.best_epoch = history.epochs.len() - since_best;
    }
    Ok(history)
}

/// `out` = the ratings of `data` in `order` (values and ids only; buffers reused).
fn shuffle_into(data: &Ratings, order: &[u32], out: &mut Ratings) {
    out.times = None;
    out.users.clear();
    out.items.clear();
    out.values.clear();
    out.users
        .extend(order.iter().map(|&k| data.users[k as usize]));
    out.items
        .extend(order.iter().map(|&k| data.items[k as usize]));
    out.values
        .extend(order.iter().map(|&k| data.values[k as usize]));
}

/// The finite-difference check of a network's training step, shared by the gradient
/// checks of the neural models.
/// A progress bar on stderr over the epochs of a fit (`epoch 3/25 [bar] message
/// [elapsed]`), drawn only when wanted and stderr is a terminal; fed from a fit's
/// `on_epoch` callback. The command line and the Python package share it.
pub struct EpochBar(Option<indicatif::ProgressBar>);

impl EpochBar {
    /// A bar when `wanted` and stderr is a terminal, else one that draws nothing.
    pub fn new(wanted: bool) -> Self {
        use std::io::IsTerminal;
        if !wanted || !std::io::stderr().is_terminal() {
            return EpochBar(None);
        }
        let bar = indicatif::ProgressBar::new(0);
        let style =
            indicatif::ProgressStyle::with_template("epoch {pos}/{len} {bar:30} {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        EpochBar(Some(bar))
    }

    /// Whether this bar draws (stderr is a terminal and it was wanted).
    pub fn is_drawn(&self) -> bool {
        self.0.is_some()
    }

    /// Advances the bar by one epoch of `epochs`, showing `message` when given.
    pub fn epoch(&self, epochs: usize, message: Option<String>) {
        if let Some(b) = &self.0 {
            b.set_length(epochs as u64);
            if let Some(m) = message {
                b.set_message(m);
            }
            b.inc(1);
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(self) {
        if let Some(b) = self.0 {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
pub(crate) mod check {
    use super::Network;

    /// Checks one plain-SGD step (`step`, lr 1) of `lazy` against central finite
    /// differences of `reference` (the f64 loss of that step's examples with every
    /// penalty) for every weight `weights` lists; `lazy` may hold pending table-mode
    /// decay (from an earlier step), so the checked step reads rows through their scales
    /// while the reference sees the flushed weights. Where the one-sided slopes disagree
    /// (a ReLU kink within the difference step), the analytic slope must lie between
    /// them. Returns (weights checked, kinks).
    pub(crate) fn check_sgd_step<N: Network>(
        lazy: N,
        step: impl FnOnce(&mut N),
        reference: impl Fn(&N) -> f64,
        weights: fn(&N) -> Vec<Vec<f32>>,
        weights_mut: fn(&mut N, usize) -> &mut [f32],
        what: &str,
    ) -> (usize, usize) {
        let mut net = lazy.clone();
        net.flush();
        let mut stepped = lazy;
        step(&mut stepped);
        stepped.flush();
        let (before, after) = (weights(&net), weights(&stepped));
        let (mut checked, mut kinks) = (0, 0);
        for t in 0..before.len() {
            for j in 0..before[t].len() {
                let analytic = (before[t][j] - after[t][j]) as f64;
                let h = 1e-3f32;
                let shifted = |d: f32| {
                    let mut n = net.clone();
                    weights_mut(&mut n, t)[j] += d;
                    reference(&n)
                };
                let (up, mid, down) = (shifted(h), shifted(0.0), shifted(-h));
                let numeric = (up - down) / (2.0 * h as f64);
                let (right, left) = ((up - mid) / h as f64, (mid - down) / h as f64);
                let tol = 5e-4 * (1.0 + numeric.abs());
                let msg = format!(
                    "{what}: tensor {t} weight {j}: numeric {numeric} (left {left}, right \
                     {right}) analytic {analytic}"
                );
                if (right - left).abs() > 2.0 * tol {
                    kinks += 1;
                    let (lo, hi) = (left.min(right), left.max(right));
                    assert!(analytic > lo - tol && analytic < hi + tol, "{msg}");
                    continue;
                }
                checked += 1;
                assert!((numeric - analytic).abs() < tol, "{msg}");
            }
        }
        (checked, kinks)
    }
}
