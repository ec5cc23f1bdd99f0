//! Helpers for the bundler supervision tests: a funded key pool, a `[supervisor]` section with the devnet's
//! alto as a template, a watcher that supervises, and admin calls.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};

use super::api::{ADMIN, ApiServer, client};
use super::devnet::Devnet;
use super::free_port;

/// Writes `n` fresh keys, each funded with 100 ETH on the devnet, to a 0600 file in `dir`.
pub fn key_pool(dn: &Devnet, dir: &std::path::Path, n: usize) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let mut text = String::new();
    for _ in 0..n {
        let key = PrivateKeySigner::random();
        dn.rpc_call(
            "anvil_setBalance",
            json!([key.address(), "0x56bc75e2d63100000"]),
        );
        text.push_str(&format!("0x{}\n", hex::encode(key.to_bytes())));
    }
    let path = dir.join(format!("bundler-keys-{}", free_port()));
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A port range of `len` ports starting at a port that was free a moment ago.
pub fn port_range(len: u16) -> (u16, u16) {
    for _ in 0..50 {
        let p = free_port();
        if p.checked_add(len).is_some()
            && (p..p + len).all(|q| std::net::TcpListener::bind(("127.0.0.1", q)).is_ok())
        {
            return (p, p + len - 1);
        }
    }
    panic!("no run of {len} free ports");
}

/// The devnet's alto as a `[[supervisor.templates]]` entry named `alto`.
pub fn alto_template(dn: &Devnet) -> String {
    format!(
        r#"
[[supervisor.templates]]
name = "alto"
command = ["alto", "--config", "{{config_path}}"]
strict_args = ["--safe-mode", "true"]
entrypoints = ["{ep7}", "{ep8}"]
ready_timeout_secs = 60
stop_grace_secs = 5
env = {{ ALTO_HOST = "127.0.0.1" }}
[supervisor.templates.config]
port = "{{port}}"
rpc-url = "{{rpc_url}}"
entrypoints = "{{entrypoints}}"
executor-private-keys = "{{executor_keys}}"
utility-private-key = "{{utility_key}}"
safe-mode = false
json = true
log-level = "info"
public-client-log-level = "warn"
wallet-client-log-level = "warn"
"#,
        ep7 = dn.get("ENTRYPOINT_V07"),
        ep8 = dn.get("ENTRYPOINT_V08"),
    )
}

/// `[chain]` and `[supervisor]` with `keys` (if any), `ports`, and `extra` (templates, other keys).
pub fn supervisor_config(
    rpc: &str,
    keys: Option<&PathBuf>,
    ports: (u16, u16),
    extra: &str,
) -> String {
    let keys = keys
        .map(|k| format!("executor_keys_file = {:?}\n", k.display().to_string()))
        .unwrap_or_default();
    format!(
        "[chain]\nrpc_url = \"{rpc}\"\n[supervisor]\nport_range = [{}, {}]\nhealth_interval_secs = 1\n{keys}{extra}\n",
        ports.0, ports.1
    )
}

/// `PATH` with the devnet's binaries (alto, node tools) first.
pub fn devnet_path() -> String {
    format!(
        "{}:{}",
        Devnet::bin("").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A watcher with this config, alto on its PATH.
pub fn watcher(config: &str) -> ApiServer {
    watcher_with_env(config, &[])
}

/// A watcher with this config and extra environment, alto on its PATH.
pub fn watcher_with_env(config: &str, env: &[(&str, &str)]) -> ApiServer {
    let path = devnet_path();
    let mut all = vec![("PATH", path.as_str())];
    all.extend_from_slice(env);
    ApiServer::start(config, &all)
}

/// An admin POST; returns the status and the JSON body.
pub async fn post(server: &ApiServer, path: &str, body: Value) -> (u16, Value) {
    let res = client()
        .post(server.url(path))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// An admin GET of a JSON document.
pub async fn get(server: &ApiServer, path: &str) -> Value {
    let res = client()
        .get(server.url(path))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

/// Spawns an instance and returns its id (panics unless 200).
pub async fn spawn(server: &ApiServer, base: &str, name: &str, policy: Value) -> String {
    let (status, v) = post(
        server,
        "/api/admin/bundlers/spawn",
        json!({"base": base, "name": name, "policy": policy}),
    )
    .await;
    assert_eq!(status, 200, "spawn {name}: {v}");
    assert_eq!(v["spawned"], true, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// The instance `id` as `GET /api/admin/bundlers` shows it.
pub async fn instance(server: &ApiServer, id: &str) -> Value {
    let list = get(server, "/api/admin/bundlers").await;
    list["bundlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Polls instance `id` until `done` holds (`secs` at most).
pub async fn wait_instance(
    server: &ApiServer,
    id: &str,
    secs: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = instance(server, id).await;
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never became {what} within {secs} s: {v}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `id` is UP and returns its entry.
pub async fn wait_up(server: &ApiServer, id: &str) -> Value {
    wait_instance(server, id, 90, "UP", |v| v["status"] == "UP").await
}

/// Whether a process with this PID exists (and is not a zombie).
pub fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits until the process `pid` is gone (`secs` at most).
pub async fn wait_gone(pid: u64, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} still runs after {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a loopback port can be bound.
pub fn port_free(port: u64) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok()
}

/// A JSON-RPC call over HTTP; returns the whole answer (result or error).
pub async fn rpc(url: &str, method: &str) -> Value {
    client()
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `butler probe userop` (sponsored by the devnet's paymaster) through `bundler`; the exit status, the
/// JSON report (null when there is none) and stdout with stderr.
pub fn probe_userop(dn: &Devnet, bundler: &str) -> (bool, Value, String) {
    let sb = super::Sandbox::new();
    let signer = sb.write("pm-signer.key", &format!("{}\n", dn.get("PM_SIGNER_KEY")));
    let out = sb
        .butler()
        .args([
            "--rpc-url",
            dn.rpc(),
            "probe",
            "userop",
            "--bundler",
            bundler,
            "--entrypoint",
            dn.get("ENTRYPOINT_V07"),
            "--factory",
            dn.get("SIMPLE_ACCOUNT_FACTORY"),
            "--paymaster",
            dn.get("VERIFYING_PAYMASTER"),
            "--paymaster-signer-key-file",
            signer.to_str().unwrap(),
            "--timeout",
            "30",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.success(), report, text)
}

/// Whether any process is still in process group `pgid`.
pub fn group_alive(pgid: u64) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(Result::ok).any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields.first() != Some(&"Z")
            && fields.get(2).and_then(|g| g.parse::<u64>().ok()) == Some(pgid)
    })
}

/// `butler bundlers ...` against `server`, with its config and the admin token; exit status and stdout.
pub fn cli(server: &ApiServer, args: &[&str]) -> (bool, String) {
    let sb = super::Sandbox::new();
    let out = sb
        .butler()
        .env("BUTLER_API__ADMIN_TOKEN", ADMIN)
        .args(["--config", server.config.to_str().unwrap(), "bundlers"])
        .args(args)
        .args(["--api-url", &server.base()])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The registry file of `server`.
pub fn registry(server: &ApiServer) -> Value {
    serde_json::from_slice(
        &std::fs::read(server.data_dir().join("bundlers/registry.json")).unwrap(),
    )
    .unwrap()
}
