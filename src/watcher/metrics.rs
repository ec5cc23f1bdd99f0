//! The indexer's Prometheus series, served on the watcher's `/metrics` (the API registers this collector
//! on its registry at start-up): head and chain head, blocks behind, events by source and event, reorgs,
//! store size, checkpoint age and the start-up replay's duration.
//!
//! Counters count what this process did since it started; the gauges are read when Prometheus scrapes
//! (the store's files are listed then, the checkpoint's age is its file's modification time).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, IntCounter, IntCounterVec, IntGauge, Opts};
use tokio::sync::watch;

use super::Progress;
use super::checkpoint::Checkpoint;
use super::record::Record;
use super::store::log_files;
use crate::exporter::catalog::{MetricDef, counter, gauge};

pub const HEAD_BLOCK: MetricDef = gauge(
    "butler_indexer_head_block",
    &[],
    "Last block the indexer committed to the event log.",
);
pub const CHAIN_HEAD_BLOCK: MetricDef = gauge(
    "butler_indexer_chain_head_block",
    &[],
    "Chain head (eth_blockNumber) the indexer saw at the start of its last pass.",
);
pub const BLOCKS_BEHIND: MetricDef = gauge(
    "butler_indexer_blocks_behind",
    &[],
    "Chain head the indexer last saw minus its last committed block (the confirmation depth included).",
);
pub const EVENTS: MetricDef = counter(
    "butler_indexer_events_total",
    &["source", "event"],
    "Event records this process appended to the event log, by source and event name.",
);
pub const REORGS: MetricDef = counter(
    "butler_indexer_reorgs_total",
    &[],
    "Chain reorganisations this process rolled the event log back for.",
);
pub const LAST_REORG_DEPTH: MetricDef = gauge(
    "butler_indexer_last_reorg_depth_blocks",
    &[],
    "Blocks rolled back by the last reorganisation this process handled; 0 before the first.",
);
pub const STORE_BYTES: MetricDef = gauge(
    "butler_store_bytes",
    &[],
    "Bytes of the event log files under DATA_DIR/chain (the NDJSON store only).",
);
pub const STORE_FILES: MetricDef = gauge(
    "butler_store_files",
    &[],
    "Number of event log files under DATA_DIR/chain (the NDJSON store only).",
);
pub const CHECKPOINT_AGE: MetricDef = gauge(
    "butler_indexer_checkpoint_age_seconds",
    &[],
    "Seconds since the checkpoint was last written (DATA_DIR/chain/indexer_state.json, or the checkpoint row of the PostgreSQL store since this process's first commit).",
);
pub const REPLAY_DURATION: MetricDef = gauge(
    "butler_indexer_replay_duration_seconds",
    &[],
    "Wall time of the replay of the event log when the indexer started, in seconds.",
);

/// The indexer's metric families, in documentation order.
pub const ALL: &[MetricDef] = &[
    HEAD_BLOCK,
    CHAIN_HEAD_BLOCK,
    BLOCKS_BEHIND,
    EVENTS,
    REORGS,
    LAST_REORG_DEPTH,
    STORE_BYTES,
    STORE_FILES,
    CHECKPOINT_AGE,
    REPLAY_DURATION,
];

fn opts(def: &MetricDef) -> Opts {
    Opts::new(def.name, def.help)
}

struct Inner {
    /// The NDJSON store's directory; `None` for the PostgreSQL store (no files to measure).
    chain_dir: Option<PathBuf>,
    /// When this process last committed, Unix milliseconds (0: not yet).
    committed_ms: AtomicU64,
    sources: Vec<String>,
    progress: watch::Receiver<Progress>,
    events: IntCounterVec,
    reorgs: IntCounter,
    last_reorg_depth: IntGauge,
    replay: Gauge,
    head: IntGauge,
    chain_head: IntGauge,
    behind: IntGauge,
    bytes: IntGauge,
    files: IntGauge,
    age: Gauge,
}

/// The indexer's series; a cheap handle shared by the indexer (which counts) and the registry (which reads).
#[derive(Clone)]
pub struct IndexerMetrics(Arc<Inner>);

impl IndexerMetrics {
    /// Series for the NDJSON store in `chain_dir` (`None`: the PostgreSQL store) with these sources, reading
    /// progress from `progress`.
    pub fn new(
        chain_dir: Option<PathBuf>,
        sources: Vec<String>,
        progress: watch::Receiver<Progress>,
        replay: Duration,
    ) -> Result<IndexerMetrics, prometheus::Error> {
        let inner = Inner {
            chain_dir,
            committed_ms: AtomicU64::new(0),
            sources,
            progress,
            events: IntCounterVec::new(opts(&EVENTS), EVENTS.labels)?,
            reorgs: IntCounter::with_opts(opts(&REORGS))?,
            last_reorg_depth: IntGauge::with_opts(opts(&LAST_REORG_DEPTH))?,
            replay: Gauge::with_opts(opts(&REPLAY_DURATION))?,
            head: IntGauge::with_opts(opts(&HEAD_BLOCK))?,
            chain_head: IntGauge::with_opts(opts(&CHAIN_HEAD_BLOCK))?,
            behind: IntGauge::with_opts(opts(&BLOCKS_BEHIND))?,
            bytes: IntGauge::with_opts(opts(&STORE_BYTES))?,
            files: IntGauge::with_opts(opts(&STORE_FILES))?,
            age: Gauge::with_opts(opts(&CHECKPOINT_AGE))?,
        };
        inner.replay.set(replay.as_secs_f64());
        Ok(IndexerMetrics(Arc::new(inner)))
    }

    /// Counts the records of one appended batch by source and event.
    pub fn appended<'a>(&self, records: impl IntoIterator<Item = &'a Record>) {
        let mut counts: HashMap<(&str, &str), u64> = HashMap::new();
        for r in records {
            *counts
                .entry((r.source.as_str(), r.event.as_str()))
                .or_default() += 1;
        }
        for ((source, event), n) in counts {
            self.0.events.with_label_values(&[source, event]).inc_by(n);
        }
    }

    /// Notes that the checkpoint was just written (the PostgreSQL store's checkpoint age counts from it).
    pub fn committed(&self) {
        self.0
            .committed_ms
            .store(crate::telemetry::now_ms(), Ordering::Relaxed);
    }

    /// Records a rollback of `depth` blocks.
    pub fn reorg(&self, depth: u64) {
        self.0.reorgs.inc();
        self.0
            .last_reorg_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Refreshes the scrape-time gauges; returns those that have a value now.
    fn refresh(&self) -> Vec<&IntGauge> {
        let i = &self.0;
        let p = i.progress.borrow().clone();
        let mut present = Vec::new();
        if let Some(h) = p.indexed_block {
            i.head.set(as_i64(h));
            present.push(&i.head);
        }
        if let Some(c) = p.chain_head {
            i.chain_head.set(as_i64(c));
            present.push(&i.chain_head);
            if let Some(h) = p.indexed_block {
                i.behind.set(as_i64(c.saturating_sub(h)));
                present.push(&i.behind);
            }
        }
        let Some(chain_dir) = &i.chain_dir else {
            return present;
        };
        let (mut files, mut bytes) = (0u64, 0u64);
        for source in &i.sources {
            let Ok(list) = log_files(&chain_dir.join(source)) else {
                continue;
            };
            for f in list {
                if let Ok(m) = std::fs::metadata(&f) {
                    files += 1;
                    bytes += m.len();
                }
            }
        }
        i.files.set(as_i64(files));
        i.bytes.set(as_i64(bytes));
        present.push(&i.files);
        present.push(&i.bytes);
        present
    }

    fn checkpoint_age(&self) -> Option<f64> {
        let Some(chain_dir) = &self.0.chain_dir else {
            let at = self.0.committed_ms.load(Ordering::Relaxed);
            return (at > 0).then(|| crate::telemetry::now_ms().saturating_sub(at) as f64 / 1000.0);
        };
        let modified = std::fs::metadata(Checkpoint::path(chain_dir))
            .and_then(|m| m.modified())
            .ok()?;
        Some(modified.elapsed().unwrap_or(Duration::ZERO).as_secs_f64())
    }
}

fn as_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Collector for IndexerMetrics {
    fn desc(&self) -> Vec<&Desc> {
        let i = &self.0;
        let mut out = Vec::new();
        out.extend(i.head.desc());
        out.extend(i.chain_head.desc());
        out.extend(i.behind.desc());
        out.extend(i.events.desc());
        out.extend(i.reorgs.desc());
        out.extend(i.last_reorg_depth.desc());
        out.extend(i.bytes.desc());
        out.extend(i.files.desc());
        out.extend(i.age.desc());
        out.extend(i.replay.desc());
        out
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let i = &self.0;
        let mut out: Vec<MetricFamily> = self.refresh().iter().flat_map(|g| g.collect()).collect();
        if let Some(age) = self.checkpoint_age() {
            i.age.set(age);
            out.extend(i.age.collect());
        }
        out.extend(i.events.collect());
        out.extend(i.reorgs.collect());
        out.extend(i.last_reorg_depth.collect());
        out.extend(i.replay.collect());
        out
    }
}
