//! One real alto instance through its lifecycle, driven by the CLI and the API: a SIGKILL of its process
//! is followed by a counted, logged restart; stop leaves it STOPPED with its process group gone and its
//! ports free; start brings it back; unregister frees its keys and ports for the next spawn.

use serde_json::{Value, json};

use crate::support::bundlers::{
    alive, alto_template, cli, get, group_alive, instance, key_pool, port_free, port_range, post,
    registry, spawn, supervisor_config, wait_instance, wait_up, watcher,
};
use crate::support::devnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_restarts_and_stop_start_unregister_free_its_ports_and_keys() {
    let Some(dn) = devnet::shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pool = key_pool(dn, dir.path(), 2);
    let config = supervisor_config(dn.rpc(), Some(&pool), port_range(20), &alto_template(dn));
    let server = watcher(&config);

    let (ok, out) = cli(
        &server,
        &[
            "spawn", "--base", "alto", "--name", "one", "--output", "json",
        ],
    );
    assert!(ok, "{out}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let id = answer["id"].as_str().unwrap().to_string();
    assert!(
        id.starts_with("alto_") && id.len() == "alto_".len() + 6,
        "{id}"
    );
    let first = wait_up(&server, &id).await;
    let pid1 = first["pid"].as_u64().unwrap();
    let keys_of = |v: &Value| (v["executorAddresses"].clone(), v["utilityAddress"].clone());

    // SIGKILL of the bundler's process: restarted, UP again, the restart counted, logged and listed
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid1 as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let again = wait_instance(&server, &id, 60, "UP after a restart", |v| {
        v["status"] == "UP" && v["restarts"] == 1 && v["pid"].as_u64() != Some(pid1)
    })
    .await;
    assert_eq!(again["lastExit"]["signal"], "SIGKILL", "{again}");
    assert_eq!(again["lastExit"]["requested"], false, "{again}");
    let logs = get(&server, &format!("/api/logs?service={id}&limit=1000")).await;
    assert!(
        logs["logs"].as_array().unwrap().iter().any(|l| {
            l["meta"]["source"] == "supervisor" && l["msg"].as_str().unwrap().contains("SIGKILL")
        }),
        "the exit is not logged: {logs}"
    );
    let (ok, table) = cli(&server, &["list"]);
    assert!(
        ok && table.contains(&id) && table.contains("SIGKILL"),
        "{table}"
    );
    let (ok, json_list) = cli(&server, &["list", "--output", "json"]);
    assert!(ok, "{json_list}");
    let listed: Value = serde_json::from_str(&json_list).unwrap();
    let entry = listed["bundlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id.as_str())
        .unwrap();
    assert_eq!(entry["restarts"], 1, "{entry}");
    let (ok, lines) = cli(&server, &["logs", &id, "-n", "200"]);
    assert!(
        ok && lines.contains(&id) && lines.contains("restarting"),
        "{lines}"
    );

    // stop: STOPPED, process group gone, both ports free
    let pid2 = again["pid"].as_u64().unwrap();
    let (ok, out) = cli(&server, &["stop", &id, "--output", "json"]);
    assert!(ok, "{out}");
    let stopped: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&stopped["status"], &stopped["desired"]),
        (&json!("STOPPED"), &json!("stopped")),
        "{stopped}"
    );
    assert!(stopped["pid"].is_null());
    assert!(
        !alive(pid2) && !group_alive(pid2),
        "process group {pid2} still runs"
    );
    for port in [&again["port"], &again["internalPort"]] {
        assert!(
            port_free(port.as_u64().unwrap()),
            "port {port} still bound after stop"
        );
    }
    assert_eq!(registry(&server)["instances"][0]["status"], "STOPPED");

    // start again; a second instance finds the key pool empty
    let (status, v) = post(
        &server,
        &format!("/api/admin/bundlers/{id}/start"),
        json!(null),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let third = wait_up(&server, &id).await;
    assert_ne!(third["pid"].as_u64(), Some(pid2));
    let (status, v) = post(
        &server,
        "/api/admin/bundlers/spawn",
        json!({"base": "alto", "name": "two"}),
    )
    .await;
    assert_eq!(status, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("key pool is empty"),
        "{v}"
    );

    // unregister: the process goes, the registry forgets it, its keys and ports serve the next spawn
    let pid3 = third["pid"].as_u64().unwrap();
    let (ok, out) = cli(&server, &["unregister", &id]);
    assert!(ok, "{out}");
    assert!(
        !group_alive(pid3),
        "process group {pid3} still runs after unregister"
    );
    assert!(instance(&server, &id).await.is_null());
    assert!(
        registry(&server)["instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        !server.data_dir().join("bundlers").join(&id).exists(),
        "its directory (with its keys) remains"
    );
    let two = spawn(&server, "alto", "two", json!({})).await;
    let two = wait_up(&server, &two).await;
    assert_eq!(
        keys_of(&two),
        keys_of(&first),
        "the freed keys were not reused"
    );
    assert!(
        [&first["port"], &first["internalPort"]].contains(&&two["port"]),
        "the freed ports were not reused: {two}"
    );
}
