//! `embedrec data stats | synth | fetch`.

use super::{ReaderArgs, print_json, print_warnings};
use crate::data::{self, fetch, stats, synthetic};
use crate::error::Result;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub(crate) enum DataCommand {
    /// Ratings, users, items, density, rating histogram, activity quantiles, top items.
    Stats(StatsArgs),
    /// Write synthetic MovieLens-shaped data.
    Synth(SynthArgs),
    /// Download a MovieLens dataset from GroupLens, checked against its published MD5.
    Fetch(FetchArgs),
}

#[derive(Args, Debug)]
pub(crate) struct StatsArgs {
    /// A ratings file or a MovieLens folder.
    path: PathBuf,
    /// Print one JSON object as the last line.
    #[arg(long)]
    json: bool,
    /// How many most-rated items to list.
    #[arg(long, default_value_t = 10)]
    top: usize,
    #[command(flatten)]
    reader: ReaderArgs,
}

#[derive(Args, Debug)]
pub(crate) struct SynthArgs {
    /// Output folder (ml100k) or file/folder (csv).
    #[arg(long)]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SynthFormatArg::Ml100k)]
    format: SynthFormatArg,
    /// Number of users.
    #[arg(long)]
    users: Option<usize>,
    /// Number of items.
    #[arg(long)]
    items: Option<usize>,
    /// Number of ratings.
    #[arg(long)]
    ratings: Option<usize>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Rating scale MIN:MAX (default 1:5); half stars (0.5 steps) when MIN or MAX is a
    /// half, e.g. 0.5:5 as MovieLens latest.
    #[arg(long, value_name = "MIN:MAX")]
    scale: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub(crate) enum SynthFormatArg {
    Ml100k,
    Csv,
}

#[derive(Args, Debug)]
pub(crate) struct FetchArgs {
    /// ml-100k, ml-1m, ml-25m or ml-latest-small.
    name: String,
    /// Folder to unpack into (default: the platform cache folder).
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub(crate) fn run(cmd: &DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Stats(a) => run_stats(a),
        DataCommand::Synth(a) => run_synth(a),
        DataCommand::Fetch(a) => run_fetch(a),
    }
}

fn run_stats(a: &StatsArgs) -> Result<()> {
    let opts = data::ReadOptions {
        drop_times: true,
        ..a.reader.options()?
    };
    let data = data::load(&a.path, &opts)?;
    print_warnings(&data.warnings);
    let s = stats::stats(&data, a.top);
    if a.json {
        print_json(&serde_json::to_value(&s).expect("stats serialize"));
        return Ok(());
    }
    println!("{}", a.path.display());
    println!("  ratings  {}", s.ratings);
    println!("  users    {}", s.users);
    println!("  items    {}", s.items);
    println!("  density  {:.4}%", s.density * 100.0);
    println!("  mean     {:.4}", s.mean_rating);
    println!("rating histogram");
    let widest = s.histogram.iter().map(|h| h.1).max().unwrap_or(1);
    for &(value, count) in &s.histogram {
        let bar = "#".repeat((40 * count).div_ceil(widest));
        println!("  {value:>4}  {count:>9}  {bar}");
    }
    let fmt_q = |q: &[(f64, u32)]| {
        q.iter()
            .map(|(p, c)| format!("p{:.0}={c}", p * 100.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("ratings per user  {}", fmt_q(&s.user_activity));
    println!("ratings per item  {}", fmt_q(&s.item_popularity));
    println!("most rated items");
    for t in &s.top_items {
        println!(
            "  {:>8}  {:>6}  {}",
            t.item,
            t.count,
            t.title.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

fn run_synth(a: &SynthArgs) -> Result<()> {
    let defaults = synthetic::SynthParams::default();
    let params = synthetic::SynthParams {
        users: a.users.unwrap_or(defaults.users),
        items: a.items.unwrap_or(defaults.items),
        ratings: a.ratings.unwrap_or(defaults.ratings),
        seed: a.seed.unwrap_or(defaults.seed),
        scale: match &a.scale {
            Some(s) => super::parse_scale(s)?,
            None => defaults.scale,
        },
        ..defaults
    };
    let syn = synthetic::generate(&params)?;
    let format = match a.format {
        SynthFormatArg::Ml100k => synthetic::SynthFormat::Ml100k,
        SynthFormatArg::Csv => synthetic::SynthFormat::Csv,
    };
    let written = synthetic::write(&syn, &a.out, format)?;
    for path in &written {
        println!("wrote {}", path.display());
    }
    println!(
        "{} ratings, {} users, {} items; noise floor RMSE {:.4}",
        syn.dataset.ratings.len(),
        syn.dataset.users.len(),
        syn.dataset.items.len(),
        syn.noise_floor_rmse
    );
    Ok(())
}

fn run_fetch(a: &FetchArgs) -> Result<()> {
    let spec = fetch::known_or_usage(&a.name)?;
    let dir = a.dir.clone().unwrap_or_else(fetch::default_cache_dir);
    // A byte progress bar on stderr, when it is a terminal and the size is known.
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let style = indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        indicatif::ProgressBar::new(0).with_style(style)
    });
    let on_progress = |p: fetch::Progress| {
        if let (Some(b), Some(total)) = (&bar, p.total) {
            b.set_length(total);
            b.set_position(p.received);
        }
    };
    let folder = fetch::fetch(&spec, &dir, &on_progress);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let folder = folder?;
    println!("{}", folder.display());
    Ok(())
}
