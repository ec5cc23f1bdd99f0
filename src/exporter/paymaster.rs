//! The paymaster collector: deposit, stake and balance (`getDepositInfo`), and spend, sponsored operations and
//! runway over the recent window, from the EntryPoint's `UserOperationEvent` logs naming this paymaster.

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::OnceCell;

use super::{ExporterError, PaymasterTarget};
use crate::chain::bindings::IEntryPoint::UserOperationEvent;
use crate::chain::{ChainClient, ChainError};
use crate::paymaster::{PaymasterStatus, paymaster_status};

/// `eth_getLogs` requests in flight at once for one paymaster's window.
const LOG_CONCURRENCY: usize = 4;

/// The recent window: blocks `from..=to`, lasting `seconds` by block timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: u64,
    pub to: u64,
    /// From the timestamp of the block before `from` (genesis when the window reaches it) to the timestamp of
    /// `to`; at least 1.
    pub seconds: u64,
}

/// Spend in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    pub userops: u64,
    pub wei: U256,
}

/// What one scrape read for one paymaster.
#[derive(Debug, Clone)]
pub struct PaymasterSample {
    pub status: PaymasterStatus,
    pub spend: Spend,
    pub window: Window,
}

impl PaymasterSample {
    /// Seconds until the deposit is gone at the window's spend rate; `+Inf` when nothing was spent.
    pub fn runway_secs(&self) -> f64 {
        runway_secs(self.status.deposit_wei, self.spend.wei, self.window.seconds)
    }
}

/// deposit / (spend / seconds), as a float; `+Inf` when `spend` is zero.
pub fn runway_secs(deposit: U256, spend: U256, seconds: u64) -> f64 {
    if spend.is_zero() {
        return f64::INFINITY;
    }
    f64::from(deposit) * seconds as f64 / f64::from(spend)
}

/// The window of `blocks` blocks ending at the head, on a chain whose id is `expected` (when set). Computed once
/// per scrape and shared by every paymaster, so no paymaster reports values read from the wrong chain.
pub async fn window(
    client: &ChainClient,
    blocks: u64,
    expected: Option<u64>,
    cell: &OnceCell<Window>,
) -> Result<Window, ExporterError> {
    cell.get_or_try_init(|| async {
        let (head, chain_id) = tokio::join!(
            client.provider().get_block_number(),
            client.check_chain_id(expected)
        );
        chain_id?;
        let to = head.map_err(client.rpc_err("eth_blockNumber"))?;
        let from = to.saturating_sub(blocks.saturating_sub(1));
        let before = from.saturating_sub(1);
        let (end, start) =
            tokio::join!(block_timestamp(client, to), block_timestamp(client, before));
        let seconds = end?.saturating_sub(start?).max(1);
        Ok(Window { from, to, seconds })
    })
    .await
    .copied()
}

async fn block_timestamp(client: &ChainClient, number: u64) -> Result<u64, ExporterError> {
    let block = client
        .provider()
        .get_block_by_number(BlockNumberOrTag::Number(number))
        .await
        .map_err(client.rpc_err("eth_getBlockByNumber"))?
        .ok_or_else(|| ChainError::Invalid {
            url: client.url().to_string(),
            message: format!("block {number} is unknown to the node"),
        })?;
    Ok(block.header.timestamp)
}

/// Sums the `UserOperationEvent`s of `target` in `window`, in ranges of at most `max_range` blocks.
pub async fn spend(
    client: &ChainClient,
    target: &PaymasterTarget,
    window: Window,
    max_range: u64,
) -> Result<Spend, ExporterError> {
    let base = Filter::new()
        .address(target.entrypoint)
        .event_signature(UserOperationEvent::SIGNATURE_HASH)
        .topic3(target.address.into_word());
    let ranges = block_ranges(window.from, window.to, max_range);
    futures::stream::iter(ranges)
        .map(|(a, b)| {
            let filter = base.clone().from_block(a).to_block(b);
            async move {
                client
                    .provider()
                    .get_logs(&filter)
                    .await
                    .map_err(client.rpc_err("eth_getLogs"))
            }
        })
        .buffer_unordered(LOG_CONCURRENCY)
        .map_err(ExporterError::from)
        .try_fold(Spend::default(), |mut acc, logs| async move {
            for log in logs {
                let event =
                    log.log_decode::<UserOperationEvent>()
                        .map_err(|e| ExporterError::Invalid {
                            target: format!("paymaster {}", target.name),
                            message: format!("undecodable UserOperationEvent: {e}"),
                        })?;
                acc.userops += 1;
                acc.wei = acc.wei.saturating_add(event.inner.data.actualGasCost);
            }
            Ok(acc)
        })
        .await
}

/// Splits `from..=to` into inclusive ranges of at most `max_range` blocks.
pub fn block_ranges(from: u64, to: u64, max_range: u64) -> Vec<(u64, u64)> {
    let step = max_range.max(1);
    let mut out = Vec::new();
    let mut a = from;
    while a <= to {
        let b = a.saturating_add(step - 1).min(to);
        out.push((a, b));
        if b == u64::MAX {
            break;
        }
        a = b + 1;
    }
    out
}

/// What the paymaster collector needs besides the target.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub window_blocks: u64,
    pub max_range: u64,
    pub chain_id: Option<u64>,
}

/// Reads one paymaster: its status and its spend over the shared window.
pub async fn collect(
    client: &ChainClient,
    target: &PaymasterTarget,
    scope: Scope,
    cell: &OnceCell<Window>,
) -> Result<PaymasterSample, ExporterError> {
    let status = async {
        paymaster_status(client, &target.name, target.address, target.entrypoint)
            .await
            .map_err(ExporterError::from)
    };
    let spent = async {
        let w = window(client, scope.window_blocks, scope.chain_id, cell).await?;
        let s = spend(client, target, w, scope.max_range).await?;
        Ok::<_, ExporterError>((w, s))
    };
    let (status, spent) = tokio::join!(status, spent);
    let (window, spend) = spent?;
    Ok(PaymasterSample {
        status: status?,
        spend,
        window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_window_exactly() {
        assert_eq!(block_ranges(0, 0, 2000), vec![(0, 0)]);
        assert_eq!(block_ranges(5, 4, 10), vec![]);
        assert_eq!(block_ranges(1, 25, 10), vec![(1, 10), (11, 20), (21, 25)]);
        assert_eq!(block_ranges(1, 20, 10), vec![(1, 10), (11, 20)]);
        assert_eq!(block_ranges(7, 9, 1), vec![(7, 7), (8, 8), (9, 9)]);
    }

    #[test]
    fn runway_is_deposit_over_rate() {
        let eth = U256::from(10u64).pow(U256::from(18u64));
        // 1 ETH spent in 3600 s with 10 ETH deposited: 10 hours left.
        assert_eq!(runway_secs(eth * U256::from(10u64), eth, 3600), 36000.0);
        assert_eq!(runway_secs(eth, U256::ZERO, 3600), f64::INFINITY);
        assert_eq!(runway_secs(U256::ZERO, eth, 3600), 0.0);
    }
}
