//! `embedrec serve`: the HTTP service ([`crate::serve`]) over a saved model.

use crate::error::{Error, Result};
use crate::models::Recommender;
use crate::serve::{self, AppState};
use clap::Args;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Model file written by `embedrec train --out`.
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Most requests waiting for (or running) scoring at once; more are answered 503.
    #[arg(long, default_value_t = 1024)]
    max_waiting: usize,
    /// Seconds a client may take to send a request header, from its first byte.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    header_timeout: f64,
    /// Seconds a client may take to send a request body (then 408).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    body_timeout: f64,
    /// Seconds a connection may stay open without a request (keep-alive).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    idle_timeout: f64,
    /// Most open connections (also kept 64 below the open-file limit, which is raised to
    /// its maximum at start); at the cap a new connection evicts the oldest idle one.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    max_connections: usize,
}

/// The connection limits of the flags; the cap kept below the open-file limit.
fn limits(a: &ServeArgs) -> Result<serve::Limits> {
    let secs = |flag: &str, v: f64| {
        if v.is_finite() && v > 0.0 && v <= 1e6 {
            Ok(Duration::from_secs_f64(v))
        } else {
            Err(Error::Usage(format!(
                "--{flag}: expected seconds above 0 (at most 1e6), got {v}"
            )))
        }
    };
    if a.max_connections == 0 {
        return Err(Error::Usage("--max-connections must be at least 1".into()));
    }
    let files = serve::raise_open_file_limit().unwrap_or(u64::MAX);
    let fit = files.saturating_sub(64).max(1);
    Ok(serve::Limits {
        header_timeout: secs("header-timeout", a.header_timeout)?,
        body_timeout: secs("body-timeout", a.body_timeout)?,
        idle_timeout: secs("idle-timeout", a.idle_timeout)?,
        max_connections: a
            .max_connections
            .min(usize::try_from(fit).unwrap_or(usize::MAX)),
    })
}

pub(crate) fn run(a: &ServeArgs) -> Result<()> {
    if a.max_waiting == 0 {
        return Err(Error::Usage("--max-waiting must be at least 1".into()));
    }
    let limits = limits(a)?;
    let state = AppState::load(&a.model, a.max_waiting)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Scoring is CPU-bound: as many blocking threads as cores; the rest wait in the
    // pool's queue, bounded by --max-waiting.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cores)
        .enable_all()
        .build()
        .map_err(|e| Error::io(Path::new("tokio runtime"), e))?;
    let addr_path = PathBuf::from(a.addr.to_string());
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.addr)
            .await
            .map_err(|e| Error::io(&addr_path, e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::io(&addr_path, e))?;
        // Signal handlers first: once the address is announced, SIGTERM and SIGHUP are
        // handled (not the default action, which would kill the process).
        let shutdown = serve::shutdown_signal().map_err(|e| Error::io(&addr_path, e))?;
        serve::reload_on_sighup(state.clone()).map_err(|e| Error::io(&addr_path, e))?;
        // First stdout line: scripts and tests read the bound port from it.
        println!("listening on {bound}");
        let _ = std::io::stdout().flush();
        let m = state.model();
        eprintln!(
            "serving {} ({} model, {} users, {} items, fingerprint {}; at most {} connections)",
            a.model.display(),
            m.model.kind(),
            m.users.len(),
            m.items.len(),
            m.fingerprint,
            limits.max_connections
        );
        drop(m);
        serve::serve_with(listener, state, limits, shutdown)
            .await
            .map_err(|e| Error::io(&addr_path, e))?;
        eprintln!("shut down");
        Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(10));
    result
}
