//! Unit tests of the reducers on hand-made records.

use alloy::primitives::{Address, B256};
use serde_json::{Map, Value, json};

use super::State;
use super::userops::{PostOpMode, UserOpFilter, query};
use super::workflows::{WorkflowStats, WorkflowStatus};
use crate::watcher::record::Record;

fn rec(block: u64, tx: u8, log: u64, event: &str, address: Address, args: Value) -> Record {
    let Value::Object(args) = args else {
        panic!("args must be an object")
    };
    Record {
        chain_id: 31337,
        block_number: block,
        block_hash: B256::repeat_byte(block as u8),
        block_timestamp: 1_700_000_000 + block * 12,
        tx_hash: B256::repeat_byte(tx),
        tx_index: 0,
        log_index: log,
        address,
        source: "s".into(),
        event: event.into(),
        args: args as Map<String, Value>,
        tx_from: Some(Address::repeat_byte(0xbb)),
    }
}

const EP: Address = Address::repeat_byte(0xee);
const PM: Address = Address::repeat_byte(0xaa);
const TOKEN: Address = Address::repeat_byte(0x70);

fn op(block: u64, tx: u8, log: u64, hash: u8, sender: u8, pm: Address, ok: bool) -> Record {
    rec(
        block,
        tx,
        log,
        "UserOperationEvent",
        EP,
        json!({
            "userOpHash": B256::repeat_byte(hash).to_string(),
            "sender": Address::repeat_byte(sender).to_checksum(None),
            "paymaster": pm.to_checksum(None),
            "nonce": "0",
            "success": ok,
            "actualGasCost": "1000",
            "actualGasUsed": "100",
        }),
    )
}

fn post(block: u64, tx: u8, log: u64, hash: u8, fee: &str, mode: &str) -> Record {
    rec(
        block,
        tx,
        log,
        "PostOpHandled",
        PM,
        json!({
            "userOpHash": B256::repeat_byte(hash).to_string(),
            "sender": Address::repeat_byte(1).to_checksum(None),
            "token": TOKEN.to_checksum(None),
            "actualGasCost": "1000",
            "feeAmount": fee,
            "mode": mode,
        }),
    )
}

fn log() -> Vec<Record> {
    vec![
        post(1, 1, 0, 1, "5", "0"),
        op(1, 1, 1, 1, 1, PM, true),
        post(2, 2, 0, 2, "7", "1"),
        op(2, 2, 1, 2, 1, PM, false),
        op(3, 3, 0, 3, 2, Address::ZERO, true),
    ]
}

#[test]
fn userops_join_their_post_op() {
    let mut s = State::new(10);
    for r in log() {
        s.apply(&r);
    }
    assert_eq!(s.ops.total, 3);
    assert_eq!(s.ops.with_post_op, 2);
    let first = &s.userops[0];
    assert_eq!(first.fee_amount.map(|f| f.to::<u64>()), Some(5));
    assert_eq!(first.post_op_mode, Some(PostOpMode::OpSucceeded));
    assert_eq!(first.bundler, Some(Address::repeat_byte(0xbb)));
    assert_eq!(s.userops[1].post_op_mode, Some(PostOpMode::OpReverted));
    assert_eq!(s.userops[2].fee_amount, None);
    let pm = &s.totals.paymasters[&PM];
    assert_eq!(pm.sponsored_ops, 2);
    assert_eq!(pm.fees_by_token[&TOKEN].to::<u64>(), 12);
    let sender = &s.totals.senders[&Address::repeat_byte(1)];
    assert_eq!((sender.total, sender.failed), (2, 1));
    assert_eq!(sender.total_fee_amount.to::<u64>(), 12);
    let v = serde_json::to_value(first).unwrap();
    assert_eq!(v["postOpMode"], "opSucceeded");
    assert_eq!(v["actualGasCostWei"], "1000");
    assert_eq!(v["feeAmount"], "5");
}

#[test]
fn the_hash_is_a_function_of_the_log() {
    let hash = |records: &[Record], keep: usize| {
        let mut s = State::new(keep);
        for r in records {
            s.apply(r);
        }
        s.state_hash()
    };
    let l = log();
    assert_eq!(hash(&l, 10), hash(&l, 10));
    assert_ne!(hash(&l, 10), hash(&l[..4], 10));
    assert_ne!(hash(&l, 10), hash(&l, 1));
}

#[test]
fn retention_keeps_the_newest() {
    let mut s = State::new(2);
    for r in log() {
        s.apply(&r);
    }
    assert_eq!(s.userops.len(), 2);
    assert_eq!(s.userops[1].block_number, 3);
    assert_eq!(s.ops.total, 3);
}

#[test]
fn query_filters_and_limits_newest_first() {
    let records = log().into_iter().map(Ok::<_, ()>);
    let all = query(records.clone(), &UserOpFilter::default(), 10).unwrap();
    assert_eq!(
        all.iter().map(|o| o.block_number).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    let f = UserOpFilter {
        paymaster: Some(PM),
        success: Some(false),
        ..Default::default()
    };
    let some = query(records.clone(), &f, 10).unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].fee_amount.map(|f| f.to::<u64>()), Some(7));
    assert_eq!(
        query(records.clone(), &UserOpFilter::default(), 1)
            .unwrap()
            .len(),
        1
    );
    let range = UserOpFilter {
        from_block: Some(2),
        to_block: Some(2),
        ..Default::default()
    };
    let blocks: Vec<u64> = query(records, &range, 10)
        .unwrap()
        .iter()
        .map(|o| o.block_number)
        .collect();
    assert_eq!(blocks, vec![2], "the block range is inclusive at both ends");
}

#[test]
fn workflows_reach_each_final_status() {
    let wf = |n: u8| B256::repeat_byte(n).to_string();
    let who = Address::repeat_byte(9).to_checksum(None);
    let records = vec![
        rec(
            1,
            1,
            0,
            "WorkflowStarted",
            EP,
            json!({"workflowId": wf(1), "initiator": who}),
        ),
        rec(
            1,
            1,
            1,
            "WorkflowStarted",
            EP,
            json!({"workflowId": wf(2), "initiator": who}),
        ),
        rec(
            1,
            1,
            2,
            "WorkflowStarted",
            EP,
            json!({"workflowId": wf(3), "initiator": who}),
        ),
        rec(
            1,
            1,
            3,
            "WorkflowStarted",
            EP,
            json!({"workflowId": wf(4), "initiator": who}),
        ),
        rec(
            2,
            2,
            0,
            "DecisionRecorded",
            EP,
            json!({"workflowId": wf(1), "approved": true, "reason": "ok"}),
        ),
        rec(
            2,
            2,
            1,
            "SettlementRecorded",
            EP,
            json!({"workflowId": wf(1), "from": who, "to": who, "amount": "100"}),
        ),
        rec(
            3,
            3,
            0,
            "WorkflowCompleted",
            EP,
            json!({"workflowId": wf(1)}),
        ),
        rec(
            3,
            3,
            1,
            "WorkflowFailed",
            EP,
            json!({"workflowId": wf(2), "reason": "timeout"}),
        ),
        rec(
            3,
            3,
            2,
            "DecisionRecorded",
            EP,
            json!({"workflowId": wf(3), "approved": false, "reason": "no funds"}),
        ),
        rec(
            4,
            4,
            0,
            "WorkflowCompleted",
            EP,
            json!({"workflowId": wf(3)}),
        ),
    ];
    let mut s = State::new(0);
    for r in &records {
        s.apply(r);
    }
    let get = |n: u8| &s.workflows[&B256::repeat_byte(n)];
    assert_eq!(get(1).status, WorkflowStatus::Completed);
    assert_eq!(get(1).timeline.len(), 4);
    assert_eq!(get(1).settlements[0].amount.to::<u64>(), 100);
    assert_eq!(get(2).status, WorkflowStatus::Failed);
    assert_eq!(get(2).failure_reason.as_deref(), Some("timeout"));
    assert_eq!(get(3).status, WorkflowStatus::Rejected);
    assert_eq!(
        get(3).timeline.len(),
        3,
        "events after the final status stay in the timeline"
    );
    assert_eq!(get(4).status, WorkflowStatus::Running);
    let stats = WorkflowStats::of(s.workflows.values());
    assert_eq!(
        (
            stats.total,
            stats.running,
            stats.completed,
            stats.failed,
            stats.rejected
        ),
        (4, 1, 1, 1, 1)
    );
    let v = serde_json::to_value(&s).unwrap();
    assert!(v["workflows"].get(wf(1)).is_some());
    assert_eq!(v["workflows"][wf(3)]["status"], "REJECTED");
}
