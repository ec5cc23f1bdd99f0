//! `[chain]`: the JSON-RPC endpoint every chain command uses.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::ConfigError;

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
    /// WebSocket endpoint (`ws://` or `wss://`) whose `eth_subscribe("newHeads")` wakes the watcher's indexer
    /// on each new block; polling stays as the fallback. May carry a key: shown only redacted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "redacted_url"
    )]
    pub ws_url: Option<Url>,
}

/// `config show` prints `ws_url` with its secret parts masked.
fn redacted_url<S: serde::Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_str(&crate::chain::redact::redact_url(u)),
        None => s.serialize_none(),
    }
}

/// Default `[chain] timeout_secs`.
pub const DEFAULT_RPC_TIMEOUT_SECS: f64 = 10.0;
/// Default `[chain] max_retries`.
pub const DEFAULT_RPC_RETRIES: u32 = 3;

fn default_rpc_timeout() -> f64 {
    DEFAULT_RPC_TIMEOUT_SECS
}
fn default_rpc_retries() -> u32 {
    DEFAULT_RPC_RETRIES
}

impl ChainConfig {
    /// An endpoint with the default timeout and retries.
    pub fn new(rpc_url: Url, chain_id: Option<u64>) -> ChainConfig {
        ChainConfig {
            rpc_url,
            chain_id,
            timeout_secs: DEFAULT_RPC_TIMEOUT_SECS,
            max_retries: DEFAULT_RPC_RETRIES,
            ws_url: None,
        }
    }

    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.timeout_secs > 0.0 && self.timeout_secs.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "[chain] timeout_secs must be a positive number of seconds, got {}",
                self.timeout_secs
            )));
        }
        if let Some(ws) = &self.ws_url
            && !matches!(ws.scheme(), "ws" | "wss")
        {
            return Err(ConfigError::Invalid(format!(
                "[chain] ws_url must be a ws:// or wss:// URL, got {}",
                crate::chain::redact::redact_url(ws)
            )));
        }
        Ok(())
    }
}
