//! The StakingRegistry: provider reads, the calldata of provider management and `addKeysToProvider` (verified
//! keys, checked against the on-chain provider queue, in chunks of 50), and the provider's key queue.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::AztecError;
use super::bindings::IStakingRegistry::{self, IStakingRegistryInstance};
use super::bindings::KeyStore;
use super::bn254;
use super::keystore::AttesterEntry;
use super::tx::PlannedTx;
use crate::chain::ChainClient;

/// Keys per `addKeysToProvider` transaction.
pub const KEYS_PER_CHUNK: usize = 50;
/// Largest take rate, in basis points.
pub const MAX_TAKE_RATE_BPS: u16 = 10_000;

/// A provider's configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Provider {
    pub id: u64,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub admin: Address,
    pub take_rate_bps: u16,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub rewards_recipient: Address,
}

/// The registry at `address`.
pub fn registry(
    client: &ChainClient,
    address: Address,
) -> IStakingRegistryInstance<alloy::providers::DynProvider> {
    IStakingRegistry::new(address, client.provider().clone())
}

/// Provider `id`'s configuration (`None` when it is not registered).
pub async fn provider(
    client: &ChainClient,
    address: Address,
    id: u64,
) -> Result<Option<Provider>, AztecError> {
    let r = registry(client, address);
    let c = r
        .providerConfigurations(U256::from(id))
        .call()
        .await
        .map_err(|e| client.call_err(format!("providerConfigurations({id})"), e))?;
    if c.admin == Address::ZERO {
        return Ok(None);
    }
    Ok(Some(Provider {
        id,
        admin: c.admin,
        take_rate_bps: c.takeRate,
        rewards_recipient: c.rewardsRecipient,
    }))
}

/// Every registered provider (ids start at 1).
pub async fn providers(
    client: &ChainClient,
    address: Address,
) -> Result<Vec<Provider>, AztecError> {
    let next = registry(client, address)
        .nextProviderIdentifier()
        .call()
        .await
        .map_err(|e| client.call_err("nextProviderIdentifier()", e))?;
    let next: u64 = next.try_into().unwrap_or(u64::MAX);
    let found: Vec<Option<Provider>> = futures::stream::iter(1..next)
        .map(|id| provider(client, address, id))
        .buffered(8)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// `registerProvider(admin, takeRate, rewardsRecipient)`.
pub fn create_tx(
    registry: Address,
    admin: Address,
    take_rate_bps: u16,
    rewards_recipient: Address,
) -> Result<PlannedTx, AztecError> {
    check_take_rate(take_rate_bps)?;
    let data = IStakingRegistry::registerProviderCall {
        providerAdmin: admin,
        providerTakeRate: take_rate_bps,
        providerRewardsRecipient: rewards_recipient,
    }
    .abi_encode();
    Ok(PlannedTx::call(
        registry,
        data,
        format!(
            "register a provider (admin {admin}, take rate {take_rate_bps} bps, rewards to {rewards_recipient})"
        ),
    ))
}

/// `updateProviderAdmin(id, newAdmin)`.
pub fn set_admin_tx(registry: Address, id: u64, new_admin: Address) -> PlannedTx {
    let data = IStakingRegistry::updateProviderAdminCall {
        providerIdentifier: U256::from(id),
        newAdmin: new_admin,
    }
    .abi_encode();
    PlannedTx::call(
        registry,
        data,
        format!("propose {new_admin} as admin of provider {id}"),
    )
}

/// `acceptProviderAdmin(id)`.
pub fn accept_admin_tx(registry: Address, id: u64) -> PlannedTx {
    let data = IStakingRegistry::acceptProviderAdminCall {
        providerIdentifier: U256::from(id),
    }
    .abi_encode();
    PlannedTx::call(
        registry,
        data,
        format!("accept the admin role of provider {id}"),
    )
}

/// `updateProviderTakeRate(id, bps)`.
pub fn set_commission_tx(registry: Address, id: u64, bps: u16) -> Result<PlannedTx, AztecError> {
    check_take_rate(bps)?;
    let data = IStakingRegistry::updateProviderTakeRateCall {
        providerIdentifier: U256::from(id),
        newTakeRate: bps,
    }
    .abi_encode();
    Ok(PlannedTx::call(
        registry,
        data,
        format!("set the take rate of provider {id} to {bps} bps"),
    ))
}

fn check_take_rate(bps: u16) -> Result<(), AztecError> {
    if bps > MAX_TAKE_RATE_BPS {
        return Err(AztecError::Refused(format!(
            "take rate {bps} bps is above {MAX_TAKE_RATE_BPS} bps (100%)"
        )));
    }
    Ok(())
}

/// The attesters in provider `id`'s key queue, first to last.
pub async fn provider_queue(
    client: &ChainClient,
    address: Address,
    id: u64,
) -> Result<Vec<Address>, AztecError> {
    Ok(provider_queue_keys(client, address, id)
        .await?
        .into_iter()
        .map(|k| k.attester)
        .collect())
}

/// The keys in provider `id`'s queue, first to last.
pub async fn provider_queue_keys(
    client: &ChainClient,
    address: Address,
    id: u64,
) -> Result<Vec<KeyStore>, AztecError> {
    let r = registry(client, address);
    let pid = U256::from(id);
    let first = r
        .getFirstIndexInQueue(pid)
        .call()
        .await
        .map_err(|e| client.call_err(format!("getFirstIndexInQueue({id})"), e))?;
    let last = r
        .getLastIndexInQueue(pid)
        .call()
        .await
        .map_err(|e| client.call_err(format!("getLastIndexInQueue({id})"), e))?;
    futures::stream::iter(first..last)
        .map(|i| {
            let r = r.clone();
            async move {
                r.getValueAtIndexInQueue(pid, i)
                    .call()
                    .await
                    .map_err(|e| client.call_err(format!("getValueAtIndexInQueue({id}, {i})"), e))
            }
        })
        .buffered(16)
        .try_collect()
        .await
        .map_err(AztecError::from)
}

/// `getProviderQueueLength(id)`.
pub async fn provider_queue_length(
    client: &ChainClient,
    address: Address,
    id: u64,
) -> Result<u64, AztecError> {
    let n = registry(client, address)
        .getProviderQueueLength(U256::from(id))
        .call()
        .await
        .map_err(|e| client.call_err(format!("getProviderQueueLength({id})"), e))?;
    Ok(n.try_into().unwrap_or(u64::MAX))
}

/// The `addKeysToProvider` transactions for `entries` (chunks of [`KEYS_PER_CHUNK`]): every proof of possession
/// verified, no attester or BN254 key twice, none already in the provider's queue (by address or key).
pub fn add_keys_txs(
    registry: Address,
    id: u64,
    entries: &[&AttesterEntry],
    queued: &[KeyStore],
) -> Result<Vec<PlannedTx>, AztecError> {
    let mut seen = std::collections::HashSet::new();
    let mut seen_keys = std::collections::HashSet::new();
    for e in entries {
        bn254::verify(&e.public())
            .map_err(|err| AztecError::Key(format!("attester {}: {err}", e.address)))?;
        let pk1 = (e.public_key_g1.x, e.public_key_g1.y);
        if !seen.insert(e.address) || !seen_keys.insert(pk1) {
            return Err(AztecError::Refused(format!(
                "attester {} (or its BN254 key) is listed twice",
                e.address
            )));
        }
        if let Some(q) = queued
            .iter()
            .find(|q| q.attester == e.address || (q.publicKeyG1.x, q.publicKeyG1.y) == pk1)
        {
            return Err(AztecError::Refused(format!(
                "attester {} is already in provider {id}'s queue on chain (queued as {})",
                e.address, q.attester
            )));
        }
    }
    Ok(entries
        .chunks(KEYS_PER_CHUNK)
        .map(|chunk| {
            let data = IStakingRegistry::addKeysToProviderCall {
                providerIdentifier: U256::from(id),
                keyStores: chunk.iter().map(|e| e.key_store()).collect(),
            }
            .abi_encode();
            PlannedTx::call(
                registry,
                data,
                format!("add {} key(s) to provider {id}", chunk.len()),
            )
        })
        .collect())
}
