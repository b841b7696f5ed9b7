//! The HTTP service: every endpoint and error status through the router (no socket),
//! hot reload, overload, and one real server on an ephemeral port.

mod common;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use embedrec::models::Recommender;
use embedrec::serve::{AppState, app};
use embedrec::store::{self, TrainedModel};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

/// Synthetic ML-100K-style data in `dir/syn` and a model of `kind` trained on it.
fn train(dir: &TempDir, kind: &str, out: &str) -> PathBuf {
    let data = dir.path("syn");
    if !data.join("u.data").is_file() {
        let o = embedrec(&[
            "data",
            "synth",
            "--out",
            data.to_str().unwrap(),
            "--users",
            "60",
            "--items",
            "80",
            "--ratings",
            "2000",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let model = dir.path(out);
    let mut args = vec![
        "train",
        "--model",
        kind,
        "--data",
        data.to_str().unwrap(),
        "--split",
        "random:0.2",
        "--epochs",
        "2",
        "--out",
        model.to_str().unwrap(),
    ];
    if kind != "baseline" {
        args.extend(["--dim", "4"]);
    }
    let o = embedrec(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    model
}

/// An MF model and the state serving it.
fn mf_state(dir: &TempDir, max_waiting: usize) -> (PathBuf, Arc<AppState>) {
    let model = train(dir, "mf", "mf.emb");
    let state = AppState::load(&model, max_waiting).unwrap();
    (model, state)
}

/// Sends one request through the router; the answer's status and JSON body.
async fn call(app: Router, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{uri}: body is not JSON ({e}): {bytes:?}"));
    (status, json)
}

async fn get(state: &Arc<AppState>, uri: &str) -> (StatusCode, Value) {
    call(app(state.clone()), "GET", uri, None).await
}

async fn post(state: &Arc<AppState>, uri: &str, body: &str) -> (StatusCode, Value) {
    call(app(state.clone()), "POST", uri, Some(body)).await
}

/// Asserts an error answer: status and `error.code`, with a non-empty message.
fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(
        !answer.1["error"]["message"].as_str().unwrap().is_empty(),
        "{}",
        answer.1
    );
}

fn item_ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["item"].as_str().unwrap().to_string())
        .collect()
}

fn seen(saved: &TrainedModel, user: &str) -> Vec<String> {
    let u = saved.user_index(user).unwrap();
    saved
        .rated_items(u)
        .iter()
        .map(|&i| saved.items.raw(i).to_string())
        .collect()
}

#[tokio::test]
async fn health_model_info_and_unknown_routes() {
    let dir = TempDir::new("serve-info");
    let (path, state) = mf_state(&dir, 8);
    let saved = store::load(&path).unwrap();
    assert_eq!(
        get(&state, "/health").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let (status, info) = get(&state, "/v1/model").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["kind"], "mf");
    assert_eq!(info["users"], saved.users.len());
    assert_eq!(info["items"], saved.items.len());
    assert_eq!(info["fingerprint"], saved.fingerprint.as_str());
    assert_eq!(info["params"], saved.params);
    assert_eq!(info["training"]["epochs_run"], 2);
    assert_error(
        &get(&state, "/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &call(app(state.clone()), "GET", "/v1/predict", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

#[tokio::test]
async fn user_recommendations_exclude_seen_and_fall_back() {
    let dir = TempDir::new("serve-user");
    let (path, state) = mf_state(&dir, 8);
    let saved = store::load(&path).unwrap();
    let user = saved.users.raw(0).to_string();
    let rated = seen(&saved, &user);
    assert!(!rated.is_empty());

    let (status, list) = get(&state, &format!("/v1/users/{user}/recommendations?n=5")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["fallback"], false);
    assert_eq!(item_ids(&list).len(), 5);
    let first = &list["items"][0];
    assert!(
        first["score"].is_number() && first["title"].is_string(),
        "{list}"
    );
    let expected = embedrec::recommend::recommend_user(&saved, &user, 5);
    let got: Vec<(String, f32)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["item"].as_str().unwrap().into(),
                r["score"].as_f64().unwrap() as f32,
            )
        })
        .collect();
    let want: Vec<(String, f32)> = expected
        .items
        .iter()
        .map(|r| (r.item.clone(), r.score))
        .collect();
    assert_eq!(got, want);

    // Every item: without the seen ones by default, with them when asked.
    let all = saved.items.len();
    let (_, list) = get(&state, &format!("/v1/users/{user}/recommendations?n=1000")).await;
    let ids = item_ids(&list);
    assert_eq!(ids.len(), all - rated.len());
    assert!(ids.iter().all(|i| !rated.contains(i)));
    let (status, list) = get(
        &state,
        &format!("/v1/users/{user}/recommendations?n=1000&exclude_seen=false"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ids = item_ids(&list);
    assert_eq!(ids.len(), all);
    assert!(rated.iter().all(|i| ids.contains(i)));

    // Unknown user: most-rated items, flagged.
    let (status, list) = get(&state, "/v1/users/no-such-user/recommendations?n=3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["fallback"], true);
    let expected = embedrec::recommend::recommend_user(&saved, "no-such-user", 3);
    let want: Vec<String> = expected.items.iter().map(|r| r.item.clone()).collect();
    assert_eq!(item_ids(&list), want);
}

#[tokio::test]
async fn bad_n_and_bad_query_are_400() {
    let dir = TempDir::new("serve-n");
    let (_, state) = mf_state(&dir, 8);
    for uri in [
        "/v1/users/1/recommendations?n=0",
        "/v1/users/1/recommendations?n=1001",
        "/v1/items/1/similar?n=0",
        "/v1/items/1/similar?n=5000",
    ] {
        assert_error(
            &get(&state, uri).await,
            StatusCode::BAD_REQUEST,
            "invalid_n",
        );
    }
    for uri in [
        "/v1/users/1/recommendations?n=abc",
        "/v1/users/1/recommendations?n=-1",
        "/v1/users/1/recommendations?exclude_seen=maybe",
    ] {
        assert_error(
            &get(&state, uri).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        );
    }
    assert_error(
        &get(&state, "/v1/users/%FF/recommendations").await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    );
    // Percent-encoded raw ids are decoded: an id with a space or a slash is just unknown.
    for uri in [
        "/v1/users/a%20b/recommendations",
        "/v1/users/a%2Fb/recommendations",
    ] {
        let (status, list) = get(&state, uri).await;
        assert_eq!((status, &list["fallback"]), (StatusCode::OK, &json!(true)));
    }
    assert_error(
        &post(&state, "/v1/recommend", r#"{"ratings":[],"n":0}"#).await,
        StatusCode::BAD_REQUEST,
        "invalid_n",
    );
}

#[tokio::test]
async fn similar_items_unknown_item_and_model_without_embeddings() {
    let dir = TempDir::new("serve-similar");
    let (path, state) = mf_state(&dir, 8);
    let saved = store::load(&path).unwrap();
    let item = saved.items.raw(3).to_string();
    let (status, list) = get(&state, &format!("/v1/items/{item}/similar?n=4")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let ids = item_ids(&list);
    assert_eq!(ids.len(), 4);
    assert!(!ids.contains(&item));
    assert_eq!(list["fallback"], false);
    assert_error(
        &get(&state, "/v1/items/no-such-item/similar").await,
        StatusCode::NOT_FOUND,
        "unknown_item",
    );

    let baseline = train(&dir, "baseline", "baseline.emb");
    let state = AppState::load(&baseline, 8).unwrap();
    assert_error(
        &get(&state, &format!("/v1/items/{item}/similar")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_item_embeddings",
    );
}

#[tokio::test]
async fn predict_pairs_and_body_errors() {
    let dir = TempDir::new("serve-predict");
    let (path, state) = mf_state(&dir, 8);
    let saved = store::load(&path).unwrap();
    let (user, item) = (saved.users.raw(1), saved.items.raw(2));
    let body = json!({"pairs": [{"user": user, "item": item}, {"user": "nobody", "item": item}]});
    let (status, answer) = post(&state, "/v1/predict", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let preds = answer["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 2);
    let expected = saved.predict_raw(user, item);
    assert_eq!(preds[0]["user"], user);
    assert_eq!(preds[0]["item"], item);
    assert_eq!(preds[0]["fallback"], false);
    assert_eq!(
        preds[0]["prediction"].as_f64().unwrap() as f32,
        expected.value
    );
    assert_eq!(preds[1]["fallback"], true);

    let (status, answer) = post(&state, "/v1/predict", r#"{"pairs":[]}"#).await;
    assert_eq!(
        (status, answer),
        (StatusCode::OK, json!({"predictions": []}))
    );

    assert_error(
        &post(&state, "/v1/predict", r#"{"pairs":[{"user":"1""#).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    assert_error(
        &post(&state, "/v1/predict", r#"{"pairs":[{"user":"1"}]}"#).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &post(
            &state,
            "/v1/predict",
            r#"{"pairs":[{"user":1,"item":"2"}]}"#,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &post(&state, "/v1/predict", "{}").await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &call(
            app(state.clone()),
            "POST",
            "/v1/predict",
            None, // no content type
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    let pairs: Vec<Value> = (0..10_001)
        .map(|i| json!({"user": "1", "item": i.to_string()}))
        .collect();
    let body = json!({ "pairs": pairs }).to_string();
    assert!(body.len() < 1 << 20);
    assert_error(
        &post(&state, "/v1/predict", &body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_many_pairs",
    );
    let huge = format!(r#"{{"pairs":[],"pad":"{}"}}"#, "x".repeat(1 << 20));
    assert_error(
        &post(&state, "/v1/predict", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
}

/// A pair's `time` reaches a model with time features (fm's day): the answer is the
/// model's prediction at that time, which differs from the untimed one; a time of the
/// wrong type is a 400.
#[tokio::test]
async fn predict_takes_a_time_for_a_model_with_time_features() {
    let dir = TempDir::new("serve-predict-time");
    train(&dir, "mf", "mf.emb"); // writes the synthetic data
    let model = dir.path("fm.emb");
    let o = embedrec(&[
        "train",
        "--model",
        "fm",
        "--data",
        dir.path("syn").to_str().unwrap(),
        "--split",
        "random:0.2",
        "--dim",
        "4",
        "--chains",
        "2",
        "--sweeps",
        "8",
        "--burn-in",
        "2",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let state = AppState::load(&model, 8).unwrap();
    let saved = store::load(&model).unwrap();
    let (user, item) = (saved.users.raw(1), saved.items.raw(2));
    let (early, late) = (891_000_000_i64, 899_000_000_i64);
    let body = json!({"pairs": [
        {"user": user, "item": item, "time": early},
        {"user": user, "item": item, "time": late},
        {"user": user, "item": item},
    ]});
    let (status, answer) = post(&state, "/v1/predict", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let got: Vec<f32> = (answer["predictions"].as_array().unwrap().iter())
        .map(|p| p["prediction"].as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got[0], saved.predict_at(user, item, Some(early)).value);
    assert_eq!(got[1], saved.predict_at(user, item, Some(late)).value);
    assert_eq!(got[2], saved.predict_raw(user, item).value);
    assert_ne!(got[0], got[1], "the day matters to fm");
    // The command line's `predict --time` is the same call.
    let o = embedrec(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--user",
        user,
        "--item",
        item,
        "--time",
        &early.to_string(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line: Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(line["prediction"].as_f64().unwrap() as f32, got[0]);
    assert_error(
        &post(
            &state,
            "/v1/predict",
            &json!({"pairs": [{"user": user, "item": item, "time": "yesterday"}]}).to_string(),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
}

#[tokio::test]
async fn fold_in_recommendations_for_a_new_user() {
    let dir = TempDir::new("serve-foldin");
    let (path, state) = mf_state(&dir, 8);
    let saved = store::load(&path).unwrap();
    let rated: Vec<String> = (0..5).map(|i| saved.items.raw(i).to_string()).collect();
    let mut ratings: Vec<Value> = rated
        .iter()
        .map(|i| json!({"item": i, "rating": 5}))
        .collect();
    ratings.push(json!({"item": "no-such-item", "rating": 1.5}));
    let body = json!({"ratings": ratings, "n": 7}).to_string();
    let (status, list) = post(&state, "/v1/recommend", &body).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["fallback"], false);
    assert_eq!(list["unknown_items"], json!(["no-such-item"]));
    let ids = item_ids(&list);
    assert_eq!(ids.len(), 7);
    assert!(ids.iter().all(|i| !rated.contains(i)), "{list}");

    // Nothing known about the user: the most-rated items, flagged; n defaults to 10.
    let (status, list) = post(
        &state,
        "/v1/recommend",
        r#"{"ratings":[{"item":"no-such-item","rating":4}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["fallback"], true);
    assert_eq!(item_ids(&list).len(), 10);

    // A rating outside the model's scale (1..5), of a known item or not: 400 naming it.
    for (item, rating, says) in [
        (
            rated[0].as_str(),
            json!(1e30),
            "1000000000000000000000000000000",
        ),
        (rated[1].as_str(), json!(-7), "-7"),
        ("no-such-item", json!(5.5), "5.5"),
    ] {
        let body =
            json!({"ratings": [{"item": rated[2], "rating": 4}, {"item": item, "rating": rating}]});
        let (status, answer) = post(&state, "/v1/recommend", &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"]["code"], "invalid_rating", "{answer}");
        let m = answer["error"]["message"].as_str().unwrap();
        assert!(
            m.contains(item) && m.contains(says) && m.contains("scale"),
            "{m}"
        );
    }

    assert_error(
        &post(&state, "/v1/recommend", r#"{"n":3}"#).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &post(
            &state,
            "/v1/recommend",
            r#"{"ratings":[{"item":"1","rating":"five"}]}"#,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({"item": i.to_string(), "rating": 3}))
        .collect();
    assert_error(
        &post(
            &state,
            "/v1/recommend",
            &json!({ "ratings": many }).to_string(),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_many_ratings",
    );
}

#[tokio::test]
async fn overload_is_503_and_cheap_endpoints_still_answer() {
    let dir = TempDir::new("serve-overload");
    let (_, state) = mf_state(&dir, 0); // no scoring permits at all
    assert_error(
        &get(&state, "/v1/users/1/recommendations").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
    );
    assert_error(
        &post(
            &state,
            "/v1/predict",
            r#"{"pairs":[{"user":"1","item":"1"}]}"#,
        )
        .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
    );
    assert_eq!(get(&state, "/health").await.0, StatusCode::OK);
    assert_eq!(get(&state, "/v1/model").await.0, StatusCode::OK);
}

#[tokio::test]
async fn reload_rejects_a_corrupt_file_and_swaps_a_good_one() {
    let dir = TempDir::new("serve-reload");
    let (path, state) = mf_state(&dir, 8);
    let before = get(&state, "/v1/model").await.1;
    let user = store::load(&path).unwrap().users.raw(0).to_string();
    let uri = format!("/v1/users/{user}/recommendations?n=5");
    let list_before = get(&state, &uri).await.1;

    // A corrupt file: 422 with the load error, and the old model keeps serving.
    std::fs::write(&path, b"certainly not a model").unwrap();
    let answer = post(&state, "/v1/admin/reload", "").await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "reload_failed");
    assert!(
        answer.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mf.emb"),
        "{}",
        answer.1
    );
    assert_eq!(get(&state, "/v1/model").await.1, before);
    assert_eq!(get(&state, &uri).await, (StatusCode::OK, list_before));

    // A good file (another model kind) is swapped in.
    let baseline = train(&dir, "baseline", "baseline.emb");
    std::fs::copy(&baseline, &path).unwrap();
    let (status, answer) = post(&state, "/v1/admin/reload", "").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "reloaded");
    assert_eq!(answer["kind"], "baseline");
    assert_eq!(get(&state, "/v1/model").await.1["kind"], "baseline");
    assert_eq!(state.model().model.kind(), "baseline");
}

/// One HTTP/1.1 GET by hand; the status line and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[cfg(unix)]
#[test]
fn real_server_on_an_ephemeral_port_reloads_on_sighup_and_shuts_down_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = TempDir::new("serve-real");
    let model = train(&dir, "mf", "mf.emb");
    let mut child = Command::new(env!("CARGO_BIN_EXE_embedrec"))
        .args(["serve", "--model", model.to_str().unwrap()])
        .args(["--addr", "127.0.0.1:0", "--max-waiting", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );

    let (status, body) = http_get(&addr, "/health");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(body.contains(r#"{"status":"ok"}"#), "{body}");

    // SIGHUP with a good new file: the model changes without a restart.
    let baseline = train(&dir, "baseline", "baseline.emb");
    std::fs::copy(&baseline, &model).unwrap();
    let pid = child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGHUP) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, body) = http_get(&addr, "/v1/model");
        if body.contains(r#""kind":"baseline""#) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no reload: {body}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_rejects_a_corrupt_model_with_exit_code_2() {
    let dir = TempDir::new("serve-corrupt");
    let bad = dir.write("bad.emb", b"nope");
    let o = embedrec(&[
        "serve",
        "--model",
        bad.to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_server_answers_and_shuts_down_gracefully() {
    let dir = TempDir::new("serve-inproc");
    let (_, state) = mf_state(&dir, 8);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(embedrec::serve::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let (status, body) = tokio::task::spawn_blocking(move || http_get(&addr, "/health"))
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert_eq!(body, r#"{"status":"ok"}"#);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// `/v1/model` names the live file by the MD5 of its bytes beside the data's
/// fingerprint: two models trained on the same data share the fingerprint, not the
/// file hash, and a reload reports the new file's. A file whose metadata was edited by
/// one byte (the scale's maximum) fails the reload's checksum; the old model stays.
#[tokio::test]
async fn model_info_names_the_file_and_reload_checks_the_metadata() {
    use md5::{Digest, Md5};
    let dir = TempDir::new("serve-model-md5");
    let (path, state) = mf_state(&dir, 8);
    let md5_of = |p: &std::path::Path| {
        Md5::digest(std::fs::read(p).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let info = get(&state, "/v1/model").await.1;
    assert_eq!(info["model_md5"], md5_of(&path).as_str(), "{info}");

    // Another model on the same data and split (another learning rate): same fingerprint, another file.
    let other = dir.path("mf2.emb");
    let data = dir.path("syn");
    let o = embedrec(&[
        "train",
        "--model",
        "mf",
        "--data",
        data.to_str().unwrap(),
        "--split",
        "random:0.2",
        "--epochs",
        "2",
        "--dim",
        "4",
        "--lr",
        "0.02",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::copy(&other, &path).unwrap();
    let (status, answer) = post(&state, "/v1/admin/reload", "").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let now = get(&state, "/v1/model").await.1;
    assert_eq!(now["fingerprint"], info["fingerprint"]);
    assert_eq!(now["model_md5"], md5_of(&other).as_str());
    assert_ne!(now["model_md5"], info["model_md5"]);
    assert_eq!(answer["model_md5"], now["model_md5"]);

    // One byte of the metadata: the scale's maximum 5 -> 3.
    let mut bytes = std::fs::read(&path).unwrap();
    let pat = br#"\"max\":5"#;
    let k = bytes.windows(pat.len()).position(|w| w == pat).unwrap();
    bytes[k + pat.len() - 1] = b'3';
    std::fs::write(&path, &bytes).unwrap();
    let answer = post(&state, "/v1/admin/reload", "").await;
    assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "reload_failed");
    let m = answer.1["error"]["message"].as_str().unwrap();
    assert!(m.contains("checksum mismatch"), "{m}");
    assert_eq!(get(&state, "/v1/model").await.1, now);
    assert_eq!(state.model().scale.max, 5.0);
}
