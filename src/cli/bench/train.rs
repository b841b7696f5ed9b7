//! `embedrec bench train`: MF training throughput on 1 and N threads over rounds, with
//! the machine's own parallel references.

use super::*;

pub(super) fn run_train(b: &TrainBench) -> Result<()> {
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
pub(super) fn median(xs: &[f64]) -> f64 {
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
pub(super) fn parallel_reference(threads: usize) -> (f64, f64) {
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
