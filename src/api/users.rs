//! `GET /api/admin/userops` (the plan's §4.3 shape) and `GET /api/admin/users` (§4.4: telemetry's owner →
//! sender mapping joined with indexed per-sender totals).

use std::collections::BTreeMap;

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
    /// Only operations in this block or later.
    #[serde(rename = "fromBlock")]
    #[param(value_type = Option<u64>, minimum = 0)]
    pub from_block: Option<String>,
    /// Only operations in this block or earlier.
    #[serde(rename = "toBlock")]
    #[param(value_type = Option<u64>, minimum = 0)]
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
    let block = |name: &str, raw: Option<&str>| input::int_param(name, raw, 0, u64::MAX);
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

/// `GET /api/admin/users`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersResponse {
    pub owners: Vec<OwnerItem>,
    pub senders: Vec<SenderItem>,
}

/// Owners and senders: telemetry sessions joined with indexed per-sender totals.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin",
    responses((status = 200, description = "Owners and senders", body = UsersResponse)),
    security(("bearer" = [])))]
pub async fn users(State(state): State<ApiState>) -> Json<UsersResponse> {
    let tel = state.telemetry().snapshot();
    let indexed = state.indexed();
    let totals = |sender: &Address| -> SenderTotals {
        indexed
            .totals
            .senders
            .get(sender)
            .cloned()
            .unwrap_or_default()
    };
    let owners = tel
        .owners
        .iter()
        .map(|(owner, seen)| {
            let mut sum = SenderTotals::default();
            for s in &seen.senders {
                let t = totals(s);
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
        })
        .collect();
    let mut senders: BTreeMap<String, SenderItem> = BTreeMap::new();
    for (key, t) in &indexed.totals.senders {
        let key = key.to_checksum(None);
        senders.insert(key.clone(), sender_item(key, t));
    }
    for (sender, seen) in &tel.senders {
        let key = sender.to_checksum(None);
        let item = senders
            .entry(key.clone())
            .or_insert_with(|| sender_item(key, &SenderTotals::default()));
        item.owner = Some(seen.owner.to_checksum(None));
        item.first_seen_ms = Some(seen.first_seen_ms);
        item.last_seen_ms = Some(seen.last_seen_ms);
    }
    Json(UsersResponse {
        owners,
        senders: senders.into_values().collect(),
    })
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
