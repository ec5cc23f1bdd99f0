//! Aztec provider management on the real Aztec L1 deployment plus the test StakingRegistry: a provider created,
//! its admin changed (two steps) and its commission changed, each executed from butler's own calldata (printed,
//! sent by butler, or taken from its Safe batch); bad input and a node on another chain refused with exit 2.

use std::path::Path;

use serde_json::Value;

use crate::support::aztec::{
    ADMIN, ADMIN_KEY, AztecNet, NEW_ADMIN, NEW_ADMIN_KEY, STAKER, node_stub,
};

/// Runs `butler --config CFG --output json aztec ARGS`, asserts success and parses stdout.
pub fn aztec_json(net: &AztecNet, cfg: &Path, args: &[&str]) -> Value {
    let out = net
        .sb
        .butler()
        .arg("--config")
        .arg(cfg)
        .args(["--output", "json", "aztec"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "butler aztec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "butler aztec {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs `butler --config CFG aztec ARGS` and returns (exit code, stderr).
pub fn aztec_fail(net: &AztecNet, cfg: &Path, args: &[&str]) -> (i32, String) {
    let out = net
        .sb
        .butler()
        .arg("--config")
        .arg(cfg)
        .arg("aztec")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn provider_create_admin_change_and_commission_change_run_from_butler_calldata() {
    let Some(net) = AztecNet::start() else { return };
    let keys = net.sb.path().join("keys.json");
    let cfg = net.config(&keys, "");
    let reg = net.staking_registry.clone();

    // create: butler prints the registerProvider transaction; the admin sends it as printed.
    let txs = aztec_json(
        &net,
        &cfg,
        &[
            "provider",
            "create",
            "--admin",
            ADMIN,
            "--commission-bps",
            "500",
            "--rewards-recipient",
            STAKER,
        ],
    );
    assert_eq!(txs.as_array().unwrap().len(), 1, "{txs}");
    assert_eq!(
        txs[0]["to"].as_str().unwrap().to_lowercase(),
        reg.to_lowercase()
    );
    assert_eq!(txs[0]["value"], "0");
    net.send_planned(ADMIN_KEY, &txs);
    assert_eq!(
        net.call_uint(&reg, "nextProviderIdentifier()(uint256)", &[]),
        2
    );

    // id: found by admin, equal to the contract's own read.
    let found = aztec_json(&net, &cfg, &["provider", "id", "--admin", ADMIN]);
    assert_eq!(found[0]["id"], 1, "{found}");
    assert_eq!(found[0]["take_rate_bps"], 500);
    assert_eq!(found[0]["rewards_recipient"].as_str().unwrap(), STAKER);
    let onchain = net.call(
        &reg,
        "providerConfigurations(uint256)(address,uint16,address)",
        &["1"],
    );
    assert!(
        onchain.contains(ADMIN) && onchain.contains("500"),
        "{onchain}"
    );

    // set-admin from the printed calldata, then accept-admin sent by butler itself with the new admin's key.
    let txs = aztec_json(
        &net,
        &cfg,
        &[
            "provider",
            "set-admin",
            "--provider-id",
            "1",
            "--new-admin",
            NEW_ADMIN,
        ],
    );
    net.send_planned(ADMIN_KEY, &txs);
    let new_admin_key = net.key_file("new-admin.key", NEW_ADMIN_KEY);
    let sent = aztec_json(
        &net,
        &cfg,
        &[
            "provider",
            "accept-admin",
            "--provider-id",
            "1",
            "--send",
            "--yes",
            "--private-key-file",
            new_admin_key.to_str().unwrap(),
        ],
    );
    assert!(
        sent[0]["hash"].as_str().unwrap().starts_with("0x"),
        "{sent}"
    );
    let onchain = net.call(
        &reg,
        "providerConfigurations(uint256)(address,uint16,address)",
        &["1"],
    );
    assert!(onchain.contains(NEW_ADMIN), "admin not changed: {onchain}");

    // set-commission through a Safe Transaction Builder batch: the batch's transaction is what gets executed.
    let safe = net.sb.path().join("commission.json");
    aztec_json(
        &net,
        &cfg,
        &[
            "provider",
            "set-commission",
            "--provider-id",
            "1",
            "--commission-bps",
            "750",
            "--safe-json",
            safe.to_str().unwrap(),
        ],
    );
    let batch: Value = serde_json::from_str(&std::fs::read_to_string(&safe).unwrap()).unwrap();
    assert_eq!(batch["version"], "1.0");
    assert_eq!(batch["chainId"], "31337");
    assert!(batch["meta"]["name"].is_string(), "{batch}");
    net.send_planned(NEW_ADMIN_KEY, &batch["transactions"]);
    let onchain = net.call(
        &reg,
        "providerConfigurations(uint256)(address,uint16,address)",
        &["1"],
    );
    assert!(onchain.contains("750"), "commission not changed: {onchain}");
    let found = aztec_json(&net, &cfg, &["provider", "id", "--provider-id", "1"]);
    assert_eq!(found[0]["take_rate_bps"], 750);
    assert_eq!(found[0]["admin"].as_str().unwrap(), NEW_ADMIN);

    // Refusals: a commission above 100%, --send without --yes off a terminal, a node on another L1 chain.
    let (code, err) = aztec_fail(
        &net,
        &cfg,
        &[
            "provider",
            "set-commission",
            "--provider-id",
            "1",
            "--commission-bps",
            "10001",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("10000"), "{err}");
    let (code, err) = aztec_fail(
        &net,
        &cfg,
        &[
            "provider",
            "accept-admin",
            "--provider-id",
            "1",
            "--send",
            "--private-key-file",
            new_admin_key.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--yes"), "{err}");
    let other = node_stub(serde_json::json!({
        "l1ChainId": 1,
        "l1ContractAddresses": {
            "rollupAddress": net.rollup(),
            "registryAddress": net.addr("registryAddress"),
            "stakingAssetAddress": net.addr("stakingAssetAddress"),
        },
    }));
    let wrong = net.sb.write(
        "wrong-chain.toml",
        &format!(
            "[chain]\nrpc_url = \"{}\"\n\n[aztec]\nnode_url = \"{other}\"\nstaking_registry = \"{reg}\"\n",
            net.devnet.rpc()
        ),
    );
    let (code, err) = aztec_fail(&net, &wrong, &["provider", "id", "--provider-id", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("chain id mismatch"), "{err}");
}
