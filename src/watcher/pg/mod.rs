//! The watcher's store in PostgreSQL: the workflow observer's `chain_event` (the immutable event log) and
//! `workflow_state` (derived) tables, the `watcher_checkpoint` row and the `watcher_writer` row, created by
//! the embedded migrations in `migrations/watcher/postgres` (versions 1000–1999). Queries are built at run
//! time with bound parameters.
//!
//! - [`rows`]: records and workflows as rows (multi-row inserts with `UNNEST`).
//! - [`writer`]: the indexer's side: one transaction per batch and checkpoint, rollbacks, the advisory lock.
//! - [`follow`]: a read-only API process's state, built from the table and kept fresh by `LISTEN/NOTIFY`.
//! - [`health`]: what `/health/db` reports about the database.

pub mod follow;
pub mod health;
pub mod rows;
pub mod writer;

use futures::TryStreamExt;
use sqlx::{PgPool, Row};

use super::WatcherError;
use super::checkpoint::Checkpoint;
use super::record::{Position, Record};
use super::reduce::State;
use crate::pg::PgDatabase;

/// The channel the writer notifies (with the last committed block) in every committing transaction.
pub const CHANNEL: &str = "butler_watcher";

/// The first version of the watcher's migrations (the fee manager's stay below it).
pub const FIRST_VERSION: i64 = 1000;

/// Connects and applies the watcher's migrations.
pub async fn connect(db: &PgDatabase, max: u32) -> Result<PgPool, WatcherError> {
    let pool = db
        .pool(max)
        .await
        .map_err(WatcherError::db(format!("connect to {}", db.describe())))?;
    crate::pg::migrate(sqlx::migrate!("migrations/watcher/postgres"), &pool)
        .await
        .map_err(|e| WatcherError::Migrate {
            url: db.url.clone(),
            message: e.to_string(),
        })?;
    Ok(pool)
}

/// The checkpoint row; `None` before the first indexer ran.
pub async fn load_checkpoint<'e>(
    c: impl sqlx::PgExecutor<'e>,
) -> Result<Option<Checkpoint>, WatcherError> {
    let row = sqlx::query("SELECT checkpoint::text FROM watcher_checkpoint WHERE id = 1")
        .fetch_optional(c)
        .await
        .map_err(WatcherError::db("read the checkpoint row"))?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row
        .try_get(0)
        .map_err(WatcherError::db("read the checkpoint row"))?;
    let cp: Checkpoint = serde_json::from_str(&text).map_err(|e| WatcherError::Checkpoint {
        path: "watcher_checkpoint".into(),
        message: e.to_string(),
    })?;
    if cp.format_version != super::checkpoint::FORMAT_VERSION {
        return Err(WatcherError::Checkpoint {
            path: "watcher_checkpoint".into(),
            message: format!(
                "format version {} (this butler reads version {})",
                cp.format_version,
                super::checkpoint::FORMAT_VERSION
            ),
        });
    }
    Ok(Some(cp))
}

/// Writes the checkpoint row (inside the caller's transaction).
pub async fn save_checkpoint(
    c: &mut sqlx::PgConnection,
    cp: &Checkpoint,
) -> Result<(), WatcherError> {
    let json = serde_json::to_string(cp).map_err(|e| WatcherError::Checkpoint {
        path: "watcher_checkpoint".into(),
        message: e.to_string(),
    })?;
    sqlx::query(
        "INSERT INTO watcher_checkpoint \
         (id, chain_id, last_block, last_block_hash, state_hash, events, reorgs, checkpoint, updated_at) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7::jsonb, now()) \
         ON CONFLICT (id) DO UPDATE SET chain_id = EXCLUDED.chain_id, last_block = EXCLUDED.last_block, \
         last_block_hash = EXCLUDED.last_block_hash, state_hash = EXCLUDED.state_hash, \
         events = EXCLUDED.events, reorgs = EXCLUDED.reorgs, checkpoint = EXCLUDED.checkpoint, \
         updated_at = now()",
    )
    .bind(cp.chain_id as i64)
    .bind(cp.last_block.map(|b| b as i64))
    .bind(cp.last_block_hash.map(|h| h.to_string()))
    .bind(cp.state_hash.to_string())
    .bind(cp.events as i64)
    .bind(cp.reorgs as i64)
    .bind(json)
    .execute(&mut *c)
    .await
    .map_err(WatcherError::db("write the checkpoint row"))?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(cp.last_block.map_or(String::new(), |b| b.to_string()))
        .execute(&mut *c)
        .await
        .map_err(WatcherError::db("notify the readers"))?;
    Ok(())
}

/// Whether the table holds any event.
pub async fn has_events(pool: &PgPool) -> Result<bool, WatcherError> {
    let row = sqlx::query("SELECT EXISTS (SELECT 1 FROM chain_event)")
        .fetch_one(pool)
        .await
        .map_err(WatcherError::db("read chain_event"))?;
    row.try_get(0).map_err(WatcherError::db("read chain_event"))
}

/// Streams the records with `after < block_number <= upto` in canonical order into `each`; returns the
/// last position seen.
pub async fn for_each_record<'e>(
    c: impl sqlx::PgExecutor<'e>,
    after: Option<u64>,
    upto: Option<u64>,
    mut each: impl FnMut(Record),
) -> Result<Option<Position>, WatcherError> {
    let Some(upto) = upto else { return Ok(None) };
    let sql = format!(
        "SELECT {} FROM chain_event WHERE block_number > $1 AND block_number <= $2 \
         ORDER BY block_number, transaction_index, log_index",
        rows::COLUMNS
    );
    let mut stream = sqlx::query(&sql)
        .bind(after.map_or(-1, |a| a as i64))
        .bind(upto as i64)
        .fetch(c);
    let mut last = None;
    while let Some(row) = stream
        .try_next()
        .await
        .map_err(WatcherError::db("read chain_event"))?
    {
        let r = rows::record(&row)?;
        last = Some(r.position());
        each(r);
    }
    Ok(last)
}

/// Every committed record up to `upto`, in canonical order.
pub async fn records(pool: &PgPool, upto: Option<u64>) -> Result<Vec<Record>, WatcherError> {
    let mut out = Vec::new();
    for_each_record(pool, None, upto, |r| out.push(r)).await?;
    Ok(out)
}

/// The state rebuilt from the table up to `upto`, and the last position applied.
pub async fn replay(
    pool: &PgPool,
    upto: Option<u64>,
    retention_max: usize,
) -> Result<(State, Option<Position>), WatcherError> {
    let mut state = State::new(retention_max);
    let last = for_each_record(pool, None, upto, |r| state.apply(&r)).await?;
    Ok((state, last))
}
