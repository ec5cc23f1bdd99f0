//! Attester states and publisher funding, derived only from on-chain reads: VALIDATING → ACTIVE; ZOMBIE or
//! EXITING → NO_LONGER_ACTIVE; NONE with an effective balance (or waiting in the rollup's entry queue) →
//! ROLLUP_ENTRY_QUEUE; NONE, still in the provider's key queue → IN_STAKING_PROVIDER_QUEUE; else NEW.
//! A publisher needs `ceil(attesters / publishers) × min_eth_per_attester`.

use alloy::primitives::{Address, U256};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::AztecError;
use super::rollup::{
    AttesterChain, attester_view, entry_queue_attesters, entry_queue_head, status_name,
};
use crate::chain::ChainClient;

/// The states an attester goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttesterState {
    New,
    InStakingProviderQueue,
    RollupEntryQueue,
    Active,
    NoLongerActive,
}

impl AttesterState {
    /// Every state, in lifecycle order.
    pub const ALL: [AttesterState; 5] = [
        Self::New,
        Self::InStakingProviderQueue,
        Self::RollupEntryQueue,
        Self::Active,
        Self::NoLongerActive,
    ];

    /// The state's name (`ACTIVE`, ...), as JSON and metric labels spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::InStakingProviderQueue => "IN_STAKING_PROVIDER_QUEUE",
            Self::RollupEntryQueue => "ROLLUP_ENTRY_QUEUE",
            Self::Active => "ACTIVE",
            Self::NoLongerActive => "NO_LONGER_ACTIVE",
        }
    }
}

/// The state of an attester from its view and queue membership.
pub fn derive_state(
    view: AttesterChain,
    in_entry_queue: bool,
    in_provider_queue: bool,
) -> AttesterState {
    match view.status {
        1 => AttesterState::Active,
        2 | 3 => AttesterState::NoLongerActive,
        _ if view.effective_balance > U256::ZERO || in_entry_queue => {
            AttesterState::RollupEntryQueue
        }
        _ if in_provider_queue => AttesterState::InStakingProviderQueue,
        _ => AttesterState::New,
    }
}

/// One attester's status.
#[derive(Debug, Clone, Serialize)]
pub struct AttesterStatus {
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub address: Address,
    pub state: AttesterState,
    /// The rollup's status name (NONE, VALIDATING, ZOMBIE, EXITING).
    pub rollup_status: &'static str,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub effective_balance: U256,
    #[serde(serialize_with = "crate::chain::ser::opt_address")]
    pub coinbase: Option<Address>,
}

/// The status of each attester (with its coinbase from the keystore). The entry queue is read only when an
/// attester's state depends on it (NONE, no effective balance, not in the provider's queue).
pub async fn attester_statuses(
    client: &ChainClient,
    rollup: Address,
    attesters: &[(Address, Option<Address>)],
    provider_queue: &[Address],
) -> Result<Vec<AttesterStatus>, AztecError> {
    let views: Vec<AttesterChain> = futures::stream::iter(attesters.iter().copied())
        .map(|(address, _)| attester_view(client, rollup, address))
        .buffered(16)
        .try_collect()
        .await?;
    let undecided = attesters.iter().zip(&views).any(|((a, _), v)| {
        v.status == 0 && v.effective_balance.is_zero() && !provider_queue.contains(a)
    });
    let entry_queue = if undecided {
        let (length, _) = entry_queue_head(client, rollup).await?;
        entry_queue_attesters(client, rollup, length).await?
    } else {
        Vec::new()
    };
    Ok(attesters
        .iter()
        .zip(views)
        .map(|(&(address, coinbase), view)| AttesterStatus {
            address,
            state: derive_state(
                view,
                entry_queue.contains(&address),
                provider_queue.contains(&address),
            ),
            rollup_status: status_name(view.status),
            effective_balance: view.effective_balance,
            coinbase,
        })
        .collect())
}

/// One publisher's funding.
#[derive(Debug, Clone, Serialize)]
pub struct PublisherStatus {
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub publisher: Address,
    /// Attesters it publishes for (the keystore's attesters spread over the publishers, rounded up).
    pub load: u64,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub balance_wei: U256,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub required_wei: U256,
    /// `required_wei − balance_wei`, or 0.
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub required_topup_wei: U256,
}

/// The load a publisher carries: `ceil(attesters / publishers)`.
pub fn publisher_load(attesters: usize, publishers: usize) -> u64 {
    if publishers == 0 {
        return 0;
    }
    attesters.div_ceil(publishers) as u64
}

/// Balance and top-up need of each publisher.
pub async fn publisher_statuses(
    client: &ChainClient,
    publishers: &[Address],
    attesters: usize,
    min_per_attester: U256,
) -> Result<Vec<PublisherStatus>, AztecError> {
    let load = publisher_load(attesters, publishers.len());
    let required = min_per_attester * U256::from(load);
    futures::stream::iter(publishers.iter().copied())
        .map(|publisher| async move {
            let balance = client.balance(publisher).await?;
            Ok::<_, AztecError>(PublisherStatus {
                publisher,
                load,
                balance_wei: balance,
                required_wei: required,
                required_topup_wei: required.saturating_sub(balance),
            })
        })
        .buffered(8)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_rollup_and_the_queues() {
        let v = |status, bal: u64| AttesterChain {
            status,
            effective_balance: U256::from(bal),
        };
        assert_eq!(derive_state(v(1, 1), false, false), AttesterState::Active);
        assert_eq!(
            derive_state(v(2, 1), false, false),
            AttesterState::NoLongerActive
        );
        assert_eq!(
            derive_state(v(3, 0), false, false),
            AttesterState::NoLongerActive
        );
        assert_eq!(
            derive_state(v(0, 5), false, false),
            AttesterState::RollupEntryQueue
        );
        assert_eq!(
            derive_state(v(0, 0), true, false),
            AttesterState::RollupEntryQueue
        );
        assert_eq!(
            derive_state(v(0, 0), false, true),
            AttesterState::InStakingProviderQueue
        );
        assert_eq!(derive_state(v(0, 0), false, false), AttesterState::New);
    }

    #[test]
    fn publisher_load_rounds_up() {
        assert_eq!(publisher_load(5, 2), 3);
        assert_eq!(publisher_load(4, 2), 2);
        assert_eq!(publisher_load(0, 2), 0);
        assert_eq!(publisher_load(3, 0), 0);
    }
}
