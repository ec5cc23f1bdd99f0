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
use tokio_util::task::{AbortOnDropHandle, TaskTracker};

use super::backend::StoreSettings;
use super::checkpoint::{BlockRef, Checkpoint, FORMAT_VERSION, check_matches};
use super::fetch::{Fetcher, RangeBatch};
use super::metrics::IndexerMetrics;
use super::progress::Progress;
use super::record::Position;
use super::reduce::State;
use super::reorg::{self, Fork};
use super::writer::Writer;
use super::{WatcherError, WatcherSettings};
use crate::backoff::{self, Backoff};
use crate::chain::ChainClient;
use crate::chain::heads::HeadWake;

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

/// The writer.
pub struct Indexer {
    settings: WatcherSettings,
    fetcher: Fetcher,
    confirmations: u64,
    checkpoint: Checkpoint,
    window: Vec<BlockRef>,
    /// The store (NDJSON files or PostgreSQL), holding its writer lock.
    writer: Writer,
    /// A database write failed: the in-memory state and checkpoint may be ahead of the store, so the
    /// next pass reloads them from it first.
    dirty: bool,
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
    /// Ends the wait for the next poll early on a new head (`[chain] ws_url`).
    heads: HeadWake,
}

impl Indexer {
    /// Takes the writer lock, loads (or creates) the checkpoint, repairs the log and replays it.
    pub async fn open(
        settings: WatcherSettings,
        client: ChainClient,
        chain_id: u64,
    ) -> Result<Indexer, WatcherError> {
        let dir = settings.chain_dir.clone();
        let names: Vec<String> = settings.sources.iter().map(|s| s.name.clone()).collect();
        let mut writer = Writer::open(&settings.store, names.clone()).await?;
        let probe = Fetcher::new(
            client.clone(),
            chain_id,
            Vec::new(),
            Vec::new(),
            1,
            &Default::default(),
        );
        let checkpoint = match writer.load_checkpoint().await? {
            Some(cp) => {
                check_matches(&settings, &cp, chain_id)?;
                cp
            }
            None => {
                writer.refuse_orphan_events().await?;
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
                    range_caps: Default::default(),
                    recent_reorgs: Vec::new(),
                };
                writer.init(&cp).await?;
                cp
            }
        };
        let started = Instant::now();
        let (state, last) = writer
            .replay(checkpoint.last_block, settings.retention_max)
            .await?;
        let replayed = super::replay::Replayed {
            state,
            last,
            elapsed: started.elapsed(),
        };
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
            settings.store.describe()
        );
        let fetcher = Fetcher::new(
            client,
            chain_id,
            settings.sources.clone(),
            starts,
            settings.max_block_range,
            &checkpoint.range_caps,
        );
        let progress = watch::Sender::new(Progress {
            indexed_block: checkpoint.last_block,
            events: replayed.state.events,
            reorgs: checkpoint.reorgs,
            recent_reorgs: checkpoint.recent_reorgs.clone(),
            range: fetcher.range(),
            ..Progress::default()
        });
        let shared = watch::Sender::new(Arc::new(replayed.state.clone()));
        let files = match &settings.store {
            StoreSettings::Ndjson { .. } => Some(dir.clone()),
            StoreSettings::Postgres(_) => None,
        };
        let metrics =
            IndexerMetrics::new(files, names.clone(), progress.subscribe(), replayed.elapsed)
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
            writer,
            dirty: false,
            state: replayed.state,
            last_applied: replayed.last,
            written: 0,
            last_commit_cost: Duration::ZERO,
            progress,
            heads: HeadWake::none(),
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

    /// Wakes the caught-up indexer on each new head instead of only every `poll_interval`.
    pub fn wake_on(&mut self, heads: HeadWake) {
        self.heads = heads;
    }

    /// The PostgreSQL store's pool (for `/health/db`); `None` for the NDJSON store.
    pub fn db_pool(&self) -> Option<sqlx::PgPool> {
        self.writer.pool()
    }

    /// The confirmation depth in use.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// The checkpoint as last written.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Runs until cancelled: a pass, then, once caught up, a wait of `poll_interval` or until the next
    /// head. RPC failures are logged and retried with backoff; only store failures (disk) end it.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<(), WatcherError> {
        let mut delays = RETRY.delays();
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let wait = match self.pass(Target::Confirmed, &cancel).await {
                Ok(PassOutcome::Cancelled) => return Ok(()),
                Ok(PassOutcome::Progressed) => {
                    delays.reset();
                    continue;
                }
                Ok(PassOutcome::CaughtUp) => {
                    delays.reset();
                    if !self.heads.wait(self.settings.poll_interval, &cancel).await {
                        return Ok(());
                    }
                    continue;
                }
                Err(e) if e.is_transient() => {
                    let wait = delays.next_delay();
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs_f64(), "indexing failed; retrying");
                    wait
                }
                Err(e) => return Err(e),
            };
            if !backoff::sleep(wait, &cancel).await {
                return Ok(());
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
        let mut delays = RETRY.delays();
        loop {
            match self.pass(target, cancel).await {
                Ok(PassOutcome::Progressed) => {
                    failures = 0;
                    delays.reset();
                }
                Ok(done) => return Ok(done),
                Err(e) if e.is_transient() && failures < max_failures => {
                    failures += 1;
                    let wait = delays.next_delay();
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs_f64(), "indexing failed; retrying");
                    if !backoff::sleep(wait, cancel).await {
                        return Ok(PassOutcome::Cancelled);
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
        if self.dirty {
            self.recover().await?;
        }
        // one URL for the whole pass: its head, the reorg check and every range agree on one chain view
        let fetcher = self.fetcher.pinned();
        let head = fetcher.head().await?;
        self.chain_head = Some(head);
        let tip = match target {
            Target::Confirmed => head.saturating_sub(self.confirmations),
            Target::Head => head,
        };
        if self.checkpoint.last_block.is_some_and(|l| l > head) {
            // this URL lags behind blocks already indexed: no reorg conclusion from it
            tracing::debug!(url = %fetcher.client_key(), head, "RPC URL behind the indexed block; pass skipped");
            let next = self.checkpoint.next_block();
            self.publish(next, tip, true);
            return Ok(PassOutcome::CaughtUp);
        }
        if let Some(fork) = reorg::detect(&fetcher, &self.checkpoint).await? {
            self.rollback(fork).await?;
        }
        let from = self.checkpoint.next_block();
        if from > tip {
            self.publish(from, tip, true);
            return Ok(PassOutcome::CaughtUp);
        }
        self.publish(from, tip, false);
        let result = self.fetch_and_write(&fetcher, from, tip, cancel).await;
        let last = self.checkpoint.last_block;
        let caught_up = last.is_some_and(|l| l >= tip);
        // after a failed database write the state may be ahead of the store: publish it once reloaded
        if !self.dirty {
            self.publish(from, tip, caught_up);
        }
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
        fetcher: &Fetcher,
        from: u64,
        tip: u64,
        cancel: &CancellationToken,
    ) -> Result<bool, WatcherError> {
        let concurrency = self.settings.fetch_concurrency.max(1);
        let planner = fetcher.clone();
        let first_chunk = (tip - from + 1).div_ceil(2 * concurrency as u64).max(1);
        // each range is a multiple of the URL's known-good size; while nothing is known, the first range's
        // first request finds out before more ranges start
        let ranges = futures::stream::unfold(from, move |next| {
            let planner = planner.clone();
            async move {
                if next > tip {
                    return None;
                }
                let size = planner.chunk(first_chunk, next == from).await;
                let end = tip.min(next.saturating_add(size - 1));
                Some(((next, end), end + 1))
            }
        });
        // every fetch runs as a tracked task that is aborted when this pass stops consuming it (cancelled,
        // failed, or this future dropped); the pass returns only once none is left running
        let tasks = TaskTracker::new();
        let fetcher = fetcher.clone();
        let spawner = tasks.clone();
        let mut batches = ranges
            .map(move |(a, b)| {
                let f = fetcher.clone();
                let task =
                    AbortOnDropHandle::new(spawner.spawn(async move { f.fetch_range(a, b).await }));
                async move { task.await.map_err(|e| WatcherError::Task(e.to_string()))? }
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
                Err(e) => break Err(Stop::Fetch(e)),
            };
            let (to, end) = (batch.to, batch.end);
            let n = match self.write_batch(batch).await {
                Ok(n) => n,
                Err(e) => break Err(Stop::Store(e)),
            };
            uncommitted += n;
            pending = Some(end);
            if to == tip
                || uncommitted >= COMMIT_EVENTS
                || since_commit.elapsed() >= COMMIT_INTERVAL.max(self.last_commit_cost * 10)
            {
                if let Err(e) = self.commit(end).await {
                    break Err(Stop::Store(e));
                }
                pending = None;
                uncommitted = 0;
                since_commit = Instant::now();
                self.publish(from, tip, to == tip);
            }
        };
        drop(batches);
        tasks.close();
        tasks.wait().await;
        match outcome {
            // the log or the checkpoint failed: nothing more is committed
            Err(Stop::Store(e)) => Err(e),
            fetched => {
                if let Some(end) = pending {
                    self.commit(end).await?;
                }
                match fetched {
                    Err(Stop::Fetch(e) | Stop::Store(e)) => Err(e),
                    Ok(()) => Ok(cancelled),
                }
            }
        }
    }

    /// Appends a batch (on the blocking pool) while applying it to the state; returns the records written.
    async fn write_batch(&mut self, batch: RangeBatch) -> Result<u64, WatcherError> {
        let batch = Arc::new(batch);
        let append = self.writer.append(batch.clone());
        let apply = async {
            self.apply(&batch);
        };
        let (appended, ()) = tokio::join!(append, apply);
        let appended = appended?;
        self.written += appended.written;
        Ok(appended.written)
    }

    /// Applies a batch to the state, the event counters and the reorg window.
    fn apply(&mut self, batch: &RangeBatch) {
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
    }

    /// Makes the log durable, then moves the checkpoint to `end`.
    async fn commit(&mut self, end: BlockRef) -> Result<(), WatcherError> {
        let started = Instant::now();
        self.dirty = true;
        let cp = &mut self.checkpoint;
        cp.last_block = Some(end.number);
        cp.last_block_hash = Some(end.hash);
        cp.recent = self.window.clone();
        cp.state_hash = self.state.state_hash();
        cp.events = self.state.events;
        cp.retention_max = self.settings.retention_max;
        cp.range_caps = self.fetcher.caps.snapshot();
        self.writer.commit(&self.checkpoint, &self.state).await?;
        self.dirty = false;
        self.metrics.committed();
        self.last_commit_cost = started.elapsed();
        Ok(())
    }

    /// Rolls the log back to the fork point: the checkpoint first (so a crash in between is harmless),
    /// then the files.
    async fn rollback(&mut self, fork: Fork) -> Result<(), WatcherError> {
        let keep = fork.keep.map(|b| b.number);
        self.dirty = true;
        let (state, last) = self
            .writer
            .state_at(keep, self.settings.retention_max)
            .await?;
        self.state = state;
        self.last_applied = last;
        self.window.retain(|b| keep.is_some_and(|k| b.number <= k));
        let cp = &mut self.checkpoint;
        cp.last_block = keep;
        cp.last_block_hash = fork.keep.map(|b| b.hash);
        cp.recent = self.window.clone();
        cp.state_hash = self.state.state_hash();
        cp.events = self.state.events;
        cp.reorgs += 1;
        reorg::remember(&mut cp.recent_reorgs, &fork, crate::telemetry::now_ms());
        let dropped = self.writer.rollback(&self.checkpoint, &self.state).await?;
        self.dirty = false;
        self.metrics.committed();
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

    /// Reloads the checkpoint and the state from the store after a failed database write (the store holds
    /// either the whole failed transaction or none of it).
    async fn recover(&mut self) -> Result<(), WatcherError> {
        if let Some(cp) = self.writer.recover().await? {
            let (state, last) = self
                .writer
                .state_at(cp.last_block, self.settings.retention_max)
                .await?;
            tracing::info!(
                last_block = ?cp.last_block,
                events = state.events,
                "reloaded the checkpoint and the state from the database"
            );
            self.window = cp.recent.clone();
            self.checkpoint = cp;
            self.state = state;
            self.last_applied = last;
        }
        self.dirty = false;
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
            recent_reorgs: self.checkpoint.recent_reorgs.clone(),
            range: self.fetcher.range(),
            range_refusals: self.fetcher.caps.refusals(),
            caught_up,
            chain_head: self.chain_head,
        });
    }
}

/// Why a pass stopped early: a fetch failed (what was appended before is still committed), or the store did.
enum Stop {
    Fetch(WatcherError),
    Store(WatcherError),
}

/// Backoff after consecutive failures: 1 s doubling up to 60 s.
const RETRY: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
