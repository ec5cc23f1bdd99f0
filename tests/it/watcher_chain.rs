//! Watcher tests that disturb the chain or the process, each on a private anvil: SIGKILL during a backfill,
//! a reorg deeper than the confirmation depth, a provider that refuses large log ranges (its cap is learned),
//! and workflows.

use std::process::Stdio;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::watcher_support::*;

fn ops_source(emitter: &str) -> String {
    format!(
        "[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n"
    )
}

fn flows_source(emitter: &str) -> String {
    format!(
        "[[watcher.sources]]\nname = \"flows\"\npreset = \"workflow\"\naddress = \"{emitter}\"\nstart_block = 0\n"
    )
}

fn assert_no_duplicates(records: &[Value]) {
    let mut keys: Vec<_> = keys_of_records(records)
        .into_iter()
        .map(|(t, l, _)| (t, l))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate records in the log");
}

#[test]
fn sigkill_during_a_backfill_loses_and_duplicates_nothing() {
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    let emit = calldata("emitMany(uint256)", &["40"]);
    for _ in 0..100 {
        transact(&anvil.rpc, &emitter, &emit);
        anvil.mine(40);
    }
    let watcher = format!(
        "max_block_range = 2\nfetch_concurrency = 1\n{}",
        ops_source(&emitter)
    );
    // eth_getLogs slowed a little through a proxy so a backfill lasts long enough to be killed five times
    let (slow_rpc, _) = rpc_proxy(anvil.rpc.clone(), 0, Duration::from_millis(5));
    let sb = Sandbox::new();
    let killed = sb.path().join("killed");
    let config = write_config(&sb, &slow_rpc, &killed, &watcher);
    let reference_sb = Sandbox::new();
    let reference = reference_sb.path().join("reference");
    let reference_config = write_config(&reference_sb, &anvil.rpc, &reference, &watcher);

    // the kill delays are random; the seed is printed (shown when the test fails) and can be replayed
    let seed: u64 = std::env::var("BUTLER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("kill delays from seed {seed} (BUTLER_TEST_SEED={seed} repeats them)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for kill in 1..=5 {
        let before = last_committed_block(&killed);
        let mut child = butler_process(&sb, &config, &["index"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // kill at a random moment after this run's first commit, while it is still running
        let waited = std::time::Instant::now();
        while last_committed_block(&killed) <= before {
            assert!(
                child.try_wait().unwrap().is_none(),
                "index finished before kill {kill}"
            );
            assert!(
                waited.elapsed() < Duration::from_secs(60),
                "no commit before kill {kill}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        assert!(
            child.try_wait().unwrap().is_none(),
            "index finished before kill {kill}: the workload is too small for this machine"
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        child.wait().unwrap();
        assert_no_duplicates(&complete_records(&killed));
    }
    let progress = checkpoint(&killed);
    assert!(
        progress["lastBlock"].as_u64().unwrap_or(0) > 0,
        "the killed runs made progress"
    );

    let done = butler_json(&sb, &config, &["index"]);
    assert_eq!(done["caughtUp"], true);
    let stored = records(&killed);
    assert_no_duplicates(&stored);
    let logs = chain_logs(&anvil.rpc, &emitter);
    assert_eq!(logs.len(), 4000);
    assert_eq!(
        keys_of_records(&stored),
        keys_of_logs(&logs),
        "no gap, no extra record"
    );

    let uninterrupted = butler_json(&reference_sb, &reference_config, &["index"]);
    assert_eq!(uninterrupted["stateHash"], done["stateHash"]);
    assert_eq!(
        checkpoint(&killed)["stateHash"],
        checkpoint(&reference)["stateHash"]
    );
    let v = butler_json(&sb, &config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");
}

#[test]
fn a_reorg_deeper_than_the_confirmations_is_rolled_back_and_reindexed() {
    let Some(anvil) = Anvil::start() else { return };
    let emitter = reorg_scenario_emitter(&anvil);
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    let config = write_config(
        &sb,
        &anvil.rpc,
        &data,
        &format!(
            "confirmations = 1\n{}{}",
            ops_source(&emitter),
            flows_source(&emitter)
        ),
    );
    let first = butler_json(&sb, &config, &["index"]);
    assert_eq!(
        first["written"], 15,
        "head − 1 confirmation: 5 of 6 blocks: {first}"
    );
    let before = records(&data);

    // replace the last 4 blocks: two of them were indexed
    reorg_and_index(&anvil, &emitter, &sb, &config);

    let after = records(&data);
    assert_ne!(after, before);
    assert_eq!(
        keys_of_records(&after),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter)),
        "the store equals the new chain"
    );
    assert_eq!(count_by_event(&after)["WorkflowStarted"], 1);
    let stats = butler_json(&sb, &config, &["stats"]);
    assert_eq!(stats["reorgs"], 1, "{stats}");
    let v = butler_json(&sb, &config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");
    // the checkpoint remembers the reorganisation for the console's overview
    let cp: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("chain/indexer_state.json")).unwrap(),
    )
    .unwrap();
    let recent = cp["recentReorgs"].as_array().expect("recentReorgs");
    assert_eq!(recent.len(), 1, "{cp}");
    let depth = recent[0]["depth"].as_u64().unwrap();
    assert!(
        (1..=4).contains(&depth),
        "at most the 4 replaced blocks: {cp}"
    );
    assert!(recent[0]["atMs"].as_u64().unwrap() > 0, "{cp}");
}

#[test]
fn a_refused_log_range_is_learned_as_the_urls_cap_with_nothing_missing() {
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    for _ in 0..5 {
        transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["4"]));
        for _ in 0..4 {
            anvil.mine(200);
        }
    }
    let (proxy, seen) = rpc_proxy(anvil.rpc.clone(), 2, Duration::ZERO);
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    let config = write_config(
        &sb,
        &proxy,
        &data,
        &format!(
            "max_block_range = 2000\nfetch_concurrency = 1\n{}",
            ops_source(&emitter)
        ),
    );
    let done = butler_json(&sb, &config, &["index"]);
    assert_eq!(done["caughtUp"], true);
    assert_eq!(
        keys_of_records(&records(&data)),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter)),
        "nothing missing"
    );
    let seen = seen.lock().unwrap().clone();
    let first_refusal = seen
        .iter()
        .position(|(_, r)| *r)
        .expect("the proxy refused ranges");
    assert_eq!(
        seen.iter().filter(|(_, r)| *r).count(),
        1,
        "the suggested range is kept as the cap, so nothing is refused twice: {seen:?}"
    );
    assert!(
        seen[first_refusal + 1..]
            .iter()
            .all(|(size, _)| *size <= 1000),
        "no range above the learned cap: {seen:?}"
    );
    let caps = &checkpoint(&data)["rangeCaps"];
    assert_eq!(
        caps[format!("{proxy}/")]["announced"],
        1000,
        "the checkpoint keeps the cap: {caps}"
    );
}

#[test]
fn workflows_reach_each_final_status_with_a_timeline() {
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    let id = |n: u8| format!("0x{}", format!("{n:02x}").repeat(32));
    let call = |sig: &str, args: &[&str]| {
        transact(&anvil.rpc, &emitter, &calldata(sig, args));
    };
    let (payer, payee) = (
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    );
    call("start(bytes32)", &[&id(1)]);
    call(
        "decide(bytes32,bool,string)",
        &[&id(1), "true", "payment verified"],
    );
    call(
        "settle(bytes32,address,address,uint256)",
        &[&id(1), payer, payee, "1000000000000000000"],
    );
    call("complete(bytes32)", &[&id(1)]);
    call("start(bytes32)", &[&id(2)]);
    call("fail(bytes32,string)", &[&id(2), "settlement timed out"]);
    call("start(bytes32)", &[&id(3)]);
    call(
        "decide(bytes32,bool,string)",
        &[&id(3), "false", "insufficient funds"],
    );
    call("start(bytes32)", &[&id(4)]);
    call("decide(bytes32,bool,string)", &[&id(4), "true", "ok"]);
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    let config = write_config(&sb, &anvil.rpc, &data, &flows_source(&emitter));
    butler_json(&sb, &config, &["index"]);

    let list = butler_json(&sb, &config, &["workflows"]);
    let status = |n: u8| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|w| w["workflowId"] == id(n))
            .map(|w| w["status"].clone())
            .unwrap()
    };
    assert_eq!(status(1), "COMPLETED");
    assert_eq!(status(2), "FAILED");
    assert_eq!(status(3), "REJECTED");
    assert_eq!(status(4), "RUNNING");
    let running = butler_json(&sb, &config, &["workflows", "list", "--status", "running"]);
    assert_eq!(running.as_array().unwrap().len(), 1);

    let show = butler_json(&sb, &config, &["workflows", "show", &id(1)]);
    let events: Vec<&str> = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "WorkflowStarted",
            "DecisionRecorded",
            "SettlementRecorded",
            "WorkflowCompleted"
        ]
    );
    assert_eq!(show["workflow"]["initiator"], DEV_ACCOUNT);
    assert_eq!(show["decisions"][0]["reason"], "payment verified");
    assert_eq!(show["settlements"][0]["amount"], "1000000000000000000");
    assert_eq!(show["settlements"][0]["to"], payee);
    let failed = butler_json(&sb, &config, &["workflows", "show", &id(2)]);
    assert_eq!(failed["workflow"]["failureReason"], "settlement timed out");

    let table = sb
        .butler()
        .arg("--config")
        .arg(&config)
        .args(["workflows", "show", &id(3)])
        .output()
        .unwrap();
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("REJECTED") && text.contains("rejected: insufficient funds"),
        "{text}"
    );

    let stats = butler_json(&sb, &config, &["stats"]);
    assert_eq!(
        stats["workflows"],
        json!({"total": 4, "running": 1, "completed": 1, "failed": 1, "rejected": 1})
    );
    let missing = sb
        .butler()
        .arg("--config")
        .arg(&config)
        .args(["workflows", "show", &id(9)])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
}

/// The last block of the store's checkpoint (0 before the first commit).
fn last_committed_block(data_dir: &std::path::Path) -> u64 {
    std::fs::read_to_string(data_dir.join("chain/indexer_state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["lastBlock"].as_u64())
        .unwrap_or(0)
}
