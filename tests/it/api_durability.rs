//! The durability promise: a 2xx from `POST /api/logs/ingest` means the events are fsynced. 8 concurrent
//! clients ingest 10,000 events (single events, arrays and NDJSON); the server process is SIGKILLed while
//! they are at it and restarted on the same data dir; every acknowledged event is then in `GET /api/logs`
//! and in the NDJSON files exactly once, and no event is stored twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::support::api::{ADMIN, ApiServer, client, event};

const CLIENTS: usize = 8;
const TOTAL: usize = 10_000;

/// Sends this client's events in requests of 1 to 25 events until all are sent or the server goes away;
/// returns the acknowledged messages.
async fn run_client(
    base: String,
    idx: usize,
    acked_total: Arc<AtomicUsize>,
    from: usize,
) -> (Vec<String>, usize) {
    let c = client();
    let per = TOTAL / CLIENTS;
    let mut acked = Vec::new();
    let mut n = from;
    while n < per {
        let size = (1 + (n * 7 + idx) % 25).min(per - n);
        let msgs: Vec<String> = (n..n + size).map(|k| format!("c{idx}-{k}")).collect();
        let req = c.post(format!("{base}/api/logs/ingest"));
        let req = match n % 3 {
            0 if size == 1 => req.json(&event(&msgs[0])),
            1 => {
                let nd: String = msgs.iter().map(|m| format!("{}\n", event(m))).collect();
                req.header("content-type", "application/x-ndjson").body(nd)
            }
            _ => req.json(&Value::Array(msgs.iter().map(|m| event(m)).collect())),
        };
        match req.send().await {
            Ok(res) if res.status() == 200 => {
                let v: Value = res.json().await.unwrap();
                assert_eq!(v["accepted"].as_u64().unwrap() as usize, size);
                acked_total.fetch_add(size, Ordering::SeqCst);
                acked.extend(msgs);
            }
            // the server was killed: this request is not acknowledged
            _ => return (acked, n + size),
        }
        n += size;
    }
    (acked, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_sigkill_exactly_once() {
    let mut server = ApiServer::start("", &[]);
    let acked_total = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let mut resume = [0usize; CLIENTS];

    // phase 1: ingest until the kill
    let mut handles = Vec::new();
    for idx in 0..CLIENTS {
        handles.push(tokio::spawn(run_client(
            server.base(),
            idx,
            acked_total.clone(),
            0,
        )));
    }
    while acked_total.load(Ordering::SeqCst) < TOTAL / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    for (idx, h) in handles.into_iter().enumerate() {
        let (got, next) = h.await.unwrap();
        acked.lock().await.extend(got);
        resume[idx] = next;
    }
    let killed_at = acked.lock().await.len();
    assert!(killed_at < TOTAL, "the kill came after everything was sent");

    // phase 2: restart and send the rest (never the unacknowledged requests again)
    server.spawn();
    let mut handles = Vec::new();
    for (idx, &from) in resume.iter().enumerate() {
        handles.push(tokio::spawn(run_client(
            server.base(),
            idx,
            acked_total.clone(),
            from,
        )));
    }
    for h in handles {
        let (got, next) = h.await.unwrap();
        assert_eq!(next, TOTAL / CLIENTS, "a client failed after the restart");
        acked.lock().await.extend(got);
    }
    server.kill9();
    server.spawn();
    let acked = acked.lock().await.clone();

    // the API (rehydrated ring)
    let v: Value = client()
        .get(server.url("/api/logs?limit=100000"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut via_api: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_id = 0;
    for e in v["logs"].as_array().unwrap() {
        let id = e["id"].as_u64().unwrap();
        assert!(id > last_id, "ids not strictly increasing");
        last_id = id;
        *via_api
            .entry(e["msg"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    // the files
    let mut via_files: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(server.data_dir().join("logs")).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            path.extension().is_some_and(|e| e == "ndjson"),
            "{}",
            path.display()
        );
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let e: Value = serde_json::from_str(line).unwrap();
            *via_files
                .entry(e["msg"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    for (what, seen) in [
        ("GET /api/logs", &via_api),
        ("the NDJSON files", &via_files),
    ] {
        for m in &acked {
            assert_eq!(
                seen.get(m),
                Some(&1),
                "acknowledged {m} is not exactly once in {what}"
            );
        }
        if let Some((m, n)) = seen.iter().find(|(_, n)| **n > 1) {
            panic!("{m} is stored {n} times in {what}");
        }
    }
    assert_eq!(via_api, via_files);
    eprintln!(
        "durability: {} acknowledged ({} before the kill), {} stored",
        acked.len(),
        killed_at,
        via_files.len()
    );
}
