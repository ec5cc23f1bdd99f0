//! The workflow observer's endpoints: `GET /workflows?limit&offset`, `GET /workflows/{id}` (workflow,
//! decisions, settlements, timeline) and `GET /stats`, from the watcher's workflow reducer.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::input::Query;
use super::metrics::WorkflowCounts;
use super::state::ApiState;
use crate::http::PageBounds;
use crate::logs::event::parse_hash;
use crate::watcher::reduce::workflows::{Workflow, WorkflowStats};

/// A workflow (the observer's list item).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowItem {
    pub workflow_id: String,
    /// `running`, `completed`, `failed` or `rejected`.
    pub status: String,
    pub initiator: Option<String>,
    pub started_at: Option<u64>,
    pub completed_at: Option<u64>,
    pub failure_reason: Option<String>,
}

impl From<&Workflow> for WorkflowItem {
    fn from(w: &Workflow) -> Self {
        WorkflowItem {
            workflow_id: w.workflow_id.to_string(),
            status: w.status.as_str().to_lowercase(),
            initiator: w.initiator.map(|a| a.to_checksum(None)),
            started_at: w.started_at,
            completed_at: w.completed_at,
            failure_reason: w.failure_reason.clone(),
        }
    }
}

/// Query of `GET /workflows`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkflowsQuery {
    /// Most workflows returned (default 100, at most 1000).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Workflows skipped first (default 0, at most 1000000).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 1000000)]
    pub offset: Option<String>,
}

/// How far `GET /workflows` pages.
const PAGE: PageBounds = PageBounds {
    default_limit: 100,
    max_limit: 1000,
    max_offset: 1_000_000,
};

/// Workflows, most recently started first.
#[utoipa::path(get, path = "/workflows", tag = "workflows", params(WorkflowsQuery),
    responses(
        (status = 200, description = "A page of workflows", body = Vec<WorkflowItem>),
        (status = 400, description = "Unknown parameter", body = ErrorBody),
        (status = 422, description = "Invalid parameter value", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<ApiState>,
    Query(q): Query<WorkflowsQuery>,
) -> Result<Json<Vec<WorkflowItem>>, ApiError> {
    let page = PAGE.page(q.limit.as_deref(), q.offset.as_deref())?;
    let (limit, offset) = (page.limit as usize, page.offset as usize);
    let indexed = state.indexed();
    let mut all: Vec<&Workflow> = indexed.workflows.values().collect();
    all.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then(b.last_event_block.cmp(&a.last_event_block))
            .then(a.workflow_id.cmp(&b.workflow_id))
    });
    Ok(Json(
        all.into_iter()
            .skip(offset)
            .take(limit)
            .map(WorkflowItem::from)
            .collect(),
    ))
}

/// A decision.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecisionItem {
    pub approved: bool,
    pub reason: String,
    pub timestamp: u64,
    pub block_number: u64,
    pub tx_hash: String,
}

/// A settlement.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettlementItem {
    pub from: String,
    pub to: String,
    /// Decimal string.
    pub amount: String,
    pub timestamp: u64,
    pub block_number: u64,
    pub tx_hash: String,
}

/// One event of the timeline.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineItem {
    pub event: String,
    pub timestamp: u64,
    pub block_number: u64,
    pub tx_hash: String,
    pub log_index: u64,
    pub detail: String,
}

/// `GET /workflows/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowDetail {
    pub workflow: WorkflowItem,
    pub decisions: Vec<DecisionItem>,
    pub settlements: Vec<SettlementItem>,
    pub timeline: Vec<TimelineItem>,
}

/// A workflow with its decisions, settlements and full event timeline.
#[utoipa::path(get, path = "/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "The workflow id (0x and 64 hex digits)", pattern = "^0x[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The workflow", body = WorkflowDetail),
        (status = 404, description = "No such workflow", body = ErrorBody),
        (status = 422, description = "Not a workflow id", body = ErrorBody),
    ))]
pub async fn detail(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<WorkflowDetail>, ApiError> {
    let key =
        parse_hash(&id).map_err(|e| ApiError::invalid(format!("path parameter `id`: {e}")))?;
    let indexed = state.indexed();
    let w = indexed
        .workflows
        .get(&key)
        .ok_or_else(|| ApiError::not_found(format!("no workflow {key}")))?;
    Ok(Json(WorkflowDetail {
        workflow: WorkflowItem::from(w),
        decisions: w
            .decisions
            .iter()
            .map(|d| DecisionItem {
                approved: d.approved,
                reason: d.reason.clone(),
                timestamp: d.timestamp,
                block_number: d.block_number,
                tx_hash: d.tx_hash.to_string(),
            })
            .collect(),
        settlements: w
            .settlements
            .iter()
            .map(|s| SettlementItem {
                from: s.from.to_checksum(None),
                to: s.to.to_checksum(None),
                amount: s.amount.to_string(),
                timestamp: s.timestamp,
                block_number: s.block_number,
                tx_hash: s.tx_hash.to_string(),
            })
            .collect(),
        timeline: w
            .timeline
            .iter()
            .map(|t| TimelineItem {
                event: t.event.clone(),
                timestamp: t.timestamp,
                block_number: t.block_number,
                tx_hash: t.tx_hash.to_string(),
                log_index: t.log_index,
                detail: t.detail.clone(),
            })
            .collect(),
    }))
}

/// Workflow counts by status.
#[utoipa::path(get, path = "/stats", tag = "workflows",
    responses((status = 200, description = "Counts", body = WorkflowCounts)))]
pub async fn stats(State(state): State<ApiState>) -> Json<WorkflowCounts> {
    Json(WorkflowStats::of(state.indexed().workflows.values()).into())
}
