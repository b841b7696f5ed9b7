//! HTTP service over a saved model (`embedrec serve`), on axum and tokio.
//!
//! [`app`] builds the router from an [`AppState`], so tests drive it without a socket;
//! [`serve`] runs it on a listener until a shutdown future resolves.
//!
//! # Endpoints
//!
//! Ids are the raw ids of the training data, as strings. `n` is 1..=1000 (default 10).
//!
//! | method, path | request | answer |
//! |---|---|---|
//! | `GET /health` | | `{"status":"ok"}` |
//! | `GET /v1/users/{id}/recommendations?n=10&exclude_seen=true` | | `{"items":[{"item","score","title"}],"fallback"}`; an unknown user gets the most-rated items with `"fallback":true`; `exclude_seen=false` may list the user's training items |
//! | `GET /v1/items/{id}/similar?n=10` | | the same list shape, by cosine similarity of item embeddings |
//! | `POST /v1/predict` | `{"pairs":[{"user","item","time"?}]}` (at most 10,000; `time`: Unix seconds, for models with time features) | `{"predictions":[{"user","item","prediction","fallback"}]}` |
//! | `POST /v1/recommend` | `{"ratings":[{"item","rating"}],"n":10}` (at most 10,000 ratings) | a fold-in list for a new user, plus `unknown_items` (the ids skipped); no known item: the most-rated items, `"fallback":true` |
//! | `GET /v1/model` | | `model_md5` (MD5 of the model file's bytes, as `md5sum` prints it: which file is live; `null` for a model given in memory), `kind, params, users, items, param_count, scale, clip, training, fingerprint` (MD5 of the training data: the same for every model trained on it) |
//! | `POST /v1/admin/reload` | | re-reads the model file: `{"status":"reloaded",...}`, or 422 `reload_failed` and the old model keeps serving |
//!
//! # Errors
//!
//! Always `{"error":{"code":"...","message":"..."}}`:
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `malformed_json`, `invalid_body` | body is not JSON, or misses a field / has a wrong type |
//! | 400 | `invalid_n`, `invalid_query`, `invalid_rating` | `n` outside 1..=1000, unparsable query, a fold-in rating that is not finite or lies outside the model's rating scale (the message names it) |
//! | 404 | `unknown_item`, `not_found` | similar items of an unknown item; no such route |
//! | 405 | `method_not_allowed` | wrong method on a known route |
//! | 408 | `body_timeout` | the body did not arrive within the body timeout (connection closed) |
//! | 413 | `too_many_pairs`, `too_many_ratings`, `body_too_large` | over 10,000 pairs or ratings; body over 1 MiB (a declared `Content-Length` over it: answered before the body is read, connection closed) |
//! | 415 | `unsupported_media_type` | a JSON body without `Content-Type: application/json` |
//! | 422 | `no_item_embeddings`, `reload_failed` | similar items of a model without item embeddings; the new model file does not load |
//! | 503 | `overloaded` | more than `max_waiting` requests already waiting for scoring; or a new connection at the connection cap when every open one is busy |
//!
//! # Concurrency, reload, shutdown
//!
//! Scoring runs on tokio's blocking pool (`spawn_blocking`), never on the async workers.
//! A semaphore of `max_waiting` permits bounds the requests queued or running there;
//! past it a request is refused at once with 503 rather than queued without bound.
//! The model sits behind `RwLock<Arc<Served>>` (the [`TrainedModel`] and its popularity
//! list, computed once per load): a request clones the `Arc` once and
//! scores on that snapshot, so a reload (SIGHUP or `POST /v1/admin/reload`) swaps the
//! model atomically without disturbing requests in flight; a file that fails to load is
//! rejected and the old model keeps serving. On SIGTERM or ctrl-c the server stops
//! accepting connections and finishes the requests in flight ([`shutdown_signal`]).
//! Connections ([`serve_with`], [`Limits`]): header, body and keep-alive idle timeouts
//! and a cap on open connections at which the oldest idle connection is evicted
//! (`serve/conn.rs`).
//! The admin endpoint has no authentication: bind to 127.0.0.1 (the default) or put
//! the service behind a proxy.

mod conn;
mod error;

pub use conn::{Limits, raise_open_file_limit};
pub use error::{ApiError, ApiJson, ApiPath, ApiQuery};

use crate::models::Recommender;
use crate::recommend::{self, RecommendationList};
use crate::store::{self, TrainedModel};
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio::sync::{Mutex, Semaphore};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Largest `n` of a list.
pub const MAX_N: usize = 1000;
/// `n` when the request names none.
pub const DEFAULT_N: usize = 10;
/// Most pairs of one `POST /v1/predict` (and ratings of one `POST /v1/recommend`).
pub const MAX_PAIRS: usize = 10_000;

/// A loaded model with what is worth computing once per model: the popularity list
/// (an unknown user's answer would otherwise cost a pass over every training rating).
/// Dereferences to the [`TrainedModel`].
#[derive(Debug)]
pub struct Served {
    saved: TrainedModel,
    /// The [`MAX_N`] most-rated items, flagged as a fallback (a list of `n` is a prefix).
    popular: RecommendationList,
    /// The MD5 of the model file's bytes, when the model was read from a file.
    file_md5: Option<String>,
}

impl Served {
    /// Wraps `saved`, computing its popularity list.
    pub fn new(saved: TrainedModel) -> Served {
        let popular = recommend::popular_items(&saved, MAX_N);
        Served {
            saved,
            popular,
            file_md5: None,
        }
    }

    /// Reads the model file at `path` ([`store::load_identified`]): the model and the
    /// MD5 of the file's bytes, which `/v1/model` reports as `model_md5`.
    pub fn load(path: &Path) -> crate::Result<Served> {
        let (saved, md5) = store::load_identified(path)?;
        Ok(Served {
            file_md5: Some(md5),
            ..Served::new(saved)
        })
    }

    /// The MD5 (lowercase hex) of the model file served, as `md5sum` prints it; `None`
    /// for a model given in memory ([`AppState::new`]).
    pub fn file_md5(&self) -> Option<&str> {
        self.file_md5.as_deref()
    }

    /// The `n` most-rated items (`n` <= [`MAX_N`]), flagged as a fallback; the same list
    /// as [`recommend::popular_items`].
    pub fn popular(&self, n: usize) -> RecommendationList {
        RecommendationList {
            items: self.popular.items.iter().take(n).cloned().collect(),
            fallback: true,
        }
    }
}

impl std::ops::Deref for Served {
    type Target = TrainedModel;
    fn deref(&self) -> &TrainedModel {
        &self.saved
    }
}

/// What the handlers share: the model (swappable), its file, and the scoring permits.
#[derive(Debug)]
pub struct AppState {
    model_path: PathBuf,
    current: RwLock<Arc<Served>>,
    scoring: Arc<Semaphore>,
    reloading: Mutex<()>,
}

impl AppState {
    /// State serving `model`, reloaded from `model_path`, with at most `max_waiting`
    /// requests waiting for (or running) scoring at once (0 refuses every scoring
    /// request: useful in tests).
    pub fn new(model_path: &Path, model: TrainedModel, max_waiting: usize) -> Arc<AppState> {
        Self::serving(model_path, Served::new(model), max_waiting)
    }

    fn serving(model_path: &Path, served: Served, max_waiting: usize) -> Arc<AppState> {
        Arc::new(AppState {
            model_path: model_path.to_path_buf(),
            current: RwLock::new(Arc::new(served)),
            scoring: Arc::new(Semaphore::new(max_waiting.min(Semaphore::MAX_PERMITS))),
            reloading: Mutex::new(()),
        })
    }

    /// Loads the model file at `path` and serves it (with the file's MD5).
    pub fn load(path: &Path, max_waiting: usize) -> crate::Result<Arc<AppState>> {
        Ok(Self::serving(path, Served::load(path)?, max_waiting))
    }

    /// The model serving now (a snapshot: a reload does not change it).
    pub fn model(&self) -> Arc<Served> {
        // A poisoned lock still holds a whole Arc: the swap is one assignment.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The model file this state reloads from.
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }

    /// Re-reads the model file (off the async workers) and swaps it in; on failure the
    /// old model keeps serving and the load error is returned. Reloads run one at a time.
    pub async fn reload(&self) -> crate::Result<Arc<Served>> {
        let _one_at_a_time = self.reloading.lock().await;
        let path = self.model_path.clone();
        let loaded = tokio::task::spawn_blocking(move || Served::load(&path))
            .await
            .map_err(|e| crate::Error::Usage(format!("reload task failed: {e}")))??;
        let loaded = Arc::new(loaded);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = loaded.clone();
        Ok(loaded)
    }
}

/// The router of every endpoint (see the module docs), with the 1 MiB body limit and
/// the default body timeout.
pub fn app(state: Arc<AppState>) -> Router {
    app_with(state, Limits::default().body_timeout)
}

/// [`app`] with bodies read within `body_timeout`: a body not received in time is
/// answered 408 `body_timeout`, one declared (`Content-Length`) over the limit 413
/// `body_too_large` before any of it is read; both close the connection.
pub fn app_with(state: Arc<AppState>, body_timeout: std::time::Duration) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/users/{id}/recommendations", get(user_recommendations))
        .route("/v1/items/{id}/similar", get(similar))
        .route("/v1/predict", post(predict))
        .route("/v1/recommend", post(recommend_new_user))
        .route("/v1/model", get(model_info))
        .route("/v1/admin/reload", post(reload))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            read_body,
        ))
        .with_state(state)
}

/// Reads the whole request body (at most [`MAX_BODY_BYTES`], within `body_timeout`)
/// before the handler runs; see [`app_with`].
async fn read_body(
    State(body_timeout): State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    let close = |e: ApiError| {
        let mut response = e.into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        response
    };
    let too_large = || {
        close(ApiError::too_large(
            "body_too_large",
            format!("the request body is over the limit of {MAX_BODY_BYTES} bytes"),
        ))
    };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(body_timeout, limited.collect()).await {
        Err(_) => {
            return close(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the request body did not arrive within {} s",
                    body_timeout.as_secs_f64()
                ),
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Ok(Err(e)) => {
            return close(ApiError::bad_request(
                "bad_body",
                format!("reading the request body failed: {e}"),
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then finishes the requests
/// in flight and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Limits::default(), shutdown).await
}

/// [`serve`] under `limits`: header, body and keep-alive idle timeouts, and a cap on
/// open connections where a new connection evicts the oldest idle one (see
/// `serve/conn.rs`).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app_with(state, limits.body_timeout);
    conn::serve_router(listener, router, limits, shutdown).await
}

/// A future that resolves on SIGTERM or SIGINT (ctrl-c). The handlers are installed
/// now, before the future is polled, so a signal sent once the caller has announced
/// itself is never lost to the default action. Must be called inside a tokio runtime.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// (Unix) Spawns a task that reloads the model on every SIGHUP, reporting on stderr.
/// Must be called inside a tokio runtime.
pub fn reload_on_sighup(state: Arc<AppState>) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match state.reload().await {
                    Ok(m) => eprintln!(
                        "reloaded {} (model_md5 {}, fingerprint {})",
                        state.model_path().display(),
                        m.file_md5().unwrap_or("-"),
                        m.fingerprint
                    ),
                    Err(e) => eprintln!("reload failed, keeping the old model: {e}"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = state;
    Ok(())
}

/// Runs `work` on a snapshot of the model on the blocking pool, holding one of the
/// `max_waiting` permits while it waits and runs; none left: 503 `overloaded`.
async fn score<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Served) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = state.scoring.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many requests waiting for scoring; retry later",
        )
    })?;
    let model = state.model();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work(&model)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("scoring failed: {e}"),
        )
    })?
}

/// `n` checked against 1..=[`MAX_N`], [`DEFAULT_N`] when absent.
fn check_n(n: Option<usize>) -> Result<usize, ApiError> {
    match n {
        None => Ok(DEFAULT_N),
        Some(n) if (1..=MAX_N).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(
            "invalid_n",
            format!("n must be in 1..={MAX_N}, got {n}"),
        )),
    }
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

#[derive(Deserialize)]
struct ListQuery {
    n: Option<usize>,
    exclude_seen: Option<bool>,
}

async fn user_recommendations(
    State(state): State<Arc<AppState>>,
    ApiPath(user): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<RecommendationList>, ApiError> {
    let n = check_n(q.n)?;
    let exclude_seen = q.exclude_seen.unwrap_or(true);
    let list = score(&state, move |m| {
        Ok(match m.user_index(&user) {
            Some(_) => recommend::recommend_user_with(m, &user, n, exclude_seen),
            None => m.popular(n),
        })
    })
    .await?;
    Ok(Json(list))
}

async fn similar(
    State(state): State<Arc<AppState>>,
    ApiPath(item): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<RecommendationList>, ApiError> {
    let n = check_n(q.n)?;
    let list = score(&state, move |m| {
        if m.item_index(&item).is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_item",
                format!("item {item} is unknown to the model"),
            ));
        }
        if !recommend::has_item_embeddings(m) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_item_embeddings",
                format!(
                    "a {} model has no item embeddings to compare",
                    m.model.kind()
                ),
            ));
        }
        recommend::similar_items(m, &item, n).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_request",
                e.to_string(),
            )
        })
    })
    .await?;
    Ok(Json(list))
}

#[derive(Deserialize)]
struct PredictRequest {
    pairs: Vec<Pair>,
}

#[derive(Deserialize)]
struct Pair {
    user: String,
    item: String,
    /// Unix seconds: a model with time features predicts on that day.
    #[serde(default)]
    time: Option<i64>,
}

#[derive(Serialize)]
struct PredictAnswer {
    predictions: Vec<PredictionOut>,
}

#[derive(Serialize)]
struct PredictionOut {
    user: String,
    item: String,
    prediction: f32,
    fallback: bool,
}

async fn predict(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<PredictRequest>,
) -> Result<Json<PredictAnswer>, ApiError> {
    if req.pairs.len() > MAX_PAIRS {
        return Err(ApiError::too_large(
            "too_many_pairs",
            format!(
                "at most {MAX_PAIRS} pairs per request, got {}",
                req.pairs.len()
            ),
        ));
    }
    let predictions = score(&state, move |m| {
        Ok(req
            .pairs
            .into_iter()
            .map(|p| {
                let pred = m.predict_at(&p.user, &p.item, p.time);
                PredictionOut {
                    user: p.user,
                    item: p.item,
                    prediction: pred.value,
                    fallback: pred.fallback,
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(PredictAnswer { predictions }))
}

#[derive(Deserialize)]
struct FoldInRequest {
    ratings: Vec<RatingIn>,
    n: Option<usize>,
}

#[derive(Deserialize)]
struct RatingIn {
    item: String,
    rating: f32,
}

#[derive(Serialize)]
struct FoldInAnswer {
    #[serde(flatten)]
    list: RecommendationList,
    unknown_items: Vec<String>,
}

async fn recommend_new_user(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<FoldInRequest>,
) -> Result<Json<FoldInAnswer>, ApiError> {
    let n = check_n(req.n)?;
    if req.ratings.len() > MAX_PAIRS {
        return Err(ApiError::too_large(
            "too_many_ratings",
            format!(
                "at most {MAX_PAIRS} ratings per request, got {}",
                req.ratings.len()
            ),
        ));
    }
    if let Some(r) = req.ratings.iter().find(|r| !r.rating.is_finite()) {
        return Err(ApiError::bad_request(
            "invalid_rating",
            format!("rating of item {} is not a finite number", r.item),
        ));
    }
    let answer = score(&state, move |m| {
        // Every rating inside the model's scale, known item or not.
        for r in &req.ratings {
            m.check_fold_in_rating(&r.item, r.rating)
                .map_err(|e| ApiError::bad_request("invalid_rating", e.to_string()))?;
        }
        let mut known = Vec::with_capacity(req.ratings.len());
        let mut unknown_items = Vec::new();
        for r in req.ratings {
            match m.item_index(&r.item) {
                Some(i) => known.push((i, r.rating)),
                None => unknown_items.push(r.item),
            }
        }
        let list = if known.is_empty() {
            m.popular(n)
        } else {
            let folded = recommend::fold_in(m, &known)
                .map_err(|e| ApiError::bad_request("invalid_ratings", e.to_string()))?;
            recommend::recommend_folded(m, &folded, n)
        };
        Ok(FoldInAnswer {
            list,
            unknown_items,
        })
    })
    .await?;
    Ok(Json(answer))
}

/// What `GET /v1/model` and a successful reload report.
fn describe(m: &Served) -> Value {
    json!({
        "model_md5": m.file_md5(),
        "kind": m.model.kind(),
        "params": m.params,
        "users": m.users.len(),
        "items": m.items.len(),
        "param_count": m.model.param_count(),
        "scale": m.scale,
        "clip": m.clip,
        "training": m.training,
        "fingerprint": m.fingerprint,
    })
}

async fn model_info(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(describe(&state.model()))
}

async fn reload(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    match state.reload().await {
        Ok(m) => {
            let mut body = describe(&m);
            body["status"] = json!("reloaded");
            Ok(Json(body))
        }
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reload_failed",
            format!("{e}; the previous model keeps serving"),
        )),
    }
}
