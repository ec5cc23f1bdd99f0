//! The monitoring kit's files against the real tools: `promtool check config` and `check rules`, the
//! `promtool test rules` unit tests (and that they cover every rule firing and quiet), every rule's
//! severity, annotations and runbook anchor, `amtool check-config` and its routes, inhibition in a real
//! Alertmanager, and `systemd-analyze verify` of the units with the sandbox and secret settings they must have.
//! Also the helpers the other `monkit_*` modules share: tools on PATH, the shipped files, the units.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, missing_part, repo_root};

/// A binary on PATH, or `None` (reported as a missing part: fails in CI).
pub fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        missing_part(&format!("{name} (Debian package {package})"));
    }
    found
}

/// stdout and stderr of a finished command, for messages.
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a command and asserts it succeeded; returns what it printed.
fn must_run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = said(&out);
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Files of `dir` (relative to the repository) ending in `ext`, sorted.
pub fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// One alerting rule as written in a rule file: its name and its lines.
#[derive(Debug)]
struct Rule {
    name: String,
    text: String,
}

/// The alerting rules of a rule file (split at `- alert:` lines; the files keep one rule per block).
fn rules(path: &Path) -> Vec<Rule> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: Vec<Rule> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.trim_start().strip_prefix("- alert: ") {
            out.push(Rule {
                name: name.trim().to_string(),
                text: String::new(),
            });
        } else if line.trim_start().starts_with("- record:") {
            panic!("{}: recording rules are not expected", path.display());
        }
        if let Some(r) = out.last_mut() {
            r.text.push_str(line);
            r.text.push('\n');
        }
    }
    out
}

/// For each alert name of a promtool test file: (has a case where it fires, has one where it is quiet).
fn cases(path: &Path) -> BTreeMap<String, (bool, bool)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("alertname: ") {
            current = Some(name.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("exp_alerts:") {
            let name = current
                .take()
                .unwrap_or_else(|| panic!("{}: exp_alerts without alertname", path.display()));
            let e = out.entry(name).or_default();
            if rest.trim() == "[]" {
                e.1 = true;
            } else {
                e.0 = true;
            }
        }
    }
    out
}

/// GitHub's anchors of the headings of a Markdown file.
pub fn anchors(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn promtool_checks_the_scrape_config_and_every_rule_file() {
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    let dir = repo_root().join("config/prometheus");
    // check config also reads the rule files it names and the file_sd target files.
    let text = must_run(
        Command::new(&promtool)
            .args(["check", "config"])
            .arg(dir.join("prometheus.yml")),
    );
    assert!(text.contains("SUCCESS"), "{text}");
    for file in [
        "erc4337",
        "blockchain",
        "infrastructure",
        "celestia",
        "aztec",
    ] {
        assert!(
            text.contains(&format!("alerts/{file}.yml")),
            "prometheus.yml does not load alerts/{file}.yml:\n{text}"
        );
    }
    let rule_files = files("config/prometheus/alerts", "yml");
    let text = must_run(
        Command::new(&promtool)
            .args(["check", "rules"])
            .args(&rule_files),
    );
    assert!(!text.contains("WARNING"), "{text}");
}

#[test]
fn every_rule_has_severity_annotations_a_runbook_and_promtool_tests_that_fire_and_stay_quiet() {
    let runbook_anchors = anchors(&repo_root().join("docs/runbooks.md"));
    let mut names = BTreeSet::new();
    for path in files("config/prometheus/alerts", "yml") {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let tests = repo_root().join("config/prometheus/tests").join(&file);
        assert!(
            tests.exists(),
            "{file} has no unit tests at {}",
            tests.display()
        );
        let cases = cases(&tests);
        let rules = rules(&path);
        assert!(!rules.is_empty(), "{file} has no alerting rules");
        for r in &rules {
            assert!(names.insert(r.name.clone()), "{} is defined twice", r.name);
            assert!(
                r.text.contains("severity: critical") || r.text.contains("severity: warning"),
                "{}: labels.severity must be critical or warning",
                r.name
            );
            for key in ["summary:", "description:", "runbook_url:"] {
                assert!(r.text.contains(key), "{}: no annotations.{key}", r.name);
            }
            let anchor = r.name.to_lowercase();
            assert!(
                r.text
                    .contains(&format!("runbook_url: \"docs/runbooks.md#{anchor}\"")),
                "{}: runbook_url must be docs/runbooks.md#{anchor}",
                r.name
            );
            assert!(
                runbook_anchors.contains(&anchor),
                "docs/runbooks.md has no section for {} (#{anchor})",
                r.name
            );
            let (fires, quiet) = cases.get(&r.name).copied().unwrap_or_default();
            assert!(fires, "tests/{file}: no case where {} fires", r.name);
            assert!(quiet, "tests/{file}: no case where {} stays quiet", r.name);
        }
        for name in cases.keys() {
            assert!(
                rules.iter().any(|r| &r.name == name),
                "tests/{file} tests {name}, which alerts/{file} does not define"
            );
        }
    }
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    let tests = files("config/prometheus/tests", "yml");
    let text = must_run(Command::new(&promtool).args(["test", "rules"]).args(&tests));
    assert_eq!(
        text.matches("SUCCESS").count(),
        tests.len(),
        "every test file passes:\n{text}"
    );
}

#[test]
fn amtool_accepts_the_alertmanager_config_and_routes_by_severity() {
    let Some(amtool) = tool("amtool", "prometheus-alertmanager") else {
        return;
    };
    let config = repo_root().join("config/alertmanager/alertmanager.yml");
    let text = must_run(Command::new(&amtool).arg("check-config").arg(&config));
    assert!(text.contains("SUCCESS"), "{text}");
    for (severity, receiver) in [("critical", "critical"), ("warning", "warning")] {
        let out = must_run(
            Command::new(&amtool)
                .args(["config", "routes", "test"])
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("severity={severity}")),
        );
        assert_eq!(
            out.lines().next().map(str::trim),
            Some(receiver),
            "severity={severity} routes to:\n{out}"
        );
    }
    let shipped = std::fs::read_to_string(&config).unwrap();
    for needle in [
        "slack_configs",
        "api_url_file:",
        "discord_configs",
        "telegram_configs",
        "REPLACE_ME",
        "webhook_url_file",
        "bot_token_file",
    ] {
        assert!(shipped.contains(needle), "alertmanager.yml lacks {needle}");
    }
}

/// A real Alertmanager with the shipped config on free ports, stopped by PID on drop.
struct Alertmanager {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(10));
    }
}

/// SIGTERM by PID, then SIGKILL after `grace`; returns how long the exit took, or `None` when killed.
pub fn stop(child: &mut Child, grace: Duration) -> Option<(Duration, std::process::ExitStatus)> {
    let started = Instant::now();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    while started.elapsed() < grace {
        if let Ok(Some(status)) = child.try_wait() {
            return Some((started.elapsed(), status));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// `curl` a URL with optional JSON body; the parsed JSON answer (panics when it is not JSON).
pub fn curl_json(url: &str, body: Option<&serde_json::Value>) -> Option<serde_json::Value> {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-m", "10"]);
    if let Some(b) = body {
        cmd.args(["-H", "content-type: application/json", "--data"])
            .arg(b.to_string());
    }
    let out = cmd.arg(url).output().expect("curl");
    serde_json::from_slice(&out.stdout).ok()
}

#[test]
fn a_real_alertmanager_inhibits_warnings_by_criticals_of_the_same_target() {
    let Some(bin) = tool("prometheus-alertmanager", "prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            repo_root()
                .join("config/alertmanager/alertmanager.yml")
                .display()
        ))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("alertmanager.log")).unwrap())
        .spawn()
        .unwrap();
    let am = Alertmanager { child, port, dir };
    let base = format!("http://127.0.0.1:{}/api/v2", am.port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while curl_json(&format!("{base}/status"), None).is_none() {
        assert!(
            Instant::now() < deadline,
            "Alertmanager did not answer within 30 s:\n{}",
            std::fs::read_to_string(am.dir.path().join("alertmanager.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pm = |alertname: &str, severity: &str, name: &str| {
        serde_json::json!({"labels": {"alertname": alertname, "severity": severity,
            "job": "butler-exporter", "instance": "e:9464", "name": name,
            "paymaster": format!("0x{name}"), "entrypoint": "0xE"},
            "annotations": {"summary": alertname}})
    };
    let alerts = serde_json::json!([
        pm("PaymasterRunwayCritical", "critical", "a"),
        pm("PaymasterRunwayLow", "warning", "a"),
        pm("PaymasterRunwayLow", "warning", "b"),
    ]);
    curl_json(&format!("{base}/alerts"), Some(&alerts));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = curl_json(&format!("{base}/alerts"), None).unwrap_or_default();
        let state = |alertname: &str, name: &str| -> Option<(String, usize)> {
            got.as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == alertname && a["labels"]["name"] == name)
                .map(|a| {
                    (
                        a["status"]["state"].as_str().unwrap_or("").to_string(),
                        a["status"]["inhibitedBy"].as_array().map_or(0, Vec::len),
                    )
                })
        };
        let (crit, low_a, low_b) = (
            state("PaymasterRunwayCritical", "a"),
            state("PaymasterRunwayLow", "a"),
            state("PaymasterRunwayLow", "b"),
        );
        if crit.as_ref().is_some_and(|s| s.0 == "active")
            && low_a
                .as_ref()
                .is_some_and(|s| s.0 == "suppressed" && s.1 == 1)
            && low_b.as_ref().is_some_and(|s| s.0 == "active")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "expected the critical active, the warning of the same paymaster inhibited and the other \
             warning active; got {crit:?} {low_a:?} {low_b:?}:\n{got}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A shipped systemd unit.
pub struct Unit {
    pub name: String,
    pub text: String,
}

impl Unit {
    fn read(p: &Path) -> Unit {
        Unit {
            name: p.file_name().unwrap().to_string_lossy().to_string(),
            text: std::fs::read_to_string(p).unwrap(),
        }
    }

    /// The long-running services in config/systemd (the `serve` modes): every `.service` without a `.timer`.
    pub fn all() -> Vec<Unit> {
        files("config/systemd", "service")
            .iter()
            .filter(|p| !p.with_extension("timer").exists())
            .map(|p| Unit::read(p))
            .collect()
    }

    /// The scheduled jobs in config/systemd: each `.timer` and the oneshot `.service` it starts.
    pub fn scheduled() -> Vec<Unit> {
        files("config/systemd", "timer")
            .iter()
            .flat_map(|t| [Unit::read(&t.with_extension("service")), Unit::read(t)])
            .collect()
    }

    /// The values of `key=` lines (comments excluded).
    pub fn values(&self, key: &str) -> Vec<&str> {
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .collect()
    }

    /// The single value of `key=`.
    pub fn value(&self, key: &str) -> &str {
        match self.values(key).as_slice() {
            [v] => v,
            other => panic!("{}: expected one {key}=, found {other:?}", self.name),
        }
    }

    /// ExecStart's arguments after the binary, which must be /usr/local/bin/butler.
    pub fn args(&self) -> Vec<&str> {
        let exec = self.value("ExecStart");
        let mut words = exec.split_whitespace();
        assert_eq!(words.next(), Some("/usr/local/bin/butler"), "{}", self.name);
        words.collect()
    }

    /// TimeoutStopSec= in seconds (`30`, `30s`, `1min`).
    pub fn timeout_stop(&self) -> Duration {
        let v = self.value("TimeoutStopSec");
        let secs = if let Some(m) = v.strip_suffix("min") {
            m.parse::<u64>().unwrap() * 60
        } else {
            v.trim_end_matches('s').parse::<u64>().unwrap()
        };
        Duration::from_secs(secs)
    }
}

#[test]
fn the_units_are_sandboxed_and_systemd_analyze_verifies_them() {
    let units = Unit::all();
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "butler-exporter.service",
            "butler-fee-manager.service",
            "butler-watcher.service"
        ]
    );
    for u in &units {
        assert!(
            u.values("DynamicUser") == ["yes"] || u.values("User") == ["butler"],
            "{}: DynamicUser=yes or User=butler",
            u.name
        );
        assert_eq!(u.value("StateDirectory"), "butler", "{}", u.name);
        assert_eq!(u.value("ProtectSystem"), "strict", "{}", u.name);
        assert_eq!(u.value("NoNewPrivileges"), "yes", "{}", u.name);
        assert_eq!(u.value("Restart"), "on-failure", "{}", u.name);
        assert!(u.timeout_stop() > Duration::ZERO, "{}", u.name);
        assert!(
            u.text.contains("LoadCredential=") && u.text.contains("_FILE=%d/"),
            "{}: secrets come through LoadCredential= and *_file keys",
            u.name
        );
        for (key, secret) in u.text.lines().filter_map(|l| l.split_once('=')) {
            assert!(
                !(key.starts_with("Environment") && secret.contains("TOKEN=")),
                "{}: no secret value in the unit: {key}={secret}",
                u.name
            );
        }
        assert_eq!(u.args()[..2], ["--config", "/etc/butler/butler.toml"]);
    }
    let Some(analyze) = tool("systemd-analyze", "systemd") else {
        return;
    };
    // The scheduled jobs (backup, top-up) are verified with them.
    let scheduled = Unit::scheduled();
    let names: Vec<&str> = scheduled.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "butler-backup.service",
            "butler-backup.timer",
            "butler-topup.service",
            "butler-topup.timer"
        ]
    );
    // verify needs ExecStart's binary to exist: the copies run the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("butler");
    let copies: Vec<PathBuf> = units
        .iter()
        .chain(&scheduled)
        .map(|u| {
            let p = dir.path().join(&u.name);
            std::fs::write(
                &p,
                u.text
                    .replace("/usr/local/bin/butler", &bin.display().to_string()),
            )
            .unwrap();
            p
        })
        .collect();
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .args(&copies)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}",
        said(&out)
    );
    // Unknown or misspelt directives are only warnings: none is allowed.
    assert!(
        said(&out).trim().is_empty(),
        "systemd-analyze verify warns:\n{}",
        said(&out)
    );
}

#[test]
fn grafana_dashboards_are_well_formed_and_provisioned() {
    let datasource = std::fs::read_to_string(
        repo_root().join("config/grafana/provisioning/datasources/butler.yml"),
    )
    .unwrap();
    assert!(
        datasource.contains("uid: butler-prometheus") && datasource.contains("type: prometheus")
    );
    let provider = std::fs::read_to_string(
        repo_root().join("config/grafana/provisioning/dashboards/butler.yml"),
    )
    .unwrap();
    assert!(
        provider.contains("type: file")
            && provider.contains("path: /var/lib/grafana/dashboards/butler")
    );
    let mut uids = BTreeSet::new();
    let dashboards = files("config/grafana/dashboards", "json");
    let names: Vec<String> = dashboards
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["chain", "erc4337", "overview", "watcher"]);
    for path in &dashboards {
        let file = path.display().to_string();
        let d: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_string()),
            "{file}: uid reused"
        );
        assert!(
            d["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("butler / ")),
            "{file}"
        );
        let var = &d["templating"]["list"][0];
        assert_eq!(
            (&var["name"], &var["type"]),
            (&"datasource".into(), &"datasource".into())
        );
        assert_eq!(var["current"]["value"], "butler-prometheus", "{file}");
        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().unwrap() {
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{file}: panel id reused"
            );
            for key in ["x", "y", "w", "h"] {
                assert!(
                    p["gridPos"][key].is_u64(),
                    "{file}: {} has no gridPos.{key}",
                    p["title"]
                );
            }
            if p["type"] == "row" {
                continue;
            }
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{file}: {}",
                p["title"]
            );
            assert!(
                p["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{file}: {}",
                p["title"]
            );
            let targets = p["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{file}: {} has no query", p["title"]);
            for t in targets {
                assert!(
                    t["expr"].as_str().is_some_and(|e| !e.is_empty()),
                    "{file}: {}",
                    p["title"]
                );
            }
        }
    }
}
