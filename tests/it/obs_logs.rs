//! Log export and file-backed queries: events ingested through the API (more than the in-memory ring
//! holds) come back from `butler logs export` exactly, filtered by service, level and time, and from
//! `GET /api/logs` with `since`/`until`, which reads the journal files rather than the ring.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::api::{ADMIN, ApiServer, client};

const SERVICES: [&str; 3] = ["alto", "paymaster-api", "web"];
const LEVELS: [&str; 4] = ["debug", "info", "warn", "error"];

/// Event `i`: service, level and ts all derived from `i`.
fn event(i: u64) -> Value {
    json!({
        "ts": 1_760_000_000 + i * 60,
        "service": SERVICES[(i % 3) as usize],
        "level": LEVELS[(i % 4) as usize],
        "msg": format!("event {i}"),
        "meta": {"i": i},
    })
}

fn msgs(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| e["msg"].as_str().unwrap().to_string())
        .collect()
}

fn export(server: &ApiServer, args: &[&str]) -> Vec<Value> {
    let out = server.sandbox.path().join("export.ndjson");
    let run = server
        .sandbox
        .butler()
        .args([
            "--config",
            server.config.to_str().unwrap(),
            "logs",
            "export",
        ])
        .args(args)
        .arg("--out")
        .arg(&out)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "logs export {args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(summary["events"], events.len(), "{summary}");
    events
}

#[tokio::test]
async fn export_and_time_queries_read_every_stored_event() {
    let server = ApiServer::start("[api]\nlog_retention_max = 5\n", &[]);
    let c = client();
    let all: Vec<Value> = (0..60).map(event).collect();
    for chunk in all.chunks(7) {
        let res = c
            .post(server.url("/api/logs/ingest"))
            .json(&chunk)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    let exported = export(&server, &[]);
    assert_eq!(exported.len(), 60, "every event, not only the ring's 5");
    for (got, sent) in exported.iter().zip(&all) {
        for k in ["ts", "service", "level", "msg", "meta"] {
            assert_eq!(got[k], sent[k], "{k} of {got}");
        }
    }
    let ids: Vec<u64> = exported.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order");

    let want: Vec<Value> = all
        .iter()
        .filter(|e| {
            e["service"] == "alto" && ["warn", "error"].contains(&e["level"].as_str().unwrap())
        })
        .cloned()
        .collect();
    let got = export(&server, &["--service", "alto", "--level", "warn"]);
    assert!(!want.is_empty());
    assert_eq!(msgs(&got), msgs(&want), "service and minimum level");

    let (since, until) = (1_760_000_000 + 10 * 60, 1_760_000_000 + 19 * 60);
    let got = export(
        &server,
        &[
            "--since",
            "2025-10-09T09:03:20Z",
            "--until",
            &until.to_string(),
        ],
    );
    let want: Vec<Value> = (10..20).map(event).collect();
    assert_eq!(since, 1_760_000_600, "the RFC 3339 time above is this");
    assert_eq!(
        msgs(&got),
        msgs(&want),
        "time range, RFC 3339 and Unix seconds"
    );

    let query = |q: String| {
        let c = c.clone();
        let url = server.url(&format!("/api/logs?{q}"));
        async move {
            let res = c.get(url).bearer_auth(ADMIN).send().await.unwrap();
            assert_eq!(res.status(), 200);
            let v: Value = res.json().await.unwrap();
            v["logs"].as_array().unwrap().clone()
        }
    };
    assert_eq!(query("limit=1000".into()).await.len(), 5, "the ring alone");
    let from_files = query("since=0&limit=1000".into()).await;
    assert_eq!(msgs(&from_files), msgs(&all), "since reads the files");
    let window = query(format!("since={since}&until={until}&service=web")).await;
    let want: Vec<Value> = (10..20)
        .map(event)
        .filter(|e| e["service"] == "web")
        .collect();
    assert_eq!(msgs(&window), msgs(&want));
    let newest = query(format!("until={until}&limit=3")).await;
    assert_eq!(
        msgs(&newest),
        msgs(&(17..20).map(event).collect::<Vec<_>>()),
        "the newest matches"
    );

    let bad = server
        .sandbox
        .butler()
        .args([
            "--config",
            server.config.to_str().unwrap(),
            "logs",
            "export",
        ])
        .args(["--since", "yesterday", "--out", "x.ndjson"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "a bad time is a usage error");
}
