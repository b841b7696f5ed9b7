//! `embedrec predict`: one prediction from a saved model, by raw ids.

use super::print_json;
use crate::error::Result;
use crate::store;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct PredictArgs {
    /// Model file written by `embedrec train --out`.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// Raw user id, as in the training data.
    #[arg(long)]
    user: String,
    /// Raw item id, as in the training data.
    #[arg(long)]
    item: String,
    /// The rating's time, Unix seconds: a model with time features (fm's day) predicts
    /// on that day; without it, fm averages the day over the user's training days.
    #[arg(long, value_name = "UNIX_SECONDS")]
    time: Option<i64>,
    /// Print one JSON object as the last line: user, item, prediction, fallback.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: &PredictArgs) -> Result<()> {
    let saved = store::load(&a.model)?;
    let p = saved.predict_at(&a.user, &a.item, a.time);
    if a.json {
        print_json(&json!({
            "user": a.user,
            "item": a.item,
            "prediction": p.value,
            "fallback": p.fallback,
        }));
    } else {
        let why = match (saved.user_index(&a.user), saved.item_index(&a.item)) {
            (Some(_), Some(_)) => "",
            (None, Some(_)) => " (fallback: user unknown to the model)",
            (Some(_), None) => " (fallback: item unknown to the model)",
            (None, None) => " (fallback: user and item unknown to the model)",
        };
        println!("user {} item {}: {:.4}{why}", a.user, a.item, p.value);
    }
    Ok(())
}
