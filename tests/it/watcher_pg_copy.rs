//! `butler store copy`: an NDJSON store copied into PostgreSQL keeps its state hash and answers the same;
//! copying again after the source grew resumes where the target ends; a target holding another store is
//! refused unless `--force`; and PostgreSQL copied back into a data dir gives the same state hash again.

use serde_json::Value;

use crate::support::Sandbox;
use crate::watcher_pg_support::*;
use crate::watcher_support::*;

fn sources(emitter: &str) -> String {
    format!(
        "[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n\
         [[watcher.sources]]\nname = \"flows\"\npreset = \"workflow\"\naddress = \"{emitter}\"\nstart_block = 0\n"
    )
}

fn strip(mut v: Value) -> Value {
    for k in ["seconds", "eventsPerSec"] {
        v.as_object_mut().map(|o| o.remove(k));
    }
    v
}

#[test]
fn store_copy_moves_an_ndjson_store_into_postgres_and_back_with_the_same_state_hash() {
    let Some(server) = pg_server() else { return };
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    let id = format!("0x{}", "11".repeat(32));
    for _ in 0..4 {
        transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["5"]));
    }
    transact(&anvil.rpc, &emitter, &calldata("start(bytes32)", &[&id]));
    let sb = Sandbox::new();
    let nd = named_config(
        &sb,
        "nd",
        &anvil.rpc,
        &sb.path().join("data"),
        &sources(&emitter),
    );
    butler_json(&sb, &nd, &["index"]);

    let db = fresh_database(&server);
    let first = butler_json(&sb, &nd, &["store", "copy", "--to", &db]);
    let source = butler_json(&sb, &nd, &["stats"]);
    assert_eq!(first["stateHash"], source["stateHash"], "{first}");
    assert_eq!(first["copied"], 21, "{first}");
    assert_eq!(first["resumedFrom"], 0, "{first}");
    let pg = named_config(
        &sb,
        "pg",
        &anvil.rpc,
        &sb.path().join("pg-data"),
        &format!("{}{}", pg_store(&db), sources(&emitter)),
    );
    assert_eq!(
        butler_json(&sb, &pg, &["stats"]),
        source,
        "the copy answers as the source"
    );
    assert_eq!(
        butler_json(&sb, &pg, &["userops"]),
        butler_json(&sb, &nd, &["userops"])
    );
    assert_eq!(psql(&db, "SELECT status FROM workflow_state"), ["RUNNING"]);
    let v = butler_json(&sb, &pg, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");

    // the source grows; copying again resumes after what the target holds
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["3"]));
    transact(&anvil.rpc, &emitter, &calldata("complete(bytes32)", &[&id]));
    butler_json(&sb, &nd, &["index"]);
    let again = butler_json(&sb, &nd, &["store", "copy", "--to", &db]);
    assert_eq!(again["resumedFrom"], 21, "{again}");
    assert_eq!(again["copied"], 4, "{again}");
    let grown = butler_json(&sb, &nd, &["stats"]);
    assert_eq!(again["stateHash"], grown["stateHash"]);
    assert_eq!(butler_json(&sb, &pg, &["stats"]), grown);
    assert_eq!(
        psql(&db, "SELECT status FROM workflow_state"),
        ["COMPLETED"]
    );
    // the copy can continue as a live store: the indexer finds nothing missing
    let indexed = butler_json(&sb, &pg, &["index"]);
    assert_eq!(indexed["written"], 0, "{indexed}");
    assert_eq!(indexed["stateHash"], grown["stateHash"]);

    // a target holding another store is refused, and nothing is written to it
    let other = fresh_database(&server);
    let only_ops = named_config(
        &sb,
        "only-ops",
        &anvil.rpc,
        &sb.path().join("other"),
        &format!(
            "{}[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n",
            pg_store(&other)
        ),
    );
    butler_json(&sb, &only_ops, &["index"]);
    let before = pg_records(&other);
    let out = sb
        .butler()
        .arg("--config")
        .arg(&nd)
        .args(["store", "copy", "--to", &other])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(pg_records(&other), before, "a refused copy writes nothing");
    let forced = butler_json(&sb, &nd, &["store", "copy", "--to", &other, "--force"]);
    assert_eq!(forced["stateHash"], grown["stateHash"], "{forced}");
    assert_eq!(pg_records(&other).len(), 25);

    // and back: PostgreSQL into a new data dir's NDJSON files
    let back_dir = sb.path().join("back");
    let back = butler_json(
        &sb,
        &pg,
        &["store", "copy", "--to", back_dir.to_str().unwrap()],
    );
    assert_eq!(back["stateHash"], grown["stateHash"], "{back}");
    let back_config = named_config(&sb, "back", &anvil.rpc, &back_dir, &sources(&emitter));
    assert_eq!(butler_json(&sb, &back_config, &["stats"]), grown);
    assert_eq!(
        strip(butler_json(&sb, &back_config, &["replay", "--verify"]))["matches"],
        true
    );
    assert_eq!(
        keys_of_records(&records(&back_dir)),
        keys_of_records(&records(&sb.path().join("data")))
    );
}
