//! The watcher restarts (SIGTERM, then SIGKILL of butler itself) with real alto instances: the instances
//! whose `desired` is running come back, a stopped one stays stopped, no bundler process outlives its
//! watcher, and a PID in the registry that belongs to an unrelated process is never signalled.

use serde_json::json;

use crate::support::bundlers::{
    alive, alto_template, group_alive, instance, key_pool, port_range, post, registry, spawn,
    supervisor_config, wait_gone, wait_up, watcher,
};
use crate::support::devnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_restarts_its_desired_instances_and_leaves_no_orphans() {
    let Some(dn) = devnet::shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pool = key_pool(dn, dir.path(), 4);
    let config = supervisor_config(dn.rpc(), Some(&pool), port_range(20), &alto_template(dn));
    let mut server = watcher(&config);
    let kept = spawn(&server, "alto", "kept", json!({})).await;
    let parked = spawn(&server, "alto", "parked", json!({})).await;
    let pid1 = wait_up(&server, &kept).await["pid"].as_u64().unwrap();
    wait_up(&server, &parked).await;
    let (status, v) = post(
        &server,
        &format!("/api/admin/bundlers/{parked}/stop"),
        json!(null),
    )
    .await;
    assert_eq!(status, 200, "{v}");

    // SIGTERM: the watcher stops its children and exits cleanly
    let exit = server
        .stop()
        .expect("the watcher did not exit after SIGTERM");
    assert!(exit.success(), "watcher exit: {exit}\n{}", server.log());
    assert!(
        !alive(pid1) && !group_alive(pid1),
        "bundler {pid1} outlived its watcher"
    );
    let reg = registry(&server);
    let kept_rec = reg["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == kept.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (&kept_rec["status"], &kept_rec["desired"]),
        (&json!("STOPPED"), &json!("running"))
    );
    assert!(kept_rec["pid"].is_null());

    // a stale PID in the registry now belongs to an unrelated process
    let mut stranger = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    let stranger_pid = u64::from(stranger.id());
    let mut reg = reg;
    for i in reg["instances"].as_array_mut().unwrap() {
        if i["id"] == kept.as_str() {
            i["pid"] = json!(stranger_pid);
            i["status"] = json!("UP");
        }
    }
    std::fs::write(
        server.data_dir().join("bundlers/registry.json"),
        reg.to_string(),
    )
    .unwrap();

    server.spawn();
    let back = wait_up(&server, &kept).await;
    let pid2 = back["pid"].as_u64().unwrap();
    assert_ne!(pid2, stranger_pid);
    assert_eq!(
        instance(&server, &parked).await["status"],
        "STOPPED",
        "a stopped instance came back"
    );
    assert!(instance(&server, &parked).await["pid"].is_null());

    // SIGKILL of butler itself: its bundler dies with it; the next start brings the instance back
    server.kill9();
    wait_gone(pid2, 15).await;
    assert!(
        !group_alive(pid2),
        "bundler group {pid2} outlived a killed watcher"
    );
    server.spawn();
    let third = wait_up(&server, &kept).await;
    assert_ne!(third["pid"].as_u64(), Some(pid2));
    assert_eq!(instance(&server, &parked).await["status"], "STOPPED");

    assert!(
        stranger.try_wait().unwrap().is_none(),
        "the unrelated process with the stale PID was signalled"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}
