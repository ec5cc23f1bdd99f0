//! Helpers for the watcher's PostgreSQL tests: the test server (`BUTLER_TEST_POSTGRES_URL`, set by
//! scripts/with-postgres.sh and scripts/test.sh), a fresh database per test, the store's rows as the NDJSON
//! records' JSON (for the same comparisons), and a private cluster a test may stop and start.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{free_port, missing_part};

/// The test server's URL, or `None` (after a loud skip; a failure in CI) when there is none.
pub fn pg_server() -> Option<String> {
    match std::env::var("BUTLER_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            missing_part("PostgreSQL (BUTLER_TEST_POSTGRES_URL; run scripts/with-postgres.sh)");
            None
        }
    }
}

/// PostgreSQL's binaries (the newest installed version).
pub fn pg_bin(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.pop()
        .map(|d| d.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs SQL with psql and returns its unaligned output lines.
pub fn psql(url: &str, sql: &str) -> Vec<String> {
    let out = Command::new(pg_bin("psql"))
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A new, empty database on the server; returns its URL.
pub fn fresh_database(server: &str) -> String {
    let name = format!("watcher_{}", rand::random::<u64>());
    psql(server, &format!("CREATE DATABASE {name}"));
    let base = server.rsplit_once('/').expect("a database in the URL").0;
    format!("{base}/{name}")
}

/// The `[watcher]` lines of a PostgreSQL store.
pub fn pg_store(db: &str) -> String {
    format!("store = \"postgres\"\ndatabase_url = \"{db}\"\n")
}

/// Every row of `chain_event` as the NDJSON store's record JSON, in canonical order.
pub fn pg_records(db: &str) -> Vec<Value> {
    psql(
        db,
        "SELECT json_build_object('chainId', chain_id, 'blockNumber', block_number, 'blockHash', block_hash, \
         'blockTimestamp', block_timestamp, 'txHash', tx_hash, 'txIndex', transaction_index, \
         'logIndex', log_index, 'address', address, 'source', source, 'event', event_type, 'args', payload) \
         FROM chain_event ORDER BY block_number, transaction_index, log_index",
    )
    .iter()
    .map(|l| serde_json::from_str(l).expect("row json"))
    .collect()
}

/// The checkpoint row's JSON (`Null` when there is none, or no table yet).
pub fn pg_checkpoint(db: &str) -> Value {
    let exists = psql(db, "SELECT to_regclass('watcher_checkpoint') IS NOT NULL");
    if exists.first().map(String::as_str) != Some("t") {
        return Value::Null;
    }
    psql(db, "SELECT checkpoint FROM watcher_checkpoint WHERE id = 1")
        .first()
        .map(|l| serde_json::from_str(l).expect("checkpoint json"))
        .unwrap_or(Value::Null)
}

/// The last committed block of a PostgreSQL store (0 before the first commit or the tables).
pub fn pg_last_block(db: &str) -> u64 {
    pg_checkpoint(db)["lastBlock"].as_u64().unwrap_or(0)
}

/// A private PostgreSQL cluster on a free port, which a test may stop and start again (same port and
/// data). Stopped and removed on drop. As root the server runs as the `postgres` user (initdb refuses root).
pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("butler-pg-test.")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let c = Cluster {
            dir,
            port: free_port(),
        };
        if is_root() {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(c.dir.path()));
        }
        run(c.as_server(pg_bin("initdb")).arg("-D").arg(c.data()).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]));
        c.up();
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_server(&self, bin: PathBuf) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        }
    }

    /// The server's URL (database `postgres`).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (waits until it accepts connections).
    pub fn up(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        run(self
            .as_server(pg_bin("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"]));
    }

    /// Stops the server at once (`-m immediate`: clients see the connection drop, as in a crash).
    pub fn down(&self) {
        run(self
            .as_server(pg_bin("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_server(pg_bin("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a PostgreSQL command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `f` until it returns `Some` (or fails after `secs`).
pub fn wait_until<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GET a JSON answer with the admin token (`None` while it does not answer 200).
pub fn get_json(url: &str, token: &str) -> Option<Value> {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-m",
            "3",
            "-H",
            &format!("authorization: Bearer {token}"),
            url,
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Writes a butler config named `name` (so one sandbox can hold several) with a data dir and the given
/// `[watcher]` body.
pub fn named_config(
    sb: &crate::support::Sandbox,
    name: &str,
    rpc: &str,
    data_dir: &std::path::Path,
    watcher: &str,
) -> PathBuf {
    sb.write(
        &format!("{name}.toml"),
        &format!(
            "data_dir = \"{}\"\n[chain]\nrpc_url = \"{rpc}\"\ntimeout_secs = 5\nmax_retries = 1\n[watcher]\n{watcher}\n",
            data_dir.display()
        ),
    )
}
