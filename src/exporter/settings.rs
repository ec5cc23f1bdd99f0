//! [`ExporterSettings`]: everything the exporter needs, as plain values, built from the configuration.

use std::net::SocketAddr;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use url::Url;

use super::rpc_probe::RpcProbe;
use crate::config::{BundlerConfig, Config, ConfigError, PaymasterConfig, Secret};

/// A paymaster to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymasterTarget {
    pub name: String,
    pub address: Address,
    pub entrypoint: Address,
    /// `min_deposit_eth` in wei, when configured (exported as the threshold the deposit is compared with).
    pub min_deposit_wei: Option<U256>,
}

impl From<&PaymasterConfig> for PaymasterTarget {
    fn from(p: &PaymasterConfig) -> Self {
        PaymasterTarget {
            name: p.name.clone(),
            address: p.address,
            entrypoint: p.entrypoint,
            min_deposit_wei: p.min_deposit_eth.map(|m| m.0),
        }
    }
}

/// A bundler to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundlerTarget {
    pub name: String,
    pub rpc_url: Url,
    pub executors: Vec<Address>,
}

impl From<&BundlerConfig> for BundlerTarget {
    fn from(b: &BundlerConfig) -> Self {
        BundlerTarget {
            name: b.name.clone(),
            rpc_url: b.rpc_url.clone(),
            executors: b.executors.clone(),
        }
    }
}

/// The exporter's settings.
#[derive(Debug, Clone)]
pub struct ExporterSettings {
    pub listen: SocketAddr,
    /// The chain's RPC URLs (`[chain]`), healthiest first.
    pub rpc_urls: Vec<Url>,
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
    /// `[[exporter.probes]]`.
    pub probes: Vec<RpcProbe>,
    /// The Aztec collector's target (`[aztec]`), when configured.
    pub aztec: Option<super::AztecTarget>,
    /// The top-up audit file the `butler_topup_*` series are read from (none without a data dir).
    pub topup_audit: Option<std::path::PathBuf>,
}

impl TryFrom<&Config> for ExporterSettings {
    type Error = ConfigError;

    /// Settings from the configuration: `[exporter]` (defaults when absent), `[chain]` (required),
    /// `[[paymasters]]` and `[[bundlers]]`.
    fn try_from(config: &Config) -> Result<Self, ConfigError> {
        let chain = config.require_chain()?;
        let exporter = config.exporter.clone().unwrap_or_default();
        exporter.validate()?;
        let paymasters: Vec<PaymasterTarget> = config
            .paymasters
            .iter()
            .map(PaymasterTarget::from)
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
            rpc_urls: chain.urls(),
            chain_id: chain.chain_id,
            paymasters,
            bundlers: config.bundlers.iter().map(BundlerTarget::from).collect(),
            bundler_entrypoints,
            target_timeout: Duration::from_secs_f64(exporter.timeout_secs),
            spend_window_blocks: exporter.spend_window_blocks,
            max_block_range: exporter.max_block_range,
            cache_ttl: Duration::from_secs_f64(exporter.cache_secs),
            bearer_token: exporter.bearer_token()?,
            probes: exporter
                .probes
                .iter()
                .map(RpcProbe::try_from)
                .collect::<Result<_, _>>()?,
            aztec: super::AztecTarget::from_config(config),
            topup_audit: config
                .data_dir()
                .ok()
                .map(|d| crate::paymaster::audit::audit_path(&d)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bundler_entrypoints() {
        let text = r#"
[chain]
rpc_url = "http://127.0.0.1:8545"

[[paymasters]]
name = "a"
address = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"
entrypoint = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"

[[paymasters]]
name = "b"
address = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
entrypoint = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
"#;
        let config = toml::from_str::<Config>(text).unwrap();
        let s = ExporterSettings::try_from(&config).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(s.target_timeout, Duration::from_secs(3));
        assert_eq!(s.spend_window_blocks, 7200);
        assert!(s.cache_ttl.is_zero());
        assert_eq!(
            s.bundler_entrypoints.len(),
            1,
            "one EntryPoint, listed once"
        );

        let with_extra = format!(
            "{text}\n[exporter]\ntimeout_secs = 1.5\ncache_secs = 2\nbundler_entrypoints = [\"0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108\", \"0x0000000071727De22E5E9d8BAf0edAc6f37da032\"]\n"
        );
        let config = toml::from_str::<Config>(&with_extra).unwrap();
        let s = ExporterSettings::try_from(&config).unwrap();
        assert_eq!(s.target_timeout, Duration::from_millis(1500));
        assert_eq!(s.cache_ttl, Duration::from_secs(2));
        assert_eq!(s.bundler_entrypoints.len(), 2);
    }

    #[test]
    fn bad_numbers_are_refused() {
        for (key, value) in [
            ("timeout_secs", "0"),
            ("timeout_secs", "-1"),
            ("cache_secs", "-0.5"),
            ("spend_window_blocks", "0"),
            ("max_block_range", "0"),
        ] {
            let text = format!("[exporter]\n{key} = {value}\n");
            let config = toml::from_str::<Config>(&text).unwrap();
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("[exporter] {key}")), "{key}: {err}");
        }
    }
}
