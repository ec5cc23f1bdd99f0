//! Templates whose command exits at once (exit 0 and exit 1): restarted with a doubling backoff, then
//! STOPPED as a crash loop with the exit in the reason, while the watcher and a real alto instance beside
//! them carry on. Also: `strict_args` reach the command line, refused requests name their problem (port
//! range exhausted, key pool empty, unknown instance, a name taken by `[[bundlers]]`, registered instances
//! have no process; the admin list merges configured, spawned and registered), and a key
//! pool file readable by others stops the watcher with exit code 2.

use std::os::unix::fs::PermissionsExt as _;

use serde_json::{Value, json};

use crate::support::api::{ADMIN, ApiServer};
use crate::support::bundlers::{
    alto_template, get, instance, key_pool, port_range, post, spawn, supervisor_config,
    wait_instance, wait_up, watcher,
};
use crate::support::{Sandbox, devnet};

const QUICK_EXITS: &str = r#"
crash_loop_exits = 3
crash_loop_window_secs = 60

[[supervisor.templates]]
name = "exit0"
command = ["sh", "-c", "echo \"started with: $*\"; exit 0", "exit0"]
strict_args = ["--safe-mode", "true"]

[[supervisor.templates]]
name = "exit1"
command = ["sh", "-c", "echo boom >&2; exit 1"]
"#;

/// The supervisor's own log messages about `id`, with their times.
async fn notes(server: &ApiServer, id: &str) -> Vec<(f64, String)> {
    let logs = get(server, &format!("/api/logs?service={id}&limit=1000")).await;
    logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["meta"]["source"] == "supervisor")
        .map(|l| {
            (
                l["ts"].as_f64().unwrap(),
                l["msg"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_that_exit_at_once_back_off_then_stop_with_their_exit_while_others_run_on() {
    let Some(dn) = devnet::shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pool = key_pool(dn, dir.path(), 2);
    let extra = format!("{QUICK_EXITS}\n{}", alto_template(dn));
    let server = watcher(&supervisor_config(
        dn.rpc(),
        Some(&pool),
        port_range(20),
        &extra,
    ));
    let steady = spawn(&server, "alto", "steady", json!({})).await;
    let zero = spawn(&server, "exit0", "zero", json!({"strict": true})).await;
    let one = spawn(&server, "exit1", "one", json!({})).await;
    let steady_up = wait_up(&server, &steady).await;

    for (id, code, line) in [
        (&zero, 0, "started with: --safe-mode true"),
        (&one, 1, "boom"),
    ] {
        let v = wait_instance(&server, id, 30, "STOPPED by a crash loop", |v| {
            v["status"] == "STOPPED"
                && v["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("crash loop"))
        })
        .await;
        let reason = v["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("exit code {code}")) && reason.contains(line),
            "{v}"
        );
        assert_eq!(
            (&v["restarts"], &v["desired"]),
            (&json!(2), &json!("running")),
            "{v}"
        );
        assert_eq!(v["lastExit"]["code"], code);
        assert!(v["pid"].is_null());
        let notes = notes(&server, id).await;
        let starts: Vec<f64> = notes
            .iter()
            .filter(|(_, m)| m.starts_with("started"))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(starts.len(), 3, "{notes:?}");
        assert!(
            starts[1] - starts[0] >= 0.9 && starts[2] - starts[1] >= 1.9,
            "no doubling backoff: {notes:?}"
        );
        assert!(
            notes.iter().any(|(_, m)| m.contains("restarting in 1 s")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|(_, m)| m.contains("restarting in 2 s")),
            "{notes:?}"
        );
    }
    // strict_args reached the command line (the child printed its arguments)
    let logs = get(&server, &format!("/api/logs?service={zero}&limit=1000")).await;
    assert!(
        logs.to_string().contains("started with: --safe-mode true"),
        "{logs}"
    );

    // the watcher and the real instance beside them are unaffected
    let health = crate::support::api::client()
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let now = instance(&server, &steady).await;
    assert_eq!(
        (&now["status"], &now["restarts"], &now["pid"]),
        (&json!("UP"), &json!(0), &steady_up["pid"])
    );
}

#[tokio::test]
async fn refused_requests_name_their_problem() {
    let ports = port_range(2);
    let config = supervisor_config(
        "http://127.0.0.1:9",
        None,
        ports,
        r#"
[[supervisor.templates]]
name = "idle"
command = ["sleep", "300"]
ready_timeout_secs = 300

[[supervisor.templates]]
name = "keyed"
command = ["sleep", "300"]
[supervisor.templates.config]
utility-private-key = "{utility_key}"

[[bundlers]]
name = "elsewhere"
rpc_url = "http://127.0.0.1:9/"
"#,
    );
    let server = ApiServer::start(&config, &[]);
    let first = spawn(&server, "idle", "first", json!({})).await;
    let v = instance(&server, &first).await;
    assert_eq!(v["port"], ports.0, "{v}");
    for (path, body, status, needle) in [
        (
            "/api/admin/bundlers/spawn",
            json!({"base": "idle", "name": "second"}),
            409,
            "port range",
        ),
        (
            "/api/admin/bundlers/spawn",
            json!({"base": "keyed", "name": "k"}),
            409,
            "key pool is empty",
        ),
        (
            "/api/admin/bundlers/spawn",
            json!({"name": "k"}),
            422,
            "missing field `base`",
        ),
        (
            "/api/admin/bundlers/register",
            json!({"name": "r", "rpcUrl": "ftp://x"}),
            422,
            "http or https",
        ),
        (
            "/api/admin/bundlers/register",
            json!({"name": "r", "rpcUrl": "http://u:p@h/"}),
            422,
            "credentials",
        ),
        (
            "/api/admin/bundlers/nope_123456/stop",
            json!(null),
            404,
            "nope_123456",
        ),
        (
            "/api/admin/bundlers/register",
            json!({"name": "elsewhere", "rpcUrl": "http://x/"}),
            409,
            "configured in [[bundlers]]",
        ),
    ] {
        let (got, v) = post(&server, path, body.clone()).await;
        assert_eq!(got, status, "{path} {body}: {v}");
        assert!(
            v["error"].as_str().unwrap_or_default().contains(needle),
            "{path} {body}: {v}"
        );
    }
    let (status, reg) = post(
        &server,
        "/api/admin/bundlers/register",
        json!({"name": "partner", "rpcUrl": "http://127.0.0.1:9/rpc", "policy": {"strict": true, "minPriorityFeeGwei": 1.0}}),
    )
    .await;
    assert_eq!((status, &reg["spawned"]), (200, &json!(false)), "{reg}");
    let id = reg["id"].as_str().unwrap();
    assert!(id.starts_with("partner_"), "{id}");
    let (status, v) = post(
        &server,
        &format!("/api/admin/bundlers/{id}/stop"),
        json!(null),
    )
    .await;
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("registered"), "{v}");
    let listed: Value = get(&server, "/api/admin/bundlers").await;
    let kinds: Vec<&str> = listed["bundlers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["configured", "spawned", "registered"], "{listed}");
    let (status, _) = post(
        &server,
        &format!("/api/admin/bundlers/{id}/unregister"),
        json!(null),
    )
    .await;
    assert_eq!(status, 200);
    assert!(instance(&server, id).await.is_null());
    let unauth = crate::support::api::client()
        .post(server.url("/api/admin/bundlers/spawn"))
        .json(&json!({"base": "idle", "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauth.status(),
        401,
        "spawn without the admin token ({ADMIN})"
    );
}

#[test]
fn a_key_pool_readable_by_others_stops_the_watcher_with_exit_code_2() {
    let sb = Sandbox::new();
    let keys = sb.write(
        "keys",
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n",
    );
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o640)).unwrap();
    let config = sb.write(
        "butler.toml",
        &format!(
            "data_dir = {:?}\n{}",
            sb.path().join("data").display().to_string(),
            supervisor_config("http://127.0.0.1:9", Some(&keys), (3100, 3199), "")
        ),
    );
    let out = sb
        .butler()
        .args([
            "--config",
            config.to_str().unwrap(),
            "serve",
            "--watcher",
            "--api-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("readable by group or others") && err.contains(keys.to_str().unwrap()),
        "{err}"
    );
    assert!(!err.contains("59c6995e"), "the key was printed: {err}");
}
