//! Admin routes for Vouch: proposers (upsert by key), default configs and proposer patterns (create, update,
//! delete), each with a filtered, paginated list.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{Answer, Shared, bool_param, page_json, paging, query_map};
use crate::fees::model::*;
use crate::fees::validate::{self, Loose};
use crate::http::{HttpError, JsonBody};

const PROPOSER_PARAMS: &[&str] = &[
    "public_key",
    "fee_recipient",
    "gas_limit",
    "min_value",
    "reset_relays",
    "limit",
    "offset",
];
const DEFAULT_PARAMS: &[&str] = &[
    "name",
    "fee_recipient",
    "gas_limit",
    "min_value",
    "active",
    "limit",
    "offset",
];
const PATTERN_PARAMS: &[&str] = &[
    "name",
    "pattern",
    "tag",
    "fee_recipient",
    "gas_limit",
    "min_value",
    "reset_relays",
    "limit",
    "offset",
];

/// The exact-match number filters, canonicalised like stored values (`0.50` finds `0.5`).
fn number_filters(
    q: &HashMap<String, String>,
) -> Result<(Option<String>, Option<String>), HttpError> {
    let gas = q
        .get("gas_limit")
        .map(|v| validate::gas_limit("gas_limit", &Loose(v.clone())))
        .transpose()?;
    let min = q
        .get("min_value")
        .map(|v| validate::min_value("min_value", &Loose(v.clone())))
        .transpose()?;
    Ok((gas, min))
}

/// Parses list query strings into filters.
fn proposer_filter(q: &HashMap<String, String>) -> Result<ProposerFilter, HttpError> {
    let (gas_limit, min_value) = number_filters(q)?;
    Ok(ProposerFilter {
        public_key: q.get("public_key").cloned(),
        fee_recipient: q.get("fee_recipient").cloned(),
        gas_limit,
        min_value,
        reset_relays: bool_param(q, "reset_relays")?,
    })
}

fn default_filter(q: &HashMap<String, String>) -> Result<DefaultConfigFilter, HttpError> {
    let (gas_limit, min_value) = number_filters(q)?;
    Ok(DefaultConfigFilter {
        name: q.get("name").cloned(),
        fee_recipient: q.get("fee_recipient").cloned(),
        gas_limit,
        min_value,
        active: bool_param(q, "active")?,
    })
}

fn pattern_filter(q: &HashMap<String, String>) -> Result<PatternFilter, HttpError> {
    let (gas_limit, min_value) = number_filters(q)?;
    Ok(PatternFilter {
        name: q.get("name").cloned(),
        pattern: q.get("pattern").cloned(),
        tag: q.get("tag").cloned(),
        fee_recipient: q.get("fee_recipient").cloned(),
        gas_limit,
        min_value,
        reset_relays: bool_param(q, "reset_relays")?,
    })
}

fn proposer_not_found(key: &str) -> HttpError {
    HttpError::not_found(format!("Proposer '{key}' not found"))
}

fn default_not_found(name: &str) -> HttpError {
    HttpError::not_found(format!("Default config '{name}' not found"))
}

fn pattern_not_found(name: &str) -> HttpError {
    HttpError::not_found(format!("Proposer pattern '{name}' not found"))
}

pub async fn list_proposers(state: Shared, RawQuery(raw): RawQuery) -> Answer {
    let q = query_map(raw, PROPOSER_PARAMS)?;
    let page = state
        .store
        .list_proposers(&proposer_filter(&q)?, paging(&q)?)
        .await?;
    Ok(page_json("proposers", page))
}

pub async fn get_proposer(state: Shared, Path(key): Path<String>) -> Answer {
    let key = validate::pubkey_shape("public_key", &key)?;
    match state.store.get_proposer(&key).await? {
        Some(p) => Ok(Json(p).into_response()),
        None => Err(proposer_not_found(&key)),
    }
}

/// Creates (201) or replaces (200) the proposer with this key.
pub async fn put_proposer(
    state: Shared,
    Path(key): Path<String>,
    JsonBody(input): JsonBody<ProposerInput>,
) -> Answer {
    let p = input.validate(Some(&key), "")?;
    let (rec, created) = state.store.put_proposer(&p).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(rec)).into_response())
}

pub async fn delete_proposer(state: Shared, Path(key): Path<String>) -> Answer {
    let key = validate::pubkey_shape("public_key", &key)?;
    if state.store.delete_proposer(&key).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(proposer_not_found(&key))
    }
}

pub async fn list_defaults(state: Shared, RawQuery(raw): RawQuery) -> Answer {
    let q = query_map(raw, DEFAULT_PARAMS)?;
    let page = state
        .store
        .list_defaults(&default_filter(&q)?, paging(&q)?)
        .await?;
    Ok(page_json("configs", page))
}

pub async fn get_default(state: Shared, Path(name): Path<String>) -> Answer {
    match state.store.get_default(&name).await? {
        Some(d) => Ok(Json(d).into_response()),
        None => Err(default_not_found(&name)),
    }
}

pub async fn create_default(
    state: Shared,
    JsonBody(input): JsonBody<DefaultConfigInput>,
) -> Answer {
    let d = input.validate(None, "")?;
    let rec = state.store.create_default(&d).await?;
    Ok((StatusCode::CREATED, Json(rec)).into_response())
}

pub async fn update_default(
    state: Shared,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<DefaultConfigInput>,
) -> Answer {
    let d = input.validate(Some(&name), "")?;
    Ok(Json(state.store.update_default(&d).await?).into_response())
}

pub async fn delete_default(state: Shared, Path(name): Path<String>) -> Answer {
    if state.store.delete_default(&name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(default_not_found(&name))
    }
}

pub async fn list_patterns(state: Shared, RawQuery(raw): RawQuery) -> Answer {
    let q = query_map(raw, PATTERN_PARAMS)?;
    let page = state
        .store
        .list_patterns(&pattern_filter(&q)?, paging(&q)?)
        .await?;
    Ok(page_json("configs", page))
}

pub async fn get_pattern(state: Shared, Path(name): Path<String>) -> Answer {
    match state.store.get_pattern(&name).await? {
        Some(p) => Ok(Json(p).into_response()),
        None => Err(pattern_not_found(&name)),
    }
}

pub async fn create_pattern(state: Shared, JsonBody(input): JsonBody<PatternInput>) -> Answer {
    let p = input.validate(None, "")?;
    let rec = state.store.create_pattern(&p).await?;
    Ok((StatusCode::CREATED, Json(rec)).into_response())
}

pub async fn update_pattern(
    state: Shared,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<PatternInput>,
) -> Answer {
    let p = input.validate(Some(&name), "")?;
    Ok(Json(state.store.update_pattern(&p).await?).into_response())
}

pub async fn delete_pattern(state: Shared, Path(name): Path<String>) -> Answer {
    if state.store.delete_pattern(&name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(pattern_not_found(&name))
    }
}
