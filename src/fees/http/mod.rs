//! The fee manager's HTTP side: routes, bearer-token auth for `/api/admin/*`, JSON bodies and query strings
//! that reject bad input as `{"error": "..."}` naming the field, and the `serve --fee-manager` mode.

mod admin_mux;
mod admin_vouch;
mod public;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use tower_http::timeout::TimeoutLayer;

use super::model::{DefaultConfig, MAX_LIMIT, Paging, Pattern, Proposer};
use super::snapshot::Snapshots;
use super::{FeesError, FeesSettings, Store, check, json_error};
use crate::config::Secret;
use crate::serve::Mode;

/// The largest request body accepted (a Vouch request for 100,000 keys is about 10 MiB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// How long a request may take, body included, before it is answered 408 (a stuck database or a client that
/// stalls while sending must not hold a connection forever).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    /// What the public routes answer from.
    pub snapshots: Snapshots,
    pub admin_token: Option<Secret>,
}

type Shared = State<Arc<AppState>>;

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
    Ok(Mode {
        name: "fee-manager",
        listen,
        router: router(store, settings.admin_token.clone()).await?,
        tasks: Vec::new(),
    })
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
pub async fn router(store: Store, admin_token: Option<Secret>) -> Result<Router, FeesError> {
    let snapshots = Snapshots::new(store.clone());
    snapshots.get().await?;
    let state = Arc::new(AppState {
        store,
        snapshots,
        admin_token,
    });
    let public = Router::new()
        .route(
            "/vouch/v2/execution-config/{config}",
            post(public::execution_config),
        )
        .route("/commit-boost/v1/mux/{name}", get(public::mux_keys));
    let admin = Router::new()
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
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Ok(public
        .merge(admin)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::map_response(timeout_body))
        .with_state(state))
}

/// Gives the timeout layer's bare 408 the JSON error body every other rejection has.
async fn timeout_body(resp: Response) -> Response {
    if resp.status() == StatusCode::REQUEST_TIMEOUT
        && !resp.headers().contains_key(header::CONTENT_TYPE)
    {
        return json_error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        );
    }
    resp
}

/// `Authorization: Bearer <token>`, compared in constant time. No token configured: 503, never open.
async fn auth(State(state): Shared, req: Request, next: Next) -> Response {
    let Some(token) = &state.admin_token else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "admin API disabled: no admin token configured (set [fees] admin_token_file or BUTLER_FEES__ADMIN_TOKEN)",
        );
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let ok =
        given.is_some_and(|g| bool::from(g.trim().as_bytes().ct_eq(token.expose().as_bytes())));
    if ok {
        return next.run(req).await;
    }
    let message = if given.is_none() {
        "missing bearer token: send Authorization: Bearer <token>"
    } else {
        "invalid bearer token"
    };
    let mut resp = json_error(StatusCode::UNAUTHORIZED, message);
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    resp
}

/// The body bytes, with an over-size body answered as a JSON 413.
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, FeesError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FeesError::TooLarge(format!(
                "request body is larger than {MAX_BODY_BYTES} bytes"
            ))
        } else {
            FeesError::Invalid(format!("Invalid request body: {}", e.body_text()))
        }
    })
}

/// Decodes a JSON body; errors name the place (`Invalid request body: relays[0].gas_limit: ...`).
pub(crate) fn json_body<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, FeesError> {
    let bytes = body_bytes(body)?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            FeesError::Invalid(format!("Invalid request body: {}", e.inner()))
        } else {
            FeesError::Invalid(format!("Invalid request body: {path}: {}", e.inner()))
        }
    })
}

/// The query string as a map; unknown or repeated parameters are refused by name.
pub(crate) fn query_map(
    raw: Option<String>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, FeesError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(FeesError::Invalid(format!(
                "unknown query parameter '{k}' (expected one of: {})",
                allowed.join(", ")
            )));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(FeesError::field(k, "given more than once"));
        }
    }
    Ok(out)
}

/// `limit` (1..=1000, default 100) and `offset` (default 0).
pub(crate) fn paging(q: &HashMap<String, String>) -> Result<Paging, FeesError> {
    let mut p = Paging::default();
    if let Some(v) = q.get("limit") {
        p.limit = v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                FeesError::field(
                    "limit",
                    format!("'{v}' is not an integer from 1 to {MAX_LIMIT}"),
                )
            })?;
    }
    if let Some(v) = q.get("offset") {
        p.offset = v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            FeesError::field("offset", format!("'{v}' is not a non-negative integer"))
        })?;
    }
    Ok(p)
}

/// A `true`/`false` query parameter.
pub(crate) fn bool_param(
    q: &HashMap<String, String>,
    name: &str,
) -> Result<Option<bool>, FeesError> {
    match q.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(FeesError::field(
            name,
            format!("'{v}' is not true or false"),
        )),
    }
}

/// A list answer: `{"<key>": [...], "total", "limit", "offset"}`.
pub(crate) fn page_json<T: serde::Serialize>(key: &str, page: super::model::Page<T>) -> Response {
    let mut m = serde_json::Map::new();
    m.insert(
        key.to_string(),
        serde_json::to_value(&page.items).unwrap_or_default(),
    );
    m.insert("total".into(), page.total.into());
    m.insert("limit".into(), page.limit.into());
    m.insert("offset".into(), page.offset.into());
    axum::Json(serde_json::Value::Object(m)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_timeout_is_answered_in_json() {
        let bare = StatusCode::REQUEST_TIMEOUT.into_response();
        let resp = timeout_body(bare).await;
        assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body,
            "{\"error\":\"the request took longer than 30 s\"}".as_bytes()
        );
        let other = json_error(StatusCode::BAD_REQUEST, "x");
        assert_eq!(timeout_body(other).await.status(), StatusCode::BAD_REQUEST);
    }
}
