//! Replay: the state rebuilt from the log alone. The writer replays on start (and after a reorg, up to the
//! fork point); `butler replay --verify` compares the rebuilt state hash with the checkpoint's ([`Verification`]).

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use serde::Serialize;

use super::WatcherError;
use super::checkpoint::Checkpoint;
use super::read::MergedRecords;
use super::record::Position;
use super::reduce::State;

/// A rebuilt state.
pub struct Replayed {
    pub state: State,
    /// Position of the last record applied.
    pub last: Option<Position>,
    pub elapsed: Duration,
}

/// Rebuilds the state from the given sources' logs up to `upto` (inclusive).
pub fn replay(
    chain_dir: &Path,
    sources: impl IntoIterator<Item = String>,
    upto: Option<u64>,
    retention_max: usize,
) -> Result<Replayed, WatcherError> {
    let started = Instant::now();
    let mut state = State::new(retention_max);
    let mut last = None;
    for r in MergedRecords::open(chain_dir, sources, upto)? {
        let r = r?;
        last = Some(r.position());
        state.apply(&r);
    }
    Ok(Replayed {
        state,
        last,
        elapsed: started.elapsed(),
    })
}

/// The outcome of `butler replay --verify`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub last_block: Option<u64>,
    pub events: u64,
    pub checkpoint_events: u64,
    pub expected_state_hash: B256,
    pub replayed_state_hash: B256,
    pub matches: bool,
    pub seconds: f64,
    pub events_per_sec: f64,
}

impl Verification {
    /// Compares a replayed state with the checkpoint it was replayed for.
    pub fn of(cp: &Checkpoint, r: &Replayed) -> Verification {
        let actual = r.state.state_hash();
        let seconds = r.elapsed.as_secs_f64();
        Verification {
            last_block: cp.last_block,
            events: r.state.events,
            checkpoint_events: cp.events,
            expected_state_hash: cp.state_hash,
            replayed_state_hash: actual,
            matches: actual == cp.state_hash && r.state.events == cp.events,
            seconds,
            events_per_sec: if seconds > 0.0 {
                r.state.events as f64 / seconds
            } else {
                0.0
            },
        }
    }
}
