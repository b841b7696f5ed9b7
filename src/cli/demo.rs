//! `embedrec demo`: the main job. Split (synthetic data by default), train, print an RMSE
//! table against the global mean and the noise floor, and a top-10 list for one user.

use super::print_warnings;
use crate::data::{self, ReadOptions, split, synthetic};
use crate::error::Result;
use crate::eval::rating_metrics;
use crate::models::{BaselineParams, GlobalMean, MfParams, Recommender};
use crate::recommend::top_n;
use crate::train::EvalSets;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// A MovieLens folder (or ratings file) to use instead of the embedded synthetic data.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Random seed (data, split, training).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Raw id of the user to recommend for (default: "1", else the first user).
    #[arg(long)]
    user: Option<String>,
}

const TEST_FRACTION: f64 = 0.2;

pub(crate) fn run(a: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    let (dataset, noise_floor) = match &a.data {
        Some(path) => (data::load(path, &ReadOptions::default())?, None),
        None => {
            let params = synthetic::SynthParams {
                seed: a.seed,
                ..Default::default()
            };
            let syn = synthetic::generate(&params)?;
            (syn.dataset, Some(syn.noise_floor_rmse))
        }
    };
    print_warnings(&dataset.warnings);
    let source = match &a.data {
        Some(p) => p.display().to_string(),
        None => "embedded synthetic data".to_string(),
    };
    let (train_idx, test_idx) = split::random_holdout(dataset.ratings.len(), TEST_FRACTION, a.seed);
    let tt = data::TrainTest::from_indices(&dataset, &train_idx, &test_idx);
    println!(
        "{source}: {} ratings, {} users, {} items; random {:.0}/{:.0} split (seed {})\n",
        dataset.ratings.len(),
        dataset.users.len(),
        dataset.items.len(),
        (1.0 - TEST_FRACTION) * 100.0,
        TEST_FRACTION * 100.0,
        a.seed
    );

    let clip = Some(dataset.scale);
    println!(
        "{:<28} {:>9} {:>9} {:>10}",
        "model", "test RMSE", "test MAE", "train s"
    );
    let t = Instant::now();
    let mean = GlobalMean::fit(&tt.train, tt.train_users, tt.train_items);
    let row = |name: &str, model: &dyn Recommender, seconds: f64| {
        let m = rating_metrics(model, &tt.test, clip);
        println!("{name:<28} {:>9.4} {:>9.4} {seconds:>10.3}", m.rmse, m.mae);
    };
    row("global mean", &mean, t.elapsed().as_secs_f64());
    let t = Instant::now();
    let baseline = BaselineParams::default().train(
        &tt.train,
        tt.train_users,
        tt.train_items,
        |_, _| Ok(()),
    )?;
    row(
        "baseline (mu + b_u + b_i)",
        &baseline,
        t.elapsed().as_secs_f64(),
    );
    let t = Instant::now();
    let params = MfParams {
        seed: a.seed,
        ..MfParams::default()
    };
    let sets = EvalSets {
        train: &tt.train,
        val: None,
        test: None,
        clip,
    };
    let (mf, _) = params.train(sets, tt.train_users, tt.train_items, |_, _| Ok(()))?;
    row(
        &format!("mf (K={}, defaults)", params.dim),
        &mf,
        t.elapsed().as_secs_f64(),
    );
    if let Some(floor) = noise_floor {
        println!("{:<28} {floor:>9.4}", "noise floor (true model)");
    }

    let best: &dyn Recommender = &mf;
    let user = match &a.user {
        Some(raw) => tt
            .users
            .index_of(raw)
            .filter(|&u| u < tt.train_users)
            .ok_or_else(|| {
                crate::Error::Usage(format!("--user {raw}: no training ratings for this user"))
            })?,
        // The user with raw id "1" when training knows it (MovieLens and synthetic ids
        // start at 1), else the first training user.
        None => tt
            .users
            .index_of("1")
            .filter(|&u| u < tt.train_users)
            .unwrap_or(0),
    };
    let mut rated: Vec<u32> = (0..tt.train.len())
        .filter(|&k| tt.train.users[k] == user)
        .map(|k| tt.train.items[k])
        .collect();
    rated.sort_unstable();
    let mut scores = vec![0.0; best.n_items() as usize];
    best.score_items(user, &mut scores);
    println!(
        "\ntop 10 for user {} ({} ratings in training; model: {}):",
        tt.users.raw(user),
        rated.len(),
        best.kind()
    );
    for (rank, (item, score)) in top_n(&scores, 10, &rated).into_iter().enumerate() {
        let raw = tt.items.raw(item);
        let title = dataset.features.items.title(raw).unwrap_or("");
        println!(
            "{:>3}. {raw:>6}  {:.3}  {title}",
            rank + 1,
            clip.map_or(score, |s| s.clip(score))
        );
    }
    println!("\ndone in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
