//! WebSocket heads (`[chain] ws_url`): with a poll interval far longer than the test, a new UserOperation on
//! the shared devnet is indexed within a few seconds (only a head can have woken the indexer); a private anvil
//! behind a TCP proxy whose connections are cut shows the fallback to polling while the socket is down and
//! the reconnection after (metrics and log lines), with the URL's key never shown; an endpoint on another chain
//! is refused while polling goes on; `config show` redacts the URL and a non-WebSocket URL is a config error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::exporter::{Metrics, promtool, promtool_check_metrics};
use crate::support::Sandbox;
use crate::support::api::{ADMIN, ApiServer, client};
use crate::support::devnet::{self, Devnet};
use crate::watcher_support::{Anvil, hex_u64};

const CONNECTED: &str = "butler_chain_ws_connected";
const RECONNECTS: &str = "butler_chain_ws_reconnects_total";

async fn scrape(server: &ApiServer) -> (Metrics, String) {
    let res = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET /metrics");
    let text = res.text().await.unwrap();
    (Metrics::parse(&text), text)
}

/// Scrapes until `done` holds (60 s at most); returns that scrape.
async fn wait_metrics(server: &ApiServer, what: &str, done: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (m, text) = scrape(server).await;
        if done(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "never got to: {what}\n{text}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn watcher_config(rpc: &str, ws: &str, poll_secs: u64, sources: &str) -> String {
    format!(
        "[chain]\nrpc_url = \"{rpc}\"\nws_url = \"{ws}\"\nchain_id = 31337\n\n[watcher]\nconfirmations = 0\n\
poll_interval_secs = {poll_secs}\n\n{sources}"
    )
}

/// One self-funded UserOperation through the devnet's bundler with `probe userop`; returns its hash.
fn send_userop(dn: &Devnet) -> String {
    let sb = Sandbox::new();
    let key = alloy::signers::local::PrivateKeySigner::random();
    dn.rpc_call(
        "anvil_setBalance",
        json!([key.address(), "0x56bc75e2d63100000"]),
    );
    let funder = dn.key_file(
        &format!("ws-funder-{}.key", crate::support::free_port()),
        &format!("0x{}", hex::encode(key.to_bytes())),
    );
    let out = sb
        .butler()
        .args(["--rpc-url", dn.rpc(), "probe", "userop", "--bundler"])
        .arg(dn.bundler())
        .args(["--entrypoint", dn.get("ENTRYPOINT_V07")])
        .args(["--factory", dn.get("SIMPLE_ACCOUNT_FACTORY")])
        .arg("--funder-key-file")
        .arg(&funder)
        .args(["--count", "1", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "probe userop: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["ops"][0]["user_op_hash"]
        .as_str()
        .unwrap()
        .to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ws_url_a_new_user_operation_is_indexed_within_a_block_not_a_poll_interval() {
    let Some(dn) = devnet::shared() else { return };
    let head = hex_u64(&dn.rpc_call("eth_blockNumber", json!([])));
    // ten minutes between polls: within this test only a new head can start a pass
    let sources = format!(
        "[[watcher.sources]]\nname = \"ep\"\npreset = \"entrypoint\"\naddress = \"{}\"\nstart_block = {head}\n",
        dn.get("ENTRYPOINT_V07")
    );
    let ws = format!("ws://127.0.0.1:{}", dn.anvil_port);
    let server = ApiServer::start(&watcher_config(dn.rpc(), &ws, 600, &sources), &[]);
    let m = wait_metrics(&server, "subscribed and past the first pass", |m| {
        m.get(CONNECTED, &[]) == Some(1.0)
            && m.get("butler_indexer_head_block", &[]) >= Some(head as f64)
    })
    .await;
    assert_eq!(m.must(RECONNECTS, &[]), 0.0);

    let hash = send_userop(dn);
    let sent = Instant::now();
    let deadline = sent + Duration::from_secs(30);
    loop {
        let res = client()
            .get(server.url("/api/admin/userops?limit=1000"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        let ops = v["userops"].as_array().unwrap();
        if ops.iter().any(|o| o["userOpHash"] == hash.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "user operation {hash} not indexed within 30 s with a 600 s poll interval:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "user operation indexed {:.2} s after its receipt (poll interval 600 s)",
        sent.elapsed().as_secs_f64()
    );
    assert!(
        server
            .log()
            .contains("subscribed to new heads over WebSocket")
    );
}

/// A TCP proxy whose connections can be cut and which can refuse new ones (accept, then close).
struct CutProxy {
    port: u16,
    refuse: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl CutProxy {
    async fn start(upstream: String) -> CutProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let refuse = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (r, c) = (refuse.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        CutProxy {
            port,
            refuse,
            conns,
        }
    }

    /// Closes every open connection; while `refuse`, new ones are closed at once.
    fn cut(&self, refuse: bool) {
        self.refuse.store(refuse, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_socket_falls_back_to_polling_and_reconnects() {
    let Some(anvil) = Anvil::start() else { return };
    let upstream = anvil.rpc.trim_start_matches("http://").to_string();
    let proxy = CutProxy::start(upstream).await;
    let ws = format!("ws://127.0.0.1:{}/?apikey=WSKEY0123456789", proxy.port);
    let sources = "[[watcher.sources]]\nname = \"any\"\npreset = \"entrypoint\"\nstart_block = 0\n";
    let server = ApiServer::start(&watcher_config(&anvil.rpc, &ws, 1, sources), &[]);
    wait_metrics(&server, "subscribed", |m| {
        m.get(CONNECTED, &[]) == Some(1.0)
    })
    .await;

    proxy.cut(true);
    wait_metrics(&server, "the drop seen", |m| {
        m.get(CONNECTED, &[]) == Some(0.0)
    })
    .await;
    anvil.mine(3);
    let head = anvil.head() as f64;
    let m = wait_metrics(
        &server,
        "indexed by polling while the socket is down",
        |m| m.get("butler_indexer_head_block", &[]) == Some(head),
    )
    .await;
    assert_eq!(m.must(CONNECTED, &[]), 0.0, "still down while refused");
    assert!(
        server
            .log()
            .contains("WebSocket heads are down; the indexer polls until they are back")
    );

    proxy.cut(false);
    let m = wait_metrics(&server, "reconnected", |m| {
        m.get(CONNECTED, &[]) == Some(1.0) && m.get(RECONNECTS, &[]) >= Some(1.0)
    })
    .await;
    assert!(m.must(RECONNECTS, &[]) >= 1.0);
    let log = server.log();
    assert!(log.contains("WebSocket heads reconnected"), "{log}");
    assert!(
        !log.contains("WSKEY0123456789") && log.contains("apikey=***"),
        "the URL's key is shown redacted only:\n{log}"
    );
    let (_, text) = scrape(&server).await;
    assert!(!text.contains("WSKEY0123456789"));
    let emitted = crate::obs_metrics::emitted(&text);
    let docs = crate::exporter_prometheus::documented_part(true);
    for name in [CONNECTED, RECONNECTS] {
        let (e, d) = (&emitted[name], &docs[name]);
        assert_eq!(
            (&e.kind, &e.labels, &e.help),
            (&d.kind, &d.labels, &d.help),
            "{name} as in docs/metrics.md"
        );
    }
    if let Some(promtool) = promtool() {
        let (ok, said) = promtool_check_metrics(&promtool, &text);
        assert!(ok && said.trim().is_empty(), "promtool: {said}\n{text}");
    }
}

#[test]
fn config_show_redacts_ws_url_and_a_non_websocket_url_is_refused() {
    let sb = Sandbox::new();
    let config = sb.write(
        "butler.toml",
        "[chain]\nrpc_url = \"http://127.0.0.1:8545\"\n",
    );
    let out = sb
        .butler()
        .arg("--config")
        .arg(&config)
        .env(
            "BUTLER_CHAIN__WS_URL",
            "wss://eth.example.com/v2/0123456789abcdef0123",
        )
        .args(["config", "show", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["chain"]["ws_url"], "wss://eth.example.com/v2/***");

    let out = sb
        .butler()
        .arg("--config")
        .arg(&config)
        .env(
            "BUTLER_CHAIN__WS_URL",
            "http://127.0.0.1:8545/SECRETSECRET99",
        )
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[chain] ws_url") && !err.contains("SECRETSECRET99"),
        "{err}"
    );
}

/// An anvil on chain id 1337, killed on drop.
struct OtherChain(std::process::Child, u16);

impl OtherChain {
    fn start() -> OtherChain {
        let port = crate::support::free_port();
        let child = std::process::Command::new(Devnet::bin("anvil"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", "1337", "--silent"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn anvil");
        let other = OtherChain(child, port);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "anvil on chain 1337 did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        other
    }
}

impl Drop for OtherChain {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_url_on_another_chain_is_refused_and_polling_goes_on() {
    let Some(anvil) = Anvil::start() else { return };
    let other = OtherChain::start();
    let ws = format!("ws://127.0.0.1:{}", other.1);
    let sources = "[[watcher.sources]]\nname = \"any\"\npreset = \"entrypoint\"\nstart_block = 0\n";
    let server = ApiServer::start(&watcher_config(&anvil.rpc, &ws, 1, sources), &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().contains("reports chain id 1337, not 31337") {
        assert!(
            Instant::now() < deadline,
            "no refusal logged:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anvil.mine(2);
    let head = anvil.head() as f64;
    let m = wait_metrics(&server, "indexed by polling", |m| {
        m.get("butler_indexer_head_block", &[]) == Some(head)
    })
    .await;
    assert_eq!(
        m.must(CONNECTED, &[]),
        0.0,
        "never subscribed on the wrong chain"
    );
}
