//! `butler replay [--verify]`: rebuilds the state from the event log alone; with `--verify`, compares its
//! hash with the checkpoint's and exits 1 on a mismatch.

use std::process::ExitCode;

use clap::Args;

use super::Ctx;
use crate::output::{OutputFormat, kv_table, print_json};
use crate::watcher::backend::{StoreReader, StoreSettings};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler replay --verify\n  butler replay --verify --output json || echo \"event store does not match its checkpoint\""
)]
pub struct ReplayArgs {
    /// Compare the rebuilt state hash (and event count) with the checkpoint's; exit 1 when they differ.
    #[arg(long)]
    pub verify: bool,
}

pub async fn run(ctx: &Ctx, args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let store: StoreSettings = ctx.settings()?;
    let v = StoreReader::open(&store).await?.verify()?;
    match ctx.output() {
        OutputFormat::Json => print_json(&v)?,
        OutputFormat::Table => println!(
            "{}",
            kv_table([
                (
                    "last block",
                    v.last_block.map_or("-".to_string(), |b| b.to_string())
                ),
                ("events replayed", v.events.to_string()),
                ("events in checkpoint", v.checkpoint_events.to_string()),
                ("replayed state hash", v.replayed_state_hash.to_string()),
                ("checkpoint state hash", v.expected_state_hash.to_string()),
                ("matches", v.matches.to_string()),
                ("seconds", format!("{:.3}", v.seconds)),
                ("events/s", format!("{:.0}", v.events_per_sec)),
            ])
        ),
    }
    if args.verify && !v.matches {
        anyhow::bail!(
            "replay does not match the checkpoint: {} events give {}, the checkpoint says {} events and {}",
            v.events,
            v.replayed_state_hash,
            v.checkpoint_events,
            v.expected_state_hash
        );
    }
    Ok(ExitCode::SUCCESS)
}
