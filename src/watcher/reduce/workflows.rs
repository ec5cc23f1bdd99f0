//! Workflows (x402-style contracts), as in the workflow observer: `WorkflowStarted` opens one as RUNNING;
//! `DecisionRecorded` with `approved = false` rejects it (REJECTED); `WorkflowCompleted` and
//! `WorkflowFailed` close it (COMPLETED, FAILED). Only a RUNNING workflow changes status; every event
//! still lands in its timeline. Events of a workflow never started create it with no initiator.

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;

use crate::watcher::record::Record;

/// A workflow's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    Running,
    Completed,
    Failed,
    Rejected,
}

impl WorkflowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::Running => "RUNNING",
            WorkflowStatus::Completed => "COMPLETED",
            WorkflowStatus::Failed => "FAILED",
            WorkflowStatus::Rejected => "REJECTED",
        }
    }
}

/// A decision of the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub approved: bool,
    pub reason: String,
    pub timestamp: u64,
    pub block_number: u64,
    pub tx_hash: B256,
}

/// A settlement of the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub from: Address,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub to: Address,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub amount: U256,
    pub timestamp: u64,
    pub block_number: u64,
    pub tx_hash: B256,
}

/// One event of a workflow's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub event: String,
    pub timestamp: u64,
    pub block_number: u64,
    pub tx_hash: B256,
    pub log_index: u64,
    /// A one-line description (`approved: Payment verified`, `100 from 0x.. to 0x..`).
    pub detail: String,
}

/// A workflow's derived state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub workflow_id: B256,
    pub status: WorkflowStatus,
    #[serde(serialize_with = "crate::chain::ser::opt_address")]
    pub initiator: Option<Address>,
    pub started_at: Option<u64>,
    /// When it reached a final status (COMPLETED, FAILED or REJECTED).
    pub completed_at: Option<u64>,
    pub failure_reason: Option<String>,
    pub last_event_block: u64,
    pub last_event_log_index: u64,
    pub decisions: Vec<Decision>,
    pub settlements: Vec<Settlement>,
    pub timeline: Vec<TimelineEntry>,
}

impl Workflow {
    fn new(id: B256) -> Workflow {
        Workflow {
            workflow_id: id,
            status: WorkflowStatus::Running,
            initiator: None,
            started_at: None,
            completed_at: None,
            failure_reason: None,
            last_event_block: 0,
            last_event_log_index: 0,
            decisions: Vec::new(),
            settlements: Vec::new(),
            timeline: Vec::new(),
        }
    }

    fn close(&mut self, status: WorkflowStatus, at: u64, reason: Option<String>) {
        if self.status == WorkflowStatus::Running {
            self.status = status;
            self.completed_at = Some(at);
            self.failure_reason = reason;
        }
    }
}

/// Applies a record to the workflows it concerns; returns false when it is not a workflow event.
pub fn apply(workflows: &mut std::collections::BTreeMap<B256, Workflow>, r: &Record) -> bool {
    let kind = r.event.as_str();
    if !matches!(
        kind,
        "WorkflowStarted"
            | "DecisionRecorded"
            | "SettlementRecorded"
            | "WorkflowCompleted"
            | "WorkflowFailed"
    ) {
        return false;
    }
    let Some(id) = r.arg_str("workflowId").and_then(|s| s.parse::<B256>().ok()) else {
        return false;
    };
    let w = workflows.entry(id).or_insert_with(|| Workflow::new(id));
    let ts = r.block_timestamp;
    let text = |name: &str| r.arg_str(name).unwrap_or_default().to_string();
    let addr = |name: &str| r.arg_str(name).and_then(|s| s.parse::<Address>().ok());
    let detail = match kind {
        "WorkflowStarted" => {
            if w.started_at.is_none() {
                w.started_at = Some(ts);
                w.initiator = addr("initiator");
            }
            format!(
                "started by {}",
                w.initiator.map(|a| a.to_checksum(None)).unwrap_or_default()
            )
        }
        "DecisionRecorded" => {
            let approved = r
                .args
                .get("approved")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let reason = text("reason");
            w.decisions.push(Decision {
                approved,
                reason: reason.clone(),
                timestamp: ts,
                block_number: r.block_number,
                tx_hash: r.tx_hash,
            });
            if !approved {
                w.close(WorkflowStatus::Rejected, ts, Some(reason.clone()));
            }
            format!(
                "{}: {reason}",
                if approved { "approved" } else { "rejected" }
            )
        }
        "SettlementRecorded" => {
            let s = Settlement {
                from: addr("from").unwrap_or_default(),
                to: addr("to").unwrap_or_default(),
                amount: r
                    .arg_str("amount")
                    .and_then(|a| U256::from_str_radix(a, 10).ok())
                    .unwrap_or_default(),
                timestamp: ts,
                block_number: r.block_number,
                tx_hash: r.tx_hash,
            };
            let d = format!(
                "{} from {} to {}",
                s.amount,
                s.from.to_checksum(None),
                s.to.to_checksum(None)
            );
            w.settlements.push(s);
            d
        }
        "WorkflowCompleted" => {
            w.close(WorkflowStatus::Completed, ts, None);
            "completed".to_string()
        }
        _ => {
            let reason = text("reason");
            w.close(WorkflowStatus::Failed, ts, Some(reason.clone()));
            format!("failed: {reason}")
        }
    };
    w.last_event_block = r.block_number;
    w.last_event_log_index = r.log_index;
    w.timeline.push(TimelineEntry {
        event: kind.to_string(),
        timestamp: ts,
        block_number: r.block_number,
        tx_hash: r.tx_hash,
        log_index: r.log_index,
        detail,
    });
    true
}

/// Counts by status (the observer's `/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkflowStats {
    pub total: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
}

impl WorkflowStats {
    pub fn of<'a>(workflows: impl IntoIterator<Item = &'a Workflow>) -> WorkflowStats {
        let mut s = WorkflowStats::default();
        for w in workflows {
            s.total += 1;
            match w.status {
                WorkflowStatus::Running => s.running += 1,
                WorkflowStatus::Completed => s.completed += 1,
                WorkflowStatus::Failed => s.failed += 1,
                WorkflowStatus::Rejected => s.rejected += 1,
            }
        }
        s
    }
}

impl Workflow {
    /// Canonical encoding for the state hash.
    pub fn canon(&self, c: &mut super::canon::Canon) {
        c.b256(&self.workflow_id);
        c.str(self.status.as_str());
        c.opt(&self.initiator, |c, a| c.address(a));
        c.opt(&self.started_at, |c, t| c.u64(*t));
        c.opt(&self.completed_at, |c, t| c.u64(*t));
        c.opt(&self.failure_reason, |c, r| c.str(r));
        c.u64(self.last_event_block);
        c.u64(self.last_event_log_index);
        c.seq(self.decisions.iter(), |c, d| {
            c.bool(d.approved);
            c.str(&d.reason);
            c.u64(d.timestamp);
            c.u64(d.block_number);
            c.b256(&d.tx_hash);
        });
        c.seq(self.settlements.iter(), |c, s| {
            c.address(&s.from);
            c.address(&s.to);
            c.u256(&s.amount);
            c.u64(s.timestamp);
            c.u64(s.block_number);
            c.b256(&s.tx_hash);
        });
        c.seq(self.timeline.iter(), |c, e| {
            c.str(&e.event);
            c.u64(e.timestamp);
            c.u64(e.block_number);
            c.b256(&e.tx_hash);
            c.u64(e.log_index);
            c.str(&e.detail);
        });
    }
}
