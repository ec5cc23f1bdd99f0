//! What every command gets: the global flags and the configuration, loaded on first use.

use std::sync::OnceLock;

use crate::chain::ChainClient;
use crate::config::{ChainConfig, Config, ConfigError, LoadOptions, Loaded, load};
use crate::output::OutputFormat;

use super::GlobalArgs;

/// The command context.
pub struct Ctx {
    pub global: GlobalArgs,
    loaded: OnceLock<Loaded>,
}

impl Ctx {
    /// A context for these flags; nothing is read yet.
    pub fn new(global: GlobalArgs) -> Self {
        Self {
            global,
            loaded: OnceLock::new(),
        }
    }

    /// The output format.
    pub fn output(&self) -> OutputFormat {
        self.global.output
    }

    /// The configuration (loaded and validated once).
    pub fn loaded(&self) -> Result<&Loaded, ConfigError> {
        if let Some(l) = self.loaded.get() {
            return Ok(l);
        }
        let l = load(&LoadOptions::from_process(self.global.config.clone()))?;
        Ok(self.loaded.get_or_init(|| l))
    }

    /// The configuration itself.
    pub fn config(&self) -> Result<&Config, ConfigError> {
        Ok(&self.loaded()?.config)
    }

    /// The `[chain]` section with `--rpc-url` applied.
    pub fn chain_config(&self) -> Result<ChainConfig, ConfigError> {
        let config = self.config()?;
        match (&self.global.rpc_url, &config.chain) {
            (Some(url), Some(c)) => Ok(ChainConfig {
                rpc_url: url.clone(),
                ..c.clone()
            }),
            (Some(url), None) => Ok(ChainConfig {
                rpc_url: url.clone(),
                chain_id: None,
                timeout_secs: 10.0,
                max_retries: 3,
            }),
            (None, _) => config.require_chain().cloned(),
        }
    }

    /// A client for the configured chain, its chain id checked against the config.
    pub async fn chain(&self) -> anyhow::Result<(ChainClient, u64)> {
        let chain = self.chain_config()?;
        let client = ChainClient::from_config(&chain);
        let id = client.check_chain_id(chain.chain_id).await?;
        Ok((client, id))
    }
}
