//! The chain collector: head block, gas prices, sync state, peers and RPC latency of the configured node.

use std::time::Instant;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::U64;
use alloy::providers::Provider;
use alloy::rpc::types::SyncStatus;

use super::{ExporterError, NO_PARAMS};
use crate::chain::{ChainClient, ChainError};

/// What one scrape read from the chain.
#[derive(Debug, Clone)]
pub struct ChainSample {
    pub chain_id: u64,
    pub head_block: u64,
    pub head_timestamp: u64,
    pub gas_price_wei: u128,
    pub base_fee_wei: Option<u64>,
    pub syncing: bool,
    /// `None` when the node refuses `net_peerCount`.
    pub peers: Option<u64>,
    pub rpc_latency_secs: f64,
}

/// Reads the chain's state; fails when any required answer is missing or the chain id is not `expected`.
pub async fn collect(
    client: &ChainClient,
    expected: Option<u64>,
) -> Result<ChainSample, ExporterError> {
    // one URL for the whole sample, so the block read is the head that URL reported
    let client = &client.pinned();
    let p = client.provider();
    let started = Instant::now();
    let head = p
        .get_block_number()
        .await
        .map_err(client.rpc_err("eth_blockNumber"))?;
    let rpc_latency_secs = started.elapsed().as_secs_f64();
    let (chain_id, block, gas_price, syncing, peers) = tokio::join!(
        client.check_chain_id(expected),
        p.get_block_by_number(BlockNumberOrTag::Number(head)),
        p.get_gas_price(),
        p.syncing(),
        p.raw_request::<_, U64>("net_peerCount".into(), NO_PARAMS),
    );
    let block = block
        .map_err(client.rpc_err("eth_getBlockByNumber"))?
        .ok_or_else(|| ChainError::Invalid {
            url: client.url().to_string(),
            message: format!("block {head} (the reported head) is unknown to the node"),
        })?;
    let syncing = !matches!(
        syncing.map_err(client.rpc_err("eth_syncing"))?,
        SyncStatus::None
    );
    Ok(ChainSample {
        chain_id: chain_id?,
        head_block: head,
        head_timestamp: block.header.timestamp,
        gas_price_wei: gas_price.map_err(client.rpc_err("eth_gasPrice"))?,
        base_fee_wei: block.header.base_fee_per_gas,
        syncing,
        peers: peers.ok().map(|p| p.to::<u64>()),
        rpc_latency_secs,
    })
}
