//! The probe run: checks once, then prepares, sends (`eth_sendUserOperation`) and polls
//! (`eth_getUserOperationReceipt`) each operation, a bounded number at a time, and reports per operation
//! its hash, sender, transaction, block, success, gas cost and latency from sending to inclusion.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::bundler::BundlerClient;
use super::prepare::{Env, Prepared, preflight, prepare};
use super::userop::EntryPointVersion;
use super::{Funding, ProbeError, ProbeSettings};
use crate::chain::{ChainClient, ser};

/// One operation's outcome. Wei as a decimal string in JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpReport {
    /// 1-based position in the run.
    pub index: usize,
    #[serde(serialize_with = "ser::opt_address")]
    pub sender: Option<Address>,
    pub user_op_hash: Option<B256>,
    pub tx_hash: Option<B256>,
    pub block: Option<u64>,
    pub included: bool,
    /// The operation's own success as the EntryPoint reports it (`UserOperationEvent.success`).
    pub success: Option<bool>,
    #[serde(serialize_with = "ser::opt_decimal")]
    pub actual_gas_cost_wei: Option<U256>,
    /// From just before `eth_sendUserOperation` to the first poll that saw the receipt.
    pub latency_ms: Option<u64>,
    pub error: Option<String>,
}

impl OpReport {
    /// Included and successful.
    pub fn ok(&self) -> bool {
        self.included && self.success == Some(true)
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub bundler: String,
    #[serde(serialize_with = "ser::address")]
    pub entrypoint: Address,
    pub entrypoint_version: EntryPointVersion,
    /// `sponsored` or `self-funded`.
    pub mode: &'static str,
    #[serde(serialize_with = "ser::opt_address")]
    pub paymaster: Option<Address>,
    /// Every operation included and successful.
    pub ok: bool,
    pub ops: Vec<OpReport>,
}

/// Runs the probe. Errors are about the run as a whole (settings, unreachable endpoints); each operation's
/// own failure is in its [`OpReport`].
pub async fn run_probe(
    client: ChainClient,
    chain_id: u64,
    settings: ProbeSettings,
    cancel: CancellationToken,
) -> Result<ProbeReport, ProbeError> {
    let bundler = BundlerClient::new(
        settings.bundler.clone(),
        settings.bundler_timeout,
        settings.bundler_retries,
    );
    let version = tokio::select! {
        v = preflight(&client, chain_id, &settings, &bundler) => v?,
        _ = cancel.cancelled() => return Err(ProbeError::Cancelled),
    };
    let (mode, paymaster, funder) = match &settings.funding {
        Funding::Sponsored { paymaster, .. } => ("sponsored", Some(*paymaster), None),
        Funding::SelfFunded { funder } => (
            "self-funded",
            None,
            Some((client.with_signer(funder.clone()), Mutex::new(()))),
        ),
    };
    let env = Env {
        client,
        chain_id,
        bundler,
        settings,
        version,
        funder,
    };
    let count = env.settings.count;
    let mut ops: Vec<OpReport> = futures::stream::iter(1..=count)
        .map(|index| probe_one(&env, index, &cancel))
        .buffer_unordered(env.settings.concurrency.max(1))
        .collect()
        .await;
    ops.sort_by_key(|o| o.index);
    Ok(ProbeReport {
        bundler: env.settings.bundler.to_string(),
        entrypoint: env.settings.entrypoint,
        entrypoint_version: version,
        mode,
        paymaster,
        ok: !ops.is_empty() && ops.iter().all(OpReport::ok),
        ops,
    })
}

async fn probe_one(env: &Env, index: usize, cancel: &CancellationToken) -> OpReport {
    let mut report = OpReport {
        index,
        ..OpReport::default()
    };
    if cancel.is_cancelled() {
        report.error = Some(ProbeError::Cancelled.to_string());
        return report;
    }
    let prepared = tokio::select! {
        p = prepare(env, &mut report.sender) => p,
        _ = cancel.cancelled() => Err(ProbeError::Cancelled),
    };
    let result = match prepared {
        Ok(p) => send_and_wait(env, p, &mut report, cancel).await,
        Err(e) => Err(e),
    };
    match &result {
        Ok(()) => tracing::info!(
            "op {index}/{}: {} in block {} after {} ms (success: {})",
            env.settings.count,
            report.user_op_hash.unwrap_or_default(),
            report.block.unwrap_or_default(),
            report.latency_ms.unwrap_or_default(),
            report.success.unwrap_or_default()
        ),
        Err(e) => tracing::warn!("op {index}/{}: {e}", env.settings.count),
    }
    if let Err(e) = result {
        report.error = Some(e.to_string());
    }
    report
}

async fn send_and_wait(
    env: &Env,
    prepared: Prepared,
    report: &mut OpReport,
    cancel: &CancellationToken,
) -> Result<(), ProbeError> {
    let Prepared { op, hash } = prepared;
    report.user_op_hash = Some(hash);
    let started = Instant::now();
    let accepted = env.bundler.send(&op, env.settings.entrypoint).await?;
    if accepted != hash {
        return Err(ProbeError::HashMismatch {
            local: hash,
            source_name: "the bundler",
            other: accepted,
        });
    }
    let deadline = started + env.settings.inclusion_timeout;
    loop {
        match env.bundler.receipt(hash).await {
            Ok(Some(r)) => {
                report.latency_ms = Some(millis(started.elapsed()));
                report.included = true;
                report.success = Some(r.success);
                report.tx_hash = Some(r.tx_hash);
                report.block = Some(r.block);
                report.actual_gas_cost_wei = Some(r.actual_gas_cost);
                return Ok(());
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("polling the receipt of {hash}: {e}"),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(ProbeError::Timeout(env.settings.inclusion_timeout));
        }
        let pause = env.settings.poll_interval.min(deadline - now);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = cancel.cancelled() => return Err(ProbeError::Cancelled),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
