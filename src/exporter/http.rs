//! HTTP side of the exporter: `GET /metrics` (optionally behind a bearer token, optionally served from a
//! short cache) and `GET /healthz` (never touches an RPC).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use super::ExporterError;
use super::render::render;
use super::scrape::Collectors;
use crate::config::Secret;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Shared state of the exporter's handlers.
pub struct Exporter {
    collectors: Collectors,
    bearer_token: Option<Secret>,
    /// The last rendered body and when it was collected; used only when a cache TTL is configured.
    cached: Mutex<Option<(Instant, Bytes)>>,
}

impl Exporter {
    pub fn new(collectors: Collectors) -> Self {
        let bearer_token = collectors.settings.bearer_token.clone();
        Self {
            collectors,
            bearer_token,
            cached: Mutex::new(None),
        }
    }

    /// A fresh scrape, rendered.
    async fn collect(&self) -> Result<Bytes, ExporterError> {
        let scrape = self.collectors.scrape().await;
        Ok(Bytes::from(render(&self.collectors.settings, &scrape)?))
    }

    /// The body for `/metrics`: fresh, or the cached one while it is younger than the TTL. With a cache,
    /// concurrent requests wait for one collection instead of each starting their own.
    pub async fn body(&self) -> Result<Bytes, ExporterError> {
        let ttl = self.collectors.settings.cache_ttl;
        if ttl.is_zero() {
            return self.collect().await;
        }
        let mut cached = self.cached.lock().await;
        if let Some((at, body)) = cached.as_ref()
            && at.elapsed() < ttl
        {
            return Ok(body.clone());
        }
        let started = Instant::now();
        let body = self.collect().await?;
        *cached = Some((started, body.clone()));
        Ok(body)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.bearer_token else {
            return true;
        };
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
        else {
            return false;
        };
        bool::from(given.as_bytes().ct_eq(token.expose().as_bytes()))
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The exporter's routes.
pub fn router(exporter: Arc<Exporter>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(exporter)
}

async fn metrics(State(exporter): State<Arc<Exporter>>, headers: HeaderMap) -> Response {
    if !exporter.authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            "missing or wrong bearer token\n",
        )
            .into_response();
    }
    match exporter.body().await {
        Ok(body) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render /metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }
}
