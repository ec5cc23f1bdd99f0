//! Admin routes for Commit-Boost muxes: list, get, create, replace, delete, and add or remove keys. A key
//! another mux already holds is refused (409): Commit-Boost fails to start when a key is in two muxes.

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{Answer, Shared, page_json, paging, query_map};
use crate::fees::model::{KeysInput, MuxInput};
use crate::fees::{FeesError, Kind};
use crate::http::{HttpError, JsonBody};

fn not_found(name: &str) -> HttpError {
    FeesError::not_found(Kind::Mux, name).into()
}

pub async fn list(state: Shared, RawQuery(raw): RawQuery) -> Answer {
    let q = query_map(raw, &["limit", "offset"])?;
    let page = state.store.list_mux(paging(&q)?).await?;
    Ok(page_json("mux_configs", page))
}

pub async fn get(state: Shared, Path(name): Path<String>) -> Answer {
    match state.store.get_mux(&name).await? {
        Some(m) => Ok(Json(m).into_response()),
        None => Err(not_found(&name)),
    }
}

pub async fn create(state: Shared, JsonBody(input): JsonBody<MuxInput>) -> Answer {
    let m = input.validate(None, "")?;
    let rec = state.store.create_mux(&m).await?;
    Ok((StatusCode::CREATED, Json(rec)).into_response())
}

pub async fn update(
    state: Shared,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<MuxInput>,
) -> Answer {
    let m = input.validate(Some(&name), "")?;
    Ok(Json(state.store.update_mux(&m).await?).into_response())
}

pub async fn delete(state: Shared, Path(name): Path<String>) -> Answer {
    if state.store.delete_mux(&name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(&name))
    }
}

pub async fn add_keys(
    state: Shared,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<KeysInput>,
) -> Answer {
    let keys = input.validate()?;
    let (added, total_keys) = state.store.add_mux_keys(&name, &keys).await?;
    Ok(Json(serde_json::json!({ "added": added, "total_keys": total_keys })).into_response())
}

pub async fn remove_keys(
    state: Shared,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<KeysInput>,
) -> Answer {
    let keys = input.validate()?;
    let (removed, total_keys) = state.store.remove_mux_keys(&name, &keys).await?;
    Ok(Json(serde_json::json!({ "removed": removed, "total_keys": total_keys })).into_response())
}
