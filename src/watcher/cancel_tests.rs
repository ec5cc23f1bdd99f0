//! Cancelling a pass stops its `eth_getLogs` fetches: a node that refuses its first `eth_getLogs` announcing
//! a cap (so the cap is known and the fetches run concurrently) and never answers another holds every
//! further request open, and each connection must be closed once the pass returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::WatcherSettings;
use super::indexer::{Indexer, PassOutcome, Target};
use super::sources::sources_from_config;
use crate::chain::ChainClient;
use crate::chain::retry::RetrySettings;
use crate::config::WatcherConfig;

/// A JSON-RPC node on loopback: `eth_blockNumber` answers 100, the first `eth_getLogs` a refusal announcing
/// a cap of 5 blocks, no other `eth_getLogs` ever.
/// Counts the `eth_getLogs` requests whose connection is still open.
async fn stalling_node() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let open = Arc::new(AtomicUsize::new(0));
    let counter = open.clone();
    let logs_seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (conn, _) = listener.accept().await.unwrap();
            tokio::spawn(serve(conn, counter.clone(), logs_seen.clone()));
        }
    });
    (url, open)
}

async fn serve(mut conn: TcpStream, open: Arc<AtomicUsize>, logs_seen: Arc<AtomicUsize>) {
    let mut buf = Vec::new();
    loop {
        let Some(body) = read_request(&mut conn, &mut buf).await else {
            return;
        };
        let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let first_logs =
            req["method"] == "eth_getLogs" && logs_seen.fetch_add(1, Ordering::SeqCst) == 0;
        if req["method"] == "eth_getLogs" && !first_logs {
            open.fetch_add(1, Ordering::SeqCst);
            let mut rest = [0u8; 1024];
            while conn.read(&mut rest).await.is_ok_and(|n| n > 0) {}
            open.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let answer = if first_logs {
            serde_json::json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32005, "message": "query exceeds max block range 5"}})
        } else {
            serde_json::json!({"jsonrpc": "2.0", "id": req["id"], "result": "0x64"})
        }
        .to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        if conn
            .write_all(format!("{head}{answer}").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// One HTTP request's body (`None` at the end of the connection).
async fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = buf[end + 4..end + 4 + len].to_vec();
                buf.drain(..end + 4 + len);
                return Some(body);
            }
        }
        let mut chunk = [0u8; 4096];
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ok() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn cancelling_a_pass_ends_its_log_fetches() {
    let (url, open) = stalling_node().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg: WatcherConfig = toml::from_str(
        "[[sources]]\nname = \"ep\"\npreset = \"entrypoint\"\nstart_block = 0\n\
         address = \"0x0000000071727De22E5E9d8BAf0edAc6f37da032\"\n",
    )
    .unwrap();
    let settings = WatcherSettings {
        chain_dir: dir.path().join("chain"),
        confirmations: Some(0),
        poll_interval: Duration::from_secs(1),
        max_block_range: 10,
        lookback_blocks: 0,
        retention_max: 10,
        fetch_concurrency: 4,
        sources: sources_from_config(&cfg).unwrap(),
        store: crate::watcher::backend::StoreSettings::Ndjson {
            chain_dir: dir.path().join("chain"),
        },
        read_only: false,
    };
    let client = ChainClient::new(
        url.parse().unwrap(),
        RetrySettings {
            timeout: Duration::from_secs(60),
            max_retries: 0,
            ..RetrySettings::default()
        },
    );
    let mut indexer = Indexer::open(settings, client, 31337).await.unwrap();
    let cancel = CancellationToken::new();
    let pass = {
        let cancel = cancel.clone();
        tokio::spawn(async move { indexer.pass(Target::Head, &cancel).await })
    };
    wait_for("the pass did not start 4 concurrent eth_getLogs", || {
        open.load(Ordering::SeqCst) == 4
    })
    .await;
    cancel.cancel();
    assert_eq!(pass.await.unwrap().unwrap(), PassOutcome::Cancelled);
    wait_for(
        "eth_getLogs requests kept running after the pass was cancelled",
        || open.load(Ordering::SeqCst) == 0,
    )
    .await;
}
