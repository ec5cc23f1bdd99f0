//! `POST /api/logs/ingest` (one event, an array, or NDJSON) and `GET /api/logs` (filtered query).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::input::{self, Body, BodyKind, Query};
use super::state::ApiState;
use crate::logs::event::{parse_address, parse_hash};
use crate::logs::{Level, LogEvent, LogFilter, parse_event};

/// What an accepted ingest stored.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestResponse {
    /// Events stored (all of the request's, or none).
    pub accepted: u64,
    /// Id of the first event stored.
    pub first_id: u64,
    /// Id of the last event stored.
    pub last_id: u64,
}

/// One log event as sent to ingest (the server assigns `id`).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngestEvent {
    /// Unix time in seconds (fractions allowed; 0 to 1e11).
    #[schema(value_type = f64, minimum = 0, maximum = 99999999999_i64, example = 1730000000)]
    pub ts: f64,
    #[schema(min_length = 1, max_length = 256)]
    pub service: String,
    pub level: Level,
    pub msg: String,
    #[schema(max_length = 256)]
    pub request_id: Option<String>,
    #[schema(max_length = 256)]
    pub quote_id: Option<String>,
    #[schema(pattern = "^0x[0-9a-fA-F]{64}$")]
    pub user_op_hash: Option<String>,
    #[schema(pattern = "^0x[0-9a-fA-F]{64}$")]
    pub tx_hash: Option<String>,
    #[schema(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub sender: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// An ingest body: one event or an array of events (or NDJSON lines of events).
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum IngestBody {
    One(Box<IngestEvent>),
    Many(Vec<IngestEvent>),
}

/// Stores log events. The answer is 200 only after every event was written and fsynced; on any error
/// none is stored.
#[utoipa::path(
    post,
    path = "/api/logs/ingest",
    tag = "logs",
    request_body(
        content(
            (IngestBody = "application/json"),
            (IngestEvent = "application/x-ndjson"),
        ),
        description = "One event, an array of events, or NDJSON (one event per line)"
    ),
    responses(
        (status = 200, description = "Stored and fsynced", body = IngestResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn ingest(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Body, ApiError>,
) -> Result<Json<IngestResponse>, ApiError> {
    let mut sent = 1;
    let stored = store(&state, &headers, body, &mut sent).await;
    let m = state.api_metrics();
    match &stored {
        Ok(r) => m.logs_ingested.inc_by(r.accepted),
        Err(_) => m.logs_dropped.inc_by(sent),
    }
    stored
}

/// Parses and stores an ingest body (a body that could not be read is refused as one event); `sent`
/// becomes the number of events in it once that is known.
async fn store(
    state: &ApiState,
    headers: &HeaderMap,
    body: Result<Body, ApiError>,
    sent: &mut u64,
) -> Result<Json<IngestResponse>, ApiError> {
    let kind = input::body_kind(headers, true)?;
    let Body(bytes) = body?;
    let bytes = bytes.as_ref();
    let events = match kind {
        BodyKind::Json => match input::parse_json(bytes)? {
            Value::Array(items) => {
                *sent = items.len() as u64;
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    out.push(
                        parse_event(item)
                            .map_err(|e| ApiError::invalid(format!("event {i}: {e}")))?,
                    );
                }
                out
            }
            one => vec![parse_event(one).map_err(ApiError::invalid)?],
        },
        BodyKind::Ndjson => {
            *sent = bytes
                .split(|&b| b == b'\n')
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .count() as u64;
            parse_ndjson(bytes)?
        }
    };
    if events.is_empty() {
        return Err(ApiError::invalid("the body holds no events"));
    }
    let n = events.len() as u64;
    let (first_id, last_id) = state
        .logs()
        .ingest(events)
        .await
        .map_err(|e| ApiError::unavailable(format!("events not stored: {e}")))?;
    Ok(Json(IngestResponse {
        accepted: n,
        first_id,
        last_id,
    }))
}

fn parse_ndjson(bytes: &[u8]) -> Result<Vec<LogEvent>, ApiError> {
    let mut out = Vec::new();
    for (idx, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: Value = serde_json::from_slice(line).map_err(|e| {
            ApiError::bad_request(format!("malformed JSON on line {}: {e}", idx + 1))
        })?;
        out.push(
            parse_event(value).map_err(|e| ApiError::invalid(format!("line {}: {e}", idx + 1)))?,
        );
    }
    Ok(out)
}

/// Filters of `GET /api/logs` and `GET /api/logs/stream`; all optional, no implicit time window.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// Exact service name.
    #[param(value_type = Option<String>)]
    pub service: Option<String>,
    /// Minimum level (`warn` gives warn, error and fatal).
    #[param(value_type = Option<Level>)]
    pub level: Option<String>,
    /// Events with `ts >= since` (Unix seconds); `GET /api/logs` then reads the journal files, not only
    /// the in-memory ring.
    #[param(value_type = Option<f64>, minimum = 0)]
    pub since: Option<String>,
    /// Events with `ts <= until` (Unix seconds); `GET /api/logs` then reads the journal files, not only
    /// the in-memory ring.
    #[param(value_type = Option<f64>, minimum = 0)]
    pub until: Option<String>,
    #[param(value_type = Option<String>)]
    pub request_id: Option<String>,
    #[param(value_type = Option<String>)]
    pub quote_id: Option<String>,
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{64}$")]
    pub user_op_hash: Option<String>,
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{64}$")]
    pub tx_hash: Option<String>,
    #[param(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    pub sender: Option<String>,
    /// Case-insensitive text search in `msg` and `meta`.
    #[param(value_type = Option<String>)]
    pub q: Option<String>,
    /// Most events returned (the newest matches), default 100, at most 100000. Ignored by the stream.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100000)]
    pub limit: Option<String>,
}

/// Default and largest `limit` of `GET /api/logs`.
pub const DEFAULT_LIMIT: u64 = 100;
pub const MAX_LIMIT: u64 = 100_000;

impl LogsQuery {
    /// The filter, or 422 naming the parameter.
    pub fn filter(&self) -> Result<LogFilter, ApiError> {
        let bad = |name: &str, e: String| ApiError::invalid(format!("parameter `{name}`: {e}"));
        let since = input::secs_param("since", self.since.as_deref())?;
        let until = input::secs_param("until", self.until.as_deref())?;
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(ApiError::invalid(format!(
                "parameter `until` ({u}) is before `since` ({s})"
            )));
        }
        Ok(LogFilter {
            service: self.service.clone(),
            level: self
                .level
                .as_deref()
                .map(str::parse::<Level>)
                .transpose()
                .map_err(|e| bad("level", e))?,
            since,
            until,
            request_id: self.request_id.clone(),
            quote_id: self.quote_id.clone(),
            user_op_hash: self
                .user_op_hash
                .as_deref()
                .map(parse_hash)
                .transpose()
                .map_err(|e| bad("userOpHash", e))?,
            tx_hash: self
                .tx_hash
                .as_deref()
                .map(parse_hash)
                .transpose()
                .map_err(|e| bad("txHash", e))?,
            sender: self
                .sender
                .as_deref()
                .map(parse_address)
                .transpose()
                .map_err(|e| bad("sender", e))?,
            text: self.q.as_ref().map(|t| t.to_lowercase()),
        })
    }
}

/// Matching events, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogsResponse {
    pub logs: Vec<LogEvent>,
}

/// The newest `limit` events that match every given filter, oldest first. Without `since` and `until`
/// they come from the in-memory ring (the last `log_retention_max` events); with either, from the NDJSON
/// journal files, so older events are found too.
#[utoipa::path(
    get,
    path = "/api/logs",
    tag = "logs",
    params(LogsQuery),
    responses(
        (status = 200, description = "Matching events, oldest first", body = LogsResponse),
        (status = 400, description = "Unknown parameter", body = ErrorBody),
        (status = 422, description = "Invalid parameter value", body = ErrorBody),
        (status = 503, description = "The journal files could not be read", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn query(
    State(state): State<ApiState>,
    Query(q): Query<LogsQuery>,
) -> Result<Json<LogsResponse>, ApiError> {
    let filter = q.filter()?;
    let limit =
        input::int_param("limit", q.limit.as_deref(), 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    if filter.since.is_some() || filter.until.is_some() {
        let dir = state.settings().data_dir.join("logs");
        let logs = tokio::task::spawn_blocking(move || {
            crate::logs::scan::newest(&dir, &filter, limit as usize)
        })
        .await
        .map_err(|e| ApiError::unavailable(format!("reading the log files failed: {e}")))?
        .map_err(|e| ApiError::unavailable(format!("reading the log files failed: {e}")))?;
        return Ok(Json(LogsResponse { logs }));
    }
    let logs = state
        .logs()
        .query(&filter, limit as usize)
        .into_iter()
        .map(|e| (*e).clone())
        .collect();
    Ok(Json(LogsResponse { logs }))
}
