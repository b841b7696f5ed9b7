//! The service against slow and idle clients, on real sockets: header, body and
//! keep-alive timeouts, 413 before an oversized body is read, and the connection cap
//! (idle clients evicted so `/health` answers; every connection busy: 503).

mod common;
use common::*;
use embedrec::serve::{AppState, Limits, serve_with};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A server in its own runtime on an ephemeral port, stopped when dropped.
struct Server {
    addr: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: TempDir,
}

impl Server {
    fn start(tag: &str, limits: Limits) -> Server {
        let dir = TempDir::new(tag);
        let data = synth(&dir, "syn", 40, 50, 800);
        let model = dir.path("b.emb");
        let o = embedrec(&[
            "train",
            "--model",
            "baseline",
            "--data",
            data.to_str().unwrap(),
            "--split",
            "random:0.2",
            "--out",
            model.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let state = AppState::load(&model, 8).unwrap();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx
                    .send(listener.local_addr().unwrap().to_string())
                    .unwrap();
                serve_with(listener, state, limits, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        Server {
            addr: addr_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
            _dir: dir,
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        s
    }

    /// `GET /health` on a new connection: the status line, within `limit`.
    fn health(&self, limit: Duration) -> String {
        let start = Instant::now();
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(limit)).unwrap();
        write!(
            s,
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        assert!(
            start.elapsed() < limit,
            "/health took {:?}",
            start.elapsed()
        );
        text.lines().next().unwrap_or("").to_string()
    }
}

impl Server {
    /// Stops the server; how long it took to return.
    fn stop(&mut self) -> Duration {
        let start = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        start.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn limits(header: f64, body: f64, idle: f64, max_connections: usize) -> Limits {
    Limits {
        header_timeout: Duration::from_secs_f64(header),
        body_timeout: Duration::from_secs_f64(body),
        idle_timeout: Duration::from_secs_f64(idle),
        max_connections,
    }
}

/// Whether the server has closed `s` (reads what arrives in the meantime into `got`).
fn closed(s: &mut TcpStream, got: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// Waits up to `limit` for the server to close `s`; the time it took and what it sent.
fn wait_closed(s: &mut TcpStream, limit: Duration) -> (Duration, String) {
    let start = Instant::now();
    let mut got = Vec::new();
    while !closed(s, &mut got) {
        assert!(
            start.elapsed() < limit,
            "still open after {limit:?}; got {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    (start.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

#[test]
fn a_trickled_header_is_cut_off() {
    let server = Server::start("limits-header", limits(0.5, 30.0, 30.0, 64));
    let mut s = server.connect();
    let start = Instant::now();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    // One byte of a header line every 100 ms, for up to 10 s.
    let mut got = Vec::new();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a header trickled for 10 s was not cut off"
        );
        if s.write_all(b"a").is_err() || closed(&mut s, &mut got) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(4), "cut off after {took:?}");
    assert!(
        took >= Duration::from_millis(400),
        "cut off early: {took:?}"
    );
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let server = Server::start("limits-idle", limits(30.0, 30.0, 0.5, 64));
    // Never sends a byte.
    let mut silent = server.connect();
    let (took, _) = wait_closed(&mut silent, Duration::from_secs(5));
    assert!(took >= Duration::from_millis(300), "{took:?}");
    // Keep-alive after one answered request.
    let mut s = server.connect();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (_, got) = wait_closed(&mut s, Duration::from_secs(5));
    assert!(
        got.starts_with("HTTP/1.1 200") && got.ends_with(r#"{"status":"ok"}"#),
        "{got}"
    );
}

#[test]
fn a_slow_body_is_answered_408() {
    let server = Server::start("limits-body", limits(30.0, 0.5, 30.0, 64));
    let mut s = server.connect();
    s.write_all(
        b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
Content-Length: 100\r\n\r\n{\"pairs\":",
    )
    .unwrap();
    let (took, got) = wait_closed(&mut s, Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("body_timeout"), "{got}");
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

#[test]
fn a_declared_oversized_body_is_413_before_it_is_read() {
    let server = Server::start("limits-413", limits(30.0, 60.0, 30.0, 64));
    let mut s = server.connect();
    s.write_all(
        b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
Content-Length: 11000000\r\n\r\n{\"pairs\":",
    )
    .unwrap();
    let (_, got) = wait_closed(&mut s, Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    assert!(got.contains("body_too_large"), "{got}");
}

#[test]
fn at_the_cap_idle_clients_are_evicted_and_health_answers() {
    let server = Server::start("limits-cap", limits(60.0, 60.0, 60.0, 16));
    // The cap filled by clients that never send a byte and clients that never finish
    // their header.
    let mut held: Vec<TcpStream> = (0..16)
        .map(|k| {
            let mut s = server.connect();
            if k % 2 == 1 {
                s.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
            }
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..3 {
        let status = server.health(Duration::from_secs(5));
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    }
    // The oldest held connections made room.
    let (_, got) = wait_closed(&mut held[0], Duration::from_secs(5));
    assert!(got.is_empty(), "{got}");
}

#[test]
fn at_the_cap_with_every_connection_busy_a_new_one_gets_503() {
    let server = Server::start("limits-busy", limits(60.0, 60.0, 60.0, 4));
    // Busy: each is in the middle of sending a request body.
    let _busy: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = server.connect();
            s.write_all(
                b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
Content-Length: 100\r\n\r\n{",
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut s = server.connect();
    let (_, got) = wait_closed(&mut s, Duration::from_secs(5));
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.contains("overloaded"), "{got}");
}

#[test]
fn shutdown_does_not_wait_for_idle_or_slow_header_clients() {
    let mut server = Server::start("limits-stop", limits(60.0, 60.0, 60.0, 64));
    let mut trickling = server.connect();
    trickling.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
    let _silent = server.connect();
    std::thread::sleep(Duration::from_millis(200));
    let took = server.stop();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    let (_, got) = wait_closed(&mut trickling, Duration::from_secs(1));
    assert!(got.is_empty(), "{got}");
}
