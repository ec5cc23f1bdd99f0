//! Issue 2 on a real devnet: `chain status` equals what anvil reports, `paymaster status` shows the devnet
//! paymaster's deposit and stake (v0.7) and a deposit on v0.8, `probe userop` gets sponsored and self-funded
//! operations included through alto with `UserOperationEvent(success=true)` on chain, and `health`
//! passes or fails on `min_deposit_eth`.

use alloy::primitives::{B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use butler::chain::bindings::IEntryPoint;
use predicates::prelude::*;
use serde_json::{Value, json};

use crate::support::devnet::{self, Devnet};
use crate::support::{Sandbox, free_port};

/// Runs butler and parses its JSON stdout, asserting the exit code.
fn butler_json(sb: &Sandbox, args: &[&str], code: i32) -> Value {
    let out = sb
        .butler()
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "butler {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "butler {args:?}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn hex_u256(v: &Value) -> U256 {
    v.as_str().unwrap().parse::<U256>().unwrap()
}

/// A fresh key with 100 ETH, so tests never share a sender (and its nonces) with anyone.
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

/// Asserts every operation of a probe report is on chain: a `UserOperationEvent` with its userOpHash,
/// sender and paymaster in the reported block, with success=true. Returns the summed actualGasCost.
fn assert_ops_on_chain(dn: &Devnet, report: &Value, entrypoint: &str, paymaster: &str) -> U256 {
    assert_eq!(report["ok"], true, "{report:#}");
    let mut total = U256::ZERO;
    for op in report["ops"].as_array().unwrap() {
        assert_eq!(op["included"], true, "{op}");
        assert_eq!(op["success"], true, "{op}");
        assert!(op["latency_ms"].as_u64().is_some(), "{op}");
        let block = format!("{:#x}", op["block"].as_u64().unwrap());
        let logs = dn.rpc_call(
            "eth_getLogs",
            json!([{
                "address": entrypoint,
                "fromBlock": block,
                "toBlock": block,
                "topics": [IEntryPoint::UserOperationEvent::SIGNATURE_HASH, op["user_op_hash"]],
            }]),
        );
        let logs = logs.as_array().unwrap();
        assert_eq!(logs.len(), 1, "one UserOperationEvent for {op}: {logs:?}");
        let log = &logs[0];
        assert_eq!(log["transactionHash"], op["tx_hash"]);
        let topic_addr = |i: usize| {
            let t: B256 = log["topics"][i].as_str().unwrap().parse().unwrap();
            alloy::primitives::Address::from_word(t).to_checksum(None)
        };
        assert_eq!(topic_addr(2), op["sender"].as_str().unwrap());
        assert_eq!(topic_addr(3), paymaster);
        let data = hex::decode(log["data"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        assert_eq!(data.len(), 4 * 32);
        assert_eq!(U256::from_be_slice(&data[32..64]), U256::from(1), "success");
        let cost = U256::from_be_slice(&data[64..96]);
        assert_eq!(
            cost.to_string(),
            op["actual_gas_cost_wei"].as_str().unwrap(),
            "actualGasCost"
        );
        total += cost;
    }
    total
}

/// On a devnet of its own (so nothing else moves the chain): exact chain status, the paymaster's 10 ETH
/// deposit and 1 ETH stake, sponsored probe operations on chain, and the deposit lowered by exactly their cost.
#[test]
fn fresh_devnet_status_sponsored_probe_and_deposit() {
    let Some(dn) = Devnet::start() else { return };
    let sb = Sandbox::new();
    let rpc = dn.rpc();

    let before = dn.rpc_call("eth_getBlockByNumber", json!(["latest", false]));
    let status = butler_json(&sb, &["--rpc-url", rpc, "chain", "status"], 0);
    let after = dn.rpc_call("eth_getBlockByNumber", json!(["latest", false]));
    assert_eq!(
        before["hash"], after["hash"],
        "the chain moved during the test"
    );
    assert_eq!(status["chain_id"], 31337);
    assert_eq!(
        status["head_block"].as_u64().unwrap(),
        hex_u64(&before["number"])
    );
    assert_eq!(status["head_block_hash"], before["hash"]);
    assert_eq!(
        status["head_timestamp"].as_u64().unwrap(),
        hex_u64(&before["timestamp"])
    );
    assert_eq!(
        status["base_fee_wei"].as_str().unwrap(),
        hex_u256(&before["baseFeePerGas"]).to_string()
    );
    let gas_price = dn.rpc_call("eth_gasPrice", json!([]));
    assert_eq!(
        status["gas_price_wei"].as_str().unwrap(),
        hex_u256(&gas_price).to_string()
    );
    assert_eq!(status["syncing"], false);
    assert_eq!(
        status["client_version"],
        dn.rpc_call("web3_clientVersion", json!([]))
    );
    assert!(status["rpc_latency_secs"].as_f64().unwrap() >= 0.0);

    let pm = dn.get("VERIFYING_PAYMASTER");
    let ep = dn.get("ENTRYPOINT_V07");
    let cfg = sb.write(
        "butler.toml",
        &format!(
            "[chain]\nrpc_url = \"{rpc}\"\nchain_id = 31337\n\n[[paymasters]]\nname = \"verifying\"\n\
address = \"{pm}\"\nentrypoint = \"{ep}\"\nmin_deposit_eth = \"1\"\n\n[probe]\nfactory = \"{}\"\n\
bundler = \"{}\"\nentrypoint = \"{ep}\"\npaymaster = \"{pm}\"\npaymaster_signer_key_file = \"{}\"\n",
            dn.get("SIMPLE_ACCOUNT_FACTORY"),
            dn.bundler(),
            dn.key_file("pm-signer.key", dn.get("PM_SIGNER_KEY")).display(),
        ),
    );
    let cfg = cfg.to_str().unwrap();
    let ten_eth = "10000000000000000000";
    let pm_status = butler_json(&sb, &["--config", cfg, "paymaster", "status"], 0);
    let s = &pm_status[0];
    assert_eq!(s["name"], "verifying");
    assert_eq!(s["address"], pm);
    assert_eq!(s["entrypoint"], ep);
    assert_eq!(s["deposit_wei"], ten_eth);
    assert_eq!(s["staked"], true);
    assert_eq!(s["stake_wei"], "1000000000000000000");
    assert_eq!(s["unstake_delay_secs"], 86400);
    assert_eq!(s["withdraw_time"], 0);

    let report = butler_json(
        &sb,
        &[
            "--config",
            cfg,
            "probe",
            "userop",
            "--count",
            "3",
            "--concurrency",
            "3",
        ],
        0,
    );
    assert_eq!(report["mode"], "sponsored");
    assert_eq!(report["entrypoint_version"], "0.7");
    assert_eq!(report["ops"].as_array().unwrap().len(), 3);
    let spent = assert_ops_on_chain(&dn, &report, ep, pm);

    let pm_status = butler_json(&sb, &["--config", cfg, "paymaster", "status"], 0);
    let deposit: U256 = pm_status[0]["deposit_wei"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let ten: U256 = ten_eth.parse().unwrap();
    assert!(deposit < ten, "deposit {deposit} did not go down");
    assert_eq!(
        deposit,
        ten - spent,
        "deposit lowered by the ops' actualGasCost"
    );

    // The table form names the paymaster's deposit in ETH.
    sb.butler()
        .args(["--config", cfg, "paymaster", "status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("verifying").and(predicate::str::contains(pm)));
}

/// Self-funded operations on the shared devnet (v0.7 and v0.8): the funder's deposit pays, the events are on chain.
#[test]
fn self_funded_probe_on_v07_and_v08() {
    let Some(dn) = devnet::shared() else { return };
    let sb = Sandbox::new();
    let funder = dn.key_file(
        &format!("funder-{}.key", free_port()),
        &key_hex(&funded_key(dn)),
    );
    let zero = alloy::primitives::Address::ZERO.to_checksum(None);
    for (ep, factory, version) in [
        (
            dn.get("ENTRYPOINT_V07"),
            dn.get("SIMPLE_ACCOUNT_FACTORY"),
            "0.7",
        ),
        (
            dn.get("ENTRYPOINT_V08"),
            dn.get("SIMPLE_ACCOUNT_FACTORY_V08"),
            "0.8",
        ),
    ] {
        let report = butler_json(
            &sb,
            &[
                "--rpc-url",
                dn.rpc(),
                "probe",
                "userop",
                "--bundler",
                dn.bundler(),
                "--entrypoint",
                ep,
                "--factory",
                factory,
                "--funder-key-file",
                funder.to_str().unwrap(),
                "--count",
                "2",
            ],
            0,
        );
        assert_eq!(report["mode"], "self-funded");
        assert_eq!(report["entrypoint_version"], version);
        assert_eq!(report["paymaster"], Value::Null);
        assert_ops_on_chain(dn, &report, ep, &zero);
    }
}

/// `paymaster status` against EntryPoint v0.8: a deposit made with cast reads back exactly.
#[test]
fn paymaster_status_on_entrypoint_v08() {
    let Some(dn) = devnet::shared() else { return };
    let sb = Sandbox::new();
    let payer = funded_key(dn);
    let holder = PrivateKeySigner::random().address().to_checksum(None);
    let ep = dn.get("ENTRYPOINT_V08");
    dn.cast(&[
        "send",
        "--private-key",
        &key_hex(&payer),
        ep,
        "depositTo(address)",
        &holder,
        "--value",
        "0.25ether",
    ]);
    let out = butler_json(
        &sb,
        &[
            "--rpc-url",
            dn.rpc(),
            "paymaster",
            "status",
            "--paymaster",
            &holder,
            "--entrypoint",
            ep,
        ],
        0,
    );
    assert_eq!(out[0]["entrypoint"], ep);
    assert_eq!(out[0]["deposit_wei"], "250000000000000000");
    assert_eq!(out[0]["staked"], false);
    assert_eq!(out[0]["stake_wei"], "0");
    assert_eq!(out[0]["owner"], Value::Null);
}

/// `health` passes with a low `min_deposit_eth` and exits 1 with a huge one.
#[test]
fn health_follows_min_deposit() {
    let Some(dn) = devnet::shared() else { return };
    let sb = Sandbox::new();
    let config = |min: &str| {
        sb.write(
            &format!("health-{min}.toml"),
            &format!(
                "[chain]\nrpc_url = \"{}\"\nchain_id = 31337\n\n[[paymasters]]\nname = \"verifying\"\n\
address = \"{}\"\nentrypoint = \"{}\"\nmin_deposit_eth = \"{min}\"\n",
                dn.rpc(),
                dn.get("VERIFYING_PAYMASTER"),
                dn.get("ENTRYPOINT_V07"),
            ),
        )
    };
    let low = config("0.5");
    let out = butler_json(&sb, &["--config", low.to_str().unwrap(), "health"], 0);
    assert_eq!(out["ok"], true, "{out:#}");
    assert!(
        out["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "paymaster verifying deposit" && c["ok"] == true),
        "{out:#}"
    );
    let high = config("1000000");
    let out = butler_json(&sb, &["--config", high.to_str().unwrap(), "health"], 1);
    assert_eq!(out["ok"], false);
    sb.butler()
        .args(["--config", high.to_str().unwrap(), "health"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("FAIL").and(predicate::str::contains("below min_deposit_eth")),
        );
}

/// Usage errors exit 2 before touching any endpoint, and a key never shows up in the output.
#[test]
fn probe_usage_errors_exit_2_without_leaking_keys() {
    let sb = Sandbox::new();
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    let base = [
        "--rpc-url",
        unreachable.as_str(),
        "probe",
        "userop",
        "--bundler",
        unreachable.as_str(),
        "--factory",
        "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    ];
    sb.butler()
        .args(base)
        .args(["--paymaster", "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--paymaster-signer-key-file"));
    sb.butler()
        .args(base)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--funder-key-file"));
    let secret = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c3";
    let bad = sb.write("bad.key", &format!("{secret}\n"));
    sb.butler()
        .args(base)
        .args(["--funder-key-file", bad.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("bad.key")
                .and(predicate::str::contains("not a private key"))
                .and(predicate::str::contains(&secret[2..20]).not()),
        );
    sb.butler()
        .args([
            "probe",
            "userop",
            "--funder-key-file",
            bad.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--bundler"));
}
