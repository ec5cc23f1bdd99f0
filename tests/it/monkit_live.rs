//! Every PromQL expression of the shipped dashboards and alert rules against a real Prometheus that runs
//! the shipped prometheus.yml (targets pointed at this test's processes, intervals shortened) and has
//! scraped a live butler on a devnet of its own: the exporter, the watcher's `/metrics` and alto, after
//! real sponsored UserOperations sent with `butler probe userop`. No expression errors, every rule
//! evaluates, and the key panels return data.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::exporter::{Serve, devnet_config};
use crate::monkit::{curl_json, files, said, stop, tool};
use crate::support::api::ApiServer;
use crate::support::devnet::Devnet;
use crate::support::{Sandbox, free_port, repo_root};

/// Dashboard panels that must show data on a live butler, by title.
const KEY_PANELS: &[&str] = &[
    "Head block",
    "Deposit",
    "Runway",
    "Bundler up",
    "Indexer lag",
    "UserOperations rate",
];

/// A Prometheus server on a free port with the shipped configuration, stopped by PID on drop.
struct Prometheus {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(10));
    }
}

impl Prometheus {
    /// The shipped prometheus.yml and alerts/ in a temp dir, with 1 s intervals and targets/ listing
    /// `exporter`, `watcher` and `bundler` (host:port).
    fn start(bin: &Path, exporter: &str, watcher: &str, bundler: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let shipped =
            std::fs::read_to_string(repo_root().join("config/prometheus/prometheus.yml")).unwrap();
        let mut config = shipped.clone();
        for (from, to) in [
            ("scrape_interval: 15s", "scrape_interval: 1s"),
            ("scrape_timeout: 10s", "scrape_timeout: 1s"),
            ("evaluation_interval: 15s", "evaluation_interval: 1s"),
        ] {
            assert!(
                config.contains(from),
                "prometheus.yml no longer says {from}"
            );
            config = config.replace(from, to);
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
        for rules in files("config/prometheus/alerts", "yml") {
            std::fs::copy(
                &rules,
                dir.path().join("alerts").join(rules.file_name().unwrap()),
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("targets")).unwrap();
        for (file, target, labels) in [
            ("exporter.yml", exporter, ""),
            ("watcher.yml", watcher, ""),
            ("bundlers.yml", bundler, "\n  labels:\n    bundler: alto"),
        ] {
            assert!(
                shipped.contains(&format!("targets/{file}")),
                "prometheus.yml reads no targets/{file}"
            );
            std::fs::write(
                dir.path().join("targets").join(file),
                format!("- targets: [\"{target}\"]{labels}\n"),
            )
            .unwrap();
        }
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
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
        Prometheus { child, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    fn api(&self, path: &str) -> Option<Value> {
        curl_json(
            &format!("http://127.0.0.1:{}/api/v1/{path}", self.port),
            None,
        )
    }

    /// An instant query: `Ok(result)` or `Err(error message)`.
    fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let out = Command::new("curl")
            .args(["-s", "-m", "10", "-G", "--data-urlencode"])
            .arg(format!("query={expr}"))
            .arg(format!("http://127.0.0.1:{}/api/v1/query", self.port))
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("not JSON ({e}): {}", said(&out)))?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }
}

/// Every (dashboard file, panel title, expression) of config/grafana/dashboards, with Grafana's
/// `$__rate_interval` as Prometheus sees it at a 1 s scrape interval.
fn dashboard_exprs() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for path in files("config/grafana/dashboards", "json") {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let d: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut panels: Vec<&Value> = d["panels"].as_array().unwrap().iter().collect();
        while let Some(p) = panels.pop() {
            if let Some(inner) = p["panels"].as_array() {
                panels.extend(inner);
            }
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap_or_else(|| {
                    panic!("{file}: panel {} has a target without expr", p["title"])
                });
                assert!(
                    !expr.replace("$__rate_interval", "").contains('$'),
                    "{file}: {expr} uses a variable the test cannot substitute"
                );
                out.push((
                    file.clone(),
                    p["title"].as_str().unwrap_or_default().to_string(),
                    expr.replace("$__rate_interval", "1m"),
                ));
            }
        }
    }
    out
}

#[test]
fn every_dashboard_and_rule_expression_runs_on_a_live_butler() {
    let Some(bin) = tool("prometheus", "prometheus") else {
        return;
    };
    let panels = dashboard_exprs();
    for title in KEY_PANELS {
        assert!(
            panels.iter().any(|(_, t, _)| t == title),
            "no dashboard has a panel titled {title:?}"
        );
    }
    let Some(dn) = Devnet::start() else { return };

    // Real sponsored UserOperations through alto, so spend, runway and the indexed ops have values.
    let sb = Sandbox::new();
    let signer = dn.key_file("pm-signer.key", dn.get("PM_SIGNER_KEY"));
    let probe = sb.write(
        "probe.toml",
        &format!(
            "[chain]\nrpc_url = \"{}\"\n\n[probe]\nfactory = \"{}\"\nbundler = \"{}\"\nentrypoint = \"{}\"\n\
paymaster = \"{}\"\npaymaster_signer_key_file = \"{}\"\n",
            dn.rpc(),
            dn.get("SIMPLE_ACCOUNT_FACTORY"),
            dn.bundler(),
            dn.get("ENTRYPOINT_V07"),
            dn.get("VERIFYING_PAYMASTER"),
            signer.display()
        ),
    );
    let out = sb
        .butler()
        .args([
            "--config",
            probe.to_str().unwrap(),
            "probe",
            "userop",
            "--count",
            "3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "probe userop: {}", said(&out));

    let exporter = Serve::start(&devnet_config(&dn, ""));
    let watcher = ApiServer::start(
        &format!(
            "[chain]\nrpc_url = \"{}\"\nchain_id = 31337\n\n[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\n\
[[watcher.sources]]\nname = \"ep07\"\npreset = \"entrypoint\"\naddress = \"{}\"\nstart_block = 0\n",
            dn.rpc(),
            dn.get("ENTRYPOINT_V07")
        ),
        &[],
    );
    let bundler = dn
        .bundler()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let prom = Prometheus::start(
        &bin,
        &exporter.addr,
        &format!("127.0.0.1:{}", watcher.port),
        bundler,
    );

    // Every rule loaded and evaluated without error.
    let rule_count: usize = files("config/prometheus/alerts", "yml")
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .matches("- alert: ")
                .count()
        })
        .sum();
    let deadline = Instant::now() + Duration::from_secs(60);
    let rules: Vec<(String, String)> = loop {
        let got = prom.api("rules").unwrap_or_default();
        let rules: Vec<&Value> = got["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        let bad: Vec<String> = rules
            .iter()
            .filter(|r| r["health"] != "ok")
            .map(|r| format!("{} {} {}", r["name"], r["health"], r["lastError"]))
            .collect();
        if rules.len() == rule_count && bad.is_empty() {
            break rules
                .iter()
                .map(|r| {
                    (
                        r["name"].as_str().unwrap().to_string(),
                        r["query"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "{} of {rule_count} rules loaded, unhealthy: {bad:?}\n{}",
            rules.len(),
            prom.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // Wait for data: every target scraped twice at least (rates need two samples), the key panels filled.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut empty_keys: Vec<String>;
    loop {
        empty_keys = panels
            .iter()
            .filter(|(_, t, _)| KEY_PANELS.contains(&t.as_str()))
            .filter(|(_, _, e)| !matches!(prom.query(e), Ok(r) if !r.is_empty()))
            .map(|(f, t, e)| format!("{f}: {t}: {e}"))
            .collect();
        let scraped = prom
            .query("min(count_over_time(up[1m])) >= 3")
            .is_ok_and(|r| !r.is_empty());
        if empty_keys.is_empty() && scraped {
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let targets = prom.api("targets").unwrap_or_default();
    let health: BTreeMap<String, String> = targets["data"]["activeTargets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["labels"]["job"].as_str().unwrap_or_default().to_string(),
                format!("{} {}", t["health"], t["lastError"]),
            )
        })
        .collect();
    let mut errors = Vec::new();
    for (file, title, expr) in &panels {
        if let Err(e) = prom.query(expr) {
            errors.push(format!("{file}: {title}: {expr}: {e}"));
        }
    }
    for (name, expr) in &rules {
        if let Err(e) = prom.query(expr) {
            errors.push(format!("rule {name}: {expr}: {e}"));
        }
    }
    assert!(errors.is_empty(), "expressions that fail: {errors:#?}");
    assert!(
        empty_keys.is_empty(),
        "key panels without data after 90 s: {empty_keys:#?}\ntargets: {health:#?}\nwatcher log:\n{}",
        watcher.log()
    );

    for (job, h) in &health {
        assert!(h.starts_with("\"up\""), "target {job}: {h}");
    }
    // The data is the devnet's: the watcher indexed the operations sent, the exporter follows the head.
    let value = |expr: &str| -> f64 {
        let r = prom.query(expr).unwrap();
        r[0]["value"][1].as_str().unwrap().parse().unwrap()
    };
    let indexed = value(r#"sum(butler_indexer_events_total{event="UserOperationEvent"})"#);
    assert!(
        indexed >= 3.0,
        "the watcher indexed {indexed} UserOperationEvents, 3 were sent"
    );
    let head = value("max(butler_chain_head_block)");
    let chain = crate::exporter::quantity(&dn.rpc_call("eth_blockNumber", serde_json::json!([])));
    assert!(
        head > 0.0 && head <= chain as f64,
        "head block {head}, chain at {chain}"
    );
    let firing: Vec<String> = prom
        .query("ALERTS{alertstate=\"firing\"}")
        .unwrap()
        .iter()
        .map(|a| {
            a["metric"]["alertname"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    eprintln!(
        "{} dashboard and {} rule expressions ran; firing on the devnet: {firing:?}",
        panels.len(),
        rules.len()
    );
}
