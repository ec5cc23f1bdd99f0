//! Reducers: pure functions of the ordered log (block time only, never the wall clock) that derive user
//! operations, per-sender and per-paymaster totals, workflows and time buckets.
//!
//! [`State::state_hash`] is SHA-256 over the canonical serialisation of the state ([`canon`]: a fixed
//! field order, sorted maps); the same log always gives the same hash, which `butler replay --verify`
//! checks against the checkpoint.

pub mod canon;
pub mod totals;
pub mod userops;
pub mod workflows;

use std::collections::{BTreeMap, VecDeque};

use alloy::primitives::B256;
use serde::Serialize;

use super::record::Record;
use canon::Canon;
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

    /// SHA-256 of the canonical serialisation ([`canon`]).
    pub fn state_hash(&self) -> B256 {
        let mut c = Canon::default();
        c.u64(self.events);
        c.map(
            &self.events_by_source,
            |c, k| c.str(k),
            |c, m| c.map(m, |c, k| c.str(k), |c, n| c.u64(*n)),
        );
        let o = &self.ops;
        for n in [o.total, o.succeeded, o.failed, o.with_post_op] {
            c.u64(n);
        }
        c.deque(&self.userops, |c, op| op.canon(c));
        self.totals.canon(&mut c);
        c.map(&self.workflows, |c, k| c.b256(k), |c, w| w.canon(c));
        c.finish()
    }
}

#[cfg(test)]
mod tests;
