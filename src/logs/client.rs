//! A client of the log endpoints (`GET /api/logs`, `GET /api/logs/stream`) for `butler logs`: queries, and
//! a follow loop that reconnects with `Last-Event-ID` so no stored event is missed across reconnects.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use super::event::LogEvent;
use crate::config::{Config, ConfigError};

/// Where the API is and how to authenticate.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub base_url: Url,
    /// The admin token (sent as `Authorization: Bearer`).
    pub token: Option<String>,
    pub timeout: Duration,
}

impl TryFrom<&Config> for ClientSettings {
    type Error = ConfigError;

    /// `[api] url` (else `http://<[api] listen>`) and the admin token; 30 s per request.
    fn try_from(config: &Config) -> Result<ClientSettings, ConfigError> {
        let api = config.api.clone().unwrap_or_default();
        Ok(ClientSettings {
            base_url: api.base_url()?,
            token: api.admin_token()?.map(|t| t.expose().to_string()),
            timeout: Duration::from_secs(30),
        })
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the API at {url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url} answered {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url}: unexpected answer: {message}")]
    Decode { url: String, message: String },
}

/// Query parameters, as the API names them (`service`, `level`, `since`, `requestId`, ...).
pub type Params = Vec<(&'static str, String)>;

/// A log API client.
pub struct LogClient {
    settings: ClientSettings,
    http: reqwest::Client,
}

impl LogClient {
    pub fn new(settings: ClientSettings) -> LogClient {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .build()
            .unwrap_or_default();
        LogClient { settings, http }
    }

    fn url(&self, path: &str, params: &Params) -> Url {
        let mut url = self.settings.base_url.clone();
        url.set_path(path);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        if params.is_empty() {
            url.set_query(None);
        }
        url
    }

    fn request(&self, url: Url) -> reqwest::RequestBuilder {
        let req = self.http.get(url);
        match &self.settings.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `GET /api/logs` with these parameters.
    pub async fn query(&self, params: &Params) -> Result<Vec<LogEvent>, ClientError> {
        let url = self.url("/api/logs", params);
        let shown = url.to_string();
        let res = self
            .request(url)
            .timeout(self.settings.timeout)
            .send()
            .await
            .map_err(|e| ClientError::Transport {
                url: shown.clone(),
                message: e.to_string(),
            })?;
        let res = check(res, &shown).await?;
        #[derive(serde::Deserialize)]
        struct Body {
            logs: Vec<LogEvent>,
        }
        let body: Body = res.json().await.map_err(|e| ClientError::Decode {
            url: shown,
            message: e.to_string(),
        })?;
        Ok(body.logs)
    }

    /// Follows `GET /api/logs/stream` after event `after`, calling `on_event` for each event, until
    /// `cancel`. Reconnects (with `Last-Event-ID`) when the stream ends or the server is away; an HTTP
    /// error answer (401, 422, ...) ends the loop with that error.
    pub async fn follow(
        &self,
        params: &Params,
        mut after: Option<u64>,
        cancel: CancellationToken,
        mut on_event: impl FnMut(LogEvent),
    ) -> Result<(), ClientError> {
        let mut backoff = Duration::from_millis(250);
        loop {
            let url = self.url("/api/logs/stream", params);
            let shown = url.to_string();
            let mut req = self.request(url);
            if let Some(id) = after {
                req = req.header("last-event-id", id.to_string());
            }
            let sent = tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                r = req.send() => r,
            };
            match sent {
                Ok(res) => {
                    let mut res = check(res, &shown).await?;
                    backoff = Duration::from_millis(250);
                    let mut buf = String::new();
                    loop {
                        let chunk = tokio::select! {
                            _ = cancel.cancelled() => return Ok(()),
                            c = res.chunk() => c,
                        };
                        let Ok(Some(bytes)) = chunk else { break };
                        buf.push_str(&String::from_utf8_lossy(&bytes));
                        while let Some(pos) = buf.find("\n\n") {
                            let frame: String = buf.drain(..pos + 2).collect();
                            if let Some(e) = parse_frame(&frame) {
                                after = Some(e.id);
                                on_event(e);
                            }
                        }
                    }
                    tracing::info!("log stream ended; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, url = %shown, "cannot reach the log stream; retrying")
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

async fn check(res: reqwest::Response, url: &str) -> Result<reqwest::Response, ClientError> {
    if res.status().is_success() {
        return Ok(res);
    }
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or(text);
    Err(ClientError::Status {
        url: url.to_string(),
        status,
        message,
    })
}

/// The log event of one SSE frame (`event: log`), if it is one.
fn parse_frame(frame: &str) -> Option<LogEvent> {
    let mut event = "message";
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    if event != "log" {
        if event == "dropped" {
            tracing::warn!("{data}");
        }
        return None;
    }
    serde_json::from_str(&data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_log_events_only() {
        let f = "event: log\nid: 7\ndata: {\"id\":7,\"ts\":1,\"service\":\"s\",\"level\":\"info\",\"msg\":\"m\",\"requestId\":null,\"quoteId\":null,\"userOpHash\":null,\"txHash\":null,\"sender\":null,\"meta\":null}\n\n";
        assert_eq!(parse_frame(f).unwrap().id, 7);
        assert!(parse_frame(": keep-alive\n\n").is_none());
        assert!(parse_frame("event: dropped\ndata: slow\n\n").is_none());
    }
}
