//! A client of the log endpoints (`GET /api/logs`, `GET /api/logs/stream`) for `butler logs`: queries, and
//! a follow loop that reconnects with `Last-Event-ID` so no stored event is missed across reconnects. The
//! stream is parsed by `eventsource-stream` (any SSE line ending, characters split across chunks).

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::event::LogEvent;
use crate::backoff::{self, Backoff};
use crate::config::{Config, ConfigError};

/// Waits between reconnects of the log stream: 250 ms doubling up to 10 s, from the start again after a
/// successful connection.
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

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
    pub fn new(settings: ClientSettings) -> Result<LogClient, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| ClientError::Transport {
                url: settings.base_url.to_string(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(LogClient { settings, http })
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
        let mut delays = RECONNECT.delays();
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
                    let res = check(res, &shown).await?;
                    delays.reset();
                    let mut events = std::pin::pin!(log_events(res.bytes_stream()));
                    loop {
                        let next = tokio::select! {
                            _ = cancel.cancelled() => return Ok(()),
                            e = events.next() => e,
                        };
                        match next {
                            Some(Ok(e)) => {
                                after = Some(e.id);
                                on_event(e);
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, url = %shown, "log stream broken");
                                break;
                            }
                            None => break,
                        }
                    }
                    tracing::info!("log stream ended; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, url = %shown, "cannot reach the log stream; retrying")
                }
            }
            if !backoff::sleep(delays.next_delay(), &cancel).await {
                return Ok(());
            }
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

/// The log events (`event: log`) of an SSE byte stream, parsed across chunk boundaries; a `dropped` notice
/// is logged, other events (and keep-alive comments) are skipped.
fn log_events<S, B, E>(bytes: S) -> impl Stream<Item = Result<LogEvent, String>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    bytes.eventsource().filter_map(|r| {
        futures::future::ready(match r {
            Ok(ev) => log_event(&ev).map(Ok),
            Err(e) => Some(Err(e.to_string())),
        })
    })
}

fn log_event(ev: &eventsource_stream::Event) -> Option<LogEvent> {
    match ev.event.as_str() {
        "log" => serde_json::from_str(&ev.data).ok(),
        "dropped" => {
            tracing::warn!("{}", ev.data);
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG7: &str = "{\"id\":7,\"ts\":1,\"service\":\"s\",\"level\":\"info\",\"msg\":\"m\",\"requestId\":null,\"quoteId\":null,\"userOpHash\":null,\"txHash\":null,\"sender\":null,\"meta\":null}";

    /// The log events of a stream delivered in these chunks.
    async fn events(chunks: Vec<Vec<u8>>) -> Vec<LogEvent> {
        let stream =
            futures::stream::iter(chunks.into_iter().map(Ok::<_, std::convert::Infallible>));
        log_events(stream).map(|r| r.unwrap()).collect().await
    }

    #[tokio::test]
    async fn frames_parse_log_events_only() {
        let f = format!("event: log\nid: 7\ndata: {LOG7}\n\n");
        assert_eq!(events(vec![f.into_bytes()]).await[0].id, 7);
        assert!(events(vec![b": keep-alive\n\n".to_vec()]).await.is_empty());
        assert!(
            events(vec![b"event: dropped\ndata: slow\n\n".to_vec()])
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_character_split_across_chunks_and_crlf_framing_survive() {
        let msg = "caf\u{e9} \u{1f980}";
        let data = LOG7.replace("\"msg\":\"m\"", &format!("\"msg\":\"{msg}\""));
        let frame = format!("event: log\r\nid: 7\r\ndata: {data}\r\n\r\n: keep-alive\r\n\r\n");
        let bytes = frame.into_bytes();
        // cut inside the four bytes of the crab, and between the \r and \n of the frame's end
        let crab = bytes
            .windows(4)
            .position(|w| w == "\u{1f980}".as_bytes())
            .unwrap();
        let cr = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let chunks = vec![
            bytes[..crab + 2].to_vec(),
            bytes[crab + 2..cr + 1].to_vec(),
            bytes[cr + 1..].to_vec(),
        ];
        let got = events(chunks).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].msg, msg);
    }
}
