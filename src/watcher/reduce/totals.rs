//! Aggregates over user operations: per sender, per paymaster (sponsored operations, gas, fees by token,
//! post-op modes) and hourly time buckets for charts. All keyed by block time, never the wall clock.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use serde::Serialize;

use super::userops::{PostOp, UserOp};

/// Seconds per time bucket.
pub const BUCKET_SECS: u64 = 3600;

fn dec<S: serde::Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

/// A map keyed by address, with EIP-55 keys.
fn checksum_keys<S: serde::Serializer, V: Serialize>(
    m: &BTreeMap<Address, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        out.serialize_entry(&k.to_checksum(None), v)?;
    }
    out.end()
}

/// Amounts by token address: EIP-55 keys, decimal-string values.
fn token_amounts<S: serde::Serializer>(
    m: &BTreeMap<Address, U256>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        out.serialize_entry(&k.to_checksum(None), &v.to_string())?;
    }
    out.end()
}

/// Per-sender totals (the seed's `senders` item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SenderTotals {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub last_op_ts: u64,
    #[serde(serialize_with = "dec")]
    pub total_actual_gas_cost_wei: U256,
    #[serde(serialize_with = "dec")]
    pub total_fee_amount: U256,
}

/// Per-paymaster totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymasterTotals {
    /// `UserOperationEvent`s naming this paymaster.
    pub sponsored_ops: u64,
    pub succeeded: u64,
    pub failed: u64,
    #[serde(serialize_with = "dec")]
    pub sponsored_gas_used: U256,
    #[serde(serialize_with = "dec")]
    pub sponsored_gas_cost_wei: U256,
    /// `PostOpHandled` events emitted by this paymaster.
    pub post_ops: u64,
    pub post_op_modes: BTreeMap<String, u64>,
    /// Sum of `feeAmount` by token.
    #[serde(serialize_with = "token_amounts")]
    pub fees_by_token: BTreeMap<Address, U256>,
}

/// One time bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub ops: u64,
    pub succeeded: u64,
    pub failed: u64,
    #[serde(serialize_with = "dec")]
    pub actual_gas_cost_wei: U256,
    #[serde(serialize_with = "dec")]
    pub actual_gas_used: U256,
    #[serde(serialize_with = "token_amounts")]
    pub fees_by_token: BTreeMap<Address, U256>,
}

/// All aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    #[serde(serialize_with = "checksum_keys")]
    pub senders: BTreeMap<Address, SenderTotals>,
    #[serde(serialize_with = "checksum_keys")]
    pub paymasters: BTreeMap<Address, PaymasterTotals>,
    /// Keyed by the bucket's start (unix seconds).
    pub buckets: BTreeMap<u64, Bucket>,
}

impl Totals {
    pub fn add_op(&mut self, op: &UserOp) {
        let s = self.senders.entry(op.sender).or_default();
        s.total += 1;
        if op.success {
            s.succeeded += 1;
        } else {
            s.failed += 1;
        }
        s.last_op_ts = s.last_op_ts.max(op.ts);
        s.total_actual_gas_cost_wei += op.actual_gas_cost_wei;
        s.total_fee_amount += op.fee_amount.unwrap_or_default();
        if op.paymaster != Address::ZERO {
            let p = self.paymasters.entry(op.paymaster).or_default();
            p.sponsored_ops += 1;
            if op.success {
                p.succeeded += 1;
            } else {
                p.failed += 1;
            }
            p.sponsored_gas_used += op.actual_gas_used;
            p.sponsored_gas_cost_wei += op.actual_gas_cost_wei;
        }
        let b = self.buckets.entry(op.ts - op.ts % BUCKET_SECS).or_default();
        b.ops += 1;
        if op.success {
            b.succeeded += 1;
        } else {
            b.failed += 1;
        }
        b.actual_gas_cost_wei += op.actual_gas_cost_wei;
        b.actual_gas_used += op.actual_gas_used;
    }

    pub fn add_post_op(&mut self, post: &PostOp, ts: u64) {
        let p = self.paymasters.entry(post.paymaster).or_default();
        p.post_ops += 1;
        let mode = post.mode.map_or("unknown", |m| m.as_str());
        *p.post_op_modes.entry(mode.to_string()).or_default() += 1;
        *p.fees_by_token.entry(post.token).or_default() += post.fee_amount;
        let b = self.buckets.entry(ts - ts % BUCKET_SECS).or_default();
        *b.fees_by_token.entry(post.token).or_default() += post.fee_amount;
    }
}

impl Totals {
    /// Canonical encoding for the state hash.
    pub fn canon(&self, c: &mut super::canon::Canon) {
        c.map(
            &self.senders,
            |c, k| c.address(k),
            |c, s| {
                for n in [s.total, s.succeeded, s.failed, s.last_op_ts] {
                    c.u64(n);
                }
                c.u256(&s.total_actual_gas_cost_wei);
                c.u256(&s.total_fee_amount);
            },
        );
        c.map(
            &self.paymasters,
            |c, k| c.address(k),
            |c, p| {
                for n in [p.sponsored_ops, p.succeeded, p.failed] {
                    c.u64(n);
                }
                c.u256(&p.sponsored_gas_used);
                c.u256(&p.sponsored_gas_cost_wei);
                c.u64(p.post_ops);
                c.map(&p.post_op_modes, |c, k| c.str(k), |c, n| c.u64(*n));
                c.map(&p.fees_by_token, |c, k| c.address(k), |c, v| c.u256(v));
            },
        );
        c.map(
            &self.buckets,
            |c, k| c.u64(*k),
            |c, b| {
                for n in [b.ops, b.succeeded, b.failed] {
                    c.u64(n);
                }
                c.u256(&b.actual_gas_cost_wei);
                c.u256(&b.actual_gas_used);
                c.map(&b.fees_by_token, |c, k| c.address(k), |c, v| c.u256(v));
            },
        );
    }
}
