//! The Aztec node: `node_getNodeInfo` gives the L1 chain id and contract addresses every command works with;
//! the L1 endpoint's `eth_chainId` must match the node's `l1ChainId`.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::Provider;
use serde::{Deserialize, Serialize};
use url::Url;

use super::AztecError;
use crate::chain::ChainClient;
use crate::chain::retry::RetrySettings;

/// The L1 contract addresses the node reports (extra fields are ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1ContractAddresses {
    pub rollup_address: Address,
    pub registry_address: Address,
    pub staking_asset_address: Address,
    #[serde(default)]
    pub gse_address: Option<Address>,
}

/// What butler reads from `node_getNodeInfo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub l1_chain_id: u64,
    pub l1_contract_addresses: L1ContractAddresses,
}

/// Calls `node_getNodeInfo` on the Aztec node (one attempt bounded by `timeout`), through a [`ChainClient`]
/// bound to the node's URL.
pub async fn node_info(url: &Url, timeout: Duration) -> Result<NodeInfo, AztecError> {
    let retry = RetrySettings {
        timeout,
        max_retries: 0,
        ..RetrySettings::default()
    };
    let node = ChainClient::new(url.clone(), retry);
    node.provider()
        .raw_request::<_, NodeInfo>("node_getNodeInfo".into(), NO_PARAMS)
        .await
        .map_err(|e| AztecError::Node {
            url: url.to_string(),
            message: format!("node_getNodeInfo: {e}"),
        })
}

/// The empty JSON-RPC params array.
const NO_PARAMS: [(); 0] = [];

/// The L1 side of an Aztec deployment, checked against the node.
#[derive(Debug, Clone)]
pub struct AztecL1 {
    pub client: ChainClient,
    pub chain_id: u64,
    pub info: NodeInfo,
}

impl AztecL1 {
    /// Reads the node's info and checks that the L1 endpoint serves its `l1ChainId`.
    pub async fn connect(
        node_url: &Url,
        client: ChainClient,
        timeout: Duration,
    ) -> Result<Self, AztecError> {
        let info = node_info(node_url, timeout).await?;
        let chain_id = client.chain_id().await?;
        if chain_id != info.l1_chain_id {
            return Err(AztecError::L1ChainMismatch {
                node_url: node_url.to_string(),
                node_chain_id: info.l1_chain_id,
                rpc_url: client.url().to_string(),
                actual: chain_id,
            });
        }
        Ok(Self {
            client,
            chain_id,
            info,
        })
    }

    /// The rollup contract.
    pub fn rollup(&self) -> Address {
        self.info.l1_contract_addresses.rollup_address
    }
}
