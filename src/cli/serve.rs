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
}

pub(crate) fn run(a: &ServeArgs) -> Result<()> {
    if a.max_waiting == 0 {
        return Err(Error::Usage("--max-waiting must be at least 1".into()));
    }
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
            "serving {} ({} model, {} users, {} items, fingerprint {})",
            a.model.display(),
            m.model.kind(),
            m.users.len(),
            m.items.len(),
            m.fingerprint
        );
        drop(m);
        serve::serve(listener, state, shutdown)
            .await
            .map_err(|e| Error::io(&addr_path, e))?;
        eprintln!("shut down");
        Ok(())
    });
    runtime.shutdown_timeout(Duration::from_secs(10));
    result
}
