//! The set of RPC URLs behind one [`ChainClient`](super::ChainClient) and the transport that spreads calls
//! over it.
//!
//! Each URL keeps its health: a moving average of its latency and its consecutive failures (transport
//! errors, timeouts, HTTP 429 and 5xx). A call goes to the healthiest URL (no recent failure, then the
//! lowest latency, in steps of [`LATENCY_STEP`] so that noise does not reorder equal URLs, then the
//! configured order); when an attempt fails it moves to the next URL at once, and sleeps the backoff only
//! once every URL was tried, all within the one retry budget of [`RetrySettings`]. A failing URL is
//! benched (skipped while others answer) for a time that doubles with each failure up to [`BENCH_MAX`] and
//! is then probed back with `eth_chainId` (which must still report the chain id checked at start). A
//! *pinned* transport sends every call of a sequence to one URL (retrying there, never failing over) so the
//! sequence sees one view of the chain.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alloy::primitives::U64;
use alloy::rpc::json_rpc::{Id, Request, RequestPacket, ResponsePacket, ResponsePayload};
use alloy::transports::http::Http;
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use tower::Service;
use url::Url;

use super::metrics::rpc_metrics;
use super::redact::redact_url;
use super::retry::{Outcome, RetrySettings, is_retryable, timed_out};

/// Latency differences below this do not reorder URLs.
pub const LATENCY_STEP: Duration = Duration::from_millis(25);
/// The first bench of a failing URL; doubled on every further failure.
pub const BENCH_MIN: Duration = Duration::from_millis(500);
/// The longest bench.
pub const BENCH_MAX: Duration = Duration::from_secs(30);

/// One URL and its health.
#[derive(Debug)]
pub struct Endpoint {
    pub url: Url,
    /// The redacted URL: what logs, errors and metric labels show.
    pub shown: String,
    http: Http<alloy::transports::http::reqwest::Client>,
    health: Mutex<Health>,
}

impl Endpoint {
    /// `err` with this URL's secrets masked (the HTTP client names the URL in its errors).
    fn scrub(&self, err: TransportError) -> TransportError {
        match err {
            TransportError::Transport(TransportErrorKind::Custom(e)) => {
                let text = e.to_string();
                let raw = self.url.as_str();
                if text.contains(raw) {
                    TransportErrorKind::custom_str(&text.replace(raw, &self.shown))
                } else {
                    TransportError::Transport(TransportErrorKind::Custom(e))
                }
            }
            other => other,
        }
    }

    /// A loopback or private host (alloy polls those more often).
    pub fn is_local(&self) -> bool {
        self.http.guess_local()
    }
}

/// What the pool knows about one URL.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Moving average of successful attempts' latency, in seconds.
    pub latency_secs: Option<f64>,
    /// Failed attempts since the last success.
    pub failures: u32,
    /// Skipped until then (after a failure).
    pub benched_until: Option<Instant>,
    /// A probe is on its way.
    probing: bool,
    /// The URL reported another chain id than the pool's: never used.
    pub wrong_chain: Option<u64>,
}

impl Health {
    /// Answering and on the right chain.
    pub fn healthy(&self) -> bool {
        self.failures == 0 && self.wrong_chain.is_none()
    }
}

/// The URLs of one client.
#[derive(Debug)]
pub struct Pool {
    pub endpoints: Vec<Endpoint>,
    pub settings: RetrySettings,
    /// The chain id every URL must report (set by the start-up check).
    chain_id: Mutex<Option<u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    pub fn new(urls: Vec<Url>, settings: RetrySettings) -> Arc<Pool> {
        let endpoints = urls
            .into_iter()
            .map(|url| {
                let shown = redact_url(&url);
                rpc_metrics().healthy.with_label_values(&[&shown]).set(1);
                Endpoint {
                    http: Http::new(url.clone()),
                    url,
                    shown,
                    health: Mutex::new(Health::default()),
                }
            })
            .collect();
        Arc::new(Pool {
            endpoints,
            settings,
            chain_id: Mutex::new(None),
        })
    }

    /// A copy of one URL's health.
    pub fn health(&self, i: usize) -> Health {
        lock(&self.endpoints[i].health).clone()
    }

    /// Sets the chain id every URL must report.
    pub fn set_chain_id(&self, id: u64) {
        *lock(&self.chain_id) = Some(id);
    }

    /// Marks a URL as serving another chain: it is never used again by this client.
    pub fn set_wrong_chain(&self, i: usize, actual: u64) {
        lock(&self.endpoints[i].health).wrong_chain = Some(actual);
        rpc_metrics()
            .healthy
            .with_label_values(&[&self.endpoints[i].shown])
            .set(0);
    }

    /// URL indices, healthiest first: healthy ones by latency step and configured order, then the benched
    /// ones by the end of their bench. URLs on another chain are left out.
    pub fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let step = LATENCY_STEP.as_secs_f64();
        let mut keyed: Vec<((u8, u64, u64), usize)> = self
            .endpoints
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let h = lock(&e.health);
                if h.wrong_chain.is_some() {
                    return None;
                }
                let key = if h.failures == 0 {
                    (0, (h.latency_secs.unwrap_or(0.0) / step) as u64, i as u64)
                } else {
                    let left = h
                        .benched_until
                        .map_or(0, |t| t.saturating_duration_since(now).as_millis() as u64);
                    (1, left, i as u64)
                };
                Some((key, i))
            })
            .collect();
        keyed.sort();
        keyed.into_iter().map(|(_, i)| i).collect()
    }

    /// The URL a new sequence should use.
    pub fn best(&self) -> usize {
        self.order().first().copied().unwrap_or(0)
    }

    /// Counts an attempt and updates the URL's health.
    fn record(
        &self,
        i: usize,
        method: &str,
        outcome: Outcome,
        elapsed: Duration,
        error: Option<&str>,
    ) {
        let e = &self.endpoints[i];
        let m = rpc_metrics();
        m.requests
            .with_label_values(&[&e.shown, method, outcome.as_str()])
            .inc();
        m.duration
            .with_label_values(&[&e.shown, method])
            .observe(elapsed.as_secs_f64());
        let mut h = lock(&e.health);
        if outcome.is_failure() {
            h.failures += 1;
            let bench = BENCH_MIN
                .saturating_mul(1 << (h.failures - 1).min(16))
                .min(BENCH_MAX);
            h.benched_until = Some(Instant::now() + bench);
            if h.failures == 1 {
                tracing::warn!(url = %e.shown, error = error.unwrap_or(""), bench_secs = bench.as_secs_f64(), "RPC URL failing; benched");
            }
        } else {
            let secs = elapsed.as_secs_f64();
            h.latency_secs = Some(h.latency_secs.map_or(secs, |l| 0.7 * l + 0.3 * secs));
            if h.failures > 0 {
                tracing::info!(url = %e.shown, "RPC URL answers again");
            }
            h.failures = 0;
            h.benched_until = None;
        }
        let healthy = h.healthy();
        drop(h);
        m.healthy
            .with_label_values(&[&e.shown])
            .set(i64::from(healthy));
    }

    /// Starts a probe of every benched URL whose bench is over (at most one probe per URL at a time;
    /// nothing outside a Tokio runtime).
    pub fn probe_due(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let now = Instant::now();
        for i in 0..self.endpoints.len() {
            let mut h = lock(&self.endpoints[i].health);
            let due = h.failures > 0
                && h.wrong_chain.is_none()
                && !h.probing
                && h.benched_until.is_none_or(|t| t <= now);
            if !due {
                continue;
            }
            h.probing = true;
            drop(h);
            let pool = self.clone();
            runtime.spawn(async move { pool.probe(i).await });
        }
    }

    /// `eth_chainId` to one URL: back in use when it answers with the pool's chain id.
    async fn probe(&self, i: usize) {
        let expected = *lock(&self.chain_id);
        if let (Ok(actual), Some(expected)) = (self.chain_id_once(i).await, expected)
            && actual != expected
        {
            tracing::error!(url = %self.endpoints[i].shown, expected, actual, "RPC URL now serves another chain; no longer used");
            self.set_wrong_chain(i, actual);
        }
        lock(&self.endpoints[i].health).probing = false;
    }

    /// One `eth_chainId` attempt to one URL (no retry), counted like any other.
    pub async fn chain_id_once(&self, i: usize) -> Result<u64, TransportError> {
        let request = Request::new("eth_chainId", Id::Number(0), ())
            .serialize()
            .map(RequestPacket::Single)
            .map_err(TransportErrorKind::custom)?;
        let resp = self.attempt(i, request).await.0?;
        let ResponsePacket::Single(r) = resp else {
            return Err(TransportErrorKind::custom_str("a batch answer to one call"));
        };
        match r.payload {
            ResponsePayload::Success(raw) => serde_json::from_str::<U64>(raw.get())
                .map(|id| id.to::<u64>())
                .map_err(|e| TransportError::deser_err(e, raw.get())),
            ResponsePayload::Failure(p) => Err(TransportError::ErrorResp(p)),
        }
    }

    /// One attempt to one URL, timed out, counted and classified.
    async fn attempt(
        &self,
        i: usize,
        request: RequestPacket,
    ) -> (Result<ResponsePacket, TransportError>, Outcome) {
        let method = method_label(&request);
        let started = Instant::now();
        let mut http = self.endpoints[i].http.clone();
        let timeout = self.settings.timeout;
        let result = match tokio::time::timeout(timeout, http.call(request)).await {
            Ok(r) => r.map_err(|e| self.endpoints[i].scrub(e)),
            Err(_) => Err(timed_out(timeout)),
        };
        let (outcome, error) = match &result {
            Ok(resp) => (
                Outcome::of_response(resp),
                resp.as_error().map(|p| p.message.to_string()),
            ),
            Err(e) => (Outcome::of_error(e), Some(e.to_string())),
        };
        self.record(i, &method, outcome, started.elapsed(), error.as_deref());
        (result, outcome)
    }
}

/// A bare JSON-RPC client over one URL with this retry policy (for calls that are no chain reads, such as a
/// bundler's `eth_sendUserOperation`).
pub fn rpc_client(url: Url, settings: RetrySettings) -> alloy::rpc::client::RpcClient {
    let pool = Pool::new(vec![url], settings);
    let local = pool.endpoints[0].is_local();
    alloy::rpc::client::ClientBuilder::default().transport(
        PoolTransport {
            pool,
            pin: Pin::Free,
        },
        local,
    )
}

/// The `method` label: the method, or `batch` for a batch of several methods.
fn method_label(request: &RequestPacket) -> String {
    let mut names = request.method_names();
    let first = names.next().unwrap_or("none");
    if names.all(|n| n == first) {
        first.to_string()
    } else {
        "batch".to_string()
    }
}

/// Which URLs a transport may use.
#[derive(Debug, Clone)]
pub enum Pin {
    /// Every URL, healthiest first, failing over on every call.
    Free,
    /// This URL only.
    Fixed(usize),
    /// One consistent sequence: the URL that answers its first call (trying the preferred one first and
    /// failing over until one answers), then that URL only.
    Sticky {
        preferred: usize,
        settled: Arc<OnceLock<usize>>,
    },
}

impl Pin {
    /// A sequence starting at `preferred`.
    pub fn sticky(preferred: usize) -> Pin {
        Pin::Sticky {
            preferred,
            settled: Arc::new(OnceLock::new()),
        }
    }

    /// The URL every call goes to, once known.
    pub fn fixed(&self) -> Option<usize> {
        match self {
            Pin::Free => None,
            Pin::Fixed(i) => Some(*i),
            Pin::Sticky { settled, .. } => settled.get().copied(),
        }
    }

    /// The URL the next call tries first, for a pinned transport.
    pub fn current(&self) -> Option<usize> {
        match self {
            Pin::Sticky { preferred, settled } => {
                Some(settled.get().copied().unwrap_or(*preferred))
            }
            other => other.fixed(),
        }
    }
}

/// The transport over a pool's URLs, as its [`Pin`] allows.
#[derive(Debug, Clone)]
pub struct PoolTransport {
    pub pool: Arc<Pool>,
    pub pin: Pin,
}

impl Service<RequestPacket> for PoolTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let (pool, pin) = (self.pool.clone(), self.pin.clone());
        Box::pin(async move { pool.send(&pin, request).await })
    }
}

/// The last failure of a call: an answer carrying a rate-limit error, or a transport error.
enum Failed {
    Answer(ResponsePacket, TransportError),
    Error(TransportError),
}

impl Pool {
    /// Sends `request`: each round tries every URL the pin allows once, in health order (failing over at
    /// once after a failure); after a round in which all failed it sleeps the backoff and starts another,
    /// up to `max_retries` more rounds.
    async fn send(
        self: Arc<Self>,
        pin: &Pin,
        request: RequestPacket,
    ) -> Result<ResponsePacket, TransportError> {
        if matches!(pin, Pin::Free) {
            self.probe_due();
        }
        let settings = self.settings;
        let mut delays = settings.policy().delays();
        let mut tried: Vec<usize> = Vec::new();
        let mut round = 0u32;
        let mut last: Option<Failed> = None;
        loop {
            let order = match (pin.fixed(), pin) {
                (Some(i), _) => vec![i],
                (None, Pin::Sticky { preferred, .. }) => {
                    let mut o = self.order();
                    if let Some(at) = o.iter().position(|i| i == preferred) {
                        o[..=at].rotate_right(1);
                    }
                    o
                }
                (None, _) => self.order(),
            };
            let Some(&i) = order.iter().find(|i| !tried.contains(i)) else {
                let Some(failed) = last.take() else {
                    return Err(TransportErrorKind::custom_str(
                        "no RPC URL serves the configured chain",
                    ));
                };
                if round >= settings.max_retries {
                    return match failed {
                        Failed::Answer(resp, _) => Ok(resp),
                        Failed::Error(e) => Err(e),
                    };
                }
                let (Failed::Answer(_, err) | Failed::Error(err)) = &failed;
                round += 1;
                let wait = settings.delay_after(err, &mut delays);
                tracing::debug!(%err, round, wait_ms = wait.as_millis() as u64, "retrying RPC request");
                tokio::time::sleep(wait).await;
                tried.clear();
                last = Some(failed);
                continue;
            };
            let (result, outcome) = self.attempt(i, request.clone()).await;
            let failed = match result {
                Ok(resp) if outcome == Outcome::RateLimited => match resp.as_error() {
                    Some(p) => {
                        let e = TransportError::ErrorResp(p.clone());
                        Failed::Answer(resp, e)
                    }
                    None => return Ok(resp),
                },
                Ok(resp) => {
                    if let Pin::Sticky { settled, .. } = pin {
                        let _ = settled.set(i);
                    }
                    return Ok(resp);
                }
                Err(e) if !is_retryable(&e) => return Err(e),
                Err(e) => Failed::Error(e),
            };
            tried.push(i);
            if let Some(j) = order.iter().find(|j| !tried.contains(j)) {
                tracing::debug!(from = %self.endpoints[i].shown, to = %self.endpoints[*j].shown, "RPC attempt failed; failing over");
            }
            last = Some(failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::providers::Provider;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A node on loopback answering `eth_chainId` with `chain_id` and everything else with `0x2a`.
    async fn node(chain_id: u64) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !req.ends_with(b"}") {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => req.extend_from_slice(&chunk[..k]),
                        }
                    }
                    let text = String::from_utf8_lossy(&req);
                    let body = &text[text.find('{').unwrap_or(0)..];
                    let call: serde_json::Value = serde_json::from_str(body).unwrap();
                    let result = if call["method"] == "eth_chainId" {
                        format!("0x{chain_id:x}")
                    } else {
                        "0x2a".to_string()
                    };
                    let answer =
                        serde_json::json!({"jsonrpc": "2.0", "id": call["id"], "result": result})
                            .to_string();
                    let _ = conn
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                                answer.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        url
    }

    /// A loopback URL nothing listens on.
    fn stopped() -> Url {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(l);
        url
    }

    fn no_retries() -> RetrySettings {
        RetrySettings {
            max_retries: 0,
            ..RetrySettings::default()
        }
    }

    #[tokio::test]
    async fn a_failing_url_is_failed_over_within_one_call_and_benched() {
        let client =
            crate::chain::ChainClient::with_urls(vec![stopped(), node(31337).await], no_retries());
        assert_eq!(
            client.provider().get_block_number().await.unwrap(),
            42,
            "no retry budget, yet the second URL answers"
        );
        let pool = client.pool();
        assert_eq!(pool.order(), vec![1, 0], "the failing URL goes last");
        assert!(!pool.health(0).healthy() && pool.health(0).benched_until.is_some());
        assert_eq!(pool.best(), 1);
    }

    #[tokio::test]
    async fn a_sticky_pin_settles_on_the_first_url_that_answers() {
        let client =
            crate::chain::ChainClient::with_urls(vec![stopped(), node(31337).await], no_retries());
        let pinned = client.pinned();
        assert_eq!(pinned.provider().get_block_number().await.unwrap(), 42);
        assert_eq!(pinned.url(), client.pool().endpoints[1].shown);
        let fixed = client.pinned_to(0);
        assert!(
            fixed.provider().get_block_number().await.is_err(),
            "a fixed pin never fails over"
        );
    }

    #[tokio::test]
    async fn every_url_is_checked_for_the_chain_id() {
        let (a, b) = (node(31337).await, node(4242).await);
        let client = crate::chain::ChainClient::with_urls(vec![a, b.clone()], no_retries());
        let e = client.check_chain_id(Some(31337)).await.unwrap_err();
        assert!(
            matches!(&e, super::super::ChainError::ChainIdMismatch { url, actual: 4242, .. } if *url == redact_url(&b)),
            "{e}"
        );
        let e = client.check_chain_id(None).await.unwrap_err();
        assert!(
            matches!(e, super::super::ChainError::UrlsDisagree { .. }),
            "{e}"
        );
        let down =
            crate::chain::ChainClient::with_urls(vec![stopped(), node(31337).await], no_retries());
        assert_eq!(down.check_chain_id(Some(31337)).await.unwrap(), 31337);
    }
}
