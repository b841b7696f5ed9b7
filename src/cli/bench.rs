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
