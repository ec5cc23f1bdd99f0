//! Watcher tests with real UserOperations through alto on the shared devnet: the indexed user operations
//! equal the chain's `UserOperationEvent` logs (truth), and operations sponsored by the test paymaster carry
//! the fee and post-op mode of its `PostOpHandled` (joined data), with per-paymaster fees equal to the chain's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use butler::probe::bundler::BundlerClient;
use butler::probe::userop::{
    EntryPointVersion, PaymasterFields, UserOperation, create_account_call, execute_call,
};
use serde_json::{Value, json};

use crate::support::Sandbox;
use crate::support::devnet::{self, Devnet};
use crate::watcher_support::*;

const USER_OPERATION_EVENT: &str =
    "0x49628fd1471006c1482da88028e9ce4dbb080b815c9b0344d39e5a8e6ec1419f";

fn funded_key(dn: &Devnet) -> PrivateKeySigner {
    let key = PrivateKeySigner::random();
    dn.rpc_call(
        "anvil_setBalance",
        json!([key.address(), "0x56bc75e2d63100000"]),
    );
    key
}

fn key_hex(key: &PrivateKeySigner) -> String {
    format!("0x{}", hex::encode(key.to_bytes()))
}

fn head(dn: &Devnet) -> u64 {
    hex_u64(&dn.rpc_call("eth_blockNumber", json!([])))
}

fn word(data: &str, i: usize) -> U256 {
    let hex = data.trim_start_matches("0x");
    U256::from_str_radix(&hex[i * 64..(i + 1) * 64], 16).unwrap()
}

fn topic_address(t: &Value) -> Address {
    Address::from_word(t.as_str().unwrap().parse::<B256>().unwrap())
}

/// The chain's logs with `topic0` at `address` in `[from, to]`.
fn logs(dn: &Devnet, address: &str, topic0: &str, from: u64, to: u64) -> Vec<Value> {
    dn.rpc_call(
        "eth_getLogs",
        json!([{"fromBlock": format!("0x{from:x}"), "toBlock": format!("0x{to:x}"), "address": address, "topics": [topic0]}]),
    )
    .as_array()
    .unwrap()
    .clone()
}

fn watcher_config(
    sb: &Sandbox,
    dn: &Devnet,
    sources: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = sb.path().join("data");
    let config = write_config(
        sb,
        dn.rpc(),
        &data,
        &format!("confirmations = 0\n{sources}"),
    );
    (config, data)
}

#[test]
fn indexed_userops_equal_the_chains_user_operation_events() {
    let Some(dn) = devnet::shared() else { return };
    let ep = dn.get("ENTRYPOINT_V07");
    let start = head(dn) + 1;
    let probe_sb = Sandbox::new();
    let base = [
        "--rpc-url",
        dn.rpc(),
        "probe",
        "userop",
        "--bundler",
        dn.bundler(),
        "--entrypoint",
        ep,
        "--factory",
        dn.get("SIMPLE_ACCOUNT_FACTORY"),
    ];
    let signer = dn.key_file("watcher-pm-signer.key", dn.get("PM_SIGNER_KEY"));
    let funder = dn.key_file(
        &format!("watcher-funder-{}.key", crate::support::free_port()),
        &key_hex(&funded_key(dn)),
    );
    let mut sent = Vec::new();
    for extra in [
        vec![
            "--paymaster",
            dn.get("VERIFYING_PAYMASTER"),
            "--paymaster-signer-key-file",
            signer.to_str().unwrap(),
            "--count",
            "2",
        ],
        vec![
            "--funder-key-file",
            funder.to_str().unwrap(),
            "--count",
            "1",
        ],
    ] {
        let mut cmd = probe_sb.butler();
        cmd.args(base).args(&extra).args(["--output", "json"]);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        for op in report["ops"].as_array().unwrap() {
            sent.push(op["user_op_hash"].as_str().unwrap().to_string());
        }
    }

    let sb = Sandbox::new();
    let (config, data) = watcher_config(
        &sb,
        dn,
        &format!(
            "[[watcher.sources]]\nname = \"ep\"\npreset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = {start}\n"
        ),
    );
    butler_json(&sb, &config, &["index"]);
    let last = checkpoint(&data)["lastBlock"].as_u64().unwrap();
    let ops = butler_json(&sb, &config, &["userops", "--limit", "100000"]);
    let ops = ops["userops"].as_array().unwrap();
    let chain = logs(dn, ep, USER_OPERATION_EVENT, start, last);
    assert_eq!(
        ops.len(),
        chain.len(),
        "one user operation per UserOperationEvent"
    );
    assert!(ops.len() >= 3);
    let by_hash: BTreeMap<String, &Value> = ops
        .iter()
        .map(|o| (o["userOpHash"].as_str().unwrap().to_string(), o))
        .collect();
    for hash in &sent {
        assert!(
            by_hash.contains_key(&hash.to_lowercase()),
            "probe op {hash} indexed"
        );
    }
    let mut self_funded = 0;
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
        assert_eq!(op["entryPoint"], ep);
        let tx = dn.rpc_call("eth_getTransactionByHash", json!([l["transactionHash"]]));
        assert_eq!(
            op["bundler"].as_str().unwrap().to_lowercase(),
            tx["from"].as_str().unwrap().to_lowercase(),
            "the bundler is the transaction's sender"
        );
        if topic_address(&t[3]) == Address::ZERO {
            self_funded += 1;
        }
    }
    assert!(self_funded >= 1, "a self-funded operation is among them");
    let v = butler_json(&sb, &config, &["replay", "--verify"]);
    assert_eq!(v["matches"], true);
}

/// Sends one v0.7 UserOperation from a fresh SimpleAccount, sponsored by the test paymaster with
/// `paymasterData = token ++ fee`; the account calls `dest` with `func`. Returns (userOpHash, success).
pub(crate) async fn send_sponsored(
    dn: &Devnet,
    paymaster: Address,
    token: Address,
    fee: U256,
    dest: Address,
    func: Bytes,
) -> (B256, bool) {
    let ep: Address = dn.get("ENTRYPOINT_V07").parse().unwrap();
    let factory: Address = dn.get("SIMPLE_ACCOUNT_FACTORY").parse().unwrap();
    let owner = PrivateKeySigner::random();
    let salt = U256::from(rand::random::<u64>());
    let sender: Address = dn
        .cast(&[
            "call",
            &factory.to_string(),
            "getAddress(address,uint256)(address)",
            &owner.address().to_string(),
            &salt.to_string(),
        ])
        .parse()
        .unwrap();
    let bundler = BundlerClient::new(dn.bundler().parse().unwrap(), Duration::from_secs(10), 2);
    let price = bundler.pimlico_gas_price().await.unwrap();
    let mut data = token.to_vec();
    data.extend_from_slice(&fee.to_be_bytes::<32>());
    let mut op = UserOperation {
        sender,
        nonce: U256::ZERO,
        factory: Some(factory),
        factory_data: create_account_call(owner.address(), salt),
        call_data: execute_call(dest, U256::ZERO, func),
        call_gas_limit: 200_000,
        verification_gas_limit: 500_000,
        pre_verification_gas: 100_000,
        max_fee_per_gas: price.max_fee_per_gas,
        max_priority_fee_per_gas: price.max_priority_fee_per_gas,
        paymaster: Some(PaymasterFields {
            paymaster,
            verification_gas_limit: 100_000,
            post_op_gas_limit: 100_000,
            data: data.into(),
        }),
        signature: Bytes::new(),
    };
    let chain_id = dn.get("CHAIN_ID").parse().unwrap();
    let hash = op.hash(EntryPointVersion::V07, ep, chain_id);
    op.signature = owner
        .sign_message_sync(hash.as_slice())
        .unwrap()
        .as_bytes()
        .to_vec()
        .into();
    let sent = bundler.send(&op, ep).await.unwrap();
    assert_eq!(sent, hash);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(r) = bundler.receipt(hash).await.unwrap() {
            return (hash, r.success);
        }
        assert!(Instant::now() < deadline, "operation {hash} not included");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn userops_of_the_test_paymaster_carry_its_fee_and_post_op_mode() {
    let Some(dn) = devnet::shared() else { return };
    let ep = dn.get("ENTRYPOINT_V07");
    let owner = funded_key(dn);
    let from = owner.address().to_checksum(None);
    dn.rpc_call("anvil_impersonateAccount", json!([from]));
    let send = |to: Option<&str>, data: String, value: &str| -> Value {
        let mut tx = json!({"from": from, "data": data, "value": value, "gas": "0x1000000"});
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = dn.rpc_call("eth_sendTransaction", json!([tx]));
        let r = wait_receipt(dn.rpc(), hash.as_str().unwrap());
        assert_eq!(r["status"], "0x1", "{r}");
        r
    };
    let ctor = format!("{:0>64}", ep.trim_start_matches("0x"));
    let code = artifact("TestPaymaster")["bytecode"]
        .as_str()
        .unwrap()
        .to_string();
    let deployed = send(None, format!("{code}{ctor}"), "0x0");
    let pm: Address = deployed["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let pm_s = pm.to_checksum(None);
    let two_eth = "0x1bc16d674ec80000";
    let one_eth = "0xde0b6b3a7640000";
    send(Some(&pm_s), calldata("deposit()", &[]), two_eth);
    send(
        Some(&pm_s),
        calldata("addStake(uint32)", &["86400"]),
        one_eth,
    );
    let emitter_code = artifact("TestEmitter")["bytecode"]
        .as_str()
        .unwrap()
        .to_string();
    let emitter = send(None, emitter_code, "0x0");
    let emitter: Address = emitter["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let start = head(dn) + 1;

    let t1: Address = "0x1111111111111111111111111111111111111111"
        .parse()
        .unwrap();
    let t2: Address = "0x2222222222222222222222222222222222222222"
        .parse()
        .unwrap();
    let reverting: Bytes = calldata("alwaysReverts()", &[]).parse().unwrap();
    let plan = [
        (t1, 5u64, Bytes::new(), true),
        (t1, 7, reverting, false),
        (t2, 11, Bytes::new(), true),
    ];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut sent = Vec::new();
    for (token, fee, func, ok) in plan.iter().cloned() {
        let dest = if func.is_empty() {
            owner.address()
        } else {
            emitter
        };
        let (hash, success) =
            rt.block_on(send_sponsored(dn, pm, token, U256::from(fee), dest, func));
        assert_eq!(success, ok);
        sent.push((hash, token, fee, ok));
    }

    let sb = Sandbox::new();
    let (config, data) = watcher_config(
        &sb,
        dn,
        &format!(
            "[[watcher.sources]]\nname = \"ep\"\npreset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = {start}\n\
             [[watcher.sources]]\nname = \"pm\"\npreset = \"paymaster\"\naddress = \"{pm_s}\"\nstart_block = {start}\n"
        ),
    );
    butler_json(&sb, &config, &["index"]);
    let last = checkpoint(&data)["lastBlock"].as_u64().unwrap();
    let ops = butler_json(&sb, &config, &["userops", "--paymaster", &pm_s]);
    let ops = ops["userops"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    for (hash, token, fee, ok) in &sent {
        let op = ops
            .iter()
            .find(|o| o["userOpHash"] == hash.to_string())
            .unwrap_or_else(|| panic!("op {hash} indexed"));
        assert_eq!(op["success"], *ok);
        assert_eq!(op["feeAmount"], fee.to_string());
        assert_eq!(op["feeToken"], token.to_checksum(None));
        assert_eq!(
            op["postOpMode"],
            if *ok { "opSucceeded" } else { "opReverted" }
        );
    }
    let failed = butler_json(
        &sb,
        &config,
        &["userops", "--paymaster", &pm_s, "--success", "false"],
    );
    assert_eq!(failed["userops"].as_array().unwrap().len(), 1);

    // per-paymaster fees by token equal the sums of PostOpHandled on chain
    let topic = format!(
        "0x{}",
        hex::encode(alloy::primitives::keccak256(
            "PostOpHandled(bytes32,address,address,uint256,uint256,uint8)"
        ))
    );
    let mut on_chain: BTreeMap<String, U256> = BTreeMap::new();
    for l in logs(dn, &pm_s, &topic, start, last) {
        let token = topic_address(&l["topics"][3]).to_checksum(None);
        *on_chain.entry(token).or_default() += word(l["data"].as_str().unwrap(), 1);
    }
    assert_eq!(on_chain.len(), 2);
    let stats = butler_json(&sb, &config, &["stats"]);
    let p = &stats["paymasters"][&pm_s];
    let fees: BTreeMap<String, U256> = p["feesByToken"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().parse().unwrap()))
        .collect();
    assert_eq!(fees, on_chain);
    assert_eq!(p["sponsoredOps"], 3);
    assert_eq!(p["postOpModes"], json!({"opReverted": 1, "opSucceeded": 2}));
}
