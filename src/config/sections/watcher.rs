//! `[watcher]` and `[[watcher.sources]]`: `butler serve --watcher` and the commands that read its store.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

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
    /// Where the event log lives: `ndjson` (files under `DATA_DIR/chain`, the default) or `postgres`.
    #[serde(default)]
    pub store: StoreChoice,
    /// `postgres://USER@HOST:PORT/DB` for `store = "postgres"` (no password in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// File holding the Postgres password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_password_file: Option<std::path::PathBuf>,
    /// Only from env: `BUTLER_WATCHER__DATABASE_PASSWORD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_password: Option<crate::config::Secret>,
    /// `serve --watcher` serves the API from the PostgreSQL store without indexing (`--read-only`).
    #[serde(default)]
    pub read_only: bool,
}

/// `[watcher] store`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreChoice {
    #[default]
    Ndjson,
    Postgres,
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
            store: StoreChoice::default(),
            database_url: None,
            database_password_file: None,
            database_password: None,
            read_only: false,
        }
    }
}

fn default_poll_interval() -> u64 {
    5
}
/// Default largest `eth_getLogs` block range (`[watcher]` and `[exporter] max_block_range`).
pub(crate) fn default_max_block_range() -> u64 {
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
    /// `entrypoint`, `paymaster`, `workflow` or `aztec`: a built-in set of event signatures.
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

impl WatcherConfig {
    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::config::schema::unique(
            "[[watcher.sources]] name",
            self.sources.iter().map(|s| s.name.as_str()),
        )?;
        if self.max_block_range == 0 {
            return Err(ConfigError::Invalid(
                "[watcher] max_block_range must be at least 1".to_string(),
            ));
        }
        if self.store == StoreChoice::Postgres && self.database_url.is_none() {
            return Err(ConfigError::Invalid(
                "[watcher] store = \"postgres\" needs [watcher] database_url = \"postgres://USER@HOST:PORT/DB\""
                    .to_string(),
            ));
        }
        if self.read_only && self.store != StoreChoice::Postgres {
            return Err(ConfigError::Invalid(
                "[watcher] read_only = true needs store = \"postgres\" (readers follow the indexer through the database)"
                    .to_string(),
            ));
        }
        if self.fetch_concurrency == 0 {
            return Err(ConfigError::Invalid(
                "[watcher] fetch_concurrency must be at least 1".to_string(),
            ));
        }
        Ok(())
    }
}

impl WatcherConfig {
    /// The Postgres password, if any.
    pub fn database_password(&self) -> Result<Option<crate::config::Secret>, ConfigError> {
        crate::config::resolve_secret(
            "database_password",
            self.database_password.as_ref(),
            self.database_password_file.as_deref(),
        )
    }
}
