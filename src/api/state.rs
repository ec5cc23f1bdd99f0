//! The API's shared state: its settings, the token guards, the log and telemetry stores, the health
//! snapshot, the SSE client cap, the bundler supervisor, the registry of `GET /metrics`.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::monitor::{self, SharedSnapshot, Snapshot};
use super::prom::{self, ApiMetrics};
use super::settings::ApiSettings;
use crate::bundlers::Supervisor;
use crate::bundlers::metrics::BundlerCollector;
use crate::chain::ChainClient;
use crate::http::Bearer;
use crate::logs::{JournalError, LogSettings, LogStore};
use crate::serve::Task;
use crate::telemetry::TelemetryStore;
use crate::watcher::reduce::State;
use crate::watcher::{Indexer, Progress};

/// What the API reads of the watcher running in the same process.
#[derive(Clone)]
pub struct WatcherView {
    pub progress: watch::Receiver<Progress>,
    /// The reduced state as of the indexer's last commit.
    pub state: watch::Receiver<Arc<State>>,
    pub confirmations: u64,
    /// The PostgreSQL store's pool, probed by `/health/db`; `None` for the NDJSON store.
    pub db: Option<sqlx::PgPool>,
}

impl WatcherView {
    /// A view of `indexer` (subscribe before the indexer task starts).
    pub fn of(indexer: &Indexer) -> WatcherView {
        WatcherView {
            progress: indexer.progress(),
            state: indexer.state(),
            confirmations: indexer.confirmations(),
            db: indexer.db_pool(),
        }
    }

    /// A view of a read-only follower of the PostgreSQL store.
    pub fn of_follower(
        follower: &crate::watcher::pg::follow::Follower,
        confirmations: u64,
    ) -> WatcherView {
        WatcherView {
            progress: follower.progress(),
            state: follower.state(),
            confirmations,
            db: Some(follower.pool()),
        }
    }
}

/// The 503 answer of the admin routes while no admin token is configured.
const ADMIN_DISABLED: &str = "admin endpoints are disabled: no admin token is configured (set [api] admin_token_file or BUTLER_API__ADMIN_TOKEN)";

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("log store: {0}")]
    Logs(#[source] JournalError),
    #[error("telemetry store: {0}")]
    Telemetry(#[source] JournalError),
    #[error("bundler supervisor: {0}")]
    Bundlers(#[source] crate::bundlers::BundlerError),
    #[error("metrics registry: {0}")]
    Metrics(#[source] prometheus::Error),
}

struct Inner {
    settings: ApiSettings,
    admin: Bearer,
    ingest: Bearer,
    metrics_guard: Bearer,
    registry: prometheus::Registry,
    metrics: ApiMetrics,
    logs: LogStore,
    telemetry: TelemetryStore,
    snapshot: SharedSnapshot,
    sse: Arc<Semaphore>,
    cancel: CancellationToken,
    chain: Option<ChainClient>,
    watcher: Option<WatcherView>,
    empty: Arc<State>,
    started: Instant,
    supervisor: Option<Supervisor>,
}

/// The state every handler gets. Cheap to clone.
#[derive(Clone)]
pub struct ApiState(Arc<Inner>);

impl ApiState {
    /// Opens the stores under `data_dir` and returns the state and the background tasks to run (the log
    /// and telemetry writers, the health monitor). Every task stops when `cancel` fires. Without a
    /// watcher, the data endpoints answer as for an empty event store.
    pub fn open(
        settings: ApiSettings,
        watcher: Option<WatcherView>,
        cancel: CancellationToken,
    ) -> Result<(ApiState, Vec<(String, Task)>), StartError> {
        let (logs, log_writer) = LogStore::open(&LogSettings {
            dir: settings.data_dir.join("logs"),
            retention_max: settings.log_retention_max,
            subscriber_queue: settings.sse_client_queue,
        })
        .map_err(StartError::Logs)?;
        let (telemetry, tel_writer) = TelemetryStore::open(&settings.data_dir.join("telemetry"))
            .map_err(StartError::Telemetry)?;
        let chain = settings.chain.as_ref().map(ChainClient::from_config);
        let snapshot: SharedSnapshot = Arc::new(RwLock::new(Snapshot::default()));
        let mut tasks: Vec<(String, Task)> = Vec::new();
        let c = cancel.clone();
        tasks.push((
            "api-log-writer".to_string(),
            Box::pin(async move { log_writer.run(c).await.map_err(Into::into) }),
        ));
        let c = cancel.clone();
        tasks.push((
            "api-telemetry-writer".to_string(),
            Box::pin(async move { tel_writer.run(c).await.map_err(Into::into) }),
        ));
        let monitor_task = monitor::run(
            snapshot.clone(),
            chain.clone(),
            settings.paymasters.clone(),
            settings.bundlers.clone(),
            settings.monitor,
            cancel.clone(),
        );
        tasks.push((
            "api-health-monitor".to_string(),
            Box::pin(async move {
                monitor_task.await;
                Ok(())
            }),
        ));
        let sse = Arc::new(Semaphore::new(settings.sse_max_clients));
        let (registry, metrics) = prom::registry(
            sse.clone(),
            settings.sse_max_clients,
            telemetry.clone(),
            u64::try_from(settings.session_ttl.as_millis()).unwrap_or(u64::MAX),
        )
        .map_err(StartError::Metrics)?;
        let supervisor = match settings.supervisor.clone() {
            None => None,
            Some(s) => {
                let (sup, task) = Supervisor::start(s, logs.clone(), cancel.clone())
                    .map_err(StartError::Bundlers)?;
                registry
                    .register(Box::new(BundlerCollector::new(sup.clone())))
                    .map_err(StartError::Metrics)?;
                tasks.push(("bundler-supervisor".to_string(), task));
                Some(sup)
            }
        };
        let state = ApiState(Arc::new(Inner {
            admin: Bearer::closed_unless(settings.admin_token.as_ref(), ADMIN_DISABLED),
            ingest: Bearer::open_unless(settings.ingest_token.as_ref())
                .or(settings.admin_token.as_ref()),
            metrics_guard: Bearer::open_unless(settings.metrics_token.as_ref()),
            registry,
            metrics,
            sse,
            settings,
            logs,
            telemetry,
            snapshot,
            cancel,
            chain,
            watcher,
            empty: Arc::new(State::new(0)),
            started: Instant::now(),
            supervisor,
        }));
        Ok((state, tasks))
    }

    pub fn settings(&self) -> &ApiSettings {
        &self.0.settings
    }
    /// The guard of the admin routes.
    pub fn admin_guard(&self) -> &Bearer {
        &self.0.admin
    }
    /// The guard of the ingest and telemetry routes.
    pub fn ingest_guard(&self) -> &Bearer {
        &self.0.ingest
    }
    /// The registry of the watcher's `GET /metrics`: subsystems register their collectors on it.
    pub fn registry(&self) -> &prometheus::Registry {
        &self.0.registry
    }
    pub fn api_metrics(&self) -> &ApiMetrics {
        &self.0.metrics
    }
    /// The guard of `GET /metrics` (open unless a metrics token is configured).
    pub fn metrics_guard(&self) -> &Bearer {
        &self.0.metrics_guard
    }
    pub fn logs(&self) -> &LogStore {
        &self.0.logs
    }
    pub fn telemetry(&self) -> &TelemetryStore {
        &self.0.telemetry
    }
    pub fn snapshot(&self) -> Snapshot {
        self.0
            .snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    pub fn sse_permits(&self) -> &Arc<Semaphore> {
        &self.0.sse
    }
    pub fn cancel(&self) -> &CancellationToken {
        &self.0.cancel
    }
    pub fn chain(&self) -> Option<&ChainClient> {
        self.0.chain.as_ref()
    }
    pub fn watcher(&self) -> Option<&WatcherView> {
        self.0.watcher.as_ref()
    }
    /// The watcher's reduced state (empty without a watcher).
    pub fn indexed(&self) -> Arc<State> {
        match &self.0.watcher {
            Some(w) => w.state.borrow().clone(),
            None => self.0.empty.clone(),
        }
    }
    pub fn uptime(&self) -> Duration {
        self.0.started.elapsed()
    }
    /// The bundler supervisor, when `[supervisor]` is configured.
    pub fn supervisor(&self) -> Option<&Supervisor> {
        self.0.supervisor.as_ref()
    }
}
