//! Transactions butler prepares: printed as `[{"to", "value", "data"}]`, written as a Safe Transaction Builder
//! batch, or signed and sent one after the other (each receipt checked before the next is sent).

use std::path::Path;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;

use super::AztecError;
use crate::chain::ChainClient;

/// One transaction: the target, the value in wei and the calldata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedTx {
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub to: Address,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub value: U256,
    pub data: Bytes,
    /// What it does, for the table output and the Safe batch description.
    #[serde(skip)]
    pub description: String,
}

impl PlannedTx {
    /// A call without value.
    pub fn call(to: Address, data: impl Into<Bytes>, description: impl Into<String>) -> Self {
        Self {
            to,
            value: U256::ZERO,
            data: data.into(),
            description: description.into(),
        }
    }
}

/// A Safe Transaction Builder batch (`version`, `chainId`, `meta`, `transactions`).
pub fn safe_batch(chain_id: u64, name: &str, txs: &[PlannedTx]) -> serde_json::Value {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    serde_json::json!({
        "version": "1.0",
        "chainId": chain_id.to_string(),
        "createdAt": created,
        "meta": {
            "name": name,
            "description": txs.iter().map(|t| t.description.as_str()).collect::<Vec<_>>().join("; "),
            "txBuilderVersion": "1.16.5",
            "createdFromSafeAddress": "",
            "createdFromOwnerAddress": "",
        },
        "transactions": txs.iter().map(|t| serde_json::json!({
            "to": t.to.to_checksum(None),
            "value": t.value.to_string(),
            "data": t.data.to_string(),
            "contractMethod": null,
            "contractInputsValues": null,
        })).collect::<Vec<_>>(),
    })
}

/// Writes the Safe batch to `path` (atomically).
pub fn write_safe_json(
    path: &Path,
    chain_id: u64,
    name: &str,
    txs: &[PlannedTx],
) -> Result<(), AztecError> {
    let mut body = serde_json::to_vec_pretty(&safe_batch(chain_id, name, txs))
        .map_err(|e| AztecError::file(path, e))?;
    body.push(b'\n');
    Ok(crate::fs::atomic_write(path, &body)?)
}

/// A sent transaction's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SentTx {
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub to: Address,
    pub hash: String,
    pub block: Option<u64>,
    pub gas_used: u64,
    pub description: String,
}

/// Signs and sends each transaction in order, waiting for its receipt; stops at the first revert.
pub async fn send_all(
    client: &ChainClient,
    signer: PrivateKeySigner,
    txs: &[PlannedTx],
) -> Result<Vec<SentTx>, AztecError> {
    let from = signer.address();
    let provider = client.with_signer(signer);
    let mut sent = Vec::with_capacity(txs.len());
    for tx in txs {
        let req = TransactionRequest::default()
            .with_from(from)
            .with_to(tx.to)
            .with_value(tx.value)
            .with_input(tx.data.clone());
        let pending = provider
            .send_transaction(req)
            .await
            .map_err(|e| client.call_err(format!("sending `{}`", tx.description), e))?;
        let receipt = pending
            .get_receipt()
            .await
            .map_err(|e| client.call_err(format!("receipt of `{}`", tx.description), e))?;
        let hash = receipt.transaction_hash.to_string();
        if !receipt.status() {
            return Err(AztecError::Refused(format!(
                "`{}` reverted in transaction {hash}; {} earlier transaction(s) were mined",
                tx.description,
                sent.len()
            )));
        }
        sent.push(SentTx {
            to: tx.to,
            hash,
            block: receipt.block_number,
            gas_used: receipt.gas_used,
            description: tx.description.clone(),
        });
    }
    Ok(sent)
}
