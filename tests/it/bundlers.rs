//! Bundler supervision with real alto processes on the shared devnet: spawned instances with their own
//! keys, ports and policies serve real UserOperations through butler's policy gateway; the gateway
//! refuses, fails and delays calls as their policies say while the health probes bypass it; alto's own
//! lines are in the log store under the instance id; the supervisor's series are on the watcher's
//! `/metrics`; keys appear nowhere but in the instances' 0600 config files; butler's own `ALTO_*` variables and
//! `./.env` never reach the children.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::bundlers::{
    alto_template, get, key_pool, port_range, post, probe_userop, rpc, spawn, supervisor_config,
    wait_up, watcher_with_env,
};
use crate::support::devnet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_instances_serve_real_user_operations_through_their_policy_gateways() {
    let Some(dn) = devnet::shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pool = key_pool(dn, dir.path(), 8);
    let keys = std::fs::read_to_string(&pool).unwrap();
    let config = supervisor_config(dn.rpc(), Some(&pool), port_range(20), &alto_template(dn));
    // alto lets ALTO_* variables and ./.env beat its config file: the children must see neither
    let server = watcher_with_env(
        &config,
        &[("ALTO_PORT", "1"), ("ALTO_RPC_URL", "http://127.0.0.1:9")],
    );
    server
        .sandbox
        .write("cwd/.env", "ALTO_PORT=2\nALTO_RPC_URL=http://127.0.0.1:9\n");

    let cheap = spawn(
        &server,
        "alto",
        "cheap",
        json!({"minPriorityFeeGwei": 0, "delayMs": 0}),
    )
    .await;
    let slow = spawn(&server, "alto", "slow", json!({"delayMs": 300})).await;
    let picky = spawn(
        &server,
        "alto",
        "picky",
        json!({"minPriorityFeeGwei": 1000}),
    )
    .await;
    let flaky = spawn(&server, "alto", "flaky", json!({"failureRate": 1.0})).await;
    let mut up = Vec::new();
    for id in [&cheap, &slow, &picky, &flaky] {
        up.push(wait_up(&server, id).await);
    }

    // every instance took its own two ports and its own executor and utility keys
    let mut ports: Vec<u64> = up
        .iter()
        .flat_map(|i| {
            [
                i["port"].as_u64().unwrap(),
                i["internalPort"].as_u64().unwrap(),
            ]
        })
        .collect();
    let mut addresses: Vec<String> = up
        .iter()
        .flat_map(|i| {
            let mut a: Vec<String> = i["executorAddresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            a.push(i["utilityAddress"].as_str().unwrap().to_string());
            a
        })
        .collect();
    ports.sort();
    ports.dedup();
    addresses.sort();
    addresses.dedup();
    assert_eq!((ports.len(), addresses.len()), (8, 8), "{up:?}");
    for i in &up {
        assert_eq!(i["kind"], "spawned");
        assert_eq!(i["base"], "alto");
        assert_eq!(i["desired"], "running");
        assert!(i["pid"].as_u64().is_some(), "{i}");
    }

    // the watcher's health counts them
    let health = get(&server, "/api/public/health").await;
    let check = health["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bundlers")
        .cloned();
    assert_eq!(
        check.map(|c| c["detail"].clone()),
        Some(json!("4 of 4 up")),
        "{health}"
    );

    // a real UserOperation through each of the two instances without a fee floor or failures
    for id in [&cheap, &slow] {
        let url = up.iter().find(|i| i["id"] == id.as_str()).unwrap()["rpcUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let (ok, report, out) = probe_userop(dn, &url);
        assert!(ok, "probe userop through {id} ({url}) failed: {out}");
        assert_eq!(report["ok"], true, "{out}");
    }

    // minPriorityFeeGwei refuses the operation with an error naming the policy
    let picky_url = up[2]["rpcUrl"].as_str().unwrap();
    let (ok, _, out) = probe_userop(dn, picky_url);
    assert!(!ok, "an operation under the fee floor went through: {out}");
    assert!(out.contains("minPriorityFeeGwei"), "{out}");

    // failureRate 1.0 fails every call through the gateway, but the instance stays UP (probes bypass it)
    let flaky_url = up[3]["rpcUrl"].as_str().unwrap();
    for method in [
        "eth_chainId",
        "eth_supportedEntryPoints",
        "eth_sendUserOperation",
    ] {
        let v = rpc(flaky_url, method).await;
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("failureRate"), "{method} through {flaky}: {v}");
    }
    let internal = format!("http://127.0.0.1:{}", up[3]["internalPort"]);
    assert!(rpc(&internal, "eth_chainId").await["result"].is_string());
    assert_eq!(
        crate::support::bundlers::instance(&server, &flaky).await["status"],
        "UP"
    );

    // delayMs adds its delay to every call
    let slow_url = up[1]["rpcUrl"].as_str().unwrap();
    let started = Instant::now();
    let v = rpc(slow_url, "eth_chainId").await;
    let took = started.elapsed();
    assert!(v["result"].is_string(), "{v}");
    assert!(took.as_millis() >= 300, "delayMs 300 took only {took:?}");

    // the public list carries each instance's fee metadata from its policy
    let public: Value = crate::support::api::client()
        .get(server.url("/api/public/bundlers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let p = public["bundlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == picky.as_str())
        .unwrap();
    assert_eq!(p["policy"]["minPriorityFeeGwei"], 1000.0, "{p}");
    assert_eq!(p["status"], "UP");

    // alto's own lines are queryable under the instance id
    let logs = get(&server, &format!("/api/logs?service={cheap}&limit=1000")).await;
    let lines = logs["logs"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["meta"]["module"].is_string() && l["meta"]["source"].is_null()),
        "no alto line under {cheap}: {logs}"
    );
    assert!(lines.iter().all(|l| l["service"] == cheap.as_str()));

    // the supervisor's series on the watcher's own /metrics
    let metrics = crate::support::api::client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for id in [&cheap, &slow, &picky, &flaky] {
        assert!(
            metrics.contains(&format!("butler_bundler_up{{bundler=\"{id}\"}} 1")),
            "{metrics}"
        );
        assert!(metrics.contains(&format!(
            "butler_bundler_restarts_total{{bundler=\"{id}\"}} 0"
        )));
        assert!(metrics.contains(&format!(
            "butler_bundler_uptime_seconds{{bundler=\"{id}\"}}"
        )));
    }
    // ... with the type, labels and help the watcher part of docs/metrics.md gives them
    let emitted = crate::obs_metrics::emitted(&metrics);
    let docs = crate::exporter_prometheus::documented_part(true);
    for def in butler::bundlers::metrics::ALL {
        let (e, d) = (&emitted[def.name], &docs[def.name]);
        assert_eq!(
            (&e.kind, &e.labels, &e.help),
            (&d.kind, &d.labels, &d.help),
            "{}",
            def.name
        );
    }

    // keys: only in each instance's own 0600 config in a 0700 directory; never in the registry, the
    // API, the logs or a command line
    let registry =
        std::fs::read_to_string(server.data_dir().join("bundlers/registry.json")).unwrap();
    let list = get(&server, "/api/admin/bundlers").await.to_string();
    let all_logs = get(&server, "/api/logs?limit=100000").await.to_string();
    for i in &up {
        let id = i["id"].as_str().unwrap();
        let d = server.data_dir().join("bundlers").join(id);
        assert_eq!(
            std::fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let f = d.join("bundler.config.json");
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let output = d.join("output.log");
        assert_eq!(
            std::fs::metadata(&output).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let output = std::fs::read_to_string(&output).unwrap();
        assert!(
            output.contains("\"msg\""),
            "alto's raw lines are not in output.log"
        );
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", i["pid"])).unwrap();
        let cmdline = String::from_utf8_lossy(&cmdline).to_string();
        for key in keys.lines() {
            let bare = key.trim_start_matches("0x");
            for (what, text) in [
                ("the registry", &registry),
                ("GET /api/admin/bundlers", &list),
                ("the log store", &all_logs),
                ("the command line", &cmdline),
                ("output.log", &output),
                ("butler's log", &server.log()),
            ] {
                assert!(!text.contains(bare), "a pool key appears in {what}");
            }
        }
    }
    let config: Value = serde_json::from_slice(
        &std::fs::read(
            server
                .data_dir()
                .join(format!("bundlers/{cheap}/bundler.config.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(config["observability"]["service"], cheap.as_str());
    assert!(keys.contains(config["utility-private-key"].as_str().unwrap()));

    // bad spawn requests are refused with 4xx naming the problem, and nothing is written
    let before = std::fs::read(server.data_dir().join("bundlers/registry.json")).unwrap();
    for (body, status, needle) in [
        (
            json!({"base": "nope", "name": "x"}),
            422,
            "unknown base `nope`",
        ),
        (
            json!({"base": "alto", "name": "cheap"}),
            409,
            "named `cheap` exists",
        ),
        (
            json!({"base": "alto", "name": "x", "policy": {"failureRate": 2}}),
            422,
            "failureRate",
        ),
        (
            json!({"base": "alto", "name": "x", "policy": {"fee": 1}}),
            422,
            "unknown field `fee`",
        ),
        (
            json!({"base": "alto", "name": "fifth"}),
            409,
            "key pool is empty",
        ),
    ] {
        let (got, v) = post(&server, "/api/admin/bundlers/spawn", body.clone()).await;
        assert_eq!(got, status, "{body}: {v}");
        assert!(
            v["error"].as_str().unwrap_or_default().contains(needle),
            "{body}: {v}"
        );
    }
    let after = std::fs::read(server.data_dir().join("bundlers/registry.json")).unwrap();
    assert_eq!(before, after, "a refused request changed the registry");
    assert_eq!(
        std::fs::read_dir(server.data_dir().join("bundlers"))
            .unwrap()
            .count(),
        5,
        "a refused request left an instance directory"
    );
}
