//! User operations: each EntryPoint `UserOperationEvent`, joined with the `PostOpHandled` its paymaster
//! emitted for the same operation, in the seed's `userops` shape.
//!
//! The EntryPoint (v0.6, v0.7, v0.8) calls `postOp` before it emits `UserOperationEvent`, so the join keeps
//! the `PostOpHandled` of the current transaction until the matching operation arrives.

use std::collections::HashMap;

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;

use crate::watcher::record::Record;

/// The post-op mode of `PostOpHandled` (0 opSucceeded, 1 opReverted, 2 postOpReverted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PostOpMode {
    OpSucceeded,
    OpReverted,
    PostOpReverted,
}

impl PostOpMode {
    pub fn from_u8(m: u8) -> Option<PostOpMode> {
        match m {
            0 => Some(PostOpMode::OpSucceeded),
            1 => Some(PostOpMode::OpReverted),
            2 => Some(PostOpMode::PostOpReverted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PostOpMode::OpSucceeded => "opSucceeded",
            PostOpMode::OpReverted => "opReverted",
            PostOpMode::PostOpReverted => "postOpReverted",
        }
    }
}

/// A paymaster's `PostOpHandled`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostOp {
    pub paymaster: Address,
    pub user_op_hash: B256,
    pub token: Address,
    pub actual_gas_cost: U256,
    pub fee_amount: U256,
    pub mode: Option<PostOpMode>,
}

/// One user operation (the seed's `userops` item, plus where it came from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOp {
    pub ts: u64,
    pub chain_id: u64,
    pub block_number: u64,
    pub tx_hash: B256,
    pub log_index: u64,
    pub user_op_hash: B256,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub entry_point: Address,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub sender: Address,
    #[serde(serialize_with = "crate::chain::ser::address")]
    pub paymaster: Address,
    /// The transaction's sender (the bundler's executor).
    #[serde(serialize_with = "crate::chain::ser::opt_address")]
    pub bundler: Option<Address>,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub nonce: U256,
    pub success: bool,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub actual_gas_cost_wei: U256,
    #[serde(serialize_with = "crate::chain::ser::decimal")]
    pub actual_gas_used: U256,
    /// From the paymaster's `PostOpHandled`, when there is one.
    #[serde(serialize_with = "opt_decimal")]
    pub fee_amount: Option<U256>,
    #[serde(serialize_with = "crate::chain::ser::opt_address")]
    pub fee_token: Option<Address>,
    pub post_op_mode: Option<PostOpMode>,
}

fn opt_decimal<S: serde::Serializer>(v: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

/// What a record means to the user-operation reducers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    UserOp(UserOp),
    PostOp(PostOp),
}

/// Joins `PostOpHandled` into the `UserOperationEvent` of the same operation.
#[derive(Debug, Default, Clone)]
pub struct Join {
    current_tx: Option<B256>,
    pending: HashMap<B256, PostOp>,
}

impl Join {
    /// Feeds the next record (canonical order); returns what it means, if anything.
    pub fn feed(&mut self, r: &Record) -> Option<Fact> {
        if self.current_tx != Some(r.tx_hash) {
            self.current_tx = Some(r.tx_hash);
            self.pending.clear();
        }
        match r.event.as_str() {
            "PostOpHandled" => {
                let post = PostOp {
                    paymaster: r.address,
                    user_op_hash: b256(r, "userOpHash")?,
                    token: address(r, "token")?,
                    actual_gas_cost: u256(r, "actualGasCost")?,
                    fee_amount: u256(r, "feeAmount")?,
                    mode: u256(r, "mode")
                        .and_then(|m| u8::try_from(m).ok())
                        .and_then(PostOpMode::from_u8),
                };
                self.pending.insert(post.user_op_hash, post.clone());
                Some(Fact::PostOp(post))
            }
            "UserOperationEvent" => {
                let hash = b256(r, "userOpHash")?;
                let post = self.pending.remove(&hash);
                Some(Fact::UserOp(UserOp {
                    ts: r.block_timestamp,
                    chain_id: r.chain_id,
                    block_number: r.block_number,
                    tx_hash: r.tx_hash,
                    log_index: r.log_index,
                    user_op_hash: hash,
                    entry_point: r.address,
                    sender: address(r, "sender")?,
                    paymaster: address(r, "paymaster")?,
                    bundler: r.tx_from,
                    nonce: u256(r, "nonce")?,
                    success: r.args.get("success")?.as_bool()?,
                    actual_gas_cost_wei: u256(r, "actualGasCost")?,
                    actual_gas_used: u256(r, "actualGasUsed")?,
                    fee_amount: post.as_ref().map(|p| p.fee_amount),
                    fee_token: post.as_ref().map(|p| p.token),
                    post_op_mode: post.and_then(|p| p.mode),
                }))
            }
            _ => None,
        }
    }
}

fn b256(r: &Record, name: &str) -> Option<B256> {
    r.arg_str(name)?.parse().ok()
}

fn address(r: &Record, name: &str) -> Option<Address> {
    r.arg_str(name)?.parse().ok()
}

fn u256(r: &Record, name: &str) -> Option<U256> {
    U256::from_str_radix(r.arg_str(name)?, 10).ok()
}

/// A filter for `butler userops` and `GET /api/admin/userops`.
#[derive(Debug, Clone, Default)]
pub struct UserOpFilter {
    pub sender: Option<Address>,
    pub paymaster: Option<Address>,
    pub success: Option<bool>,
    /// Only operations in blocks `>= from_block`.
    pub from_block: Option<u64>,
    /// Only operations in blocks `<= to_block`.
    pub to_block: Option<u64>,
}

impl UserOpFilter {
    pub fn matches(&self, op: &UserOp) -> bool {
        self.sender.is_none_or(|s| s == op.sender)
            && self.paymaster.is_none_or(|p| p == op.paymaster)
            && self.success.is_none_or(|s| s == op.success)
            && self.from_block.is_none_or(|b| op.block_number >= b)
            && self.to_block.is_none_or(|b| op.block_number <= b)
    }
}

/// The newest `limit` matching user operations of a record stream, newest first.
pub fn query<E>(
    records: impl Iterator<Item = Result<Record, E>>,
    filter: &UserOpFilter,
    limit: usize,
) -> Result<Vec<UserOp>, E> {
    let mut join = Join::default();
    let mut newest = std::collections::VecDeque::with_capacity(limit.min(4096));
    for r in records {
        if let Some(Fact::UserOp(op)) = join.feed(&r?)
            && filter.matches(&op)
        {
            if newest.len() == limit {
                newest.pop_front();
            }
            if limit > 0 {
                newest.push_back(op);
            }
        }
    }
    Ok(newest.into_iter().rev().collect())
}

impl UserOp {
    /// Canonical encoding for the state hash.
    pub fn canon(&self, c: &mut super::canon::Canon) {
        c.u64(self.ts);
        c.u64(self.chain_id);
        c.u64(self.block_number);
        c.b256(&self.tx_hash);
        c.u64(self.log_index);
        c.b256(&self.user_op_hash);
        c.address(&self.entry_point);
        c.address(&self.sender);
        c.address(&self.paymaster);
        c.opt(&self.bundler, |c, a| c.address(a));
        c.u256(&self.nonce);
        c.bool(self.success);
        c.u256(&self.actual_gas_cost_wei);
        c.u256(&self.actual_gas_used);
        c.opt(&self.fee_amount, |c, v| c.u256(v));
        c.opt(&self.fee_token, |c, a| c.address(a));
        c.opt(&self.post_op_mode, |c, m| c.str(m.as_str()));
    }
}
