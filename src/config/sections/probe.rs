//! `[probe]`: defaults for `butler probe userop` (factory, bundler, paymaster and the keys it signs with).

use std::path::PathBuf;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{ConfigError, Secret, resolve_secret};

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
