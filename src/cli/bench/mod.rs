//! `embedrec bench`: timings of hot paths (never asserted in tests).

use super::ReaderArgs;
use crate::data;
use crate::error::{Error, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub(crate) enum BenchCommand {
    /// Time reading a ratings file or folder: best and median of N runs.
    Read(ReadBench),
    /// Training throughput of MF (rating-updates per CPU-second) in several settings.
    Train(TrainBench),
    /// HTTP service throughput and latency of top-N requests (server and load generator
    /// in this process, over loopback).
    Serve(ServeBench),
    /// Forward + backward of the dense MLP (the deep model's layers): ms per batch and
    /// GFLOP/s.
    Dense(DenseBench),
    /// The textbook's deep model (`--preset book-dl`) on a training file: seconds per
    /// epoch, achieved GFLOP/s, and the gemm crate's 2048^3 f32 peak measured in the
    /// same run.
    Deep(DeepBench),
    /// The MF fold-in's ridge solve of a new user (random item factors): ms per solve
    /// by the (K+1) x (K+1) normal equations and by the n x n dual that fold-in uses.
    FoldIn(FoldInBench),
}

#[derive(Args, Debug)]
pub(crate) struct FoldInBench {
    /// Factors K.
    #[arg(long, default_value_t = 512)]
    dim: usize,
    /// Ratings of the new user (comma-separated list: one line per value).
    #[arg(long, value_delimiter = ',', default_values_t = [5, 20, 50])]
    ratings: Vec<usize>,
    /// Timed solves per setting (after two warm-up solves).
    #[arg(long, default_value_t = 50)]
    reps: usize,
}

#[derive(Args, Debug)]
pub(crate) struct DeepBench {
    /// Training ratings (e.g. ml-100k/u1.base).
    #[arg(long)]
    train: PathBuf,
    /// Test ratings, evaluated after every epoch as `train` does (e.g. ml-100k/u1.test).
    #[arg(long)]
    test: PathBuf,
    /// Epochs to time.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Threads for the matrix products (training and the peak).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[command(flatten)]
    reader: ReaderArgs,
}

#[derive(Args, Debug)]
pub(crate) struct DenseBench {
    /// Rows per batch.
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Input width (the concatenated embeddings; 402 in the textbook's deep model).
    #[arg(long, default_value_t = 402)]
    input: usize,
    /// Hidden layer sizes (a final 1-unit layer is added).
    #[arg(long, value_delimiter = ',', default_values_t = [2048, 256])]
    hidden: Vec<usize>,
    /// Activation of the hidden layers.
    #[arg(long, default_value = "relu")]
    activation: String,
    /// Timed iterations (after two warm-up iterations).
    #[arg(long, default_value_t = 20)]
    iters: usize,
    /// Threads for the matrix products (1: the calling thread; 0: all of rayon's).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

#[derive(Args, Debug)]
pub(crate) struct ServeBench {
    /// Model file to serve.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// Total requests.
    #[arg(long, default_value_t = 50_000)]
    requests: usize,
    /// Concurrent keep-alive connections (one client thread each).
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// List length asked for.
    #[arg(short = 'n', long = "n", default_value_t = 10)]
    n: usize,
}

#[derive(Args, Debug)]
pub(crate) struct TrainBench {
    /// Ratings file or MovieLens folder (default: the embedded synthetic data, 100,000 ratings).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Epochs per setting (the book-mf preset always runs its 60).
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Threads for the parallel setting.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Settings to run, by short name (default: all): book-mf, sgd64, sgd64-threads,
    /// sgd200, adam64, adam200.
    #[arg(long, value_delimiter = ',')]
    settings: Vec<String>,
    /// Rounds: every setting runs once per round, rounds one after the other, so that a
    /// noisy machine affects all settings alike; with more than one, a summary of the
    /// medians (and of the per-round wall-clock ratio of the 1-thread and threaded SGD
    /// settings when both run).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    #[command(flatten)]
    reader: ReaderArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ReadBench {
    /// Ratings file or MovieLens folder.
    path: PathBuf,
    /// Number of timed runs (after one warm-up run; 0 = the one run only, for files too
    /// large to read twice quickly).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Do not keep timestamps (as `train` does when the split does not need them).
    #[arg(long)]
    drop_times: bool,
    #[command(flatten)]
    reader: ReaderArgs,
}

pub(crate) fn run(cmd: &BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Train(b) => run_train(b),
        BenchCommand::Serve(b) => run_serve(b),
        BenchCommand::Dense(b) => run_dense(b),
        BenchCommand::Read(b) => run_read(b),
        BenchCommand::Deep(b) => run_deep(b),
        BenchCommand::FoldIn(b) => run_fold_in(b),
    }
}

fn run_fold_in(b: &FoldInBench) -> Result<()> {
    use crate::nn::linalg::{ridge_user, ridge_user_primal};
    use crate::rng::Rng;
    if b.dim == 0 || b.reps == 0 || b.ratings.contains(&0) {
        return Err(Error::Usage(
            "--dim, --reps and every --ratings value must be at least 1".into(),
        ));
    }
    let (k, items) = (b.dim, 2000usize);
    let mut rng = Rng::seeded(1);
    let q: Vec<f32> = (0..items * k)
        .map(|_| rng.uniform_in(-0.1, 0.1) as f32)
        .collect();
    let row = |i: u32| &q[i as usize * k..(i as usize + 1) * k];
    println!(
        "fold-in ridge solve, K {k}, {} solves each; load average before: {}",
        b.reps,
        load_average()
    );
    for &n in &b.ratings {
        let ratings: Vec<(u32, f32)> = (0..n)
            .map(|_| (rng.below(items) as u32, 1.0 + rng.below(5) as f32))
            .collect();
        let (l2, l2b) = (0.05 * n as f64, 0.01 * n as f64);
        let time = |f: &dyn Fn() -> (Vec<f32>, f32)| {
            for _ in 0..2 {
                std::hint::black_box(f());
            }
            let mut t: Vec<f64> = (0..b.reps)
                .map(|_| {
                    let s = Instant::now();
                    std::hint::black_box(f());
                    s.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            t.sort_by(f64::total_cmp);
            (t[0], median(&t))
        };
        let primal = time(&|| ridge_user_primal(&ratings, k, row, |_| 3.5, l2, l2b));
        let used = time(&|| ridge_user(&ratings, k, row, |_| 3.5, l2, l2b));
        println!(
            "n {n:>4}: (K+1)^2 normal equations best {:.3} ms median {:.3} ms; \
             fold-in (ridge_user: {}) best {:.3} ms median {:.3} ms",
            primal.0,
            primal.1,
            if n <= k {
                "n x n dual"
            } else {
                "normal equations"
            },
            used.0,
            used.1
        );
    }
    Ok(())
}

fn run_read(b: &ReadBench) -> Result<()> {
    let opts = data::ReadOptions {
        drop_times: b.drop_times,
        ..b.reader.options()?
    };
    let t = Instant::now();
    let first = data::load(&b.path, &opts)?;
    let first_s = t.elapsed().as_secs_f64();
    let r = &first.ratings;
    let held = r.users.capacity() * 4
        + r.items.capacity() * 4
        + r.values.capacity() * 4
        + r.times.as_ref().map_or(0, |t| t.capacity() * 8);
    let ids = |m: &data::IdMap| m.raw_ids().iter().map(|s| s.len()).sum::<usize>();
    println!(
        "read {}: {} ratings, {} users, {} items{}",
        b.path.display(),
        r.len(),
        first.users.len(),
        first.items.len(),
        if r.times.is_some() {
            ", with timestamps"
        } else {
            ""
        }
    );
    println!(
        "first run {:.3} s; ratings hold {:.1} bytes/rating ({:.0} MB; raw id text {:.1} MB); \
         peak RSS {}; load average {}",
        first_s,
        held as f64 / r.len().max(1) as f64,
        held as f64 / 1e6,
        (ids(&first.users) + ids(&first.items)) as f64 / 1e6,
        peak_rss_text(),
        load_average()
    );
    let n = r.len();
    drop(first);
    if b.runs == 0 {
        return Ok(());
    }
    let mut times: Vec<f64> = (0..b.runs)
        .map(|_| {
            let t = Instant::now();
            let d = data::load(&b.path, &opts);
            let s = t.elapsed().as_secs_f64();
            drop(d);
            s
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "read {}: {} ratings; best {:.2} ms, median {:.2} ms over {} runs",
        b.path.display(),
        n,
        times[0] * 1e3,
        times[times.len() / 2] * 1e3,
        b.runs
    );
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn run_train(b: &TrainBench) -> Result<()> {
    use crate::models::MfParams;
    use crate::nn::{Optimizer, OptimizerKind};
    use crate::train::EvalSets;
    if b.rounds == 0 {
        return Err(Error::Usage("--rounds must be at least 1".into()));
    }
    let data = match &b.data {
        Some(path) => {
            let opts = data::ReadOptions {
                drop_times: true,
                ..b.reader.options()?
            };
            data::load(path, &opts)?
        }
        None => data::synthetic::generate(&data::synthetic::SynthParams::default())?.dataset,
    };
    let r = &data.ratings;
    let (users, items) = (data.users.len() as u32, data.items.len() as u32);
    let sgd = MfParams {
        batch: 1,
        optimizer: Optimizer::default(),
        lr: 0.005,
        l2: 0.05,
        epochs: b.epochs,
        ..MfParams::default()
    };
    let adam = MfParams {
        batch: 128,
        optimizer: Optimizer {
            kind: OptimizerKind::Adam,
            ..Optimizer::default()
        },
        lr: 0.002,
        l2: 0.05,
        epochs: b.epochs,
        ..MfParams::default()
    };
    let all: Vec<(&str, String, MfParams)> = vec![
        (
            "book-mf",
            "book-mf preset (K=200, SGD batch 256, 60 epochs)".into(),
            MfParams::book_mf(),
        ),
        (
            "sgd64",
            "SGD per-example, K=64, 1 thread".into(),
            MfParams {
                dim: 64,
                ..sgd.clone()
            },
        ),
        (
            "sgd64-threads",
            format!("SGD per-example, K=64, {} threads", b.threads),
            MfParams {
                dim: 64,
                threads: b.threads,
                ..sgd.clone()
            },
        ),
        (
            "sgd200",
            "SGD per-example, K=200, 1 thread".into(),
            MfParams {
                dim: 200,
                ..sgd.clone()
            },
        ),
        (
            "adam64",
            "Adam batch 128, K=64, 1 thread".into(),
            MfParams {
                dim: 64,
                optimizer: Optimizer {
                    kind: OptimizerKind::Adam,
                    ..Optimizer::default()
                },
                ..adam.clone()
            },
        ),
        (
            "adam200",
            "Adam batch 128, K=200, 1 thread".into(),
            MfParams {
                dim: 200,
                ..adam.clone()
            },
        ),
    ];
    for s in &b.settings {
        if !all.iter().any(|(short, _, _)| short == s) {
            let names: Vec<&str> = all.iter().map(|(short, _, _)| *short).collect();
            return Err(Error::Usage(format!(
                "--settings: unknown setting `{s}` (one of {})",
                names.join(", ")
            )));
        }
    }
    let settings: Vec<(String, MfParams)> = all
        .into_iter()
        .filter(|(short, _, _)| b.settings.is_empty() || b.settings.iter().any(|s| s == short))
        .map(|(_, name, params)| (name, params))
        .collect();
    println!(
        "{}: {} ratings, {} users, {} items; load average before: {}",
        b.data
            .as_ref()
            .map_or("synthetic data".into(), |p| p.display().to_string()),
        r.len(),
        users,
        items,
        load_average()
    );
    // Per setting, per round: (wall s, M updates per CPU-second).
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new(); settings.len()];
    let mut reference: Vec<(f64, f64)> = Vec::new();
    for round in 1..=b.rounds {
        if b.rounds > 1 {
            println!(
                "round {round}/{}: load average {}",
                b.rounds,
                load_average()
            );
        }
        for ((name, params), runs) in settings.iter().zip(&mut runs) {
            let sets = EvalSets {
                train: r,
                val: None,
                test: None,
                clip: None,
            };
            let (_, h) = params.train(sets, users, items, |_, _| Ok(()))?;
            let updates = r.len() as f64 * h.epochs.len() as f64;
            let cpu = if h.train_cpu_seconds > 0.0 {
                h.train_cpu_seconds
            } else {
                h.train_seconds
            };
            let rate = updates / cpu / 1e6;
            println!(
                "{name:<52} {:>7} {:>8.3} {:>8.3} {rate:>16.1}",
                h.epochs.len(),
                h.train_seconds,
                cpu,
            );
            runs.push((h.train_seconds, rate));
        }
        if settings.iter().any(|(_, p)| p.threads > 1) {
            let (arithmetic, memory) = parallel_reference(b.threads);
            println!(
                "reference: {} threads of independent work ran {arithmetic:.2}x one thread's rate \
                 on arithmetic, {memory:.2}x on memory (what this machine gives {} threads now; \
                 ideal {}.00)",
                b.threads, b.threads, b.threads
            );
            reference.push((arithmetic, memory));
        }
    }
    if b.rounds > 1 {
        println!("over {} rounds (medians):", b.rounds);
        for ((name, _), runs) in settings.iter().zip(&runs) {
            let wall: Vec<f64> = runs.iter().map(|r| r.0).collect();
            let rate: Vec<f64> = runs.iter().map(|r| r.1).collect();
            println!(
                "{name:<52} wall s min {:.3} median {:.3}; M updates/CPU-s median {:.1}",
                wall.iter().copied().fold(f64::INFINITY, f64::min),
                median(&wall),
                median(&rate)
            );
        }
        let single = settings
            .iter()
            .position(|(_, p)| p.dim == 64 && p.batch == 1 && p.threads == 1);
        let threaded = settings.iter().position(|(_, p)| p.threads > 1);
        if let (Some(a), Some(t)) = (single, threaded) {
            let ratios: Vec<f64> = runs[a]
                .iter()
                .zip(&runs[t])
                .map(|(x, y)| x.0 / y.0)
                .collect();
            let text: Vec<String> = ratios.iter().map(|x| format!("{x:.2}")).collect();
            let (arithmetic, memory): (Vec<f64>, Vec<f64>) = reference.iter().copied().unzip();
            println!(
                "{} threads / 1 thread, wall-clock ratio per round: {} (median {:.2}; \
                 reference medians: arithmetic {:.2}, memory {:.2})",
                b.threads,
                text.join(" "),
                median(&ratios),
                median(&arithmetic),
                median(&memory)
            );
        }
    }
    println!(
        "load average after: {}; peak RSS {}",
        load_average(),
        peak_rss_text()
    );
    Ok(())
}

/// The median of `xs` (NaN when empty).
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// How many times one thread's rate `threads` threads achieve on independent work that
/// shares no data, (arithmetic, memory): a register-bound multiply-add loop, and a sum
/// over a private 64 MB array (which shares the caches and memory bandwidth). The
/// machine's own parallel speed-up at this moment, against which a training ratio can
/// be read.
fn parallel_reference(threads: usize) -> (f64, f64) {
    fn arithmetic() {
        let mut acc = [1.0f32; 32];
        for _ in 0..60_000_000 {
            for a in acc.iter_mut() {
                *a = a.mul_add(0.999_999, 1e-7);
            }
            acc = std::hint::black_box(acc);
        }
    }
    fn memory() {
        let xs = vec![1.0f32; 16 << 20];
        let mut total = 0.0f32;
        for _ in 0..8 {
            total += std::hint::black_box(&xs).iter().sum::<f32>();
        }
        std::hint::black_box(total);
    }
    let ratio = |work: fn()| {
        let time = |n: usize| {
            let started = std::time::Instant::now();
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(work);
                }
            });
            started.elapsed().as_secs_f64()
        };
        let one = time(1);
        threads as f64 * one / time(threads)
    };
    (ratio(arithmetic), ratio(memory))
}

/// The process's peak resident set size so far, as text ("unknown" where the platform
/// does not say).
pub(crate) fn peak_rss_text() -> String {
    crate::train::peak_rss_bytes().map_or("unknown".into(), |b| format!("{:.0} MB", b as f64 / 1e6))
}

fn run_dense(b: &DenseBench) -> Result<()> {
    use crate::nn::{Activation, DenseInit, Mlp, Optimizer};
    use crate::rng::Rng;
    if b.iters == 0 || b.batch == 0 {
        return Err(Error::Usage(
            "--iters and --batch must be at least 1".into(),
        ));
    }
    let activation: Activation = b.activation.parse()?;
    let mut rng = Rng::seeded(1);
    let opt = Optimizer::default();
    let mut mlp = Mlp::new(
        b.input,
        &b.hidden,
        activation,
        0.0,
        DenseInit::GlorotUniform,
        opt,
        &mut rng,
    )?;
    mlp.set_threads(b.threads);
    let x: Vec<f32> = (0..b.batch * b.input)
        .map(|_| rng.uniform_in(-0.05, 0.05) as f32)
        .collect();
    let grad_out = vec![1.0 / b.batch as f32; b.batch];
    let mut grad_in = vec![0.0f32; b.batch * b.input];
    // per layer: x W (forward), x^T dZ and dZ W^T (backward), 2 m n k flops each
    let flops: f64 = mlp
        .layers()
        .iter()
        .map(|l| 3.0 * 2.0 * b.batch as f64 * l.input() as f64 * l.output() as f64)
        .sum();
    let mut once = |mlp: &mut Mlp, rng: &mut Rng| {
        let t = Instant::now();
        mlp.forward_train(&x, b.batch, rng);
        mlp.backward(&x, &grad_out, Some(&mut grad_in));
        let s = t.elapsed().as_secs_f64();
        mlp.layers_mut().iter_mut().for_each(|l| l.zero_grad());
        s
    };
    println!(
        "dense MLP {} -> {} -> 1 ({}), batch {}, {} threads, {} parameters; load average before: {}",
        b.input,
        b.hidden
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(" -> "),
        activation,
        b.batch,
        b.threads,
        mlp.param_count(),
        load_average()
    );
    for _ in 0..2 {
        once(&mut mlp, &mut rng);
    }
    let mut times: Vec<f64> = (0..b.iters).map(|_| once(&mut mlp, &mut rng)).collect();
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "forward+backward: best {:.2} ms ({:.1} GFLOP/s), median {:.2} ms ({:.1} GFLOP/s) over {} runs; {:.2} GFLOP per batch",
        best * 1e3,
        flops / best / 1e9,
        median * 1e3,
        flops / median / 1e9,
        b.iters,
        flops / 1e9
    );
    println!("load average after: {}", load_average());
    Ok(())
}

/// Best GFLOP/s of an `n x n` times `n x n` f32 product over `runs` runs (after one
/// warm-up run) on `threads` threads.
fn gemm_peak(n: usize, runs: usize, threads: usize) -> f64 {
    use crate::nn::linalg::{Mat, matmul_threads};
    let a: Vec<f32> = (0..n * n).map(|k| ((k % 17) as f32 - 8.0) * 0.01).collect();
    let mut c = vec![0.0f32; n * n];
    let mut best = f64::INFINITY;
    for r in 0..=runs {
        let t = Instant::now();
        matmul_threads(
            Mat::new(&a, n, n),
            Mat::new(&a, n, n),
            &mut c,
            false,
            threads,
        );
        let s = t.elapsed().as_secs_f64();
        if r > 0 {
            best = best.min(s);
        }
    }
    2.0 * (n as f64).powi(3) / best / 1e9
}

fn run_deep(b: &DeepBench) -> Result<()> {
    use crate::models::DeepParams;
    use crate::train::EvalSets;
    if b.epochs == 0 || !(1..=256).contains(&b.threads) {
        return Err(Error::Usage(
            "--epochs must be at least 1 and --threads in 1..=256".into(),
        ));
    }
    let (data, split) = data::load_train_test(&b.train, &b.test, &b.reader.options()?)?;
    let params = DeepParams {
        epochs: b.epochs,
        threads: b.threads,
        ..DeepParams::book_dl()
    };
    // forward + backward: 3 products of 2 m n k flops per layer and rating
    let mut widths = vec![params.input_width()];
    widths.extend(&params.hidden);
    widths.push(1);
    let flop_per_rating: f64 = widths.windows(2).map(|w| 6.0 * (w[0] * w[1]) as f64).sum();
    println!(
        "deep book-dl on {} ({} ratings), {} threads, {} epochs; {:.0} FLOP per rating; load average before: {}",
        b.train.display(),
        split.train.len(),
        b.threads,
        b.epochs,
        flop_per_rating,
        load_average()
    );
    let peak_before = gemm_peak(2048, 3, b.threads);
    let sets = EvalSets {
        train: &split.train,
        val: None,
        test: Some(&split.test),
        clip: None,
    };
    // Seconds per epoch (best, median) and evaluation seconds per epoch.
    let timed_fit = |layer_by_layer: bool| -> Result<(f64, f64, f64)> {
        let params = DeepParams {
            layer_by_layer,
            ..params.clone()
        };
        let sides = crate::models::deep::side_inputs(&params.features, &data, &split)?;
        let started = Instant::now();
        let (_, history) =
            params.train(sets, split.train_users, split.train_items, sides, |_, _| {
                Ok(())
            })?;
        let wall = started.elapsed().as_secs_f64();
        let mut secs: Vec<f64> = history.epochs.iter().map(|e| e.seconds).collect();
        secs.sort_by(f64::total_cmp);
        let eval = (wall - history.train_seconds) / b.epochs as f64;
        Ok((secs[0], secs[secs.len() / 2], eval))
    };
    let (best, median, eval) = timed_fit(true)?;
    let peak_after = gemm_peak(2048, 3, b.threads);
    let peak = peak_before.max(peak_after);
    let epoch_flops = flop_per_rating * split.train.len() as f64;
    println!(
        "gemm 2048^3 f32 peak: {peak:.1} GFLOP/s (before {peak_before:.1}, after {peak_after:.1})"
    );
    println!(
        "training, layer by layer (dense layers through gemm): best {best:.2} s/epoch ({:.1} GFLOP/s, {:.0}% of peak), median {median:.2} s/epoch ({:.1} GFLOP/s, {:.0}% of peak); {:.0} GFLOP per epoch",
        epoch_flops / best / 1e9,
        100.0 * epoch_flops / best / 1e9 / peak,
        epoch_flops / median / 1e9,
        100.0 * epoch_flops / median / 1e9 / peak,
        epoch_flops / 1e9
    );
    println!(
        "  evaluation after each epoch (train + test RMSE, {} ratings): {eval:.2} s",
        split.train.len() + split.test.len()
    );
    let (best, median, eval) = timed_fit(false)?;
    println!(
        "training, affine chain (the default for this all-linear network: the same maths as one affine map): best {best:.3} s/epoch, median {median:.3} s/epoch"
    );
    println!("  evaluation after each epoch: {eval:.3} s");
    println!("load average after: {}", load_average());
    Ok(())
}

/// One keep-alive HTTP/1.1 GET; returns the status code.
fn http_get(
    stream: &mut std::net::TcpStream,
    buf: &mut Vec<u8>,
    path: &str,
) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    write!(stream, "GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n")?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let got = stream.read(&mut chunk)?;
        if got == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        buf.extend_from_slice(&chunk[..got]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let got = stream.read(&mut chunk)?;
        if got == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "short body",
            ));
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    Ok(status)
}

fn run_serve(b: &ServeBench) -> Result<()> {
    use crate::serve::{self, AppState};
    if b.connections == 0 || b.requests == 0 || !(1..=1000).contains(&b.n) {
        return Err(Error::Usage(
            "--connections and --requests must be >= 1, -n in 1..=1000".into(),
        ));
    }
    let state = AppState::load(&b.model, 1024)?;
    let users: Vec<String> = state.model().users.raw_ids().to_vec();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cores)
        .enable_all()
        .build()
        .map_err(|e| Error::io(std::path::Path::new("tokio runtime"), e))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| Error::io(std::path::Path::new("127.0.0.1:0"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io(std::path::Path::new("127.0.0.1:0"), e))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(serve::serve(listener, state, async {
        let _ = stopped.await;
    }));
    println!(
        "GET /v1/users/{{id}}/recommendations?n={} on {addr}: {} requests over {} keep-alive connections; load average before: {}",
        b.n,
        b.requests,
        b.connections,
        load_average()
    );
    let started = Instant::now();
    let per_conn = b.requests.div_ceil(b.connections);
    let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..b.connections)
            .map(|c| {
                let users = &users;
                scope.spawn(move || {
                    let mut latencies = Vec::with_capacity(per_conn);
                    let mut errors = 0usize;
                    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
                        return (latencies, per_conn);
                    };
                    let _ = stream.set_nodelay(true);
                    let mut buf = Vec::new();
                    for r in 0..per_conn {
                        let user = &users[(c * per_conn + r) % users.len()];
                        let t = Instant::now();
                        match http_get(
                            &mut stream,
                            &mut buf,
                            &format!("/v1/users/{user}/recommendations?n={}", b.n),
                        ) {
                            Ok(200) => latencies.push(t.elapsed().as_secs_f64()),
                            Ok(_) => errors += 1,
                            Err(_) => {
                                errors += per_conn - r;
                                break;
                            }
                        }
                    }
                    (latencies, errors)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((Vec::new(), per_conn)))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = runtime.block_on(server);
    let errors: usize = results.iter().map(|r| r.1).sum();
    let mut all: Vec<f64> = results.into_iter().flat_map(|r| r.0).collect();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
            * 1e3
    };
    println!(
        "{} ok, {errors} errors in {seconds:.2} s: {:.0} requests/s; latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        all.len(),
        all.len() as f64 / seconds,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!("load average after: {}", load_average());
    Ok(())
}
