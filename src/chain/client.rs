//! [`ChainClient`]: an alloy provider over the URL pool's transport (timeouts, retries, failover), the
//! start-up chain id check of every URL, and `butler chain status`.

use std::sync::Arc;
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
use super::pool::{Pin, Pool, PoolTransport};
use super::retry::RetrySettings;
use crate::config::ChainConfig;

/// A connection to the configured nodes (one URL or several, see [`super::pool`]). Cheap to clone.
#[derive(Clone, Debug)]
pub struct ChainClient {
    provider: DynProvider,
    pool: Arc<Pool>,
    /// Which URLs the calls may go to.
    pin: Pin,
}

/// What `butler chain status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ChainStatus {
    /// The URL the figures below come from (the healthiest), redacted.
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
    /// Every configured URL.
    pub urls: Vec<UrlStatus>,
}

/// One URL in `butler chain status`.
#[derive(Debug, Clone, Serialize)]
pub struct UrlStatus {
    /// Redacted.
    pub url: String,
    /// Answers `eth_blockNumber` and serves the configured chain.
    pub healthy: bool,
    pub head_block: Option<u64>,
    /// Round trip of `eth_blockNumber`, in seconds.
    pub latency_secs: Option<f64>,
    /// Why it is not healthy.
    pub error: Option<String>,
}

impl ChainClient {
    /// Connects to one URL (lazily: no request is made here) with the given timeout and retry settings.
    pub fn new(url: Url, settings: RetrySettings) -> Self {
        Self::with_urls(vec![url], settings)
    }

    /// Connects to several URLs of one chain; calls go to the healthiest and fail over to the others.
    pub fn with_urls(urls: Vec<Url>, settings: RetrySettings) -> Self {
        Self::over(Pool::new(urls, settings), Pin::Free)
    }

    fn over(pool: Arc<Pool>, pin: Pin) -> Self {
        let local = pool
            .endpoints
            .get(pin.current().unwrap_or(0))
            .is_some_and(|e| e.is_local());
        let transport = PoolTransport {
            pool: pool.clone(),
            pin: pin.clone(),
        };
        let client = ClientBuilder::default().transport(transport, local);
        let provider = ProviderBuilder::new().connect_client(client).erased();
        Self {
            provider,
            pool,
            pin,
        }
    }

    /// Connects with the settings of a `[chain]` section.
    pub fn from_config(chain: &ChainConfig) -> Self {
        let settings = RetrySettings {
            timeout: Duration::from_secs_f64(chain.timeout_secs),
            max_retries: chain.max_retries,
            ..RetrySettings::default()
        };
        Self::with_urls(chain.urls(), settings)
    }

    /// A client for one consistent sequence (a log range and its block hashes; a transaction's nonce
    /// read, send and receipt wait): it tries the URL that is healthiest now, fails over only until one URL
    /// answered its first call, and then sends every call there (retried there, never failed over). An
    /// already pinned client is returned as it is.
    pub fn pinned(&self) -> ChainClient {
        match self.pin {
            Pin::Free => {
                self.pool.probe_due();
                Self::over(self.pool.clone(), Pin::sticky(self.pool.best()))
            }
            _ => self.clone(),
        }
    }

    /// A client bound to the `i`-th configured URL.
    pub fn pinned_to(&self, i: usize) -> ChainClient {
        Self::over(self.pool.clone(), Pin::Fixed(i))
    }

    /// The URL pool (health, order), shared by every clone and pin of this client.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// The redacted URL the next call of a pinned client goes to (for an unpinned one: the healthiest).
    pub fn key(&self) -> &str {
        &self.pool.endpoints[self.pin.current().unwrap_or_else(|| self.pool.best())].shown
    }

    /// The provider, for calls this type does not wrap.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// A provider that signs and sends transactions with `signer` (nonce, gas and chain id filled in),
    /// pinned to one URL so the nonce read, the send and the receipt wait see the same node.
    pub fn with_signer(&self, signer: PrivateKeySigner) -> DynProvider {
        let pinned = self.pinned();
        let local = pinned
            .pool
            .endpoints
            .get(pinned.pin.current().unwrap_or(0))
            .is_some_and(|e| e.is_local());
        let transport = PoolTransport {
            pool: pinned.pool.clone(),
            pin: pinned.pin.clone(),
        };
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_client(ClientBuilder::default().transport(transport, local))
            .erased()
    }

    /// The RPC URL for messages, redacted: the URL a pinned client settled on, else every URL joined by
    /// commas.
    pub fn url(&self) -> String {
        match self.pin.fixed() {
            Some(i) => self.pool.endpoints[i].shown.clone(),
            None => self
                .pool
                .endpoints
                .iter()
                .map(|e| e.shown.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// Wraps a transport error with the URL and method.
    pub fn rpc_err(
        &self,
        method: &'static str,
    ) -> impl Fn(alloy::transports::TransportError) -> ChainError + '_ {
        move |source| ChainError::Rpc {
            url: self.url(),
            method,
            source,
        }
    }

    /// Wraps a contract-call failure with the URL and what was called.
    pub fn call_err(&self, what: impl Into<String>, message: impl ToString) -> ChainError {
        ChainError::Call {
            url: self.url(),
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

    /// `eth_chainId` of every URL (one attempt each, concurrently), compared with the configured chain id
    /// when there is one, else with each other. A URL on another chain is an error naming it; a URL that
    /// does not answer is benched and checked when it is probed back. Where no URL answers the one
    /// attempt, the usual retrying call decides. The chain id is kept for the probes.
    pub async fn check_chain_id(&self, expected: Option<u64>) -> Result<u64, ChainError> {
        let indices: Vec<usize> = match self.pin.fixed() {
            Some(i) => vec![i],
            None => (0..self.pool.endpoints.len()).collect(),
        };
        let answers = futures::future::join_all(
            indices
                .iter()
                .map(|&i| async move { (i, self.pool.chain_id_once(i).await) }),
        )
        .await;
        let Some(first) = answers.iter().find_map(|(_, a)| a.as_ref().ok().copied()) else {
            // no URL answered the one attempt: the retrying, failing-over call decides
            let actual = self.chain_id().await?;
            return match expected {
                Some(expected) if expected != actual => Err(ChainError::ChainIdMismatch {
                    url: self.url(),
                    expected,
                    actual,
                }),
                _ => {
                    self.pool.set_chain_id(actual);
                    Ok(actual)
                }
            };
        };
        let reference = expected.unwrap_or(first);
        for (i, answer) in answers {
            let shown = &self.pool.endpoints[i].shown;
            match answer {
                Ok(actual) if actual != reference => {
                    return Err(match expected {
                        Some(expected) => ChainError::ChainIdMismatch {
                            url: shown.clone(),
                            expected,
                            actual,
                        },
                        None => ChainError::UrlsDisagree {
                            url: shown.clone(),
                            reference,
                            actual,
                        },
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(url = %shown, error = %e, "RPC URL does not answer at start; benched and probed back later")
                }
            }
        }
        self.pool.set_chain_id(reference);
        Ok(reference)
    }

    /// ETH balance of an address, in wei.
    pub async fn balance(&self, address: Address) -> Result<alloy::primitives::U256, ChainError> {
        self.provider
            .get_balance(address)
            .await
            .map_err(self.rpc_err("eth_getBalance"))
    }

    /// Everything `butler chain status` shows: the figures of the healthiest URL, fetched concurrently
    /// through it, and every URL's head, latency and health.
    pub async fn status(&self) -> Result<ChainStatus, ChainError> {
        let urls = self.url_statuses().await;
        let pinned = self.pinned();
        let mut status = pinned.head_status().await?;
        status.urls = urls;
        Ok(status)
    }

    /// `eth_blockNumber` of every URL, concurrently, with its round trip and the URL's health.
    pub async fn url_statuses(&self) -> Vec<UrlStatus> {
        let checks = (0..self.pool.endpoints.len()).map(|i| async move {
            let c = self.pinned_to(i);
            let started = Instant::now();
            let head = c.provider.get_block_number().await;
            let latency = started.elapsed().as_secs_f64();
            let h = self.pool.health(i);
            let (head_block, latency_secs, error) = match head {
                Ok(n) => (Some(n), Some(latency), None),
                Err(e) => (None, None, Some(e.to_string())),
            };
            let error = match h.wrong_chain {
                Some(actual) => Some(format!("serves chain id {actual}, not the configured one")),
                None => error,
            };
            UrlStatus {
                url: self.pool.endpoints[i].shown.clone(),
                healthy: error.is_none(),
                head_block,
                latency_secs,
                error,
            }
        });
        futures::future::join_all(checks).await
    }

    async fn head_status(&self) -> Result<ChainStatus, ChainError> {
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
                url: self.url(),
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
            rpc_url: self.url(),
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
            urls: Vec::new(),
        })
    }
}
