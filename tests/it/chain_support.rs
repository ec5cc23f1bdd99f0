//! A JSON-RPC proxy for the chain-access tests: in front of a node it counts requests by method, refuses
//! `eth_getLogs` ranges over a cap in one of the three error styles of the big hosted providers, lags the
//! head by a number of blocks (as a node that is behind would), answers 503 while "down", and serves any
//! path (so a URL can carry a key in its path, `/v2/SECRET`). It runs on its own thread until the test ends.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::support::free_port;
use crate::watcher_support::hex_u64;

/// How a capping proxy refuses a range over its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapStyle {
    /// "... this block range should work: [0x.., 0x..]" (a suggested range).
    Suggest,
    /// "eth_getLogs block range N is bigger than range limit M".
    Limit,
    /// -32005 "query returned more than 10000 results" (no cap named).
    Results,
}

impl CapStyle {
    pub const ALL: [CapStyle; 3] = [CapStyle::Suggest, CapStyle::Limit, CapStyle::Results];

    fn refusal(self, from: u64, size: u64, cap: u64) -> Value {
        let (code, message) = match self {
            CapStyle::Suggest => (
                -32602,
                format!(
                    "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x{from:x}, 0x{:x}]",
                    from + cap - 1
                ),
            ),
            CapStyle::Limit => (
                -32000,
                format!("eth_getLogs block range {size} is bigger than range limit {cap}"),
            ),
            CapStyle::Results => (-32005, "query returned more than 10000 results".to_string()),
        };
        json!({"code": code, "message": message})
    }
}

/// What the proxy does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// Refuse `eth_getLogs` ranges over this many blocks, in this style.
    pub cap: Option<(u64, CapStyle)>,
    /// Blocks behind the upstream head.
    pub lag: u64,
}

/// What the proxy saw.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Calls by method (each call of a batch counted).
    pub methods: BTreeMap<String, u64>,
    /// `eth_getLogs` calls refused as too large.
    pub refused: u64,
    /// Request paths seen.
    pub paths: Vec<String>,
}

impl Stats {
    pub fn get_logs(&self) -> u64 {
        self.methods.get("eth_getLogs").copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.methods.values().sum()
    }
}

/// A running proxy.
pub struct Proxy {
    pub url: String,
    pub port: u16,
    pub stats: Arc<Mutex<Stats>>,
    pub down: Arc<AtomicBool>,
}

impl Proxy {
    /// A proxy on a free port.
    pub fn start(upstream: &str, behaviour: Behaviour) -> Proxy {
        Proxy::start_on(free_port(), upstream, behaviour)
    }

    /// A proxy on `port` (a port a test held closed until now).
    pub fn start_on(port: u16, upstream: &str, behaviour: Behaviour) -> Proxy {
        let stats = Arc::new(Mutex::new(Stats::default()));
        let down = Arc::new(AtomicBool::new(false));
        let (s, d, up) = (stats.clone(), down.clone(), upstream.to_string());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let client = reqwest::Client::new();
                let app = axum::Router::new().fallback(
                    move |uri: axum::http::Uri, axum::Json(body): axum::Json<Value>| {
                        let (client, up, s, d) = (client.clone(), up.clone(), s.clone(), d.clone());
                        async move {
                            s.lock().unwrap().paths.push(uri.path().to_string());
                            if d.load(Ordering::SeqCst) {
                                return StatusCode::SERVICE_UNAVAILABLE.into_response();
                            }
                            let answer = match &body {
                                Value::Array(calls) => {
                                    let mut out = Vec::new();
                                    for c in calls {
                                        out.push(one(&client, &up, behaviour, &s, c).await);
                                    }
                                    Value::Array(out)
                                }
                                c => one(&client, &up, behaviour, &s, c).await,
                            };
                            axum::Json(answer).into_response()
                        }
                    },
                );
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .unwrap();
                ready_tx.send(()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        ready_rx.recv().expect("proxy started");
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            stats,
            down,
        }
    }

    /// What was seen so far, and a fresh count from here on.
    pub fn take(&self) -> Stats {
        std::mem::take(&mut *self.stats.lock().unwrap())
    }
}

async fn forward(client: &reqwest::Client, up: &str, call: &Value) -> Value {
    client
        .post(up)
        .json(call)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn hex(n: u64) -> Value {
    Value::String(format!("0x{n:x}"))
}

/// One call: counted, refused over the cap, or answered as a node `lag` blocks behind would.
async fn one(
    client: &reqwest::Client,
    up: &str,
    b: Behaviour,
    stats: &Mutex<Stats>,
    call: &Value,
) -> Value {
    let method = call["method"].as_str().unwrap_or("").to_string();
    *stats
        .lock()
        .unwrap()
        .methods
        .entry(method.clone())
        .or_default() += 1;
    let id = call["id"].clone();
    let result = |r: Value| json!({"jsonrpc": "2.0", "id": id, "result": r});
    let head = if b.lag > 0 {
        let h = forward(
            client,
            up,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}),
        )
        .await;
        hex_u64(&h["result"]).saturating_sub(b.lag)
    } else {
        u64::MAX
    };
    let block = |v: &Value| -> u64 {
        match v.as_str() {
            Some("latest") | Some("pending") | Some("safe") | Some("finalized") | None => head,
            Some("earliest") => 0,
            Some(_) => hex_u64(v),
        }
    };
    match method.as_str() {
        "eth_blockNumber" if b.lag > 0 => return result(hex(head)),
        "eth_getBlockByNumber" if b.lag > 0 => {
            let n = block(&call["params"][0]);
            if n > head {
                return result(Value::Null);
            }
            let mut c = call.clone();
            c["params"][0] = hex(n);
            return forward(client, up, &c).await;
        }
        "eth_getLogs" => {
            let f = &call["params"][0];
            let (from, to) = (block(&f["fromBlock"]), block(&f["toBlock"]).min(head));
            if let Some((cap, style)) = b.cap {
                let size = to.saturating_sub(from) + 1;
                if size > cap {
                    stats.lock().unwrap().refused += 1;
                    return json!({"jsonrpc": "2.0", "id": id, "error": style.refusal(from, size, cap)});
                }
            }
            if b.lag > 0 {
                if from > head {
                    return result(json!([]));
                }
                let mut c = call.clone();
                c["params"][0]["fromBlock"] = hex(from);
                c["params"][0]["toBlock"] = hex(to);
                return forward(client, up, &c).await;
            }
        }
        _ => {}
    }
    forward(client, up, call).await
}
