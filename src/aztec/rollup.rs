//! The rollup: deposit calldata (staking-asset approval, then one `deposit` per attester, each proof of
//! possession verified first), the entry queue with its flush timing, and attester views.

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use alloy::sol_types::SolCall;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::AztecError;
use super::bindings::IERC20;
use super::bindings::IRollup::{self, IRollupInstance};
use super::bn254;
use super::keystore::AttesterEntry;
use super::tx::PlannedTx;
use crate::chain::ChainClient;

/// The rollup at `address`.
pub fn rollup(client: &ChainClient, address: Address) -> IRollupInstance<DynProvider> {
    IRollup::new(address, client.provider().clone())
}

/// `getActivationThreshold()`: the stake of one attester.
pub async fn activation_threshold(
    client: &ChainClient,
    address: Address,
) -> Result<U256, AztecError> {
    rollup(client, address)
        .getActivationThreshold()
        .call()
        .await
        .map_err(|e| client.call_err("getActivationThreshold()", e).into())
}

/// `approve(rollup, threshold × n)` on the staking asset, then `deposit(...)` for each attester.
pub fn deposit_txs(
    rollup: Address,
    staking_asset: Address,
    threshold: U256,
    entries: &[&AttesterEntry],
    withdrawer: Address,
    move_with_latest_rollup: bool,
) -> Result<Vec<PlannedTx>, AztecError> {
    for e in entries {
        bn254::verify(&e.public())
            .map_err(|err| AztecError::Key(format!("attester {}: {err}", e.address)))?;
    }
    let total = threshold * U256::from(entries.len());
    let mut txs = vec![PlannedTx::call(
        staking_asset,
        IERC20::approveCall {
            spender: rollup,
            amount: total,
        }
        .abi_encode(),
        format!(
            "approve the rollup to take {total} staking-asset units ({} attester(s))",
            entries.len()
        ),
    )];
    for e in entries {
        let p = e.public();
        txs.push(PlannedTx::call(
            rollup,
            IRollup::depositCall {
                attester: e.address,
                withdrawer,
                publicKeyInG1: p.pk1,
                publicKeyInG2: p.pk2,
                proofOfPossession: p.pop,
                moveWithLatestRollup: move_with_latest_rollup,
            }
            .abi_encode(),
            format!("deposit attester {} (withdrawer {withdrawer})", e.address),
        ));
    }
    Ok(txs)
}

/// The entry queue and its flush schedule.
#[derive(Debug, Clone, Serialize)]
pub struct EntryQueue {
    pub length: u64,
    pub current_epoch: u64,
    pub epoch_duration_slots: u64,
    pub slot_duration_secs: u64,
    pub flush_size: u64,
    pub available_flushes: u64,
    pub next_flushable_epoch: u64,
    pub is_bootstrapped: bool,
    /// Epoch length in seconds divided by the flush size (0 when nothing is flushed per epoch).
    pub secs_per_attester: f64,
    /// The attesters waiting, in queue order.
    pub attesters: Vec<Address>,
}

fn to_u64(v: U256) -> u64 {
    v.try_into().unwrap_or(u64::MAX)
}

/// Reads the entry queue (every queued attester included).
pub async fn entry_queue(client: &ChainClient, address: Address) -> Result<EntryQueue, AztecError> {
    let r = rollup(client, address);
    let err = |what: &'static str| move |e: alloy::contract::Error| client.call_err(what, e);
    let (length, epoch, epoch_slots, slot_secs, flush, flushes, next, boot) = tokio::try_join!(
        async {
            r.getEntryQueueLength()
                .call()
                .await
                .map_err(err("getEntryQueueLength()"))
        },
        async {
            r.getCurrentEpoch()
                .call()
                .await
                .map_err(err("getCurrentEpoch()"))
        },
        async {
            r.getEpochDuration()
                .call()
                .await
                .map_err(err("getEpochDuration()"))
        },
        async {
            r.getSlotDuration()
                .call()
                .await
                .map_err(err("getSlotDuration()"))
        },
        async {
            r.getEntryQueueFlushSize()
                .call()
                .await
                .map_err(err("getEntryQueueFlushSize()"))
        },
        async {
            r.getAvailableValidatorFlushes()
                .call()
                .await
                .map_err(err("getAvailableValidatorFlushes()"))
        },
        async {
            r.getNextFlushableEpoch()
                .call()
                .await
                .map_err(err("getNextFlushableEpoch()"))
        },
        async {
            r.getIsBootstrapped()
                .call()
                .await
                .map_err(err("getIsBootstrapped()"))
        },
    )?;
    let length = to_u64(length);
    let attesters = entry_queue_attesters(client, address, length).await?;
    let flush_size = to_u64(flush);
    let epoch_secs = to_u64(epoch_slots).saturating_mul(to_u64(slot_secs));
    Ok(EntryQueue {
        length,
        current_epoch: to_u64(epoch),
        epoch_duration_slots: to_u64(epoch_slots),
        slot_duration_secs: to_u64(slot_secs),
        flush_size,
        available_flushes: to_u64(flushes),
        next_flushable_epoch: to_u64(next),
        is_bootstrapped: boot,
        secs_per_attester: if flush_size == 0 {
            0.0
        } else {
            epoch_secs as f64 / flush_size as f64
        },
        attesters,
    })
}

/// The first `length` attesters of the entry queue (`getEntryQueueAt`), in queue order.
pub async fn entry_queue_attesters(
    client: &ChainClient,
    address: Address,
    length: u64,
) -> Result<Vec<Address>, AztecError> {
    let r = rollup(client, address);
    futures::stream::iter(0..length)
        .map(|i| {
            let r = r.clone();
            async move {
                r.getEntryQueueAt(U256::from(i))
                    .call()
                    .await
                    .map(|d| d.attester)
                    .map_err(|e| client.call_err(format!("getEntryQueueAt({i})"), e))
            }
        })
        .buffered(16)
        .try_collect()
        .await
        .map_err(AztecError::from)
}

/// `getEntryQueueLength()` and `getNextFlushableEpoch()`, without the queued attesters.
pub async fn entry_queue_head(
    client: &ChainClient,
    address: Address,
) -> Result<(u64, u64), AztecError> {
    let r = rollup(client, address);
    let (length, next) = tokio::try_join!(
        async {
            r.getEntryQueueLength()
                .call()
                .await
                .map_err(|e| client.call_err("getEntryQueueLength()", e))
        },
        async {
            r.getNextFlushableEpoch()
                .call()
                .await
                .map_err(|e| client.call_err("getNextFlushableEpoch()", e))
        },
    )?;
    Ok((to_u64(length), to_u64(next)))
}

/// An attester's on-chain status (`getAttesterView`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttesterChain {
    /// NONE=0, VALIDATING=1, ZOMBIE=2, EXITING=3.
    pub status: u8,
    pub effective_balance: U256,
}

/// `getAttesterView(attester)`.
pub async fn attester_view(
    client: &ChainClient,
    address: Address,
    attester: Address,
) -> Result<AttesterChain, AztecError> {
    let v = rollup(client, address)
        .getAttesterView(attester)
        .call()
        .await
        .map_err(|e| client.call_err(format!("getAttesterView({attester})"), e))?;
    Ok(AttesterChain {
        status: v.status,
        effective_balance: v.effectiveBalance,
    })
}

/// The name of a rollup status code.
pub fn status_name(status: u8) -> &'static str {
    match status {
        0 => "NONE",
        1 => "VALIDATING",
        2 => "ZOMBIE",
        3 => "EXITING",
        _ => "UNKNOWN",
    }
}
