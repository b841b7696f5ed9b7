//! `embedrec recommend` and `embedrec similar`: top-N lists from a saved model.

use super::{print_json, print_warnings};
use crate::data::parquet::ListWriter;
use crate::error::{Error, Result};
use crate::models::Recommender;
use crate::recommend::{self, RecommendationList};
use crate::store::{self, TrainedModel};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("who").required(true).args(["user", "ratings", "all_users"]))]
pub(crate) struct RecommendArgs {
    /// Model file written by `embedrec train --out`.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// Raw id of a user the model knows (an unknown user gets the most-rated items).
    #[arg(long)]
    user: Option<String>,
    /// A new user's ratings, "ITEM:RATING,ITEM:RATING,...": fitted on the fly (fold-in).
    #[arg(long, value_name = "I:R,...")]
    ratings: Option<String>,
    /// Every user the model knows, written to --out as rows user,rank,item,score.
    #[arg(long, requires = "out")]
    all_users: bool,
    /// Output file for --all-users: Parquet when the name ends in `.parquet` (columns
    /// user, rank, item, score; ids as strings; Snappy), CSV otherwise.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// List length.
    #[arg(short = 'n', long = "n", default_value_t = 10)]
    n: usize,
    /// Threads for --all-users (each scores its own blocks of users).
    #[arg(long, default_value_t = 1, requires = "all_users")]
    threads: usize,
    /// Print one JSON object as the last line: items[{item, score, title}], fallback.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct SimilarArgs {
    /// Model file written by `embedrec train --out`.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// Raw item id.
    #[arg(long)]
    item: String,
    /// List length.
    #[arg(short = 'n', long = "n", default_value_t = 10)]
    n: usize,
    /// Print one JSON object as the last line: items[{item, score, title}], fallback.
    #[arg(long)]
    json: bool,
}

fn check_n(n: usize) -> Result<()> {
    if (1..=100_000).contains(&n) {
        Ok(())
    } else {
        Err(Error::Usage(format!("-n must be in 1..=100000, got {n}")))
    }
}

fn print_list(list: &RecommendationList, header: &str, json: bool) {
    if json {
        print_json(&serde_json::to_value(list).expect("serialize list"));
        return;
    }
    println!(
        "{header}{}",
        if list.fallback {
            " (fallback: most-rated items)"
        } else {
            ""
        }
    );
    for (rank, r) in list.items.iter().enumerate() {
        println!(
            "{:>3}. {:>8}  {:>8.4}  {}",
            rank + 1,
            r.item,
            r.score,
            r.title.as_deref().unwrap_or("")
        );
    }
}

/// Parses "ITEM:RATING,..." into (item index, rating) pairs of the model's known items;
/// unknown items are reported and skipped.
fn parse_ratings(saved: &TrainedModel, text: &str) -> Result<Vec<(u32, f32)>> {
    let (pairs, unknown) = parse_fold_in_ratings(saved, text)?;
    if !unknown.is_empty() {
        print_warnings(&[format!(
            "--ratings: skipped items unknown to the model: {}",
            unknown.join(", ")
        )]);
    }
    if pairs.is_empty() {
        return Err(Error::Usage(
            "--ratings: no rating of an item the model knows".into(),
        ));
    }
    Ok(pairs)
}

/// Fold-in ratings of known items (item index, rating) and the ids of unknown items.
pub(crate) type ParsedRatings = (Vec<(u32, f32)>, Vec<String>);

/// Parses "ITEM:RATING,..." into (item index, rating) pairs of the model's known items
/// and the ids of the unknown items (every rating checked against the model's scale).
/// Fuzzed: `fuzz_targets::fold_in_ratings`.
pub(crate) fn parse_fold_in_ratings(saved: &TrainedModel, text: &str) -> Result<ParsedRatings> {
    let mut pairs = Vec::new();
    let mut unknown = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || Error::Usage(format!("--ratings: expected ITEM:RATING, got '{part}'"));
        let (item, rating) = part.rsplit_once(':').ok_or_else(bad)?;
        let rating: f32 = rating.trim().parse().map_err(|_| bad())?;
        if !rating.is_finite() {
            return Err(bad());
        }
        saved
            .check_fold_in_rating(item.trim(), rating)
            .map_err(|e| {
                let e = e.to_string();
                Error::Usage(format!("--ratings: {}", e.trim_start_matches("fold-in: ")))
            })?;
        match saved.item_index(item.trim()) {
            Some(i) => pairs.push((i, rating)),
            None => unknown.push(item.trim().to_string()),
        }
    }
    Ok((pairs, unknown))
}

pub(crate) fn run(a: &RecommendArgs) -> Result<()> {
    check_n(a.n)?;
    let saved = store::load(&a.model)?;
    if let Some(user) = &a.user {
        let list = recommend::recommend_user(&saved, user, a.n);
        print_list(&list, &format!("top {} for user {user}", a.n), a.json);
    } else if let Some(text) = &a.ratings {
        let folded = recommend::fold_in(&saved, &parse_ratings(&saved, text)?)?;
        let list = recommend::recommend_folded(&saved, &folded, a.n);
        print_list(
            &list,
            &format!(
                "top {} for a new user ({} ratings)",
                a.n,
                folded.rated.len()
            ),
            a.json,
        );
    } else if let Some(out) = &a.out {
        if !(1..=256).contains(&a.threads) {
            return Err(Error::Usage(format!(
                "--threads must be in 1..=256, got {}",
                a.threads
            )));
        }
        // Blocked scoring with one bounded heap per user: memory is a score tile per
        // thread, never users x items.
        let users = saved.model.n_users();
        let started = std::time::Instant::now();
        let parquet = out
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        let rated = |u: u32| saved.rated_items(u);
        let score = |s: f32| if saved.clip { saved.scale.clip(s) } else { s };
        store::write_atomically_with(out, |w| {
            if parquet {
                let mut rows = ListWriter::new(w)?;
                recommend::top_n_all_users(&saved.model, &rated, a.n, a.threads, |u, list| {
                    for (rank, &(i, s)) in list.iter().enumerate() {
                        rows.push(saved.users.raw(u), rank + 1, saved.items.raw(i), score(s))
                            .map_err(|e| Error::io(out, e))?;
                    }
                    Ok(())
                })
                .map_err(std::io::Error::other)?;
                return rows.finish();
            }
            writeln!(w, "user,rank,item,score")?;
            recommend::top_n_all_users(&saved.model, &rated, a.n, a.threads, |u, list| {
                for (rank, &(i, s)) in list.iter().enumerate() {
                    writeln!(
                        w,
                        "{},{},{},{}",
                        saved.users.raw(u),
                        rank + 1,
                        saved.items.raw(i),
                        score(s)
                    )
                    .map_err(|e| Error::io(out, e))?;
                }
                Ok(())
            })
            .map_err(std::io::Error::other)
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let rate = users as f64 / seconds.max(1e-9);
        if a.json {
            print_json(&serde_json::json!({
                "users": users,
                "out": out.display().to_string(),
                "seconds": seconds,
                "users_per_second": rate,
            }));
        } else {
            println!(
                "wrote top {} for {users} users to {} in {seconds:.2} s ({rate:.0} users/s, {} threads)",
                a.n,
                out.display(),
                a.threads
            );
        }
    }
    Ok(())
}

pub(crate) fn run_similar(a: &SimilarArgs) -> Result<()> {
    check_n(a.n)?;
    let saved = store::load(&a.model)?;
    let list = recommend::similar_items(&saved, &a.item, a.n)?;
    let title = saved
        .item_index(&a.item)
        .and_then(|i| saved.title(i))
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    print_list(
        &list,
        &format!("items most similar to {}{title}", a.item),
        a.json,
    );
    Ok(())
}
