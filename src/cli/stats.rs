//! `butler stats`: what the event store holds: events by source, user operations, per-paymaster
//! sponsorship and fees, workflow counts, and the checkpoint.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::output::{OutputFormat, kv_table, print_json, table};
use crate::watcher::backend::{StoreReader, StoreSettings};
use crate::watcher::checkpoint::Checkpoint;
use crate::watcher::reduce::State;
use crate::watcher::reduce::workflows::WorkflowStats;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  butler stats\n  butler stats --output json")]
pub struct StatsArgs {}

/// The checkpoint and the state replayed from the log up to it.
pub(super) async fn load_state(ctx: &Ctx) -> anyhow::Result<(Checkpoint, State)> {
    let store: StoreSettings = ctx.settings()?;
    let reader = StoreReader::open(&store).await?;
    let replayed = reader.replay()?;
    Ok((reader.checkpoint().clone(), replayed.state))
}

pub async fn run(ctx: &Ctx, _args: StatsArgs) -> anyhow::Result<ExitCode> {
    let (cp, state) = load_state(ctx).await?;
    let workflows = WorkflowStats::of(state.workflows.values());
    match ctx.output() {
        OutputFormat::Json => print_json(&json!({
            "chainId": cp.chain_id,
            "lastBlock": cp.last_block,
            "lastBlockHash": cp.last_block_hash,
            "stateHash": cp.state_hash,
            "events": state.events,
            "reorgs": cp.reorgs,
            "eventsBySource": state.events_by_source,
            "userops": state.ops,
            "senders": state.totals.senders.len(),
            "paymasters": state
                .totals
                .paymasters
                .iter()
                .map(|(a, p)| (a.to_checksum(None), p))
                .collect::<std::collections::BTreeMap<_, _>>(),
            "workflows": workflows,
        }))?,
        OutputFormat::Table => {
            println!(
                "{}",
                kv_table([
                    ("chain id", cp.chain_id.to_string()),
                    (
                        "last block",
                        cp.last_block.map_or("-".to_string(), |b| b.to_string())
                    ),
                    ("events", state.events.to_string()),
                    ("reorgs", cp.reorgs.to_string()),
                    ("state hash", cp.state_hash.to_string()),
                    (
                        "user operations",
                        format!(
                            "{} ({} succeeded, {} failed, {} with post-op)",
                            state.ops.total,
                            state.ops.succeeded,
                            state.ops.failed,
                            state.ops.with_post_op
                        )
                    ),
                    ("senders", state.totals.senders.len().to_string()),
                    (
                        "workflows",
                        format!(
                            "{} ({} running, {} completed, {} failed, {} rejected)",
                            workflows.total,
                            workflows.running,
                            workflows.completed,
                            workflows.failed,
                            workflows.rejected
                        )
                    ),
                ])
            );
            let mut t = table(["source", "event", "count"]);
            for (source, events) in &state.events_by_source {
                for (event, n) in events {
                    t.add_row(vec![source.clone(), event.clone(), n.to_string()]);
                }
            }
            println!("{t}");
            if !state.totals.paymasters.is_empty() {
                let mut t = table([
                    "paymaster",
                    "sponsored ops",
                    "gas used",
                    "gas cost (wei)",
                    "post-ops",
                    "fees by token",
                ]);
                for (pm, p) in &state.totals.paymasters {
                    t.add_row(vec![
                        pm.to_string(),
                        p.sponsored_ops.to_string(),
                        p.sponsored_gas_used.to_string(),
                        p.sponsored_gas_cost_wei.to_string(),
                        p.post_ops.to_string(),
                        p.fees_by_token
                            .iter()
                            .map(|(t, v)| format!("{t}: {v}"))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ]);
                }
                println!("{t}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
