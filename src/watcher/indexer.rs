//! The indexer: the single writer that turns logs into the append-only log, the checkpoint and the
//! reduced state. [`Indexer::pass`] indexes up to the current (confirmed) head once; [`Indexer::run`]
//! repeats it forever, backing off on RPC failures and never exiting on an outage.
//!
//! Per pass: check the checkpoint's last block against the chain (rolling back on a reorg), then fetch
//! ranges concurrently, append each range's records in order, and commit (fsync the log, then write
//! the checkpoint with the state hash) every [`COMMIT_INTERVAL`] or [`COMMIT_EVENTS`] and at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::checkpoint::{BlockRef, Checkpoint, FORMAT_VERSION};
use super::fetch::{Fetcher, RangeBatch};
use super::lock::WriterLock;
use super::metrics::IndexerMetrics;
use super::record::Position;
use super::reduce::State;
use super::reorg::{self, Fork};
use super::replay::replay;
use super::store::{StoreWriter, log_files};
use super::{WatcherError, WatcherSettings};
use crate::chain::ChainClient;

/// Longest time appended records wait for their commit during a backfill (at least ten times what the
/// last commit took, so hashing a large state never dominates).
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(500);
/// Most records appended before a commit.
pub const COMMIT_EVENTS: u64 = 50_000;

/// How far a pass goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `head − confirmations`.
    Confirmed,
    /// The head itself (a later pass rolls back if those blocks are reorganised).
    Head,
}

/// How a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassOutcome {
    /// Nothing new to index.
    CaughtUp,
    /// Indexed up to the target of this pass.
    Progressed,
    /// Stopped by the cancellation token (after committing what was fetched).
    Cancelled,
}

/// What the indexer reports while it works (for progress bars, logs and `/health`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// First block of the current pass.
    pub pass_from: u64,
    /// Last block of the current pass.
    pub pass_target: u64,
    /// Last committed block.
    pub indexed_block: Option<u64>,
    /// Records in the log.
    pub events: u64,
    /// Records written by this process.
    pub written: u64,
    pub reorgs: u64,
    /// Blocks per `eth_getLogs` right now, and refusals so far.
    pub range: u64,
    pub range_refusals: u64,
    pub caught_up: bool,
    /// The chain head seen at the start of the last pass.
    pub chain_head: Option<u64>,
}

/// The writer.
pub struct Indexer {
    settings: WatcherSettings,
    fetcher: Fetcher,
    confirmations: u64,
    checkpoint: Checkpoint,
    window: Vec<BlockRef>,
    store: StoreWriter,
    state: State,
    last_applied: Option<Position>,
    written: u64,
    last_commit_cost: Duration,
    progress: watch::Sender<Progress>,
    /// The reduced state as of the last commit, for readers in the same process (the HTTP API).
    shared: watch::Sender<Arc<State>>,
    /// (events, reorgs) of the state last published, to skip unchanged publications.
    published: (AtomicU64, AtomicU64),
    /// The chain head seen at the start of the last pass.
    chain_head: Option<u64>,
    metrics: IndexerMetrics,
    _lock: WriterLock,
}

impl Indexer {
    /// Takes the writer lock, loads (or creates) the checkpoint, repairs the log and replays it.
    pub async fn open(
        settings: WatcherSettings,
        client: ChainClient,
        chain_id: u64,
    ) -> Result<Indexer, WatcherError> {
        let dir = settings.chain_dir.clone();
        let lock = WriterLock::acquire(&dir)?;
        let names: Vec<String> = settings.sources.iter().map(|s| s.name.clone()).collect();
        let probe = Fetcher::new(client.clone(), chain_id, Vec::new(), Vec::new(), 1);
        let checkpoint = match Checkpoint::load(&dir)? {
            Some(cp) => {
                check_matches(&settings, &cp, chain_id)?;
                cp
            }
            None => {
                for n in &names {
                    if !log_files(&dir.join(n))?.is_empty() {
                        return Err(WatcherError::Mismatch {
                            path: dir.join(n),
                            found: "event files".into(),
                            configured: "no checkpoint (indexer_state.json is missing)".into(),
                            hint: "restore indexer_state.json, or move the directory aside to re-index"
                                .into(),
                        });
                    }
                }
                let head = if settings.sources.iter().all(|s| s.start_block.is_some()) {
                    0
                } else {
                    probe.head().await?
                };
                let starts: Vec<u64> = settings
                    .sources
                    .iter()
                    .map(|s| {
                        s.start_block
                            .unwrap_or_else(|| head.saturating_sub(settings.lookback_blocks))
                    })
                    .collect();
                let cp = Checkpoint {
                    format_version: FORMAT_VERSION,
                    chain_id,
                    start_block: starts.iter().copied().min().unwrap_or(0),
                    last_block: None,
                    last_block_hash: None,
                    recent: Vec::new(),
                    state_hash: State::new(settings.retention_max).state_hash(),
                    events: 0,
                    reorgs: 0,
                    retention_max: settings.retention_max,
                    sources: settings
                        .sources
                        .iter()
                        .zip(&starts)
                        .map(|(s, b)| s.fingerprint(*b))
                        .collect(),
                };
                cp.save(&dir)?;
                cp
            }
        };
        let store = StoreWriter::open(&dir, &names, checkpoint.last_block)?;
        let replayed = replay(
            &dir,
            names.iter().cloned(),
            checkpoint.last_block,
            settings.retention_max,
        )?;
        let hash = replayed.state.state_hash();
        if checkpoint.retention_max == settings.retention_max && hash != checkpoint.state_hash {
            tracing::warn!(
                checkpoint = %checkpoint.state_hash,
                replayed = %hash,
                "the state replayed from the log differs from the checkpoint's state hash"
            );
        }
        tracing::info!(
            events = replayed.state.events,
            last_block = ?checkpoint.last_block,
            secs = replayed.elapsed.as_secs_f64(),
            "replayed the event log"
        );
        let starts = checkpoint.sources.iter().map(|s| s.start_block).collect();
        let confirmations = settings
            .confirmations
            .unwrap_or_else(|| super::default_confirmations(chain_id));
        tracing::info!(
            chain_id,
            confirmations,
            sources = names.len(),
            "watcher store {}",
            dir.display()
        );
        let fetcher = Fetcher::new(
            client,
            chain_id,
            settings.sources.clone(),
            starts,
            settings.max_block_range,
        );
        let progress = watch::Sender::new(Progress {
            indexed_block: checkpoint.last_block,
            events: replayed.state.events,
            reorgs: checkpoint.reorgs,
            range: fetcher.sizer.current(),
            ..Progress::default()
        });
        let shared = watch::Sender::new(Arc::new(replayed.state.clone()));
        let metrics = IndexerMetrics::new(
            dir.clone(),
            names.clone(),
            progress.subscribe(),
            replayed.elapsed,
        )
        .map_err(|e| WatcherError::Task(format!("indexer metrics: {e}")))?;
        Ok(Indexer {
            chain_head: None,
            metrics,
            published: (
                AtomicU64::new(replayed.state.events),
                AtomicU64::new(checkpoint.reorgs),
            ),
            shared,
            window: checkpoint.recent.clone(),
            settings,
            fetcher,
            confirmations,
            checkpoint,
            store,
            state: replayed.state,
            last_applied: replayed.last,
            written: 0,
            last_commit_cost: Duration::ZERO,
            progress,
            _lock: lock,
        })
    }

    /// Progress updates.
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// The reduced state as of the last commit (cloned at each commit only while someone subscribes).
    pub fn state(&self) -> watch::Receiver<Arc<State>> {
        self.shared.subscribe()
    }

    /// The indexer's Prometheus series (register them on the API's registry).
    pub fn metrics(&self) -> IndexerMetrics {
        self.metrics.clone()
    }

    /// The confirmation depth in use.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// The checkpoint as last written.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Runs until cancelled: a pass, then a wait of `poll_interval` once caught up. RPC failures are
    /// logged and retried with backoff; only store failures (disk) end it.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<(), WatcherError> {
        let mut failures: u32 = 0;
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let wait = match self.pass(Target::Confirmed, &cancel).await {
                Ok(PassOutcome::Cancelled) => return Ok(()),
                Ok(PassOutcome::Progressed) => {
                    failures = 0;
                    continue;
                }
                Ok(PassOutcome::CaughtUp) => {
                    failures = 0;
                    self.settings.poll_interval
                }
                Err(e) if e.is_transient() => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(failures);
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs_f64(), "indexing failed; retrying");
                    wait
                }
                Err(e) => return Err(e),
            };
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Indexes until caught up with `target` (passes repeat while the head moves). Transient RPC errors
    /// are retried with backoff up to `max_failures` times in a row.
    pub async fn catch_up(
        &mut self,
        target: Target,
        max_failures: u32,
        cancel: &CancellationToken,
    ) -> Result<PassOutcome, WatcherError> {
        let mut failures = 0;
        loop {
            match self.pass(target, cancel).await {
                Ok(PassOutcome::Progressed) => failures = 0,
                Ok(done) => return Ok(done),
                Err(e) if e.is_transient() && failures < max_failures => {
                    failures += 1;
                    let wait = backoff(failures);
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs_f64(), "indexing failed; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => return Ok(PassOutcome::Cancelled),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One pass: reorg check, then everything up to the target as of now.
    pub async fn pass(
        &mut self,
        target: Target,
        cancel: &CancellationToken,
    ) -> Result<PassOutcome, WatcherError> {
        let head = self.fetcher.head().await?;
        self.chain_head = Some(head);
        let tip = match target {
            Target::Confirmed => head.saturating_sub(self.confirmations),
            Target::Head => head,
        };
        if let Some(fork) = reorg::detect(&self.fetcher, &self.checkpoint).await? {
            self.rollback(fork)?;
        }
        let from = self.checkpoint.next_block();
        if from > tip {
            self.publish(from, tip, true);
            return Ok(PassOutcome::CaughtUp);
        }
        self.publish(from, tip, false);
        let result = self.fetch_and_write(from, tip, cancel).await;
        let last = self.checkpoint.last_block;
        let caught_up = last.is_some_and(|l| l >= tip);
        self.publish(from, tip, caught_up);
        match result {
            Ok(true) => Ok(PassOutcome::Cancelled),
            Ok(false) => Ok(PassOutcome::Progressed),
            Err(e) => Err(e),
        }
    }

    /// Fetches `[from, tip]` concurrently and writes it in order; returns whether it was cancelled.
    /// What was appended is committed even when a later range fails.
    async fn fetch_and_write(
        &mut self,
        from: u64,
        tip: u64,
        cancel: &CancellationToken,
    ) -> Result<bool, WatcherError> {
        let concurrency = self.settings.fetch_concurrency.max(1);
        let sizer = self.fetcher.sizer.clone();
        let first_chunk = (tip - from + 1).div_ceil(2 * concurrency as u64).max(1);
        let ranges = futures::stream::unfold(from, move |next| {
            let size = sizer.current().min(first_chunk).max(1);
            async move {
                if next > tip {
                    return None;
                }
                let end = tip.min(next.saturating_add(size - 1));
                Some(((next, end), end + 1))
            }
        });
        let fetcher = self.fetcher.clone();
        let mut batches = ranges
            .map(move |(a, b)| {
                let f = fetcher.clone();
                async move {
                    tokio::spawn(async move { f.fetch_range(a, b).await })
                        .await
                        .map_err(|e| WatcherError::Task(e.to_string()))?
                }
            })
            .buffered(concurrency)
            .boxed();
        let mut pending: Option<BlockRef> = None;
        let mut uncommitted = 0u64;
        let mut since_commit = Instant::now();
        let mut cancelled = false;
        let outcome = loop {
            let next = tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    cancelled = true;
                    None
                }
                n = batches.next() => n,
            };
            let Some(batch) = next else {
                break Ok(());
            };
            let batch = match batch {
                Ok(b) => b,
                Err(e) => break Err(e),
            };
            let n = self.write_batch(&batch)?;
            uncommitted += n;
            pending = Some(batch.end);
            if batch.to == tip
                || uncommitted >= COMMIT_EVENTS
                || since_commit.elapsed() >= COMMIT_INTERVAL.max(self.last_commit_cost * 10)
            {
                self.commit(batch.end)?;
                pending = None;
                uncommitted = 0;
                since_commit = Instant::now();
                self.publish(from, tip, batch.to == tip);
            }
        };
        if let Some(end) = pending {
            self.commit(end)?;
        }
        outcome.map(|_| cancelled)
    }

    /// Appends a batch and applies it to the state; returns the records written.
    fn write_batch(&mut self, batch: &RangeBatch) -> Result<u64, WatcherError> {
        let appended = self.store.append(&batch.records)?;
        let mut applied = Vec::new();
        for r in &batch.records {
            let pos = r.position();
            if self.last_applied.is_none_or(|l| pos > l) {
                self.state.apply(r);
                self.last_applied = Some(pos);
                applied.push(r);
            }
        }
        self.metrics.appended(applied);
        let mut seen = Vec::new();
        for r in &batch.records {
            if seen
                .last()
                .is_none_or(|b: &BlockRef| b.number != r.block_number)
            {
                seen.push(BlockRef {
                    number: r.block_number,
                    hash: r.block_hash,
                });
            }
        }
        seen.push(batch.end);
        reorg::extend_window(&mut self.window, seen);
        self.written += appended.written;
        Ok(appended.written)
    }

    /// Makes the log durable, then moves the checkpoint to `end`.
    fn commit(&mut self, end: BlockRef) -> Result<(), WatcherError> {
        let started = Instant::now();
        self.store.sync()?;
        let cp = &mut self.checkpoint;
        cp.last_block = Some(end.number);
        cp.last_block_hash = Some(end.hash);
        cp.recent = self.window.clone();
        cp.state_hash = self.state.state_hash();
        cp.events = self.state.events;
        cp.retention_max = self.settings.retention_max;
        cp.save(&self.settings.chain_dir)?;
        self.last_commit_cost = started.elapsed();
        Ok(())
    }

    /// Rolls the log back to the fork point: the checkpoint first (so a crash in between is harmless),
    /// then the files.
    fn rollback(&mut self, fork: Fork) -> Result<(), WatcherError> {
        let keep = fork.keep.map(|b| b.number);
        let names = self.settings.sources.iter().map(|s| s.name.clone());
        let replayed = replay(
            &self.settings.chain_dir,
            names,
            keep,
            self.settings.retention_max,
        )?;
        self.state = replayed.state;
        self.last_applied = replayed.last;
        self.window.retain(|b| keep.is_some_and(|k| b.number <= k));
        let cp = &mut self.checkpoint;
        cp.last_block = keep;
        cp.last_block_hash = fork.keep.map(|b| b.hash);
        cp.recent = self.window.clone();
        cp.state_hash = self.state.state_hash();
        cp.events = self.state.events;
        cp.reorgs += 1;
        cp.save(&self.settings.chain_dir)?;
        let dropped = self.store.truncate_after(keep)?;
        self.metrics.reorg(fork.depth);
        tracing::warn!(
            depth = fork.depth,
            fork_block = ?keep,
            dropped_records = dropped,
            reorgs = self.checkpoint.reorgs,
            "chain reorganisation: rolled the log back; re-indexing"
        );
        Ok(())
    }

    fn publish(&self, from: u64, tip: u64, caught_up: bool) {
        let changed = self.published.0.load(Ordering::Relaxed) != self.state.events
            || self.published.1.load(Ordering::Relaxed) != self.checkpoint.reorgs;
        if changed && self.shared.receiver_count() > 0 {
            self.shared.send_replace(Arc::new(self.state.clone()));
            self.published.0.store(self.state.events, Ordering::Relaxed);
            self.published
                .1
                .store(self.checkpoint.reorgs, Ordering::Relaxed);
        }
        self.progress.send_replace(Progress {
            pass_from: from,
            pass_target: tip,
            indexed_block: self.checkpoint.last_block,
            events: self.checkpoint.events,
            written: self.written,
            reorgs: self.checkpoint.reorgs,
            range: self.fetcher.sizer.current(),
            range_refusals: self.fetcher.sizer.shrinks(),
            caught_up,
            chain_head: self.chain_head,
        });
    }
}

/// Backoff after `n` consecutive failures: 1 s doubling up to 60 s.
fn backoff(n: u32) -> Duration {
    Duration::from_secs(1u64 << n.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// The checkpoint must belong to this chain and these sources.
fn check_matches(
    settings: &WatcherSettings,
    cp: &Checkpoint,
    chain_id: u64,
) -> Result<(), WatcherError> {
    let path = Checkpoint::path(&settings.chain_dir);
    if cp.chain_id != chain_id {
        return Err(WatcherError::Mismatch {
            path,
            found: format!("chain id {}", cp.chain_id),
            configured: format!("an RPC endpoint on chain id {chain_id}"),
            hint: "use a data_dir per chain".into(),
        });
    }
    let same = cp.sources.len() == settings.sources.len()
        && cp
            .sources
            .iter()
            .zip(&settings.sources)
            .all(|(a, s)| a.same_source(&s.fingerprint(a.start_block)));
    if !same {
        let describe = |names: Vec<String>| names.join(", ");
        return Err(WatcherError::Mismatch {
            path,
            found: format!(
                "sources [{}]",
                describe(cp.sources.iter().map(|s| s.name.clone()).collect())
            ),
            configured: format!(
                "[{}] (or different addresses or events)",
                describe(settings.sources.iter().map(|s| s.name.clone()).collect())
            ),
            hint: "restore the previous [[watcher.sources]], or move the data dir's chain directory aside to re-index"
                .into(),
        });
    }
    Ok(())
}
