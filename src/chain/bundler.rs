//! The one health probe of an ERC-4337 bundler, shared by the exporter, the watcher API's monitor and
//! `butler probe`: `eth_chainId` (its round trip is the latency) and `eth_supportedEntryPoints`, through a
//! [`ChainClient`] bound to the bundler's URL (alloy's JSON-RPC client behind the timeout/retry layer).

use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::providers::Provider;

use super::{ChainClient, ChainError};

/// What a bundler answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundlerHealth {
    pub chain_id: u64,
    pub supported_entry_points: Vec<Address>,
    /// Round trip of `eth_chainId`.
    pub latency: Duration,
}

/// Probes the bundler `client` is bound to. An error names the URL and the method that failed.
pub async fn probe(client: &ChainClient) -> Result<BundlerHealth, ChainError> {
    let started = Instant::now();
    let chain_id = client.chain_id().await?;
    let latency = started.elapsed();
    let supported_entry_points = client
        .provider()
        .raw_request::<_, Vec<Address>>("eth_supportedEntryPoints".into(), NO_PARAMS)
        .await
        .map_err(client.rpc_err("eth_supportedEntryPoints"))?;
    Ok(BundlerHealth {
        chain_id,
        supported_entry_points,
        latency,
    })
}

/// The empty JSON-RPC params array.
const NO_PARAMS: [(); 0] = [];
