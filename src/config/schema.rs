//! The root of the configuration schema: [`Config`], one optional field per section (each section's
//! structs live in `sections/<name>.rs`). Key names are a contract shared with docs, tests and examples.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::sections::api::ApiConfig;
use super::sections::aztec::AztecConfig;
use super::sections::bundlers::BundlerConfig;
use super::sections::chain::ChainConfig;
use super::sections::exporter::ExporterConfig;
use super::sections::fees::FeesConfig;
use super::sections::health::HealthConfig;
use super::sections::paymaster_ops::PaymasterOpsConfig;
use super::sections::paymasters::PaymasterConfig;
use super::sections::probe::ProbeConfig;
use super::sections::watcher::WatcherConfig;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aztec: Option<AztecConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paymaster_ops: Option<PaymasterOpsConfig>,
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
            w.validate()?;
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
        if let Some(h) = &self.health {
            h.validate()?;
        }
        if let Some(o) = &self.paymaster_ops {
            o.validate()?;
        }
        if let Some(c) = &self.chain {
            c.validate()?;
        }
        Ok(())
    }
}

pub(crate) fn unique<'a>(
    what: &str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(ConfigError::Invalid(format!("{what} `{n}` appears twice")));
        }
    }
    Ok(())
}
