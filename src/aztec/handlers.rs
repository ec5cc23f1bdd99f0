//! The watcher's Aztec handlers: after the indexer has stored the `aztec` preset's events, each pass proposes
//! actions into `DATA_DIR/aztec/actions.json`: the coinbase of a staked keystore attester that has none (from
//! its `StakedWithProvider` record), and an ETH top-up for each publisher under its requirement. Nothing is
//! executed here: `butler aztec actions approve` does that.

use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use tokio_util::sync::CancellationToken;

use super::AztecError;
use super::actions::{ActionKind, ActionStore};
use super::keystore::Keystore;
use super::status::publisher_statuses;
use crate::chain::ChainClient;
use crate::config::{Config, ConfigError, WatcherConfig};
use crate::watcher::backend::{StoreReader, StoreSettings};

/// What the handlers use (from `[aztec]`, the data dir and the watcher's poll interval; never the signer key).
#[derive(Debug, Clone)]
pub struct HandlerSettings {
    pub chain_dir: PathBuf,
    /// The watcher's event store (`[watcher] store`).
    pub store: StoreSettings,
    pub actions: PathBuf,
    pub staking_registry: Option<Address>,
    pub provider_id: Option<u64>,
    pub keys_file: Option<PathBuf>,
    pub publishers: Vec<Address>,
    pub min_eth_per_attester: U256,
    pub interval: Duration,
}

impl TryFrom<&Config> for HandlerSettings {
    type Error = ConfigError;

    /// The settings from `[aztec]` (required) and the data dir, paced by `[watcher] poll_interval_secs`.
    fn try_from(config: &Config) -> Result<Self, ConfigError> {
        let a = config.aztec.as_ref().ok_or_else(|| {
            ConfigError::Missing(
                "no [aztec] section: add one with node_url (see config/butler.example.toml)"
                    .to_string(),
            )
        })?;
        let data = config.data_dir()?;
        let poll_secs = config.watcher.as_ref().map_or_else(
            || WatcherConfig::default().poll_interval_secs,
            |w| w.poll_interval_secs,
        );
        Ok(Self {
            chain_dir: crate::watcher::chain_dir(&data),
            store: StoreSettings::try_from(config)?,
            actions: super::actions::actions_path(&data),
            staking_registry: a.staking_registry,
            provider_id: a.provider_id,
            keys_file: a.keys_file.clone(),
            publishers: a.publishers.clone(),
            min_eth_per_attester: a.min_eth_per_attester.0,
            interval: Duration::from_secs(poll_secs.max(1)),
        })
    }
}

/// A `StakedWithProvider` record of the configured registry and provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakedRecord {
    pub attester: Address,
    pub coinbase: Address,
    pub block: u64,
    pub transaction: String,
}

/// The provider's `StakedWithProvider` records in the store (none before the first pass).
pub async fn staked_records(settings: &HandlerSettings) -> Result<Vec<StakedRecord>, AztecError> {
    let reader = match StoreReader::open(&settings.store).await {
        Ok(r) => r,
        Err(crate::watcher::WatcherError::NoStore { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(AztecError::file(&settings.chain_dir, e)),
    };
    let records = reader
        .records()
        .map_err(|e| AztecError::file(&settings.chain_dir, e))?;
    let provider = settings.provider_id.map(|p| p.to_string());
    let mut out = Vec::new();
    for r in records {
        let r = r.map_err(|e| AztecError::file(&settings.chain_dir, e))?;
        if r.event != "StakedWithProvider"
            || settings
                .staking_registry
                .is_some_and(|reg| reg != r.address)
            || provider
                .as_deref()
                .is_some_and(|p| r.arg_str("providerIdentifier") != Some(p))
        {
            continue;
        }
        let addr = |name: &str| r.arg_str(name).and_then(|s| s.parse::<Address>().ok());
        if let (Some(attester), Some(coinbase)) =
            (addr("attester"), addr("coinbaseSplitContractAddress"))
        {
            out.push(StakedRecord {
                attester,
                coinbase,
                block: r.block_number,
                transaction: r.tx_hash.to_string(),
            });
        }
    }
    Ok(out)
}

/// One handler pass: proposes what is missing; returns the ids of new actions.
pub async fn plan(
    settings: &HandlerSettings,
    client: &ChainClient,
) -> Result<Vec<u64>, AztecError> {
    let store = ActionStore::new(settings.actions.clone());
    let keystore = match &settings.keys_file {
        Some(p) => Some(Keystore::load(p)?),
        None => None,
    };
    let mut proposed = Vec::new();
    if let Some(ks) = &keystore {
        for s in staked_records(settings).await? {
            if ks.find(s.attester).is_some_and(|e| e.coinbase.is_none())
                && let Some(id) = store.propose(ActionKind::RecordCoinbase {
                    attester: s.attester,
                    coinbase: s.coinbase,
                    block: s.block,
                    transaction: s.transaction,
                })?
            {
                proposed.push(id);
            }
        }
    }
    let attesters = keystore
        .as_ref()
        .map(|k| k.file.attesters.len())
        .unwrap_or(0);
    let publishers = publisher_statuses(
        client,
        &settings.publishers,
        attesters,
        settings.min_eth_per_attester,
    )
    .await?;
    for p in publishers
        .iter()
        .filter(|p| !p.required_topup_wei.is_zero())
    {
        if let Some(id) = store.propose(ActionKind::TopUp {
            publisher: p.publisher,
            value_wei: p.required_topup_wei,
        })? {
            proposed.push(id);
        }
    }
    Ok(proposed)
}

/// Runs [`plan`] every interval until cancelled; a failed pass is logged and retried at the next tick.
pub async fn run(
    settings: HandlerSettings,
    client: ChainClient,
    cancel: CancellationToken,
) -> Result<(), AztecError> {
    let mut tick = tokio::time::interval(settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        match plan(&settings, &client).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!(actions = ?ids, path = %settings.actions.display(), "aztec actions proposed");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "aztec handlers: pass failed"),
        }
    }
}
