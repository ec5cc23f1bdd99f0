//! The Aztec node: `node_getNodeInfo` gives the L1 chain id and contract addresses every command works with;
//! the L1 endpoint's `eth_chainId` must match the node's `l1ChainId`.

use std::time::Duration;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use url::Url;

use super::AztecError;
use crate::chain::ChainClient;

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

/// Calls `node_getNodeInfo` on the Aztec node.
pub async fn node_info(url: &Url, timeout: Duration) -> Result<NodeInfo, AztecError> {
    let err = |message: String| AztecError::Node {
        url: url.to_string(),
        message,
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| err(e.to_string()))?;
    let body =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "node_getNodeInfo", "params": []});
    let resp = client
        .post(url.clone())
        .json(&body)
        .send()
        .await
        .map_err(|e| err(format!("node_getNodeInfo: {e}")))?;
    let status = resp.status();
    let value: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| err(format!("node_getNodeInfo: HTTP {status}: {e}")))?;
    if let Some(e) = value.get("error") {
        return Err(err(format!("node_getNodeInfo: {e}")));
    }
    let result = value
        .get("result")
        .cloned()
        .ok_or_else(|| err("node_getNodeInfo: the answer has no result".into()))?;
    serde_json::from_value(result).map_err(|e| err(format!("node_getNodeInfo: {e}")))
}

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
