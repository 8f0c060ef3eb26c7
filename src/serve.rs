//! `stresslab serve`: the HTTP API and web console over the embedded runner. The
//! router and the local backend live in `shared/api` (the API Lambda runs the same
//! router); this is the runtime, the socket and the shutdown.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use stresslab_api::local::{LocalBackend, LocalOptions};
use stresslab_api::{assessments, router, ApiConfig};

pub fn serve(addr: SocketAddr, dir: &Path, concurrent_runs: usize, workers: usize) -> ExitCode {
    let mut options = LocalOptions::default();
    if concurrent_runs > 0 {
        options.concurrent_runs = concurrent_runs;
    }
    options.workers_per_run = workers;
    let backend = match LocalBackend::new(dir, options) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("error: {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        // Tools and tests read this line for the port when --addr asks for port 0.
        println!(
            "stresslab serve: listening on http://{local} (runs in {})",
            dir.display()
        );
        std::io::stdout().flush()?;
        // The runs API and the assessments, over one backend and one run store.
        let app = router(backend.clone(), ApiConfig::local())
            .merge(assessments::router(backend, ApiConfig::local()));
        stresslab_api::axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // Without a signal handler there is nothing to wait for but the kill.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: serve on {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}
