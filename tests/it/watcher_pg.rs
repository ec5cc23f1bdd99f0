//! The watcher on PostgreSQL (`[watcher] store = "postgres"`), each test on a private anvil and a fresh
//! database: the store equals the chain and gives the NDJSON store's state hash; SIGKILLs during a backfill
//! lose and duplicate nothing; a reorg is rolled back to the exact new chain; a second indexer is refused
//! naming the holder.

use std::process::Stdio;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::support::Sandbox;
use crate::watcher_pg_support::*;
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
    assert_eq!(keys.len(), n, "duplicate records in the store");
}

/// Emits user operation events and drives four workflows to each status.
fn busy_chain(anvil: &Anvil, emitter: &str) {
    let id = |n: u8| format!("0x{}", format!("{n:02x}").repeat(32));
    let call = |sig: &str, args: &[&str]| {
        transact(&anvil.rpc, emitter, &calldata(sig, args));
    };
    for _ in 0..5 {
        call("emitMany(uint256)", &["6"]);
    }
    call("start(bytes32)", &[&id(1)]);
    call(
        "decide(bytes32,bool,string)",
        &[&id(1), "true", "payment verified"],
    );
    call(
        "settle(bytes32,address,address,uint256)",
        &[
            &id(1),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
            "1000000000000000000",
        ],
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
}

#[test]
fn postgres_holds_the_chains_events_and_gives_the_ndjson_state_hash() {
    let Some(server) = pg_server() else { return };
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    busy_chain(&anvil, &emitter);
    let sources = format!("{}{}", ops_source(&emitter), flows_source(&emitter));
    let sb = Sandbox::new();
    let db = fresh_database(&server);
    let pg = write_config(
        &sb,
        &anvil.rpc,
        &sb.path().join("pg-data"),
        &format!("{}{sources}", pg_store(&db)),
    );
    let nd_sb = Sandbox::new();
    let nd_data = nd_sb.path().join("data");
    let nd = write_config(&nd_sb, &anvil.rpc, &nd_data, &sources);

    let pg_run = butler_json(&sb, &pg, &["index"]);
    let nd_run = butler_json(&nd_sb, &nd, &["index"]);
    assert_eq!(pg_run["events"], nd_run["events"], "{pg_run} {nd_run}");
    assert_eq!(
        pg_run["stateHash"], nd_run["stateHash"],
        "same chain, same state hash"
    );
    assert!(
        !sb.path().join("pg-data/chain/indexer_state.json").exists(),
        "the PostgreSQL store writes no checkpoint file"
    );

    // the table equals the chain's logs, and each user operation is one of the chain's UserOperationEvents
    let rows = pg_records(&db);
    assert_no_duplicates(&rows);
    assert_eq!(
        keys_of_records(&rows),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter))
    );
    let topic = "0x49628fd1471006c1482da88028e9ce4dbb080b815c9b0344d39e5a8e6ec1419f";
    let chain_ops: Vec<String> = chain_logs(&anvil.rpc, &emitter)
        .iter()
        .filter(|l| l["topics"][0] == topic)
        .map(|l| l["topics"][1].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(chain_ops.len(), 30, "the chain's UserOperationEvents");
    let ops = butler_json(&sb, &pg, &["userops", "--limit", "1000"]);
    let mut stored: Vec<String> = ops["userops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["userOpHash"].as_str().unwrap().to_lowercase())
        .collect();
    stored.reverse();
    assert_eq!(stored, chain_ops, "indexed user operations, oldest first");
    assert_eq!(
        ops,
        butler_json(&nd_sb, &nd, &["userops", "--limit", "1000"])
    );

    // every reading command answers the same from both stores
    for args in [&["stats"][..], &["workflows"], &["replay", "--verify"]] {
        let (a, b) = (butler_json(&sb, &pg, args), butler_json(&nd_sb, &nd, args));
        let strip = |mut v: Value| {
            for k in ["seconds", "eventsPerSec"] {
                v.as_object_mut().map(|o| o.remove(k));
            }
            v
        };
        assert_eq!(strip(a), strip(b), "{args:?}");
    }
    let v = butler_json(&sb, &pg, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");
    assert_eq!(pg_checkpoint(&db)["stateHash"], pg_run["stateHash"]);

    // workflow_state is the reducer's state, queryable with plain SQL
    let states = psql(
        &db,
        "SELECT status || ':' || coalesce(failure_reason, '-') FROM workflow_state ORDER BY workflow_id",
    );
    assert_eq!(
        states,
        [
            "COMPLETED:-",
            "FAILED:settlement timed out",
            "REJECTED:insufficient funds",
            "RUNNING:-"
        ]
    );
    // the fee manager shares the database: each migrator keeps to its own versions
    let fees = sb.write(
        "fees.toml",
        &format!(
            "data_dir = \"{}\"\n[fees]\ndatabase_url = \"{db}\"\n",
            sb.path().join("fees-data").display()
        ),
    );
    butler_json(&sb, &fees, &["fees", "export"]);
    assert_eq!(
        psql(&db, "SELECT version FROM _sqlx_migrations ORDER BY version"),
        ["1", "2", "3", "1000"]
    );
    // indexing again writes nothing (every event is already there)
    let again = butler_json(&sb, &pg, &["index"]);
    assert_eq!(again["written"], 0, "{again}");
    assert_eq!(again["stateHash"], pg_run["stateHash"]);
}

#[test]
fn sigkill_during_a_backfill_into_postgres_loses_and_duplicates_nothing() {
    let Some(server) = pg_server() else { return };
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    let emit = calldata("emitMany(uint256)", &["40"]);
    for _ in 0..100 {
        transact(&anvil.rpc, &emitter, &emit);
        anvil.mine(40);
    }
    let db = fresh_database(&server);
    let watcher = format!(
        "max_block_range = 2\nfetch_concurrency = 1\n{}{}",
        pg_store(&db),
        ops_source(&emitter)
    );
    // eth_getLogs slowed through a proxy: a commit to PostgreSQL costs more than one to the files, so commits
    // are further apart and the backfill must last longer to be killed several times
    let (slow_rpc, _) = rpc_proxy(anvil.rpc.clone(), 0, Duration::from_millis(10));
    let sb = Sandbox::new();
    let config = write_config(&sb, &slow_rpc, &sb.path().join("data"), &watcher);

    // the kill delays are random; the seed is printed (shown when the test fails) and can be replayed
    let seed: u64 = std::env::var("BUTLER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("kill delays from seed {seed} (BUTLER_TEST_SEED={seed} repeats them)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for kill in 1..=5 {
        let before = pg_last_block(&db);
        let mut child = butler_process(&sb, &config, &["index"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let waited = std::time::Instant::now();
        while pg_last_block(&db) <= before {
            assert!(
                child.try_wait().unwrap().is_none(),
                "index finished before kill {kill}"
            );
            assert!(
                waited.elapsed() < Duration::from_secs(60),
                "no commit before kill {kill}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        if child.try_wait().unwrap().is_some() {
            // a fast machine finished the backfill first: enough kills happened to check recovery
            let kills = kill - 1;
            assert!(
                kills >= 3,
                "index finished after {kills} kills: the workload is too small for this machine"
            );
            eprintln!("the backfill finished after {kills} kills");
            break;
        }
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        child.wait().unwrap();
        // a batch is committed with its checkpoint or not at all: the table ends at the checkpoint
        let rows = pg_records(&db);
        assert_no_duplicates(&rows);
        let last = pg_last_block(&db);
        assert!(
            rows.iter()
                .all(|r| r["blockNumber"].as_u64().unwrap() <= last),
            "no event past the checkpoint after kill {kill}"
        );
        assert_eq!(
            rows.len() as u64,
            pg_checkpoint(&db)["events"].as_u64().unwrap(),
            "the checkpoint counts exactly the stored events after kill {kill}"
        );
    }
    let done = butler_json(&sb, &config, &["index"]);
    assert_eq!(done["caughtUp"], true);
    let rows = pg_records(&db);
    assert_no_duplicates(&rows);
    let logs = chain_logs(&anvil.rpc, &emitter);
    assert_eq!(logs.len(), 4000);
    assert_eq!(
        keys_of_records(&rows),
        keys_of_logs(&logs),
        "no gap, no extra record"
    );

    let reference_sb = Sandbox::new();
    let reference = write_config(
        &reference_sb,
        &anvil.rpc,
        &reference_sb.path().join("reference"),
        &format!(
            "max_block_range = 2\nfetch_concurrency = 1\n{}",
            ops_source(&emitter)
        ),
    );
    let uninterrupted = butler_json(&reference_sb, &reference, &["index"]);
    assert_eq!(uninterrupted["stateHash"], done["stateHash"]);
    let v = butler_json(&sb, &config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");
}

#[test]
fn a_reorg_is_rolled_back_in_postgres_to_the_exact_new_chain() {
    let Some(server) = pg_server() else { return };
    let Some(anvil) = Anvil::start() else { return };
    let emitter = reorg_scenario_emitter(&anvil);
    let db = fresh_database(&server);
    let sb = Sandbox::new();
    let config = write_config(
        &sb,
        &anvil.rpc,
        &sb.path().join("data"),
        &format!(
            "confirmations = 1\n{}{}{}",
            pg_store(&db),
            ops_source(&emitter),
            flows_source(&emitter)
        ),
    );
    let first = butler_json(&sb, &config, &["index"]);
    assert_eq!(
        first["written"], 15,
        "head − 1 confirmation: 5 of 6 blocks: {first}"
    );
    let before = pg_records(&db);

    reorg_and_index(&anvil, &emitter, &sb, &config);

    let after = pg_records(&db);
    assert_ne!(after, before);
    assert_eq!(
        keys_of_records(&after),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter)),
        "the table equals the new chain"
    );
    assert_eq!(count_by_event(&after)["WorkflowStarted"], 1);
    assert_eq!(
        psql(&db, "SELECT status FROM workflow_state"),
        ["RUNNING"],
        "workflow_state follows the new chain"
    );
    let stats = butler_json(&sb, &config, &["stats"]);
    assert_eq!(stats["reorgs"], 1, "{stats}");
    let v = butler_json(&sb, &config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");

    // the same new chain indexed afresh into NDJSON gives the same state hash (reorg count aside)
    let nd_sb = Sandbox::new();
    let nd = write_config(
        &nd_sb,
        &anvil.rpc,
        &nd_sb.path().join("data"),
        &format!(
            "confirmations = 1\n{}{}",
            ops_source(&emitter),
            flows_source(&emitter)
        ),
    );
    let fresh = butler_json(&nd_sb, &nd, &["index"]);
    assert_eq!(fresh["stateHash"], stats["stateHash"]);
}

#[test]
fn a_second_indexer_on_the_same_database_is_refused_naming_the_holder() {
    let Some(server) = pg_server() else { return };
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["5"]));
    let db = fresh_database(&server);
    let sb = Sandbox::new();
    let watcher = format!("{}{}", pg_store(&db), ops_source(&emitter));
    let config = named_config(&sb, "a", &anvil.rpc, &sb.path().join("a"), &watcher);
    let port = crate::support::free_port();
    let mut serve = butler_process(
        &sb,
        &config,
        &[
            "serve",
            "--watcher",
            "--api-listen",
            &format!("127.0.0.1:{port}"),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_until(60, "the indexer's commit", || {
        (pg_checkpoint(&db)["events"] == 5).then_some(())
    });
    // another data dir, the same database: the database's lock decides
    let other = named_config(&sb, "b", &anvil.rpc, &sb.path().join("b"), &watcher);
    let out = sb
        .butler()
        .arg("--config")
        .arg(&other)
        .arg("index")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pid {}", serve.id())), "{err}");
    assert!(err.contains("host "), "{err}");
    assert!(err.contains("--read-only"), "{err}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(serve.wait().unwrap().success());
    // the lock went with the process
    let done = butler_json(&sb, &other, &["index"]);
    assert_eq!(done["events"], 5, "{done}");
}
