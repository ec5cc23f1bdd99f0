//! HTTP side of the exporter: `GET /metrics` (optionally behind a bearer token, through the shared
//! [`crate::http`] guard, optionally served from a short cache) and `GET /healthz` (never touches an RPC).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Mutex;

use super::ExporterError;
use super::render::render;
use super::scrape::Collectors;
use crate::http::{Bearer, HttpError, Routes};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Shared state of the exporter's handlers.
pub struct Exporter {
    collectors: Collectors,
    /// The last rendered body and when it was collected; used only when a cache TTL is configured.
    cached: Mutex<Option<(Instant, Bytes)>>,
}

impl Exporter {
    pub fn new(collectors: Collectors) -> Self {
        Self {
            collectors,
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
}

/// The exporter's routes, and their paths.
pub fn router(exporter: Arc<Exporter>) -> (Router, Vec<String>) {
    let guard = Bearer::open_unless(exporter.collectors.settings.bearer_token.as_ref());
    Routes::new()
        .route(
            "/metrics",
            get(metrics).route_layer(from_fn_with_state(guard, crate::http::auth::require)),
        )
        .route("/healthz", get(healthz))
        .with_state(exporter)
}

async fn metrics(State(exporter): State<Arc<Exporter>>) -> Response {
    metrics_answer(exporter.body().await, ToString::to_string)
}

/// The answer to `GET /metrics`: the rendered text exposition, or a logged 500 whose message `message`
/// makes from the error.
pub fn metrics_answer<B: IntoResponse, E: std::fmt::Display>(
    rendered: Result<B, E>,
    message: impl FnOnce(&E) -> String,
) -> Response {
    match rendered {
        Ok(body) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render /metrics");
            HttpError::internal(message(&e)).into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}
