//! The watcher (`butler serve --watcher`, `butler index`): indexes contract events into an append-only
//! NDJSON log with a JSON checkpoint, survives crashes and reorgs, and derives user operations, totals
//! and workflows from the log with pure reducers.
//!
//! Layout of the store in `DATA_DIR/chain`: `<source>/YYYY-MM-DD.ndjson` (records), `indexer_state.json`
//! (checkpoint), `writer.lock` (the single writer's lock and identity). With `[watcher] store = "postgres"`
//! the log, the checkpoint and the lock live in PostgreSQL instead ([`pg`]); the indexer writes either
//! through [`writer::Writer`], and readers read either through [`backend::StoreReader`].

pub mod backend;
mod blocking;
#[cfg(test)]
mod cancel_tests;
pub mod checkpoint;
pub mod copy;
mod error;
pub mod fetch;
mod indexer;
pub mod lock;
pub mod metrics;
mod mode;
pub mod pg;
mod progress;
pub mod read;
pub mod record;
pub mod reduce;
pub mod reorg;
pub mod replay;
pub mod sources;
pub mod store;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::WatcherError;
pub use indexer::{Indexer, PassOutcome, Target};
pub use mode::{mode, reader_mode};
pub use progress::Progress;
pub use sources::{Source, sources_from_config};

use crate::config::{Config, ConfigError};

/// Everything the watcher needs, resolved from `[watcher]` and `data_dir`.
#[derive(Debug, Clone)]
pub struct WatcherSettings {
    /// `DATA_DIR/chain`.
    pub chain_dir: PathBuf,
    /// `None`: the default for the chain id ([`default_confirmations`]).
    pub confirmations: Option<u64>,
    pub poll_interval: Duration,
    pub max_block_range: u64,
    pub lookback_blocks: u64,
    pub retention_max: usize,
    pub fetch_concurrency: usize,
    pub sources: Vec<Source>,
    /// Where the event log lives (`[watcher] store`).
    pub store: backend::StoreSettings,
    /// `[watcher] read_only`: serve the API from the store without indexing.
    pub read_only: bool,
}

impl TryFrom<&Config> for WatcherSettings {
    type Error = ConfigError;

    /// Resolves the settings from a configuration (the `[watcher]` section must exist).
    fn try_from(config: &Config) -> Result<WatcherSettings, ConfigError> {
        let w = config.watcher.as_ref().ok_or_else(|| {
            ConfigError::Missing(
                "no [watcher] section: add one with [[watcher.sources]] (see config/butler.example.toml)"
                    .to_string(),
            )
        })?;
        Ok(WatcherSettings {
            chain_dir: chain_dir(&config.data_dir()?),
            confirmations: w.confirmations,
            poll_interval: Duration::from_secs(w.poll_interval_secs.max(1)),
            max_block_range: w.max_block_range,
            lookback_blocks: w.lookback_blocks,
            retention_max: w.retention_max,
            fetch_concurrency: w.fetch_concurrency,
            sources: sources_from_config(w)?,
            store: backend::StoreSettings::try_from(config)?,
            read_only: w.read_only,
        })
    }
}

/// The watcher's directory inside a data dir.
pub fn chain_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("chain")
}

/// The confirmation depth used when `[watcher] confirmations` is not set (documented in docs/watcher.md).
pub fn default_confirmations(chain_id: u64) -> u64 {
    match chain_id {
        // local devnets: anvil, hardhat, geth --dev
        31337 | 1337 => 0,
        // Avalanche C-Chain and Fuji: single-slot finality
        43114 | 43113 => 1,
        // Cronos and its testnet (the workflow observer's default)
        25 | 338 => 3,
        // OP Mainnet, Base, Arbitrum One, Linea, Scroll and their common testnets
        10 | 8453 | 42161 | 59144 | 534352 | 11155420 | 84532 | 421614 => 10,
        // BNB Smart Chain and its testnet
        56 | 97 => 15,
        // Polygon PoS and Amoy: deep reorgs have happened
        137 | 80002 => 128,
        // Ethereum mainnet, Sepolia, Holesky, Hoodi, Gnosis, and anything else
        _ => 12,
    }
}
