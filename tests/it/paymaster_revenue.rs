//! `butler paymaster revenue` over real sponsored UserOperations of the test paymaster (through alto on the
//! shared devnet): its counts, gas cost and fees by token equal the sums over the chain's
//! `UserOperationEvent` and `PostOpHandled` logs, `GET /api/admin/paymaster/revenue` answers the same row, and
//! the `--by day` rows add up to the total.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use serde_json::{Value, json};

use crate::paymaster_support::*;
use crate::support::devnet;
use crate::watcher_support::{DEV_ACCOUNT, artifact, calldata, checkpoint, hex_u64, wait_receipt};
use crate::watcher_userops::send_sponsored;

fn word(data: &str, i: usize) -> U256 {
    let hex = data.trim_start_matches("0x");
    U256::from_str_radix(&hex[i * 64..(i + 1) * 64], 16).unwrap()
}

fn topic_address(t: &Value) -> Address {
    Address::from_word(t.as_str().unwrap().parse::<B256>().unwrap())
}

fn logs(
    p: &Pm,
    address: &str,
    topic0: String,
    topics: Vec<Value>,
    from: u64,
    to: u64,
) -> Vec<Value> {
    let mut all = vec![json!(topic0)];
    all.extend(topics);
    p.dn.rpc_call(
        "eth_getLogs",
        json!([{"fromBlock": format!("0x{from:x}"), "toBlock": format!("0x{to:x}"), "address": address, "topics": all}]),
    )
    .as_array()
    .unwrap()
    .clone()
}

#[test]
fn revenue_equals_the_sums_over_sponsored_operations_and_post_op_handled() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "2", "0", "");
    send_from_dev(
        dn,
        &p.pm,
        &calldata("addStake(uint32)", &["86400"]),
        wei("1"),
    );
    let hash = dn.rpc_call(
        "eth_sendTransaction",
        json!([{"from": DEV_ACCOUNT, "data": artifact("TestEmitter")["bytecode"], "gas": "0x1000000"}]),
    );
    let emitter: Address = wait_receipt(dn.rpc(), hash.as_str().unwrap())["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let start = hex_u64(&dn.rpc_call("eth_blockNumber", json!([]))) + 1;
    let pm: Address = p.pm.parse().unwrap();
    let t1 = Address::repeat_byte(0x11);
    let reverting: Bytes = calldata("alwaysReverts()", &[]).parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (token, fee, func) in [
        (t1, 5u64, Bytes::new()),
        (t1, 7, reverting),
        (Address::ZERO, 11, Bytes::new()),
    ] {
        let dest = if func.is_empty() {
            Address::repeat_byte(0x33)
        } else {
            emitter
        };
        rt.block_on(send_sponsored(dn, pm, token, U256::from(fee), dest, func));
    }
    let text = std::fs::read_to_string(&p.config).unwrap();
    let ep = &p.ep;
    std::fs::write(
        &p.config,
        format!(
            "{text}[watcher]\nconfirmations = 0\n\
             [[watcher.sources]]\nname = \"ep\"\npreset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = {start}\n\
             [[watcher.sources]]\nname = \"pm\"\npreset = \"paymaster\"\naddress = \"{}\"\nstart_block = {start}\n",
            p.pm
        ),
    )
    .unwrap();
    let out =
        p.sb.butler()
            .arg("--config")
            .arg(&p.config)
            .arg("index")
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = checkpoint(&p.data)["lastBlock"].as_u64().unwrap();

    // truth from the chain's logs
    let uoe = format!(
        "0x{}",
        hex::encode(keccak256(
            "UserOperationEvent(bytes32,address,address,uint256,bool,uint256,uint256)"
        ))
    );
    let pm_topic = json!(format!("0x{:0>64}", hex::encode(pm)));
    let ops = logs(
        &p,
        ep,
        uoe,
        vec![Value::Null, Value::Null, pm_topic],
        start,
        last,
    );
    let succeeded = ops
        .iter()
        .filter(|l| !word(l["data"].as_str().unwrap(), 1).is_zero())
        .count();
    let cost: U256 = ops
        .iter()
        .map(|l| word(l["data"].as_str().unwrap(), 2))
        .sum();
    let post = format!(
        "0x{}",
        hex::encode(keccak256(
            "PostOpHandled(bytes32,address,address,uint256,uint256,uint8)"
        ))
    );
    let mut fees: BTreeMap<String, U256> = BTreeMap::new();
    for l in logs(&p, &p.pm, post, vec![], start, last) {
        *fees
            .entry(topic_address(&l["topics"][3]).to_checksum(None))
            .or_default() += word(l["data"].as_str().unwrap(), 1);
    }
    assert_eq!(ops.len(), 3);

    let out = p
        .butler(&["revenue", "--paymaster", "pm"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["paymasters"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    let r = &rows[0];
    assert_eq!(r["name"], "pm");
    assert_eq!(r["sponsoredOps"], 3);
    assert_eq!(r["succeeded"], succeeded as u64);
    assert_eq!(r["failed"], 3 - succeeded as u64);
    assert_eq!(r["sponsoredGasCostWei"], cost.to_string());
    let got: BTreeMap<String, U256> = r["feesByToken"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().parse().unwrap()))
        .collect();
    assert_eq!(got, fees, "fees by token equal the PostOpHandled sums");
    let native = Address::ZERO.to_checksum(None);
    let net: alloy::primitives::I256 = r["netByToken"][&native].as_str().unwrap().parse().unwrap();
    assert_eq!(
        net,
        alloy::primitives::I256::from_raw(fees[&native]) - alloy::primitives::I256::from_raw(cost)
    );

    // the API route answers the same row from the watcher's live state
    let server = crate::support::api::ApiServer::start(
        &format!(
            "[chain]\nrpc_url = \"{}\"\nchain_id = 31337\n[[paymasters]]\nname = \"pm\"\naddress = \"{}\"\nentrypoint = \"{ep}\"\n\
             [watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\
             [[watcher.sources]]\nname = \"ep\"\npreset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = {start}\n\
             [[watcher.sources]]\nname = \"pm\"\npreset = \"paymaster\"\naddress = \"{}\"\nstart_block = {start}\n",
            dn.rpc(),
            p.pm,
            p.pm
        ),
        &[],
    );
    let served = rt.block_on(async {
        let c = crate::support::api::client();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let v: Value = c
                .get(server.url("/api/admin/paymaster/revenue"))
                .bearer_auth(crate::support::api::ADMIN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(row) = v["paymasters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["address"] == p.pm.as_str() && r["postOps"] == 3)
            {
                return row.clone();
            }
            assert!(std::time::Instant::now() < deadline, "not indexed: {v}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    assert_eq!(&served, r, "CLI and API give the same row");

    let out = p.butler(&["revenue", "--by", "day"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mine: Vec<&Value> = v["paymasters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["address"] == p.pm.as_str())
        .collect();
    assert!(mine.iter().all(|r| r["period"].is_string()));
    let ops_sum: u64 = mine
        .iter()
        .map(|r| r["sponsoredOps"].as_u64().unwrap())
        .sum();
    assert_eq!(ops_sum, 3, "the daily rows add up to the total");
    let out = p
        .butler(&["revenue", "--paymaster", "pm", "--until", "2000-01-01"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["paymasters"].as_array().unwrap().is_empty(),
        "nothing before 2000"
    );
}
