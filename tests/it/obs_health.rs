//! `butler health` across every part, on a devnet of its own (the test stops its bundler and its node):
//! exit 0 with the RPC, paymaster, alto, a supervised bundler, the watcher and its indexer, the fee manager
//! and a probe all up (`--output json` lists each with value and threshold); exit 1 when a supervised
//! bundler meant to run is down, when alto is stopped and when anvil is stopped; exit 2 on a config error.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::obs_metrics::watcher_config;
use crate::support::Sandbox;
use crate::support::api::ApiServer;
use crate::support::devnet::Devnet;
use crate::support::fees::{Backend, Server};

/// `butler health --output json`: (exit code, report).
fn health(sb: &Sandbox, config: &std::path::Path) -> (i32, Value) {
    let out = sb
        .butler()
        .args([
            "--config",
            config.to_str().unwrap(),
            "health",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "health printed no JSON ({e}), exit {code}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

fn failing(report: &Value) -> BTreeSet<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect()
}

/// Runs health until `done` holds for (exit code, report), 60 s at most.
fn health_until(
    sb: &Sandbox,
    config: &std::path::Path,
    what: &str,
    done: impl Fn(i32, &Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, report) = health(sb, config);
        if done(code, &report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: health never got there (exit {code}): {report:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn write_registry(data: &std::path::Path, status: &str) {
    let dir = data.join("bundlers");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("registry.json"),
        json!({"version": 1, "instances": [
            {"id": "alto-1", "name": "alto", "status": status, "desired": "running", "port": 4337, "pid": 1},
            {"id": "alto-2", "name": "alto", "status": "STOPPED", "desired": "stopped"}
        ]})
        .to_string(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_exit_codes_with_everything_up_then_parts_stopped() {
    let Some(dn) = Devnet::start() else { return };
    let watcher = watcher_config(&dn);
    let api = ApiServer::start(&watcher, &[]);
    let Some(backend) = Backend::get("sqlite") else {
        return;
    };
    let fees = Server::start(&backend).await;
    let fees_listen = fees.base.trim_start_matches("http://").to_string();
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    write_registry(&data, "UP");
    let config = sb.write(
        "butler.toml",
        &format!(
            "data_dir = \"{data}\"\n\n[[paymasters]]\nname = \"verifying\"\naddress = \"{pm}\"\nentrypoint = \"{ep}\"\n\
min_deposit_eth = \"0.1\"\n\n[[bundlers]]\nname = \"alto\"\nrpc_url = \"{bundler}\"\n\n[api]\nlisten = \"127.0.0.1:{port}\"\n\n\
[fees]\nlisten = \"{fees_listen}\"\n\n[health]\nmax_indexer_lag_blocks = 5\ntimeout_secs = 3\n\n[exporter]\n\n\
[[exporter.probes]]\nname = \"anvil-head\"\nurl = \"{rpc}\"\nmethod = \"eth_blockNumber\"\n\n{watcher}",
            data = data.display(),
            pm = dn.get("VERIFYING_PAYMASTER"),
            ep = dn.get("ENTRYPOINT_V07"),
            bundler = dn.bundler(),
            port = api.port,
            rpc = dn.rpc(),
        ),
    );

    let up = health_until(&sb, &config, "everything up", |code, _| code == 0);
    assert_eq!(up["ok"], true);
    let names: BTreeSet<&str> = up["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for expected in [
        "rpc reachable",
        "chain id",
        "paymaster verifying deposit",
        "paymaster verifying runway",
        "bundler alto",
        "supervised bundler alto-1",
        "supervised bundler alto-2",
        "watcher api",
        "indexer lag",
        "fee manager",
        "probe anvil-head",
    ] {
        assert!(names.contains(expected), "{expected} missing: {up:#}");
    }
    let lag = check(&up, "indexer lag");
    assert_eq!(lag["threshold"], 5);
    assert!(lag["value"].as_u64().unwrap() <= 5, "{lag}");
    let runway = check(&up, "paymaster verifying runway");
    assert_eq!(runway["threshold"], 24.0, "the default min_runway_hours");
    assert_eq!(
        check(&up, "paymaster verifying deposit")["threshold"],
        "0.1"
    );
    assert_eq!(check(&up, "chain id")["value"], 31337);
    let head = check(&up, "rpc reachable")["value"].as_f64().unwrap();
    assert!(check(&up, "probe anvil-head")["value"].as_f64().unwrap() >= head);
    assert_eq!(check(&up, "supervised bundler alto-1")["threshold"], "UP");

    write_registry(&data, "DOWN");
    let (code, report) = health(&sb, &config);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        failing(&report),
        BTreeSet::from(["supervised bundler alto-1".to_string()])
    );
    write_registry(&data, "UP");

    dn.stop_bundler();
    let report = health_until(&sb, &config, "bundler stopped", |code, r| {
        code == 1 && failing(r).contains("bundler alto")
    });
    assert_eq!(
        failing(&report),
        BTreeSet::from(["bundler alto".to_string()]),
        "only the bundler fails: {report:#}"
    );

    dn.stop_anvil();
    let report = health_until(&sb, &config, "RPC stopped", |code, r| {
        code == 1 && failing(r).contains("rpc reachable")
    });
    let failed = failing(&report);
    for expected in ["rpc reachable", "indexer lag", "probe anvil-head"] {
        assert!(failed.contains(expected), "{expected} passes: {report:#}");
    }
    assert!(!failed.contains("fee manager"), "{report:#}");

    let bad = sb.write("bad.toml", "[health]\nmax_indexer_lag = 3\n");
    let out = sb
        .butler()
        .args(["--config", bad.to_str().unwrap(), "health"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a config error: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(fees);
}
