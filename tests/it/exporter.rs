//! `butler serve --prometheus` on a devnet of its own: every metric carries the value the chain holds.
//! Also the helpers the other `exporter_*` modules share: start the exporter, scrape it, parse the text format.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::devnet::Devnet;
use crate::support::{Sandbox, free_port, repo_root};

/// A running `butler serve --prometheus`, stopped with SIGTERM on drop.
pub struct Serve {
    child: Option<Child>,
    pub addr: String,
    pub sandbox: Sandbox,
}

impl Serve {
    /// Starts the exporter with this config (its `[exporter] listen` is overridden by a free port) and waits
    /// until `/healthz` answers.
    pub fn start(config: &str) -> Serve {
        Self::start_with_env(config, &[])
    }

    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Serve {
        let sandbox = Sandbox::new();
        let path = sandbox.write("butler.toml", config);
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(sandbox.path().join("serve.log")).expect("log file");
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("butler"));
        for (k, _) in std::env::vars() {
            if k.starts_with("BUTLER_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .envs(env.iter().copied())
            .env("HOME", sandbox.path())
            .env("XDG_CONFIG_HOME", sandbox.path().join("xdg-config"))
            .env("XDG_DATA_HOME", sandbox.path().join("xdg-data"))
            .current_dir(sandbox.path().join("cwd"))
            .arg("--config")
            .arg(&path)
            .args(["serve", "--prometheus", "--exporter-listen", &addr])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn butler serve");
        let mut serve = Serve {
            child: Some(child),
            addr,
            sandbox,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if serve.get("/healthz", &[]).0 == 200 {
                return serve;
            }
            if let Some(status) = serve
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("butler serve exited with {status}:\n{}", serve.log());
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not start:\n{}",
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The exporter's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.sandbox.path().join("serve.log")).unwrap_or_default()
    }

    /// `GET path` with extra headers: (status, body, elapsed). Status 0 when the connection failed.
    pub fn get(&self, path: &str, headers: &[&str]) -> (u16, String, Duration) {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-m", "30", "-w", "\n%{http_code}"]);
        for h in headers {
            cmd.args(["-H", h]);
        }
        let started = Instant::now();
        let out = cmd
            .arg(format!("http://{}{path}", self.addr))
            .output()
            .expect("curl");
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
        (code.trim().parse().unwrap_or(0), body.to_string(), elapsed)
    }

    /// `GET /metrics`, asserting 200: (parsed samples, raw text, elapsed).
    pub fn scrape(&self) -> (Metrics, String, Duration) {
        let (status, body, elapsed) = self.get("/metrics", &[]);
        assert_eq!(status, 200, "GET /metrics: {body}\n{}", self.log());
        (Metrics::parse(&body), body, elapsed)
    }

    /// SIGTERM, then wait (up to 10 s) for the exit status.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One sample of the text format.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The samples of one scrape.
#[derive(Debug, Clone)]
pub struct Metrics(pub Vec<Sample>);

impl Metrics {
    /// Parses sample lines (`name{a="x",b="y"} value`); label values here never contain escapes.
    pub fn parse(text: &str) -> Metrics {
        let mut out = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => {
                    let inner = rest.strip_suffix('}').expect("closing brace");
                    let labels = inner
                        .split("\",")
                        .filter(|kv| !kv.is_empty())
                        .map(|kv| {
                            let (k, v) = kv.split_once("=\"").expect("label");
                            (k.to_string(), v.trim_end_matches('"').to_string())
                        })
                        .collect();
                    (n.to_string(), labels)
                }
                None => (series.to_string(), BTreeMap::new()),
            };
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            out.push(Sample {
                name,
                labels,
                value,
            });
        }
        Metrics(out)
    }

    /// The value of the first sample named `name` whose labels include `labels`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0
            .iter()
            .find(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }

    /// Like [`Metrics::get`], panicking with the name when absent.
    pub fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("{name}{labels:?} is missing"))
    }

    /// Names of the samples whose name starts with `prefix`.
    pub fn names_with(&self, prefix: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|s| s.name.starts_with(prefix))
            .map(|s| s.name.as_str())
            .collect()
    }
}

/// The exporter config for a devnet: its chain, verifying paymaster and alto (with its executor), both
/// EntryPoints checked on the bundler, and a spend window that covers the whole devnet chain.
pub fn devnet_config(dn: &Devnet, extra_exporter: &str) -> String {
    format!(
        r#"
[chain]
rpc_url = "{rpc}"
chain_id = 31337

[[paymasters]]
name = "verifying"
address = "{pm}"
entrypoint = "{ep7}"
min_deposit_eth = "1.5"

[[bundlers]]
name = "alto"
rpc_url = "{bundler}"
executors = ["{executor}"]

[exporter]
bundler_entrypoints = ["{ep8}"]
spend_window_blocks = 1000000
{extra_exporter}

[[exporter.probes]]
name = "anvil-head"
url = "{rpc}"
method = "eth_blockNumber"
"#,
        rpc = dn.rpc(),
        pm = dn.get("VERIFYING_PAYMASTER"),
        ep7 = dn.get("ENTRYPOINT_V07"),
        ep8 = dn.get("ENTRYPOINT_V08"),
        bundler = dn.bundler(),
        executor = dn.get("EXECUTOR_ADDRESS"),
    )
}

/// A JSON-RPC quantity as u128.
pub fn quantity(v: &serde_json::Value) -> u128 {
    let s = v.as_str().expect("quantity string");
    u128::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex quantity")
}

/// `getDepositInfo(paymaster)` on the EntryPoint: (deposit, staked, stake, unstake delay, withdraw time).
pub fn deposit_info(dn: &Devnet, entrypoint: &str, paymaster: &str) -> [u128; 5] {
    let raw = dn.cast(&["call", entrypoint, "getDepositInfo(address)", paymaster]);
    let hex = raw.trim_start_matches("0x");
    assert_eq!(hex.len(), 5 * 64, "getDepositInfo answer: {raw}");
    std::array::from_fn(|i| u128::from_str_radix(&hex[i * 64..(i + 1) * 64][32..], 16).unwrap())
}

/// Whether something accepts connections on `addr` (host:port).
pub fn listening(addr: &str) -> bool {
    TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(200)).is_ok()
}

/// The `butler` repository checkout's commit, as `butler_build_info{commit}` records it.
pub fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo_root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The `promtool` binary, or `None` (reported as a missing part).
pub fn promtool() -> Option<PathBuf> {
    which("promtool")
}

/// Runs `promtool check metrics` on an exposition: whether it passed, and what it said (lint findings too).
pub fn promtool_check_metrics(promtool: &std::path::Path, text: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A binary on PATH, or `None` (reported as a missing part: fails in CI).
pub fn which(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        crate::support::missing_part(&format!("{name} (Debian package prometheus)"));
    }
    found
}

#[test]
fn exporter_values_equal_the_chain_and_the_userops_sent() {
    let Some(dn) = Devnet::start() else { return };
    let serve = Serve::start(&devnet_config(&dn, ""));
    let head_before = quantity(&dn.rpc_call("eth_blockNumber", serde_json::json!([])));
    let (m, text, _) = serve.scrape();
    let head = quantity(&dn.rpc_call("eth_blockNumber", serde_json::json!([])));
    assert_eq!(head_before, head, "nothing else moves this devnet's chain");

    // chain
    assert_eq!(m.must("butler_chain_up", &[]), 1.0, "{text}");
    assert_eq!(m.must("butler_chain_id", &[]), 31337.0);
    assert_eq!(m.must("butler_chain_head_block", &[]), head as f64);
    let block = dn.rpc_call(
        "eth_getBlockByNumber",
        serde_json::json!([format!("{head:#x}"), false]),
    );
    assert_eq!(
        m.must("butler_chain_head_block_timestamp_seconds", &[]),
        quantity(&block["timestamp"]) as f64
    );
    assert_eq!(
        m.must("butler_chain_base_fee_wei", &[]),
        quantity(&block["baseFeePerGas"]) as f64
    );
    let gas_price = quantity(&dn.rpc_call("eth_gasPrice", serde_json::json!([])));
    assert_eq!(m.must("butler_chain_gas_price_wei", &[]), gas_price as f64);
    assert_eq!(m.must("butler_chain_syncing", &[]), 0.0);
    let latency = m.must("butler_chain_rpc_latency_seconds", &[]);
    assert!(latency > 0.0 && latency < 3.0, "latency {latency}");
    // anvil refuses net_peerCount, so the documented rule applies: the series is absent.
    assert_eq!(m.get("butler_chain_peers", &[]), None);

    // paymaster
    let (pm, ep7) = (dn.get("VERIFYING_PAYMASTER"), dn.get("ENTRYPOINT_V07"));
    let l = [
        ("name", "verifying"),
        ("paymaster", pm),
        ("entrypoint", ep7),
    ];
    let [deposit, staked, stake, delay, withdraw] = deposit_info(&dn, ep7, pm);
    assert_eq!(m.must("butler_paymaster_up", &l), 1.0);
    assert_eq!(m.must("butler_paymaster_deposit_wei", &l), deposit as f64);
    assert_eq!(m.must("butler_paymaster_min_deposit_wei", &l), 1.5e18);
    assert_eq!(m.must("butler_paymaster_staked", &l), staked as f64);
    assert_eq!(m.must("butler_paymaster_stake_wei", &l), stake as f64);
    assert_eq!(
        m.must("butler_paymaster_unstake_delay_seconds", &l),
        delay as f64
    );
    assert_eq!(
        m.must("butler_paymaster_withdraw_time_seconds", &l),
        withdraw as f64
    );
    assert_eq!(
        (deposit, staked, stake, delay),
        (10u128.pow(19), 1, 10u128.pow(18), 86400)
    );
    let balance = dn.cast(&["balance", pm]).parse::<u128>().unwrap();
    assert_eq!(m.must("butler_paymaster_balance_wei", &l), balance as f64);
    assert_eq!(m.must("butler_paymaster_sponsored_userops", &l), 0.0);
    assert_eq!(m.must("butler_paymaster_spend_wei", &l), 0.0);
    assert_eq!(m.must("butler_paymaster_runway_seconds", &l), f64::INFINITY);
    assert!(text.contains("} +Inf\n"), "runway is spelled +Inf:\n{text}");

    // bundler
    let b = [("bundler", "alto")];
    assert_eq!(m.must("butler_bundler_up", &b), 1.0, "{text}");
    assert_eq!(m.must("butler_bundler_supported_entrypoints", &b), 2.0);
    for ep in [ep7, dn.get("ENTRYPOINT_V08")] {
        let l = [("bundler", "alto"), ("entrypoint", ep)];
        assert_eq!(m.must("butler_bundler_entrypoint_supported", &l), 1.0);
    }
    assert_eq!(m.must("butler_bundler_mempool_userops", &b), 0.0);
    let executor = dn.get("EXECUTOR_ADDRESS");
    let exec_balance = dn.cast(&["balance", executor]).parse::<u128>().unwrap();
    assert_eq!(
        m.must(
            "butler_bundler_executor_balance_wei",
            &[("bundler", "alto"), ("address", executor)]
        ),
        exec_balance as f64
    );
    let latency = m.must("butler_bundler_rpc_latency_seconds", &b);
    assert!(latency > 0.0 && latency < 3.0, "latency {latency}");

    // self
    for c in ["chain", "paymaster", "bundler"] {
        assert_eq!(m.must("butler_scrape_success", &[("collector", c)]), 1.0);
        let d = m.must("butler_scrape_duration_seconds", &[("collector", c)]);
        assert!(d > 0.0 && d < 3.0, "{c} took {d}");
    }
    let info =
        m.0.iter()
            .find(|s| s.name == "butler_build_info")
            .expect("build_info");
    assert_eq!(info.value, 1.0);
    assert_eq!(info.labels["version"], env!("CARGO_PKG_VERSION"));
    if let Some(commit) = git_commit() {
        assert_eq!(info.labels["commit"], commit);
    }
    assert!(m.get("process_resident_memory_bytes", &[]).unwrap() > 0.0);
    assert!(m.get("process_start_time_seconds", &[]).unwrap() > 0.0);

    // Real UserOperations: sponsored ones count for the paymaster, a self-funded one does not.
    let sponsored = probe(
        &serve,
        &dn,
        &[
            "--paymaster",
            pm,
            "--paymaster-signer-key-file",
            dn.key_file("pm-signer.key", dn.get("PM_SIGNER_KEY"))
                .to_str()
                .unwrap(),
            "--count",
            "3",
        ],
    );
    let funder = dn.key_file("funder.key", dn.get("DEPLOYER_KEY"));
    probe(
        &serve,
        &dn,
        &[
            "--self-funded",
            "--funder-key-file",
            funder.to_str().unwrap(),
        ],
    );
    let ops = sponsored["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    let spent: u128 = ops
        .iter()
        .map(|op| {
            op["actual_gas_cost_wei"]
                .as_str()
                .unwrap()
                .parse::<u128>()
                .unwrap()
        })
        .sum();
    assert!(spent > 0);
    let (m, text, _) = serve.scrape();
    let head = quantity(&dn.rpc_call("eth_blockNumber", serde_json::json!([])));
    assert_eq!(m.must("butler_chain_head_block", &[]), head as f64);
    assert_eq!(m.must("butler_paymaster_up", &l), 1.0, "{text}");
    assert_eq!(
        m.must("butler_paymaster_sponsored_userops", &l),
        3.0,
        "{text}"
    );
    assert_eq!(m.must("butler_paymaster_spend_wei", &l), spent as f64);
    let [deposit_now, ..] = deposit_info(&dn, ep7, pm);
    assert_eq!(
        deposit_now,
        deposit - spent,
        "the deposit paid exactly for the operations"
    );
    assert_eq!(
        m.must("butler_paymaster_deposit_wei", &l),
        deposit_now as f64
    );
    // The window reaches genesis: its length is head timestamp minus genesis timestamp.
    let ts = |n: u128| {
        let b = dn.rpc_call(
            "eth_getBlockByNumber",
            serde_json::json!([format!("{n:#x}"), false]),
        );
        quantity(&b["timestamp"])
    };
    let window_secs = (ts(head) - ts(0)).max(1);
    let expected = deposit_now as f64 * window_secs as f64 / spent as f64;
    let runway = m.must("butler_paymaster_runway_seconds", &l);
    assert!(
        ((runway - expected) / expected).abs() < 1e-9,
        "runway {runway}, expected {expected} (deposit {deposit_now} wei, {spent} wei in {window_secs} s)"
    );
}

/// `butler probe userop` against this devnet's v0.7 EntryPoint and alto; returns its JSON report.
fn probe(serve: &Serve, dn: &Devnet, args: &[&str]) -> serde_json::Value {
    let out = serve
        .sandbox
        .butler()
        .args(["--rpc-url", dn.rpc(), "--output", "json", "probe", "userop"])
        .args([
            "--bundler",
            dn.bundler(),
            "--entrypoint",
            dn.get("ENTRYPOINT_V07"),
        ])
        .args(["--factory", dn.get("SIMPLE_ACCOUNT_FACTORY")])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "probe userop {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    report
}
