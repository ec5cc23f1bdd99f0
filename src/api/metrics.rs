//! Dashboard metrics: `GET /api/admin/metrics/summary` (indexed operations, paymasters, workflows, the
//! indexer, telemetry counts, the log store) and `GET /api/admin/metrics/timeseries` (ops, fees and gas
//! per time bucket, from the reducers' hourly buckets).

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::input;
use super::input::Query;
use super::state::ApiState;
use crate::logs::LogStats;
use crate::telemetry::{FallbackCounts, now_ms};
use crate::watcher::reduce::totals::{BUCKET_SECS, Bucket};
use crate::watcher::reduce::workflows::WorkflowStats;

/// Operation counts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpsSummary {
    pub total: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Operations joined with a paymaster's `PostOpHandled`.
    pub with_post_op: u64,
    /// Distinct senders.
    pub senders: usize,
    /// Distinct paymasters that sponsored operations.
    pub paymasters: usize,
    pub actual_gas_cost_wei: String,
    pub fees_by_token: BTreeMap<String, String>,
}

/// Workflow counts by status.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowCounts {
    pub total: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub rejected: u64,
}

impl From<WorkflowStats> for WorkflowCounts {
    fn from(s: WorkflowStats) -> Self {
        WorkflowCounts {
            total: s.total,
            running: s.running,
            completed: s.completed,
            failed: s.failed,
            rejected: s.rejected,
        }
    }
}

/// Telemetry counts.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelemetrySummary {
    /// Sessions with a heartbeat within `[api] session_ttl_secs`.
    pub users_connected: usize,
    pub heartbeats: u64,
    pub owners: usize,
    pub senders: usize,
    pub paid_fallback: FallbackCounts,
}

/// The indexer's progress (null fields without a watcher).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IndexerSummary {
    pub running: bool,
    pub indexed_block: Option<u64>,
    pub events: u64,
    pub reorgs: u64,
    pub caught_up: bool,
}

/// `GET /api/admin/metrics/summary`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryResponse {
    pub ops: OpsSummary,
    pub workflows: WorkflowCounts,
    pub telemetry: TelemetrySummary,
    pub indexer: IndexerSummary,
    pub logs: LogStats,
}

/// Totals for the dashboard's header.
#[utoipa::path(get, path = "/api/admin/metrics/summary", tag = "admin",
    responses((status = 200, description = "Summary", body = SummaryResponse)),
    security(("bearer" = [])))]
pub async fn summary(State(state): State<ApiState>) -> Json<SummaryResponse> {
    let indexed = state.indexed();
    let tel = state.telemetry().snapshot();
    let mut fees: BTreeMap<Address, U256> = BTreeMap::new();
    let mut cost = U256::ZERO;
    for b in indexed.totals.buckets.values() {
        cost += b.actual_gas_cost_wei;
        for (t, v) in &b.fees_by_token {
            *fees.entry(*t).or_default() += *v;
        }
    }
    let progress = state.watcher().map(|w| w.progress.borrow().clone());
    let ttl_ms = state.settings().session_ttl.as_millis() as u64;
    Json(SummaryResponse {
        ops: OpsSummary {
            total: indexed.ops.total,
            succeeded: indexed.ops.succeeded,
            failed: indexed.ops.failed,
            with_post_op: indexed.ops.with_post_op,
            senders: indexed.totals.senders.len(),
            paymasters: indexed.totals.paymasters.len(),
            actual_gas_cost_wei: cost.to_string(),
            fees_by_token: fees
                .into_iter()
                .map(|(k, v)| (k.to_checksum(None), v.to_string()))
                .collect(),
        },
        workflows: WorkflowStats::of(indexed.workflows.values()).into(),
        telemetry: TelemetrySummary {
            users_connected: tel.connected(now_ms(), ttl_ms),
            heartbeats: tel.heartbeats,
            owners: tel.owners.len(),
            senders: tel.senders.len(),
            paid_fallback: tel.paid_fallback,
        },
        indexer: IndexerSummary {
            running: progress.is_some(),
            indexed_block: progress.as_ref().and_then(|p| p.indexed_block),
            events: indexed.events,
            reorgs: progress.as_ref().map_or(0, |p| p.reorgs),
            caught_up: progress.as_ref().is_some_and(|p| p.caught_up),
        },
        logs: state.logs().stats(),
    })
}

/// Query of `GET /api/admin/metrics/timeseries`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimeseriesQuery {
    /// Bucket width in seconds: a multiple of 3600 up to 2592000 (30 days); default 3600.
    #[param(value_type = Option<u32>, minimum = 3600, maximum = 2592000)]
    pub bucket: Option<String>,
    /// First bucket (Unix seconds, rounded down to the bucket); default the first indexed operation.
    #[param(value_type = Option<u64>, minimum = 0, maximum = 100000000000_u64)]
    pub from: Option<String>,
    /// Last bucket (Unix seconds); default the last indexed operation.
    #[param(value_type = Option<u64>, minimum = 0, maximum = 100000000000_u64)]
    pub to: Option<String>,
}

/// One bucket of the series.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// Bucket start, Unix seconds (block time).
    pub ts: u64,
    pub ops: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub actual_gas_cost_wei: String,
    pub actual_gas_used: String,
    pub fees_by_token: BTreeMap<String, String>,
}

/// `GET /api/admin/metrics/timeseries`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeseriesResponse {
    pub bucket_secs: u64,
    /// First and last bucket start; null when nothing is indexed and no range was given.
    pub from: Option<u64>,
    pub to: Option<u64>,
    /// Every bucket from `from` to `to`, empty ones included.
    pub points: Vec<Point>,
}

/// Largest `from`/`to` (Unix seconds).
pub const MAX_TS: u64 = 100_000_000_000;

/// Most points one answer holds.
pub const MAX_POINTS: u64 = 10_000;

/// Ops, fees and gas per bucket for charts (block time; zero-filled).
#[utoipa::path(get, path = "/api/admin/metrics/timeseries", tag = "admin", params(TimeseriesQuery),
    responses(
        (status = 200, description = "The series", body = TimeseriesResponse),
        (status = 400, description = "Unknown parameter", body = ErrorBody),
        (status = 422, description = "Invalid parameter value", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn timeseries(
    State(state): State<ApiState>,
    Query(q): Query<TimeseriesQuery>,
) -> Result<Json<TimeseriesResponse>, ApiError> {
    let bucket = input::int_param("bucket", q.bucket.as_deref(), BUCKET_SECS, 30 * 86_400)?
        .unwrap_or(BUCKET_SECS);
    if bucket % BUCKET_SECS != 0 {
        return Err(ApiError::invalid(format!(
            "parameter `bucket`: {bucket} is not a multiple of {BUCKET_SECS}"
        )));
    }
    let from = input::int_param("from", q.from.as_deref(), 0, MAX_TS)?;
    let to = input::int_param("to", q.to.as_deref(), 0, MAX_TS)?;
    let indexed = state.indexed();
    let buckets = &indexed.totals.buckets;
    let first = buckets.keys().next().copied();
    let last = buckets.keys().next_back().copied();
    let (from, to) = match (from.or(first), to.or(last)) {
        (Some(f), Some(t)) => (f - f % bucket, t - t % bucket),
        (Some(f), None) => (f - f % bucket, f - f % bucket),
        (None, Some(t)) => (t - t % bucket, t - t % bucket),
        (None, None) => {
            return Ok(Json(TimeseriesResponse {
                bucket_secs: bucket,
                from: None,
                to: None,
                points: Vec::new(),
            }));
        }
    };
    if to < from {
        return Err(ApiError::invalid(format!(
            "parameter `to` ({to}) is before `from` ({from})"
        )));
    }
    let count = (to - from) / bucket + 1;
    if count > MAX_POINTS {
        return Err(ApiError::invalid(format!(
            "parameters `from`/`to`/`bucket`: {count} buckets requested, at most {MAX_POINTS}"
        )));
    }
    let mut sums: BTreeMap<u64, Bucket> = BTreeMap::new();
    for (ts, b) in buckets.range(from..to + bucket) {
        let s = sums.entry(ts - ts % bucket).or_default();
        s.ops += b.ops;
        s.succeeded += b.succeeded;
        s.failed += b.failed;
        s.actual_gas_cost_wei += b.actual_gas_cost_wei;
        s.actual_gas_used += b.actual_gas_used;
        for (t, v) in &b.fees_by_token {
            *s.fees_by_token.entry(*t).or_default() += *v;
        }
    }
    let points = (0..count)
        .map(|i| {
            let ts = from + i * bucket;
            let b = sums.remove(&ts).unwrap_or_default();
            Point {
                ts,
                ops: b.ops,
                succeeded: b.succeeded,
                failed: b.failed,
                actual_gas_cost_wei: b.actual_gas_cost_wei.to_string(),
                actual_gas_used: b.actual_gas_used.to_string(),
                fees_by_token: b
                    .fees_by_token
                    .into_iter()
                    .map(|(k, v)| (k.to_checksum(None), v.to_string()))
                    .collect(),
            }
        })
        .collect();
    Ok(Json(TimeseriesResponse {
        bucket_secs: bucket,
        from: Some(from),
        to: Some(to),
        points,
    }))
}
