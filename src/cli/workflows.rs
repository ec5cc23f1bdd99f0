//! `butler workflows [list|show ID]`: workflow states and timelines derived from the event store.

use std::process::ExitCode;

use alloy::primitives::B256;
use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use super::stats::load_state;
use crate::output::{OutputFormat, kv_table, print_json, table};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler workflows\n  butler workflows list --status running --output json\n  butler workflows show 0x6c0f...e1a2"
)]
pub struct WorkflowsArgs {
    #[command(subcommand)]
    pub command: Option<WorkflowsCommand>,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowsCommand {
    /// Every workflow with its status (the default).
    #[command(
        after_help = "Examples:\n  butler workflows list\n  butler workflows list --status rejected"
    )]
    List(ListArgs),
    /// One workflow: status, decisions, settlements and its timeline of events.
    #[command(after_help = "Examples:\n  butler workflows show 0x6c0f...e1a2 --output json")]
    Show(ShowArgs),
}

#[derive(Debug, Default, Args)]
pub struct ListArgs {
    /// Only workflows in this status.
    #[arg(long, value_parser = ["running", "completed", "failed", "rejected"])]
    pub status: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The workflow id (bytes32, 0x-prefixed).
    pub id: B256,
}

pub async fn run(ctx: &Ctx, args: WorkflowsArgs) -> anyhow::Result<ExitCode> {
    let (_, state) = load_state(ctx).await?;
    match args
        .command
        .unwrap_or(WorkflowsCommand::List(ListArgs::default()))
    {
        WorkflowsCommand::List(list) => {
            let wanted = list.status.map(|s| s.to_uppercase());
            let items: Vec<_> = state
                .workflows
                .values()
                .filter(|w| wanted.as_deref().is_none_or(|s| w.status.as_str() == s))
                .map(|w| {
                    json!({
                        "workflowId": w.workflow_id,
                        "status": w.status,
                        "initiator": w.initiator.map(|a| a.to_checksum(None)),
                        "startedAt": w.started_at,
                        "completedAt": w.completed_at,
                    })
                })
                .collect();
            match ctx.output() {
                OutputFormat::Json => print_json(&items)?,
                OutputFormat::Table => {
                    let mut t = table(["workflow", "status", "initiator", "started", "ended"]);
                    for w in state
                        .workflows
                        .values()
                        .filter(|w| wanted.as_deref().is_none_or(|s| w.status.as_str() == s))
                    {
                        t.add_row(vec![
                            w.workflow_id.to_string(),
                            w.status.as_str().to_string(),
                            w.initiator.map_or("-".to_string(), |a| a.to_string()),
                            w.started_at.map_or("-".to_string(), |t| t.to_string()),
                            w.completed_at.map_or("-".to_string(), |t| t.to_string()),
                        ]);
                    }
                    println!("{t}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        WorkflowsCommand::Show(show) => {
            let Some(w) = state.workflows.get(&show.id) else {
                anyhow::bail!("no workflow {} in the event store", show.id);
            };
            match ctx.output() {
                OutputFormat::Json => print_json(&json!({
                    "workflow": {
                        "workflowId": w.workflow_id,
                        "status": w.status,
                        "initiator": w.initiator.map(|a| a.to_checksum(None)),
                        "startedAt": w.started_at,
                        "completedAt": w.completed_at,
                        "failureReason": w.failure_reason,
                        "lastEventBlock": w.last_event_block,
                        "lastEventLogIndex": w.last_event_log_index,
                    },
                    "decisions": w.decisions,
                    "settlements": w.settlements,
                    "timeline": w.timeline,
                }))?,
                OutputFormat::Table => {
                    println!(
                        "{}",
                        kv_table([
                            ("workflow", w.workflow_id.to_string()),
                            ("status", w.status.as_str().to_string()),
                            (
                                "initiator",
                                w.initiator.map_or("-".to_string(), |a| a.to_string())
                            ),
                            (
                                "started",
                                w.started_at.map_or("-".to_string(), |t| t.to_string())
                            ),
                            (
                                "ended",
                                w.completed_at.map_or("-".to_string(), |t| t.to_string())
                            ),
                            (
                                "failure reason",
                                w.failure_reason.clone().unwrap_or_else(|| "-".to_string())
                            ),
                        ])
                    );
                    let mut t = table(["time", "block", "event", "detail", "tx"]);
                    for e in &w.timeline {
                        t.add_row(vec![
                            e.timestamp.to_string(),
                            e.block_number.to_string(),
                            e.event.clone(),
                            e.detail.clone(),
                            e.tx_hash.to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
