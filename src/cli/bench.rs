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
