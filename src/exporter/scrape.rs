//! One scrape: every target (the chain, each paymaster, each bundler) collected in parallel, each bounded by
//! the per-target timeout; a failed target is recorded, never propagated, so the scrape always completes.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::aztec::{self, AztecSample};
use super::bundler::{self, BundlerSample};
use super::chain::{self, ChainSample};
use super::paymaster::{self, PaymasterSample};
use super::rpc_probe::ProbeError;
use super::{ExporterError, ExporterSettings};
use crate::chain::ChainClient;
use crate::chain::retry::RetrySettings;

/// The result of one scrape, in the order of the settings' targets.
#[derive(Debug)]
pub struct Scrape {
    pub chain: Result<ChainSample, ExporterError>,
    pub paymasters: Vec<Result<PaymasterSample, ExporterError>>,
    pub bundlers: Vec<Result<BundlerSample, ExporterError>>,
    /// The value of each `[[exporter.probes]]` entry.
    pub probes: Vec<Result<f64, ProbeError>>,
    /// `None` without an `[aztec]` section.
    pub aztec: Option<Result<AztecSample, ExporterError>>,
    /// Wall time of each collector, in seconds: (`chain`, `paymaster`, `bundler`, `aztec`).
    pub durations: [(&'static str, f64); 4],
    /// The top-up audit file's state, by paymaster name.
    pub topup: std::collections::BTreeMap<String, super::topup::TopupSample>,
}

/// Long-lived state of the exporter: the settings and one client per endpoint.
pub struct Collectors {
    pub settings: ExporterSettings,
    chain: ChainClient,
    bundlers: Vec<ChainClient>,
    /// The chain id last read from the chain RPC (0: not yet), the bundlers' reference when none is configured.
    seen_chain_id: AtomicU64,
}

impl Collectors {
    /// Clients for every endpoint; no request is made here. Requests are not retried within a scrape (the
    /// next scrape is the retry) and each is bounded by the per-target timeout.
    pub fn new(settings: ExporterSettings) -> Self {
        let rpc = RetrySettings {
            timeout: settings.target_timeout,
            max_retries: 0,
            ..RetrySettings::default()
        };
        let chain = ChainClient::with_urls(settings.rpc_urls.clone(), rpc);
        let bundlers = settings
            .bundlers
            .iter()
            .map(|b| ChainClient::new(b.rpc_url.clone(), rpc))
            .collect();
        Self {
            settings,
            chain,
            bundlers,
            seen_chain_id: AtomicU64::new(0),
        }
    }

    /// Collects every target in parallel.
    pub async fn scrape(&self) -> Scrape {
        let s = &self.settings;
        let timeout = s.target_timeout;
        let expected_bundler_chain =
            s.chain_id
                .or(match self.seen_chain_id.load(Ordering::Relaxed) {
                    0 => None,
                    id => Some(id),
                });
        let window = OnceCell::new();
        let scope = paymaster::Scope {
            window_blocks: s.spend_window_blocks,
            max_range: s.max_block_range,
            chain_id: s.chain_id,
        };
        let chain = timed(bounded("chain RPC".to_string(), timeout, async {
            chain::collect(&self.chain, s.chain_id).await
        }));
        let paymasters = timed(futures::future::join_all(s.paymasters.iter().map(|t| {
            bounded(format!("paymaster {}", t.name), timeout, async {
                paymaster::collect(&self.chain, t, scope, &window).await
            })
        })));
        let bundlers = timed(futures::future::join_all(
            s.bundlers.iter().zip(&self.bundlers).map(|(t, client)| {
                bounded(format!("bundler {}", t.name), timeout, async {
                    bundler::collect(client, &self.chain, t, expected_bundler_chain).await
                })
            }),
        ));
        let topup = async {
            match &s.topup_audit {
                Some(path) => super::topup::collect(path).await,
                None => Default::default(),
            }
        };
        let probes = futures::future::join_all(s.probes.iter().map(|p| async move {
            let read = p.read(timeout).await;
            if let Err(e) = &read {
                tracing::warn!(probe = %p.name, error = %e, "probe failed");
            }
            read
        }));
        let aztec = timed(async {
            match &s.aztec {
                Some(t) => Some(
                    bounded("aztec".to_string(), timeout, async {
                        aztec::collect(&self.chain, t, timeout).await
                    })
                    .await,
                ),
                None => None,
            }
        });
        let ((chain, t_chain), (paymasters, t_pm), (bundlers, t_b), (aztec, t_az), probes, topup) =
            tokio::join!(chain, paymasters, bundlers, aztec, probes, topup);
        if let Ok(c) = &chain {
            self.seen_chain_id.store(c.chain_id, Ordering::Relaxed);
        }
        Scrape {
            chain,
            paymasters,
            bundlers,
            probes,
            aztec,
            durations: [
                ("chain", t_chain),
                ("paymaster", t_pm),
                ("bundler", t_b),
                ("aztec", t_az),
            ],
            topup,
        }
    }
}

/// Runs `fut` within `timeout`; a failure or timeout is logged and returned as the target's error.
async fn bounded<T>(
    target: String,
    timeout: Duration,
    fut: impl Future<Output = Result<T, ExporterError>>,
) -> Result<T, ExporterError> {
    let result = match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(ExporterError::Timeout {
            target: target.clone(),
            secs: timeout.as_secs_f64(),
        }),
    };
    if let Err(e) = &result {
        tracing::warn!(%target, error = %e, "scrape target failed");
    }
    result
}

async fn timed<T>(fut: impl Future<Output = T>) -> (T, f64) {
    let started = Instant::now();
    let out = fut.await;
    (out, started.elapsed().as_secs_f64())
}
