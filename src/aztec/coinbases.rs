//! Coinbases: each `StakedWithProvider` log of the provider names the attester's coinbase split contract;
//! scraped from the StakingRegistry's logs and recorded in the keystore.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use serde::Serialize;

use super::AztecError;
use super::bindings::IStakingRegistry::StakedWithProvider;
use super::keystore::Keystore;
use crate::chain::ChainClient;

/// Blocks per `eth_getLogs` request.
pub const LOG_RANGE: u64 = 10_000;

/// One `StakedWithProvider` log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Staked {
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub attester: Address,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub coinbase: Address,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub rollup: Address,
    pub block: Option<u64>,
    pub transaction: Option<String>,
}

/// The provider's `StakedWithProvider` logs between `from` and `to` (inclusive).
pub async fn scrape(
    client: &ChainClient,
    registry: Address,
    provider_id: u64,
    from: u64,
    to: u64,
) -> Result<Vec<Staked>, AztecError> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start.saturating_add(LOG_RANGE - 1));
        let filter = Filter::new()
            .address(registry)
            .event_signature(StakedWithProvider::SIGNATURE_HASH)
            .topic1(U256::from(provider_id))
            .from_block(start)
            .to_block(end);
        let logs = client
            .provider()
            .get_logs(&filter)
            .await
            .map_err(client.rpc_err("eth_getLogs"))?;
        for log in logs {
            let decoded = StakedWithProvider::decode_log(&log.inner)
                .map_err(|e| client.call_err("decoding StakedWithProvider", e))?;
            out.push(Staked {
                attester: decoded.attester,
                coinbase: decoded.coinbaseSplitContractAddress,
                rollup: decoded.rollupAddress,
                block: log.block_number,
                transaction: log.transaction_hash.map(|h| h.to_string()),
            });
        }
        if end == u64::MAX {
            break;
        }
        start = end + 1;
    }
    Ok(out)
}

/// A coinbase recorded (or changed) in the keystore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoinbaseChange {
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub attester: Address,
    #[serde(serialize_with = "crate::chain::ser::opt_address")]
    pub previous: Option<Address>,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub coinbase: Address,
}

/// Records the scraped coinbases of the keystore's attesters (the latest log wins); returns the changes.
pub fn apply(keystore: &mut Keystore, staked: &[Staked]) -> Vec<CoinbaseChange> {
    let mut changes = Vec::new();
    for entry in &mut keystore.file.attesters {
        let Some(s) = staked.iter().rev().find(|s| s.attester == entry.address) else {
            continue;
        };
        if entry.coinbase != Some(s.coinbase) {
            changes.push(CoinbaseChange {
                attester: entry.address,
                previous: entry.coinbase,
                coinbase: s.coinbase,
            });
            entry.coinbase = Some(s.coinbase);
        }
    }
    changes
}
