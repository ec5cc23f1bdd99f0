//! Public routes: `POST /vouch/v2/execution-config/{config}` for Vouch and `GET /commit-boost/v1/mux/{name}`
//! for Commit-Boost. No authentication (as the spec says); they only read.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery};
use axum::response::{IntoResponse, Response};

use super::{Shared, body_bytes, query_map};
use crate::fees::{FeesError, vouch};

/// The execution config for the keys in the body (bare array or `{"keys": [...]}`) under default config
/// `config`, with the patterns selected by `?tags=a,b` (any tag matches).
pub async fn execution_config(
    state: Shared,
    Path(config): Path<String>,
    RawQuery(raw): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FeesError> {
    let q = query_map(raw, &["tags"])?;
    let tags = vouch::parse_tags(q.get("tags").map(String::as_str))?;
    let keys = vouch::parse_keys(&body_bytes(body)?)?;
    let (default, proposers, patterns) =
        state.store.execution_inputs(&config, &keys, &tags).await?;
    Ok(Json(vouch::build(&default, &proposers, &patterns)).into_response())
}

/// The keys of a mux as a plain JSON array, the format Commit-Boost's HTTP mux loader decodes.
pub async fn mux_keys(state: Shared, Path(name): Path<String>) -> Result<Response, FeesError> {
    match state.store.mux_keys(&name).await? {
        Some(keys) => Ok(Json(keys).into_response()),
        None => Err(FeesError::NotFound(format!(
            "Mux config '{name}' not found"
        ))),
    }
}
