//! `[api]`: the watcher's HTTP API (`butler serve --watcher`) and the clients that call it (`butler logs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{ConfigError, Secret, resolve_secret};

/// `[api]`: the watcher's HTTP API (`butler serve --watcher`) and the clients that call it (`butler logs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    #[serde(default = "default_api_listen")]
    pub listen: SocketAddr,
    /// Base URL the CLI clients (`butler logs`) call; default `http://<listen>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_API__ADMIN_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// When set, log ingest and telemetry need this token (or the admin token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_API__INGEST_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest_token: Option<Secret>,
    /// When set, `GET /metrics` needs this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_API__METRICS_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<Secret>,
    /// Browser origins allowed by CORS (exact `scheme://host[:port]`); empty: no CORS headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes (larger: 413).
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// Log events kept in memory for queries and SSE resume (the seed's `LOG_RETENTION_MAX`).
    #[serde(default = "default_log_retention")]
    pub log_retention_max: usize,
    /// Concurrent `GET /api/logs/stream` clients (more: 503).
    #[serde(default = "default_sse_max_clients")]
    pub sse_max_clients: usize,
    /// Committed ingest batches an SSE client may fall behind before it is disconnected.
    #[serde(default = "default_sse_client_queue")]
    pub sse_client_queue: usize,
    /// Seconds between SSE keep-alive comments.
    #[serde(default = "default_sse_keepalive")]
    pub sse_keepalive_secs: u64,
    /// Seconds a client has to send the request headers.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Seconds a request (body included) may take until its response starts.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// Seconds after its last heartbeat a telemetry session still counts as connected.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_secs: u64,
    /// Seconds between two rounds of the health monitor's probes (chain, paymasters, bundlers).
    #[serde(default = "default_monitor_interval")]
    pub monitor_interval_secs: f64,
    /// Seconds each of the health monitor's probes may take.
    #[serde(default = "default_monitor_timeout")]
    pub monitor_timeout_secs: f64,
    /// The operator console (`GET /`, `/ui/...`) on this listener; `false` turns it off.
    #[serde(default = "default_console")]
    pub console: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: default_api_listen(),
            url: None,
            admin_token_file: None,
            admin_token: None,
            ingest_token_file: None,
            ingest_token: None,
            metrics_token_file: None,
            metrics_token: None,
            cors_origins: Vec::new(),
            body_limit_bytes: default_body_limit(),
            log_retention_max: default_log_retention(),
            sse_max_clients: default_sse_max_clients(),
            sse_client_queue: default_sse_client_queue(),
            sse_keepalive_secs: default_sse_keepalive(),
            header_read_timeout_secs: default_header_read_timeout(),
            request_timeout_secs: default_request_timeout(),
            session_ttl_secs: default_session_ttl(),
            monitor_interval_secs: default_monitor_interval(),
            monitor_timeout_secs: default_monitor_timeout(),
            console: default_console(),
        }
    }
}

fn default_api_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_body_limit() -> usize {
    1024 * 1024
}
fn default_log_retention() -> usize {
    20_000
}
fn default_sse_max_clients() -> usize {
    256
}
fn default_sse_client_queue() -> usize {
    1024
}
fn default_sse_keepalive() -> u64 {
    15
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    30
}
fn default_session_ttl() -> u64 {
    120
}
fn default_monitor_interval() -> f64 {
    5.0
}
fn default_monitor_timeout() -> f64 {
    3.0
}
fn default_console() -> bool {
    true
}

impl ApiConfig {
    /// The admin token, if any.
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "admin_token",
            self.admin_token.as_ref(),
            self.admin_token_file.as_deref(),
        )
    }

    /// The ingest token, if any.
    pub fn ingest_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "ingest_token",
            self.ingest_token.as_ref(),
            self.ingest_token_file.as_deref(),
        )
    }

    /// The token of `GET /metrics`, if any.
    pub fn metrics_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "metrics_token",
            self.metrics_token.as_ref(),
            self.metrics_token_file.as_deref(),
        )
    }

    /// The base URL clients call: `url`, else `http://<listen>`.
    pub fn base_url(&self) -> Result<Url, ConfigError> {
        if let Some(u) = &self.url {
            return Ok(u.clone());
        }
        Url::parse(&format!("http://{}", self.listen)).map_err(|e| {
            ConfigError::Invalid(format!("[api] listen {} as a URL: {e}", self.listen))
        })
    }

    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("body_limit_bytes", self.body_limit_bytes as u64),
            ("log_retention_max", self.log_retention_max as u64),
            ("sse_max_clients", self.sse_max_clients as u64),
            ("sse_client_queue", self.sse_client_queue as u64),
            ("sse_keepalive_secs", self.sse_keepalive_secs),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("request_timeout_secs", self.request_timeout_secs),
            ("session_ttl_secs", self.session_ttl_secs),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!(
                "[api] {key} must be at least 1"
            )));
        }
        for (key, secs) in [
            ("monitor_interval_secs", self.monitor_interval_secs),
            ("monitor_timeout_secs", self.monitor_timeout_secs),
        ] {
            if !(secs > 0.0 && secs.is_finite()) {
                return Err(ConfigError::Invalid(format!(
                    "[api] {key} must be a positive number of seconds, got {secs}"
                )));
            }
        }
        for origin in &self.cors_origins {
            let ok = Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "[api] cors_origins: `{origin}` is not an origin (write scheme://host[:port], no path)"
                )));
            }
        }
        Ok(())
    }
}
