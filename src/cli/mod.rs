//! The `embedrec` command line. Parsing is clap's; each subcommand lives in its own
//! file and returns `Result<()>`; [`main`] maps errors to the exit codes of the contract
//! (0 success, 2 usage/input/data errors, 1 other failures).

mod bench;
mod cv;
mod data_cmd;
mod demo;
mod eval;
mod predict;
pub(crate) mod recommend;
mod search;
mod serve;
mod train;

use crate::data::{Column, Columns, DelimitedSpec, DuplicatePolicy, RatingScale, ReadOptions};
use crate::error::{Error, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
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
    /// Column of the user id: a 0-based number, or a name (Parquet, or a delimited file
    /// with a header). Default: the format's own (Parquet: a conventional name such as
    /// userId, else the first column; delimited: column 0).
    #[arg(long, value_name = "COL", help_heading = "Reading")]
    user_col: Option<String>,
    /// Column of the item id: number or name (default: Parquet: item, itemId, movieId...,
    /// else the second column; delimited: 1).
    #[arg(long, value_name = "COL", help_heading = "Reading")]
    item_col: Option<String>,
    /// Column of the rating: number, name, or 'none' for interactions (default: Parquet:
    /// rating, else the third column; delimited: 2).
    #[arg(long, value_name = "COL", help_heading = "Reading")]
    rating_col: Option<String>,
    /// Column of the Unix time: number, name, or 'none' (default: Parquet: timestamp or
    /// time, else a fourth integer column; delimited: 3).
    #[arg(long, value_name = "COL", help_heading = "Reading")]
    time_col: Option<String>,
    /// Declared rating scale MIN:MAX; ratings outside it are errors. Without it: the
    /// format's scale (100K and 1M files: 1..5 when every rating is whole, else half stars
    /// 0.5..5, with a warning); generic files: the data's min..max snapped to whole or half
    /// stars, with a warning.
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
    /// True when the ratings are read without a rating column (`--rating-col none`):
    /// every value is then 1.
    pub(crate) fn has_no_rating_column(&self) -> bool {
        self.rating_col.as_deref() == Some("none")
    }

    /// The column flags as [`Columns`] (a flag not given is [`Column::Detect`]).
    fn columns(&self) -> Result<Columns> {
        let col = |flag: &str, v: &Option<String>, id: bool| -> Result<Column> {
            let c = v.as_deref().map_or(Column::Detect, Column::parse);
            match c {
                Column::Absent if id => Err(Error::Usage(format!(
                    "--{flag}: an id column cannot be 'none'"
                ))),
                Column::Name(ref n) if n.trim().is_empty() => Err(Error::Usage(format!(
                    "--{flag}: expected a column number or name, got '{n}'"
                ))),
                c => Ok(c),
            }
        };
        Ok(Columns {
            user: col("user-col", &self.user_col, true)?,
            item: col("item-col", &self.item_col, true)?,
            rating: col("rating-col", &self.rating_col, false)?,
            time: col("time-col", &self.time_col, false)?,
        })
    }

    /// Validates the flags into [`ReadOptions`].
    pub(crate) fn options(&self) -> Result<ReadOptions> {
        let columns = self.columns()?;
        // A delimited layout's columns: the numbers given, else the defaults; names are
        // looked up in the header when the file is read.
        let index = |c: &Column, default: Option<usize>| match c {
            Column::Index(k) => Some(*k),
            Column::Absent => None,
            Column::Detect | Column::Name(_) => default,
        };
        let delimited = match &self.delimiter {
            None => None,
            Some(d) => Some(DelimitedSpec {
                delimiter: unescape_delimiter(d)?,
                header: !self.no_header,
                user_col: index(&columns.user, Some(0)).unwrap_or(0),
                item_col: index(&columns.item, Some(1)).unwrap_or(1),
                rating_col: index(&columns.rating, Some(2)),
                time_col: index(&columns.time, Some(3)),
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
            columns,
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

pub(crate) fn parse_scale(s: &str) -> Result<RatingScale> {
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
///
/// Output failures never panic out of here (exit 101): `println!` panics when stdout
/// fails, and such a panic is caught and mapped like ripgrep does — a closed pipe
/// (`embedrec ... | head -1`) ends the program quietly with 0, any other failure
/// (`> /dev/full`) is an error on stderr and exit 1. The same holds for stdout's last
/// flush.
pub fn main() -> i32 {
    output::quiet_print_panics();
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(payload) => match output::PrintFailure::of(payload.as_ref()) {
            Some(failure) => failure.exit_code(),
            None => std::panic::resume_unwind(payload),
        },
    }
}

fn run() -> i32 {
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
    if let Err(e) = result {
        // Not `eprintln!`: a failing stderr must not turn the error into another exit code.
        let _ = writeln!(std::io::stderr(), "error: {e}");
        return e.exit_code();
    }
    output::flush_stdout()
}

/// Failures writing the program's own output.
mod output {
    use std::any::Any;
    use std::io::Write;
    use std::sync::Once;

    /// A panic of `print!`/`println!` (or `eprint!`) whose write failed.
    pub(super) struct PrintFailure {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// The I/O error as std words it, e.g. `No space left on device (os error 28)`.
        error: String,
    }

    impl PrintFailure {
        /// The failure behind a panic payload, if it is one. std's message is
        /// `failed printing to stdout: {io error}`.
        pub(super) fn of(payload: &(dyn Any + Send)) -> Option<PrintFailure> {
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())?;
            Self::parse(message)
        }

        fn parse(message: &str) -> Option<PrintFailure> {
            ["stdout", "stderr"].into_iter().find_map(|stream| {
                let error = message.strip_prefix(&format!("failed printing to {stream}: "))?;
                Some(PrintFailure {
                    stream,
                    error: error.to_string(),
                })
            })
        }

        /// A closed pipe (EPIPE), on either stream, ends the program quietly: the reader
        /// has gone (`2>&1 | head` closes both).
        fn is_broken_pipe(&self) -> bool {
            self.error.ends_with(&format!("(os error {})", libc::EPIPE))
        }

        /// 0 after a closed pipe; else 1, with a message on stderr (when stderr can
        /// still be written).
        pub(super) fn exit_code(&self) -> i32 {
            if self.is_broken_pipe() {
                return 0;
            }
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot write to {}: {}",
                self.stream,
                self.error
            );
            1
        }
    }

    /// Keeps the panic hook from reporting a failed print (the caller of
    /// `catch_unwind` reports it); every other panic is reported as before.
    pub(super) fn quiet_print_panics() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let is_print = info
                    .payload_as_str()
                    .is_some_and(|m| PrintFailure::parse(m).is_some());
                if !is_print {
                    previous(info);
                }
            }));
        });
    }

    /// Flushes what is still buffered for stdout (an error such as a full disk would
    /// otherwise be lost at exit) and returns the exit code: 0, also after a closed pipe;
    /// 1 after another failure, reported on stderr.
    pub(super) fn flush_stdout() -> i32 {
        match std::io::stdout().flush() {
            Ok(()) => 0,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
                1
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn print_failures_from_std_messages() {
            let epipe = std::io::Error::from_raw_os_error(libc::EPIPE);
            let f = PrintFailure::parse(&format!("failed printing to stdout: {epipe}")).unwrap();
            assert_eq!(f.stream, "stdout");
            assert!(f.is_broken_pipe());
            let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
            let f = PrintFailure::parse(&format!("failed printing to stderr: {full}")).unwrap();
            assert!(!f.is_broken_pipe() && f.stream == "stderr");
            assert!(PrintFailure::parse("index out of bounds").is_none());
        }
    }
}
