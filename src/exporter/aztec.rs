//! The Aztec collector (from `[aztec]`, never the signer key): the node's L1 view, publisher balances and
//! top-up needs, attester counts by state, staked attesters missing a coinbase, the provider's key queue
//! and the rollup's entry queue.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use url::Url;

use super::ExporterError;
use crate::aztec::keystore::Keystore;
use crate::aztec::node::AztecL1;
use crate::aztec::status::{AttesterState, PublisherStatus, attester_statuses, publisher_statuses};
use crate::aztec::{AztecError, registry, rollup};
use crate::chain::ChainClient;
use crate::config::Config;

/// What the collector reads from `[aztec]`.
#[derive(Debug, Clone)]
pub struct AztecTarget {
    pub node_url: Url,
    pub staking_registry: Option<Address>,
    pub provider_id: Option<u64>,
    pub keys_file: Option<PathBuf>,
    pub publishers: Vec<Address>,
    pub min_eth_per_attester: U256,
}

impl AztecTarget {
    /// The target of `[aztec]`, when the section is present.
    pub fn from_config(config: &Config) -> Option<Self> {
        config.aztec.as_ref().map(|a| Self {
            node_url: a.node_url.clone(),
            staking_registry: a.staking_registry,
            provider_id: a.provider_id,
            keys_file: a.keys_file.clone(),
            publishers: a.publishers.clone(),
            min_eth_per_attester: a.min_eth_per_attester.0,
        })
    }
}

/// One scrape of the Aztec target.
#[derive(Debug, Clone)]
pub struct AztecSample {
    pub publishers: Vec<PublisherStatus>,
    /// Every state, zero included.
    pub states: BTreeMap<&'static str, u64>,
    pub missing_coinbase: u64,
    pub provider_queue_length: Option<u64>,
    pub entry_queue_length: u64,
    pub next_flushable_epoch: u64,
}

fn err(e: AztecError) -> ExporterError {
    match e {
        AztecError::Chain(c) => ExporterError::Chain(c),
        other => ExporterError::Invalid {
            target: "aztec".into(),
            message: other.to_string(),
        },
    }
}

/// Reads everything; any failure fails the target (`butler_aztec_up 0`).
pub async fn collect(
    chain: &ChainClient,
    target: &AztecTarget,
    timeout: Duration,
) -> Result<AztecSample, ExporterError> {
    let l1 = AztecL1::connect(&target.node_url, chain.clone(), timeout)
        .await
        .map_err(err)?;
    let entries = match &target.keys_file {
        Some(p) => Keystore::load(p).map_err(err)?.file.attesters,
        None => Vec::new(),
    };
    let (entry_queue_length, next_flushable_epoch) = rollup::entry_queue_head(chain, l1.rollup())
        .await
        .map_err(err)?;
    let (provider_queue, provider_queue_length) =
        match (target.staking_registry, target.provider_id) {
            (Some(reg), Some(id)) => {
                let queue = registry::provider_queue(chain, reg, id)
                    .await
                    .map_err(err)?;
                let n = queue.len() as u64;
                (queue, Some(n))
            }
            _ => (Vec::new(), None),
        };
    let attesters: Vec<_> = entries.iter().map(|e| (e.address, e.coinbase)).collect();
    let statuses = attester_statuses(chain, l1.rollup(), &attesters, &provider_queue)
        .await
        .map_err(err)?;
    let mut states: BTreeMap<&'static str, u64> =
        AttesterState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut missing_coinbase = 0;
    for s in &statuses {
        *states.entry(s.state.as_str()).or_default() += 1;
        let staked = matches!(
            s.state,
            AttesterState::RollupEntryQueue | AttesterState::Active
        );
        if staked && s.coinbase.is_none() {
            missing_coinbase += 1;
        }
    }
    let publishers = publisher_statuses(
        chain,
        &target.publishers,
        entries.len(),
        target.min_eth_per_attester,
    )
    .await
    .map_err(err)?;
    Ok(AztecSample {
        publishers,
        states,
        missing_coinbase,
        provider_queue_length,
        entry_queue_length,
        next_flushable_epoch,
    })
}
