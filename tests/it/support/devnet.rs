//! The devnet harness: `scripts/devnet/up.sh` on free ports in a temp run dir, stopped by PID.
//!
//! [`shared`] gives the one devnet a test binary shares (its daemons exit with the test process through
//! up.sh's `WATCH_PID` watchdog). Tests that stop, reorg or otherwise disturb the chain start their own
//! with [`Devnet::start`], which is stopped on drop.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::{free_port, missing_part, repo_root};

/// A running devnet and the values from its `$RUN_DIR/env`.
pub struct Devnet {
    pub env: HashMap<String, String>,
    pub run_dir: tempfile::TempDir,
    pub anvil_port: u16,
    pub bundler_port: u16,
}

impl Devnet {
    /// Where install.sh puts the packages.
    pub fn home() -> PathBuf {
        std::env::var_os("BUTLER_DEVNET_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".devnet"))
    }

    /// Whether the devnet packages are installed; reports a missing install (fails in CI).
    pub fn available() -> bool {
        let ok = Self::home().join("node_modules/.bin/anvil").exists();
        if !ok {
            missing_part("the devnet (scripts/devnet/install.sh)");
        }
        ok
    }

    /// Starts a devnet of its own; `None` when the devnet is not installed (outside CI).
    pub fn start() -> Option<Devnet> {
        Self::start_with(&[])
    }

    /// Starts a devnet with extra environment for up.sh (e.g. `ANVIL_ARGS`).
    pub fn start_with(extra_env: &[(&str, &str)]) -> Option<Devnet> {
        if !Self::available() {
            return None;
        }
        let mut last_err = String::new();
        for _ in 0..3 {
            let run_dir = tempfile::tempdir().expect("run dir");
            let (anvil_port, bundler_port) = (free_port(), free_port());
            let out = Command::new("bash")
                .arg(repo_root().join("scripts/devnet/up.sh"))
                .env("ANVIL_PORT", anvil_port.to_string())
                .env("BUNDLER_PORT", bundler_port.to_string())
                .env("RUN_DIR", run_dir.path())
                .env("WATCH_PID", std::process::id().to_string())
                .env("LIFETIME", "1800")
                .envs(extra_env.iter().copied())
                .output()
                .expect("run up.sh");
            if out.status.success() {
                let text =
                    std::fs::read_to_string(run_dir.path().join("env")).expect("devnet env file");
                let env = text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                return Some(Devnet {
                    env,
                    run_dir,
                    anvil_port,
                    bundler_port,
                });
            }
            last_err = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!("devnet did not start after 3 tries:\n{last_err}");
    }

    /// A value from the env file (panics with the key name when absent).
    pub fn get(&self, key: &str) -> &str {
        self.env
            .get(key)
            .unwrap_or_else(|| panic!("devnet env has no {key}"))
    }

    pub fn rpc(&self) -> &str {
        self.get("ANVIL_RPC")
    }

    pub fn bundler(&self) -> &str {
        self.get("BUNDLER_RPC")
    }

    /// anvil/cast binaries from the devnet install.
    pub fn bin(name: &str) -> PathBuf {
        Self::home().join("node_modules/.bin").join(name)
    }

    /// Runs `cast` against this devnet's RPC and returns trimmed stdout (panics on failure).
    pub fn cast(&self, args: &[&str]) -> String {
        let out = Command::new(Self::bin("cast"))
            .args(args)
            .args(["--rpc-url", self.rpc()])
            .output()
            .expect("run cast");
        assert!(
            out.status.success(),
            "cast {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A JSON-RPC call to anvil.
    pub fn rpc_call(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        rpc_call(self.rpc(), method, params)
    }

    /// Writes a key to a file in the run dir (for `*_key_file` flags) and returns its path.
    pub fn key_file(&self, name: &str, key: &str) -> PathBuf {
        let p = self.run_dir.path().join(name);
        std::fs::write(&p, format!("{key}\n")).expect("key file");
        p
    }

    /// Stops anvil (the bundler keeps running), by PID.
    pub fn stop_anvil(&self) {
        kill_pidfile(&self.run_dir.path().join("anvil.pid"));
    }

    /// Stops alto, by PID.
    pub fn stop_bundler(&self) {
        kill_pidfile(&self.run_dir.path().join("alto.pid"));
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/devnet/down.sh"))
            .env("RUN_DIR", self.run_dir.path())
            .output();
    }
}

fn kill_pidfile(path: &std::path::Path) {
    let pid = std::fs::read_to_string(path)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok());
    if let Some(pid) = pid {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// A blocking JSON-RPC call (tests only).
pub fn rpc_call(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let out = Command::new("curl")
        .args([
            "-sf",
            "-m",
            "10",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data",
        ])
        .arg(body.to_string())
        .arg(url)
        .output()
        .expect("curl");
    assert!(out.status.success(), "{method} on {url} failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// The devnet this test binary shares; `None` when not installed (outside CI).
pub fn shared() -> Option<&'static Devnet> {
    static SHARED: OnceLock<Option<Devnet>> = OnceLock::new();
    SHARED.get_or_init(Devnet::start).as_ref()
}
