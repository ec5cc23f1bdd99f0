//! `butler serve`: runs the selected modes (exporter, watcher, fee manager) in one process.
//!
//! Each mode contributes a [`Mode`]: an HTTP router for its listen address and the background tasks it
//! needs. Modes given the same address share one listener (their routers are merged). Every task gets
//! the process [`CancellationToken`]; when one fails, the others are cancelled and the process stops
//! with that error. SIGINT/SIGTERM cancel the token and every server drains gracefully.
//!
//! Connections are served by hyper's HTTP/1 server with a header-read timeout ([`ServeOptions`]), so a
//! client that opens a connection and never finishes its request headers is disconnected.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A background task of a mode; it must return when the token is cancelled.
pub type Task = Pin<Box<dyn Future<Output = Result<(), TaskError>> + Send>>;

/// The error a task ends with.
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// One serve mode: where it listens, what it answers, what it runs in the background.
pub struct Mode {
    pub name: &'static str,
    pub listen: SocketAddr,
    pub router: Router,
    pub tasks: Vec<(String, Task)>,
}

/// Why `serve` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr} for {modes}: {source}")]
    Bind {
        addr: SocketAddr,
        modes: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "modes {modes} cannot share {addr}: they serve the same path; give them different listen addresses"
    )]
    RouteClash { addr: SocketAddr, modes: String },
    #[error("HTTP server on {addr} failed: {source}")]
    Server {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("task {name} failed: {source}")]
    Task {
        name: String,
        #[source]
        source: TaskError,
    },
}

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// Longest wait for open connections to finish after `cancel`.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// [`run_with`] with the default [`ServeOptions`].
pub async fn run(modes: Vec<Mode>, cancel: CancellationToken) -> Result<(), ServeError> {
    run_with(modes, cancel, ServeOptions::default()).await
}

/// Binds every listen address (all before serving anything, so a busy port fails fast), then serves until
/// `cancel` fires or a task fails. Returns the first error.
pub async fn run_with(
    modes: Vec<Mode>,
    cancel: CancellationToken,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let mut by_addr: BTreeMap<SocketAddr, (Vec<&'static str>, Router)> = BTreeMap::new();
    let mut tasks = Vec::new();
    for mode in modes {
        let entry = by_addr
            .entry(mode.listen)
            .or_insert_with(|| (Vec::new(), Router::new()));
        entry.0.push(mode.name);
        let current = std::mem::take(&mut entry.1);
        let merged =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| current.merge(mode.router)));
        entry.1 = merged.map_err(|_| ServeError::RouteClash {
            addr: mode.listen,
            modes: entry.0.join(" + "),
        })?;
        tasks.extend(mode.tasks);
    }
    let mut listeners = Vec::new();
    for (addr, (names, router)) in by_addr {
        let modes = names.join(" + ");
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr,
                modes: modes.clone(),
                source,
            })?;
        let bound = listener.local_addr().unwrap_or(addr);
        tracing::info!(%bound, modes, "listening");
        listeners.push((bound, listener, router));
    }
    let tracker = TaskTracker::new();
    let (err_tx, mut err_rx) = tokio::sync::mpsc::unbounded_channel::<ServeError>();
    for (addr, listener, router) in listeners {
        let c = cancel.clone();
        let tx = err_tx.clone();
        tracker.spawn(async move {
            let served = serve_listener(listener, router, options, c.clone()).await;
            if let Err(source) = served {
                let _ = tx.send(ServeError::Server { addr, source });
                c.cancel();
            }
        });
    }
    for (name, task) in tasks {
        let c = cancel.clone();
        let tx = err_tx.clone();
        tracker.spawn(async move {
            if let Err(source) = task.await {
                tracing::error!(task = %name, error = %source, "task failed; stopping");
                let _ = tx.send(ServeError::Task { name, source });
                c.cancel();
            }
        });
    }
    drop(err_tx);
    tracker.close();
    tracker.wait().await;
    match err_rx.try_recv() {
        Ok(e) => Err(e),
        Err(_) => Ok(()),
    }
}

/// Accepts connections until `cancel`, then lets open ones finish (at most `drain_timeout`).
async fn serve_listener(
    listener: tokio::net::TcpListener,
    router: Router,
    options: ServeOptions,
    cancel: CancellationToken,
) -> Result<(), std::io::Error> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = cancel.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // per-connection failures (reset before accept, out of descriptors) must not stop the server
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(options.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish in time; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    fn mode(name: &'static str, listen: SocketAddr, path: &str) -> Mode {
        Mode {
            name,
            listen,
            router: Router::new().route(path, get(|| async { "ok" })),
            tasks: Vec::new(),
        }
    }

    #[tokio::test]
    async fn clashing_routes_on_one_address_are_an_error() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let err = run(
            vec![mode("a", addr, "/metrics"), mode("b", addr, "/metrics")],
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ServeError::RouteClash { .. }), "{err}");
        assert!(err.to_string().contains("a + b"), "{err}");
    }

    #[tokio::test]
    async fn modes_share_a_listener_and_stop_on_cancel() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let cancel = CancellationToken::new();
        let server = tokio::spawn(run(
            vec![mode("a", addr, "/a"), mode("b", addr, "/b")],
            cancel.clone(),
        ));
        let mut ok = 0;
        for _ in 0..100 {
            let a = tokio::net::TcpStream::connect(addr).await;
            if a.is_ok() {
                ok += 1;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(ok, 1, "server did not start");
        cancel.cancel();
        server.await.unwrap().unwrap();
    }
}
