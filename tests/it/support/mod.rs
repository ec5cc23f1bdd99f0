//! Test helpers: the `butler` command in an isolated environment, free ports, temp dirs and the devnet.

#![allow(dead_code)]

pub mod api;
pub mod aztec;
pub mod browser;
pub mod bundlers;
pub mod devnet;
pub mod fees;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// An isolated home for one test: its own cwd and XDG dirs, so no real user config is ever read.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("cwd")).expect("cwd");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file under the sandbox and returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
        p
    }

    /// `butler` with a clean environment: no BUTLER_* vars, XDG dirs inside the sandbox, cwd inside it.
    pub fn butler(&self) -> Command {
        let mut cmd = Command::cargo_bin("butler").expect("butler binary");
        for (k, _) in std::env::vars() {
            if k.starts_with("BUTLER_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.env("XDG_CONFIG_HOME", self.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.path().join("xdg-data"))
            .env("HOME", self.path())
            .current_dir(self.path().join("cwd"));
        cmd
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when running in CI, where a missing part is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Skips a test loudly, or fails it in CI, when an external part is missing.
pub fn missing_part(what: &str) {
    if in_ci() {
        panic!("{what} is not installed; CI must install it (scripts/test.sh)");
    }
    // straight to the stderr handle: libtest captures `eprintln!` and shows it only for failing tests
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPING: {what} is not installed (run scripts/test.sh to install it) ***\n"
    );
}
