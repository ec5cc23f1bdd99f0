//! `butler serve`: maps the mode flags to each mode's settings and runs them together until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{Ctx, UsageError};
use crate::api::{self, ApiSettings, WatcherView};
use crate::aztec::handlers::HandlerSettings;
use crate::backoff::{self, Backoff};
use crate::chain::heads::HeadSubscriber;
use crate::exporter::{self, ExporterSettings};
use crate::fees::FeesSettings;
use crate::paymaster::auto::AutoTopup;
use crate::serve::{self, ServeOptions};
use crate::shutdown;
use crate::watcher::backend::StoreSettings;
use crate::watcher::pg::follow::Follower;
use crate::watcher::{Indexer, WatcherSettings};

/// `butler serve` flags: one per mode, and each mode's own listen address.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler serve --prometheus\n  butler serve --prometheus --exporter-listen 127.0.0.1:9464\n  curl -s http://127.0.0.1:9464/metrics | grep butler_chain_head_block\n  butler serve --fee-manager --fees-listen 127.0.0.1:8081\n  BUTLER_API__ADMIN_TOKEN=secret butler serve --watcher --api-listen 127.0.0.1:8080\n  butler serve --watcher --read-only --api-listen 127.0.0.1:8082\n  butler serve --prometheus --watcher --fee-manager"
)]
pub struct ServeArgs {
    /// Serve Prometheus metrics for the chain, the [[paymasters]] and [[bundlers]] at /metrics (and /healthz).
    #[arg(long)]
    pub prometheus: bool,
    /// Listen address of the exporter (default: [exporter] listen, else 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR", requires = "prometheus")]
    pub exporter_listen: Option<SocketAddr>,
    /// Serve the fee manager: Vouch execution configs, Commit-Boost mux keys and the admin API ([fees]).
    #[arg(long)]
    pub fee_manager: bool,
    /// Listen address of the fee manager (default: [fees] listen, else 127.0.0.1:8081).
    #[arg(long, value_name = "ADDR", requires = "fee_manager")]
    pub fees_listen: Option<SocketAddr>,
    /// Run the watcher: index [[watcher.sources]] continuously (the single writer of DATA_DIR/chain) and
    /// serve its HTTP API (logs, telemetry, user operations, workflows, metrics; docs/api.md). Without a
    /// [watcher] section only the API runs (logs and telemetry; the data endpoints are empty). With a
    /// [supervisor] section it also spawns and supervises bundlers (docs/bundlers.md).
    #[arg(long)]
    pub watcher: bool,
    /// Listen address of the watcher's HTTP API (default: [api] listen, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR", requires = "watcher")]
    pub api_listen: Option<SocketAddr>,
    /// Serve the watcher's API from the PostgreSQL store without indexing ([watcher] read_only): the
    /// state is built from chain_event and follows the indexer's commits, so several API processes can
    /// stand behind one load balancer while one indexer writes.
    #[arg(long, requires = "watcher")]
    pub read_only: bool,
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !(args.prometheus || args.fee_manager || args.watcher) {
        return Err(UsageError(
            "choose at least one mode to serve: --prometheus, --fee-manager, --watcher".into(),
        )
        .into());
    }
    let cancel = shutdown::on_signals()?;
    let mut modes = Vec::new();
    let mut options = ServeOptions::default();
    if args.prometheus {
        let mut settings: ExporterSettings = ctx.settings()?;
        if let Some(addr) = args.exporter_listen {
            settings.listen = addr;
        }
        modes.push(exporter::mode(settings));
    }
    if args.fee_manager {
        let settings: FeesSettings = ctx.settings()?;
        let listen = args.fees_listen.unwrap_or(settings.listen);
        modes.push(crate::fees::http::mode(&settings, listen).await?);
    }
    if args.watcher {
        let mut api_settings: ApiSettings = ctx.settings()?;
        if let Some(addr) = args.api_listen {
            api_settings.listen = addr;
        }
        options.header_read_timeout = api_settings.header_read_timeout;
        let mut view = None;
        let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = Vec::new();
        let read_only =
            args.read_only || ctx.config()?.watcher.as_ref().is_some_and(|w| w.read_only);
        if read_only && api_settings.supervisor.take().is_some() {
            tracing::warn!(
                "read-only: [supervisor] is ignored; bundlers are supervised by the indexing process only"
            );
        }
        if ctx.config()?.watcher.is_some() && read_only {
            let settings: WatcherSettings = ctx.settings()?;
            let StoreSettings::Postgres(db) = &settings.store else {
                return Err(UsageError(
                    "--read-only needs [watcher] store = \"postgres\": readers follow the indexer through the database"
                        .into(),
                )
                .into());
            };
            let Some(follower) = open_follower(db, &settings, &cancel).await? else {
                return Ok(ExitCode::SUCCESS);
            };
            let confirmations = settings.confirmations.unwrap_or_else(|| {
                crate::watcher::default_confirmations(follower.chain_id().unwrap_or_default())
            });
            view = Some(WatcherView::of_follower(&follower, confirmations));
            tracing::info!(
                "read-only: serving the watcher store {} without indexing",
                db.describe()
            );
            let pool = follower.pool();
            let reader = crate::watcher::reader_mode(follower, cancel.clone());
            modes.push(db_probe(
                reader,
                pool,
                settings.poll_interval,
                &mut collectors,
                &cancel,
            )?);
        } else if ctx.config()?.watcher.is_some() {
            let settings: WatcherSettings = ctx.settings()?;
            let poll = settings.poll_interval;
            let Some(mut indexer) = open_indexer(&ctx.chain_config()?, settings, &cancel).await?
            else {
                return Ok(ExitCode::SUCCESS);
            };
            view = Some(WatcherView::of(&indexer));
            collectors.push(Box::new(indexer.metrics()));
            let heads = match ctx.chain_config()?.ws_url {
                Some(url) => {
                    let chain_id = indexer.checkpoint().chain_id;
                    let (subscriber, wake) = HeadSubscriber::new(url, chain_id)?;
                    indexer.wake_on(wake);
                    collectors.push(Box::new(subscriber.metrics()));
                    Some(subscriber)
                }
                None => None,
            };
            let pool = indexer.db_pool();
            let mut watcher = crate::watcher::mode(indexer, cancel.clone());
            if let Some(subscriber) = heads {
                let cancel = cancel.clone();
                watcher = watcher.task(
                    "chain-heads",
                    Box::pin(async move {
                        subscriber.run(cancel).await;
                        Ok(())
                    }),
                );
            }
            if let Some(pool) = pool {
                watcher = db_probe(watcher, pool, poll, &mut collectors, &cancel)?;
            }
            if ctx.config()?.aztec.is_some() {
                let handlers: HandlerSettings = ctx.settings()?;
                let client = crate::chain::ChainClient::from_config(&ctx.chain_config()?);
                let cancel = cancel.clone();
                watcher = watcher.task(
                    "aztec-handlers",
                    Box::pin(async move {
                        crate::aztec::handlers::run(handlers, client, cancel)
                            .await
                            .map_err(|e| Box::new(e) as serve::TaskError)
                    }),
                );
            }
            modes.push(watcher);
        } else if args.read_only {
            return Err(UsageError(
                "--read-only needs a [watcher] section with store = \"postgres\" and database_url"
                    .into(),
            )
            .into());
        } else {
            tracing::warn!(
                "no [watcher] section: the indexer is off; the API serves logs and telemetry"
            );
        }
        let auto_topup = ctx
            .config()?
            .paymaster_ops
            .as_ref()
            .is_some_and(|o| o.auto_topup);
        if auto_topup && read_only {
            tracing::warn!(
                "read-only: [paymaster_ops] auto_topup is ignored; the indexing process tops up"
            );
        } else if auto_topup {
            let auto: AutoTopup = ctx.settings()?;
            modes.push(auto.mode(cancel.clone()));
        }
        let (state, tasks) = api::ApiState::open(api_settings, view, cancel.clone())?;
        for c in collectors {
            state.registry().register(c)?;
        }
        modes.push(api::mode_of(state, tasks));
    }
    serve::run_with(modes, cancel, options).await?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the indexer, waiting with backoff while the node is unreachable, so a watcher started while its
/// node is briefly down does not exit (and restart-loop under systemd). A chain id mismatch or a store
/// problem stops at once; SIGINT/SIGTERM while waiting ends cleanly (`None`).
async fn open_indexer(
    chain: &crate::config::ChainConfig,
    settings: WatcherSettings,
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<Option<Indexer>> {
    let client = crate::chain::ChainClient::from_config(chain);
    let mut delays = Backoff::new(Duration::from_secs(1), Duration::from_secs(30)).delays();
    loop {
        let attempt = async {
            let chain_id = client.check_chain_id(chain.chain_id).await?;
            Indexer::open(settings.clone(), client.clone(), chain_id).await
        };
        match attempt.await {
            Ok(indexer) => return Ok(Some(indexer)),
            Err(e) if e.is_transient() => {
                let wait = delays.next_delay();
                tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "node not reachable; the watcher waits for it");
                if !backoff::sleep(wait, cancel).await {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Connects the read-only follower, waiting with backoff while the database is unreachable; `None` when
/// SIGINT/SIGTERM came first.
async fn open_follower(
    db: &crate::pg::PgDatabase,
    settings: &WatcherSettings,
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<Option<Follower>> {
    let mut delays = Backoff::new(Duration::from_secs(1), Duration::from_secs(30)).delays();
    loop {
        match Follower::open(db, settings.poll_interval, settings.retention_max).await {
            Ok(f) => return Ok(Some(f)),
            Err(e) if e.is_transient() => {
                let wait = delays.next_delay();
                tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "watcher database not reachable; waiting for it");
                if !backoff::sleep(wait, cancel).await {
                    return Ok(None);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Adds the database probe behind `butler_store_db_up` and `butler_store_db_latency_seconds` (every poll
/// interval) to a watcher mode using the PostgreSQL store.
fn db_probe(
    mode: serve::Mode,
    pool: sqlx::PgPool,
    every: Duration,
    collectors: &mut Vec<Box<dyn prometheus::core::Collector>>,
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<serve::Mode> {
    let metrics = crate::watcher::pg::health::DbMetrics::new()?;
    collectors.extend(metrics.collectors());
    let cancel = cancel.clone();
    Ok(mode.task(
        "watcher-db-probe",
        Box::pin(async move {
            metrics.run(pool, every, cancel).await;
            Ok(())
        }),
    ))
}
