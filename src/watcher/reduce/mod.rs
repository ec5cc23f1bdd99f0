//! Reducers: pure functions of the ordered log (block time only, never the wall clock) that derive user
//! operations, per-sender and per-paymaster totals, workflows and time buckets.
//!
//! [`State::state_hash`] is keccak-256 over the canonical serialisation of the state (JSON with sorted
//! maps and fixed field order); the same log always gives the same hash, which `butler replay --verify`
//! checks against the checkpoint.

pub mod totals;
pub mod userops;
pub mod workflows;

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;

use alloy::primitives::{B256, Keccak256};
use serde::Serialize;

use super::record::Record;
use totals::Totals;
use userops::{Fact, Join, UserOp};
use workflows::Workflow;

/// Counts of user operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpCounts {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Operations joined with a `PostOpHandled`.
    pub with_post_op: u64,
}

/// Everything derived from the log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Records applied.
    pub events: u64,
    /// Records by source, then event name.
    pub events_by_source: BTreeMap<String, BTreeMap<String, u64>>,
    pub ops: OpCounts,
    /// The most recent user operations, oldest first (at most `retention_max`).
    pub userops: VecDeque<UserOp>,
    pub totals: Totals,
    pub workflows: BTreeMap<B256, Workflow>,
    #[serde(skip)]
    retention_max: usize,
    #[serde(skip)]
    join: Join,
}

impl State {
    /// An empty state that keeps the `retention_max` most recent user operations.
    pub fn new(retention_max: usize) -> State {
        State {
            events: 0,
            events_by_source: BTreeMap::new(),
            ops: OpCounts::default(),
            userops: VecDeque::new(),
            totals: Totals::default(),
            workflows: BTreeMap::new(),
            retention_max,
            join: Join::default(),
        }
    }

    /// Applies the next record (canonical order).
    pub fn apply(&mut self, r: &Record) {
        self.events += 1;
        let by_event = match self.events_by_source.get_mut(&r.source) {
            Some(m) => m,
            None => self.events_by_source.entry(r.source.clone()).or_default(),
        };
        match by_event.get_mut(&r.event) {
            Some(n) => *n += 1,
            None => {
                by_event.insert(r.event.clone(), 1);
            }
        }
        if workflows::apply(&mut self.workflows, r) {
            return;
        }
        match self.join.feed(r) {
            Some(Fact::UserOp(op)) => {
                self.ops.total += 1;
                if op.success {
                    self.ops.succeeded += 1;
                } else {
                    self.ops.failed += 1;
                }
                if op.fee_amount.is_some() {
                    self.ops.with_post_op += 1;
                }
                self.totals.add_op(&op);
                if self.retention_max > 0 {
                    if self.userops.len() >= self.retention_max {
                        self.userops.pop_front();
                    }
                    self.userops.push_back(op);
                }
            }
            Some(Fact::PostOp(post)) => self.totals.add_post_op(&post, r.block_timestamp),
            None => {}
        }
    }

    /// keccak-256 of the canonical serialisation.
    pub fn state_hash(&self) -> B256 {
        struct HashWriter(Keccak256);
        impl Write for HashWriter {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut w = std::io::BufWriter::with_capacity(1 << 16, HashWriter(Keccak256::new()));
        // serialising plain structs, string-keyed maps and numbers into a hasher cannot fail
        let _ = serde_json::to_writer(&mut w, self);
        let _ = w.flush();
        w.into_parts().0.0.finalize()
    }
}

#[cfg(test)]
mod tests;
