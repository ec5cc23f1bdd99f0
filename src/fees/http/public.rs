//! Public routes: `POST /vouch/v2/execution-config/{config}` for Vouch and `GET /commit-boost/v1/mux/{name}`
//! for Commit-Boost. No authentication (as the spec says); they only read, and answer from the server's
//! configuration snapshot (one version check against the database per request, see [`crate::fees::snapshot`]).

use axum::extract::{Path, RawQuery};
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{Answer, Shared, query_map};
use crate::fees::{FeesError, Kind, vouch};
use crate::http::body::Body;

fn json(body: impl Into<axum::body::Body>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.into(),
    )
        .into_response()
}

/// The execution config for the keys in the body (bare array or `{"keys": [...]}`) under default config
/// `config`, with the patterns selected by `?tags=a,b` (any tag matches).
pub async fn execution_config(
    state: Shared,
    Path(config): Path<String>,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> Answer {
    let q = query_map(raw, &["tags"])?;
    let tags = vouch::parse_tags(q.get("tags").map(String::as_str))?;
    let keys = vouch::parse_keys(&body)?;
    let snapshot = state.snapshots.get().await?;
    Ok(json(snapshot.execution_config(&config, &keys, &tags)?))
}

/// The keys of a mux as a plain JSON array, the format Commit-Boost's HTTP mux loader decodes.
pub async fn mux_keys(state: Shared, Path(name): Path<String>) -> Answer {
    match state.snapshots.get().await?.mux_keys(&name) {
        Some(keys) => Ok(json(keys)),
        None => Err(FeesError::not_found(Kind::Mux, name).into()),
    }
}
