//! `butler store copy`: the configured store copied into another (NDJSON → PostgreSQL, or back into a data
//! dir), record by record in canonical order, committed in batches with a checkpoint of the prefix copied
//! so far, so an interrupted copy resumes where it stopped. The copy ends with the source's checkpoint, and
//! is checked to give its state hash.
//!
//! A target holding an earlier copy of the same store (same chain and sources, the state hash of the
//! source at its last block) is resumed; any other non-empty target is refused unless `force`, which
//! empties it first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::WatcherError;
use super::backend::{StoreReader, StoreSettings};
use super::checkpoint::{BlockRef, Checkpoint};
use super::fetch::RangeBatch;
use super::record::Record;
use super::reduce::State;
use super::reorg::extend_window;
use super::writer::Writer;

/// Records per committed batch of a copy.
pub const COPY_BATCH: usize = 20_000;

/// What a copy did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopySummary {
    pub from: String,
    pub to: String,
    /// Records written by this run.
    pub copied: u64,
    /// Records the target already held (an interrupted copy resumed).
    pub resumed_from: u64,
    pub events: u64,
    pub last_block: Option<u64>,
    pub state_hash: String,
    pub seconds: f64,
}

/// Copies `from` into `to`.
pub async fn copy(
    from: &StoreSettings,
    to: &StoreSettings,
    force: bool,
) -> Result<CopySummary, WatcherError> {
    let started = Instant::now();
    let reader = StoreReader::open(from).await?;
    let src = reader.checkpoint().clone();
    let names: Vec<String> = src.sources.iter().map(|s| s.name.clone()).collect();
    let mut writer = Writer::open(to, names).await?;
    let mut existing = writer.load_checkpoint().await?;
    if force {
        writer.wipe().await?;
        existing = None;
    } else if let Some(t) = &existing {
        check_resumable(to, &src, t)?;
    } else {
        writer.refuse_orphan_events().await?;
    }
    let mut cp = match existing {
        Some(t) => t,
        None => {
            let cp = Checkpoint {
                last_block: None,
                last_block_hash: None,
                recent: Vec::new(),
                state_hash: State::new(src.retention_max).state_hash(),
                events: 0,
                ..src.clone()
            };
            writer.init(&cp).await?;
            cp
        }
    };
    let (target_state, _) = writer.replay(cp.last_block, src.retention_max).await?;
    let resumed_from = target_state.events;
    let mut state = State::new(src.retention_max);
    let mut batch: Vec<Record> = Vec::new();
    let mut copied = 0u64;
    let mut checked = cp.last_block.is_none();
    let mut last_report = Instant::now();
    for r in reader.records()? {
        let r = r?;
        if !checked && cp.last_block.is_some_and(|l| r.block_number > l) {
            same_prefix(to, &cp, &state)?;
            checked = true;
        }
        state.apply(&r);
        if !checked {
            continue;
        }
        if batch.len() >= COPY_BATCH
            && batch
                .last()
                .is_some_and(|l| l.block_number != r.block_number)
        {
            copied += commit(&mut writer, &mut cp, &state, std::mem::take(&mut batch)).await?;
            if last_report.elapsed() >= Duration::from_secs(5) {
                last_report = Instant::now();
                tracing::info!(copied, block = ?cp.last_block, "copying the event store");
            }
        }
        batch.push(r);
    }
    if !checked {
        same_prefix(to, &cp, &state)?;
    }
    if !batch.is_empty() {
        copied += commit(&mut writer, &mut cp, &state, batch).await?;
    }
    if state.state_hash() != src.state_hash || state.events != src.events {
        return Err(WatcherError::Mismatch {
            path: to.describe().into(),
            found: format!(
                "state hash {} over {} events",
                state.state_hash(),
                state.events
            ),
            configured: format!(
                "the source's checkpoint: state hash {} over {} events",
                src.state_hash, src.events
            ),
            hint: "run `butler replay --verify` on the source; the target keeps the copied prefix"
                .into(),
        });
    }
    let empty = Arc::new(RangeBatch {
        to: src.last_block.unwrap_or_default(),
        end: BlockRef {
            number: src.last_block.unwrap_or_default(),
            hash: src.last_block_hash.unwrap_or_default(),
        },
        records: Vec::new(),
    });
    writer.append(empty).await?;
    writer.commit(&src, &state).await?;
    Ok(CopySummary {
        from: from.describe(),
        to: to.describe(),
        copied,
        resumed_from,
        events: src.events,
        last_block: src.last_block,
        state_hash: src.state_hash.to_string(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Appends a batch (whole blocks) and commits it with the checkpoint of the prefix copied so far.
async fn commit(
    writer: &mut Writer,
    cp: &mut Checkpoint,
    state: &State,
    records: Vec<Record>,
) -> Result<u64, WatcherError> {
    let Some(last) = records.last() else {
        return Ok(0);
    };
    let end = BlockRef {
        number: last.block_number,
        hash: last.block_hash,
    };
    let mut seen: Vec<BlockRef> = Vec::new();
    for r in &records {
        if seen.last().is_none_or(|b| b.number != r.block_number) {
            seen.push(BlockRef {
                number: r.block_number,
                hash: r.block_hash,
            });
        }
    }
    extend_window(&mut cp.recent, seen);
    let appended = writer
        .append(Arc::new(RangeBatch {
            to: end.number,
            end,
            records,
        }))
        .await?;
    cp.last_block = Some(end.number);
    cp.last_block_hash = Some(end.hash);
    cp.events = state.events;
    cp.state_hash = state.state_hash();
    writer.commit(cp, state).await?;
    Ok(appended.written)
}

/// A target with a checkpoint is resumed only when it is a copy of the same chain and sources, not ahead.
fn check_resumable(
    to: &StoreSettings,
    src: &Checkpoint,
    t: &Checkpoint,
) -> Result<(), WatcherError> {
    let same_sources = t.sources.len() == src.sources.len()
        && t.sources
            .iter()
            .zip(&src.sources)
            .all(|(a, b)| a.same_source(b));
    let behind = match (t.last_block, src.last_block) {
        (None, _) => true,
        (Some(a), Some(b)) => a <= b,
        (Some(_), None) => false,
    };
    if t.chain_id == src.chain_id && same_sources && t.retention_max == src.retention_max && behind
    {
        return Ok(());
    }
    Err(not_empty(
        to,
        format!(
            "a store of chain id {} up to block {} with sources [{}]",
            t.chain_id,
            t.last_block.map_or("-".to_string(), |b| b.to_string()),
            t.sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// At the target's last block the source's state must be the target's: then the target is a prefix.
fn same_prefix(to: &StoreSettings, t: &Checkpoint, src_state: &State) -> Result<(), WatcherError> {
    if src_state.events == t.events && src_state.state_hash() == t.state_hash {
        return Ok(());
    }
    Err(not_empty(
        to,
        format!(
            "{} events up to block {} that differ from the source's",
            t.events,
            t.last_block.map_or("-".to_string(), |b| b.to_string())
        ),
    ))
}

fn not_empty(to: &StoreSettings, found: String) -> WatcherError {
    WatcherError::CopyTarget {
        to: to.describe(),
        found,
    }
}
