//! Truth on PostgreSQL with real UserOperations through alto on the shared devnet: the user operations
//! indexed into `chain_event` equal the chain's `UserOperationEvent` logs field by field, and the same
//! blocks indexed into the NDJSON store answer the same operations with the same state hash.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::devnet;
use crate::watcher_pg_support::*;
use crate::watcher_support::*;

const USER_OPERATION_EVENT: &str =
    "0x49628fd1471006c1482da88028e9ce4dbb080b815c9b0344d39e5a8e6ec1419f";

fn word(data: &str, i: usize) -> U256 {
    let hex = data.trim_start_matches("0x");
    U256::from_str_radix(&hex[i * 64..(i + 1) * 64], 16).unwrap()
}

fn topic_address(t: &Value) -> Address {
    Address::from_word(t.as_str().unwrap().parse::<B256>().unwrap())
}

#[test]
fn real_user_operations_in_postgres_equal_the_chains_user_operation_events() {
    let Some(server) = pg_server() else { return };
    let Some(dn) = devnet::shared() else { return };
    let ep = dn.get("ENTRYPOINT_V07");
    let start = hex_u64(&dn.rpc_call("eth_blockNumber", json!([]))) + 1;
    let probe_sb = Sandbox::new();
    let signer = dn.key_file("watcher-pg-pm-signer.key", dn.get("PM_SIGNER_KEY"));
    let out = probe_sb
        .butler()
        .args(["--rpc-url", dn.rpc(), "--output", "json", "probe", "userop"])
        .args(["--bundler", dn.bundler(), "--entrypoint", ep])
        .args(["--factory", dn.get("SIMPLE_ACCOUNT_FACTORY")])
        .args(["--paymaster", dn.get("VERIFYING_PAYMASTER")])
        .arg("--paymaster-signer-key-file")
        .arg(&signer)
        .args(["--count", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: Vec<String> = serde_json::from_slice::<Value>(&out.stdout).unwrap()["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["user_op_hash"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(sent.len(), 3);

    let source = format!(
        "confirmations = 0\n[[watcher.sources]]\nname = \"ep\"\npreset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = {start}\n"
    );
    let db = fresh_database(&server);
    let sb = Sandbox::new();
    let pg = named_config(
        &sb,
        "pg",
        dn.rpc(),
        &sb.path().join("pg"),
        &format!("{}{source}", pg_store(&db)),
    );
    let indexed = butler_json(&sb, &pg, &["index"]);
    let last = indexed["lastBlock"].as_u64().unwrap();
    // the NDJSON store indexes the same blocks (other tests may add blocks meanwhile: compared up to both)
    let nd_sources = named_config(&sb, "nd", dn.rpc(), &sb.path().join("nd"), &source);
    let out = sb
        .butler()
        .arg("--config")
        .arg(&nd_sources)
        .args(["--output", "json", "index"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let ops = butler_json(&sb, &pg, &["userops", "--limit", "100000"]);
    let ops = ops["userops"].as_array().unwrap();
    let chain = dn
        .rpc_call(
            "eth_getLogs",
            json!([{"fromBlock": format!("0x{start:x}"), "toBlock": format!("0x{last:x}"), "address": ep, "topics": [USER_OPERATION_EVENT]}]),
        )
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        ops.len(),
        chain.len(),
        "one user operation per UserOperationEvent"
    );
    let by_hash: BTreeMap<String, &Value> = ops
        .iter()
        .map(|o| (o["userOpHash"].as_str().unwrap().to_string(), o))
        .collect();
    for hash in &sent {
        assert!(by_hash.contains_key(hash), "probe op {hash} indexed");
    }
    for l in &chain {
        let t = l["topics"].as_array().unwrap();
        let op = by_hash[t[1].as_str().unwrap()];
        let data = l["data"].as_str().unwrap();
        assert_eq!(op["txHash"], l["transactionHash"]);
        assert_eq!(
            op["blockNumber"].as_u64().unwrap(),
            hex_u64(&l["blockNumber"])
        );
        assert_eq!(op["sender"], topic_address(&t[2]).to_checksum(None));
        assert_eq!(op["paymaster"], topic_address(&t[3]).to_checksum(None));
        assert_eq!(op["nonce"], word(data, 0).to_string());
        assert_eq!(op["success"], !word(data, 1).is_zero());
        assert_eq!(op["actualGasCostWei"], word(data, 2).to_string());
        assert_eq!(op["actualGasUsed"], word(data, 3).to_string());
        let tx = dn.rpc_call("eth_getTransactionByHash", json!([l["transactionHash"]]));
        assert_eq!(
            op["bundler"].as_str().unwrap().to_lowercase(),
            tx["from"].as_str().unwrap().to_lowercase(),
            "the bundler is the transaction's sender (tx_from survives the table)"
        );
    }
    let nd_stats = butler_json(&sb, &nd_sources, &["stats"]);
    let pg_stats = butler_json(&sb, &pg, &["stats"]);
    let both = nd_stats["lastBlock"].as_u64().unwrap().min(last);
    let upto = |v: Value| -> Vec<Value> {
        v["userops"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["blockNumber"].as_u64().unwrap() <= both)
            .cloned()
            .collect()
    };
    assert_eq!(
        upto(butler_json(
            &sb,
            &nd_sources,
            &["userops", "--limit", "100000"]
        )),
        upto(json!({ "userops": ops })),
        "both stores answer the same operations"
    );
    if nd_stats["lastBlock"] == pg_stats["lastBlock"] {
        assert_eq!(nd_stats, pg_stats, "same blocks, same state hash");
    }
    let v = butler_json(&sb, &pg, &["replay", "--verify"]);
    assert_eq!(v["matches"], true, "{v}");
}
