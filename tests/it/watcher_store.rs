//! Watcher store tests on a private anvil: torn writes, idempotence, the single-writer lock,
//! `serve --watcher`, and `replay --verify` catching a tampered log.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Sandbox, free_port};
use crate::watcher_support::*;

/// A deployed TestEmitter with `txs` × emitMany(`per_tx`) and a config watching it.
struct Fixture {
    sb: Sandbox,
    anvil: Anvil,
    emitter: String,
    config: std::path::PathBuf,
    data: std::path::PathBuf,
}

fn fixture(txs: usize, per_tx: usize) -> Option<Fixture> {
    let anvil = Anvil::start()?;
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    for _ in 0..txs {
        transact(
            &anvil.rpc,
            &emitter,
            &calldata("emitMany(uint256)", &[&per_tx.to_string()]),
        );
    }
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    let config = write_config(
        &sb,
        &anvil.rpc,
        &data,
        &format!(
            "[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n\
             [[watcher.sources]]\nname = \"flows\"\npreset = \"workflow\"\naddress = \"{emitter}\"\nstart_block = 0\n"
        ),
    );
    Some(Fixture {
        sb,
        anvil,
        emitter,
        config,
        data,
    })
}

#[test]
fn index_is_exact_idempotent_and_survives_a_torn_write() {
    let Some(f) = fixture(3, 20) else { return };
    let first = butler_json(&f.sb, &f.config, &["index"]);
    assert_eq!(first["written"], 60, "{first}");
    let logs = chain_logs(&f.anvil.rpc, &f.emitter);
    let stored = records(&f.data);
    assert_eq!(keys_of_records(&stored), keys_of_logs(&logs));
    assert!(
        stored.iter().all(|r| r["txFrom"] == DEV_ACCOUNT),
        "the tx sender is recorded"
    );

    // again: nothing new, nothing duplicated
    let second = butler_json(&f.sb, &f.config, &["index"]);
    assert_eq!(second["written"], 0, "{second}");
    assert_eq!(records(&f.data), stored);

    // a half-written line at the end of the newest file (a write interrupted by a crash)
    let dir = f.data.join("chain/ops");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let newest = files.last().unwrap().clone();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap();
    file.write_all(b"{\"chainId\":31337,\"blockNumber\":99,\"blockHa")
        .unwrap();
    drop(file);
    // readers skip it
    let ops = butler_json(&f.sb, &f.config, &["userops", "--limit", "1000"]);
    assert_eq!(ops["userops"].as_array().unwrap().len(), 60);
    // the writer drops it without losing a complete record, then continues
    transact(
        &f.anvil.rpc,
        &f.emitter,
        &calldata("emitMany(uint256)", &["5"]),
    );
    let third = butler_json(&f.sb, &f.config, &["index"]);
    assert_eq!(third["written"], 5, "{third}");
    let after = records(&f.data);
    assert_eq!(after.len(), 65);
    assert_eq!(&after[..60], &stored[..]);
    assert_eq!(
        keys_of_records(&after),
        keys_of_logs(&chain_logs(&f.anvil.rpc, &f.emitter))
    );
    let v = butler_json(&f.sb, &f.config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");
    assert_eq!(v["events"], 65);
}

#[test]
fn replay_verify_fails_on_a_tampered_log() {
    let Some(f) = fixture(1, 10) else { return };
    butler_json(&f.sb, &f.config, &["index"]);
    let dir = f.data.join("chain/ops");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[3]["args"]["actualGasUsed"] = Value::String("1".into());
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, body).unwrap();
    let out =
        f.sb.butler()
            .arg("--config")
            .arg(&f.config)
            .args(["replay", "--verify"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match"), "{err}");
}

#[test]
fn one_writer_per_data_dir_and_serve_answers_health() {
    let Some(f) = fixture(1, 5) else { return };
    let port = free_port();
    let mut serve = butler_process(
        &f.sb,
        &f.config,
        &[
            "serve",
            "--watcher",
            "--api-listen",
            &format!("127.0.0.1:{port}"),
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let health = format!("http://127.0.0.1:{port}/health");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut body = Value::Null;
    while Instant::now() < deadline {
        let out = std::process::Command::new("curl")
            .args(["-sf", "-m", "2", &health])
            .output()
            .unwrap();
        if out.status.success() {
            body = serde_json::from_slice(&out.stdout).unwrap();
            if body["caughtUp"] == true {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["events"], 5, "{body}");

    let out =
        f.sb.butler()
            .arg("--config")
            .arg(&f.config)
            .arg("index")
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pid {}", serve.id())), "{err}");
    assert!(err.contains("serve --watcher"), "{err}");

    // new events reach the running watcher
    transact(
        &f.anvil.rpc,
        &f.emitter,
        &calldata("emitMany(uint256)", &["3"]),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = std::process::Command::new("curl")
            .args(["-sf", "-m", "2", &health])
            .output()
            .unwrap();
        let body: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if body["events"] == 8 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not index new events: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = serve.wait().unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
    let v = butler_json(&f.sb, &f.config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true);
}
