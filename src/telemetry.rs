//! Telemetry from the user app and the admin app: session heartbeats (who is connected, which smart-account
//! sender belongs to which owner EOA) and app events (`paid_fallback_attempt|success|failure`).
//!
//! Records are journaled like log events (`DATA_DIR/telemetry/YYYY-MM-DD.ndjson`, fsynced before the
//! answer) and replayed on start into [`Aggregates`], so the owner→sender mapping survives a restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::chain::ser;
use crate::logs::journal::{self, Entry, Journal, JournalError, Writer};

/// What a telemetry record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Session,
    PaidFallbackAttempt,
    PaidFallbackSuccess,
    PaidFallbackFailure,
}

/// One stored record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: u64,
    /// Server time of receipt, Unix milliseconds.
    pub received_ms: u64,
    pub kind: Kind,
    pub session_id: Option<String>,
    #[serde(serialize_with = "ser::opt_address")]
    pub owner: Option<Address>,
    #[serde(serialize_with = "ser::opt_address")]
    pub sender: Option<Address>,
    pub user_op_hash: Option<B256>,
    pub meta: Option<serde_json::Value>,
}

impl Entry for Record {
    fn seq(&self) -> u64 {
        self.id
    }
    fn set_seq(&mut self, seq: u64) {
        self.id = seq;
    }
}

/// An owner EOA as telemetry knows it.
#[derive(Debug, Clone, Default)]
pub struct OwnerSeen {
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    pub senders: BTreeSet<Address>,
}

/// A smart-account sender as telemetry knows it.
#[derive(Debug, Clone, Copy)]
pub struct SenderSeen {
    pub owner: Address,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
}

/// Counts by event kind.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FallbackCounts {
    pub attempt: u64,
    pub success: u64,
    pub failure: u64,
}

/// Everything derived from the telemetry records.
#[derive(Debug, Clone, Default)]
pub struct Aggregates {
    pub heartbeats: u64,
    /// Last heartbeat per session key (the `sessionId`, else the owner).
    pub sessions: HashMap<String, u64>,
    pub owners: BTreeMap<Address, OwnerSeen>,
    pub senders: BTreeMap<Address, SenderSeen>,
    pub paid_fallback: FallbackCounts,
}

impl Aggregates {
    fn apply(&mut self, r: &Record) {
        match r.kind {
            Kind::Session => {
                self.heartbeats += 1;
                let key = match (&r.session_id, r.owner) {
                    (Some(s), _) => s.clone(),
                    (None, Some(o)) => o.to_string(),
                    (None, None) => return,
                };
                let last = self.sessions.entry(key).or_insert(0);
                *last = (*last).max(r.received_ms);
            }
            Kind::PaidFallbackAttempt => self.paid_fallback.attempt += 1,
            Kind::PaidFallbackSuccess => self.paid_fallback.success += 1,
            Kind::PaidFallbackFailure => self.paid_fallback.failure += 1,
        }
        let Some(owner) = r.owner else { return };
        let o = self.owners.entry(owner).or_insert_with(|| OwnerSeen {
            first_seen_ms: r.received_ms,
            ..OwnerSeen::default()
        });
        o.last_seen_ms = o.last_seen_ms.max(r.received_ms);
        if let Some(sender) = r.sender {
            o.senders.insert(sender);
            let s = self.senders.entry(sender).or_insert(SenderSeen {
                owner,
                first_seen_ms: r.received_ms,
                last_seen_ms: r.received_ms,
            });
            s.owner = owner;
            s.last_seen_ms = s.last_seen_ms.max(r.received_ms);
        }
    }

    /// Sessions whose last heartbeat is at most `ttl_ms` before `now_ms`.
    pub fn connected(&self, now_ms: u64, ttl_ms: u64) -> usize {
        self.sessions
            .values()
            .filter(|&&t| t + ttl_ms >= now_ms)
            .count()
    }
}

/// A cheap handle to the telemetry store.
#[derive(Clone)]
pub struct TelemetryStore {
    agg: Arc<RwLock<Aggregates>>,
    journal: Journal<Record>,
}

impl TelemetryStore {
    /// Replays `dir` (`DATA_DIR/telemetry`); run the returned writer as a task.
    pub fn open(dir: &Path) -> Result<(TelemetryStore, Writer<Record>), JournalError> {
        journal::repair_tail(dir)?;
        let mut agg = Aggregates::default();
        let last = journal::read_all::<Record>(dir, |r| agg.apply(&r))?;
        let agg = Arc::new(RwLock::new(agg));
        let on_commit = {
            let agg = agg.clone();
            Box::new(move |items: Vec<Record>| {
                let mut a = agg.write().unwrap_or_else(|p| p.into_inner());
                for r in &items {
                    a.apply(r);
                }
            })
        };
        let (journal, writer) = Journal::open(dir, last, on_commit)?;
        Ok((TelemetryStore { agg, journal }, writer))
    }

    /// Stores one record; returns its id once it is fsynced.
    pub async fn record(&self, record: Record) -> Result<u64, JournalError> {
        self.journal.append(vec![record]).await.map(|(id, _)| id)
    }

    /// A snapshot of the aggregates.
    pub fn snapshot(&self) -> Aggregates {
        self.agg.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `f` over the aggregates, read in place (no copy); keep it short, ingest waits meanwhile.
    pub fn read<R>(&self, f: impl FnOnce(&Aggregates) -> R) -> R {
        f(&self.agg.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Sessions whose last heartbeat is at most `ttl_ms` before `now_ms` (without copying the aggregates).
    pub fn connected(&self, now_ms: u64, ttl_ms: u64) -> usize {
        self.agg
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .connected(now_ms, ttl_ms)
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}
