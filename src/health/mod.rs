//! `butler health`: one pass over every configured part for cron and health-check scripts. The RPC and its
//! chain id, each paymaster's deposit (`min_deposit_eth`) and runway (`[health] min_runway_hours`), the
//! configured bundlers, the supervised bundlers (`DATA_DIR/bundlers/registry.json`), the watcher's API and
//! its indexer lag (`[health] max_indexer_lag_blocks`), the fee manager and the `[[exporter.probes]]`.
//!
//! Every check reports its value and threshold; the caller turns them into an exit code (0 all pass, 1 any
//! fails, 2 when the chain id does not match the configuration).

mod parts;
pub mod registry;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::config::{ChainConfig, Config, ConfigError};
use crate::exporter::paymaster::Scope;
use crate::exporter::rpc_probe::RpcProbe;
use crate::exporter::{BundlerTarget, PaymasterTarget};

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked (`rpc reachable`, `paymaster verifying deposit`, `probe celestia-head`, ...).
    pub check: String,
    pub ok: bool,
    /// What was measured (a number, a status), null when it could not be read.
    pub value: Value,
    /// What it must be (a minimum, a maximum, a status), null when any answer passes.
    pub threshold: Value,
    pub detail: String,
}

impl Check {
    pub fn new(check: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            ok,
            value: Value::Null,
            threshold: Value::Null,
            detail: detail.into(),
        }
    }

    pub fn value(mut self, v: impl Into<Value>) -> Check {
        self.value = v.into();
        self
    }

    pub fn threshold(mut self, t: impl Into<Value>) -> Check {
        self.threshold = t.into();
        self
    }
}

/// The watcher's API to check.
#[derive(Debug, Clone)]
pub struct ApiCheck {
    pub base: Url,
    /// Whether the config runs an indexer there (then its lag is checked).
    pub indexer: bool,
}

/// Everything `butler health` checks, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct HealthSettings {
    pub chain: ChainConfig,
    /// The paymasters to check, each with its minimum deposit.
    pub paymasters: Vec<PaymasterTarget>,
    /// The spend window of the runway (`[exporter] spend_window_blocks`, `max_block_range`).
    pub scope: Scope,
    pub min_runway_hours: f64,
    pub bundlers: Vec<BundlerTarget>,
    /// `DATA_DIR/bundlers/registry.json`; `None` without a data dir.
    pub supervisor_registry: Option<PathBuf>,
    pub api: Option<ApiCheck>,
    pub max_indexer_lag_blocks: u64,
    /// `[fees] listen`, when a `[fees]` section is configured.
    pub fees: Option<SocketAddr>,
    pub probes: Vec<RpcProbe>,
    /// Bound on each check's requests.
    pub timeout: Duration,
}

impl TryFrom<&Config> for HealthSettings {
    type Error = ConfigError;

    /// Settings from the configuration: `[chain]` (required; any `--rpc-url` already applied), `[health]`,
    /// `[exporter]` (spend window, probes), `[[paymasters]]`, `[[bundlers]]`, `[api]`, `[watcher]`, `[fees]`.
    fn try_from(config: &Config) -> Result<HealthSettings, ConfigError> {
        let chain = config.require_chain()?.clone();
        let health = config.health.clone().unwrap_or_default();
        health.validate()?;
        let exporter = config.exporter.clone().unwrap_or_default();
        exporter.validate()?;
        let api = match (&config.api, &config.watcher) {
            (None, None) => None,
            (api, watcher) => Some(ApiCheck {
                base: api.clone().unwrap_or_default().base_url()?,
                indexer: watcher.is_some(),
            }),
        };
        Ok(HealthSettings {
            paymasters: config
                .paymasters
                .iter()
                .map(PaymasterTarget::from)
                .collect(),
            scope: Scope {
                window_blocks: exporter.spend_window_blocks,
                max_range: exporter.max_block_range,
                chain_id: chain.chain_id,
            },
            min_runway_hours: health.min_runway_hours,
            // Health does not read the executors' balances.
            bundlers: config
                .bundlers
                .iter()
                .map(|b| BundlerTarget {
                    executors: Vec::new(),
                    ..BundlerTarget::from(b)
                })
                .collect(),
            supervisor_registry: config.data_dir().ok().map(|d| registry::path(&d)),
            api,
            max_indexer_lag_blocks: health.max_indexer_lag_blocks,
            fees: config.fees.as_ref().map(|f| f.listen),
            probes: exporter
                .probes
                .iter()
                .map(RpcProbe::try_from)
                .collect::<Result<_, _>>()?,
            timeout: Duration::from_secs_f64(health.timeout_secs),
            chain,
        })
    }
}

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
    /// The node serves another chain than the configured one (exit code 2).
    #[serde(skip)]
    pub chain_id_mismatch: bool,
}

/// Runs every check: the chain first (the paymaster checks need it), then the rest in parallel.
pub async fn run(settings: &HealthSettings) -> Report {
    let chain = parts::chain(settings).await;
    let mut checks = chain.checks;
    let (paymasters, bundlers, supervised, api, fees, probes) = tokio::join!(
        parts::paymasters(settings, chain.client.as_ref()),
        parts::bundlers(settings, chain.chain_id),
        async { parts::supervised(settings) },
        parts::api(settings, chain.head),
        parts::fees(settings),
        parts::probes(settings),
    );
    for part in [paymasters, bundlers, supervised, api, fees, probes] {
        checks.extend(part);
    }
    Report {
        ok: checks.iter().all(|c| c.ok),
        checks,
        chain_id_mismatch: chain.mismatch,
    }
}
