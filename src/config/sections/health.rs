//! `[health]`: the thresholds of `butler health` beyond those of the checked parts themselves.

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// `[health]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// A paymaster whose deposit lasts less than this at the recent spend rate fails (hours).
    #[serde(default = "default_min_runway_hours")]
    pub min_runway_hours: f64,
    /// The watcher's indexer may trail the chain head by at most this many blocks (confirmations included).
    #[serde(default = "default_max_indexer_lag_blocks")]
    pub max_indexer_lag_blocks: u64,
    /// Bound on each check's requests, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            min_runway_hours: default_min_runway_hours(),
            max_indexer_lag_blocks: default_max_indexer_lag_blocks(),
            timeout_secs: default_timeout_secs(),
        }
    }
}

fn default_min_runway_hours() -> f64 {
    24.0
}
fn default_max_indexer_lag_blocks() -> u64 {
    20
}
fn default_timeout_secs() -> f64 {
    5.0
}

impl HealthConfig {
    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.min_runway_hours >= 0.0 && self.min_runway_hours.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "[health] min_runway_hours must be 0 or a positive number of hours, got {}",
                self.min_runway_hours
            )));
        }
        if !(self.timeout_secs > 0.0 && self.timeout_secs.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "[health] timeout_secs must be a positive number of seconds, got {}",
                self.timeout_secs
            )));
        }
        Ok(())
    }
}
