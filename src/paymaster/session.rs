//! [`Session`]: one signer on one provider handle. Every read and the send of one operation (a top-up, an
//! admin write) go through the same handle, so they all see the same node; the chain id is checked on it
//! before anything is signed. Transactions are signed locally (alloy local signer) so their hash is known
//! before they are sent.

use std::time::{Duration, Instant};

use alloy::consensus::TxEnvelope;
use alloy::eips::BlockNumberOrTag;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::state::{AccountOverride, StateOverride};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use tokio_util::sync::CancellationToken;

use super::OpsError;
use crate::backoff::{self, Backoff};
use crate::chain::bindings::IEntryPoint;
use crate::chain::{ChainClient, ChainError};

/// How often a wait polls the node: soon at first, then at most every second.
pub const POLL: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));

/// A signer bound to one provider handle and a checked chain id.
#[derive(Clone)]
pub struct Session {
    provider: DynProvider,
    url: String,
    wallet: EthereumWallet,
    /// The signer's address.
    pub from: Address,
    /// The chain id the node reported (equal to the configured one when there is one).
    pub chain_id: u64,
}

/// The fee of a transaction about to be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    /// What the next block needs at least: the latest base fee plus the priority fee.
    pub required: u128,
}

/// A signed transaction, not yet sent.
pub struct Signed {
    pub hash: B256,
    pub nonce: u64,
    raw: Vec<u8>,
}

/// How a wait for a transaction ended.
pub enum Mined {
    /// Mined with the asked confirmations.
    Yes(Box<TransactionReceipt>),
    /// Not mined (or not confirmed) within the wait.
    No,
    /// Never will be: another transaction of the signer was mined with its nonce.
    NonceUsed,
    Cancelled,
}

impl Session {
    /// Binds `signer` to one URL of the client (the healthiest now: the whole session goes there, never
    /// failing over between a nonce read and a send) and checks the chain id first.
    pub async fn open(
        client: &ChainClient,
        signer: PrivateKeySigner,
        expected_chain_id: Option<u64>,
    ) -> Result<Session, OpsError> {
        let client = &client.pinned();
        let chain_id = client.check_chain_id(expected_chain_id).await?;
        Ok(Session {
            provider: client.provider().clone(),
            url: client.url().to_string(),
            from: signer.address(),
            wallet: EthereumWallet::from(signer),
            chain_id,
        })
    }

    fn rpc(
        &self,
        method: &'static str,
    ) -> impl Fn(alloy::transports::TransportError) -> OpsError + '_ {
        move |source| {
            OpsError::Chain(ChainError::Rpc {
                url: self.url.clone(),
                method,
                source,
            })
        }
    }

    /// A contract call failure, naming what was called.
    pub fn call_err(&self, what: impl Into<String>, message: impl ToString) -> OpsError {
        OpsError::Chain(ChainError::Call {
            url: self.url.clone(),
            what: what.into(),
            message: message.to_string(),
        })
    }

    /// The provider handle (for contract reads).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The signer's latest (mined) and pending nonces.
    pub async fn nonces(&self) -> Result<(u64, u64), OpsError> {
        let latest = self
            .provider
            .get_transaction_count(self.from)
            .latest()
            .await
            .map_err(self.rpc("eth_getTransactionCount"))?;
        let pending = self
            .provider
            .get_transaction_count(self.from)
            .pending()
            .await
            .map_err(self.rpc("eth_getTransactionCount"))?;
        Ok((latest, pending))
    }

    /// ETH balance, wei.
    pub async fn balance(&self, who: Address) -> Result<U256, OpsError> {
        self.provider
            .get_balance(who)
            .await
            .map_err(self.rpc("eth_getBalance"))
    }

    /// `EntryPoint.balanceOf(account)`.
    pub async fn deposit(&self, entrypoint: Address, account: Address) -> Result<U256, OpsError> {
        IEntryPoint::new(entrypoint, &self.provider)
            .balanceOf(account)
            .call()
            .await
            .map_err(|e| self.call_err(format!("EntryPoint {entrypoint} balanceOf({account})"), e))
    }

    /// The network's fee suggestion, capped at `cap` (wei per gas) when given; `Err` carries the
    /// network's requirement when it is above the cap.
    pub async fn fees(&self, cap: Option<u128>) -> Result<Result<Fees, Fees>, OpsError> {
        let est = self
            .provider
            .estimate_eip1559_fees()
            .await
            .map_err(self.rpc("eth_feeHistory"))?;
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(self.rpc("eth_getBlockByNumber"))?;
        let base = block
            .and_then(|b| b.header.base_fee_per_gas)
            .map_or(0, u128::from);
        let required = base + est.max_priority_fee_per_gas;
        let mut fees = Fees {
            max_fee_per_gas: est.max_fee_per_gas.max(required),
            max_priority_fee_per_gas: est.max_priority_fee_per_gas,
            required,
        };
        if let Some(cap) = cap {
            if required > cap {
                return Ok(Err(fees));
            }
            fees.max_fee_per_gas = fees.max_fee_per_gas.min(cap);
        }
        Ok(Ok(fees))
    }

    /// A transaction from the signer.
    pub fn tx(&self, to: Address, value: U256, input: Bytes) -> TransactionRequest {
        TransactionRequest::default()
            .with_from(self.from)
            .with_to(to)
            .with_value(value)
            .with_input(input)
            .with_chain_id(self.chain_id)
    }

    /// Gas for `tx`. When the signer cannot pay its value yet, the estimate runs with the signer's
    /// balance raised by a state override (the node must support it), so a shortfall can still be priced.
    pub async fn estimate_gas(
        &self,
        tx: &TransactionRequest,
        balance: U256,
    ) -> Result<u64, OpsError> {
        let value = tx.value.unwrap_or_default();
        let call = self.provider.estimate_gas(tx.clone());
        let call = if balance < value {
            let mut overrides = StateOverride::default();
            overrides.insert(
                self.from,
                AccountOverride {
                    balance: Some(value.saturating_mul(U256::from(2u8))),
                    ..Default::default()
                },
            );
            call.overrides(overrides)
        } else {
            call
        };
        call.await.map_err(|e| {
            self.call_err(
                format!(
                    "eth_estimateGas of a call to {}",
                    tx.to.and_then(|t| t.to().copied()).unwrap_or_default()
                ),
                e,
            )
        })
    }

    /// Signs `tx` with `nonce`, `gas` and `fees`.
    pub async fn sign(
        &self,
        tx: TransactionRequest,
        nonce: u64,
        gas: u64,
        fees: Fees,
    ) -> Result<Signed, OpsError> {
        let envelope: TxEnvelope = tx
            .with_nonce(nonce)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas)
            .build(&self.wallet)
            .await
            .map_err(|e| OpsError::Sign(e.to_string()))?;
        Ok(Signed {
            hash: *envelope.tx_hash(),
            nonce,
            raw: envelope.encoded_2718(),
        })
    }

    /// Sends a signed transaction. A node that already has it ("already known") counts as sent.
    pub async fn send(&self, signed: &Signed) -> Result<(), OpsError> {
        match self.provider.send_raw_transaction(&signed.raw).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().to_lowercase().contains("already known") => Ok(()),
            Err(e) => Err(self.rpc("eth_sendRawTransaction")(e)),
        }
    }

    /// The receipt of `hash`, if mined.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, OpsError> {
        self.provider
            .get_transaction_receipt(hash)
            .await
            .map_err(self.rpc("eth_getTransactionReceipt"))
    }

    /// Whether the node knows `hash` (pending or mined).
    pub async fn known(&self, hash: B256) -> Result<bool, OpsError> {
        Ok(self
            .provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(self.rpc("eth_getTransactionByHash"))?
            .is_some())
    }

    /// Waits at most `wait` for `signed` to be mined with `confirmations` blocks (1: mined). Stops early
    /// when another transaction of the signer was mined with the same nonce.
    pub async fn wait_mined(
        &self,
        signed: &Signed,
        confirmations: u64,
        wait: Duration,
        cancel: &CancellationToken,
    ) -> Result<Mined, OpsError> {
        let deadline = Instant::now() + wait;
        let mut delays = POLL.delays();
        loop {
            match self.receipt(signed.hash).await? {
                Some(r) => {
                    let mined_in = r.block_number.unwrap_or_default();
                    let head = self
                        .provider
                        .get_block_number()
                        .await
                        .map_err(self.rpc("eth_blockNumber"))?;
                    if head + 1 >= mined_in + confirmations.max(1) {
                        return Ok(Mined::Yes(Box::new(r)));
                    }
                }
                None => {
                    let (latest, _) = self.nonces().await?;
                    if latest > signed.nonce && self.receipt(signed.hash).await?.is_none() {
                        return Ok(Mined::NonceUsed);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(Mined::No);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !backoff::sleep(delays.next_delay().min(left), cancel).await {
                return Ok(Mined::Cancelled);
            }
        }
    }
}
