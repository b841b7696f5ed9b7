//! `embedrec bench`: timings of hot paths (never asserted in tests).

use super::ReaderArgs;
use crate::data;
use crate::error::{Error, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;

mod serve;
mod train;
use serve::*;
use train::*;

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
