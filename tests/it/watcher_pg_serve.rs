//! `butler serve --watcher` on PostgreSQL: one indexer and two `--read-only` API processes answer the same
//! user operations after new ones land; the database stopped and started again under a running watcher is
//! reported on `/health/db`, then the watcher resumes with nothing lost.

use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::api::ADMIN;
use crate::support::{Sandbox, free_port};
use crate::watcher_pg_support::*;
use crate::watcher_support::*;

fn ops_source(emitter: &str) -> String {
    format!(
        "poll_interval_secs = 1\n[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n"
    )
}

/// `butler serve --watcher` (plus `extra` flags) with the admin token; returns the process and its base URL.
fn serve(sb: &Sandbox, config: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["serve", "--watcher", "--api-listen", &listen];
    args.extend_from_slice(extra);
    let child = butler_process(sb, config, &args)
        .env("BUTLER_API__ADMIN_TOKEN", ADMIN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

fn stop(mut child: Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
}

fn userops(base: &str) -> Option<Vec<Value>> {
    get_json(&format!("{base}/api/admin/userops?limit=1000"), ADMIN)
        .and_then(|v| v["userops"].as_array().cloned())
}

#[test]
fn two_read_only_api_processes_answer_what_the_indexer_indexed() {
    let Some(server) = pg_server() else { return };
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["4"]));
    let db = fresh_database(&server);
    let sb = Sandbox::new();
    let watcher = format!("{}{}", pg_store(&db), ops_source(&emitter));
    let config = named_config(
        &sb,
        "indexer",
        &anvil.rpc,
        &sb.path().join("indexer"),
        &watcher,
    );
    let (indexer, writer_url) = serve(&sb, &config, &[]);
    wait_until(60, "the indexer's first commit", || {
        (pg_checkpoint(&db)["events"] == 4).then_some(())
    });
    // readers: their own data dirs (logs, telemetry), the same database; one by flag, one by config
    let reader_a = named_config(
        &sb,
        "reader-a",
        &anvil.rpc,
        &sb.path().join("reader-a"),
        &watcher,
    );
    let reader_b = named_config(
        &sb,
        "reader-b",
        &anvil.rpc,
        &sb.path().join("reader-b"),
        &format!("read_only = true\n{watcher}"),
    );
    let (a, a_url) = serve(&sb, &reader_a, &["--read-only"]);
    let (b, b_url) = serve(&sb, &reader_b, &[]);
    let all = [&writer_url, &a_url, &b_url];
    let same = |n: usize| {
        wait_until(
            60,
            &format!("{n} user operations on every API process"),
            || {
                let lists: Vec<Vec<Value>> = all.iter().filter_map(|u| userops(u)).collect();
                (lists.len() == 3
                    && lists.iter().all(|l| l.len() == n)
                    && lists.windows(2).all(|w| w[0] == w[1]))
                .then(|| lists[0].clone())
            },
        )
    };
    same(4);
    let db_health = get_json(&format!("{a_url}/health/db"), ADMIN).unwrap();
    assert_eq!(db_health["db"], "connected", "{db_health}");
    assert_eq!(db_health["store"], "postgres", "{db_health}");
    assert_eq!(db_health["schemaVersion"], 1000, "{db_health}");
    assert_eq!(db_health["lastCheckpoint"]["events"], 4, "{db_health}");
    let metrics = std::process::Command::new("curl")
        .args(["-sf", "-m", "10", &format!("{a_url}/metrics")])
        .output()
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        metrics.lines().any(|l| l == "butler_store_db_up 1"),
        "the reader's /metrics: {metrics}"
    );
    assert!(
        metrics.contains("butler_store_db_latency_seconds "),
        "{metrics}"
    );
    // the indexer's checkpoint age counts from its last commit; the NDJSON file gauges stay out
    let indexer_metrics = std::process::Command::new("curl")
        .args(["-sf", "-m", "10", &format!("{writer_url}/metrics")])
        .output()
        .unwrap();
    let indexer_metrics = String::from_utf8_lossy(&indexer_metrics.stdout);
    assert!(
        indexer_metrics.contains("\nbutler_indexer_checkpoint_age_seconds "),
        "{indexer_metrics}"
    );
    assert!(
        !indexer_metrics.contains("\nbutler_store_files "),
        "{indexer_metrics}"
    );

    // new user operations reach both readers through the database
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["3"]));
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["2"]));
    let ops = same(9);
    let chain: Vec<String> = chain_logs(&anvil.rpc, &emitter)
        .iter()
        .rev()
        .map(|l| l["topics"][1].as_str().unwrap().to_lowercase())
        .collect();
    let answered: Vec<String> = ops
        .iter()
        .map(|o| o["userOpHash"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(answered, chain, "the chain's user operations, newest first");
    let stats: Vec<Value> = all
        .iter()
        .map(|u| get_json(&format!("{u}/stats"), ADMIN).unwrap())
        .collect();
    assert!(stats.windows(2).all(|w| w[0] == w[1]), "{stats:?}");
    // a reader never writes: it holds no lock, so a second indexer is still refused by the first
    let out = sb
        .butler()
        .arg("--config")
        .arg(&reader_a)
        .arg("index")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("pid {}", indexer.id())));
    stop(a);
    stop(b);
    stop(indexer);
}

#[test]
fn the_database_stopped_under_a_running_watcher_is_reported_then_resumed_with_nothing_lost() {
    if pg_server().is_none() {
        return;
    }
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["5"]));
    let cluster = Cluster::start();
    let db = fresh_database(&cluster.url());
    let sb = Sandbox::new();
    let config = write_config(
        &sb,
        &anvil.rpc,
        &sb.path().join("data"),
        &format!("{}{}", pg_store(&db), ops_source(&emitter)),
    );
    let (mut watcher, url) = serve(&sb, &config, &[]);
    let health = format!("{url}/health/db");
    wait_until(60, "the first commit on /health/db", || {
        get_json(&health, ADMIN).filter(|h| h["lastCheckpoint"]["events"] == 5)
    });

    cluster.down();
    let down = wait_until(30, "the outage on /health/db", || {
        get_json(&health, ADMIN).filter(|h| h["db"] == "disconnected")
    });
    assert_eq!(down["status"], "down", "{down}");
    assert!(
        down["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{down}"
    );
    // events land on the chain while the database is away
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["4"]));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        watcher.try_wait().unwrap().is_none(),
        "the watcher keeps running during the outage"
    );

    cluster.up();
    let back = wait_until(120, "the watcher to resume after the outage", || {
        get_json(&health, ADMIN)
            .filter(|h| h["db"] == "connected" && h["lastCheckpoint"]["events"] == 9)
    });
    assert_eq!(back["status"], "ok", "{back}");
    let rows = pg_records(&db);
    assert_eq!(
        keys_of_records(&rows),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter)),
        "nothing lost, nothing twice"
    );
    assert!(watcher.try_wait().unwrap().is_none());
    stop(watcher);
    let v = butler_json(&sb, &config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");
}
