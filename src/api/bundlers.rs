//! The supervisor's admin endpoints: `POST /api/admin/bundlers/spawn` (§5.1), `POST
//! /api/admin/bundlers/register` (§5.1.1), `POST /api/admin/bundlers/{id}/stop|start|unregister`, and
//! the supervised entries of `GET /api/admin/bundlers`, `GET /api/public/bundlers` and the health checks'
//! bundler count. A refused request writes nothing and its error names what was wrong.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::input::{self, Body};
use super::monitor::BundlerProbe;
use super::public::PublicBundler;
use super::state::ApiState;
use crate::bundlers::{
    BundlerError, BundlerInstance, Kind, RegisterRequest, SpawnRequest, Supervisor,
};

/// The answer to spawn and register (the seed's shape).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Spawned {
    pub id: String,
    pub name: String,
    pub rpc_url: String,
    /// `DOWN` until the first health probe succeeds.
    pub status: String,
    /// True for a spawned process, false for a registered URL.
    pub spawned: bool,
}

/// An entry of `GET /api/admin/bundlers`: a configured `[[bundlers]]` with its last probe, or a
/// supervised instance (spawned or registered) with its registry fields.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AdminBundler {
    Configured(ConfiguredBundler),
    Supervised(BundlerInstance),
}

/// A configured bundler (`kind` is `configured`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfiguredBundler {
    pub kind: &'static str,
    #[serde(flatten)]
    pub probe: BundlerProbe,
}

/// The supervisor, or 409 while no `[supervisor]` is configured.
pub fn supervisor(state: &ApiState) -> Result<&Supervisor, ApiError> {
    state.supervisor().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "bundler supervision is off: the watcher's config has no [supervisor] section",
        )
    })
}

/// The HTTP answer of a supervisor error.
pub fn api_error(e: BundlerError) -> ApiError {
    match e {
        BundlerError::Invalid(m) => ApiError::invalid(m),
        BundlerError::NotFound(_) => ApiError::not_found(e.to_string()),
        BundlerError::Conflict(m) => ApiError::new(axum::http::StatusCode::CONFLICT, m),
        BundlerError::Io { .. } | BundlerError::Registry { .. } => {
            ApiError::unavailable(e.to_string())
        }
    }
}

/// A JSON request body (415 for another media type, 400 malformed) decoded into `T`; a field that does
/// not fit is 422 naming it, as everywhere in the watcher API.
fn body<T: DeserializeOwned>(headers: &HeaderMap, Body(bytes): Body) -> Result<T, ApiError> {
    input::body_kind(headers, false)?;
    let value = input::parse_json(&bytes)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            ApiError::invalid(e.into_inner().to_string())
        } else {
            ApiError::invalid(format!("field `{path}`: {}", e.into_inner()))
        }
    })
}

/// Spawns a bundler from a `[[supervisor.templates]]` entry with its own ports, keys and policy.
#[utoipa::path(post, path = "/api/admin/bundlers/spawn", tag = "admin",
    request_body = SpawnRequest,
    responses(
        (status = 200, description = "Registered and starting", body = Spawned),
        (status = 409, description = "Duplicate name, port range exhausted, key pool empty, or no [supervisor]", body = ErrorBody),
        (status = 422, description = "Unknown base or invalid policy", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn spawn(
    State(state): State<ApiState>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<Spawned>, ApiError> {
    let sup = supervisor(&state)?;
    let req: SpawnRequest = body(&headers, raw)?;
    let i = sup.spawn(req).await.map_err(api_error)?;
    Ok(Json(answer(i)))
}

/// Registers an existing bundler URL (no process): it is listed, probed and offered with its policy.
#[utoipa::path(post, path = "/api/admin/bundlers/register", tag = "admin",
    request_body = RegisterRequest,
    responses(
        (status = 200, description = "Registered", body = Spawned),
        (status = 409, description = "Duplicate name, or no [supervisor]", body = ErrorBody),
        (status = 422, description = "Invalid URL or policy", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register(
    State(state): State<ApiState>,
    headers: HeaderMap,
    raw: Body,
) -> Result<Json<Spawned>, ApiError> {
    let sup = supervisor(&state)?;
    let req: RegisterRequest = body(&headers, raw)?;
    let i = sup.register(req).await.map_err(api_error)?;
    Ok(Json(answer(i)))
}

fn answer(i: BundlerInstance) -> Spawned {
    Spawned {
        spawned: i.kind == Kind::Spawned,
        status: i.status.as_str().to_string(),
        id: i.id,
        name: i.name,
        rpc_url: i.rpc_url,
    }
}

/// Stops a spawned instance (SIGTERM to its process group, SIGKILL after `stop_grace_secs`) and keeps
/// it stopped; answers once the process is gone and its ports are free.
#[utoipa::path(post, path = "/api/admin/bundlers/{id}/stop", tag = "admin",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, description = "Stopped", body = BundlerInstance),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "A registered instance has no process, or no [supervisor]", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn stop(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<BundlerInstance>, ApiError> {
    let sup = supervisor(&state)?;
    Ok(Json(sup.stop(&id).await.map_err(api_error)?))
}

/// Starts a stopped or crash-looped spawned instance.
#[utoipa::path(post, path = "/api/admin/bundlers/{id}/start", tag = "admin",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, description = "Starting", body = BundlerInstance),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "A registered instance has no process, or no [supervisor]", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<BundlerInstance>, ApiError> {
    let sup = supervisor(&state)?;
    Ok(Json(sup.start_instance(&id).await.map_err(api_error)?))
}

/// Stops the instance if it runs and removes it from the registry; its keys and ports are free again.
#[utoipa::path(post, path = "/api/admin/bundlers/{id}/unregister", tag = "admin",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, description = "Removed (its last state)", body = BundlerInstance),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "No [supervisor] section", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn unregister(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<BundlerInstance>, ApiError> {
    let sup = supervisor(&state)?;
    Ok(Json(sup.unregister(&id).await.map_err(api_error)?))
}

/// The supervised instances as `GET /api/admin/bundlers` entries.
pub fn admin_entries(state: &ApiState) -> Vec<AdminBundler> {
    state
        .supervisor()
        .map(|s| s.list().into_iter().map(AdminBundler::Supervised).collect())
        .unwrap_or_default()
}

/// How many supervised instances that should run are UP, and how many should run (`desired` running),
/// for the health checks' bundler count.
pub fn running_counts(state: &ApiState) -> (usize, usize) {
    let Some(sup) = state.supervisor() else {
        return (0, 0);
    };
    let wanted: Vec<_> = sup
        .list()
        .into_iter()
        .filter(|i| i.desired == crate::bundlers::Desired::Running)
        .collect();
    let up = wanted
        .iter()
        .filter(|i| i.status == crate::bundlers::Status::Up)
        .count();
    (up, wanted.len())
}

/// The supervised instances as `GET /api/public/bundlers` entries, with their policy as fee metadata.
pub fn public_entries(state: &ApiState) -> Vec<PublicBundler> {
    let Some(sup) = state.supervisor() else {
        return Vec::new();
    };
    sup.list()
        .into_iter()
        .map(|i| {
            let entry_points = i
                .base
                .as_deref()
                .and_then(|b| sup.settings().template(b))
                .map(|t| {
                    if t.entrypoints.is_empty() {
                        vec![crate::probe::userop::ENTRYPOINT_V07.to_checksum(None)]
                    } else {
                        t.entrypoints.iter().map(|a| a.to_checksum(None)).collect()
                    }
                })
                .unwrap_or_default();
            PublicBundler {
                id: i.id,
                name: i.name,
                rpc_url: i.rpc_url,
                status: i.status.as_str().to_string(),
                supported_entry_points: entry_points,
                policy: serde_json::to_value(i.policy).ok(),
                last_seen_ms: i.last_seen,
            }
        })
        .collect()
}
