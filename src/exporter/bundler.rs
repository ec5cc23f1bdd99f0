//! The bundler collector: the shared bundler probe ([`crate::chain::bundler`]: chain id, latency,
//! supported EntryPoints), the mempool size (where the debug namespace is enabled) and the ETH balances of
//! the bundler's configured executor addresses.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;

use super::{BundlerTarget, ExporterError};
use crate::chain::{ChainClient, bundler};

/// What one scrape read from one bundler.
#[derive(Debug, Clone)]
pub struct BundlerSample {
    pub rpc_latency_secs: f64,
    pub supported: Vec<Address>,
    /// `None` when `debug_bundler_dumpMempool` is not available.
    pub mempool_userops: Option<u64>,
    /// Executors whose balance the chain RPC returned.
    pub executor_balances: Vec<(Address, U256)>,
}

/// Probes one bundler. It is up when it answers `eth_chainId` with `expected` (when known) and
/// `eth_supportedEntryPoints`; the mempool and executor balances are best effort and only omitted on failure.
pub async fn collect(
    bundler: &ChainClient,
    chain: &ChainClient,
    target: &BundlerTarget,
    expected: Option<u64>,
) -> Result<BundlerSample, ExporterError> {
    let health = async { bundler::probe(bundler).await.map_err(ExporterError::from) };
    let balances = futures::future::join_all(target.executors.iter().map(|a| async move {
        match chain.balance(*a).await {
            Ok(b) => Some((*a, b)),
            Err(e) => {
                tracing::debug!(bundler = %target.name, executor = %a, error = %e, "executor balance unavailable");
                None
            }
        }
    }));
    let (health, balances) = tokio::join!(health, balances);
    let health = health?;
    let id = health.chain_id;
    if let Some(want) = expected
        && want != id
    {
        return Err(ExporterError::Invalid {
            target: format!("bundler {}", target.name),
            message: format!("serves chain id {id}, the chain is {want}"),
        });
    }
    let supported = health.supported_entry_points;
    Ok(BundlerSample {
        rpc_latency_secs: health.latency.as_secs_f64(),
        mempool_userops: mempool(bundler, &supported).await,
        supported,
        executor_balances: balances.into_iter().flatten().collect(),
    })
}

/// The number of UserOperations in the mempool over `entrypoints`; `None` when any dump fails.
async fn mempool(bundler: &ChainClient, entrypoints: &[Address]) -> Option<u64> {
    let dumps = futures::future::join_all(entrypoints.iter().map(|ep| {
        bundler
            .provider()
            .raw_request::<_, Vec<serde_json::Value>>("debug_bundler_dumpMempool".into(), (*ep,))
    }))
    .await;
    let mut total = 0u64;
    for dump in dumps {
        match dump {
            Ok(ops) => total += ops.len() as u64,
            Err(e) => {
                tracing::debug!(url = %bundler.url(), error = %e, "debug_bundler_dumpMempool unavailable");
                return None;
            }
        }
    }
    Some(total)
}
