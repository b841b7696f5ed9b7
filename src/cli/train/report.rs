//! What `embedrec train` prints and writes: per-epoch records, the learning curve (CSV,
//! figure) and the ranking report of implicit models.

use super::*;

/// One line of the per-epoch history (the contract's keys).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct EpochRecord {
    pub epoch: usize,
    pub train_rmse: f64,
    pub test_rmse: f64,
    pub seconds: f64,
}

impl EpochRecord {
    pub(super) fn of(e: &EpochStats) -> Self {
        EpochRecord {
            epoch: e.epoch,
            train_rmse: e.train_rmse.unwrap_or(f64::NAN),
            test_rmse: e.watch_rmse.unwrap_or(f64::NAN),
            seconds: e.seconds,
        }
    }
}

/// One line of an implicit model's history: `{epoch, seconds, ndcg@10, hr@10}`.
#[derive(Debug, Clone)]
pub(crate) struct RankRecord {
    pub epoch: usize,
    pub seconds: f64,
    pub ndcg: f64,
    pub hr: f64,
}

impl serde::Serialize for RankRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("epoch", &self.epoch)?;
        map.serialize_entry("seconds", &self.seconds)?;
        map.serialize_entry("ndcg@10", &self.ndcg)?;
        map.serialize_entry("hr@10", &self.hr)?;
        map.end()
    }
}

pub(super) fn write_curve(path: &std::path::Path, history: &[EpochRecord]) -> Result<()> {
    let mut text = String::from("epoch,train_rmse,test_rmse,seconds\n");
    for h in history {
        text.push_str(&format!(
            "{},{:.6},{:.6},{:.6}\n",
            h.epoch, h.train_rmse, h.test_rmse, h.seconds
        ));
    }
    crate::store::write_atomically(path, text.as_bytes())
}

pub(super) fn write_plot(
    path: &std::path::Path,
    title: &str,
    history: &[EpochRecord],
) -> Result<()> {
    let epochs: Vec<usize> = history.iter().map(|h| h.epoch).collect();
    let train: Vec<f64> = history.iter().map(|h| h.train_rmse).collect();
    let test: Vec<f64> = history.iter().map(|h| h.test_rmse).collect();
    crate::plot::learning_curve(path, title, &epochs, &train, &test)
}

/// The report of an implicit model: the ranking metrics of protocol A on the test data
/// (K = 10) instead of RMSE.
pub(super) fn report_implicit(
    a: &TrainArgs,
    implicit: &Implicit,
    model: &TrainedModel,
    train: &Ratings,
    test: &Ratings,
) -> Result<()> {
    let net: &dyn Recommender = &model.model;
    let history: Vec<RankRecord> = model
        .history
        .iter()
        .map(|e| RankRecord {
            epoch: e.epoch,
            seconds: e.seconds,
            ndcg: e.watch_ndcg.unwrap_or(f64::NAN),
            hr: e.watch_hr.unwrap_or(f64::NAN),
        })
        .collect();
    let n_users = net.n_users();
    let test_unknown = (0..test.len())
        .filter(|&k| test.users[k] >= n_users || test.items[k] >= net.n_items())
        .count();
    let mut report = json!({
        "model": net.kind(),
        "params": model.params,
        "implicit": {
            "min_rating": implicit.min_rating,
            "threshold": implicit.threshold,
            "protocol": format!("{:?}", implicit.protocol).to_lowercase(),
        },
        "users": n_users,
        "items": net.n_items(),
        "param_count": net.param_count(),
        "epochs_run": history.len(),
        "train_seconds": model.training.train_seconds,
        "test_count": test.len(),
        "test_unknown": test_unknown,
    });
    let (metrics, lines) = match implicit.protocol {
        Protocol::Full => {
            let m = ranking_metrics_of(net, train, test, 10, implicit.threshold);
            let relevant = match implicit.threshold {
                Some(t) => format!("test rating >= {t}"),
                None => "every test item".into(),
            };
            let head = format!(
                "ranking      full: {} users with a relevant test item ({relevant})",
                m.users
            );
            report["ranking_users"] = m.users.into();
            let rows = vec![
                ("precision@10", m.precision),
                ("recall@10", m.recall),
                ("ndcg@10", m.ndcg),
                ("hr@10", m.hr),
                ("map@10", m.map),
                ("mrr@10", m.mrr),
                ("coverage@10", m.coverage),
            ];
            (m.to_json(), (head, rows))
        }
        Protocol::Sampled => {
            let negatives = crate::eval::ranking::DEFAULT_NEGATIVES;
            let m = crate::eval::ranking::sampled_ranking_metrics_of(
                net,
                train,
                test,
                10,
                negatives,
                SAMPLED_SEED,
            );
            let head = format!(
                "ranking      sampled: {} test items of {} users, each among {negatives} \
                 unrated items (seed {SAMPLED_SEED}); {} unknown to the model",
                m.cases, m.users, m.unknown
            );
            report["ranking_users"] = m.users.into();
            report["ranking_cases"] = m.cases.into();
            let rows = vec![("hr@10", m.hr), ("ndcg@10", m.ndcg), ("mrr@10", m.mrr)];
            (m.to_json(), (head, rows))
        }
    };
    if let (serde_json::Value::Object(r), serde_json::Value::Object(metrics)) =
        (&mut report, metrics)
    {
        metrics.into_iter().for_each(|(k, v)| {
            r.insert(k, v);
        });
        r.insert("history".into(), json!(history));
    }
    if a.json {
        print_json(&report);
        return Ok(());
    }
    println!("model        {} (implicit feedback)", net.kind());
    println!(
        "data         {} train / {} test ratings",
        train.len(),
        test.len()
    );
    println!(
        "rows         {} users, {} items ({} parameters)",
        n_users,
        net.n_items(),
        net.param_count()
    );
    println!(
        "epochs       {} in {:.3} s",
        history.len(),
        model.training.train_seconds
    );
    println!("{}", lines.0);
    for (name, v) in lines.1 {
        println!("  {name:<14} {v:.4}");
    }
    Ok(())
}
