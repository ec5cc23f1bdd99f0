//! What every command gets: the global flags and the configuration, loaded on first use, with the global
//! flags (`--rpc-url`) applied; commands build their settings from it ([`Ctx::settings`]).

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

    /// The `[chain]` section with `--rpc-url` applied (given once or more, the flags replace the
    /// configured URLs).
    pub fn chain_config(&self) -> Result<ChainConfig, ConfigError> {
        let config = self.config()?;
        let flags = &self.global.rpc_url;
        match &config.chain {
            Some(c) if !flags.is_empty() => Ok(ChainConfig {
                rpc_url: None,
                rpc_urls: flags.clone(),
                rpc_urls_file: None,
                file_urls: Vec::new(),
                ..c.clone()
            }),
            None if !flags.is_empty() => Ok(ChainConfig::new(flags.clone(), None)),
            _ => config.require_chain().cloned(),
        }
    }

    /// The configuration with the global flags applied (`--rpc-url` replaces the `[chain]` URLs).
    pub fn effective_config(&self) -> Result<Config, ConfigError> {
        let mut config = self.config()?.clone();
        if !self.global.rpc_url.is_empty() {
            config.chain = Some(self.chain_config()?);
        }
        Ok(config)
    }

    /// A mode's or command group's settings, built once from the configuration with the global flags
    /// applied.
    pub fn settings<T>(&self) -> Result<T, ConfigError>
    where
        T: for<'c> TryFrom<&'c Config, Error = ConfigError>,
    {
        T::try_from(&self.effective_config()?)
    }

    /// A client for the configured chain, its chain id checked against the config.
    pub async fn chain(&self) -> anyhow::Result<(ChainClient, u64)> {
        let chain = self.chain_config()?;
        let client = ChainClient::from_config(&chain);
        let id = client.check_chain_id(chain.chain_id).await?;
        Ok((client, id))
    }
}
