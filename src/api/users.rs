//! `GET /api/admin/userops` (the plan's §4.3 shape) and `GET /api/admin/users` (§4.4: telemetry's owner →
//! sender mapping joined with indexed per-sender totals, paged, sorted and filtered).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::Address;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::input::{self, Query};
use super::state::ApiState;
use crate::http::PageBounds;
use crate::logs::event::parse_address;
use crate::telemetry::OwnerSeen;
use crate::watcher::reduce::totals::SenderTotals;
use crate::watcher::reduce::userops::{UserOp, UserOpFilter};

/// One user operation (§4.3).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOpItem {
    /// Block timestamp, Unix seconds.
    pub ts: u64,
    pub chain_id: u64,
    pub block_number: u64,
    pub tx_hash: String,
    pub log_index: u64,
    pub user_op_hash: String,
    pub entry_point: String,
    pub sender: String,
    /// The zero address when self-funded.
    pub paymaster: String,
    /// The bundle transaction's sender (the bundler's executor).
    pub bundler: Option<String>,
    pub nonce: String,
    pub success: bool,
    pub actual_gas_cost_wei: String,
    pub actual_gas_used: String,
    /// From the paymaster's `PostOpHandled`; null without one.
    pub fee_amount: Option<String>,
    pub fee_token: Option<String>,
    /// `opSucceeded`, `opReverted` or `postOpReverted`; null without a `PostOpHandled`.
    pub post_op_mode: Option<String>,
}

impl From<&UserOp> for UserOpItem {
    fn from(op: &UserOp) -> Self {
        UserOpItem {
            ts: op.ts,
            chain_id: op.chain_id,
            block_number: op.block_number,
            tx_hash: op.tx_hash.to_string(),
            log_index: op.log_index,
            user_op_hash: op.user_op_hash.to_string(),
            entry_point: op.entry_point.to_checksum(None),
            sender: op.sender.to_checksum(None),
            paymaster: op.paymaster.to_checksum(None),
            bundler: op.bundler.map(|b| b.to_checksum(None)),
            nonce: op.nonce.to_string(),
            success: op.success,
            actual_gas_cost_wei: op.actual_gas_cost_wei.to_string(),
            actual_gas_used: op.actual_gas_used.to_string(),
            fee_amount: op.fee_amount.map(|f| f.to_string()),
            fee_token: op.fee_token.map(|t| t.to_checksum(None)),
            post_op_mode: op.post_op_mode.map(|m| m.as_str().to_string()),
        }
    }
}

/// `GET /api/admin/userops`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOpsResponse {
    pub userops: Vec<UserOpItem>,
}

/// Query of `GET /api/admin/userops` (and of the console's user operations page).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserOpsQuery {
    /// Most operations returned, newest first (default 200, at most 10000).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub limit: Option<String>,
    /// Matching operations skipped first, newest first (default 0, at most 1000000).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 1000000)]
    pub offset: Option<String>,
    /// Only this smart-account sender.
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    pub sender: Option<String>,
    /// Only operations sponsored by this paymaster (the zero address: self-funded).
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    pub paymaster: Option<String>,
    /// Only succeeded (`true`) or failed (`false`) operations.
    #[param(value_type = Option<bool>)]
    pub success: Option<String>,
    /// Only operations in this block or later (at most 2^63 − 1).
    #[serde(rename = "fromBlock")]
    #[param(value_type = Option<u64>, minimum = 0, maximum = 9223372036854775807_i64)]
    pub from_block: Option<String>,
    /// Only operations in this block or earlier (at most 2^63 − 1).
    #[serde(rename = "toBlock")]
    #[param(value_type = Option<u64>, minimum = 0, maximum = 9223372036854775807_i64)]
    pub to_block: Option<String>,
}

/// How far `GET /api/admin/userops` pages.
pub const USEROPS_PAGE: PageBounds = PageBounds {
    default_limit: 200,
    max_limit: 10_000,
    max_offset: 1_000_000,
};

/// The page of indexed operations `q` asks for, newest first (the handler of `GET /api/admin/userops`
/// and the console's page both answer with it).
pub fn select_userops(state: &ApiState, q: &UserOpsQuery) -> Result<Vec<UserOpItem>, ApiError> {
    let page = USEROPS_PAGE.page(q.limit.as_deref(), q.offset.as_deref())?;
    let address = |name: &str, raw: Option<&str>| {
        raw.map(parse_address)
            .transpose()
            .map_err(|e| ApiError::invalid(format!("parameter `{name}`: {e}")))
    };
    // block numbers are int64 in the OpenAPI document (and BIGINT in PostgreSQL)
    let block = |name: &str, raw: Option<&str>| input::int_param(name, raw, 0, i64::MAX as u64);
    let filter = UserOpFilter {
        sender: address("sender", q.sender.as_deref())?,
        paymaster: address("paymaster", q.paymaster.as_deref())?,
        success: input::bool_param("success", q.success.as_deref())?,
        from_block: block("fromBlock", q.from_block.as_deref())?,
        to_block: block("toBlock", q.to_block.as_deref())?,
    };
    let indexed = state.indexed();
    Ok(indexed
        .userops
        .iter()
        .rev()
        .filter(|op| filter.matches(op))
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .map(UserOpItem::from)
        .collect())
}

/// Indexed user operations (the watcher keeps the newest `[watcher] retention_max` in memory), newest first.
#[utoipa::path(get, path = "/api/admin/userops", tag = "admin", params(UserOpsQuery),
    responses(
        (status = 200, description = "User operations, newest first", body = UserOpsResponse),
        (status = 400, description = "Unknown parameter", body = ErrorBody),
        (status = 422, description = "Invalid parameter value", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn userops(
    State(state): State<ApiState>,
    Query(q): Query<UserOpsQuery>,
) -> Result<Json<UserOpsResponse>, ApiError> {
    Ok(Json(UserOpsResponse {
        userops: select_userops(&state, &q)?,
    }))
}

/// An owner EOA (§4.4): telemetry's first/last heartbeat, its senders, their indexed totals.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnerItem {
    pub owner: String,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    pub senders: Vec<String>,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Block time of the newest operation, Unix seconds; null without operations.
    pub last_op_ts: Option<u64>,
    pub total_actual_gas_cost_wei: String,
    pub total_fee_amount: String,
}

/// A smart-account sender (§4.4): indexed totals, and its owner when telemetry reported one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SenderItem {
    pub sender: String,
    pub owner: Option<String>,
    pub first_seen_ms: Option<u64>,
    pub last_seen_ms: Option<u64>,
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub last_op_ts: Option<u64>,
    pub total_actual_gas_cost_wei: String,
    pub total_fee_amount: String,
}

/// `GET /api/admin/users`: one page of senders and the owners of those senders.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersResponse {
    /// The owners (telemetry) of the senders on this page, by address.
    pub owners: Vec<OwnerItem>,
    /// This page of the senders that match.
    pub senders: Vec<SenderItem>,
    /// Senders that match, over all pages.
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// The order of `GET /api/admin/users` senders (each descending; ties by address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum UsersSort {
    /// Newest operation first.
    LastOp,
    /// Most operations first.
    Ops,
    /// Most gas paid (`totalActualGasCostWei`) first.
    Gas,
    /// Most paymaster fees (`totalFeeAmount`) first.
    Fees,
}

impl UsersSort {
    fn parse(raw: Option<&str>) -> Result<Option<UsersSort>, ApiError> {
        Ok(match raw {
            None => None,
            Some("lastOp") => Some(UsersSort::LastOp),
            Some("ops") => Some(UsersSort::Ops),
            Some("gas") => Some(UsersSort::Gas),
            Some("fees") => Some(UsersSort::Fees),
            Some(other) => {
                return Err(ApiError::invalid(format!(
                    "parameter `sort`: `{other}` is not one of lastOp, ops, gas, fees"
                )));
            }
        })
    }

    /// `a` before `b`: the larger value first, then the lower address.
    fn order(self, a: &Row, b: &Row) -> Ordering {
        let (x, y) = (a.totals, b.totals);
        let by = match self {
            UsersSort::LastOp => y.last_op_ts.cmp(&x.last_op_ts),
            UsersSort::Ops => y.total.cmp(&x.total),
            UsersSort::Gas => y
                .total_actual_gas_cost_wei
                .cmp(&x.total_actual_gas_cost_wei),
            UsersSort::Fees => y.total_fee_amount.cmp(&x.total_fee_amount),
        };
        by.then_with(|| a.sender.cmp(b.sender))
    }
}

/// Query of `GET /api/admin/users`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// Senders per page (default 100, at most 1000).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Senders skipped before the page (default 0).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 2147483647)]
    pub offset: Option<String>,
    /// Order of the senders, descending (default: by address).
    #[param(value_type = Option<UsersSort>, inline)]
    pub sort: Option<String>,
    /// Only this smart-account sender.
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    pub sender: Option<String>,
    /// Only the senders telemetry reported for this owner EOA.
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    pub owner: Option<String>,
}

/// Paging of `GET /api/admin/users`.
const USERS_PAGE: PageBounds = PageBounds {
    default_limit: 100,
    max_limit: 1000,
    max_offset: i32::MAX as u64,
};

/// A sender and its totals, borrowed from the reduced state (zero totals when only telemetry knows it).
struct Row<'a> {
    sender: &'a Address,
    totals: &'a SenderTotals,
}

/// Owners and senders: telemetry sessions joined with indexed per-sender totals, one page of senders at a
/// time (sorted and paged over references into the reduced state; only the page is built).
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(UsersQuery),
    responses(
        (status = 200, description = "One page of senders and their owners", body = UsersResponse),
        (status = 400, description = "Unknown parameter", body = ErrorBody),
        (status = 422, description = "Invalid parameter value", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn users(
    State(state): State<ApiState>,
    Query(q): Query<UsersQuery>,
) -> Result<Json<UsersResponse>, ApiError> {
    let page = USERS_PAGE.page(q.limit.as_deref(), q.offset.as_deref())?;
    let sort = UsersSort::parse(q.sort.as_deref())?;
    let address = |name: &str, raw: Option<&str>| {
        raw.map(parse_address)
            .transpose()
            .map_err(|e| ApiError::invalid(format!("parameter `{name}`: {e}")))
    };
    let only_sender = address("sender", q.sender.as_deref())?;
    let only_owner = address("owner", q.owner.as_deref())?;
    let indexed = state.indexed();
    let answer = state.telemetry().read(|tel| {
        let zero = SenderTotals::default();
        let known = &indexed.totals.senders;
        let wanted = |s: &Address| {
            only_sender.is_none_or(|w| w == *s)
                && only_owner.is_none_or(|o| tel.senders.get(s).is_some_and(|t| t.owner == o))
        };
        let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let (total, shown): (usize, Vec<Row>) = match (only_sender, only_owner) {
            (None, None) => {
                let extra: Vec<&Address> = tel
                    .senders
                    .keys()
                    .filter(|s| !known.contains_key(*s))
                    .collect();
                let total = known.len() + extra.len();
                let all = by_address(known, extra, &zero);
                match sort {
                    // by address: walk to the page, nothing else is touched
                    None => (total, all.skip(offset).take(limit).collect()),
                    Some(sort) => (total, sorted_page(all.collect(), sort, offset, limit)),
                }
            }
            (Some(s), _) => {
                let rows: Vec<Row> = known
                    .get_key_value(&s)
                    .or_else(|| tel.senders.get_key_value(&s).map(|(k, _)| (k, &zero)))
                    .into_iter()
                    .map(|(sender, totals)| Row { sender, totals })
                    .filter(|r| wanted(r.sender))
                    .collect();
                (
                    rows.len(),
                    rows.into_iter().skip(offset).take(limit).collect(),
                )
            }
            (None, Some(_)) => {
                let rows: Vec<Row> = tel
                    .senders
                    .keys()
                    .filter(|s| wanted(s))
                    .map(|sender| Row {
                        sender,
                        totals: known.get(sender).unwrap_or(&zero),
                    })
                    .collect();
                let total = rows.len();
                match sort {
                    None => (total, rows.into_iter().skip(offset).take(limit).collect()),
                    Some(sort) => (total, sorted_page(rows, sort, offset, limit)),
                }
            }
        };
        let senders: Vec<SenderItem> = shown
            .iter()
            .map(|r| {
                let mut item = sender_item(r.sender.to_checksum(None), r.totals);
                if let Some(seen) = tel.senders.get(r.sender) {
                    item.owner = Some(seen.owner.to_checksum(None));
                    item.first_seen_ms = Some(seen.first_seen_ms);
                    item.last_seen_ms = Some(seen.last_seen_ms);
                }
                item
            })
            .collect();
        let owners: BTreeSet<Address> = shown
            .iter()
            .filter_map(|r| tel.senders.get(r.sender).map(|t| t.owner))
            .chain(only_owner.filter(|o| tel.owners.contains_key(o)))
            .collect();
        let owners = owners
            .iter()
            .filter_map(|o| tel.owners.get_key_value(o))
            .map(|(owner, seen)| owner_item(owner, seen, known))
            .collect();
        UsersResponse {
            owners,
            senders,
            total: total as u64,
            limit: page.limit,
            offset: page.offset,
        }
    });
    Ok(Json(answer))
}

/// Every sender indexed or only seen by telemetry (`extra`, ascending), by address, lazily and without
/// copying the totals.
fn by_address<'a>(
    known: &'a BTreeMap<Address, SenderTotals>,
    extra: Vec<&'a Address>,
    zero: &'a SenderTotals,
) -> impl Iterator<Item = Row<'a>> {
    let mut indexed = known.iter().peekable();
    let mut extra = extra.into_iter().peekable();
    std::iter::from_fn(move || {
        let from_index = match (indexed.peek(), extra.peek()) {
            (None, None) => return None,
            (Some((a, _)), Some(b)) => a < b,
            (a, _) => a.is_some(),
        };
        if from_index {
            indexed
                .next()
                .map(|(sender, totals)| Row { sender, totals })
        } else {
            extra.next().map(|sender| Row {
                sender,
                totals: zero,
            })
        }
    })
}

/// The page `[offset, offset + limit)` of `rows` in `sort` order: only the rows up to the page's end are
/// ordered (a selection first, then a sort of those).
fn sorted_page(mut rows: Vec<Row>, sort: UsersSort, offset: usize, limit: usize) -> Vec<Row> {
    let end = offset.saturating_add(limit).min(rows.len());
    if end == 0 {
        return Vec::new();
    }
    if end < rows.len() {
        rows.select_nth_unstable_by(end - 1, |a, b| sort.order(a, b));
        rows.truncate(end);
    }
    rows.sort_unstable_by(|a, b| sort.order(a, b));
    rows.drain(offset.min(end)..).collect()
}

/// An owner with the indexed totals of its senders summed.
fn owner_item(
    owner: &Address,
    seen: &OwnerSeen,
    known: &BTreeMap<Address, SenderTotals>,
) -> OwnerItem {
    let mut sum = SenderTotals::default();
    for t in seen.senders.iter().filter_map(|s| known.get(s)) {
        sum.total += t.total;
        sum.succeeded += t.succeeded;
        sum.failed += t.failed;
        sum.last_op_ts = sum.last_op_ts.max(t.last_op_ts);
        sum.total_actual_gas_cost_wei += t.total_actual_gas_cost_wei;
        sum.total_fee_amount += t.total_fee_amount;
    }
    OwnerItem {
        owner: owner.to_checksum(None),
        first_seen_ms: seen.first_seen_ms,
        last_seen_ms: seen.last_seen_ms,
        senders: seen.senders.iter().map(|s| s.to_checksum(None)).collect(),
        total: sum.total,
        succeeded: sum.succeeded,
        failed: sum.failed,
        last_op_ts: (sum.total > 0).then_some(sum.last_op_ts),
        total_actual_gas_cost_wei: sum.total_actual_gas_cost_wei.to_string(),
        total_fee_amount: sum.total_fee_amount.to_string(),
    }
}

fn sender_item(sender: String, t: &SenderTotals) -> SenderItem {
    SenderItem {
        sender,
        owner: None,
        first_seen_ms: None,
        last_seen_ms: None,
        total: t.total,
        succeeded: t.succeeded,
        failed: t.failed,
        last_op_ts: (t.total > 0).then_some(t.last_op_ts),
        total_actual_gas_cost_wei: t.total_actual_gas_cost_wei.to_string(),
        total_fee_amount: t.total_fee_amount.to_string(),
    }
}
