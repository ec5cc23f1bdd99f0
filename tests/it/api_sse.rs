//! `GET /api/logs/stream`: a subscriber receives ingested events with keep-alive comments in between,
//! `Last-Event-ID` resumes, filters apply, and a stalled subscriber neither blocks ingest nor keeps its slot.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::support::api::{ADMIN, ApiServer, client, event};

/// One SSE message.
#[derive(Debug, Default, Clone)]
struct Msg {
    event: String,
    id: Option<String>,
    data: String,
}

/// Reads an SSE response, collecting messages and counting comment lines.
struct Reader {
    res: reqwest::Response,
    buf: String,
    comments: usize,
}

impl Reader {
    async fn open(server: &ApiServer, query: &str, last_event_id: Option<u64>) -> Reader {
        let mut req = client()
            .get(server.url(&format!("/api/logs/stream{query}")))
            .bearer_auth(ADMIN)
            .timeout(Duration::from_secs(120));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Reader {
            res,
            buf: String::new(),
            comments: 0,
        }
    }

    /// The next message, within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Msg> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..pos + 2).collect();
                let mut msg = Msg::default();
                for line in frame.lines() {
                    if line.starts_with(':') {
                        self.comments += 1;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        msg.event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        msg.id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        msg.data.push_str(v.trim_start());
                    }
                }
                if !msg.event.is_empty() || !msg.data.is_empty() {
                    return Some(msg);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .ok()?;
            match chunk.unwrap() {
                Some(bytes) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }
}

async fn ingest(server: &ApiServer, body: Value) -> Value {
    let res = client()
        .post(server.url("/api/logs/ingest"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_subscriber_receives_ingested_events_and_keep_alives() {
    let server = ApiServer::start("[api]\nsse_keepalive_secs = 1\n", &[]);
    let mut reader = Reader::open(&server, "?level=warn", None).await;
    ingest(
        &server,
        json!([
            {"ts": 1, "service": "b", "level": "info", "msg": "filtered out"},
            {"ts": 2, "service": "b", "level": "error", "msg": "boom", "requestId": "r1"},
        ]),
    )
    .await;
    let msg = reader
        .next(Duration::from_secs(10))
        .await
        .expect("an event");
    assert_eq!(msg.event, "log");
    assert_eq!(msg.id.as_deref(), Some("2"));
    let e: Value = serde_json::from_str(&msg.data).unwrap();
    assert_eq!(e["msg"], "boom");
    assert_eq!(e["requestId"], "r1");
    assert_eq!(e["level"], "error");
    assert!(reader.next(Duration::from_millis(2500)).await.is_none());
    assert!(reader.comments >= 1, "no keep-alive comment in 2.5 s");
}

#[tokio::test]
async fn last_event_id_resumes_after_the_given_event() {
    let server = ApiServer::start("", &[]);
    for i in 1..=3 {
        ingest(&server, event(&format!("m{i}"))).await;
    }
    let mut reader = Reader::open(&server, "", Some(1)).await;
    ingest(&server, event("m4")).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let msg = reader
            .next(Duration::from_secs(10))
            .await
            .expect("an event");
        got.push(msg.id.unwrap());
    }
    assert_eq!(got, vec!["2", "3", "4"]);
    let res = client()
        .get(server.url("/api/logs/stream"))
        .bearer_auth(ADMIN)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("last-event-id"));
}

#[tokio::test]
async fn a_stalled_subscriber_does_not_block_ingest_and_loses_its_slot() {
    let server = ApiServer::start("[api]\nsse_client_queue = 4\nsse_max_clients = 1\n", &[]);
    // a client that sends its request and never reads a byte
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    stalled
        .write_all(
            format!(
                "GET /api/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = client()
        .get(server.url("/api/logs/stream"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "the stalled client holds the only slot");
    let v: Value = res.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("sse_max_clients"));

    // ~24 MB of events: far more than socket buffers and the client's queue hold
    let big = "x".repeat(1000);
    for round in 0..48 {
        let batch: Vec<Value> = (0..500)
            .map(|i| event(&format!("{round}-{i}-{big}")))
            .collect();
        let started = std::time::Instant::now();
        ingest(&server, Value::Array(batch)).await;
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "ingest stalled behind a slow subscriber"
        );
    }
    let v: Value = client()
        .get(server.url("/api/logs?limit=1"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["logs"][0]["id"], 24_000);
    // the stalled client was dropped: its slot is free again
    let mut freed = false;
    for _ in 0..50 {
        ingest(&server, event("tick")).await;
        let res = client()
            .get(server.url("/api/logs/stream"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(freed, "the stalled client still holds its slot");
    drop(stalled);
}
