//! `butler aztec actions list|approve ID|reject ID`: the actions the watcher's Aztec handlers proposed.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Ctx, TxArgs, UsageError, confirm, connect, signer};
use crate::aztec::actions::{Action, ActionKind, ActionStatus, ActionStore, actions_path};
use crate::aztec::keystore::Keystore;
use crate::aztec::tx::{PlannedTx, send_all, write_safe_json};
use crate::output::{OutputFormat, print_json, table};

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// The proposed actions (DATA_DIR/aztec/actions.json).
    #[command(
        after_help = "Examples:\n  butler aztec actions list\n  butler aztec actions list --pending --output json"
    )]
    List(ListArgs),
    /// Execute a pending action: record a coinbase in the keystore, or send (--send --yes) or export
    /// (--safe-json FILE) a publisher top-up.
    #[command(
        after_help = "Examples:\n  butler aztec actions approve 3\n  butler aztec actions approve 4 --send --yes\n  butler aztec actions approve 4 --safe-json top-up.json"
    )]
    Approve(ApproveArgs),
    /// Reject a pending action (it is not proposed again while pending; a rejected coinbase never again).
    #[command(after_help = "Examples:\n  butler aztec actions reject 3")]
    Reject(RejectArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only the pending ones.
    #[arg(long)]
    pub pending: bool,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The action's id (see `butler aztec actions list`).
    pub id: u64,
    #[command(flatten)]
    pub tx: TxArgs,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The action's id.
    pub id: u64,
}

fn store(ctx: &Ctx) -> anyhow::Result<ActionStore> {
    Ok(ActionStore::new(actions_path(&ctx.config()?.data_dir()?)))
}

pub async fn run(ctx: &Ctx, cmd: ActionsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ActionsCommand::List(a) => {
            let store = store(ctx)?;
            let _ = connect(ctx).await?;
            let actions: Vec<Action> = store
                .load()?
                .actions
                .into_iter()
                .filter(|x| !a.pending || x.status == ActionStatus::Pending)
                .collect();
            match ctx.output() {
                OutputFormat::Json => print_json(&actions)?,
                OutputFormat::Table => {
                    let mut t = table(["id", "status", "action", "outcome"]);
                    for x in &actions {
                        t.add_row(vec![
                            x.id.to_string(),
                            format!("{:?}", x.status).to_lowercase(),
                            x.kind.describe(),
                            x.outcome.clone().unwrap_or_default(),
                        ]);
                    }
                    println!("{t}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ActionsCommand::Reject(a) => {
            let store = store(ctx)?;
            let _ = connect(ctx).await?;
            let done = store.decide(a.id, ActionStatus::Rejected, None)?;
            report(ctx, &done)
        }
        ActionsCommand::Approve(a) => {
            let store = store(ctx)?;
            let (settings, l1) = connect(ctx).await?;
            let action = store.pending(a.id)?;
            let outcome = match &action.kind {
                ActionKind::RecordCoinbase {
                    attester, coinbase, ..
                } => {
                    let path = settings.require_keys_file()?;
                    let mut ks = Keystore::load(path)?;
                    let entry = ks
                        .file
                        .attesters
                        .iter_mut()
                        .find(|e| e.address == *attester)
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "attester {attester} is not in the keystore {}",
                                path.display()
                            )
                        })?;
                    entry.coinbase = Some(*coinbase);
                    ks.save()?;
                    format!("recorded in {}", path.display())
                }
                ActionKind::TopUp {
                    publisher,
                    value_wei,
                } => {
                    let txs = [PlannedTx {
                        to: *publisher,
                        value: *value_wei,
                        data: Default::default(),
                        description: action.kind.describe(),
                    }];
                    if let Some(path) = &a.tx.safe_json {
                        write_safe_json(path, l1.chain_id, "publisher top-up", &txs)?;
                        format!("Safe batch {}", path.display())
                    } else if a.tx.send {
                        let signer = signer(&settings, &a.tx)?;
                        if !a.tx.yes {
                            confirm(&format!(
                                "{} from {}?",
                                action.kind.describe(),
                                signer.address()
                            ))?;
                        }
                        let sent = send_all(&l1.client, signer, &txs).await?;
                        sent.iter()
                            .map(|s| s.hash.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    } else {
                        return Err(UsageError(
                            "approving a top-up sends or exports it: pass --send --yes, or --safe-json FILE".into(),
                        )
                        .into());
                    }
                }
            };
            let done = store.decide(a.id, ActionStatus::Executed, Some(outcome))?;
            report(ctx, &done)
        }
    }
}

fn report(ctx: &Ctx, action: &Action) -> anyhow::Result<ExitCode> {
    match ctx.output() {
        OutputFormat::Json => print_json(action)?,
        OutputFormat::Table => println!(
            "action {} {}: {}{}",
            action.id,
            format!("{:?}", action.status).to_lowercase(),
            action.kind.describe(),
            action
                .outcome
                .as_ref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default()
        ),
    }
    Ok(ExitCode::SUCCESS)
}
