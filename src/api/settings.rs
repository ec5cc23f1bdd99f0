//! [`ApiSettings`]: everything the watcher's HTTP API uses, as plain values, built once from the
//! configuration (`[api]`, `[chain]`, `[[paymasters]]`, `[[bundlers]]`, `[[watcher.sources]]`, `[probe]`,
//! `[paymaster_ops]`, `[supervisor]`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use url::Url;

use super::monitor::MonitorSettings;
use crate::bundlers::SupervisorSettings;
use crate::config::{BundlerConfig, ChainConfig, Config, ConfigError, Secret};

/// A configured paymaster, as the API reports and monitors it (the exporter's target).
pub use crate::exporter::PaymasterTarget;

/// A configured bundler, as the API reports and monitors it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundlerTarget {
    pub name: String,
    pub rpc_url: Url,
}

impl From<&BundlerConfig> for BundlerTarget {
    fn from(b: &BundlerConfig) -> Self {
        BundlerTarget {
            name: b.name.clone(),
            rpc_url: b.rpc_url.clone(),
        }
    }
}

/// A watched contract, as `GET /api/public/deployments` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceTarget {
    pub name: String,
    pub preset: Option<String>,
    pub addresses: Vec<Address>,
    pub start_block: Option<u64>,
}

/// The API's settings.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub admin_token: Option<Secret>,
    pub ingest_token: Option<Secret>,
    /// When set, `GET /metrics` needs it as a bearer token.
    pub metrics_token: Option<Secret>,
    /// Browser origins allowed by CORS (empty: no CORS headers).
    pub cors_origins: Vec<String>,
    pub body_limit_bytes: usize,
    pub log_retention_max: usize,
    pub sse_max_clients: usize,
    pub sse_client_queue: usize,
    pub sse_keepalive: Duration,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub session_ttl: Duration,
    /// The chain the monitor and the live endpoints read (`None`: no `[chain]`).
    pub chain: Option<ChainConfig>,
    pub paymasters: Vec<PaymasterTarget>,
    pub bundlers: Vec<BundlerTarget>,
    pub sources: Vec<SourceTarget>,
    /// `[probe] factory`.
    pub factory: Option<Address>,
    pub monitor: MonitorSettings,
    /// `[paymaster_ops]` admin key, for `POST /api/admin/paymaster/config` with `"dryRun": false`.
    pub paymaster_admin_key: Option<Secret>,
    /// `[supervisor]`: bundlers this process spawns and supervises.
    pub supervisor: Option<SupervisorSettings>,
    /// `[api] console`: serve the operator console.
    pub console: bool,
    /// The console's session cookie is `Secure` (`[api] url` is `https://`: TLS ends in front of butler).
    pub secure_cookies: bool,
}

impl TryFrom<&Config> for ApiSettings {
    type Error = ConfigError;

    /// Settings from `[api]` (defaults when absent) and the sections the API reports on.
    fn try_from(config: &Config) -> Result<ApiSettings, ConfigError> {
        let api = config.api.clone().unwrap_or_default();
        api.validate()?;
        let sources = config.watcher.as_ref().map(|w| w.sources.as_slice());
        Ok(ApiSettings {
            listen: api.listen,
            data_dir: config.data_dir()?,
            admin_token: api.admin_token()?,
            ingest_token: api.ingest_token()?,
            metrics_token: api.metrics_token()?,
            cors_origins: api.cors_origins.clone(),
            body_limit_bytes: api.body_limit_bytes,
            log_retention_max: api.log_retention_max,
            sse_max_clients: api.sse_max_clients,
            sse_client_queue: api.sse_client_queue,
            sse_keepalive: Duration::from_secs(api.sse_keepalive_secs),
            header_read_timeout: Duration::from_secs(api.header_read_timeout_secs),
            request_timeout: Duration::from_secs(api.request_timeout_secs),
            session_ttl: Duration::from_secs(api.session_ttl_secs),
            chain: config.chain.clone(),
            paymasters: config
                .paymasters
                .iter()
                .map(PaymasterTarget::from)
                .collect(),
            bundlers: config.bundlers.iter().map(BundlerTarget::from).collect(),
            sources: sources
                .unwrap_or_default()
                .iter()
                .map(|s| SourceTarget {
                    name: s.name.clone(),
                    preset: s.preset.clone(),
                    addresses: s.address.iter().chain(&s.addresses).copied().collect(),
                    start_block: s.start_block,
                })
                .collect(),
            factory: config.probe.as_ref().and_then(|p| p.factory),
            monitor: MonitorSettings {
                interval: Duration::from_secs_f64(api.monitor_interval_secs),
                timeout: Duration::from_secs_f64(api.monitor_timeout_secs),
            },
            paymaster_admin_key: match &config.paymaster_ops {
                Some(o) => o.admin_key()?,
                None => None,
            },
            supervisor: config
                .supervisor
                .is_some()
                .then(|| SupervisorSettings::try_from(config))
                .transpose()?,
            console: api.console,
            secure_cookies: api.url.as_ref().is_some_and(|u| u.scheme() == "https"),
        })
    }
}
