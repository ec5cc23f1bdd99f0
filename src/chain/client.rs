//! [`ChainClient`]: an alloy provider behind the retry/timeout layer, bound to one RPC URL.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy::eips::BlockNumberOrTag;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U64};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::types::SyncStatus;
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;
use url::Url;

use super::ChainError;
use super::retry::{RetryLayer, RetrySettings};
use crate::config::ChainConfig;

/// A connection to one node. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ChainClient {
    provider: DynProvider,
    url: Url,
    settings: RetrySettings,
}

/// What `butler chain status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ChainStatus {
    pub rpc_url: String,
    pub chain_id: u64,
    pub head_block: u64,
    pub head_block_hash: String,
    pub head_timestamp: u64,
    /// Seconds between the head block's timestamp and now (negative when the node's clock runs ahead).
    pub head_age_secs: i64,
    /// Wei, as a decimal string.
    pub gas_price_wei: String,
    /// Wei, as a decimal string; `None` before London.
    pub base_fee_wei: Option<String>,
    pub syncing: bool,
    /// `None` where the node does not answer `net_peerCount`.
    pub peer_count: Option<u64>,
    pub client_version: Option<String>,
    /// Round trip of `eth_blockNumber`, in seconds.
    pub rpc_latency_secs: f64,
}

impl ChainClient {
    /// Connects (lazily: no request is made here) with the given timeout and retry settings.
    pub fn new(url: Url, settings: RetrySettings) -> Self {
        let client = ClientBuilder::default()
            .layer(RetryLayer(settings))
            .http(url.clone());
        let provider = ProviderBuilder::new().connect_client(client).erased();
        Self {
            provider,
            url,
            settings,
        }
    }

    /// Connects with the settings of a `[chain]` section.
    pub fn from_config(chain: &ChainConfig) -> Self {
        let settings = RetrySettings {
            timeout: Duration::from_secs_f64(chain.timeout_secs),
            max_retries: chain.max_retries,
            ..RetrySettings::default()
        };
        Self::new(chain.rpc_url.clone(), settings)
    }

    /// The provider, for calls this type does not wrap.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// A provider that signs and sends transactions with `signer` (nonce, gas and chain id filled in).
    pub fn with_signer(&self, signer: PrivateKeySigner) -> DynProvider {
        let client = ClientBuilder::default()
            .layer(RetryLayer(self.settings))
            .http(self.url.clone());
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_client(client)
            .erased()
    }

    /// The RPC URL, for messages.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Wraps a transport error with the URL and method.
    pub fn rpc_err(
        &self,
        method: &'static str,
    ) -> impl Fn(alloy::transports::TransportError) -> ChainError + '_ {
        move |source| ChainError::Rpc {
            url: self.url.to_string(),
            method,
            source,
        }
    }

    /// Wraps a contract-call failure with the URL and what was called.
    pub fn call_err(&self, what: impl Into<String>, message: impl ToString) -> ChainError {
        ChainError::Call {
            url: self.url.to_string(),
            what: what.into(),
            message: message.to_string(),
        }
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.provider
            .get_chain_id()
            .await
            .map_err(self.rpc_err("eth_chainId"))
    }

    /// `eth_chainId`, compared with the configured chain id when there is one.
    pub async fn check_chain_id(&self, expected: Option<u64>) -> Result<u64, ChainError> {
        let actual = self.chain_id().await?;
        match expected {
            Some(expected) if expected != actual => Err(ChainError::ChainIdMismatch {
                url: self.url.to_string(),
                expected,
                actual,
            }),
            _ => Ok(actual),
        }
    }

    /// ETH balance of an address, in wei.
    pub async fn balance(&self, address: Address) -> Result<alloy::primitives::U256, ChainError> {
        self.provider
            .get_balance(address)
            .await
            .map_err(self.rpc_err("eth_getBalance"))
    }

    /// Everything `butler chain status` shows, fetched concurrently.
    pub async fn status(&self) -> Result<ChainStatus, ChainError> {
        let started = Instant::now();
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(self.rpc_err("eth_blockNumber"))?;
        let latency = started.elapsed().as_secs_f64();
        let (chain_id, block, gas_price, syncing, peers, version) = tokio::join!(
            self.chain_id(),
            self.provider
                .get_block_by_number(BlockNumberOrTag::Number(head)),
            self.provider.get_gas_price(),
            self.provider.syncing(),
            self.provider
                .raw_request::<_, U64>("net_peerCount".into(), ()),
            self.provider.get_client_version(),
        );
        let chain_id = chain_id?;
        let block = block
            .map_err(self.rpc_err("eth_getBlockByNumber"))?
            .ok_or_else(|| ChainError::Invalid {
                url: self.url.to_string(),
                message: format!("block {head} (the reported head) is unknown to the node"),
            })?;
        let gas_price = gas_price.map_err(self.rpc_err("eth_gasPrice"))?;
        let syncing = !matches!(
            syncing.map_err(self.rpc_err("eth_syncing"))?,
            SyncStatus::None
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let ts = block.header.timestamp;
        Ok(ChainStatus {
            rpc_url: self.url.to_string(),
            chain_id,
            head_block: head,
            head_block_hash: block.header.hash.to_string(),
            head_timestamp: ts,
            head_age_secs: now as i64 - ts as i64,
            gas_price_wei: gas_price.to_string(),
            base_fee_wei: block.header.base_fee_per_gas.map(|b| b.to_string()),
            syncing,
            peer_count: peers.ok().map(|p| p.to::<u64>()),
            client_version: version.ok(),
            rpc_latency_secs: latency,
        })
    }
}
