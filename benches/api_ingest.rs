//! Ingest throughput of the API (`POST /api/logs/ingest`, with its durability: a 200 means written and
//! fsynced) against a minimal hyper server that parses the same JSON and discards it, measured in one run:
//! single events, batches of 100, and both again with 100 SSE subscribers attached.
//!
//! Run with `scripts/bench/api.sh` (or `cargo bench --bench api_ingest`). Knobs (env): `BENCH_SECS`
//! (per case, default 5), `BENCH_CLIENTS` (concurrent connections, default 16).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use butler::api::{self, ApiSettings};
use butler::config::{Config, Secret};
use butler::serve::{self, ServeOptions};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "bench-token";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The baseline: hyper, parse the JSON body into a `serde_json::Value`, answer 200.
async fn baseline(listener: tokio::net::TcpListener, cancel: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
            _ = cancel.cancelled() => return,
        };
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                let body = req.into_body().collect().await?.to_bytes();
                let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&body);
                let status = if parsed.is_ok() { 200 } else { 400 };
                Ok::<_, hyper::Error>(
                    Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
                        .unwrap_or_default(),
                )
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn event(i: u64) -> serde_json::Value {
    serde_json::json!({
        "ts": 1730000000 + i, "service": "bundler1", "level": "info", "msg": format!("userOp accepted {i}"),
        "requestId": format!("req_{i}"), "userOpHash": format!("0x{:064x}", i),
        "sender": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "meta": {"entryPoint": "0x0000000071727De22E5E9d8BAf0edAc6f37da032", "reasonCode": null}
    })
}

/// Events/s over `secs` with `clients` connections, each request carrying `batch` events.
async fn load(url: String, batch: u64, clients: u64, secs: u64) -> f64 {
    let body = if batch == 1 {
        serde_json::to_vec(&event(1)).unwrap_or_default()
    } else {
        serde_json::to_vec(&(0..batch).map(event).collect::<Vec<_>>()).unwrap_or_default()
    };
    let body = bytes::Bytes::from(body);
    let events = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (url, body, events, stop) = (url.clone(), body.clone(), events.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                let res = c
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        events.fetch_add(batch, Ordering::Relaxed);
                    }
                    Ok(r) => panic!("{url} answered {}", r.status()),
                    Err(e) => panic!("{url}: {e}"),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    events.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Attaches `n` SSE subscribers that read everything; returns the count of events they received.
async fn subscribers(base: &str, n: usize, cancel: CancellationToken) -> Arc<AtomicU64> {
    let received = Arc::new(AtomicU64::new(0));
    for _ in 0..n {
        let url = format!("{base}/api/logs/stream");
        let (received, cancel) = (received.clone(), cancel.clone());
        let mut res = reqwest::Client::new()
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap_or_else(|e| panic!("subscribe: {e}"));
        tokio::spawn(async move {
            loop {
                let chunk = tokio::select! {
                    c = res.chunk() => c,
                    _ = cancel.cancelled() => return,
                };
                match chunk {
                    Ok(Some(b)) => {
                        let n = b.windows(11).filter(|w| w == b"event: log\n").count();
                        received.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    _ => return,
                }
            }
        });
    }
    received
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "api_ingest: a benchmark; run it with `cargo bench --bench api_ingest` (scripts/bench/api.sh)"
        );
        return;
    }
    let secs = env_u64("BENCH_SECS", 5);
    let clients = env_u64("BENCH_CLIENTS", 16);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let cancel = CancellationToken::new();

    let config = Config {
        data_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let mut settings = ApiSettings::try_from(&config).unwrap_or_else(|e| panic!("settings: {e}"));
    settings.admin_token = Some(Secret::new(TOKEN));
    settings.sse_max_clients = 200;
    settings.body_limit_bytes = 4 << 20;
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let api_addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    drop(listener);
    settings.listen = api_addr;
    let mode = api::mode(settings, None, cancel.clone()).unwrap_or_else(|e| panic!("api: {e}"));
    let c = cancel.clone();
    let server =
        tokio::spawn(async move { serve::run_with(vec![mode], c, ServeOptions::default()).await });

    let base_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let base_addr = base_listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(baseline(base_listener, cancel.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;

    let api_base = format!("http://{api_addr}");
    let api_url = format!("{api_base}/api/logs/ingest");
    let base_url = format!("http://{base_addr}/ingest");
    println!(
        "ingest benchmark: {clients} connections, {secs} s per case, events/s (ratio = butler / baseline)"
    );
    println!(
        "{:<34} {:>12} {:>12} {:>7}",
        "case", "butler", "baseline", "ratio"
    );
    let mut sse_cancel = None;
    let mut received = None;
    for (label, batch, sse) in [
        ("single event per request", 1, false),
        ("batch of 100 per request", 100, false),
        ("single + 100 SSE subscribers", 1, true),
        ("batch of 100 + 100 SSE subscribers", 100, true),
    ] {
        if sse && sse_cancel.is_none() {
            let c = CancellationToken::new();
            received = Some(subscribers(&api_base, 100, c.clone()).await);
            sse_cancel = Some(c);
        }
        let ours = load(api_url.clone(), batch, clients, secs).await;
        let theirs = load(base_url.clone(), batch, clients, secs).await;
        println!(
            "{label:<34} {ours:>12.0} {theirs:>12.0} {:>7.3}",
            ours / theirs
        );
    }
    if let Some(r) = received {
        println!(
            "SSE subscribers received {} events in total",
            r.load(Ordering::Relaxed)
        );
    }
    if let Some(c) = sse_cancel {
        c.cancel();
    }
    cancel.cancel();
    let _ = server.await;
}
