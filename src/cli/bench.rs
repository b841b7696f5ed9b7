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
    /// Forward + backward of the dense MLP (the deep model's layers): ms per batch and
    /// GFLOP/s.
    Dense(DenseBench),
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
    #[command(flatten)]
    reader: ReaderArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ReadBench {
    /// Ratings file or MovieLens folder.
    path: PathBuf,
    /// Number of timed runs (after one warm-up run).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    #[command(flatten)]
    reader: ReaderArgs,
}

pub(crate) fn run(cmd: &BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Train(b) => run_train(b),
        BenchCommand::Dense(b) => run_dense(b),
        BenchCommand::Read(b) => {
            if b.runs == 0 {
                return Err(Error::Usage("--runs must be at least 1".into()));
            }
            let opts = b.reader.options()?;
            let warm = data::load(&b.path, &opts)?;
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
                warm.ratings.len(),
                times[0] * 1e3,
                times[times.len() / 2] * 1e3,
                b.runs
            );
            Ok(())
        }
    }
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
    let data = match &b.data {
        Some(path) => data::load(path, &b.reader.options()?)?,
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
    let settings: Vec<(String, MfParams)> = vec![
        (
            "book-mf preset (K=200, SGD batch 256, 60 epochs)".into(),
            MfParams::book_mf(),
        ),
        (
            "SGD per-example, K=64, 1 thread".into(),
            MfParams {
                dim: 64,
                ..sgd.clone()
            },
        ),
        (
            format!("SGD per-example, K=64, {} threads", b.threads),
            MfParams {
                dim: 64,
                threads: b.threads,
                ..sgd.clone()
            },
        ),
        (
            "SGD per-example, K=200, 1 thread".into(),
            MfParams {
                dim: 200,
                ..sgd.clone()
            },
        ),
        (
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
            "Adam batch 128, K=200, 1 thread".into(),
            MfParams {
                dim: 200,
                ..adam.clone()
            },
        ),
    ];
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
    println!(
        "{:<52} {:>7} {:>8} {:>8} {:>16}",
        "setting", "epochs", "wall s", "CPU s", "M updates/CPU-s"
    );
    for (name, params) in settings {
        let sets = EvalSets {
            train: r,
            val: None,
            test: None,
            clip: None,
        };
        let (_, h) = params.fit(sets, users, items, false, |_| {})?;
        let updates = r.len() as f64 * h.epochs.len() as f64;
        let cpu = if h.train_cpu_seconds > 0.0 {
            h.train_cpu_seconds
        } else {
            h.train_seconds
        };
        println!(
            "{name:<52} {:>7} {:>8.3} {:>8.3} {:>16.1}",
            h.epochs.len(),
            h.train_seconds,
            cpu,
            updates / cpu / 1e6
        );
    }
    println!("load average after: {}", load_average());
    Ok(())
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
