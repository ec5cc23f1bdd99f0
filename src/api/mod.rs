//! The watcher's HTTP API (axum on hyper): public, health, logs (ingest, query, SSE), telemetry and admin
//! endpoints, with bearer auth, body limits, timeouts, CORS and an OpenAPI document generated from the
//! handlers (`GET /api/openapi.json`).
//!
//! Who may call what: `/api/public/*`, `/health`, `/stats`, `/workflows*` and `/api/openapi.json` are
//! open; `/metrics` is open unless a metrics token is configured;
//! `/api/logs/ingest` and `/api/telemetry/*` are open unless an ingest token is configured;
//! `GET /api/logs`, `GET /api/logs/stream`, `/health/db` and `/api/admin/*` need the admin token. With
//! `[api] console` the operator console (`GET /`, `/ui/...`, [`crate::console`]) is merged in; its pages need
//! a session opened with the admin token.

pub mod admin;
pub mod bundlers;
pub mod error;
pub mod health;
pub mod input;
pub mod logs;
pub mod metrics;
pub mod monitor;
pub mod openapi;
pub mod paymaster_config;
pub mod prom;
pub mod public;
pub mod settings;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod users;
pub mod workflows;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::from_fn_with_state;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use settings::ApiSettings;
pub use state::{ApiState, StartError, WatcherView};

use crate::http::{self, BodyLimit, RequestTimeout};
use crate::serve::{Listener, Mode};

/// Routes anyone may call.
fn open_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::public_health))
        .routes(routes!(health::public_status))
        .routes(routes!(public::bundlers))
        .routes(routes!(public::deployments))
        .routes(routes!(openapi::document))
        .routes(routes!(workflows::list))
        .routes(routes!(workflows::detail))
        .routes(routes!(workflows::stats))
}

/// `GET /metrics`: open unless a metrics token is configured.
fn metrics_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(prom::metrics))
}

/// Routes that need the ingest token when one is configured.
fn ingest_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(logs::ingest))
        .routes(routes!(telemetry::session))
        .routes(routes!(telemetry::event))
}

/// Routes that need the admin token.
fn admin_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(health::health_db))
        .routes(routes!(logs::query))
        .routes(routes!(stream::stream))
        .routes(routes!(admin::bundlers))
        .routes(routes!(bundlers::spawn))
        .routes(routes!(bundlers::register))
        .routes(routes!(bundlers::stop))
        .routes(routes!(bundlers::start))
        .routes(routes!(bundlers::unregister))
        .routes(routes!(admin::paymaster_status_handler))
        .routes(routes!(admin::revenue))
        .routes(routes!(paymaster_config::config))
        .routes(routes!(users::users))
        .routes(routes!(users::userops))
        .routes(routes!(metrics::summary))
        .routes(routes!(metrics::timeseries))
}

/// The OpenAPI document of every route [`router`] serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let doc = open_routes()
        .merge(metrics_routes())
        .merge(ingest_routes())
        .merge(admin_routes())
        .into_openapi();
    openapi::finish(doc)
}

/// The API's router with its state, auth, limits, timeout and CORS applied, and the paths it routes.
pub fn router(state: ApiState) -> (Router, Vec<String>) {
    let api = state.settings();
    let admin = admin_routes().route_layer(from_fn_with_state(
        state.admin_guard().clone(),
        http::auth::require,
    ));
    let ingest = ingest_routes().route_layer(from_fn_with_state(
        state.ingest_guard().clone(),
        http::auth::require,
    ));
    let metrics = metrics_routes().route_layer(from_fn_with_state(
        state.metrics_guard().clone(),
        http::auth::require,
    ));
    let (routes, doc) = open_routes()
        .merge(metrics)
        .merge(ingest)
        .merge(admin)
        .split_for_parts();
    let mut paths: Vec<String> = doc.paths.paths.keys().cloned().collect();
    let mut routes = routes;
    if api.console {
        let (console, console_paths) = crate::console::router(state.clone());
        routes = routes.merge(console);
        paths.extend(console_paths);
    }
    let routes = routes
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::wrong_method);
    let routes = BodyLimit {
        bytes: api.body_limit_bytes,
        key: Some("[api] body_limit_bytes"),
    }
    .apply(routes);
    let mut router = RequestTimeout {
        limit: api.request_timeout,
        key: Some("[api] request_timeout_secs"),
    }
    .apply(routes)
    .layer(from_fn_with_state(state.clone(), prom::track));
    if let Some(cors) = cors(&api.cors_origins) {
        router = router.layer(cors);
    }
    (router.with_state(state), paths)
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// The API as a serve mode: its router, the stores' writers and the health monitor as tasks; the data
/// endpoints read `watcher` (the indexer of the same process), if any.
pub fn mode(
    settings: ApiSettings,
    watcher: Option<WatcherView>,
    cancel: CancellationToken,
) -> Result<Mode, StartError> {
    let (state, tasks) = ApiState::open(settings, watcher, cancel)?;
    Ok(mode_of(state, tasks))
}

/// The API as a serve mode from an opened state (after subsystems registered their collectors on
/// [`ApiState::registry`]).
pub fn mode_of(state: ApiState, tasks: Vec<(String, crate::serve::Task)>) -> Mode {
    let listen = state.settings().listen;
    let mut mode = Mode::new("api").listener(Listener::new(listen, router(state)).with_fallback());
    mode.tasks = tasks;
    mode
}
