//! A tower layer over the JSON-RPC transport: a timeout on every attempt and retries with exponential
//! backoff and full jitter on transport failures, timeouts, HTTP 429 and 5xx, and the providers'
//! rate-limit error payloads. JSON-RPC errors such as reverts are returned at once, never retried.

use std::task::{Context, Poll};
use std::time::Duration;

use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use rand::Rng;
use tower::{Layer, Service};

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
    /// The sleep before retry number `attempt` (1-based): uniform in [0, min(max, initial * 2^(attempt-1))].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_backoff);
        let millis = cap.as_millis() as u64;
        Duration::from_millis(if millis == 0 {
            0
        } else {
            rand::rng().random_range(0..=millis)
        })
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

/// The layer; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct RetryLayer(pub RetrySettings);

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            settings: self.0,
        }
    }
}

/// The service produced by [`RetryLayer`].
#[derive(Debug, Clone)]
pub struct RetryService<S> {
    inner: S,
    settings: RetrySettings,
}

impl<S> Service<RequestPacket> for RetryService<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Clone
        + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let settings = self.settings;
        Box::pin(async move {
            let mut attempt = 0u32;
            loop {
                let attempt_result =
                    tokio::time::timeout(settings.timeout, inner.call(request.clone())).await;
                let err = match attempt_result {
                    Ok(Ok(resp)) => match resp.as_error() {
                        // a JSON-RPC error payload travels back as the response; only rate limits are retried
                        Some(payload) => {
                            let err = TransportError::ErrorResp(payload.clone());
                            if attempt >= settings.max_retries || !is_retryable(&err) {
                                return Ok(resp);
                            }
                            err
                        }
                        None => return Ok(resp),
                    },
                    Ok(Err(e)) => e,
                    Err(_) => TransportErrorKind::custom_str(&format!(
                        "request timed out after {:.1}s",
                        settings.timeout.as_secs_f64()
                    )),
                };
                if attempt >= settings.max_retries || !is_retryable(&err) {
                    return Err(err);
                }
                attempt += 1;
                let wait = settings.backoff(attempt);
                tracing::debug!(%err, attempt, wait_ms = wait.as_millis() as u64, "retrying RPC request");
                tokio::time::sleep(wait).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = RetrySettings {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..Default::default()
        };
        for attempt in 1..20 {
            let cap = (100u64 << (attempt - 1).min(16)).min(1000);
            assert!(s.backoff(attempt) <= Duration::from_millis(cap));
        }
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
