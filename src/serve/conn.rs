//! Connections of the HTTP service: timeouts, a cap with eviction, graceful shutdown.
//!
//! Each accepted connection is served by hyper's HTTP/1 state machine in its own task,
//! watched by a per-connection deadline:
//!
//! - **idle**: no request in progress and no byte of the next one received (a fresh
//!   connection, or keep-alive between requests): closed after `idle_timeout`;
//! - **header**: bytes of a request head received, the head not complete: closed
//!   `header_timeout` after its first byte (a client trickling a header);
//! - **busy**: a request is being handled. Its body is read by the router's body layer
//!   ([`super::app_with`]) within `body_timeout` (else 408), and a body declared larger
//!   than the limit is answered 413 before it is read.
//!
//! At most `max_connections` are open. At the cap a new connection evicts the oldest one
//! that is idle or still sending its header (closed at once); when every connection is
//! busy the new one is answered 503 and closed. So clients that hold connections without
//! completing requests can never keep `/health` from being answered.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Limits of the service's connections (flags of `embedrec serve`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Longest time from the first byte of a request head to its end.
    pub header_timeout: Duration,
    /// Longest time to receive a request body (then 408).
    pub body_timeout: Duration,
    /// Longest time a connection may stay open without a request (keep-alive).
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 10 s header, 30 s body, 60 s idle, 4096 connections.
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Milliseconds since the first call (a monotonic clock that fits an atomic).
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// What the accept loop and a connection's task know of the connection.
struct ConnState {
    /// Requests being handled (0 or 1 on HTTP/1).
    busy: AtomicUsize,
    /// When the connection last became idle ([`now_ms`]).
    idle_since: AtomicU64,
    /// 1 + when the first byte of the next request head arrived; 0: none yet.
    head_since: AtomicU64,
    /// Closes the connection at once (eviction).
    evict: Notify,
    /// The first byte of a head arrived: the deadline moved earlier.
    rearm: Notify,
}

impl ConnState {
    fn new() -> Self {
        ConnState {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now_ms()),
            head_since: AtomicU64::new(0),
            evict: Notify::new(),
            rearm: Notify::new(),
        }
    }

    /// Idle or still sending a header: may be evicted.
    fn evictable(&self) -> bool {
        self.busy.load(Ordering::SeqCst) == 0
    }

    /// When the connection is due to be closed, in [`now_ms`] time (None while busy).
    fn deadline_ms(&self, limits: &Limits) -> Option<u64> {
        if !self.evictable() {
            return None;
        }
        let ms = |d: Duration| d.as_millis() as u64;
        Some(match self.head_since.load(Ordering::SeqCst) {
            0 => self.idle_since.load(Ordering::SeqCst) + ms(limits.idle_timeout),
            head => head - 1 + ms(limits.header_timeout),
        })
    }
}

/// Marks its connection busy while a request is handled.
struct Busy(Arc<ConnState>);

impl Busy {
    fn new(state: Arc<ConnState>) -> Busy {
        state.busy.fetch_add(1, Ordering::SeqCst);
        state.head_since.store(0, Ordering::SeqCst);
        Busy(state)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(now_ms(), Ordering::SeqCst);
        self.0.head_since.store(0, Ordering::SeqCst);
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The socket, noting when the first byte of a request head arrives.
struct Watched {
    io: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let s = &self.state;
            if s.evictable() && s.head_since.load(Ordering::SeqCst) == 0 {
                s.head_since.store(now_ms() + 1, Ordering::SeqCst);
                s.rearm.notify_one();
            }
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The open connections, oldest first.
#[derive(Default)]
struct Registry {
    next_id: u64,
    open: BTreeMap<u64, Arc<ConnState>>,
}

impl Registry {
    /// Evicts the oldest idle (or header-sending) connection; false when all are busy.
    fn evict_oldest(&mut self) -> bool {
        let victim = self
            .open
            .iter()
            .find(|(_, c)| c.evictable())
            .map(|(&id, _)| id);
        match victim.and_then(|id| self.open.remove(&id)) {
            Some(c) => {
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The answer to a connection over the cap when no connection can be evicted.
const FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 71\r\nconnection: close\r\n\r\n\
{\"error\":{\"code\":\"overloaded\",\"message\":\"too many connections; retry\"}}";

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then stops
/// accepting, closes the connections without a request in progress (idle, or still
/// sending a header), lets the requests in flight finish and returns when every
/// connection is closed.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors (or a transient error): free one idle
                        // connection and breathe.
                        if !is_per_connection_error(&e) {
                            lock(&registry).evict_oldest();
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::new(ConnState::new());
                let id = {
                    let mut reg = lock(&registry);
                    if reg.open.len() >= limits.max_connections.max(1) && !reg.evict_oldest() {
                        drop(reg);
                        let _ = stream.try_write(FULL);
                        continue;
                    }
                    let id = reg.next_id;
                    reg.next_id += 1;
                    reg.open.insert(id, state.clone());
                    id
                };
                let (router, registry, stop) = (router.clone(), registry.clone(), stop_rx.clone());
                tasks.spawn(async move {
                    connection(stream, router, state, limits, stop).await;
                    lock(&registry).open.remove(&id);
                });
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

/// Errors of one connection that came and went before it was accepted.
fn is_per_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it ends, times out, is evicted, or (after `stop`) has
/// finished its request in flight.
async fn connection(
    stream: TcpStream,
    router: Router,
    state: Arc<ConnState>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        io: stream,
        state: state.clone(),
    });
    let tower = TowerToHyperService::new(router);
    let service_state = state.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let busy = Busy::new(service_state.clone());
        let answer = hyper::service::Service::call(&tower, req);
        async move {
            let response = answer.await;
            drop(busy);
            response
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    if *stop.borrow() {
        return;
    }
    let mut stopping = false;
    loop {
        // While busy, look again after the shortest timeout.
        let recheck = limits.header_timeout.min(limits.idle_timeout);
        let wake = match state.deadline_ms(&limits) {
            Some(at) => Duration::from_millis(at.saturating_sub(now_ms())),
            None => recheck,
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = state.evict.notified() => return,
            _ = state.rearm.notified() => {}
            _ = tokio::time::sleep(wake) => {
                if state.deadline_ms(&limits).is_some_and(|at| at <= now_ms()) {
                    return;
                }
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    // Shutting down: a connection without a request in progress is
                    // closed now; one with a request finishes it first.
                    if state.evictable() {
                        return;
                    }
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Raises the soft limit of open files to the hard limit where allowed (Unix) and
/// returns the soft limit now in force (None when unknown).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: getrlimit / setrlimit on a local struct.
        unsafe {
            let mut lim: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            Some(lim.rlim_cur as u64)
        }
    }
    #[cfg(not(unix))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_answer_has_its_declared_length() {
        let text = std::str::from_utf8(FULL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }

    #[test]
    fn deadlines_by_phase() {
        let limits = Limits {
            header_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(1000),
            ..Limits::default()
        };
        let s = Arc::new(ConnState::new());
        let idle = s.idle_since.load(Ordering::SeqCst);
        assert_eq!(s.deadline_ms(&limits), Some(idle + 1000));
        s.head_since.store(idle + 5 + 1, Ordering::SeqCst);
        assert_eq!(s.deadline_ms(&limits), Some(idle + 5 + 100));
        let busy = Busy::new(s.clone());
        assert_eq!(s.deadline_ms(&limits), None);
        assert!(!s.evictable());
        drop(busy);
        assert!(s.evictable());
        assert_eq!(s.head_since.load(Ordering::SeqCst), 0);
    }
}
