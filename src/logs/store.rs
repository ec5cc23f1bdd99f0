//! The log store: the journal under `DATA_DIR/logs/`, an in-memory ring of the last `retention_max` events
//! (rehydrated from the newest files on start) and a broadcast channel that feeds the SSE streams.
//!
//! An event enters the ring and the broadcast only after it is on disk, so what a query or a stream shows
//! survives a crash.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;

use super::event::LogEvent;
use super::filter::LogFilter;
use super::journal::{self, Entry, Journal, JournalError, Writer};

impl Entry for LogEvent {
    fn seq(&self) -> u64 {
        self.id
    }
    fn set_seq(&mut self, seq: u64) {
        self.id = seq;
    }
}

/// Where and how much to keep.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// `DATA_DIR/logs`.
    pub dir: PathBuf,
    /// Events kept in memory.
    pub retention_max: usize,
    /// Committed batches a stream subscriber may fall behind before it is dropped.
    pub subscriber_queue: usize,
}

/// Counters for the metrics summary.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogStats {
    /// Events in memory.
    pub retained: usize,
    /// Id of the oldest event in memory.
    pub oldest_id: Option<u64>,
    /// Id of the newest event stored.
    pub newest_id: Option<u64>,
}

/// A committed event and its JSON text (serialised once for every stream subscriber).
#[derive(Debug)]
pub struct Committed {
    pub event: Arc<LogEvent>,
    pub json: String,
}

/// The events of one commit, in id order.
pub type Batch = Arc<Vec<Committed>>;

struct Shared {
    ring: RwLock<VecDeque<Arc<LogEvent>>>,
    tx: broadcast::Sender<Batch>,
    retention_max: usize,
}

/// A cheap handle to the store.
#[derive(Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
    journal: Journal<LogEvent>,
}

/// A new stream subscription: the stored events after the resume point, then the live feed.
pub struct Subscription {
    pub backlog: Vec<Arc<LogEvent>>,
    pub live: broadcast::Receiver<Batch>,
}

impl LogStore {
    /// Repairs and rehydrates from `settings.dir`; run the returned writer as a task.
    pub fn open(settings: &LogSettings) -> Result<(LogStore, Writer<LogEvent>), JournalError> {
        journal::repair_tail(&settings.dir)?;
        let (tail, last) = journal::read_tail::<LogEvent>(&settings.dir, settings.retention_max)?;
        let ring: VecDeque<Arc<LogEvent>> = tail.into_iter().map(Arc::new).collect();
        tracing::info!(
            dir = %settings.dir.display(),
            rehydrated = ring.len(),
            last_id = last,
            "log store opened"
        );
        let (tx, _) = broadcast::channel(settings.subscriber_queue.max(1));
        let shared = Arc::new(Shared {
            ring: RwLock::new(ring),
            tx,
            retention_max: settings.retention_max.max(1),
        });
        let on_commit = {
            let shared = shared.clone();
            Box::new(move |items: Vec<LogEvent>| shared.push(items))
        };
        let (journal, writer) = Journal::open(&settings.dir, last, on_commit)?;
        Ok((LogStore { shared, journal }, writer))
    }

    /// Stores events (their `id` is assigned here); returns the first and last id once they are fsynced.
    pub async fn ingest(&self, events: Vec<LogEvent>) -> Result<(u64, u64), JournalError> {
        self.journal.append(events).await
    }

    /// The newest `limit` events matching `filter`, oldest first.
    pub fn query(&self, filter: &LogFilter, limit: usize) -> Vec<Arc<LogEvent>> {
        let ring = self.shared.read();
        let mut out: Vec<Arc<LogEvent>> = ring
            .iter()
            .rev()
            .filter(|e| filter.matches(e))
            .take(limit)
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// Subscribes to new events; with `after`, the backlog holds the retained events with a larger id.
    pub fn subscribe(&self, after: Option<u64>) -> Subscription {
        let ring = self.shared.read();
        let live = self.shared.tx.subscribe();
        let backlog = match after {
            Some(id) => ring.iter().filter(|e| e.id > id).cloned().collect(),
            None => Vec::new(),
        };
        Subscription { backlog, live }
    }

    /// What the ring holds.
    pub fn stats(&self) -> LogStats {
        let ring = self.shared.read();
        LogStats {
            retained: ring.len(),
            oldest_id: ring.front().map(|e| e.id),
            newest_id: ring.back().map(|e| e.id),
        }
    }
}

impl Shared {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, VecDeque<Arc<LogEvent>>> {
        self.ring.read().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, items: Vec<LogEvent>) {
        let batch: Vec<Committed> = items
            .into_iter()
            .map(|e| Committed {
                json: serde_json::to_string(&e).unwrap_or_default(),
                event: Arc::new(e),
            })
            .collect();
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        for item in &batch {
            if ring.len() >= self.retention_max {
                ring.pop_front();
            }
            ring.push_back(item.event.clone());
        }
        let _ = self.tx.send(Arc::new(batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::event::parse_event;
    use serde_json::json;
    use tokio_util::sync::CancellationToken;

    fn ev(msg: &str) -> LogEvent {
        parse_event(json!({"ts": 1, "service": "s", "level": "info", "msg": msg})).unwrap()
    }

    #[tokio::test]
    async fn rehydrates_the_ring_and_continues_ids_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let settings = LogSettings {
            dir: dir.path().join("logs"),
            retention_max: 3,
            subscriber_queue: 8,
        };
        for round in 0..2 {
            let (store, writer) = LogStore::open(&settings).unwrap();
            let cancel = CancellationToken::new();
            let task = tokio::spawn(writer.run(cancel.clone()));
            let sub = store.subscribe(Some(0));
            let (a, b) = store.ingest(vec![ev("x"), ev("y")]).await.unwrap();
            assert_eq!((a, b), (round * 2 + 1, round * 2 + 2));
            let mut live = sub.live;
            assert_eq!(live.recv().await.unwrap()[0].event.id, a);
            cancel.cancel();
            task.await.unwrap().unwrap();
        }
        let (store, _writer) = LogStore::open(&settings).unwrap();
        let ids: Vec<u64> = store
            .query(&LogFilter::default(), 10)
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, vec![2, 3, 4]);
        assert_eq!(store.subscribe(Some(3)).backlog.len(), 1);
    }
}
