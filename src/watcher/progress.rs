//! What the indexer reports while it works: the pass, the committed block, counts and the fetch range.

use super::checkpoint::ReorgRecord;

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
    /// The newest reorganisations rolled back, oldest first.
    pub recent_reorgs: Vec<ReorgRecord>,
    /// Blocks per `eth_getLogs` right now, and refusals so far.
    pub range: u64,
    pub range_refusals: u64,
    pub caught_up: bool,
    /// The chain head seen at the start of the last pass.
    pub chain_head: Option<u64>,
}
