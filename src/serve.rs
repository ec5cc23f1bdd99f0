//! `butler serve`: runs the selected modes (exporter, watcher, fee manager) in one process.
//!
//! Each mode contributes a [`Mode`]: the HTTP listeners it needs (none for a mode without routes) and,
//! separately, the background tasks it runs. Modes given the same address share one listener: the paths
//! their routers answer are compared first (a clash is an error naming the path), then the routers are
//! merged. Every task gets the process [`CancellationToken`]; when one fails, the others are cancelled and
//! the process stops with that error. SIGINT/SIGTERM cancel the token and every server drains gracefully.
//!
//! Connections are served by hyper's HTTP/1 server with a header-read timeout ([`ServeOptions`]), so a
//! client that opens a connection and never finishes its request headers is disconnected.

use std::collections::{BTreeMap, HashMap};
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

/// An HTTP listener a mode asks for: the address, the router, and the paths the router answers.
pub struct Listener {
    pub listen: SocketAddr,
    pub router: Router,
    /// Every path the router routes (axum syntax, `/a/{param}`), compared with the other modes' paths.
    pub paths: Vec<String>,
    /// Whether the router answers unknown paths itself (only one router per listener may).
    pub fallback: bool,
}

impl Listener {
    /// A listener for `router`, which routes exactly `paths` and has no fallback.
    pub fn new(listen: SocketAddr, (router, paths): (Router, Vec<String>)) -> Listener {
        Listener {
            listen,
            router,
            paths,
            fallback: false,
        }
    }

    /// The router answers unknown paths itself.
    pub fn with_fallback(mut self) -> Listener {
        self.fallback = true;
        self
    }
}

/// One serve mode: the listeners it answers on and, separately, what it runs in the background.
pub struct Mode {
    pub name: &'static str,
    pub listeners: Vec<Listener>,
    pub tasks: Vec<(String, Task)>,
}

impl Mode {
    /// A mode with no listener and no task yet.
    pub fn new(name: &'static str) -> Mode {
        Mode {
            name,
            listeners: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// Adds a listener.
    pub fn listener(mut self, listener: Listener) -> Mode {
        self.listeners.push(listener);
        self
    }

    /// Adds a background task.
    pub fn task(mut self, name: impl Into<String>, task: Task) -> Mode {
        self.tasks.push((name.into(), task));
        self
    }
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
    #[error("modes {modes} cannot share {addr}: {what}; give them different listen addresses")]
    RouteClash {
        addr: SocketAddr,
        modes: String,
        what: String,
    },
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
    let mut by_addr: BTreeMap<SocketAddr, Vec<(&'static str, Listener)>> = BTreeMap::new();
    let mut tasks = Vec::new();
    for mode in modes {
        for l in mode.listeners {
            by_addr.entry(l.listen).or_default().push((mode.name, l));
        }
        tasks.extend(mode.tasks);
    }
    let mut merged = Vec::new();
    for (addr, shared) in by_addr {
        check_clashes(addr, &shared)?;
        let names: Vec<&'static str> = shared.iter().map(|(n, _)| *n).collect();
        let router = shared
            .into_iter()
            .fold(Router::new(), |r, (_, l)| r.merge(l.router));
        merged.push((addr, names, router));
    }
    let mut listeners = Vec::new();
    for (addr, names, router) in merged {
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

/// Two modes on one address must not route the same path (parameter names aside: `/a/{x}` and `/a/{y}`
/// are the same route) nor both answer unknown paths.
fn check_clashes(addr: SocketAddr, shared: &[(&'static str, Listener)]) -> Result<(), ServeError> {
    let mut owner: HashMap<String, &'static str> = HashMap::new();
    let mut fallback: Option<&'static str> = None;
    for (name, l) in shared {
        for path in &l.paths {
            if let Some(first) = owner.insert(route_shape(path), name) {
                return Err(ServeError::RouteClash {
                    addr,
                    modes: format!("{first} + {name}"),
                    what: format!("both serve `{path}`"),
                });
            }
        }
        if l.fallback {
            if let Some(first) = fallback {
                return Err(ServeError::RouteClash {
                    addr,
                    modes: format!("{first} + {name}"),
                    what: "both answer unknown paths".to_string(),
                });
            }
            fallback = Some(name);
        }
    }
    Ok(())
}

/// A path with its parameters' names dropped.
fn route_shape(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                if seg.starts_with("{*") { "{*}" } else { "{}" }
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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

    fn mode(name: &'static str, listen: SocketAddr, path: &'static str) -> Mode {
        let router = Router::new().route(path, get(move || async move { path }));
        Mode::new(name).listener(Listener::new(listen, (router, vec![path.to_string()])))
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
        assert!(err.to_string().contains("`/metrics`"), "{err}");
    }

    #[test]
    fn routes_differing_only_in_parameter_names_clash() {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = |p: &str| Listener::new(addr, (Router::new(), vec![p.to_string()]));
        let err = check_clashes(addr, &[("a", l("/x/{id}")), ("b", l("/x/{name}"))]).unwrap_err();
        assert!(err.to_string().contains("`/x/{name}`"), "{err}");
        check_clashes(addr, &[("a", l("/x/{id}")), ("b", l("/y/{id}"))]).unwrap();
        let fb = |p: &str| l(p).with_fallback();
        let err = check_clashes(addr, &[("a", fb("/a")), ("b", fb("/b"))]).unwrap_err();
        assert!(err.to_string().contains("unknown paths"), "{err}");
    }

    #[tokio::test]
    async fn modes_share_a_listener_answer_both_routes_and_stop_on_cancel() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let cancel = CancellationToken::new();
        let tasks_only = Mode::new("tasks-only").task(
            "idle",
            Box::pin({
                let c = cancel.clone();
                async move {
                    c.cancelled().await;
                    Ok(())
                }
            }),
        );
        let server = tokio::spawn(run(
            vec![mode("a", addr, "/a"), mode("b", addr, "/b"), tasks_only],
            cancel.clone(),
        ));
        let client = reqwest::Client::new();
        let mut up = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(up, "server did not start");
        for path in ["/a", "/b"] {
            let res = client
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.text().await.unwrap(), path);
        }
        cancel.cancel();
        server.await.unwrap().unwrap();
    }
}
