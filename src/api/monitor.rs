//! The API's health monitor: a background task that probes the chain RPC, the configured paymasters'
//! deposits and the configured bundlers (the shared probe of [`crate::chain::bundler`]: `eth_chainId`,
//! `eth_supportedEntryPoints`) every `[api] monitor_interval_secs`, so the health, status and bundler
//! endpoints answer from a snapshot without waiting on any RPC.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider as _;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::settings::{BundlerTarget, PaymasterTarget};
use crate::chain::retry::RetrySettings;
use crate::chain::{ChainClient, bundler};
use crate::paymaster::{PaymasterStatus, paymaster_status};

/// How often and how patiently to probe.
#[derive(Debug, Clone, Copy)]
pub struct MonitorSettings {
    pub interval: Duration,
    pub timeout: Duration,
}

/// The chain RPC as last probed.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainProbe {
    pub up: bool,
    pub chain_id: Option<u64>,
    pub head_block: Option<u64>,
    pub error: Option<String>,
    /// Unix milliseconds of the probe.
    pub checked_ms: u64,
}

/// A bundler as last probed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BundlerProbe {
    pub id: String,
    pub name: String,
    pub rpc_url: String,
    /// `UP` or `DOWN` (configured bundlers are never `STOPPED`).
    pub status: String,
    pub chain_id: Option<u64>,
    pub supported_entry_points: Vec<String>,
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
    /// Unix milliseconds of the last successful probe.
    pub last_seen_ms: Option<u64>,
    pub checked_ms: u64,
}

/// A paymaster as last probed.
#[derive(Debug, Clone)]
pub struct PaymasterProbe {
    pub target: PaymasterTarget,
    pub status: Result<PaymasterStatus, String>,
}

impl PaymasterProbe {
    /// Whether the deposit is known to be below `min_deposit_eth`.
    pub fn deposit_low(&self) -> bool {
        match (&self.status, &self.target.min_deposit_wei) {
            (Ok(s), Some(min)) => s.deposit_wei < *min,
            _ => false,
        }
    }

    /// The deposit, when known.
    pub fn deposit(&self) -> Option<U256> {
        self.status.as_ref().ok().map(|s| s.deposit_wei)
    }
}

/// Everything the monitor knows.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// `None` when no `[chain]` is configured.
    pub chain: Option<ChainProbe>,
    pub bundlers: Vec<BundlerProbe>,
    pub paymasters: Vec<PaymasterProbe>,
    /// Whether a first round of probes has completed.
    pub ready: bool,
}

/// The shared snapshot.
pub type SharedSnapshot = Arc<RwLock<Snapshot>>;

/// Probes until `cancel` fires.
pub async fn run(
    snapshot: SharedSnapshot,
    chain: Option<ChainClient>,
    paymasters: Vec<PaymasterTarget>,
    bundlers: Vec<BundlerTarget>,
    settings: MonitorSettings,
    cancel: CancellationToken,
) {
    // one attempt per round, bounded by the monitor's timeout: the next round is the retry
    let retry = RetrySettings {
        timeout: settings.timeout,
        max_retries: 0,
        ..RetrySettings::default()
    };
    let clients: Vec<(BundlerTarget, ChainClient)> = bundlers
        .into_iter()
        .map(|b| {
            let client = ChainClient::new(b.rpc_url.clone(), retry);
            (b, client)
        })
        .collect();
    loop {
        let (chain_probe, bundler_probes, pm_probes) = tokio::join!(
            probe_chain(chain.as_ref(), settings.timeout),
            futures::future::join_all(clients.iter().map(|(b, c)| probe_bundler(
                b,
                c,
                settings.timeout
            ))),
            futures::future::join_all(paymasters.iter().map(|p| probe_paymaster(
                chain.as_ref(),
                p,
                settings.timeout
            ))),
        );
        {
            let mut s = snapshot.write().unwrap_or_else(|p| p.into_inner());
            let previous: Vec<BundlerProbe> = std::mem::take(&mut s.bundlers);
            s.bundlers = bundler_probes
                .into_iter()
                .map(|mut b| {
                    if b.last_seen_ms.is_none() {
                        b.last_seen_ms = previous
                            .iter()
                            .find(|p| p.id == b.id)
                            .and_then(|p| p.last_seen_ms);
                    }
                    b
                })
                .collect();
            s.chain = chain_probe;
            s.paymasters = pm_probes;
            s.ready = true;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(settings.interval) => {}
        }
    }
}

async fn probe_chain(chain: Option<&ChainClient>, timeout: Duration) -> Option<ChainProbe> {
    let client = chain?;
    let checked_ms = crate::telemetry::now_ms();
    let probe = async {
        let (id, head) = tokio::join!(client.chain_id(), client.provider().get_block_number());
        (id, head)
    };
    Some(match tokio::time::timeout(timeout, probe).await {
        Ok((Ok(id), Ok(head))) => ChainProbe {
            up: true,
            chain_id: Some(id),
            head_block: Some(head),
            error: None,
            checked_ms,
        },
        Ok((Err(e), _)) => down(e.to_string(), checked_ms),
        Ok((_, Err(e))) => down(format!("eth_blockNumber: {e}"), checked_ms),
        Err(_) => down(
            format!("no answer within {} s", timeout.as_secs_f64()),
            checked_ms,
        ),
    })
}

fn down(error: String, checked_ms: u64) -> ChainProbe {
    ChainProbe {
        up: false,
        chain_id: None,
        head_block: None,
        error: Some(error),
        checked_ms,
    }
}

async fn probe_paymaster(
    chain: Option<&ChainClient>,
    p: &PaymasterTarget,
    timeout: Duration,
) -> PaymasterProbe {
    let status = match chain {
        None => Err("no [chain] configured".to_string()),
        Some(c) => match tokio::time::timeout(
            timeout,
            paymaster_status(c, &p.name, p.address, p.entrypoint),
        )
        .await
        {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs_f64())),
        },
    };
    PaymasterProbe {
        target: p.clone(),
        status,
    }
}

async fn probe_bundler(b: &BundlerTarget, client: &ChainClient, timeout: Duration) -> BundlerProbe {
    let checked_ms = crate::telemetry::now_ms();
    let answer = match tokio::time::timeout(timeout, bundler::probe(client)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs_f64())),
    };
    let (up, chain_id, supported, latency_ms, error) = match answer {
        Ok(h) => (
            true,
            Some(h.chain_id),
            h.supported_entry_points
                .iter()
                .map(|a| a.to_checksum(None))
                .collect(),
            Some(u64::try_from(h.latency.as_millis()).unwrap_or(u64::MAX)),
            None,
        ),
        Err(e) => (false, None, Vec::new(), None, Some(e)),
    };
    BundlerProbe {
        id: b.name.clone(),
        name: b.name.clone(),
        rpc_url: b.rpc_url.to_string(),
        status: if up { "UP" } else { "DOWN" }.to_string(),
        chain_id,
        supported_entry_points: supported,
        latency_ms,
        error,
        last_seen_ms: up.then_some(checked_ms),
        checked_ms,
    }
}
