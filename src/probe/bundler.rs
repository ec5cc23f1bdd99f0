//! A JSON-RPC client for an ERC-4337 bundler (ERC-7769 methods plus Pimlico's gas price method), on
//! alloy's RPC client behind the chain core's timeout/retry layer; its health (chain id, supported
//! EntryPoints) comes from the shared probe of [`crate::chain::bundler`]. Sending is never retried: a
//! repeated `eth_sendUserOperation` could only be refused as a duplicate.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::client::RpcClient;
use serde_json::Value;
use url::Url;

use super::ProbeError;
use super::userop::{GasLimits, UserOperation};
use crate::chain::bundler::{self, BundlerHealth};
use crate::chain::num::{coerce_u256, to_u64, to_u128};
use crate::chain::pool::rpc_client;
use crate::chain::retry::RetrySettings;
use crate::chain::{ChainClient, ChainError};

/// A bundler endpoint.
#[derive(Debug, Clone)]
pub struct BundlerClient {
    url: Url,
    reads: ChainClient,
    sends: RpcClient,
}

/// `maxFeePerGas` and `maxPriorityFeePerGas`, in wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasPrice {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

/// What `eth_getUserOperationReceipt` says about an included operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpReceipt {
    pub success: bool,
    pub actual_gas_cost: U256,
    pub tx_hash: B256,
    pub block: u64,
}

impl BundlerClient {
    /// A client with a per-request `timeout`; reads are retried up to `max_retries` times.
    pub fn new(url: Url, timeout: Duration, max_retries: u32) -> Self {
        let settings = |max_retries| RetrySettings {
            timeout,
            max_retries,
            ..RetrySettings::default()
        };
        Self {
            reads: ChainClient::new(url.clone(), settings(max_retries)),
            sends: rpc_client(url.clone(), settings(0)),
            url,
        }
    }

    /// The endpoint, for messages.
    pub fn url(&self) -> &Url {
        &self.url
    }

    fn err(&self, method: &'static str, message: impl ToString) -> ProbeError {
        ProbeError::Bundler {
            url: self.url.to_string(),
            method,
            message: message.to_string(),
        }
    }

    async fn read(&self, method: &'static str, params: Value) -> Result<Value, ProbeError> {
        self.reads
            .provider()
            .raw_request::<_, Value>(method.into(), params)
            .await
            .map_err(|e| self.err(method, e))
    }

    /// Chain id, supported EntryPoints and latency (the shared bundler probe).
    pub async fn health(&self) -> Result<BundlerHealth, ProbeError> {
        bundler::probe(&self.reads).await.map_err(|e| match e {
            ChainError::Rpc { method, source, .. } => self.err(method, source),
            other => self.err("eth_chainId", other),
        })
    }

    /// `pimlico_getUserOperationGasPrice`, the `fast` tier.
    pub async fn pimlico_gas_price(&self) -> Result<GasPrice, ProbeError> {
        let method = "pimlico_getUserOperationGasPrice";
        let v = self.read(method, serde_json::json!([])).await?;
        let fast = &v["fast"];
        Ok(GasPrice {
            max_fee_per_gas: self.u128_field(method, fast, "maxFeePerGas")?,
            max_priority_fee_per_gas: self.u128_field(method, fast, "maxPriorityFeePerGas")?,
        })
    }

    /// `eth_estimateUserOperationGas`; paymaster limits fall back to `fallback` when the answer lacks them.
    pub async fn estimate_gas(
        &self,
        op: &UserOperation,
        entrypoint: Address,
        fallback: &GasLimits,
    ) -> Result<GasLimits, ProbeError> {
        let method = "eth_estimateUserOperationGas";
        let v = self
            .read(method, serde_json::json!([op.to_rpc(), entrypoint]))
            .await?;
        let opt = |field: &str, default: u128| match v.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(_) => self.u128_field(method, &v, field),
        };
        Ok(GasLimits {
            call_gas_limit: self.u128_field(method, &v, "callGasLimit")?,
            verification_gas_limit: self.u128_field(method, &v, "verificationGasLimit")?,
            pre_verification_gas: self.u128_field(method, &v, "preVerificationGas")?,
            paymaster_verification_gas_limit: opt(
                "paymasterVerificationGasLimit",
                fallback.paymaster_verification_gas_limit,
            )?,
            paymaster_post_op_gas_limit: opt(
                "paymasterPostOpGasLimit",
                fallback.paymaster_post_op_gas_limit,
            )?,
        })
    }

    /// `eth_sendUserOperation`: the userOpHash the bundler accepted.
    pub async fn send(&self, op: &UserOperation, entrypoint: Address) -> Result<B256, ProbeError> {
        let method = "eth_sendUserOperation";
        self.sends
            .request::<_, B256>(method, serde_json::json!([op.to_rpc(), entrypoint]))
            .await
            .map_err(|e| self.err(method, e))
    }

    /// `eth_getUserOperationReceipt`: `None` while the operation is not included.
    pub async fn receipt(&self, hash: B256) -> Result<Option<OpReceipt>, ProbeError> {
        let method = "eth_getUserOperationReceipt";
        let v = self.read(method, serde_json::json!([hash])).await?;
        if v.is_null() {
            return Ok(None);
        }
        let success = v["success"]
            .as_bool()
            .ok_or_else(|| self.err(method, format!("no boolean `success` in {v}")))?;
        let tx_hash = serde_json::from_value::<B256>(v["receipt"]["transactionHash"].clone())
            .map_err(|e| self.err(method, format!("receipt.transactionHash: {e}")))?;
        let block = coerce_u256(&v["receipt"]["blockNumber"])
            .and_then(to_u64)
            .map_err(|e| self.err(method, format!("receipt.blockNumber: {e}")))?;
        let actual_gas_cost = coerce_u256(&v["actualGasCost"])
            .map_err(|e| self.err(method, format!("actualGasCost: {e}")))?;
        Ok(Some(OpReceipt {
            success,
            actual_gas_cost,
            tx_hash,
            block,
        }))
    }

    fn u128_field(&self, method: &'static str, v: &Value, field: &str) -> Result<u128, ProbeError> {
        coerce_u256(&v[field])
            .and_then(to_u128)
            .map_err(|e| self.err(method, format!("{field}: {e}")))
    }
}
