//! `butler fees check` (and the same findings logged by `serve --fee-manager` at start) on a clean store and
//! on one with problems written behind butler's back, and migration 0003 (keys in one spelling), which
//! refuses a store holding a key in two spellings until one is removed, on SQLite and PostgreSQL.

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

use crate::on_backends;
use crate::support::fees::{Backend, bls_key, butler_std};
use crate::support::{Sandbox, free_port};

const FEE: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const T: &str = "'2026-01-01T00:00:00Z'";

/// Runs SQL statements directly on the sandbox's fee database (behind butler's back).
async fn raw_sql(b: &Backend, sb: &Sandbox, statements: &[String]) -> Result<(), sqlx::Error> {
    match b {
        Backend::Sqlite => {
            let path = sb.path().join("data/fees.db");
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
                    .await?;
            for s in statements {
                sqlx::query(s).execute(&mut c).await?;
            }
            c.close().await
        }
        Backend::Postgres(_) => {
            let config = std::fs::read_to_string(sb.path().join("cwd/butler.toml")).unwrap();
            let url = config
                .lines()
                .find_map(|l| l.strip_prefix("database_url = \""))
                .and_then(|l| l.strip_suffix('"'))
                .unwrap()
                .to_string();
            let mut c = sqlx::PgConnection::connect(&url).await?;
            for s in statements {
                sqlx::query(s).execute(&mut c).await?;
            }
            c.close().await
        }
    }
}

fn run(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    sb.butler().args(args).output().unwrap()
}

fn ok(sb: &Sandbox, args: &[&str]) -> Vec<u8> {
    let out = run(sb, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

async fn check_finds_seeded_problems(b: Backend) {
    let sb = Sandbox::new();
    sb.write("cwd/butler.toml", &b.config(&sb).await);
    ok(
        &sb,
        &["fees", "configs", "create", "main", "--fee-recipient", FEE],
    );
    ok(
        &sb,
        &[
            "fees",
            "patterns",
            "create",
            "pool1",
            "--pattern",
            "Pool1/.*",
            "--tag",
            "t",
            "--min-value",
            "1",
        ],
    );
    ok(&sb, &["fees", "mux", "create", "m", "--key", &bls_key(601)]);
    let clean: Value =
        serde_json::from_slice(&ok(&sb, &["--output", "json", "fees", "check"])).unwrap();
    assert_eq!(clean["ok"], Value::Bool(true), "{clean}");
    assert!(String::from_utf8_lossy(&ok(&sb, &["fees", "check"])).contains("no problems found"));

    // Written behind butler's back: a pattern Go refuses and a mux without keys.
    raw_sql(
        &b,
        &sb,
        &[
            format!(
                "INSERT INTO proposer_patterns (name, pattern, reset_relays, created_at, updated_at) \
                 VALUES ('bad', '(?x)Pool2/.*', false, {T}, {T})"
            ),
            format!("INSERT INTO mux_configs (name, created_at, updated_at) VALUES ('empty', {T}, {T})"),
        ],
    )
    .await
    .unwrap();
    let out = run(&sb, &["--output", "json", "fees", "check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "error")
        .map(|f| (f["client"].as_str().unwrap(), f["place"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            ("commit-boost", "mux_configs[empty]"),
            ("vouch", "proposer_patterns[bad]")
        ],
        "{v:#}"
    );
    let table = run(&sb, &["fees", "check"]);
    assert_eq!(table.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&table.stdout).contains("invalid or unsupported Perl syntax"));

    // `serve --fee-manager` logs the same findings at start.
    let mut child = butler_std(&sb)
        .args([
            "serve",
            "--fee-manager",
            "--fees-listen",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = (false, false);
    while !(seen.0 && seen.1) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("the start-up findings are logged");
        seen.0 |= line.contains("proposer_patterns[bad]");
        seen.1 |= line.contains("mux_configs[empty]");
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert!(child.wait().unwrap().success());
}
on_backends!(check_finds_seeded_problems);

/// The store as an older butler left it: only migrations 0001 and 0002 applied.
async fn old_store(b: &Backend, sb: &Sandbox) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(match b {
        Backend::Sqlite => "migrations/fees/sqlite",
        Backend::Postgres(_) => "migrations/fees/postgres",
    });
    let mut m = sqlx::migrate::Migrator::new(dir).await.unwrap();
    m.migrations = Cow::Owned(
        m.migrations
            .iter()
            .filter(|x| x.version < 3)
            .cloned()
            .collect(),
    );
    match b {
        Backend::Sqlite => {
            std::fs::create_dir_all(sb.path().join("data")).unwrap();
            let path = sb.path().join("data/fees.db");
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
                    .await
                    .unwrap();
            m.run_direct(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
        Backend::Postgres(_) => {
            let config = std::fs::read_to_string(sb.path().join("cwd/butler.toml")).unwrap();
            let url = config
                .lines()
                .find_map(|l| l.strip_prefix("database_url = \""))
                .and_then(|l| l.strip_suffix('"'))
                .unwrap()
                .to_string();
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            m.run_direct(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
    }
}

async fn duplicate_keys_refused_by_migration(b: Backend) {
    let sb = Sandbox::new();
    sb.write("cwd/butler.toml", &b.config(&sb).await);
    old_store(&b, &sb).await;
    let key = bls_key(611);
    let upper = format!("0x{}", key[2..].to_uppercase());
    let insert = |k: &str| {
        format!(
            "INSERT INTO proposers (public_key, min_value, reset_relays, created_at, updated_at) \
             VALUES ('{k}', '0.1', false, {T}, {T})"
        )
    };
    raw_sql(&b, &sb, &[insert(&key), insert(&upper)])
        .await
        .unwrap();
    let out = run(&sb, &["fees", "proposers", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("more than one spelling") && err.contains(&key) && err.contains(&upper),
        "{err}"
    );
    raw_sql(
        &b,
        &sb,
        &[format!("DELETE FROM proposers WHERE public_key = '{key}'")],
    )
    .await
    .unwrap();
    let v: Value =
        serde_json::from_slice(&ok(&sb, &["--output", "json", "fees", "proposers", "list"]))
            .unwrap();
    assert_eq!(v["total"], Value::from(1));
    assert_eq!(
        v["proposers"][0]["public_key"],
        Value::from(key.clone()),
        "stored in lowercase"
    );
    let again = raw_sql(&b, &sb, &[insert(&upper)]).await;
    assert!(again.is_err(), "the store keeps one spelling of a key");
}
on_backends!(duplicate_keys_refused_by_migration);
