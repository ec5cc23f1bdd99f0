//! `POST /api/telemetry/session` (heartbeat: owner EOA, smart-account sender) and `POST /api/telemetry/event`
//! (`paid_fallback_attempt|paid_fallback_success|paid_fallback_failure`).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::input::{self, Body};
use super::state::ApiState;
use crate::logs::event::{MAX_ID_LEN, kind, parse_address, parse_hash};
use crate::telemetry::{Kind, Record, now_ms};

/// A heartbeat of the user app.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    /// The owner EOA.
    #[schema(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub owner: String,
    /// The owner's smart-account sender, once known.
    #[schema(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub sender: Option<String>,
    /// A stable id of the app session (default: the owner).
    #[schema(max_length = 256)]
    pub session_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// An app event.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    /// `paid_fallback_attempt`, `paid_fallback_success` or `paid_fallback_failure`.
    pub event: EventKind,
    #[schema(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub owner: Option<String>,
    #[schema(pattern = "^0x[0-9a-fA-F]{40}$")]
    pub sender: Option<String>,
    #[schema(max_length = 256)]
    pub session_id: Option<String>,
    #[schema(pattern = "^0x[0-9a-fA-F]{64}$")]
    pub user_op_hash: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

/// The app events counted.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PaidFallbackAttempt,
    PaidFallbackSuccess,
    PaidFallbackFailure,
}

/// A stored telemetry record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recorded {
    /// The record's id.
    pub id: u64,
}

const SESSION_FIELDS: &[&str] = &["owner", "sender", "sessionId", "meta"];
const EVENT_FIELDS: &[&str] = &[
    "event",
    "owner",
    "sender",
    "sessionId",
    "userOpHash",
    "meta",
];

/// Records a heartbeat; it counts as connected for `[api] session_ttl_secs`.
#[utoipa::path(
    post,
    path = "/api/telemetry/session",
    tag = "telemetry",
    request_body = SessionBody,
    responses(
        (status = 200, description = "Stored and fsynced", body = Recorded),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn session(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Recorded>, ApiError> {
    let mut obj = object(&headers, body, SESSION_FIELDS)?;
    let owner = match take_str(&mut obj, "owner")? {
        Some(o) => {
            parse_address(&o).map_err(|e| ApiError::invalid(format!("field `owner`: {e}")))?
        }
        None => return Err(ApiError::invalid("missing field `owner`")),
    };
    let record = Record {
        id: 0,
        received_ms: now_ms(),
        kind: Kind::Session,
        session_id: session_id(&mut obj)?,
        owner: Some(owner),
        sender: address(&mut obj, "sender")?,
        user_op_hash: None,
        meta: meta(&mut obj)?,
    };
    store(&state, record).await
}

/// Counts an app event (shown in `/api/admin/metrics/summary`).
#[utoipa::path(
    post,
    path = "/api/telemetry/event",
    tag = "telemetry",
    request_body = EventBody,
    responses(
        (status = 200, description = "Stored and fsynced", body = Recorded),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn event(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Recorded>, ApiError> {
    let mut obj = object(&headers, body, EVENT_FIELDS)?;
    let kind = match take_str(&mut obj, "event")?.as_deref() {
        Some("paid_fallback_attempt") => Kind::PaidFallbackAttempt,
        Some("paid_fallback_success") => Kind::PaidFallbackSuccess,
        Some("paid_fallback_failure") => Kind::PaidFallbackFailure,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "field `event`: unknown event `{other}` (expected paid_fallback_attempt, paid_fallback_success or paid_fallback_failure)"
            )));
        }
        None => return Err(ApiError::invalid("missing field `event`")),
    };
    let user_op_hash = take_str(&mut obj, "userOpHash")?
        .map(|h| parse_hash(&h))
        .transpose()
        .map_err(|e| ApiError::invalid(format!("field `userOpHash`: {e}")))?;
    let record = Record {
        id: 0,
        received_ms: now_ms(),
        kind,
        session_id: session_id(&mut obj)?,
        owner: address(&mut obj, "owner")?,
        sender: address(&mut obj, "sender")?,
        user_op_hash,
        meta: meta(&mut obj)?,
    };
    store(&state, record).await
}

fn object(
    headers: &HeaderMap,
    Body(bytes): Body,
    fields: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    input::body_kind(headers, false)?;
    let value = input::parse_json(&bytes)?;
    let Value::Object(obj) = value else {
        return Err(ApiError::invalid(format!(
            "expected a JSON object, got {}",
            kind(&value)
        )));
    };
    if let Some(unknown) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!(
            "unknown field `{unknown}` (expected one of {})",
            fields.join(", ")
        )));
    }
    Ok(obj)
}

fn take_str(obj: &mut Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(ApiError::invalid(format!(
            "field `{key}`: expected a string, got {}",
            kind(&v)
        ))),
    }
}

fn address(
    obj: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<alloy::primitives::Address>, ApiError> {
    take_str(obj, key)?
        .map(|s| parse_address(&s))
        .transpose()
        .map_err(|e| ApiError::invalid(format!("field `{key}`: {e}")))
}

fn session_id(obj: &mut Map<String, Value>) -> Result<Option<String>, ApiError> {
    match take_str(obj, "sessionId")? {
        Some(s) if s.len() > MAX_ID_LEN => Err(ApiError::invalid(format!(
            "field `sessionId`: longer than {MAX_ID_LEN} bytes"
        ))),
        other => Ok(other),
    }
}

fn meta(obj: &mut Map<String, Value>) -> Result<Option<Value>, ApiError> {
    match obj.remove("meta") {
        None | Some(Value::Null) => Ok(None),
        Some(m @ Value::Object(_)) => Ok(Some(m)),
        Some(v) => Err(ApiError::invalid(format!(
            "field `meta`: expected a JSON object, got {}",
            kind(&v)
        ))),
    }
}

async fn store(state: &ApiState, record: Record) -> Result<Json<Recorded>, ApiError> {
    let id = state
        .telemetry()
        .record(record)
        .await
        .map_err(|e| ApiError::unavailable(format!("telemetry not stored: {e}")))?;
    Ok(Json(Recorded { id }))
}
