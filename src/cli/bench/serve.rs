//! `embedrec bench serve`: requests against a running service over plain HTTP/1.

use super::*;

/// One keep-alive HTTP/1.1 GET; returns the status code.
pub(super) fn http_get(
    stream: &mut std::net::TcpStream,
    buf: &mut Vec<u8>,
    path: &str,
) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    write!(stream, "GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n")?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let got = stream.read(&mut chunk)?;
        if got == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        buf.extend_from_slice(&chunk[..got]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let got = stream.read(&mut chunk)?;
        if got == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "short body",
            ));
        }
        buf.extend_from_slice(&chunk[..got]);
    }
    Ok(status)
}

pub(super) fn run_serve(b: &ServeBench) -> Result<()> {
    use crate::serve::{self, AppState};
    if b.connections == 0 || b.requests == 0 || !(1..=1000).contains(&b.n) {
        return Err(Error::Usage(
            "--connections and --requests must be >= 1, -n in 1..=1000".into(),
        ));
    }
    let state = AppState::load(&b.model, 1024)?;
    let users: Vec<String> = state.model().users.raw_ids().to_vec();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cores)
        .enable_all()
        .build()
        .map_err(|e| Error::io(std::path::Path::new("tokio runtime"), e))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| Error::io(std::path::Path::new("127.0.0.1:0"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io(std::path::Path::new("127.0.0.1:0"), e))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(serve::serve(listener, state, async {
        let _ = stopped.await;
    }));
    println!(
        "GET /v1/users/{{id}}/recommendations?n={} on {addr}: {} requests over {} keep-alive connections; load average before: {}",
        b.n,
        b.requests,
        b.connections,
        load_average()
    );
    let started = Instant::now();
    let per_conn = b.requests.div_ceil(b.connections);
    let results: Vec<(Vec<f64>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..b.connections)
            .map(|c| {
                let users = &users;
                scope.spawn(move || {
                    let mut latencies = Vec::with_capacity(per_conn);
                    let mut errors = 0usize;
                    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
                        return (latencies, per_conn);
                    };
                    let _ = stream.set_nodelay(true);
                    let mut buf = Vec::new();
                    for r in 0..per_conn {
                        let user = &users[(c * per_conn + r) % users.len()];
                        let t = Instant::now();
                        match http_get(
                            &mut stream,
                            &mut buf,
                            &format!("/v1/users/{user}/recommendations?n={}", b.n),
                        ) {
                            Ok(200) => latencies.push(t.elapsed().as_secs_f64()),
                            Ok(_) => errors += 1,
                            Err(_) => {
                                errors += per_conn - r;
                                break;
                            }
                        }
                    }
                    (latencies, errors)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or((Vec::new(), per_conn)))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = runtime.block_on(server);
    let errors: usize = results.iter().map(|r| r.1).sum();
    let mut all: Vec<f64> = results.into_iter().flat_map(|r| r.0).collect();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
            * 1e3
    };
    println!(
        "{} ok, {errors} errors in {seconds:.2} s: {:.0} requests/s; latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        all.len(),
        all.len() as f64 / seconds,
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!("load average after: {}", load_average());
    Ok(())
}
