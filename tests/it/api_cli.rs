//! `butler logs query` and `butler logs tail [-f]` against a running API, with the admin token from env.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::support::api::{ADMIN, ApiServer, client};

async fn ingest(server: &ApiServer, body: Value) {
    let res = client()
        .post(server.url("/api/logs/ingest"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn logs_query_and_tail_read_the_api() {
    let server = ApiServer::start("", &[]);
    ingest(&server, json!([
        {"ts": 1730000000, "service": "bundler1", "level": "info", "msg": "accepted", "requestId": "r1"},
        {"ts": 1730000001, "service": "bundler2", "level": "error", "msg": "reverted"},
    ]))
    .await;
    let url = server.base();
    let out = server
        .sandbox
        .butler()
        .env("BUTLER_API__ADMIN_TOKEN", ADMIN)
        .args([
            "logs",
            "query",
            "--api-url",
            &url,
            "--level",
            "error",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["logs"].as_array().unwrap().len(), 1);
    assert_eq!(v["logs"][0]["msg"], "reverted");

    server
        .sandbox
        .butler()
        .env("BUTLER_API__ADMIN_TOKEN", ADMIN)
        .args(["logs", "tail", "--api-url", &url, "--service", "bundler1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2024-10-27T03:33:20.000Z INFO  bundler1 accepted requestId=r1",
        ));

    server
        .sandbox
        .butler()
        .env("BUTLER_API__ADMIN_TOKEN", "wrong")
        .args(["logs", "tail", "--api-url", &url])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("401"))
        .stderr(predicate::str::contains("wrong token"));

    server
        .sandbox
        .butler()
        .args(["logs", "query", "--api-url", &url, "--level", "loud"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--level: unknown level `loud`"));

    // tail -f prints events stored after it started
    let mut cmd: Command = Command::new(assert_cmd::cargo::cargo_bin("butler"));
    cmd.env_remove("BUTLER_CONFIG")
        .env("BUTLER_API__ADMIN_TOKEN", ADMIN)
        .env("HOME", server.sandbox.path())
        .env("XDG_CONFIG_HOME", server.sandbox.path().join("xdg-config"))
        .current_dir(server.sandbox.path().join("cwd"))
        .args([
            "logs",
            "tail",
            "-f",
            "-n",
            "0",
            "--api-url",
            &url,
            "--output",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut got = None;
    for _ in 0..50 {
        ingest(
            &server,
            json!({"ts": 1, "service": "live", "level": "warn", "msg": "followed"}),
        )
        .await;
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            got = Some(line);
            break;
        }
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = child.wait().unwrap();
    let line = got.expect("tail -f printed nothing");
    let e: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(e["msg"], "followed");
    assert!(
        status.success(),
        "tail -f did not stop cleanly on SIGTERM: {status}"
    );
}
