//! WebSocket heads: with `[chain] ws_url` set, `serve --watcher` holds an `eth_subscribe("newHeads")`
//! subscription and wakes the indexer on each new block, so an event is indexed within a block instead of a
//! poll interval. Polling stays: it is the only mode without `ws_url`, and the fallback while the socket is
//! down; a dropped or refused socket is reconnected with backoff. The URL is shown only redacted.
//!
//! [`HeadSubscriber`] owns the socket and publishes each head's number; [`HeadWake`] is the indexer's side,
//! a wait that ends at the poll interval or at the next head, whichever comes first.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntGauge, Opts};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::redact::redact_url;
use crate::backoff::{self, Backoff};
use crate::exporter::catalog::{MetricDef, counter, gauge};

pub const WS_CONNECTED: MetricDef = gauge(
    "butler_chain_ws_connected",
    &[],
    "1 while the newHeads subscription on [chain] ws_url is live, 0 while it is down (the indexer then only polls).",
);
pub const WS_RECONNECTS: MetricDef = counter(
    "butler_chain_ws_reconnects_total",
    &[],
    "Times the newHeads subscription on [chain] ws_url was established again after it dropped or failed.",
);
/// The families of this module, in documentation order (present when `ws_url` is set).
pub const ALL: &[MetricDef] = &[WS_CONNECTED, WS_RECONNECTS];

/// Time allowed to open the socket and get the subscription's answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket silent this long gets a ping; silent for twice as long, it is dropped and reconnected.
const IDLE: Duration = Duration::from_secs(30);
/// Between reconnection attempts: 1 s doubling up to 30 s, with full jitter.
const RECONNECT: Backoff =
    Backoff::new(Duration::from_secs(1), Duration::from_secs(30)).with_full_jitter();

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a subscription ended (logged, then reconnected).
#[derive(Debug, thiserror::Error)]
enum HeadsError {
    #[error("connecting: {0}")]
    Connect(String),
    #[error("no subscription within {} s", CONNECT_TIMEOUT.as_secs())]
    Timeout,
    #[error("the endpoint refused: {0}")]
    Refused(String),
    #[error("the socket failed: {0}")]
    Socket(String),
    #[error("the server closed the socket")]
    Closed,
    #[error("no message for {} s", 2 * IDLE.as_secs())]
    Silent,
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("the endpoint reports chain id {found}, not {expected}: its heads are ignored")]
    WrongChain { expected: u64, found: u64 },
}

/// The indexer's side: a wait that a new head ends early. [`HeadWake::none`] never fires (polling only).
#[derive(Debug, Clone, Default)]
pub struct HeadWake(Option<watch::Receiver<u64>>);

impl HeadWake {
    /// A wake that never fires: the indexer only polls.
    pub fn none() -> HeadWake {
        HeadWake(None)
    }

    /// Waits `poll`, or less when a new head arrives (one that arrived since the last wait ends it at
    /// once); `false` when cancelled.
    pub async fn wait(&mut self, poll: Duration, cancel: &CancellationToken) -> bool {
        let Some(heads) = &mut self.0 else {
            return backoff::sleep(poll, cancel).await;
        };
        let ended = tokio::select! {
            _ = cancel.cancelled() => return false,
            _ = tokio::time::sleep(poll) => false,
            changed = heads.changed() => changed.is_err(),
        };
        if ended {
            // the subscriber is gone (shutting down): poll from now on
            self.0 = None;
        }
        true
    }
}

/// The subscription: connects, publishes each new head's number, reconnects with backoff.
pub struct HeadSubscriber {
    url: Url,
    chain_id: u64,
    heads: watch::Sender<u64>,
    metrics: HeadMetrics,
}

impl HeadSubscriber {
    /// A subscriber for `url` (`ws://` or `wss://`), which must report `chain_id`, and the wake it drives.
    pub fn new(url: Url, chain_id: u64) -> Result<(HeadSubscriber, HeadWake), prometheus::Error> {
        let (heads, rx) = watch::channel(0);
        let sub = HeadSubscriber {
            url,
            chain_id,
            heads,
            metrics: HeadMetrics::new()?,
        };
        Ok((sub, HeadWake(Some(rx))))
    }

    /// Its series (register them on the watcher's registry).
    pub fn metrics(&self) -> HeadMetrics {
        self.metrics.clone()
    }

    /// Runs until cancelled; never fails (a failure is logged and the socket reconnected).
    pub async fn run(self, cancel: CancellationToken) {
        let shown = redact_url(&self.url);
        let mut delays = RECONNECT.delays();
        let mut again = false;
        loop {
            let ended = tokio::select! {
                _ = cancel.cancelled() => return,
                e = self.session(&shown, again, &mut delays) => e,
            };
            again = true;
            self.metrics.0.connected.set(0);
            let wait = delays.next_delay();
            tracing::warn!(
                url = %shown,
                error = %ended,
                retry_in_secs = wait.as_secs_f64(),
                "WebSocket heads are down; the indexer polls until they are back"
            );
            if !backoff::sleep(wait, &cancel).await {
                return;
            }
        }
    }

    /// One connection: subscribe, then publish heads until the socket ends; returns why it ended. `again`:
    /// an earlier attempt dropped or failed (a success now counts as a reconnection).
    async fn session(&self, shown: &str, again: bool, delays: &mut backoff::Delays) -> HeadsError {
        let mut socket = match tokio::time::timeout(CONNECT_TIMEOUT, self.subscribe()).await {
            Err(_) => return HeadsError::Timeout,
            Ok(Err(e)) => return e,
            Ok(Ok(s)) => s,
        };
        self.metrics.0.connected.set(1);
        if again {
            self.metrics.0.reconnects.inc();
            tracing::info!(url = %shown, "WebSocket heads reconnected");
        } else {
            tracing::info!(url = %shown, "subscribed to new heads over WebSocket");
        }
        delays.reset();
        let mut last_seen = Instant::now();
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + IDLE, IDLE);
        loop {
            tokio::select! {
                msg = socket.next() => {
                    let msg = match msg {
                        None => return HeadsError::Closed,
                        Some(Err(e)) => return HeadsError::Socket(e.to_string()),
                        Some(Ok(m)) => m,
                    };
                    last_seen = Instant::now();
                    match msg {
                        Message::Text(text) => {
                            if let Some(n) = head_number(&text) {
                                self.heads.send_replace(n);
                            }
                        }
                        Message::Close(_) => return HeadsError::Closed,
                        _ => {}
                    }
                }
                _ = ticks.tick() => {
                    let silent = last_seen.elapsed();
                    if silent >= 2 * IDLE {
                        return HeadsError::Silent;
                    }
                    if silent >= IDLE
                        && let Err(e) = socket.send(Message::Ping(Default::default())).await
                    {
                        return HeadsError::Socket(e.to_string());
                    }
                }
            }
        }
    }

    /// Opens the socket, checks `eth_chainId` and sends `eth_subscribe("newHeads")`; returns once the
    /// subscription is confirmed.
    async fn subscribe(&self) -> Result<Socket, HeadsError> {
        let connector = connector(&self.url)?;
        let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            self.url.as_str(),
            None,
            true,
            connector,
        )
        .await
        .map_err(|e| HeadsError::Connect(e.to_string()))?;
        let found = call(&mut socket, 1, "eth_chainId", json!([]))
            .await?
            .as_str()
            .and_then(|h| u64::from_str_radix(h.strip_prefix("0x")?, 16).ok())
            .ok_or_else(|| HeadsError::Refused("eth_chainId: no number in the answer".into()))?;
        if found != self.chain_id {
            return Err(HeadsError::WrongChain {
                expected: self.chain_id,
                found,
            });
        }
        let id = call(&mut socket, 2, "eth_subscribe", json!(["newHeads"])).await?;
        if !id.is_string() {
            return Err(HeadsError::Refused(format!(
                "eth_subscribe: no subscription id in {id}"
            )));
        }
        Ok(socket)
    }
}

/// Sends one JSON-RPC request on the socket and returns its `result` (other messages are skipped).
async fn call(
    socket: &mut Socket,
    id: u64,
    method: &str,
    params: Value,
) -> Result<Value, HeadsError> {
    let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    socket
        .send(Message::text(request.to_string()))
        .await
        .map_err(|e| HeadsError::Socket(e.to_string()))?;
    while let Some(msg) = socket.next().await {
        let msg = msg.map_err(|e| HeadsError::Socket(e.to_string()))?;
        let Message::Text(text) = msg else { continue };
        let Ok(mut answer) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if answer["id"] != id {
            continue;
        }
        if let Some(error) = answer.get("error") {
            return Err(HeadsError::Refused(format!("{method}: {error}")));
        }
        return Ok(answer["result"].take());
    }
    Err(HeadsError::Closed)
}

/// TLS for `wss://` (rustls with ring and the webpki roots); `None` (plain TCP) for `ws://`.
fn connector(url: &Url) -> Result<Option<Connector>, HeadsError> {
    if url.scheme() != "wss" {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| HeadsError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Some(Connector::Rustls(Arc::new(config))))
}

/// The block number of a `newHeads` notification; `None` for anything else.
fn head_number(text: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(text).ok()?;
    if v["method"] != "eth_subscription" {
        return None;
    }
    let hex = v["params"]["result"]["number"].as_str()?;
    u64::from_str_radix(hex.strip_prefix("0x")?, 16).ok()
}

struct Inner {
    connected: IntGauge,
    reconnects: IntCounter,
}

/// The subscription's series, a cheap handle shared by the subscriber and the registry.
#[derive(Clone)]
pub struct HeadMetrics(Arc<Inner>);

impl HeadMetrics {
    fn new() -> Result<HeadMetrics, prometheus::Error> {
        Ok(HeadMetrics(Arc::new(Inner {
            connected: IntGauge::with_opts(Opts::new(WS_CONNECTED.name, WS_CONNECTED.help))?,
            reconnects: IntCounter::with_opts(Opts::new(WS_RECONNECTS.name, WS_RECONNECTS.help))?,
        })))
    }
}

impl Collector for HeadMetrics {
    fn desc(&self) -> Vec<&Desc> {
        let mut out = self.0.connected.desc();
        out.extend(self.0.reconnects.desc());
        out
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut out = self.0.connected.collect();
        out.extend(self.0.reconnects.collect());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_number_of_a_new_heads_notification_only() {
        let note = r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{"number":"0x1b4","hash":"0xab"}}}"#;
        assert_eq!(head_number(note), Some(436));
        assert_eq!(
            head_number(r#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#),
            None
        );
        assert_eq!(head_number("not json"), None);
    }

    #[tokio::test]
    async fn a_head_ends_the_wait_early_and_none_waits_the_poll() {
        let (tx, rx) = watch::channel(0);
        let mut wake = HeadWake(Some(rx));
        let cancel = CancellationToken::new();
        let within = Duration::from_secs(60);
        tx.send_replace(7);
        let woke = tokio::time::timeout(within, wake.wait(Duration::from_secs(3600), &cancel));
        assert_eq!(
            woke.await.ok(),
            Some(true),
            "a head that came before the wait ends it"
        );
        drop(tx);
        let woke = tokio::time::timeout(within, wake.wait(Duration::from_secs(3600), &cancel));
        assert_eq!(woke.await.ok(), Some(true));
        assert!(wake.0.is_none(), "a gone subscriber leaves plain polling");
        cancel.cancel();
        assert!(
            !HeadWake::none()
                .wait(Duration::from_secs(3600), &cancel)
                .await
        );
    }
}
