//! `butler aztec queue`.

use std::process::ExitCode;

use alloy::primitives::Address;
use clap::Args;
use serde::Serialize;

use super::{Ctx, connect};
use crate::aztec::keystore::Keystore;
use crate::aztec::registry;
use crate::aztec::rollup::{EntryQueue, entry_queue};
use crate::output::{OutputFormat, kv_table, print_json, table};

#[derive(Debug, Args)]
#[command(
    after_help = "The time per attester is the epoch length (slots × slot duration) divided by the flush \
size; an attester's ETA is now + its position × that time.\n\nExamples:\n  butler aztec queue\n  butler aztec \
queue --output json"
)]
pub struct QueueArgs {
    /// The provider id (overrides [aztec] provider_id) whose key queue length is shown.
    #[arg(long)]
    pub provider_id: Option<u64>,
}

/// A keystore attester waiting in the entry queue.
#[derive(Debug, Serialize)]
struct Waiting {
    #[serde(serialize_with = "crate::chain::ser::address")]
    attester: Address,
    position: u64,
    eta_unix: u64,
    #[serde(serialize_with = "crate::chain::ser::opt_address")]
    coinbase: Option<Address>,
}

#[derive(Debug, Serialize)]
struct QueueReport {
    entry_queue: EntryQueue,
    /// Unix time at which the queue's last attester is expected in.
    last_attester_eta_unix: u64,
    provider_id: Option<u64>,
    provider_queue_length: Option<u64>,
    attesters: Vec<Waiting>,
}

pub async fn run(ctx: &Ctx, a: QueueArgs) -> anyhow::Result<ExitCode> {
    let (settings, l1) = connect(ctx).await?;
    let q = entry_queue(&l1.client, l1.rollup()).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let eta = |pos: u64| now + (pos as f64 * q.secs_per_attester) as u64;
    let provider_id = a.provider_id.or(settings.provider_id);
    let provider_queue_length = match (settings.staking_registry, provider_id) {
        (Some(reg), Some(id)) => Some(registry::provider_queue_length(&l1.client, reg, id).await?),
        _ => None,
    };
    let mut waiting = Vec::new();
    if let Some(p) = &settings.keys_file {
        let ks = Keystore::load(p)?;
        for (pos, attester) in q.attesters.iter().enumerate() {
            if let Some(e) = ks.find(*attester) {
                waiting.push(Waiting {
                    attester: *attester,
                    position: pos as u64,
                    eta_unix: eta(pos as u64),
                    coinbase: e.coinbase,
                });
            }
        }
    }
    let report = QueueReport {
        last_attester_eta_unix: eta(q.length.saturating_sub(1)),
        entry_queue: q,
        provider_id,
        provider_queue_length,
        attesters: waiting,
    };
    match ctx.output() {
        OutputFormat::Json => print_json(&report)?,
        OutputFormat::Table => {
            let q = &report.entry_queue;
            let t = kv_table([
                ("entry queue length", q.length.to_string()),
                ("current epoch", q.current_epoch.to_string()),
                (
                    "epoch duration",
                    format!(
                        "{} slots × {} s",
                        q.epoch_duration_slots, q.slot_duration_secs
                    ),
                ),
                ("flush size", q.flush_size.to_string()),
                ("available flushes", q.available_flushes.to_string()),
                ("next flushable epoch", q.next_flushable_epoch.to_string()),
                ("bootstrapped", q.is_bootstrapped.to_string()),
                ("time per attester", format!("{:.0} s", q.secs_per_attester)),
                (
                    "last attester ETA (unix)",
                    report.last_attester_eta_unix.to_string(),
                ),
                (
                    "provider queue length",
                    report
                        .provider_queue_length
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into()),
                ),
            ]);
            println!("{t}");
            if !report.attesters.is_empty() {
                let mut t = table(["attester", "position", "ETA (unix)", "coinbase"]);
                for w in &report.attesters {
                    t.add_row(vec![
                        w.attester.to_string(),
                        w.position.to_string(),
                        w.eta_unix.to_string(),
                        w.coinbase
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "-".into()),
                    ]);
                }
                println!("{t}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
