//! The indexer's side of the PostgreSQL store. Appended batches wait in memory until the commit, which
//! writes them, the workflows they touched and the checkpoint row in one transaction (a crash leaves the
//! whole batch or none of it) and notifies the readers. A rollback deletes the events past the fork point,
//! rebuilds `workflow_state` and moves the checkpoint in one transaction.
//!
//! One writer per database: a session advisory lock held on a connection of its own for the life of the
//! writer, its holder (host, pid, command) in the `watcher_writer` row. When the database goes away the
//! lock goes with the session: [`PgWriter::recover`] takes it again (or fails naming the new holder).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use alloy::primitives::B256;
use sqlx::{Connection, PgConnection, PgPool, Row};

use super::rows;
use crate::pg::PgDatabase;
use crate::watcher::WatcherError;
use crate::watcher::checkpoint::Checkpoint;
use crate::watcher::fetch::RangeBatch;
use crate::watcher::record::{Position, Record};
use crate::watcher::reduce::State;
use crate::watcher::store::Appended;

/// The advisory lock key of the watcher's writer (`pg_locks.objid` shows its low half).
pub const LOCK_KEY: i64 = 0x6275_746c_6572_0017;

#[derive(Default)]
struct Pending {
    /// Appended batches and how many of their first records were already stored.
    batches: Vec<(Arc<RangeBatch>, usize)>,
    /// Position of the last record stored or appended.
    last: Option<Position>,
}

/// The writer of a PostgreSQL store.
pub struct PgWriter {
    db: PgDatabase,
    pool: PgPool,
    lock: Option<PgConnection>,
    pending: Arc<Mutex<Pending>>,
}

impl PgWriter {
    /// Connects, migrates and takes the writer's lock.
    pub async fn open(db: &PgDatabase) -> Result<PgWriter, WatcherError> {
        let pool = super::connect(db, 4).await?;
        let lock = take_lock(db).await?;
        Ok(PgWriter {
            db: db.clone(),
            pool,
            lock: Some(lock),
            pending: Arc::default(),
        })
    }

    /// The pool (for `/health/db`).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, WatcherError> {
        super::load_checkpoint(&self.pool).await
    }

    /// Whether events are stored (a store without a checkpoint row but with events is refused).
    pub async fn has_events(&self) -> Result<bool, WatcherError> {
        super::has_events(&self.pool).await
    }

    /// Writes a fresh store's checkpoint.
    pub async fn init(&self, cp: &Checkpoint) -> Result<(), WatcherError> {
        let mut tx = self.begin().await?;
        super::save_checkpoint(&mut tx, cp).await?;
        tx.commit()
            .await
            .map_err(WatcherError::db("commit the checkpoint"))
    }

    /// Deletes every event, workflow and the checkpoint row in one transaction.
    pub async fn wipe(&self) -> Result<(), WatcherError> {
        let mut tx = self.begin().await?;
        for table in ["chain_event", "workflow_state", "watcher_checkpoint"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await
                .map_err(WatcherError::db(format!("empty {table}")))?;
        }
        tx.commit()
            .await
            .map_err(WatcherError::db("commit emptying the store"))
    }

    /// The state rebuilt from the table up to the checkpoint; also sets where appends continue and rebuilds
    /// `workflow_state` from it (the table is derived: replay rebuilds it).
    pub async fn replay(
        &self,
        upto: Option<u64>,
        retention_max: usize,
    ) -> Result<(State, Option<Position>), WatcherError> {
        let (state, last) = super::replay(&self.pool, upto, retention_max).await?;
        self.reset(last);
        Ok((state, last))
    }

    /// Rebuilds `workflow_state` from a state (truncate and insert in one transaction).
    pub async fn rebuild_workflows(&self, state: &State) -> Result<(), WatcherError> {
        let mut tx = self.begin().await?;
        rebuild_in(&mut tx, state).await?;
        tx.commit()
            .await
            .map_err(WatcherError::db("commit workflow_state"))
    }

    fn reset(&self, last: Option<Position>) {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        p.batches.clear();
        p.last = last;
    }

    /// Queues a batch for the next commit; records at or before the last stored position are no-ops.
    pub fn append(&self, batch: Arc<RangeBatch>) -> Appended {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let skip = batch
            .records
            .iter()
            .take_while(|r| p.last.is_some_and(|l| r.position() <= l))
            .count();
        let written = (batch.records.len() - skip) as u64;
        if let Some(r) = batch.records.last().filter(|_| written > 0) {
            p.last = Some(r.position());
        }
        p.batches.push((batch, skip));
        Appended {
            written,
            skipped: skip as u64,
        }
    }

    /// Writes the queued batches, the workflows they touched (from `state`) and the checkpoint in one
    /// transaction.
    pub async fn commit(&self, cp: &Checkpoint, state: &State) -> Result<(), WatcherError> {
        let batches = std::mem::take(
            &mut self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .batches,
        );
        let records: Vec<&Record> = batches
            .iter()
            .flat_map(|(b, skip)| b.records[*skip..].iter())
            .collect();
        let touched: BTreeSet<B256> = records
            .iter()
            .filter(|r| rows::is_workflow_event(&r.event))
            .filter_map(|r| r.arg_str("workflowId").and_then(|s| s.parse().ok()))
            .collect();
        let workflows: Vec<_> = touched
            .iter()
            .filter_map(|id| state.workflows.get(id))
            .collect();
        let mut tx = self.begin().await?;
        rows::insert_records(&mut tx, &records).await?;
        rows::upsert_workflows(&mut tx, &workflows).await?;
        super::save_checkpoint(&mut tx, cp).await?;
        tx.commit()
            .await
            .map_err(WatcherError::db("commit a batch"))
    }

    /// Deletes the events past `cp.last_block`, rebuilds `workflow_state` from `state` and writes `cp`, in
    /// one transaction; returns the events deleted.
    pub async fn rollback(&self, cp: &Checkpoint, state: &State) -> Result<u64, WatcherError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM chain_event WHERE block_number > $1")
            .bind(cp.last_block.map_or(-1, |b| b as i64))
            .execute(&mut *tx)
            .await
            .map_err(WatcherError::db("delete rolled-back events"))?
            .rows_affected();
        rebuild_in(&mut tx, state).await?;
        super::save_checkpoint(&mut tx, cp).await?;
        tx.commit()
            .await
            .map_err(WatcherError::db("commit a rollback"))?;
        Ok(deleted)
    }

    /// After a failed commit: drops what was queued, makes sure the lock is still held (taking it again on
    /// a new session when the database restarted) and returns the checkpoint as stored.
    pub async fn recover(&mut self) -> Result<Option<Checkpoint>, WatcherError> {
        self.reset(None);
        let alive = match self.lock.as_mut() {
            Some(c) => c.ping().await.is_ok(),
            None => false,
        };
        if !alive {
            self.lock = None;
            self.lock = Some(take_lock(&self.db).await?);
            tracing::info!("watcher database back: took the writer lock again");
        }
        self.load_checkpoint().await
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, WatcherError> {
        self.pool
            .begin()
            .await
            .map_err(WatcherError::db("begin a transaction"))
    }
}

async fn rebuild_in(c: &mut PgConnection, state: &State) -> Result<(), WatcherError> {
    sqlx::query("DELETE FROM workflow_state")
        .execute(&mut *c)
        .await
        .map_err(WatcherError::db("clear workflow_state"))?;
    let all: Vec<_> = state.workflows.values().collect();
    rows::upsert_workflows(c, &all).await
}

/// This host's name (for the holder row).
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown host".to_string())
}

/// Takes the advisory lock on a connection of its own and records the holder, or fails naming it.
async fn take_lock(db: &PgDatabase) -> Result<PgConnection, WatcherError> {
    let what = || format!("take the writer lock on {}", db.describe());
    let opts = db.options().map_err(WatcherError::db(what()))?;
    let mut c = PgConnection::connect_with(&opts)
        .await
        .map_err(WatcherError::db(what()))?;
    let locked: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut c)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(WatcherError::db(what()))?;
    if !locked {
        let row = sqlx::query(
            "SELECT host, pid, command, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM watcher_writer WHERE id = 1",
        )
        .fetch_optional(&mut c)
        .await
        .map_err(WatcherError::db(what()))?;
        let holder = match row {
            Some(r) => {
                let (host, pid, command, since): (String, i64, String, String) = (
                    r.try_get(0).unwrap_or_default(),
                    r.try_get(1).unwrap_or_default(),
                    r.try_get(2).unwrap_or_default(),
                    r.try_get(3).unwrap_or_default(),
                );
                format!("host {host}, pid {pid}, command {command}, since {since}")
            }
            None => "an unknown process".to_string(),
        };
        return Err(WatcherError::DbLocked {
            url: db.url.clone(),
            holder,
        });
    }
    let command: Vec<String> = std::env::args().collect();
    sqlx::query(
        "INSERT INTO watcher_writer (id, host, pid, command, since) VALUES (1, $1, $2, $3, now()) \
         ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, \
         command = EXCLUDED.command, since = EXCLUDED.since",
    )
    .bind(host())
    .bind(std::process::id() as i64)
    .bind(command.join(" "))
    .execute(&mut c)
    .await
    .map_err(WatcherError::db(what()))?;
    Ok(c)
}
