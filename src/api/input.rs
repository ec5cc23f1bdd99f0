//! Reading untrusted input: content types (415), bodies over the limit (413), malformed JSON (400) and
//! query strings (400), each rejection naming the header, line or parameter; plus the request timeout.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// What a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Ndjson,
}

/// The body's media type; `ndjson` says whether `application/x-ndjson` is accepted here.
pub fn body_kind(headers: &HeaderMap, ndjson: bool) -> Result<BodyKind, ApiError> {
    let expected = if ndjson {
        "application/json or application/x-ndjson"
    } else {
        "application/json"
    };
    let unsupported = |what: &str| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("header `content-type`: {what}; expected {expected}"),
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("missing"));
    };
    let text = value.to_str().map_err(|_| unsupported("not valid text"))?;
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyKind::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" if ndjson => {
            Ok(BodyKind::Ndjson)
        }
        _ => Err(unsupported(&format!("`{text}` is not supported"))),
    }
}

/// The buffered body, or 413 over the limit / 400 when it could not be read.
pub fn body_bytes(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body is larger than the limit of {limit} bytes ([api] body_limit_bytes)"),
            )
        } else {
            ApiError::bad_request(format!("cannot read the request body: {}", r.body_text()))
        }
    })
}

/// Parses a JSON document, or 400 naming line and column.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "malformed JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// A typed query string, or 400 naming the parameter.
pub fn query<T: DeserializeOwned>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(|r| {
        let text = r.body_text();
        let text = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text)
            .to_string();
        ApiError::bad_request(format!("query string: {text}"))
    })
}

/// A number query parameter in `[min, max]`, or 422 naming it.
pub fn int_param(
    name: &str,
    raw: Option<&str>,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
        _ => Err(ApiError::invalid(format!(
            "parameter `{name}`: `{raw}` is not an integer from {min} to {max}"
        ))),
    }
}

/// A Unix-seconds query parameter (fractions allowed), or 422 naming it.
pub fn secs_param(name: &str, raw: Option<&str>) -> Result<Option<f64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(ApiError::invalid(format!(
            "parameter `{name}`: `{raw}` is not a Unix time in seconds"
        ))),
    }
}

/// Middleware: answers 408 when the response has not started within `limit`.
pub async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request not completed within {} s ([api] request_timeout_secs)",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}
