//! The watcher's own `GET /metrics` (text exposition format, `butler_` prefix) on the API listener.
//!
//! The API state owns one [`prometheus::Registry`] ([`ApiState::registry`]); every subsystem of
//! `serve --watcher` registers its own [`prometheus::core::Collector`] on it at start-up (the indexer's
//! [`IndexerMetrics`](crate::watcher::metrics::IndexerMetrics), the supervised bundlers'), and this route
//! gathers and encodes it. The API adds its request counters and latency histogram (labelled with the
//! matched route template, never the raw path), its SSE clients, log ingest counters, telemetry sessions,
//! `butler_build_info` and the process metrics. Open by default; when `[api] metrics_token_file` or
//! `BUTLER_API__METRICS_TOKEN` is set, `Authorization: Bearer <token>` is required.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};
use tokio::sync::Semaphore;

use super::error::ErrorBody;
use super::state::ApiState;
use crate::exporter::catalog::{self, MetricDef, counter, gauge, histogram};
use crate::exporter::{COMMIT, VERSION, metrics_answer};
use crate::telemetry::{TelemetryStore, now_ms};

pub const API_REQUESTS: MetricDef = counter(
    "butler_api_requests_total",
    &["route", "status"],
    "HTTP requests the API answered, by matched route template (unmatched: no route) and status code.",
);
pub const API_REQUEST_DURATION: MetricDef = histogram(
    "butler_api_request_duration_seconds",
    &["route"],
    "Time from a request's arrival to its response headers, by matched route template, in seconds.",
);
pub const SSE_CLIENTS: MetricDef = gauge(
    "butler_api_sse_clients",
    &[],
    "Clients connected to GET /api/logs/stream.",
);
pub const LOGS_INGESTED: MetricDef = counter(
    "butler_logs_ingested_total",
    &[],
    "Log events stored (fsynced) through POST /api/logs/ingest.",
);
pub const LOGS_DROPPED: MetricDef = counter(
    "butler_logs_dropped_total",
    &[],
    "Log events sent to POST /api/logs/ingest that were not stored: every event of a refused request (a body that cannot be read counts as one) or of a batch the store failed to write.",
);
pub const TELEMETRY_SESSIONS: MetricDef = gauge(
    "butler_telemetry_sessions",
    &[],
    "Telemetry sessions with a heartbeat within [api] session_ttl_secs.",
);

/// Every `butler_` family of the watcher's `/metrics` (the supervised bundlers' only while `[supervisor]`
/// runs instances, the database's only with the PostgreSQL store), in documentation order.
pub fn catalog() -> Vec<MetricDef> {
    let mut all: Vec<MetricDef> = crate::watcher::metrics::ALL.to_vec();
    all.extend(crate::chain::heads::ALL);
    all.extend([
        API_REQUESTS,
        API_REQUEST_DURATION,
        SSE_CLIENTS,
        LOGS_INGESTED,
        LOGS_DROPPED,
        TELEMETRY_SESSIONS,
    ]);
    all.extend(crate::bundlers::metrics::ALL);
    all.extend(crate::chain::metrics::ALL);
    all.extend(crate::watcher::pg::health::ALL);
    all.push(catalog::BUILD_INFO);
    all
}

/// The route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The API's own series, counted by its handlers and middleware.
pub struct ApiMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    pub logs_ingested: IntCounter,
    pub logs_dropped: IntCounter,
}

/// Values read when Prometheus scrapes: SSE clients and telemetry sessions.
struct Live {
    sse: Arc<Semaphore>,
    sse_max: usize,
    telemetry: TelemetryStore,
    session_ttl_ms: u64,
    sse_clients: IntGauge,
    sessions: IntGauge,
}

impl Collector for Live {
    fn desc(&self) -> Vec<&Desc> {
        let mut out = self.sse_clients.desc();
        out.extend(self.sessions.desc());
        out
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let used = self.sse_max.saturating_sub(self.sse.available_permits());
        self.sse_clients
            .set(i64::try_from(used).unwrap_or(i64::MAX));
        let connected = self.telemetry.connected(now_ms(), self.session_ttl_ms);
        self.sessions
            .set(i64::try_from(connected).unwrap_or(i64::MAX));
        let mut out = self.sse_clients.collect();
        out.extend(self.sessions.collect());
        out
    }
}

fn opts(def: &MetricDef) -> Opts {
    Opts::new(def.name, def.help)
}

/// A registry holding the API's series, build info and the process metrics.
pub fn registry(
    sse: Arc<Semaphore>,
    sse_max: usize,
    telemetry: TelemetryStore,
    session_ttl_ms: u64,
) -> Result<(Registry, ApiMetrics), prometheus::Error> {
    let registry = Registry::new();
    let metrics = ApiMetrics {
        requests: IntCounterVec::new(opts(&API_REQUESTS), API_REQUESTS.labels)?,
        duration: HistogramVec::new(
            HistogramOpts::new(API_REQUEST_DURATION.name, API_REQUEST_DURATION.help),
            API_REQUEST_DURATION.labels,
        )?,
        logs_ingested: IntCounter::with_opts(opts(&LOGS_INGESTED))?,
        logs_dropped: IntCounter::with_opts(opts(&LOGS_DROPPED))?,
    };
    registry.register(Box::new(metrics.requests.clone()))?;
    registry.register(Box::new(metrics.duration.clone()))?;
    registry.register(Box::new(metrics.logs_ingested.clone()))?;
    registry.register(Box::new(metrics.logs_dropped.clone()))?;
    registry.register(Box::new(Live {
        sse,
        sse_max,
        telemetry,
        session_ttl_ms,
        sse_clients: IntGauge::with_opts(opts(&SSE_CLIENTS))?,
        sessions: IntGauge::with_opts(opts(&TELEMETRY_SESSIONS))?,
    }))?;
    registry.register(Box::new(crate::chain::metrics::rpc_metrics().clone()))?;
    let build = GaugeVec::new(opts(&catalog::BUILD_INFO), catalog::BUILD_INFO.labels)?;
    build.with_label_values(&[VERSION, COMMIT]).set(1.0);
    registry.register(Box::new(build))?;
    #[cfg(target_os = "linux")]
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    Ok((registry, metrics))
}

/// Middleware: counts every answer by matched route template and status, and times it.
pub async fn track(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let res = next.run(req).await;
    let m = state.api_metrics();
    m.duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .with_label_values(&[route.as_str(), res.status().as_str()])
        .inc();
    res
}

/// The watcher's Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "metrics",
    responses(
        (status = 200, description = "The metrics, text exposition format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, description = "A metrics token is configured and the request lacks it", body = ErrorBody),
    ),
    security((), ("bearer" = [])))]
pub async fn metrics(State(state): State<ApiState>) -> Response {
    metrics_answer(crate::exporter::encode(state.registry()), |e| {
        format!("cannot render the metrics: {e}")
    })
}
