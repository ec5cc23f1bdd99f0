//! Admin routes for Vouch: proposers (upsert by key), default configs and proposer patterns (create, update,
//! delete), each with a filtered, paginated list.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Shared, bool_param, json_body, page_json, paging, query_map};
use crate::fees::FeesError;
use crate::fees::model::*;
use crate::fees::validate::{self, Loose};

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
) -> Result<(Option<String>, Option<String>), FeesError> {
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
fn proposer_filter(q: &HashMap<String, String>) -> Result<ProposerFilter, FeesError> {
    let (gas_limit, min_value) = number_filters(q)?;
    Ok(ProposerFilter {
        public_key: q.get("public_key").cloned(),
        fee_recipient: q.get("fee_recipient").cloned(),
        gas_limit,
        min_value,
        reset_relays: bool_param(q, "reset_relays")?,
    })
}

fn default_filter(q: &HashMap<String, String>) -> Result<DefaultConfigFilter, FeesError> {
    let (gas_limit, min_value) = number_filters(q)?;
    Ok(DefaultConfigFilter {
        name: q.get("name").cloned(),
        fee_recipient: q.get("fee_recipient").cloned(),
        gas_limit,
        min_value,
        active: bool_param(q, "active")?,
    })
}

fn pattern_filter(q: &HashMap<String, String>) -> Result<PatternFilter, FeesError> {
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

fn proposer_not_found(key: &str) -> FeesError {
    FeesError::NotFound(format!("Proposer '{key}' not found"))
}

fn default_not_found(name: &str) -> FeesError {
    FeesError::NotFound(format!("Default config '{name}' not found"))
}

/// A pattern answer: the stored pattern plus, when there are any, `warnings` about constructs Go (Vouch)
/// and Rust read differently.
fn pattern_answer(status: StatusCode, rec: Record<Pattern>) -> Result<Response, FeesError> {
    let warnings = validate::pattern_warnings(&rec.item.pattern);
    let mut value = serde_json::to_value(&rec)?;
    if let (false, Some(obj)) = (warnings.is_empty(), value.as_object_mut()) {
        obj.insert("warnings".into(), warnings.into());
    }
    Ok((status, Json(value)).into_response())
}

fn pattern_not_found(name: &str) -> FeesError {
    FeesError::NotFound(format!("Proposer pattern '{name}' not found"))
}

pub async fn list_proposers(state: Shared, RawQuery(raw): RawQuery) -> Result<Response, FeesError> {
    let q = query_map(raw, PROPOSER_PARAMS)?;
    let page = state
        .store
        .list_proposers(&proposer_filter(&q)?, paging(&q)?)
        .await?;
    Ok(page_json("proposers", page))
}

pub async fn get_proposer(state: Shared, Path(key): Path<String>) -> Result<Response, FeesError> {
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
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FeesError> {
    let input: ProposerInput = json_body(body)?;
    let p = input.validate(Some(&key), "")?;
    let (rec, created) = state.store.put_proposer(&p).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(rec)).into_response())
}

pub async fn delete_proposer(
    state: Shared,
    Path(key): Path<String>,
) -> Result<Response, FeesError> {
    let key = validate::pubkey_shape("public_key", &key)?;
    if state.store.delete_proposer(&key).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(proposer_not_found(&key))
    }
}

pub async fn list_defaults(state: Shared, RawQuery(raw): RawQuery) -> Result<Response, FeesError> {
    let q = query_map(raw, DEFAULT_PARAMS)?;
    let page = state
        .store
        .list_defaults(&default_filter(&q)?, paging(&q)?)
        .await?;
    Ok(page_json("configs", page))
}

pub async fn get_default(state: Shared, Path(name): Path<String>) -> Result<Response, FeesError> {
    match state.store.get_default(&name).await? {
        Some(d) => Ok(Json(d).into_response()),
        None => Err(default_not_found(&name)),
    }
}

pub async fn create_default(
    state: Shared,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FeesError> {
    let input: DefaultConfigInput = json_body(body)?;
    let d = input.validate(None, "")?;
    let rec = state.store.create_default(&d).await?;
    Ok((StatusCode::CREATED, Json(rec)).into_response())
}

pub async fn update_default(
    state: Shared,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FeesError> {
    let input: DefaultConfigInput = json_body(body)?;
    let d = input.validate(Some(&name), "")?;
    Ok(Json(state.store.update_default(&d).await?).into_response())
}

pub async fn delete_default(
    state: Shared,
    Path(name): Path<String>,
) -> Result<Response, FeesError> {
    if state.store.delete_default(&name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(default_not_found(&name))
    }
}

pub async fn list_patterns(state: Shared, RawQuery(raw): RawQuery) -> Result<Response, FeesError> {
    let q = query_map(raw, PATTERN_PARAMS)?;
    let page = state
        .store
        .list_patterns(&pattern_filter(&q)?, paging(&q)?)
        .await?;
    Ok(page_json("configs", page))
}

pub async fn get_pattern(state: Shared, Path(name): Path<String>) -> Result<Response, FeesError> {
    match state.store.get_pattern(&name).await? {
        Some(p) => pattern_answer(StatusCode::OK, p),
        None => Err(pattern_not_found(&name)),
    }
}

pub async fn create_pattern(
    state: Shared,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FeesError> {
    let input: PatternInput = json_body(body)?;
    let p = input.validate(None, "")?;
    pattern_answer(StatusCode::CREATED, state.store.create_pattern(&p).await?)
}

pub async fn update_pattern(
    state: Shared,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FeesError> {
    let input: PatternInput = json_body(body)?;
    let p = input.validate(Some(&name), "")?;
    pattern_answer(StatusCode::OK, state.store.update_pattern(&p).await?)
}

pub async fn delete_pattern(
    state: Shared,
    Path(name): Path<String>,
) -> Result<Response, FeesError> {
    if state.store.delete_pattern(&name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(pattern_not_found(&name))
    }
}

/// `GET /api/admin/vouch/explain?public_key=0x...&config=NAME&tags=a,b&account=wallet/account`: what the
/// validator will use, resolved from butler's answer as Vouch resolves it (see [`crate::fees::explain`]).
pub async fn explain(state: Shared, RawQuery(raw): RawQuery) -> Result<Response, FeesError> {
    let q = query_map(raw, &["public_key", "config", "tags", "account"])?;
    let key = q
        .get("public_key")
        .ok_or_else(|| FeesError::field("public_key", "missing"))?;
    let tags = crate::fees::vouch::parse_tags(q.get("tags").map(String::as_str))?;
    let snapshot = state.snapshots.get().await?;
    let out = snapshot.explain(
        key,
        q.get("config").map(String::as_str),
        &tags,
        q.get("account").map(String::as_str),
    )?;
    Ok(Json(out).into_response())
}
