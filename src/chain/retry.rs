//! The retry policy of every JSON-RPC call: a timeout on every attempt and retries with exponential
//! backoff and full jitter on transport failures, timeouts, HTTP 429 and 5xx, and the providers'
//! rate-limit error payloads. A server's `Retry-After` replaces the backoff delay (capped at
//! `max_backoff`). JSON-RPC errors such as reverts are returned at once, never retried. [`Outcome`]
//! classifies each attempt for the request counters and the endpoints' health; the transport that applies
//! all this across several URLs is [`super::pool`].

use std::time::Duration;

use alloy::rpc::json_rpc::ResponsePacket;
use alloy::transports::{TransportError, TransportErrorKind};

use crate::backoff::{Backoff, Delays};
use crate::config::sections::chain::{DEFAULT_RPC_RETRIES, DEFAULT_RPC_TIMEOUT_SECS};

/// How requests are timed out and retried.
#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    /// Bound on one attempt.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff before the first retry; doubles each time up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs_f64(DEFAULT_RPC_TIMEOUT_SECS),
            max_retries: DEFAULT_RPC_RETRIES,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetrySettings {
    /// The backoff: retry number `n` (1-based) sleeps uniformly in [0, min(max, initial * 2^(n-1))].
    pub fn policy(&self) -> Backoff {
        Backoff::new(self.initial_backoff, self.max_backoff).with_full_jitter()
    }

    /// The sleep before the next retry after `err`: the server's `Retry-After` when it sent one, else the
    /// next backoff delay; never more than `max_backoff`.
    pub fn delay_after(&self, err: &TransportError, delays: &mut Delays) -> Duration {
        let backoff = delays.next_delay();
        match err {
            TransportError::Transport(kind) => kind
                .retry_after()
                .map_or(backoff, |d| d.min(self.max_backoff)),
            _ => backoff,
        }
    }
}

/// Whether a failed attempt is worth repeating.
pub fn is_retryable(err: &TransportError) -> bool {
    match err {
        TransportError::Transport(kind) => match kind {
            TransportErrorKind::HttpError(e) => e.status == 429 || e.status >= 500,
            TransportErrorKind::HttpErrorWithRetryAfter { error, .. } => {
                error.status == 429 || error.status >= 500
            }
            TransportErrorKind::Custom(_)
            | TransportErrorKind::BackendGone
            | TransportErrorKind::MissingBatchResponse(_) => true,
            _ => false,
        },
        TransportError::ErrorResp(payload) => {
            payload.is_retry_err()
                && !payload.message.to_lowercase().contains("revert")
                && super::range_limit::range_limit(&payload.message).is_none()
        }
        _ => false,
    }
}

/// How one attempt ended, as `butler_rpc_requests_total` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An answer without an error.
    Ok,
    /// A JSON-RPC error answer (a revert, an unknown method): the node is fine.
    RpcError,
    /// An `eth_getLogs` range or result the provider refused as too large.
    RangeRefused,
    /// HTTP 429 or a rate-limit error payload.
    RateLimited,
    /// HTTP 5xx.
    ServerError,
    /// No answer within the timeout.
    Timeout,
    /// Connection refused or reset, an unreadable answer, another HTTP status.
    TransportError,
}

impl Outcome {
    /// The `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::RpcError => "rpc_error",
            Outcome::RangeRefused => "range_refused",
            Outcome::RateLimited => "rate_limited",
            Outcome::ServerError => "server_error",
            Outcome::Timeout => "timeout",
            Outcome::TransportError => "transport_error",
        }
    }

    /// Whether the endpoint is to blame (counts against its health and moves the call to another URL).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::RateLimited
                | Outcome::ServerError
                | Outcome::Timeout
                | Outcome::TransportError
        )
    }

    /// Classifies an answer (its first error payload, if any).
    pub fn of_response(resp: &ResponsePacket) -> Outcome {
        match resp.as_error() {
            None => Outcome::Ok,
            Some(p) if super::range_limit::range_limit(&p.message).is_some() => {
                Outcome::RangeRefused
            }
            Some(p) if is_retryable(&TransportError::ErrorResp(p.clone())) => Outcome::RateLimited,
            Some(_) => Outcome::RpcError,
        }
    }

    /// Classifies a transport failure.
    pub fn of_error(err: &TransportError) -> Outcome {
        let status = match err {
            TransportError::Transport(TransportErrorKind::HttpError(e)) => Some(e.status),
            TransportError::Transport(TransportErrorKind::HttpErrorWithRetryAfter {
                error,
                ..
            }) => Some(error.status),
            _ => None,
        };
        match status {
            Some(429) => Outcome::RateLimited,
            Some(s) if s >= 500 => Outcome::ServerError,
            _ if err.to_string().contains(TIMED_OUT) => Outcome::Timeout,
            _ => Outcome::TransportError,
        }
    }
}

/// The text of the error an attempt that outlived the timeout ends with.
pub const TIMED_OUT: &str = "request timed out after";

/// The error of an attempt that outlived `timeout`.
pub fn timed_out(timeout: Duration) -> TransportError {
    TransportErrorKind::custom_str(&format!("{TIMED_OUT} {:.1}s", timeout.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoffs(initial: Duration, max: Duration) -> RetrySettings {
        RetrySettings {
            initial_backoff: initial,
            max_backoff: max,
            ..Default::default()
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = backoffs(Duration::from_millis(100), Duration::from_millis(1000));
        let ceilings: Vec<u64> = Backoff {
            jitter: false,
            ..s.policy()
        }
        .delays()
        .take(20)
        .map(|d| d.as_millis() as u64)
        .collect();
        assert_eq!(
            ceilings[..6],
            [100, 200, 400, 800, 1000, 1000],
            "doubles, then capped"
        );
        assert!(ceilings[4..].iter().all(|c| *c == 1000), "stays at the cap");
        let mut jittered = s.policy().delays();
        for (attempt, cap) in ceilings.iter().enumerate() {
            let d = jittered.next_delay();
            assert!(
                d <= Duration::from_millis(*cap),
                "retry {}: {d:?} > {cap} ms",
                attempt + 1
            );
        }
    }

    #[test]
    fn retry_after_replaces_the_backoff_up_to_its_cap() {
        let s = backoffs(Duration::from_millis(1), Duration::from_secs(5));
        let after = |secs| {
            TransportErrorKind::http_error_with_retry_after(
                429,
                String::new(),
                Some(Duration::from_secs(secs)),
            )
        };
        let mut delays = s.policy().delays();
        assert_eq!(
            s.delay_after(&after(2), &mut delays),
            Duration::from_secs(2)
        );
        assert_eq!(
            s.delay_after(&after(300), &mut delays),
            Duration::from_secs(5)
        );
        let plain = TransportErrorKind::http_error(429, String::new());
        assert!(s.delay_after(&plain, &mut delays) <= Duration::from_millis(4));
    }

    /// A node that answers its first request with 429 and `Retry-After: 1`, then `eth_blockNumber`.
    async fn rate_limited_node() -> (
        url::Url,
        tokio::sync::mpsc::UnboundedReceiver<std::time::Instant>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let (seen, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for n in 0.. {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut req = Vec::new();
                let mut chunk = [0u8; 4096];
                // the request ends with its JSON body
                while !req.ends_with(b"}") && !req.ends_with(b"]") {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => req.extend_from_slice(&chunk[..k]),
                    }
                }
                let _ = seen.send(std::time::Instant::now());
                let text = String::from_utf8_lossy(&req);
                let id = text
                    .split("\"id\":")
                    .nth(1)
                    .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                    .unwrap_or("0")
                    .to_string();
                let answer = if n == 0 {
                    "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
                } else {
                    let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":"0x2a"}}"#);
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = conn.write_all(answer.as_bytes()).await;
            }
        });
        (url, rx)
    }

    #[tokio::test]
    async fn a_servers_retry_after_is_waited_for() {
        use alloy::providers::Provider;
        let (url, mut seen) = rate_limited_node().await;
        let client = crate::chain::ChainClient::new(
            url,
            RetrySettings {
                timeout: Duration::from_secs(10),
                max_retries: 1,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_secs(5),
            },
        );
        assert_eq!(client.provider().get_block_number().await.unwrap(), 42);
        let (first, second) = (seen.recv().await.unwrap(), seen.recv().await.unwrap());
        assert!(
            second - first >= Duration::from_millis(900),
            "retried after {:?}, not after the 1 s the server asked for",
            second - first
        );
    }

    #[test]
    fn classification() {
        assert!(is_retryable(&TransportErrorKind::http_error(
            429,
            String::new()
        )));
        assert!(is_retryable(&TransportErrorKind::http_error(
            503,
            String::new()
        )));
        assert!(!is_retryable(&TransportErrorKind::http_error(
            400,
            String::new()
        )));
        assert!(is_retryable(&TransportErrorKind::custom_str(
            "connection refused"
        )));
        let revert: alloy::rpc::json_rpc::ErrorPayload =
            serde_json::from_str(r#"{"code":3,"message":"execution reverted"}"#).unwrap();
        assert!(!is_retryable(&TransportError::ErrorResp(revert)));
        let limited: alloy::rpc::json_rpc::ErrorPayload =
            serde_json::from_str(r#"{"code":429,"message":"too many requests"}"#).unwrap();
        assert!(is_retryable(&TransportError::ErrorResp(limited)));
    }
}
