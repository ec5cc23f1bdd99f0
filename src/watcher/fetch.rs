//! Fetching: `eth_getLogs` over a block range (split by the URL's learned range cap, see
//! [`RangeCaps`]), then the block timestamps the logs lack and the sender of
//! each transaction with a `UserOperationEvent`, both as batched JSON-RPC requests, then decoding.
//!
//! [`Fetcher::fetch_range`] is self-contained so the indexer can run several ranges at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, U64};
use alloy::providers::Provider;
use alloy::rpc::client::BatchRequest;
use alloy::rpc::json_rpc::{RpcRecv, RpcSend};
use alloy::rpc::types::{Filter, Log};
use alloy::transports::TransportError;
use serde::Deserialize;

use super::WatcherError;
use super::checkpoint::BlockRef;
use super::record::{LogMeta, Record, decode_args};
use super::sources::{Router, Source};
use crate::chain::ChainClient;
use crate::chain::range_caps::{RangeCapRecord, RangeCaps};
use crate::chain::range_limit::range_limit;

/// Calls per JSON-RPC batch.
const BATCH: usize = 100;

/// What one fetched range yields.
#[derive(Debug)]
pub struct RangeBatch {
    pub to: u64,
    /// The last block of the range and its hash.
    pub end: BlockRef,
    /// Decoded records in canonical order.
    pub records: Vec<Record>,
}

/// Fetches and decodes ranges; cheap to clone into concurrent tasks.
#[derive(Clone)]
pub struct Fetcher {
    client: ChainClient,
    chain_id: u64,
    sources: Arc<Vec<Source>>,
    router: Arc<Router>,
    addresses: Vec<Address>,
    topics: Vec<B256>,
    starts: Arc<Vec<u64>>,
    /// The learned range caps of every URL.
    pub caps: Arc<RangeCaps>,
}

#[derive(Debug, Deserialize)]
struct HeaderLite {
    hash: B256,
    timestamp: U64,
}

#[derive(Debug, Deserialize)]
struct TxLite {
    from: Address,
}

impl Fetcher {
    /// `starts[i]` is the first block of `sources[i]` (earlier logs are ignored).
    pub fn new(
        client: ChainClient,
        chain_id: u64,
        sources: Vec<Source>,
        starts: Vec<u64>,
        max_block_range: u64,
        known_caps: &BTreeMap<String, RangeCapRecord>,
    ) -> Fetcher {
        let router = Router::new(&sources);
        Fetcher {
            addresses: Router::filter_addresses(&sources),
            topics: Router::filter_topics(&sources),
            router: Arc::new(router),
            sources: Arc::new(sources),
            starts: Arc::new(starts),
            client,
            chain_id,
            caps: Arc::new(RangeCaps::new(max_block_range, known_caps)),
        }
    }

    /// This fetcher on one URL (the healthiest now), for one consistent sequence: a pass's head, reorg
    /// check, log ranges and block hashes all come from the same node.
    pub fn pinned(&self) -> Fetcher {
        Fetcher {
            client: self.client.pinned(),
            ..self.clone()
        }
    }

    /// The redacted URL this fetcher's requests go to (now).
    pub fn client_key(&self) -> &str {
        self.client.key()
    }

    /// The blocks per request known to work on this fetcher's URL.
    pub fn range(&self) -> u64 {
        self.caps.safe(self.client.key())
    }

    /// The size of the ranges to hand to concurrent fetches, at most `chunk`: a multiple of the URL's
    /// known-good size so no request is wasted on a remainder; waits for the first answer while nothing is
    /// known about the URL and a request is finding out.
    pub async fn chunk(&self, chunk: u64, first: bool) -> u64 {
        let key = self.client.key();
        if !first {
            self.caps.wait_known(key).await;
        }
        let safe = self.caps.safe(key).max(1);
        if safe >= chunk {
            chunk.max(1)
        } else {
            safe * (chunk / safe).max(1)
        }
    }

    fn rpc_err(&self, method: &'static str) -> impl Fn(TransportError) -> WatcherError + '_ {
        move |e| WatcherError::Rpc {
            url: self.client.url().to_string(),
            method,
            message: e.to_string(),
        }
    }

    /// `eth_blockNumber`.
    pub async fn head(&self) -> Result<u64, WatcherError> {
        self.client
            .provider()
            .get_block_number()
            .await
            .map_err(self.rpc_err("eth_blockNumber"))
    }

    /// One `method` call per key, [`BATCH`] calls per JSON-RPC batch request, the batches concurrently;
    /// each key with its answer (`None` where the node knows nothing).
    async fn batched<K, P, R>(
        &self,
        method: &'static str,
        keys: &[K],
        params: impl Fn(K) -> P,
    ) -> Result<Vec<(K, Option<R>)>, WatcherError>
    where
        K: Copy,
        P: RpcSend,
        Option<R>: RpcRecv,
    {
        let params = &params;
        let chunks = keys.chunks(BATCH).map(|chunk| async move {
            let mut batch = BatchRequest::new(self.client.provider().client());
            let mut waiters = Vec::with_capacity(chunk.len());
            for k in chunk {
                let w = batch
                    .add_call::<_, Option<R>>(method, &params(*k))
                    .map_err(self.rpc_err(method))?;
                waiters.push((*k, w));
            }
            batch.send().await.map_err(self.rpc_err(method))?;
            let mut got = Vec::with_capacity(chunk.len());
            for (k, w) in waiters {
                got.push((k, w.await.map_err(self.rpc_err(method))?));
            }
            Ok::<_, WatcherError>(got)
        });
        let answers = futures::future::try_join_all(chunks).await?;
        Ok(answers.into_iter().flatten().collect())
    }

    /// Hashes (and timestamps) of blocks, batched; a block the node does not know is absent.
    pub async fn headers(
        &self,
        numbers: &[u64],
    ) -> Result<HashMap<u64, (B256, u64)>, WatcherError> {
        let got = self
            .batched("eth_getBlockByNumber", numbers, |n| {
                (BlockNumberOrTag::Number(n), false)
            })
            .await?;
        Ok(got
            .into_iter()
            .filter_map(|(n, h): (u64, Option<HeaderLite>)| {
                h.map(|h| (n, (h.hash, h.timestamp.to::<u64>())))
            })
            .collect())
    }

    /// The sender of each transaction, batched.
    async fn tx_senders(&self, txs: &[B256]) -> Result<HashMap<B256, Address>, WatcherError> {
        let got = self
            .batched("eth_getTransactionByHash", txs, |h| (h,))
            .await?;
        got.into_iter()
            .map(|(h, tx): (B256, Option<TxLite>)| match tx {
                Some(tx) => Ok((h, tx.from)),
                None => Err(WatcherError::Rpc {
                    url: self.client.url().to_string(),
                    method: "eth_getTransactionByHash",
                    message: format!("the node does not know transaction {h}"),
                }),
            })
            .collect()
    }

    /// `eth_getLogs` for `[from, to]`, split by the URL's learned cap (see [`RangeCaps`]).
    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Log>, WatcherError> {
        let key = self.client.key();
        let mut all = Vec::new();
        let mut start = from;
        while start <= to {
            let planned = self.caps.plan(key, to - start + 1).await;
            let size = planned.size.max(1);
            let end = to.min(start.saturating_add(size - 1));
            let mut filter = Filter::new()
                .from_block(start)
                .to_block(end)
                .event_signature(self.topics.clone());
            if !self.addresses.is_empty() {
                filter = filter.address(self.addresses.clone());
            }
            match self.client.provider().get_logs(&filter).await {
                Ok(logs) => {
                    all.extend(logs);
                    self.caps.accepted(key, end - start + 1);
                    start = end + 1;
                }
                Err(e) => {
                    let text = e.to_string();
                    match range_limit(&text) {
                        Some(limit) if end > start => {
                            let tried = end - start + 1;
                            self.caps.refused(key, tried, limit.announced());
                            tracing::info!(
                                url = %key,
                                from = start,
                                to = end,
                                announced = ?limit.announced(),
                                next_range = self.caps.safe(key),
                                "provider refused the log range; learning its cap"
                            );
                        }
                        _ => return Err(self.rpc_err("eth_getLogs")(e)),
                    }
                }
            }
            drop(planned);
        }
        Ok(all)
    }

    /// Fetches, enriches and decodes `[from, to]`.
    pub async fn fetch_range(&self, from: u64, to: u64) -> Result<RangeBatch, WatcherError> {
        let logs = self.logs(from, to).await?;
        let mut routed = Vec::with_capacity(logs.len());
        let mut need_ts: BTreeSet<u64> = BTreeSet::new();
        let mut need_from: BTreeSet<B256> = BTreeSet::new();
        for log in logs {
            let Some(topic0) = log.topic0().copied() else {
                continue;
            };
            let Some((si, ei)) = self.router.route(log.address(), topic0) else {
                continue;
            };
            let meta = LogMeta::of(&log).map_err(|e| WatcherError::Rpc {
                url: self.client.url().to_string(),
                method: "eth_getLogs",
                message: e.to_string(),
            })?;
            if meta.block_number < self.starts[si] || log.removed {
                continue;
            }
            if log.block_timestamp.is_none() {
                need_ts.insert(meta.block_number);
            }
            if self.sources[si].events[ei].abi.name == "UserOperationEvent" {
                need_from.insert(meta.tx_hash);
            }
            routed.push((si, ei, meta, log));
        }
        let mut blocks: Vec<u64> = need_ts.into_iter().collect();
        blocks.push(to);
        let txs: Vec<B256> = need_from.into_iter().collect();
        let (headers, senders) = tokio::try_join!(self.headers(&blocks), self.tx_senders(&txs))?;
        let Some(&(end_hash, _)) = headers.get(&to) else {
            return Err(WatcherError::Rpc {
                url: self.client.url().to_string(),
                method: "eth_getBlockByNumber",
                message: format!("the node does not know block {to} yet"),
            });
        };
        let mut records = Vec::with_capacity(routed.len());
        let mut seen_hashes: BTreeMap<u64, B256> = BTreeMap::new();
        for (si, ei, meta, log) in routed {
            let spec = &self.sources[si].events[ei];
            let ts = match log.block_timestamp {
                Some(ts) => ts,
                None => match headers.get(&meta.block_number) {
                    Some((hash, ts)) if *hash == meta.block_hash => *ts,
                    _ => return Err(self.changed(meta.block_number)),
                },
            };
            if *seen_hashes
                .entry(meta.block_number)
                .or_insert(meta.block_hash)
                != meta.block_hash
                || (meta.block_number == to && meta.block_hash != end_hash)
            {
                return Err(self.changed(meta.block_number));
            }
            let args = match decode_args(spec, &log) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(
                        source = %self.sources[si].name,
                        event = %spec.abi.name,
                        tx = %meta.tx_hash,
                        log_index = meta.log_index,
                        error = %e,
                        "log does not decode with the configured signature; skipped"
                    );
                    continue;
                }
            };
            records.push(Record {
                chain_id: self.chain_id,
                block_number: meta.block_number,
                block_hash: meta.block_hash,
                block_timestamp: ts,
                tx_hash: meta.tx_hash,
                tx_index: meta.tx_index,
                log_index: meta.log_index,
                address: log.address(),
                source: self.sources[si].name.clone(),
                event: spec.abi.name.clone(),
                args,
                tx_from: senders.get(&meta.tx_hash).copied(),
            });
        }
        records.sort_by_key(Record::position);
        Ok(RangeBatch {
            to,
            end: BlockRef {
                number: to,
                hash: end_hash,
            },
            records,
        })
    }

    fn changed(&self, block: u64) -> WatcherError {
        WatcherError::Rpc {
            url: self.client.url().to_string(),
            method: "eth_getLogs",
            message: format!("block {block} changed while it was being fetched (reorg); retrying"),
        }
    }
}
