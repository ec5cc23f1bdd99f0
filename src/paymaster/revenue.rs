//! Paymaster revenue from the indexed log: sponsored operations (succeeded and failed), gas cost paid from
//! the deposit, fees collected by token from `PostOpHandled`, and net per token (the native token's fees
//! minus the gas cost). Built with the watcher's own reducers ([`Join`] and [`Totals`]), so
//! `butler paymaster revenue` and `GET /api/admin/paymaster/revenue` agree with each other and with
//! `butler stats`; optionally bounded in block time and split by day or week.

use std::collections::BTreeMap;

use alloy::primitives::{Address, I256, U256};
use serde::Serialize;
use utoipa::ToSchema;

use crate::watcher::record::Record;
use crate::watcher::reduce::totals::{PaymasterTotals, Totals};
use crate::watcher::reduce::userops::{Fact, Join};

/// Periods of `--by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
}

impl Period {
    /// The start (unix seconds, UTC) of the period holding `ts`; weeks start on Monday.
    pub fn start(self, ts: u64) -> u64 {
        let day = ts - ts % 86_400;
        match self {
            Period::Day => day,
            // 1970-01-01 was a Thursday: three days after a Monday
            Period::Week => day - ((day / 86_400 + 3) % 7) * 86_400,
        }
    }
}

/// What to include.
#[derive(Debug, Clone, Default)]
pub struct RevenueFilter {
    pub paymasters: Vec<Address>,
    /// Block time at or after (unix seconds).
    pub since: Option<u64>,
    /// Block time before (unix seconds).
    pub until: Option<u64>,
    pub by: Option<Period>,
}

impl RevenueFilter {
    fn keeps(&self, paymaster: Address, ts: u64) -> bool {
        (self.paymasters.is_empty() || self.paymasters.contains(&paymaster))
            && self.since.is_none_or(|s| ts >= s)
            && self.until.is_none_or(|u| ts < u)
    }
}

/// Indexed sponsorship and fees of one paymaster address (in one period, with `--by`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymasterRevenue {
    /// Start of the period (UTC date), with `--by`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub address: String,
    /// The `[[paymasters]]` name, when the address is configured.
    pub name: Option<String>,
    pub sponsored_ops: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub sponsored_gas_used: String,
    pub sponsored_gas_cost_wei: String,
    /// `PostOpHandled` events and their modes (`opSucceeded`, `opReverted`, `postOpReverted`).
    pub post_ops: u64,
    pub post_op_modes: BTreeMap<String, u64>,
    pub fees_by_token: BTreeMap<String, String>,
    /// Fees by token minus the gas cost for the native token (address zero); may be negative.
    pub net_by_token: BTreeMap<String, String>,
}

/// One row from a paymaster's totals.
pub fn row(
    address: Address,
    t: &PaymasterTotals,
    name: Option<String>,
    period: Option<u64>,
) -> PaymasterRevenue {
    let fees: BTreeMap<String, String> = t
        .fees_by_token
        .iter()
        .map(|(k, v)| (k.to_checksum(None), v.to_string()))
        .collect();
    let mut net: BTreeMap<Address, I256> = t
        .fees_by_token
        .iter()
        .map(|(k, v)| (*k, I256::from_raw(*v)))
        .collect();
    *net.entry(Address::ZERO).or_default() -= I256::from_raw(t.sponsored_gas_cost_wei);
    PaymasterRevenue {
        period: period.map(date),
        address: address.to_checksum(None),
        name,
        sponsored_ops: t.sponsored_ops,
        succeeded: t.succeeded,
        failed: t.failed,
        sponsored_gas_used: t.sponsored_gas_used.to_string(),
        sponsored_gas_cost_wei: t.sponsored_gas_cost_wei.to_string(),
        post_ops: t.post_ops,
        post_op_modes: t.post_op_modes.clone(),
        fees_by_token: fees,
        net_by_token: net
            .into_iter()
            .map(|(k, v)| (k.to_checksum(None), v.to_string()))
            .collect(),
    }
}

fn date(ts: u64) -> String {
    chrono::DateTime::from_timestamp(ts as i64, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Rows of every paymaster in `totals` (the reducer state), in address order.
pub fn rows(
    totals: &BTreeMap<Address, PaymasterTotals>,
    name_of: impl Fn(Address) -> Option<String>,
) -> Vec<PaymasterRevenue> {
    totals
        .iter()
        .map(|(a, t)| row(*a, t, name_of(*a), None))
        .collect()
}

/// Sums over rows: fees by token and gas cost.
pub fn sums(rows: &[PaymasterRevenue]) -> (BTreeMap<String, String>, String) {
    let mut fees: BTreeMap<String, U256> = BTreeMap::new();
    let mut cost = U256::ZERO;
    for r in rows {
        for (k, v) in &r.fees_by_token {
            *fees.entry(k.clone()).or_default() += U256::from_str_radix(v, 10).unwrap_or_default();
        }
        cost += U256::from_str_radix(&r.sponsored_gas_cost_wei, 10).unwrap_or_default();
    }
    (
        fees.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        cost.to_string(),
    )
}

/// Folds the ordered log through the watcher's reducers, keeping what `filter` asks for, per period.
pub fn report<E>(
    records: impl Iterator<Item = Result<Record, E>>,
    filter: &RevenueFilter,
    name_of: impl Fn(Address) -> Option<String>,
) -> Result<Vec<PaymasterRevenue>, E> {
    let mut join = Join::default();
    let mut periods: BTreeMap<u64, Totals> = BTreeMap::new();
    let key = |ts: u64| filter.by.map_or(0, |p| p.start(ts));
    for r in records {
        let r = r?;
        match join.feed(&r) {
            Some(Fact::UserOp(op))
                if op.paymaster != Address::ZERO && filter.keeps(op.paymaster, op.ts) =>
            {
                periods.entry(key(op.ts)).or_default().add_op(&op);
            }
            Some(Fact::PostOp(post)) if filter.keeps(post.paymaster, r.block_timestamp) => {
                periods
                    .entry(key(r.block_timestamp))
                    .or_default()
                    .add_post_op(&post, r.block_timestamp);
            }
            _ => {}
        }
    }
    Ok(periods
        .iter()
        .flat_map(|(start, t)| {
            let period = filter.by.map(|_| *start);
            t.paymasters.iter().map(move |(a, p)| (period, *a, p))
        })
        .map(|(period, a, p)| row(a, p, name_of(a), period))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_at_utc_midnight_and_on_mondays() {
        // 2026-12-01 is a Tuesday
        let tue = 1_796_083_200 + 3_600;
        assert_eq!(date(Period::Day.start(tue)), "2026-12-01");
        assert_eq!(date(Period::Week.start(tue)), "2026-11-30");
        let mon = 1_795_996_800;
        assert_eq!(Period::Week.start(mon), mon);
    }

    #[test]
    fn net_subtracts_the_gas_cost_from_the_native_token() {
        let mut t = PaymasterTotals {
            sponsored_gas_cost_wei: U256::from(10),
            ..Default::default()
        };
        t.fees_by_token.insert(Address::ZERO, U256::from(3));
        t.fees_by_token
            .insert(Address::repeat_byte(1), U256::from(5));
        let r = row(Address::repeat_byte(9), &t, None, None);
        assert_eq!(r.net_by_token[&Address::ZERO.to_checksum(None)], "-7");
        assert_eq!(
            r.net_by_token[&Address::repeat_byte(1).to_checksum(None)],
            "5"
        );
    }
}
