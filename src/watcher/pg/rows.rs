//! Records and workflows as rows: hashes as 0x hex, addresses checksummed, the decoded arguments as the
//! `payload` JSONB. Writes are multi-row: one `INSERT ... SELECT FROM UNNEST(arrays)` per chunk.

use alloy::primitives::{Address, B256};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::watcher::WatcherError;
use crate::watcher::record::{Record, checksum};
use crate::watcher::reduce::workflows::Workflow;

/// The columns [`record`] reads, in order.
pub const COLUMNS: &str = "chain_id, block_number, block_hash, block_timestamp, tx_hash, transaction_index, \
     log_index, address, source, event_type, payload::text, tx_from";

/// Rows per insert statement.
const CHUNK: usize = 10_000;

fn bad(message: String) -> WatcherError {
    WatcherError::Record {
        path: "chain_event".into(),
        line: 0,
        message,
    }
}

fn u(row: &PgRow, i: usize) -> Result<u64, WatcherError> {
    let v: i64 = row
        .try_get(i)
        .map_err(WatcherError::db("read chain_event"))?;
    u64::try_from(v).map_err(|_| bad(format!("negative value {v} in column {i}")))
}

fn s(row: &PgRow, i: usize) -> Result<String, WatcherError> {
    row.try_get(i).map_err(WatcherError::db("read chain_event"))
}

fn hash(row: &PgRow, i: usize) -> Result<B256, WatcherError> {
    let text = s(row, i)?;
    text.parse()
        .map_err(|e| bad(format!("`{text}` is not a 32-byte hash: {e}")))
}

fn address(text: &str) -> Result<Address, WatcherError> {
    text.parse()
        .map_err(|e| bad(format!("`{text}` is not an address: {e}")))
}

/// A record from a row selected with [`COLUMNS`].
pub fn record(row: &PgRow) -> Result<Record, WatcherError> {
    let payload = s(row, 10)?;
    let tx_from: Option<String> = row
        .try_get(11)
        .map_err(WatcherError::db("read chain_event"))?;
    Ok(Record {
        chain_id: u(row, 0)?,
        block_number: u(row, 1)?,
        block_hash: hash(row, 2)?,
        block_timestamp: u(row, 3)?,
        tx_hash: hash(row, 4)?,
        tx_index: u(row, 5)?,
        log_index: u(row, 6)?,
        address: address(&s(row, 7)?)?,
        source: s(row, 8)?,
        event: s(row, 9)?,
        args: serde_json::from_str(&payload)
            .map_err(|e| bad(format!("payload is not a JSON object: {e}")))?,
        tx_from: tx_from.as_deref().map(address).transpose()?,
    })
}

/// Inserts records (multi-row, in chunks); a record already stored (same transaction hash and log index)
/// is a no-op. Returns the rows inserted.
pub async fn insert_records(
    c: &mut sqlx::PgConnection,
    records: &[&Record],
) -> Result<u64, WatcherError> {
    let mut inserted = 0;
    for chunk in records.chunks(CHUNK) {
        let n = chunk.len();
        let (mut wf, mut ev, mut pl) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut bn, mut ti, mut li) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut th, mut bh, mut bt) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut ci, mut so, mut ad, mut tf) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in chunk {
            wf.push(
                r.arg_str("workflowId")
                    .filter(|_| is_workflow_event(&r.event))
                    .map(str::to_string),
            );
            ev.push(r.event.clone());
            pl.push(serde_json::to_string(&r.args).map_err(|e| bad(e.to_string()))?);
            bn.push(r.block_number as i64);
            ti.push(r.tx_index as i64);
            li.push(r.log_index as i64);
            th.push(r.tx_hash.to_string());
            bh.push(r.block_hash.to_string());
            bt.push(r.block_timestamp as i64);
            ci.push(r.chain_id as i64);
            so.push(r.source.clone());
            ad.push(checksum(&r.address));
            tf.push(r.tx_from.as_ref().map(checksum));
        }
        let done = sqlx::query(
            "INSERT INTO chain_event (workflow_id, event_type, payload, block_number, transaction_index, \
             log_index, tx_hash, block_hash, block_timestamp, chain_id, source, address, tx_from) \
             SELECT w, e, p::jsonb, b, ti, li, th, bh, bt, c, s, a, f FROM UNNEST($1::text[], $2::text[], \
             $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::text[], $8::text[], $9::int8[], $10::int8[], \
             $11::text[], $12::text[], $13::text[]) AS t(w, e, p, b, ti, li, th, bh, bt, c, s, a, f) \
             ON CONFLICT (tx_hash, log_index) DO NOTHING",
        )
        .bind(wf)
        .bind(ev)
        .bind(pl)
        .bind(bn)
        .bind(ti)
        .bind(li)
        .bind(th)
        .bind(bh)
        .bind(bt)
        .bind(ci)
        .bind(so)
        .bind(ad)
        .bind(tf)
        .execute(&mut *c)
        .await
        .map_err(WatcherError::db("insert into chain_event"))?;
        inserted += done.rows_affected();
    }
    Ok(inserted)
}

/// The events the workflow reducer reads (their `workflowId` goes into the `workflow_id` column).
pub fn is_workflow_event(event: &str) -> bool {
    matches!(
        event,
        "WorkflowStarted"
            | "DecisionRecorded"
            | "SettlementRecorded"
            | "WorkflowCompleted"
            | "WorkflowFailed"
    )
}

/// Upserts workflows into `workflow_state`.
pub async fn upsert_workflows(
    c: &mut sqlx::PgConnection,
    workflows: &[&Workflow],
) -> Result<(), WatcherError> {
    for chunk in workflows.chunks(CHUNK) {
        let id: Vec<String> = chunk.iter().map(|w| w.workflow_id.to_string()).collect();
        let st: Vec<&str> = chunk.iter().map(|w| w.status.as_str()).collect();
        let ini: Vec<Option<String>> = chunk
            .iter()
            .map(|w| w.initiator.as_ref().map(checksum))
            .collect();
        let sa: Vec<Option<i64>> = chunk
            .iter()
            .map(|w| w.started_at.map(|t| t as i64))
            .collect();
        let ca: Vec<Option<i64>> = chunk
            .iter()
            .map(|w| w.completed_at.map(|t| t as i64))
            .collect();
        let fr: Vec<Option<String>> = chunk.iter().map(|w| w.failure_reason.clone()).collect();
        let lb: Vec<i64> = chunk.iter().map(|w| w.last_event_block as i64).collect();
        let ll: Vec<i64> = chunk
            .iter()
            .map(|w| w.last_event_log_index as i64)
            .collect();
        sqlx::query(
            "INSERT INTO workflow_state (workflow_id, status, initiator, started_at, completed_at, \
             failure_reason, last_event_block, last_event_log_index) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], \
             $7::int8[], $8::int8[]) \
             ON CONFLICT (workflow_id) DO UPDATE SET status = EXCLUDED.status, initiator = EXCLUDED.initiator, \
             started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at, \
             failure_reason = EXCLUDED.failure_reason, last_event_block = EXCLUDED.last_event_block, \
             last_event_log_index = EXCLUDED.last_event_log_index",
        )
        .bind(id)
        .bind(st)
        .bind(ini)
        .bind(sa)
        .bind(ca)
        .bind(fr)
        .bind(lb)
        .bind(ll)
        .execute(&mut *c)
        .await
        .map_err(WatcherError::db("upsert workflow_state"))?;
    }
    Ok(())
}
