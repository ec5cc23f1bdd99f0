//! Admin routes for Vouch: proposers (upsert by key), default configs and proposer patterns (create, update,
//! delete), each with a filtered, paginated list. Lists, reads and deletes are one generic handler each over
//! the store's entity path ([`Admin`]); writes are per entity.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use serde::Serialize;

use super::{Answer, Shared, bool_param, page_json, paging, query_map};
use crate::fees::FeesError;
use crate::fees::model::*;
use crate::fees::store::Entity;
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

/// The settings filters; the numbers canonicalised like stored values (`0.50` finds `0.5`).
fn settings_filter(q: &HashMap<String, String>) -> Result<SettingsFilter, HttpError> {
    Ok(SettingsFilter {
        fee_recipient: q.get("fee_recipient").cloned(),
        gas_limit: q
            .get("gas_limit")
            .map(|v| validate::gas_limit("gas_limit", &Loose(v.clone())))
            .transpose()?,
        min_value: q
            .get("min_value")
            .map(|v| validate::min_value("min_value", &Loose(v.clone())))
            .transpose()?,
    })
}

/// Parses list query strings into filters.
fn proposer_filter(q: &HashMap<String, String>) -> Result<ProposerFilter, HttpError> {
    Ok(ProposerFilter {
        public_key: q.get("public_key").cloned(),
        settings: settings_filter(q)?,
        reset_relays: bool_param(q, "reset_relays")?,
    })
}

fn default_filter(q: &HashMap<String, String>) -> Result<DefaultConfigFilter, HttpError> {
    Ok(DefaultConfigFilter {
        name: q.get("name").cloned(),
        settings: settings_filter(q)?,
        active: bool_param(q, "active")?,
    })
}

fn pattern_filter(q: &HashMap<String, String>) -> Result<PatternFilter, HttpError> {
    Ok(PatternFilter {
        name: q.get("name").cloned(),
        pattern: q.get("pattern").cloned(),
        tag: q.get("tag").cloned(),
        settings: settings_filter(q)?,
        reset_relays: bool_param(q, "reset_relays")?,
    })
}

/// What the admin routes need of a Vouch entity beyond the store's generic path: the list's parameters
/// and answer key (the spec's), the key in a URL, and the answer for one entry.
pub trait Admin: Entity + Serialize {
    /// The key of the list answer's array.
    const LIST_KEY: &'static str;
    /// The query parameters of the list.
    const PARAMS: &'static [&'static str];
    fn filter(q: &HashMap<String, String>) -> Result<Self::Filter, HttpError>;
    /// The key in a URL as it is stored.
    fn path_key(raw: &str) -> Result<String, FeesError> {
        Ok(raw.to_string())
    }
    /// The answer holding one entry.
    fn answer(status: StatusCode, rec: Record<Self>) -> Answer {
        Ok((status, Json(rec)).into_response())
    }
}

impl Admin for DefaultConfig {
    const LIST_KEY: &'static str = "configs";
    const PARAMS: &'static [&'static str] = DEFAULT_PARAMS;
    fn filter(q: &HashMap<String, String>) -> Result<DefaultConfigFilter, HttpError> {
        default_filter(q)
    }
}

impl Admin for Proposer {
    const LIST_KEY: &'static str = "proposers";
    const PARAMS: &'static [&'static str] = PROPOSER_PARAMS;
    fn filter(q: &HashMap<String, String>) -> Result<ProposerFilter, HttpError> {
        proposer_filter(q)
    }
    fn path_key(raw: &str) -> Result<String, FeesError> {
        validate::pubkey_shape("public_key", raw)
    }
}

impl Admin for Pattern {
    const LIST_KEY: &'static str = "configs";
    const PARAMS: &'static [&'static str] = PATTERN_PARAMS;
    fn filter(q: &HashMap<String, String>) -> Result<PatternFilter, HttpError> {
        pattern_filter(q)
    }
    /// The stored pattern plus, when there are any, `warnings` about constructs Go (Vouch) and Rust read
    /// differently.
    fn answer(status: StatusCode, rec: Record<Pattern>) -> Answer {
        let warnings = validate::pattern_warnings(&rec.item.pattern);
        let mut value = serde_json::to_value(&rec).map_err(FeesError::Json)?;
        if let (false, Some(obj)) = (warnings.is_empty(), value.as_object_mut()) {
            obj.insert("warnings".into(), warnings.into());
        }
        Ok((status, Json(value)).into_response())
    }
}

/// `GET` of a list: filters from the query string, one page.
pub async fn list<E: Admin>(state: Shared, RawQuery(raw): RawQuery) -> Answer {
    let q = query_map(raw, E::PARAMS)?;
    let page = state.store.list::<E>(&E::filter(&q)?, paging(&q)?).await?;
    Ok(page_json(E::LIST_KEY, page))
}

/// `GET` of one entry, with its relays.
pub async fn get<E: Admin>(state: Shared, Path(key): Path<String>) -> Answer {
    let key = E::path_key(&key)?;
    match state.store.get::<E>(&key).await? {
        Some(rec) => E::answer(StatusCode::OK, rec),
        None => Err(FeesError::not_found(E::KIND, key).into()),
    }
}

/// `DELETE` of one entry (204), or 404.
pub async fn delete<E: Admin>(state: Shared, Path(key): Path<String>) -> Answer {
    let key = E::path_key(&key)?;
    if state.store.delete::<E>(&key).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(FeesError::not_found(E::KIND, key).into())
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

pub async fn create_pattern(state: Shared, JsonBody(input): JsonBody<PatternInput>) -> Answer {
    let p = input.validate(None, "")?;
    Pattern::answer(StatusCode::CREATED, state.store.create_pattern(&p).await?)
}

pub async fn update_pattern(
    state: Shared,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<PatternInput>,
) -> Answer {
    let p = input.validate(Some(&name), "")?;
    Pattern::answer(StatusCode::OK, state.store.update_pattern(&p).await?)
}

/// `GET /api/admin/vouch/explain?public_key=0x...&config=NAME&tags=a,b&account=wallet/account`: what the
/// validator will use, resolved from butler's answer as Vouch resolves it (see [`crate::fees::explain`]).
pub async fn explain(state: Shared, RawQuery(raw): RawQuery) -> Answer {
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
