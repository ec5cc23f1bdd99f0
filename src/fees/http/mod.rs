//! The fee manager's HTTP side: routes, bearer-token auth for `/api/admin/*`, JSON bodies and query strings
//! that reject bad input as `{"error": "..."}` naming the field (all through [`crate::http`]), the HTTP
//! form of [`FeesError`], and the `serve --fee-manager` mode.

mod admin_mux;
mod admin_vouch;
mod public;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::model::{DefaultConfig, MAX_LIMIT, Paging, Pattern, Proposer};
use super::snapshot::Snapshots;
use super::{FeesError, FeesSettings, Store, check};
use crate::config::Secret;
use crate::http::query::{ParamError, pairs};
use crate::http::{Bearer, BodyLimit, HttpError, PageBounds, RequestTimeout, Routes, Wording};
use crate::serve::{Listener, Mode};

/// The largest request body accepted (a Vouch request for 100,000 keys is about 10 MiB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// How long a request may take, body included, before it is answered 408 (a stuck database or a client that
/// stalls while sending must not hold a connection forever).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The 401 answers of the admin API, in the fee-manager spec's words.
const WORDING: Wording = Wording {
    missing: "missing bearer token: send Authorization: Bearer <token>",
    malformed: "missing bearer token: send Authorization: Bearer <token>",
    wrong: "invalid bearer token",
};

/// The 503 answer of the admin API while no admin token is configured.
const ADMIN_DISABLED: &str = "admin API disabled: no admin token configured (set [fees] admin_token_file or BUTLER_FEES__ADMIN_TOKEN)";

/// How far the admin lists page.
const PAGE: PageBounds = PageBounds {
    default_limit: 100,
    max_limit: MAX_LIMIT as u64,
    max_offset: i64::MAX as u64,
};

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    /// What the public routes answer from.
    pub snapshots: Snapshots,
}

type Shared = State<Arc<AppState>>;

/// What a handler answers: a response or a JSON error.
type Answer = Result<Response, HttpError>;

/// The `serve --fee-manager` mode: connects the store (applying migrations) and answers on `listen`.
pub async fn mode(settings: &FeesSettings, listen: SocketAddr) -> Result<Mode, FeesError> {
    let store = Store::connect(&settings.database).await?;
    tracing::info!(database = %settings.database.describe(), "fee manager store ready");
    log_findings(&store).await?;
    if settings.admin_token.is_none() {
        tracing::warn!(
            "no fee manager admin token configured ([fees] admin_token_file or BUTLER_FEES__ADMIN_TOKEN): \
             the admin API refuses every request"
        );
    }
    let routes = router(store, settings.admin_token.clone()).await?;
    Ok(Mode::new("fee-manager").listener(Listener::new(listen, routes)))
}

/// Logs what `butler fees check` reports about the stored configuration, so a problem a client would hit
/// shows at start.
async fn log_findings(store: &Store) -> Result<(), FeesError> {
    let findings = check::lint(&store.export().await?);
    for f in &findings {
        match f.level {
            check::Level::Error => {
                tracing::error!(client = f.client, place = %f.place, "fee configuration: {}", f.message)
            }
            check::Level::Warning => {
                tracing::warn!(client = f.client, place = %f.place, "fee configuration: {}", f.message)
            }
            check::Level::Note => {
                tracing::info!(client = f.client, place = %f.place, "fee configuration: {}", f.message)
            }
        }
    }
    if check::has_errors(&findings) {
        tracing::error!(
            "the fee configuration has problems a client refuses: see `butler fees check`"
        );
    }
    Ok(())
}

/// All fee manager routes: public (Vouch, Commit-Boost) and admin (behind the bearer token), each request
/// limited to [`REQUEST_TIMEOUT`]. Loads the configuration snapshot first, so a database that cannot be read
/// fails here rather than at the first request.
pub async fn router(
    store: Store,
    admin_token: Option<Secret>,
) -> Result<(Router, Vec<String>), FeesError> {
    let snapshots = Snapshots::new(store.clone());
    snapshots.get().await?;
    let state = Arc::new(AppState { store, snapshots });
    let guard = Bearer::closed_unless(admin_token.as_ref(), ADMIN_DISABLED).wording(WORDING);
    let public = Routes::new()
        .route(
            "/vouch/v2/execution-config/{config}",
            post(public::execution_config),
        )
        .route("/commit-boost/v1/mux/{name}", get(public::mux_keys));
    let admin = Routes::new()
        .route(
            "/api/admin/vouch/proposers",
            get(admin_vouch::list::<Proposer>),
        )
        .route(
            "/api/admin/vouch/proposers/{public_key}",
            get(admin_vouch::get::<Proposer>)
                .put(admin_vouch::put_proposer)
                .delete(admin_vouch::delete::<Proposer>),
        )
        .route("/api/admin/vouch/explain", get(admin_vouch::explain))
        .route(
            "/api/admin/vouch/configs/default",
            get(admin_vouch::list::<DefaultConfig>).post(admin_vouch::create_default),
        )
        .route(
            "/api/admin/vouch/configs/default/{name}",
            get(admin_vouch::get::<DefaultConfig>)
                .put(admin_vouch::update_default)
                .delete(admin_vouch::delete::<DefaultConfig>),
        )
        .route(
            "/api/admin/vouch/proposer-patterns",
            get(admin_vouch::list::<Pattern>).post(admin_vouch::create_pattern),
        )
        .route(
            "/api/admin/vouch/proposer-patterns/{name}",
            get(admin_vouch::get::<Pattern>)
                .put(admin_vouch::update_pattern)
                .delete(admin_vouch::delete::<Pattern>),
        )
        .route(
            "/api/admin/commit-boost/mux",
            get(admin_mux::list).post(admin_mux::create),
        )
        .route(
            "/api/admin/commit-boost/mux/{name}",
            get(admin_mux::get)
                .put(admin_mux::update)
                .delete(admin_mux::delete),
        )
        .route(
            "/api/admin/commit-boost/mux/{name}/keys",
            post(admin_mux::add_keys).delete(admin_mux::remove_keys),
        )
        .map(|r| {
            r.route_layer(middleware::from_fn_with_state(
                guard,
                crate::http::auth::require,
            ))
        });
    let limit = BodyLimit {
        bytes: MAX_BODY_BYTES,
        key: None,
    };
    let timeout = RequestTimeout {
        limit: REQUEST_TIMEOUT,
        key: None,
    };
    Ok(public
        .merge(admin)
        .map(|r| timeout.apply(limit.apply(r)))
        .with_state(state))
}

impl From<FeesError> for HttpError {
    fn from(e: FeesError) -> Self {
        match e {
            FeesError::Invalid(m) => HttpError::bad_request(m),
            e @ (FeesError::NotFound { .. } | FeesError::Inactive(_)) => {
                HttpError::not_found(e.to_string())
            }
            FeesError::Conflict(c) => HttpError::new(StatusCode::CONFLICT, c.to_string()),
            FeesError::Db(e) => {
                tracing::error!(error = %e, "fee manager database error");
                HttpError::internal(match e {
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                        "Database connection failed"
                    }
                    _ => "Database error",
                })
            }
            other => {
                tracing::error!(error = %other, "fee manager error");
                HttpError::internal("Internal server error")
            }
        }
    }
}

/// A rejected query parameter, in the fee-manager spec's words (400).
fn param_error(e: ParamError) -> HttpError {
    HttpError::bad_request(match e {
        ParamError::Unknown { name, allowed } => {
            format!("unknown query parameter '{name}' (expected one of: {allowed})")
        }
        ParamError::Repeated { name } => format!("{name}: given more than once"),
        ParamError::Value {
            name,
            value,
            problem,
        } => format!("{name}: '{value}' {problem}"),
    })
}

/// The query string as a map; unknown or repeated parameters are refused by name.
pub(crate) fn query_map(
    raw: Option<String>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, HttpError> {
    pairs(raw.as_deref(), allowed).map_err(param_error)
}

/// `limit` (1..=1000, default 100) and `offset` (default 0).
pub(crate) fn paging(q: &HashMap<String, String>) -> Result<Paging, HttpError> {
    let p = PAGE
        .page(
            q.get("limit").map(String::as_str),
            q.get("offset").map(String::as_str),
        )
        .map_err(param_error)?;
    Ok(Paging {
        limit: p.limit as i64,
        offset: p.offset as i64,
    })
}

/// A `true`/`false` query parameter.
pub(crate) fn bool_param(
    q: &HashMap<String, String>,
    name: &str,
) -> Result<Option<bool>, HttpError> {
    crate::http::query::bool_param(name, q.get(name).map(String::as_str)).map_err(param_error)
}

/// A list answer: `{"<key>": [...], "total", "limit", "offset"}`.
pub(crate) fn page_json<T: serde::Serialize>(key: &str, page: super::model::Page<T>) -> Response {
    axum::Json(serde_json::Value::Object(page.json(key))).into_response()
}
