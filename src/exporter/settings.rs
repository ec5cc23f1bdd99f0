//! [`ExporterSettings`]: everything the exporter needs, as plain values, built from the configuration.

use std::net::SocketAddr;
use std::time::Duration;

use alloy::primitives::Address;
use url::Url;

use crate::config::{ChainConfig, Config, ConfigError, Secret};

/// A paymaster to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymasterTarget {
    pub name: String,
    pub address: Address,
    pub entrypoint: Address,
}

/// A bundler to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundlerTarget {
    pub name: String,
    pub rpc_url: Url,
    pub executors: Vec<Address>,
}

/// The exporter's settings.
#[derive(Debug, Clone)]
pub struct ExporterSettings {
    pub listen: SocketAddr,
    pub rpc_url: Url,
    /// Checked against `eth_chainId` on every scrape when set (a mismatch makes the chain target fail).
    pub chain_id: Option<u64>,
    pub paymasters: Vec<PaymasterTarget>,
    pub bundlers: Vec<BundlerTarget>,
    /// EntryPoints reported by `butler_bundler_entrypoint_supported` (sorted, no duplicates).
    pub bundler_entrypoints: Vec<Address>,
    /// Bound on each target in a scrape.
    pub target_timeout: Duration,
    /// Length of the spend window, in blocks ending at the head.
    pub spend_window_blocks: u64,
    /// Largest block range of one `eth_getLogs` request.
    pub max_block_range: u64,
    /// How long a rendered scrape is served again; zero collects on every request.
    pub cache_ttl: Duration,
    /// Required as `Authorization: Bearer <token>` on `/metrics` when set.
    pub bearer_token: Option<Secret>,
}

impl ExporterSettings {
    /// Settings from the configuration: `[exporter]` (defaults when absent), `[[paymasters]]`, `[[bundlers]]`,
    /// and the chain section (with any command-line override already applied).
    pub fn from_config(config: &Config, chain: &ChainConfig) -> Result<Self, ConfigError> {
        let exporter = config.exporter.clone().unwrap_or_default();
        exporter.validate()?;
        let paymasters: Vec<PaymasterTarget> = config
            .paymasters
            .iter()
            .map(|p| PaymasterTarget {
                name: p.name.clone(),
                address: p.address,
                entrypoint: p.entrypoint,
            })
            .collect();
        let mut bundler_entrypoints: Vec<Address> = paymasters
            .iter()
            .map(|p| p.entrypoint)
            .chain(exporter.bundler_entrypoints.iter().copied())
            .collect();
        bundler_entrypoints.sort();
        bundler_entrypoints.dedup();
        Ok(Self {
            listen: exporter.listen,
            rpc_url: chain.rpc_url.clone(),
            chain_id: chain.chain_id,
            paymasters,
            bundlers: config
                .bundlers
                .iter()
                .map(|b| BundlerTarget {
                    name: b.name.clone(),
                    rpc_url: b.rpc_url.clone(),
                    executors: b.executors.clone(),
                })
                .collect(),
            bundler_entrypoints,
            target_timeout: Duration::from_secs_f64(exporter.timeout_secs),
            spend_window_blocks: exporter.spend_window_blocks,
            max_block_range: exporter.max_block_range,
            cache_ttl: Duration::from_secs_f64(exporter.cache_secs),
            bearer_token: exporter.bearer_token()?,
        })
    }
}
