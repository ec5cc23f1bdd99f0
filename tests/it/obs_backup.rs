//! `butler backup` while `serve --watcher` indexes a stream of deposits and ingests a stream of log
//! events, then `butler restore`: the archive is 0600 with a manifest, `replay --verify` passes on the
//! restored store, a watcher resuming there reaches the live one's state hash at the same block, every log
//! event acknowledged before the backup is there, the fee database and the bundler and top-up files come
//! back; a non-empty target is refused.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::obs_metrics::watcher_config;
use crate::support::Sandbox;
use crate::support::api::{ApiServer, client};
use crate::support::devnet::Devnet;
use crate::support::fees::bls_key;

/// anvil's dev account 9, used by no other test, so its nonces are ours.
const DEPOSITOR_KEY: &str = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

fn butler_ok(sb: &Sandbox, config: &Path, args: &[&str]) -> Value {
    let out = sb
        .butler()
        .arg("--config")
        .arg(config)
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "butler {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn checkpoint(data: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data.join("chain/indexer_state.json")).unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_then_restore_resumes_with_the_same_state() {
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    let watcher = watcher_config(dn);
    let mut live = ApiServer::start(&watcher, &[]);
    let data = live.data_dir();
    std::fs::create_dir_all(data.join("bundlers/alto-1")).unwrap();
    std::fs::write(
        data.join("bundlers/registry.json"),
        json!({"version": 1, "instances": [{"id": "alto-1", "name": "alto", "status": "UP", "desired": "running"}]})
            .to_string(),
    )
    .unwrap();
    let key = data.join("bundlers/alto-1/executor.key");
    std::fs::write(&key, "0x01\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(data.join("topup")).unwrap();
    std::fs::write(
        data.join("topup/audit.ndjson"),
        "{\"paymaster\":\"verifying\",\"action\":\"sent\"}\n",
    )
    .unwrap();
    let sb = Sandbox::new();
    let fees_key = bls_key(7);
    butler_ok(
        &sb,
        &live.config,
        &["fees", "mux", "create", "pool-1", "--key", &fees_key],
    );

    // background load: deposits (Deposited events) and log ingest, until the backup is done
    let stop = Arc::new(AtomicBool::new(false));
    let deposits = {
        let stop = stop.clone();
        let (rpc, ep) = (dn.rpc().to_string(), dn.get("ENTRYPOINT_V07").to_string());
        std::thread::spawn(move || {
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                let out = std::process::Command::new(Devnet::bin("cast"))
                    .args(["send", "--rpc-url", &rpc, "--private-key", DEPOSITOR_KEY])
                    .args([
                        "--value",
                        "1000",
                        &ep,
                        "depositTo(address)",
                        "0x00000000000000000000000000000000000000aa",
                    ])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "deposit: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                sent += 1;
            }
            sent
        })
    };
    let url = live.url("/api/logs/ingest");
    let acked: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let ingest = {
        let (stop, acked) = (stop.clone(), acked.clone());
        tokio::spawn(async move {
            let c = client();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let batch: Vec<Value> = (0..10)
                    .map(|k| json!({"ts": 1_760_000_000 + i, "service": "load", "level": "info", "msg": format!("m{i}-{k}")}))
                    .collect();
                let res = c.post(&url).json(&batch).send().await.unwrap();
                assert_eq!(res.status(), 200);
                acked
                    .lock()
                    .unwrap()
                    .extend(batch.iter().map(|e| e["msg"].as_str().unwrap().to_string()));
                i += 1;
            }
        })
    };

    // let both streams run, then back up in the middle of them
    let deadline = Instant::now() + Duration::from_secs(60);
    while checkpoint(&data)["events"].as_u64().unwrap_or(0) < 3 || acked.lock().unwrap().len() < 50
    {
        assert!(
            Instant::now() < deadline,
            "no load reached the watcher:\n{}",
            live.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before_backup: Vec<String> = acked.lock().unwrap().clone();
    let archive = sb.path().join("backup.tar.gz");
    let made = butler_ok(
        &sb,
        &live.config,
        &["backup", "--out", archive.to_str().unwrap()],
    );
    stop.store(true, Ordering::Relaxed);
    let sent = deposits.join().unwrap();
    ingest.await.unwrap();
    assert!(sent > 0);
    assert_eq!(
        std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o600,
        "the archive holds keys"
    );
    assert!(
        made["fees"].as_str().unwrap().starts_with("sqlite"),
        "{made}"
    );
    let listing = std::process::Command::new("tar")
        .arg("tzf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for f in [
        "manifest.json",
        "chain/indexer_state.json",
        "fees.db",
        "bundlers/registry.json",
        "bundlers/alto-1/executor.key",
        "topup/audit.ndjson",
    ] {
        assert!(
            listing.lines().any(|l| l == f),
            "{f} not archived:\n{listing}"
        );
    }
    assert!(!listing.contains("writer.lock"), "lock files are left out");

    // restore
    let target = sb.path().join("restored");
    let restored = butler_ok(
        &sb,
        &live.config,
        &[
            "restore",
            archive.to_str().unwrap(),
            "--data-dir",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(restored["chain"], made["chain"], "{restored}");
    assert_eq!(
        std::fs::metadata(target.join("bundlers/alto-1/executor.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let refused = sb
        .butler()
        .args([
            "restore",
            archive.to_str().unwrap(),
            "--data-dir",
            target.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"));

    let restored_cfg = sb.write(
        "restored.toml",
        &format!("data_dir = \"{}\"\n{watcher}", target.display()),
    );
    let v = butler_ok(&sb, &restored_cfg, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");

    // every event acknowledged before the backup started is in the restored journal
    let out = sb.path().join("restored-logs.ndjson");
    butler_ok(
        &sb,
        &restored_cfg,
        &[
            "logs",
            "export",
            "--service",
            "load",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let exported: std::collections::HashSet<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["msg"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let missing: Vec<&String> = before_backup
        .iter()
        .filter(|m| !exported.contains(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events missing, e.g. {:?}",
        missing.len(),
        missing.first()
    );

    // the fee database is a working copy
    let live_fees = butler_ok(&sb, &live.config, &["fees", "mux", "list"]);
    assert_eq!(
        butler_ok(&sb, &restored_cfg, &["fees", "mux", "list"]),
        live_fees
    );

    // the restored watcher resumes and reaches the live one's state hash at the same block
    live.stop();
    let live_cfg = live.config.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        butler_ok(&sb, &restored_cfg, &["index"]);
        butler_ok(&sb, &live_cfg, &["index"]);
        let (a, b) = (checkpoint(&target), checkpoint(&data));
        if a["lastBlock"] == b["lastBlock"] {
            assert_eq!(a["stateHash"], b["stateHash"], "restored {a}\nlive {b}");
            assert_eq!(a["events"], b["events"]);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the two stores never met at one block"
        );
    }
}

#[test]
fn the_backup_schedules_run_daily_at_two() {
    let root = crate::support::repo_root();
    let cron = std::fs::read_to_string(root.join("config/cron/butler-backup")).unwrap();
    let entries: Vec<&str> = cron
        .lines()
        .filter(|l| !l.starts_with('#') && !l.contains('=') && !l.trim().is_empty())
        .collect();
    assert_eq!(entries.len(), 1, "{cron}");
    assert!(entries[0].starts_with("0 2 * * * "), "{}", entries[0]);
    assert!(entries[0].contains("butler backup"));
    let timer = std::fs::read_to_string(root.join("config/systemd/butler-backup.timer")).unwrap();
    assert!(timer.contains("OnCalendar=*-*-* 02:00:00"), "{timer}");
    let Some(analyze) = crate::exporter::which("systemd-analyze") else {
        return;
    };
    let out = std::process::Command::new(analyze)
        .arg("verify")
        .arg(root.join("config/systemd/butler-backup.service"))
        .arg(root.join("config/systemd/butler-backup.timer"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
