//! The `embedrec` command line. Parsing is clap's; each subcommand lives in its own
//! file and returns `Result<()>`; [`main`] maps errors to the exit codes of the contract
//! (0 success, 2 usage/input/data errors, 1 other failures).

mod bench;
mod cv;
mod data_cmd;
mod demo;
mod eval;
mod predict;
mod recommend;
mod search;
mod serve;
mod train;

use crate::data::{DelimitedSpec, DuplicatePolicy, RatingScale, ReadOptions};
use crate::error::{Error, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "embedrec",
    version,
    about = "Train, evaluate and serve embedding-based recommenders"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Split data, train, print an RMSE table and a top-10 list (synthetic data by default).
    Demo(demo::DemoArgs),
    /// Inspect, generate and download datasets.
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Train a model and report its test metrics.
    Train(Box<train::TrainArgs>),
    /// Predict one rating from a saved model (raw user and item ids).
    Predict(predict::PredictArgs),
    /// Cross-validation: mean ± std of every metric over k folds (or u1..u5).
    Cv(Box<cv::CvArgs>),
    /// Rating and ranking metrics of a saved model on a test file.
    Eval(eval::EvalArgs),
    /// Top-N items for a user, a new user's ratings (fold-in), or every user.
    Recommend(recommend::RecommendArgs),
    /// Grid or random hyper-parameter search scored on validation data carved from training data.
    Search(Box<search::SearchArgs>),
    /// Items nearest to an item by cosine similarity of the item embeddings.
    Similar(recommend::SimilarArgs),
    /// HTTP service: recommendations, similar items, predictions, fold-in, hot reload.
    Serve(serve::ServeArgs),
    /// Time the library's hot paths.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// How to read rating files (shared by every command that reads data).
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct ReaderArgs {
    /// Field separator of a generic ratings file (e.g. ',' '\t' '::'); MovieLens files are
    /// recognised by name without it.
    #[arg(long, help_heading = "Reading")]
    delimiter: Option<String>,
    /// The generic file has no header row.
    #[arg(long, help_heading = "Reading")]
    no_header: bool,
    /// 0-based column of the user id (generic files).
    #[arg(long, default_value_t = 0, help_heading = "Reading")]
    user_col: usize,
    /// 0-based column of the item id (generic files).
    #[arg(long, default_value_t = 1, help_heading = "Reading")]
    item_col: usize,
    /// 0-based column of the rating, or 'none' for interactions (generic files).
    #[arg(long, default_value = "2", help_heading = "Reading")]
    rating_col: String,
    /// 0-based column of the Unix timestamp, or 'none' (generic files).
    #[arg(long, default_value = "3", help_heading = "Reading")]
    time_col: String,
    /// Declared rating scale MIN:MAX; ratings outside it are errors.
    #[arg(long, value_name = "MIN:MAX", help_heading = "Reading")]
    scale: Option<String>,
    /// What to do with a repeated (user, item) pair.
    #[arg(long, value_enum, default_value_t = Duplicates::KeepLast, help_heading = "Reading")]
    duplicates: Duplicates,
    /// User metadata file (overrides the one beside the ratings).
    #[arg(long, value_name = "FILE", help_heading = "Reading")]
    users: Option<PathBuf>,
    /// Item metadata file (overrides the one beside the ratings).
    #[arg(long, value_name = "FILE", help_heading = "Reading")]
    items: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, Default)]
enum Duplicates {
    Error,
    #[default]
    KeepLast,
    Mean,
}

impl ReaderArgs {
    /// True when a generic file is read without a rating column (`--rating-col none`):
    /// every value is then 1.
    pub(crate) fn has_no_rating_column(&self) -> bool {
        self.delimiter.is_some() && self.rating_col == "none"
    }

    /// Validates the flags into [`ReadOptions`].
    pub(crate) fn options(&self) -> Result<ReadOptions> {
        let optional_col = |flag: &str, v: &str| -> Result<Option<usize>> {
            if v == "none" {
                return Ok(None);
            }
            v.parse().map(Some).map_err(|_| {
                Error::Usage(format!(
                    "--{flag}: expected a column number or 'none', got '{v}'"
                ))
            })
        };
        let delimited = match &self.delimiter {
            None => None,
            Some(d) => Some(DelimitedSpec {
                delimiter: unescape_delimiter(d)?,
                header: !self.no_header,
                user_col: self.user_col,
                item_col: self.item_col,
                rating_col: optional_col("rating-col", &self.rating_col)?,
                time_col: optional_col("time-col", &self.time_col)?,
            }),
        };
        let scale = self.scale.as_deref().map(parse_scale).transpose()?;
        Ok(ReadOptions {
            delimited,
            scale,
            duplicates: match self.duplicates {
                Duplicates::Error => DuplicatePolicy::Error,
                Duplicates::KeepLast => DuplicatePolicy::KeepLast,
                Duplicates::Mean => DuplicatePolicy::Mean,
            },
            users_file: self.users.clone(),
            items_file: self.items.clone(),
            drop_times: false,
        })
    }
}

fn unescape_delimiter(d: &str) -> Result<String> {
    let d = match d {
        "\\t" | "tab" => "\t",
        other => other,
    };
    if d.is_empty() {
        return Err(Error::Usage("--delimiter must not be empty".into()));
    }
    Ok(d.to_string())
}

fn parse_scale(s: &str) -> Result<RatingScale> {
    let bad = || {
        Error::Usage(format!(
            "--scale: expected MIN:MAX with MIN < MAX, got '{s}'"
        ))
    };
    let (lo, hi) = s.split_once(':').ok_or_else(bad)?;
    let (min, max): (f32, f32) = (
        lo.trim().parse().map_err(|_| bad())?,
        hi.trim().parse().map_err(|_| bad())?,
    );
    if !(min.is_finite() && max.is_finite() && min < max) {
        return Err(bad());
    }
    Ok(RatingScale { min, max })
}

/// Prints `value` as the last stdout line (the `--json` rule).
pub(crate) fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// Prints the reader's warnings to stderr.
pub(crate) fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Data(cmd) => data_cmd::run(&cmd),
        Command::Train(args) => train::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Cv(args) => cv::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Recommend(args) => recommend::run(&args),
        Command::Similar(args) => recommend::run_similar(&args),
        Command::Search(args) => search::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Bench(cmd) => bench::run(&cmd),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
