//! The exporter when targets fail: a stopped bundler, a stopped RPC, a target that never answers; and the
//! parts that never touch a target (`/healthz`, the bearer token, the command line, SIGTERM).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::exporter::{Serve, devnet_config, listening};
use crate::support::Sandbox;
use crate::support::devnet::Devnet;

#[test]
fn exporter_survives_a_stopped_bundler_then_a_stopped_rpc() {
    let Some(dn) = Devnet::start() else { return };
    let mut serve = Serve::start(&devnet_config(&dn, "timeout_secs = 2"));
    let (m, text, _) = serve.scrape();
    assert_eq!(m.must("butler_chain_up", &[]), 1.0, "{text}");
    assert_eq!(
        m.must("butler_bundler_up", &[("bundler", "alto")]),
        1.0,
        "{text}"
    );

    dn.stop_bundler();
    let bundler_addr = dn.bundler().trim_start_matches("http://").to_string();
    wait_until(|| !listening(&bundler_addr), "alto to stop");
    let (m, text, elapsed) = serve.scrape();
    assert!(elapsed < Duration::from_secs(3), "scrape took {elapsed:?}");
    assert_eq!(
        m.must("butler_bundler_up", &[("bundler", "alto")]),
        0.0,
        "{text}"
    );
    assert!(
        m.names_with("butler_bundler_")
            .iter()
            .all(|n| *n == "butler_bundler_up"),
        "a failed bundler keeps only its up series:\n{text}"
    );
    assert_eq!(
        m.must("butler_scrape_success", &[("collector", "bundler")]),
        0.0
    );
    assert_eq!(
        m.must("butler_chain_up", &[]),
        1.0,
        "chain metrics stay intact"
    );
    let head = crate::exporter::quantity(&dn.rpc_call("eth_blockNumber", serde_json::json!([])));
    assert_eq!(m.must("butler_chain_head_block", &[]), head as f64);
    assert_eq!(
        m.must("butler_scrape_success", &[("collector", "chain")]),
        1.0
    );
    assert!(m.get("butler_paymaster_deposit_wei", &[]).is_some());

    dn.stop_anvil();
    let anvil_addr = dn.rpc().trim_start_matches("http://").to_string();
    wait_until(|| !listening(&anvil_addr), "anvil to stop");
    let (m, text, elapsed) = serve.scrape();
    assert!(elapsed < Duration::from_secs(3), "scrape took {elapsed:?}");
    assert_eq!(m.must("butler_chain_up", &[]), 0.0, "{text}");
    assert!(
        m.names_with("butler_chain_")
            .iter()
            .all(|n| *n == "butler_chain_up"),
        "a failed chain keeps only its up series:\n{text}"
    );
    assert_eq!(
        m.must("butler_paymaster_up", &[("name", "verifying")]),
        0.0,
        "{text}"
    );
    assert!(m.get("butler_paymaster_deposit_wei", &[]).is_none());
    assert_eq!(
        m.must("butler_scrape_success", &[("collector", "chain")]),
        0.0
    );
    assert_eq!(m.must("butler_build_info", &[]), 1.0);
    assert!(m.get("process_resident_memory_bytes", &[]).is_some());

    let status = serve.stop().expect("butler serve stops on SIGTERM");
    assert!(status.success(), "exit after SIGTERM: {status}");
}

/// A TCP server that accepts connections and never answers, until dropped.
struct Hang {
    addr: String,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Hang {
    fn start() -> Hang {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let held = Arc::new(Mutex::new(Vec::new()));
        let h = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut s = stream.try_clone().unwrap();
                h.lock().unwrap().push(stream);
                // Read and discard what arrives, never reply.
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        Hang { addr, held }
    }
}

impl Drop for Hang {
    fn drop(&mut self) {
        for s in self.held.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn a_hanging_target_costs_at_most_the_timeout() {
    let hang = Hang::start();
    let config = format!(
        r#"
[chain]
rpc_url = "http://{a}"

[[paymasters]]
name = "pm"
address = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"
entrypoint = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"

[[bundlers]]
name = "b1"
rpc_url = "http://{a}"

[[bundlers]]
name = "b2"
rpc_url = "http://{a}"

[exporter]
timeout_secs = 1
"#,
        a = hang.addr
    );
    let serve = Serve::start(&config);
    // /healthz never touches a target, so it answers at once while scrapes would hang.
    let (status, body, elapsed) = serve.get("/healthz", &[]);
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert!(
        elapsed < Duration::from_millis(500),
        "/healthz took {elapsed:?}"
    );

    let (m, text, elapsed) = serve.scrape();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_millis(2500),
        "four hanging targets in parallel must cost about one timeout (1 s), took {elapsed:?}"
    );
    assert_eq!(m.must("butler_chain_up", &[]), 0.0, "{text}");
    assert_eq!(m.must("butler_paymaster_up", &[("name", "pm")]), 0.0);
    assert_eq!(m.must("butler_bundler_up", &[("bundler", "b1")]), 0.0);
    assert_eq!(m.must("butler_bundler_up", &[("bundler", "b2")]), 0.0);
    for c in ["chain", "paymaster", "bundler"] {
        assert_eq!(m.must("butler_scrape_success", &[("collector", c)]), 0.0);
        let d = m.must("butler_scrape_duration_seconds", &[("collector", c)]);
        assert!((0.9..1.9).contains(&d), "{c} took {d} s");
    }
    let log = serve.log();
    for target in ["chain RPC", "paymaster pm", "bundler b1", "bundler b2"] {
        let line = log
            .lines()
            .find(|l| l.contains("scrape target failed") && l.contains(target))
            .unwrap_or_else(|| panic!("no failure logged for {target}:\n{log}"));
        assert!(
            line.contains("timed out") || line.contains("no answer within"),
            "{line}"
        );
    }
}

#[test]
fn metrics_need_the_bearer_token_when_one_is_set() {
    let hang = Hang::start();
    let config = format!(
        "[chain]\nrpc_url = \"http://{}\"\n\n[exporter]\ntimeout_secs = 0.2\n",
        hang.addr
    );
    let serve = Serve::start_with_env(&config, &[("BUTLER_EXPORTER__BEARER_TOKEN", "s3cret")]);
    let (status, body, _) = serve.get("/metrics", &[]);
    assert_eq!(status, 401, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
    assert!(
        answer["error"].as_str().unwrap().contains("authorization"),
        "{body}"
    );
    assert_eq!(
        serve.get("/metrics", &["Authorization: Bearer wrong"]).0,
        401
    );
    assert_eq!(
        serve.get("/metrics", &["Authorization: bearer s3cret"]).0,
        200,
        "the scheme is accepted in any case"
    );
    assert_eq!(
        serve.get("/metrics", &["Authorization: Basic s3cret"]).0,
        401
    );
    let (status, body, _) = serve.get("/metrics", &["Authorization: Bearer s3cret"]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("butler_chain_up 0"), "{body}");
    assert_eq!(serve.get("/healthz", &[]).0, 200, "/healthz needs no token");
    assert_eq!(serve.get("/nope", &[]).0, 404);
}

#[test]
fn metrics_token_from_a_file() {
    let sandbox = Sandbox::new();
    let token = sandbox.write("token", "from-file\n");
    let config = format!(
        "[chain]\nrpc_url = \"http://127.0.0.1:1\"\n\n[exporter]\ntimeout_secs = 0.5\nbearer_token_file = \"{}\"\n",
        token.display()
    );
    let serve = Serve::start(&config);
    assert_eq!(serve.get("/metrics", &[]).0, 401);
    let (status, body, _) = serve.get("/metrics", &["Authorization: Bearer from-file"]);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn serve_usage_and_config_errors_exit_2() {
    let sb = Sandbox::new();
    let out = sb.butler().arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--prometheus"));
    let out = sb
        .butler()
        .args(["serve", "--exporter-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "--exporter-listen needs --prometheus"
    );
    let cfg = sb.write(
        "bad.toml",
        "[chain]\nrpc_url = \"http://127.0.0.1:1\"\n\n[exporter]\ntimeout_secs = 0\n",
    );
    let out = sb
        .butler()
        .arg("--config")
        .arg(&cfg)
        .args(["serve", "--prometheus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[exporter] timeout_secs"), "{err}");
    let out = sb
        .butler()
        .args(["serve", "--prometheus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no RPC configured");
    assert!(String::from_utf8_lossy(&out.stderr).contains("rpc_url"));
}

fn wait_until(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_wrong_chain_id_takes_every_target_down() {
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    let config = devnet_config(dn, "").replace("chain_id = 31337", "chain_id = 1");
    let serve = Serve::start(&config);
    let (m, text, _) = serve.scrape();
    assert_eq!(m.must("butler_chain_up", &[]), 0.0, "{text}");
    assert_eq!(
        m.must("butler_paymaster_up", &[("name", "verifying")]),
        0.0,
        "{text}"
    );
    assert_eq!(
        m.must("butler_bundler_up", &[("bundler", "alto")]),
        0.0,
        "{text}"
    );
    assert!(m.get("butler_paymaster_deposit_wei", &[]).is_none());
    assert_eq!(
        m.get("butler_paymaster_min_deposit_wei", &[("name", "verifying")]),
        Some(1.5e18),
        "the configured threshold stays, so alert rules keep comparing against it"
    );
    assert!(serve.log().contains("chain id mismatch"), "{}", serve.log());
}
