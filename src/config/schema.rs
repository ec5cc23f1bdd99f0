//! The configuration schema. Key names are a contract shared with docs, tests and examples.

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{ConfigError, Secret, resolve_secret};
use crate::chain::units::{format_ether, parse_ether};

/// The whole configuration file. Every section is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where butler keeps its data (watcher store, fee database). Default: the platform data dir.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paymasters: Vec<PaymasterConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundlers: Vec<BundlerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter: Option<ExporterConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watcher: Option<WatcherConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fees: Option<FeesConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<super::sections::supervisor::SupervisorConfig>,
}

/// `[chain]`: the JSON-RPC endpoint every chain command uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    pub rpc_url: Url,
    /// Checked against `eth_chainId` when set; a mismatch is a hard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// Per-request timeout in seconds.
    #[serde(default = "default_rpc_timeout")]
    pub timeout_secs: f64,
    /// Retries on transport errors, HTTP 429 and 5xx (never on reverts).
    #[serde(default = "default_rpc_retries")]
    pub max_retries: u32,
}

fn default_rpc_timeout() -> f64 {
    10.0
}
fn default_rpc_retries() -> u32 {
    3
}

/// `[[paymasters]]`: a paymaster and the EntryPoint it deposits in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymasterConfig {
    pub name: String,
    pub address: Address,
    pub entrypoint: Address,
    /// Health check and alert threshold, in ETH (decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_deposit_eth: Option<EthAmount>,
}

/// `[probe]`: defaults for `butler probe userop`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// SimpleAccountFactory that creates the probe's fresh accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factory: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundler: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paymaster: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paymaster_signer_key_file: Option<PathBuf>,
    /// Only from env: `BUTLER_PROBE__PAYMASTER_SIGNER_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paymaster_signer_key: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder_key_file: Option<PathBuf>,
    /// Only from env: `BUTLER_PROBE__FUNDER_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder_key: Option<Secret>,
}

/// `[[bundlers]]`: bundlers butler watches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundlerConfig {
    pub name: String,
    pub rpc_url: Url,
    /// Executor (bundle-signing) addresses whose ETH balance is exported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executors: Vec<Address>,
}

/// `[exporter]`: `butler serve --prometheus`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterConfig {
    #[serde(default = "default_exporter_listen")]
    pub listen: SocketAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_EXPORTER__BEARER_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    /// Bound on each target (the chain, one paymaster, one bundler) during a scrape, in seconds.
    #[serde(default = "default_exporter_timeout")]
    pub timeout_secs: f64,
    /// The recent window, in blocks ending at the head, over which paymaster spend, sponsored operations
    /// and runway are computed (block timestamps turn it into seconds).
    #[serde(default = "default_spend_window_blocks")]
    pub spend_window_blocks: u64,
    /// Largest block range of one `eth_getLogs` request when reading the spend window.
    #[serde(default = "default_max_block_range")]
    pub max_block_range: u64,
    /// Serve the last scrape's body for this many seconds before collecting again (0: collect on every scrape).
    #[serde(default)]
    pub cache_secs: f64,
    /// EntryPoints checked on every bundler besides the configured paymasters' EntryPoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundler_entrypoints: Vec<Address>,
}

impl Default for ExporterConfig {
    fn default() -> Self {
        Self {
            listen: default_exporter_listen(),
            bearer_token_file: None,
            bearer_token: None,
            timeout_secs: default_exporter_timeout(),
            spend_window_blocks: default_spend_window_blocks(),
            max_block_range: default_max_block_range(),
            cache_secs: 0.0,
            bundler_entrypoints: Vec::new(),
        }
    }
}

fn default_exporter_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}
fn default_exporter_timeout() -> f64 {
    3.0
}
fn default_spend_window_blocks() -> u64 {
    7200
}

/// `[watcher]`: `butler serve --watcher` and the commands that read its store.
///
/// The seed's environment settings map onto these keys: `INDEXER_POLL_INTERVAL_SEC` → `poll_interval_secs`,
/// `INDEXER_LOOKBACK_BLOCKS` → `lookback_blocks`, `INDEXER_MAX_BLOCK_RANGE` → `max_block_range`,
/// `CHAIN_EVENT_RETENTION_MAX` → `retention_max` (as env overrides: `BUTLER_WATCHER__<KEY>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatcherConfig {
    /// Blocks behind head before an event is indexed; default depends on the chain id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u64>,
    #[serde(default = "default_poll_interval")]
    pub poll_interval_secs: u64,
    #[serde(default = "default_max_block_range")]
    pub max_block_range: u64,
    /// Where a source without `start_block` starts when there is no checkpoint yet: this many blocks
    /// before the head.
    #[serde(default = "default_lookback_blocks")]
    pub lookback_blocks: u64,
    /// Most recent user operations kept in the reduced state (totals and buckets cover all of them).
    #[serde(default = "default_retention_max")]
    pub retention_max: usize,
    /// `eth_getLogs` ranges fetched at the same time during a backfill.
    #[serde(default = "default_fetch_concurrency")]
    pub fetch_concurrency: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<WatcherSource>,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        Self {
            confirmations: None,
            poll_interval_secs: default_poll_interval(),
            max_block_range: default_max_block_range(),
            lookback_blocks: default_lookback_blocks(),
            retention_max: default_retention_max(),
            fetch_concurrency: default_fetch_concurrency(),
            sources: Vec::new(),
        }
    }
}

fn default_poll_interval() -> u64 {
    5
}
fn default_max_block_range() -> u64 {
    2000
}
fn default_lookback_blocks() -> u64 {
    5000
}
fn default_retention_max() -> usize {
    5000
}
fn default_fetch_concurrency() -> usize {
    4
}

/// `[[watcher.sources]]`: one contract (or set of contracts) whose events are indexed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatcherSource {
    pub name: String,
    /// `entrypoint`, `paymaster` or `workflow`: a built-in set of event signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Event signatures (`event Foo(address indexed a, uint256 b)`); with a preset, added to its events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Replaces a preset's signature, keyed by event name:
    /// `signatures = { PostOpHandled = "event PostOpHandled(...)" }`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub signatures: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_block: Option<u64>,
}

/// `[api]`: the watcher's HTTP API (`butler serve --watcher`) and the clients that call it (`butler logs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    #[serde(default = "default_api_listen")]
    pub listen: SocketAddr,
    /// Base URL the CLI clients (`butler logs`) call; default `http://<listen>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_API__ADMIN_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// When set, log ingest and telemetry need this token (or the admin token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_API__INGEST_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest_token: Option<Secret>,
    /// Browser origins allowed by CORS (exact `scheme://host[:port]`); empty: no CORS headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes (larger: 413).
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// Log events kept in memory for queries and SSE resume (the seed's `LOG_RETENTION_MAX`).
    #[serde(default = "default_log_retention")]
    pub log_retention_max: usize,
    /// Concurrent `GET /api/logs/stream` clients (more: 503).
    #[serde(default = "default_sse_max_clients")]
    pub sse_max_clients: usize,
    /// Committed ingest batches an SSE client may fall behind before it is disconnected.
    #[serde(default = "default_sse_client_queue")]
    pub sse_client_queue: usize,
    /// Seconds between SSE keep-alive comments.
    #[serde(default = "default_sse_keepalive")]
    pub sse_keepalive_secs: u64,
    /// Seconds a client has to send the request headers.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Seconds a request (body included) may take until its response starts.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Seconds after its last heartbeat a telemetry session still counts as connected.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_secs: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: default_api_listen(),
            url: None,
            admin_token_file: None,
            admin_token: None,
            ingest_token_file: None,
            ingest_token: None,
            cors_origins: Vec::new(),
            body_limit_bytes: default_body_limit(),
            log_retention_max: default_log_retention(),
            sse_max_clients: default_sse_max_clients(),
            sse_client_queue: default_sse_client_queue(),
            sse_keepalive_secs: default_sse_keepalive(),
            header_read_timeout_secs: default_header_read_timeout(),
            request_timeout_secs: default_request_timeout(),
            session_ttl_secs: default_session_ttl(),
        }
    }
}

fn default_api_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_body_limit() -> usize {
    1024 * 1024
}
fn default_log_retention() -> usize {
    20_000
}
fn default_sse_max_clients() -> usize {
    256
}
fn default_sse_client_queue() -> usize {
    1024
}
fn default_sse_keepalive() -> u64 {
    15
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    30
}
fn default_session_ttl() -> u64 {
    120
}

/// `[fees]`: the fee manager (`butler serve --fee-manager`, `butler fees`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesConfig {
    #[serde(default = "default_fees_listen")]
    pub listen: SocketAddr,
    /// `sqlite://fees.db` (relative to data_dir) or `postgres://...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_FEES__ADMIN_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// File holding the Postgres password (the URL itself must not carry one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_password_file: Option<PathBuf>,
    /// Only from env: `BUTLER_FEES__DATABASE_PASSWORD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_password: Option<Secret>,
}

impl Default for FeesConfig {
    fn default() -> Self {
        Self {
            listen: default_fees_listen(),
            database_url: None,
            admin_token_file: None,
            admin_token: None,
            database_password_file: None,
            database_password: None,
        }
    }
}

fn default_fees_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8081))
}

/// An ETH amount written as a decimal string (`"1.5"`), held exactly in wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthAmount(pub U256);

impl Serialize for EthAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ether(self.0))
    }
}

impl<'de> Deserialize<'de> for EthAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
            F(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::I(i) => i.to_string(),
            Raw::F(f) => f.to_string(),
        };
        parse_ether(&text)
            .map(EthAmount)
            .map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// The `[chain]` section, or an error naming it.
    pub fn require_chain(&self) -> Result<&ChainConfig, ConfigError> {
        self.chain.as_ref().ok_or_else(|| {
            ConfigError::Missing(
                "no RPC endpoint: set [chain] rpc_url in the config, BUTLER_CHAIN__RPC_URL, or pass --rpc-url"
                    .to_string(),
            )
        })
    }

    /// The data directory: `data_dir`, else the platform data dir.
    pub fn data_dir(&self) -> Result<PathBuf, ConfigError> {
        if let Some(d) = &self.data_dir {
            return Ok(d.clone());
        }
        directories::ProjectDirs::from("", "", "butler")
            .map(|p| p.data_dir().to_path_buf())
            .ok_or_else(|| {
                ConfigError::Missing(
                    "no data_dir configured and no home directory to derive one from".to_string(),
                )
            })
    }

    /// Checks rules serde cannot express: unique names, consistent sections.
    pub fn validate(&self) -> Result<(), ConfigError> {
        unique(
            "[[paymasters]] name",
            self.paymasters.iter().map(|p| p.name.as_str()),
        )?;
        unique(
            "[[bundlers]] name",
            self.bundlers.iter().map(|b| b.name.as_str()),
        )?;
        if let Some(w) = &self.watcher {
            unique(
                "[[watcher.sources]] name",
                w.sources.iter().map(|s| s.name.as_str()),
            )?;
            if w.max_block_range == 0 {
                return Err(ConfigError::Invalid(
                    "[watcher] max_block_range must be at least 1".to_string(),
                ));
            }
            if w.fetch_concurrency == 0 {
                return Err(ConfigError::Invalid(
                    "[watcher] fetch_concurrency must be at least 1".to_string(),
                ));
            }
        }
        if let Some(a) = &self.api {
            a.validate()?;
        }
        if let Some(e) = &self.exporter {
            e.validate()?;
        }
        if let Some(s) = &self.supervisor {
            s.validate()?;
        }
        if let Some(c) = &self.chain
            && !(c.timeout_secs > 0.0 && c.timeout_secs.is_finite())
        {
            return Err(ConfigError::Invalid(format!(
                "[chain] timeout_secs must be a positive number of seconds, got {}",
                c.timeout_secs
            )));
        }
        Ok(())
    }
}

impl ProbeConfig {
    /// The paymaster signer key, from env or its file.
    pub fn paymaster_signer_key(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "paymaster_signer_key",
            self.paymaster_signer_key.as_ref(),
            self.paymaster_signer_key_file.as_deref(),
        )
    }

    /// The funder key, from env or its file.
    pub fn funder_key(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "funder_key",
            self.funder_key.as_ref(),
            self.funder_key_file.as_deref(),
        )
    }
}

impl ExporterConfig {
    /// Checks the `[exporter]` numbers.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.timeout_secs > 0.0 && self.timeout_secs.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "[exporter] timeout_secs must be a positive number of seconds, got {}",
                self.timeout_secs
            )));
        }
        if !(self.cache_secs >= 0.0 && self.cache_secs.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "[exporter] cache_secs must be 0 or a positive number of seconds, got {}",
                self.cache_secs
            )));
        }
        if self.spend_window_blocks == 0 {
            return Err(ConfigError::Invalid(
                "[exporter] spend_window_blocks must be at least 1".to_string(),
            ));
        }
        if self.max_block_range == 0 {
            return Err(ConfigError::Invalid(
                "[exporter] max_block_range must be at least 1".to_string(),
            ));
        }
        Ok(())
    }

    /// The bearer token that protects `/metrics`, if any.
    pub fn bearer_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "bearer_token",
            self.bearer_token.as_ref(),
            self.bearer_token_file.as_deref(),
        )
    }
}

impl ApiConfig {
    /// The admin token, if any.
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "admin_token",
            self.admin_token.as_ref(),
            self.admin_token_file.as_deref(),
        )
    }

    /// The ingest token, if any.
    pub fn ingest_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "ingest_token",
            self.ingest_token.as_ref(),
            self.ingest_token_file.as_deref(),
        )
    }

    /// The base URL clients call: `url`, else `http://<listen>`.
    pub fn base_url(&self) -> Result<Url, ConfigError> {
        if let Some(u) = &self.url {
            return Ok(u.clone());
        }
        Url::parse(&format!("http://{}", self.listen)).map_err(|e| {
            ConfigError::Invalid(format!("[api] listen {} as a URL: {e}", self.listen))
        })
    }

    /// Rules serde cannot express.
    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("body_limit_bytes", self.body_limit_bytes as u64),
            ("log_retention_max", self.log_retention_max as u64),
            ("sse_max_clients", self.sse_max_clients as u64),
            ("sse_client_queue", self.sse_client_queue as u64),
            ("sse_keepalive_secs", self.sse_keepalive_secs),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            ("session_ttl_secs", self.session_ttl_secs),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!(
                "[api] {key} must be at least 1"
            )));
        }
        for origin in &self.cors_origins {
            let ok = Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "[api] cors_origins: `{origin}` is not an origin (write scheme://host[:port], no path)"
                )));
            }
        }
        Ok(())
    }
}

impl FeesConfig {
    /// The fee manager's admin token, if any.
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "admin_token",
            self.admin_token.as_ref(),
            self.admin_token_file.as_deref(),
        )
    }

    /// The Postgres password, if any.
    pub fn database_password(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "database_password",
            self.database_password.as_ref(),
            self.database_password_file.as_deref(),
        )
    }
}

fn unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(ConfigError::Invalid(format!("{what} `{n}` appears twice")));
        }
    }
    Ok(())
}
