//! Every endpoint with real data: on a devnet of its own, sponsored UserOperations sent through alto with
//! `probe userop` and workflows driven through every status by the test contract, indexed by
//! `serve --watcher` and read back over HTTP; then the bundler and the RPC are stopped and the banners
//! say so.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use serde_json::{Value, json};

use crate::support::api::{ADMIN, ApiServer, client};
use crate::support::devnet::Devnet;
use crate::support::{Sandbox, repo_root};

async fn get(server: &ApiServer, path: &str) -> Value {
    let res = client()
        .get(server.url(path))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

/// Polls `path` until `done` holds (30 s at most).
async fn wait_for(server: &ApiServer, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = get(server, path).await;
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} never got there: {v}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn deploy_emitter(dn: &Devnet) -> String {
    let artifact: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/contracts/artifacts/TestEmitter.json"))
            .unwrap(),
    )
    .unwrap();
    let bytecode = artifact["bytecode"].as_str().unwrap();
    let bytecode = if bytecode.starts_with("0x") {
        bytecode.to_string()
    } else {
        format!("0x{bytecode}")
    };
    let out = std::process::Command::new(Devnet::bin("cast"))
        .args([
            "send",
            "--rpc-url",
            dn.rpc(),
            "--private-key",
            dn.get("DEPLOYER_KEY"),
            "--json",
            "--create",
        ])
        .arg(&bytecode)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deploy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    receipt["contractAddress"].as_str().unwrap().to_string()
}

fn wf_id(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(32))
}

fn drive_workflows(dn: &Devnet, emitter: &str) {
    let key = dn.get("DEPLOYER_KEY");
    let send = |sig: &str, args: &[&str]| {
        let mut a = vec!["send", "--private-key", key, emitter, sig];
        a.extend_from_slice(args);
        dn.cast(&a);
    };
    let (a, b, c, d) = (wf_id(1), wf_id(2), wf_id(3), wf_id(4));
    let from = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let to = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    send("start(bytes32)", &[&a]);
    send(
        "decide(bytes32,bool,string)",
        &[&a, "true", "Payment verified"],
    );
    send(
        "settle(bytes32,address,address,uint256)",
        &[&a, from, to, "1000000000000000000"],
    );
    send("complete(bytes32)", &[&a]);
    send("start(bytes32)", &[&b]);
    send("decide(bytes32,bool,string)", &[&b, "false", "over budget"]);
    send("start(bytes32)", &[&c]);
    send("fail(bytes32,string)", &[&c, "timeout"]);
    send("start(bytes32)", &[&d]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_serves_real_indexed_data() {
    let Some(dn) = Devnet::start() else { return };
    let sb = Sandbox::new();
    let (ep, pm, factory) = (
        dn.get("ENTRYPOINT_V07").to_string(),
        dn.get("VERIFYING_PAYMASTER").to_string(),
        dn.get("SIMPLE_ACCOUNT_FACTORY").to_string(),
    );
    let signer = dn.key_file("pm-signer.key", dn.get("PM_SIGNER_KEY"));
    let emitter = deploy_emitter(&dn);
    let common = format!(
        "[chain]\nrpc_url = \"{rpc}\"\nchain_id = 31337\n\n[[paymasters]]\nname = \"verifying\"\naddress = \"{pm}\"\n\
entrypoint = \"{ep}\"\nmin_deposit_eth = \"1\"\n\n[[bundlers]]\nname = \"alto\"\nrpc_url = \"{bundler}\"\n\n\
[probe]\nfactory = \"{factory}\"\nbundler = \"{bundler}\"\nentrypoint = \"{ep}\"\npaymaster = \"{pm}\"\n\
paymaster_signer_key_file = \"{signer}\"\n",
        rpc = dn.rpc(),
        bundler = dn.bundler(),
        signer = signer.display(),
    );
    let probe_cfg = sb.write("probe.toml", &common);
    let out = sb
        .butler()
        .args([
            "--config",
            probe_cfg.to_str().unwrap(),
            "probe",
            "userop",
            "--count",
            "3",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "probe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ops = report["ops"].as_array().unwrap().clone();
    assert_eq!(ops.len(), 3);
    drive_workflows(&dn, &emitter);

    let server = ApiServer::start(
        &format!(
            "{common}\n[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\n[[watcher.sources]]\nname = \"ep07\"\n\
preset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = 0\n\n[[watcher.sources]]\nname = \"flows\"\n\
preset = \"workflow\"\naddress = \"{emitter}\"\nstart_block = 0\n"
        ),
        &[],
    );
    let c = client();
    let owner = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
    let sender0 = ops[0]["sender"].as_str().unwrap().to_string();
    for body in [
        json!({"owner": owner, "sender": sender0, "sessionId": "s1"}),
        json!({"owner": owner, "sender": sender0, "sessionId": "s1"}),
    ] {
        let res = c
            .post(server.url("/api/telemetry/session"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    for event in [
        "paid_fallback_attempt",
        "paid_fallback_attempt",
        "paid_fallback_success",
        "paid_fallback_failure",
    ] {
        let res = c
            .post(server.url("/api/telemetry/event"))
            .json(&json!({"event": event, "owner": owner}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }

    // user operations (§4.3)
    let v = wait_for(&server, "/api/admin/userops", |v| {
        v["userops"].as_array().unwrap().len() == 3
    })
    .await;
    let served: BTreeSet<String> = v["userops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["userOpHash"].as_str().unwrap().to_string())
        .collect();
    let probed: BTreeSet<String> = ops
        .iter()
        .map(|o| o["user_op_hash"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(served, probed);
    let mut cost_sum = U256::ZERO;
    for o in v["userops"].as_array().unwrap() {
        let p = ops
            .iter()
            .find(|p| p["user_op_hash"] == o["userOpHash"])
            .unwrap();
        assert_eq!(o["chainId"], 31337);
        assert_eq!(o["sender"], p["sender"]);
        assert_eq!(o["txHash"], p["tx_hash"]);
        assert_eq!(o["blockNumber"], p["block"]);
        assert_eq!(o["success"], true);
        assert_eq!(o["paymaster"], pm.as_str());
        assert_eq!(o["actualGasCostWei"], p["actual_gas_cost_wei"]);
        assert_eq!(o["nonce"], "0");
        assert!(o["bundler"].as_str().unwrap().starts_with("0x"));
        assert!(o["actualGasUsed"].as_str().unwrap().parse::<u64>().unwrap() > 0);
        cost_sum += o["actualGasCostWei"]
            .as_str()
            .unwrap()
            .parse::<U256>()
            .unwrap();
    }
    let one = get(
        &server,
        &format!("/api/admin/userops?sender={sender0}&limit=5"),
    )
    .await;
    assert_eq!(one["userops"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(&server, "/api/admin/userops?success=false").await["userops"],
        json!([])
    );
    assert_eq!(
        get(&server, "/api/admin/userops?limit=2").await["userops"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // users (§4.4): the owner from telemetry joined with the sender's indexed totals
    let users = get(&server, "/api/admin/users").await;
    let o = &users["owners"][0];
    assert_eq!(o["owner"], owner);
    assert_eq!(o["senders"], json!([sender0]));
    assert_eq!(
        (
            o["total"].clone(),
            o["succeeded"].clone(),
            o["failed"].clone()
        ),
        (json!(1), json!(1), json!(0))
    );
    assert_eq!(o["totalActualGasCostWei"], ops[0]["actual_gas_cost_wei"]);
    assert!(o["firstSeenMs"].as_u64().unwrap() <= o["lastSeenMs"].as_u64().unwrap());
    let senders = users["senders"].as_array().unwrap();
    assert_eq!(senders.len(), 3);
    let s0 = senders
        .iter()
        .find(|s| s["sender"] == sender0.as_str())
        .unwrap();
    assert_eq!(s0["owner"], owner);
    assert_eq!(s0["total"], 1);
    assert!(senders.iter().filter(|s| s["owner"].is_null()).count() == 2);

    // paymaster revenue and status
    let rev = get(&server, "/api/admin/paymaster/revenue").await;
    let p = rev["paymasters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["address"] == pm.as_str())
        .unwrap();
    assert_eq!(p["name"], "verifying");
    assert_eq!(p["sponsoredOps"], 3);
    assert_eq!(p["sponsoredGasCostWei"], cost_sum.to_string());
    assert_eq!(rev["sponsoredGasCostWei"], cost_sum.to_string());
    let status = get(&server, "/api/admin/paymaster/status").await;
    let s = &status["paymasters"][0];
    let chain_deposit = dn.cast(&["call", &ep, "balanceOf(address)(uint256)", &pm]);
    let chain_deposit = chain_deposit.split_whitespace().next().unwrap();
    assert_eq!(s["depositWei"], chain_deposit);
    assert_eq!(s["sponsoredOpsCount"], 3);
    assert_eq!(s["staked"], true);
    assert_eq!(s["depositLow"], false);
    assert_eq!(s["error"], Value::Null);

    // metrics
    let sum = get(&server, "/api/admin/metrics/summary").await;
    assert_eq!(sum["ops"]["total"], 3);
    assert_eq!(sum["ops"]["succeeded"], 3);
    assert_eq!(sum["ops"]["actualGasCostWei"], cost_sum.to_string());
    assert_eq!(sum["telemetry"]["usersConnected"], 1);
    assert_eq!(sum["telemetry"]["heartbeats"], 2);
    assert_eq!(
        sum["telemetry"]["paidFallback"],
        json!({"attempt": 2, "success": 1, "failure": 1})
    );
    assert_eq!(sum["workflows"]["total"], 4);
    assert_eq!(sum["indexer"]["running"], true);
    let ts = get(&server, "/api/admin/metrics/timeseries").await;
    assert_eq!(ts["bucketSecs"], 3600);
    let total: u64 = ts["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ops"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);
    let daily = get(&server, "/api/admin/metrics/timeseries?bucket=86400").await;
    let total: u64 = daily["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ops"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);
    let first = ts["from"].as_u64().unwrap();
    let empty = get(
        &server,
        &format!(
            "/api/admin/metrics/timeseries?from={}&to={}",
            first + 7200,
            first + 10800
        ),
    )
    .await;
    assert_eq!(empty["points"].as_array().unwrap().len(), 2);
    assert!(
        empty["points"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["ops"] == 0)
    );

    // workflows (observer shapes)
    let list = get(&server, "/workflows").await;
    let status_of = |id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|w| w["workflowId"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of(&wf_id(1)), "completed");
    assert_eq!(status_of(&wf_id(2)), "rejected");
    assert_eq!(status_of(&wf_id(3)), "failed");
    assert_eq!(status_of(&wf_id(4)), "running");
    assert_eq!(
        get(&server, "/workflows?limit=2&offset=1")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let d = get(&server, &format!("/workflows/{}", wf_id(1))).await;
    assert_eq!(d["workflow"]["initiator"].as_str().unwrap().len(), 42);
    assert_eq!(d["decisions"][0]["approved"], true);
    assert_eq!(d["decisions"][0]["reason"], "Payment verified");
    assert_eq!(d["settlements"][0]["amount"], "1000000000000000000");
    assert_eq!(d["timeline"].as_array().unwrap().len(), 4);
    assert_eq!(
        get(&server, &format!("/workflows/{}", wf_id(3))).await["workflow"]["failureReason"],
        "timeout"
    );
    let res = c
        .get(server.url(&format!("/workflows/{}", wf_id(9))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        get(&server, "/stats").await,
        json!({"total": 4, "running": 1, "completed": 1, "failed": 1, "rejected": 1})
    );

    // bundlers, deployments, health
    let b = wait_for(&server, "/api/admin/bundlers", |v| {
        v["bundlers"][0]["status"] == "UP"
    })
    .await;
    assert_eq!(b["bundlers"][0]["chainId"], 31337);
    let eps: Vec<String> =
        serde_json::from_value(b["bundlers"][0]["supportedEntryPoints"].clone()).unwrap();
    assert!(eps.iter().any(|e| e.eq_ignore_ascii_case(&ep)), "{eps:?}");
    let pb = get(&server, "/api/public/bundlers").await;
    assert_eq!(pb["bundlers"][0]["name"], "alto");
    assert_eq!(pb["bundlers"][0]["status"], "UP");
    let dep = get(&server, "/api/public/deployments?abi=true").await;
    assert_eq!(dep["chainId"], 31337);
    assert_eq!(dep["entryPoints"], json!([ep]));
    assert_eq!(dep["paymasters"][0]["address"], pm.as_str());
    assert_eq!(dep["factory"], factory.as_str());
    assert!(dep["abis"]["entryPoint"].as_array().unwrap().len() > 1);
    let h = wait_for(&server, "/api/public/health", |v| v["status"] == "ok").await;
    assert!(
        h["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "indexer")
    );
    assert!(h["indexedBlock"].as_u64().unwrap() > 0);
    assert_eq!(
        get(&server, "/api/public/status").await,
        json!({"status": "ok", "banners": []})
    );
    assert_eq!(get(&server, "/health").await["status"], "ok");
    let db = get(&server, "/health/db").await;
    assert_eq!(db["db"], "connected");
    assert!(db["checkpoint"]["ageSecs"].as_u64().unwrap() < 60);

    // degraded: no bundler, then no RPC; the API still answers 200 with the status field
    dn.stop_bundler();
    let st = wait_for(&server, "/api/public/status", |v| {
        v["banners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "no_bundler_up")
    })
    .await;
    assert_eq!(st["status"], "degraded");
    dn.stop_anvil();
    let st = wait_for(&server, "/api/public/status", |v| {
        v["banners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "rpc_down")
    })
    .await;
    assert_eq!(st["status"], "down");
    assert_eq!(get(&server, "/health").await["status"], "down");
    let status = get(&server, "/api/admin/paymaster/status").await;
    assert!(status["paymasters"][0]["error"].is_string());
    assert_eq!(
        get(&server, "/api/admin/userops").await["userops"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
