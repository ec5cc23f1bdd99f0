//! `[exporter]`: `butler serve --prometheus` (listen address, bearer token, per-target timeout, spend window,
//! JSON-RPC probes).

use std::net::SocketAddr;
use std::path::PathBuf;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use super::probes::RpcProbeConfig;
use crate::config::schema::unique;
use crate::config::{ConfigError, Secret, resolve_secret};

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
    #[serde(default = "super::watcher::default_max_block_range")]
    pub max_block_range: u64,
    /// Serve the last scrape's body for this many seconds before collecting again (0: collect on every scrape).
    #[serde(default)]
    pub cache_secs: f64,
    /// EntryPoints checked on every bundler besides the configured paymasters' EntryPoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundler_entrypoints: Vec<Address>,
    /// Generic JSON-RPC probes of chain-adjacent services (`[[exporter.probes]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<RpcProbeConfig>,
}

impl Default for ExporterConfig {
    fn default() -> Self {
        Self {
            listen: default_exporter_listen(),
            bearer_token_file: None,
            bearer_token: None,
            timeout_secs: default_exporter_timeout(),
            spend_window_blocks: default_spend_window_blocks(),
            max_block_range: super::watcher::default_max_block_range(),
            cache_secs: 0.0,
            bundler_entrypoints: Vec::new(),
            probes: Vec::new(),
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
        unique(
            "[[exporter.probes]] name",
            self.probes.iter().map(|p| p.name.as_str()),
        )?;
        for p in &self.probes {
            p.validate()?;
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
