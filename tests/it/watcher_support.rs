//! Helpers for the watcher tests: a private anvil, test-contract deployment from the committed artifacts,
//! watcher configs, the store's records and the chain's logs, and a `butler` process that can be killed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::devnet::{Devnet, rpc_call};
use crate::support::{Sandbox, free_port, repo_root};

/// anvil's account 0 (unlocked on anvil; the deployer of the devnet too).
pub const DEV_ACCOUNT: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// A private anvil (no EntryPoints, no bundler): fast to start, free to disturb. Killed on drop.
pub struct Anvil {
    child: Child,
    pub rpc: String,
    /// Where anvil keeps the historical states it moves out of memory; removed with the struct.
    _states: tempfile::TempDir,
}

impl Anvil {
    /// `None` when the devnet packages are not installed (outside CI).
    pub fn start() -> Option<Anvil> {
        if !Devnet::available() {
            return None;
        }
        for _ in 0..3 {
            let port = free_port();
            let states = tempfile::tempdir().expect("anvil state dir");
            let child = Command::new(Devnet::bin("anvil"))
                .args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--silent",
                    "--cache-path",
                ])
                .arg(states.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn anvil");
            let mut a = Anvil {
                child,
                rpc: format!("http://127.0.0.1:{port}"),
                _states: states,
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if a.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if try_rpc(&a.rpc, "eth_chainId", json!([])).is_some() {
                    return Some(a);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("anvil did not start");
    }

    pub fn call(&self, method: &str, params: Value) -> Value {
        rpc_call(&self.rpc, method, params)
    }

    pub fn head(&self) -> u64 {
        hex_u64(&self.call("eth_blockNumber", json!([])))
    }

    /// Mines `n` empty blocks (in steps, so each call stays well within the RPC timeout).
    pub fn mine(&self, n: u64) {
        let mut left = n;
        while left > 0 {
            let step = left.min(100);
            self.call("anvil_mine", json!([format!("0x{step:x}")]));
            left -= step;
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn try_rpc(url: &str, method: &str, params: Value) -> Option<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let out = Command::new("curl")
        .args([
            "-sf",
            "-m",
            "2",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data",
        ])
        .arg(body.to_string())
        .arg(url)
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v.get("result").cloned()
}

pub fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex")
}

/// The committed artifact of a test contract.
pub fn artifact(name: &str) -> Value {
    let p = repo_root().join(format!("tests/contracts/artifacts/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).expect("artifact")).expect("artifact json")
}

/// Deploys a test contract from account 0; `ctor` is ABI-encoded constructor args (0x-less hex).
pub fn deploy(rpc: &str, name: &str, ctor: &str) -> String {
    let code = artifact(name)["bytecode"]
        .as_str()
        .expect("bytecode")
        .to_string();
    let hash = rpc_call(
        rpc,
        "eth_sendTransaction",
        json!([{"from": DEV_ACCOUNT, "data": format!("{code}{ctor}"), "gas": "0x1000000"}]),
    );
    let receipt = wait_receipt(rpc, hash.as_str().expect("tx hash"));
    receipt["contractAddress"]
        .as_str()
        .expect("contract address")
        .to_string()
}

/// Sends a transaction from account 0 and waits for its receipt (which must succeed).
pub fn transact(rpc: &str, to: &str, data: &str) -> Value {
    let hash = rpc_call(
        rpc,
        "eth_sendTransaction",
        json!([{"from": DEV_ACCOUNT, "to": to, "data": data, "gas": "0x1c9c380"}]),
    );
    let r = wait_receipt(rpc, hash.as_str().expect("tx hash"));
    assert_eq!(r["status"], "0x1", "transaction failed: {r}");
    r
}

pub fn wait_receipt(rpc: &str, hash: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = rpc_call(rpc, "eth_getTransactionReceipt", json!([hash]));
        if !r.is_null() {
            return r;
        }
        assert!(Instant::now() < deadline, "no receipt for {hash}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// ABI-encodes a call with `cast calldata`.
pub fn calldata(sig: &str, args: &[&str]) -> String {
    let out = Command::new(Devnet::bin("cast"))
        .arg("calldata")
        .arg(sig)
        .args(args)
        .output()
        .expect("cast calldata");
    assert!(out.status.success(), "cast calldata {sig} {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Writes a butler config with a data dir and the given `[watcher]` body (keys and sources).
pub fn write_config(sb: &Sandbox, rpc: &str, data_dir: &Path, watcher: &str) -> PathBuf {
    sb.write(
        "butler.toml",
        &format!(
            "data_dir = \"{}\"\n[chain]\nrpc_url = \"{rpc}\"\ntimeout_secs = 5\nmax_retries = 1\n[watcher]\n{watcher}\n",
            data_dir.display()
        ),
    )
}

/// Every record in the store, file by file in order (a torn last line is an error).
pub fn records(data_dir: &Path) -> Vec<Value> {
    read_records(data_dir, false)
}

/// The complete records in the store, ignoring a torn last line: what a SIGKILL in the middle of a
/// write may leave behind, and what the next start truncates.
pub fn complete_records(data_dir: &Path) -> Vec<Value> {
    read_records(data_dir, true)
}

fn read_records(data_dir: &Path, torn_tail_ok: bool) -> Vec<Value> {
    let chain = data_dir.join("chain");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&chain)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let mut out = Vec::new();
    for d in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("source dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files {
            let mut text = std::fs::read_to_string(&f).expect("log file");
            if torn_tail_ok && !text.ends_with('\n') {
                text.truncate(text.rfind('\n').map_or(0, |i| i + 1));
            }
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{} ends with a torn line",
                f.display()
            );
            out.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Value>(l).expect("record json")),
            );
        }
    }
    out.sort_by_key(|r| {
        (
            r["blockNumber"].as_u64().unwrap(),
            r["txIndex"].as_u64().unwrap(),
            r["logIndex"].as_u64().unwrap(),
        )
    });
    out
}

/// The checkpoint.
pub fn checkpoint(data_dir: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(data_dir.join("chain/indexer_state.json")).expect("checkpoint"),
    )
    .expect("checkpoint json")
}

/// The chain's logs of an address, canonical order.
pub fn chain_logs(rpc: &str, address: &str) -> Vec<Value> {
    let logs = rpc_call(
        rpc,
        "eth_getLogs",
        json!([{"fromBlock": "0x0", "toBlock": "latest", "address": address}]),
    );
    logs.as_array().expect("logs").clone()
}

/// (tx hash, log index, block hash) of records and of logs, for comparing the store with the chain.
pub fn keys_of_records(records: &[Value]) -> Vec<(String, u64, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["txHash"].as_str().unwrap().to_lowercase(),
                r["logIndex"].as_u64().unwrap(),
                r["blockHash"].as_str().unwrap().to_lowercase(),
            )
        })
        .collect()
}

pub fn keys_of_logs(logs: &[Value]) -> Vec<(String, u64, String)> {
    logs.iter()
        .map(|l| {
            (
                l["transactionHash"].as_str().unwrap().to_lowercase(),
                hex_u64(&l["logIndex"]),
                l["blockHash"].as_str().unwrap().to_lowercase(),
            )
        })
        .collect()
}

/// Runs a butler command with a config and returns its parsed JSON stdout (the command must succeed).
pub fn butler_json(sb: &Sandbox, config: &Path, args: &[&str]) -> Value {
    let out = sb
        .butler()
        .arg("--config")
        .arg(config)
        .args(["--output", "json"])
        .args(args)
        .output()
        .expect("run butler");
    assert!(
        out.status.success(),
        "butler {args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "butler {args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A `butler` process (std Command) with the sandbox's clean environment, for spawning and killing.
pub fn butler_process(sb: &Sandbox, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("butler"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BUTLER_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("XDG_CONFIG_HOME", sb.path().join("xdg-config"))
        .env("XDG_DATA_HOME", sb.path().join("xdg-data"))
        .env("HOME", sb.path())
        .current_dir(sb.path().join("cwd"))
        .arg("--config")
        .arg(config)
        .args(args);
    cmd
}

/// Counts of events by name in a list of records.
pub fn count_by_event(records: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(r["event"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

/// The reorg scenario's chain: a TestEmitter and six blocks of three `UserOperationEvent`s each.
pub fn reorg_scenario_emitter(anvil: &Anvil) -> String {
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    for _ in 0..6 {
        transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["3"]));
    }
    emitter
}

/// Replaces the last 4 blocks of the reorg scenario (seven events and a `WorkflowStarted` instead), mines
/// two more, then runs `butler index` and checks that it rolled a reorganisation back.
pub fn reorg_and_index(anvil: &Anvil, emitter: &str, sb: &Sandbox, config: &Path) {
    let start = calldata("start(bytes32)", &[&format!("0x{}", "ab".repeat(32))]);
    anvil.call(
        "anvil_reorg",
        json!([4, [
            [{"from": DEV_ACCOUNT, "to": emitter, "data": calldata("emitMany(uint256)", &["7"]), "gas": "0x1000000"}, 0],
            [{"from": DEV_ACCOUNT, "to": emitter, "data": start, "gas": "0x100000"}, 1],
        ]]),
    );
    anvil.mine(2);
    let out = sb
        .butler()
        .arg("--config")
        .arg(config)
        .args(["--output", "json", "index"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("reorganisation") && log.contains("depth"),
        "{log}"
    );
}

/// Requests seen by the range-limiting proxy: (blocks asked for, refused).
pub type Seen = Arc<Mutex<Vec<(u64, bool)>>>;

/// A JSON-RPC proxy in front of `upstream`: it refuses `eth_getLogs` ranges over 1,000 blocks the first
/// `refusals` times with real provider messages (one with a suggested range), delays every `eth_getLogs` by
/// `delay`, and forwards everything. Returns its URL and the `eth_getLogs` ranges it saw.
pub fn rpc_proxy(upstream: String, refusals: usize, delay: Duration) -> (String, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let port = free_port();
    let s = seen.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let client = reqwest::Client::new();
            let app = axum::Router::new().route(
                "/",
                axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                    let client = client.clone();
                    let upstream = upstream.clone();
                    let seen = s.clone();
                    async move {
                        if body["method"] == "eth_getLogs" {
                            tokio::time::sleep(delay).await;
                            let f = &body["params"][0];
                            let from = hex_u64(&f["fromBlock"]);
                            let to = hex_u64(&f["toBlock"]);
                            let size = to - from + 1;
                            let mut seen = seen.lock().unwrap();
                            let refused_so_far = seen.iter().filter(|(_, r)| *r).count();
                            if size > 1000 && refused_so_far < refusals {
                                seen.push((size, true));
                                let message = if refused_so_far % 2 == 0 {
                                    format!("Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x{from:x}, 0x{:x}]", from + 999)
                                } else {
                                    "query exceeds max block range 1000".to_string()
                                };
                                return axum::Json(json!({"jsonrpc": "2.0", "id": body["id"], "error": {"code": -32005, "message": message}}));
                            }
                            seen.push((size, false));
                        }
                        let resp: Value = client.post(&upstream).json(&body).send().await.unwrap().json().await.unwrap();
                        axum::Json(resp)
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://127.0.0.1:{port}"), seen)
}
