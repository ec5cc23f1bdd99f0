//! The exporter against real Prometheus tooling and its documentation: `promtool check metrics` and
//! `check config`, a real Prometheus server that scrapes it and answers a query, and `docs/metrics.md`
//! listing exactly the metrics emitted (name, type, labels, help).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use butler::exporter::catalog;

use crate::exporter::{Serve, devnet_config, promtool, promtool_check_metrics, quantity, which};
use crate::support::{free_port, repo_root};

/// One documented metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documented {
    pub kind: String,
    pub labels: Vec<String>,
    pub help: String,
}

/// The heading that starts the watcher's part of docs/metrics.md.
pub const WATCHER_PART: &str = "# Watcher metrics";

/// The exporter's metric tables of docs/metrics.md (before [`WATCHER_PART`]).
fn documented() -> BTreeMap<String, Documented> {
    documented_part(false)
}

/// The metric tables of one part of docs/metrics.md (the exporter's, or with `watcher` the watcher's):
/// `| `name` | type | `l1`, `l2` | help |`.
pub fn documented_part(watcher: bool) -> BTreeMap<String, Documented> {
    let text = std::fs::read_to_string(repo_root().join("docs/metrics.md")).unwrap();
    let (exporter, watcher_text) = text
        .split_once(&format!("\n{WATCHER_PART}\n"))
        .expect("docs/metrics.md has a watcher part");
    let part = if watcher { watcher_text } else { exporter };
    let mut out = BTreeMap::new();
    for line in part.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line
            .trim_matches('|')
            .splitn(4, " | ")
            .map(str::trim)
            .collect();
        assert_eq!(cells.len(), 4, "malformed row: {line}");
        let name = cells[0].trim_matches('`').to_string();
        let labels = if cells[2] == "–" {
            Vec::new()
        } else {
            cells[2]
                .split(", ")
                .map(|l| l.trim_matches('`').to_string())
                .collect()
        };
        let doc = Documented {
            kind: cells[1].to_string(),
            labels,
            help: cells[3].to_string(),
        };
        assert!(
            out.insert(name.clone(), doc).is_none(),
            "{name} documented twice"
        );
    }
    out
}

#[test]
fn docs_list_exactly_the_catalog() {
    let docs = documented();
    for def in catalog::ALL {
        let d = docs
            .get(def.name)
            .unwrap_or_else(|| panic!("{} is not in docs/metrics.md", def.name));
        assert_eq!(d.kind, def.kind.as_str(), "{}", def.name);
        assert_eq!(d.labels, def.labels, "labels of {}", def.name);
        assert_eq!(d.help, def.help, "help of {}", def.name);
    }
    for name in docs.keys().filter(|n| n.starts_with("butler_")) {
        assert!(
            catalog::ALL.iter().any(|d| d.name == name),
            "docs/metrics.md lists {name}, which the exporter does not emit"
        );
    }
}

#[test]
fn every_emitted_metric_is_documented_and_vice_versa() {
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    let serve = Serve::start(&devnet_config(dn, ""));
    let (_, text, _) = serve.scrape();
    let emitted = crate::obs_metrics::emitted(&text);
    let docs = documented();
    for (name, e) in &emitted {
        let d = docs
            .get(name)
            .unwrap_or_else(|| panic!("{name} is emitted but not documented in docs/metrics.md"));
        let mut doc_labels = d.labels.clone();
        doc_labels.sort();
        assert_eq!(
            (&e.kind, &e.labels, &e.help),
            (&d.kind, &doc_labels, &d.help),
            "{name}"
        );
    }
    for name in docs.keys() {
        // anvil refuses net_peerCount: the one documented series a devnet cannot show. The Aztec series need
        // an Aztec deployment: tests/it/aztec_exporter.rs checks them.
        if name == "butler_chain_peers" || name.starts_with("butler_aztec_") {
            continue;
        }
        // the top-up series need an audit file: tests/it/paymaster_exporter.rs scrapes them.
        if name.starts_with("butler_topup_") {
            continue;
        }
        assert!(
            emitted.contains_key(name),
            "{name} is documented but was not emitted on the devnet:\n{text}"
        );
    }
}

#[test]
fn promtool_accepts_the_metrics_and_the_scrape_config() {
    let Some(promtool) = promtool() else { return };
    let out = Command::new(&promtool)
        .args(["check", "config"])
        .arg(repo_root().join("config/prometheus/prometheus.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    let serve = Serve::start(&devnet_config(dn, ""));
    let (_, text, _) = serve.scrape();
    let (ok, said) = promtool_check_metrics(&promtool, &text);
    assert!(ok, "promtool check metrics: {said}\n{text}");
    assert!(said.trim().is_empty(), "promtool lint findings: {said}");
}

/// A Prometheus server on a free loopback port with temp storage, stopped by PID on drop.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_the_exporter() {
    let Some(bin) = which("prometheus") else {
        return;
    };
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    let serve = Serve::start(&devnet_config(dn, ""));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: butler\n    static_configs:\n      - targets: [\"{}\"]\n",
            serve.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    let prom = Prometheus {
        child,
        port,
        _dir: dir,
    };
    let url = format!(
        "http://127.0.0.1:{}/api/v1/query?query=butler_chain_head_block",
        prom.port
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let value = loop {
        let out = Command::new("curl")
            .args(["-s", "-m", "5", &url])
            .output()
            .unwrap();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            && v["status"] == "success"
            && let Some(sample) = v["data"]["result"].get(0)
        {
            break sample["value"][1].as_str().unwrap().parse::<f64>().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not get butler_chain_head_block within 60 s: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(prom._dir.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let head = quantity(&dn.rpc_call("eth_blockNumber", serde_json::json!([])));
    assert!(
        value > 0.0 && value <= head as f64,
        "Prometheus says head {value}, the chain is at {head}"
    );
}
