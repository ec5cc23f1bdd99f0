//! The API's settings (a plain struct built from `[api]` and the rest of the config) and its shared state:
//! tokens, the log and telemetry stores, the health snapshot, the SSE client cap, the bundler supervisor
//! and the metrics registry of the watcher's `GET /metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::auth::Token;
use super::monitor::{self, MonitorSettings, SharedSnapshot, Snapshot};
use crate::bundlers::Supervisor;
use crate::bundlers::metrics::BundlerCollector;
use crate::chain::ChainClient;
use crate::config::{
    ApiConfig, BundlerConfig, ChainConfig, Config, ConfigError, PaymasterConfig, WatcherSource,
};
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
}

impl WatcherView {
    /// A view of `indexer` (subscribe before the indexer task starts).
    pub fn of(indexer: &Indexer) -> WatcherView {
        WatcherView {
            progress: indexer.progress(),
            state: indexer.state(),
            confirmations: indexer.confirmations(),
        }
    }
}

/// Everything the API needs, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub api: ApiConfig,
    pub admin_token: Option<crate::config::Secret>,
    pub ingest_token: Option<crate::config::Secret>,
    pub chain: Option<ChainConfig>,
    pub paymasters: Vec<PaymasterConfig>,
    pub bundlers: Vec<BundlerConfig>,
    pub sources: Vec<WatcherSource>,
    pub factory: Option<alloy::primitives::Address>,
    pub monitor: MonitorSettings,
    /// `[supervisor]`: bundlers this process spawns and supervises.
    pub supervisor: Option<crate::bundlers::SupervisorSettings>,
}

impl ApiSettings {
    /// Settings from a loaded config; `listen` overrides `[api] listen` (the `--api-listen` flag).
    pub fn from_config(
        config: &Config,
        listen: Option<SocketAddr>,
        chain: Option<ChainConfig>,
    ) -> Result<ApiSettings, ConfigError> {
        let api = config.api.clone().unwrap_or_default();
        Ok(ApiSettings {
            listen: listen.unwrap_or(api.listen),
            data_dir: config.data_dir()?,
            admin_token: api.admin_token()?,
            ingest_token: api.ingest_token()?,
            chain: chain.or_else(|| config.chain.clone()),
            paymasters: config.paymasters.clone(),
            bundlers: config.bundlers.clone(),
            sources: config
                .watcher
                .as_ref()
                .map(|w| w.sources.clone())
                .unwrap_or_default(),
            factory: config.probe.as_ref().and_then(|p| p.factory),
            monitor: MonitorSettings {
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(3),
            },
            supervisor: crate::bundlers::SupervisorSettings::from_config(config)?,
            api,
        })
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.api.request_timeout_secs)
    }
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.api.header_read_timeout_secs)
    }
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("log store: {0}")]
    Logs(#[source] JournalError),
    #[error("telemetry store: {0}")]
    Telemetry(#[source] JournalError),
    #[error("bundler supervisor: {0}")]
    Bundlers(#[source] crate::bundlers::BundlerError),
}

struct Inner {
    settings: ApiSettings,
    admin: Option<Token>,
    ingest: Option<Token>,
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
    registry: prometheus::Registry,
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
            retention_max: settings.api.log_retention_max,
            subscriber_queue: settings.api.sse_client_queue,
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
        let registry = prometheus::Registry::new();
        let supervisor = match settings.supervisor.clone() {
            None => None,
            Some(s) => {
                let (sup, task) = Supervisor::start(s, logs.clone(), cancel.clone())
                    .map_err(StartError::Bundlers)?;
                if let Err(e) = registry.register(Box::new(BundlerCollector::new(sup.clone()))) {
                    tracing::warn!(error = %e, "bundler metrics not registered");
                }
                tasks.push(("bundler-supervisor".to_string(), task));
                Some(sup)
            }
        };
        let state = ApiState(Arc::new(Inner {
            admin: settings.admin_token.as_ref().map(Token::new),
            ingest: settings.ingest_token.as_ref().map(Token::new),
            sse: Arc::new(Semaphore::new(settings.api.sse_max_clients)),
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
            registry,
        }));
        Ok((state, tasks))
    }

    pub fn settings(&self) -> &ApiSettings {
        &self.0.settings
    }
    pub fn admin_token(&self) -> Option<&Token> {
        self.0.admin.as_ref()
    }
    pub fn ingest_token(&self) -> Option<&Token> {
        self.0.ingest.as_ref()
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
    /// The registry the watcher's `GET /metrics` gathers; subsystems register their collectors on it.
    pub fn registry(&self) -> &prometheus::Registry {
        &self.0.registry
    }
}
