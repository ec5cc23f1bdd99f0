//! `butler index [--to-head]`: a one-shot backfill into the event store, with a progress bar on a terminal
//! and periodic log lines otherwise.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::output::{OutputFormat, kv_table, print_json};
use crate::watcher::{Indexer, PassOutcome, Progress, Target, WatcherSettings};

/// Consecutive RPC failures a one-shot backfill tolerates (with backoff) before it gives up.
const MAX_FAILURES: u32 = 5;

#[derive(Debug, Args)]
#[command(
    after_help = "Indexes the events of every [[watcher.sources]] from the checkpoint (or each source's \
start_block) up to head − confirmations, then exits. Takes the writer lock on DATA_DIR/chain: it refuses to \
run while `butler serve --watcher` or another `butler index` writes the same data dir.\n\nExamples:\n  \
butler index\n  butler index --to-head --output json"
)]
pub struct IndexArgs {
    /// Index up to the latest block, not head − confirmations (a later run rolls back if those blocks are
    /// reorganised).
    #[arg(long)]
    pub to_head: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    last_block: Option<u64>,
    events: u64,
    written: u64,
    seconds: f64,
    events_per_sec: f64,
    reorgs: u64,
    state_hash: String,
    caught_up: bool,
}

pub async fn run(ctx: &Ctx, args: IndexArgs) -> anyhow::Result<ExitCode> {
    let settings: WatcherSettings = ctx.settings()?;
    let (client, chain_id) = ctx.chain().await?;
    let started = Instant::now();
    let mut indexer = Indexer::open(settings, client, chain_id).await?;
    let cancel = crate::shutdown::on_signals()?;
    let done = CancellationToken::new();
    let reporter = tokio::spawn(report(indexer.progress(), started, done.clone()));
    let target = if args.to_head {
        Target::Head
    } else {
        Target::Confirmed
    };
    let outcome = indexer.catch_up(target, MAX_FAILURES, &cancel).await;
    done.cancel();
    let _ = reporter.await;
    let outcome = outcome?;
    let progress = indexer.progress().borrow().clone();
    let seconds = started.elapsed().as_secs_f64();
    let cp = indexer.checkpoint();
    let summary = Summary {
        last_block: cp.last_block,
        events: cp.events,
        written: progress.written,
        seconds,
        events_per_sec: rate(progress.written, seconds),
        reorgs: cp.reorgs,
        state_hash: cp.state_hash.to_string(),
        caught_up: outcome != PassOutcome::Cancelled,
    };
    match ctx.output() {
        OutputFormat::Json => print_json(&summary)?,
        OutputFormat::Table => println!(
            "{}",
            kv_table([
                (
                    "last block",
                    summary
                        .last_block
                        .map_or("-".to_string(), |b| b.to_string())
                ),
                ("events in store", summary.events.to_string()),
                ("written now", summary.written.to_string()),
                ("seconds", format!("{:.2}", summary.seconds)),
                ("events/s", format!("{:.0}", summary.events_per_sec)),
                ("reorgs", summary.reorgs.to_string()),
                ("state hash", summary.state_hash.clone()),
            ])
        ),
    }
    if outcome == PassOutcome::Cancelled {
        anyhow::bail!("interrupted: the store is consistent up to the last block shown");
    }
    Ok(ExitCode::SUCCESS)
}

fn rate(events: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        events as f64 / seconds
    } else {
        0.0
    }
}

/// Renders progress until `done`: a bar on a terminal, a log line every 5 s otherwise.
async fn report(mut rx: watch::Receiver<Progress>, started: Instant, done: CancellationToken) {
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} blocks  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut last_log = Instant::now();
    loop {
        let p = rx.borrow_and_update().clone();
        let total = p.pass_target.saturating_sub(p.pass_from) + 1;
        let pos = p
            .indexed_block
            .filter(|b| *b + 1 >= p.pass_from)
            .map_or(0, |b| (b + 1 - p.pass_from).min(total));
        let per_sec = rate(p.written, started.elapsed().as_secs_f64());
        match &bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(pos);
                bar.set_message(format!("{} events  {per_sec:.0} events/s", p.events));
            }
            None if last_log.elapsed() >= Duration::from_secs(5) => {
                last_log = Instant::now();
                let eta = if pos > 0 && pos < total {
                    started.elapsed().as_secs_f64() * (total - pos) as f64 / pos as f64
                } else {
                    0.0
                };
                tracing::info!(
                    block = ?p.indexed_block,
                    target = p.pass_target,
                    blocks_done = pos,
                    blocks_total = total,
                    events = p.events,
                    events_per_sec = per_sec.round(),
                    eta_secs = eta.round(),
                    "indexing"
                );
            }
            None => {}
        }
        tokio::select! {
            _ = done.cancelled() => break,
            changed = rx.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
