//! The watcher's `aztec` preset and handlers on the real Aztec deployment: `butler serve --watcher` indexes the
//! StakingRegistry's StakedWithProvider and queue events and proposes, in DATA_DIR/aztec/actions.json, the
//! coinbase of a staked keystore attester and an ETH top-up for an underfunded publisher; only
//! `butler aztec actions approve` executes them (the keystore updated, the ETH sent), and a rejected action
//! stays rejected.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::aztec::aztec_json;
use crate::support::api::ApiServer;
use crate::support::aztec::{ADMIN, ADMIN_KEY, AztecNet, STAKER, STAKER_KEY};

/// Waits (up to 60 s) until the actions file holds `n` pending actions.
fn pending_actions(server: &ApiServer, n: usize) -> Vec<Value> {
    let path = server.data_dir().join("aztec/actions.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let file: Value = serde_json::from_str(&text).unwrap();
            let pending: Vec<Value> = file["actions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["status"] == "pending")
                .cloned()
                .collect();
            if pending.len() >= n {
                return pending;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {n} pending actions in {}:\n{}",
            path.display(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn watcher_proposes_coinbase_and_top_up_actions_that_only_approve_executes() {
    let Some(net) = AztecNet::start() else { return };
    let reg = net.staking_registry.clone();
    let rollup = net.rollup();
    net.send(
        ADMIN_KEY,
        &reg,
        &[
            "registerProvider(address,uint16,address)",
            ADMIN,
            "1000",
            ADMIN,
        ],
    );
    let keys = net.sb.path().join("keys.json");
    let signer = net.key_file("admin.key", ADMIN_KEY);
    let fresh_publisher = "0x000000000000000000000000000000000000dEaD";
    let aztec = format!(
        "[aztec]\nnode_url = \"{}\"\nstaking_registry = \"{reg}\"\nprovider_id = 1\nkeys_file = \"{}\"\npublishers = [\"{fresh_publisher}\"]\nsigner_key_file = \"{}\"\n",
        net.node_url,
        keys.display(),
        signer.display()
    );
    let cli = net.sb.write(
        "cli.toml",
        &format!("[chain]\nrpc_url = \"{}\"\n\n{aztec}", net.devnet.rpc()),
    );
    let generated = aztec_json(&net, &cli, &["keys", "generate", "--count", "2"]);
    let attesters: Vec<String> = generated
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["address"].as_str().unwrap().to_string())
        .collect();
    aztec_json(&net, &cli, &["keys", "add", "--send", "--yes"]);
    net.mint_stake(STAKER, "1000000000000000000000");
    net.send(
        STAKER_KEY,
        &net.addr("stakingAssetAddress"),
        &["approve(address,uint256)", &reg, "1000000000000000000000"],
    );
    net.send(
        STAKER_KEY,
        &reg,
        &[
            "stake(uint256,address,address,bool)",
            "1",
            &rollup,
            STAKER,
            "false",
        ],
    );

    let server = ApiServer::start(
        &format!(
            "[chain]\nrpc_url = \"{}\"\n\n[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\n[[watcher.sources]]\nname = \"aztec\"\npreset = \"aztec\"\naddress = \"{reg}\"\nstart_block = 0\n\n{aztec}",
            net.devnet.rpc()
        ),
        &[],
    );
    let cfg = server.config.clone();

    // The staked attester's coinbase and the empty publisher's top-up are proposed, nothing is executed.
    let pending = pending_actions(&server, 2);
    let coinbase = pending
        .iter()
        .find(|a| a["kind"] == "record_coinbase")
        .expect("coinbase action");
    let topup = pending
        .iter()
        .find(|a| a["kind"] == "top_up")
        .expect("top-up action");
    assert!(
        coinbase["attester"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&attesters[0]),
        "{coinbase}"
    );
    assert_eq!(
        topup["value_wei"], "200000000000000000",
        "2 attesters on 1 publisher x 0.1 ETH: {topup}"
    );
    let store: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    assert!(
        store["attesters"][0]["coinbase"].is_null(),
        "the watcher must not touch the keystore"
    );
    assert_eq!(net.devnet.cast(&["balance", fresh_publisher]), "0");
    let listed = aztec_json(&net, &cfg, &["actions", "list", "--pending"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");

    // approve: the coinbase lands in the keystore, the top-up is sent with the signer key.
    let id = coinbase["id"].to_string();
    let done = aztec_json(&net, &cfg, &["actions", "approve", &id]);
    assert_eq!(done["status"], "executed", "{done}");
    let store: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    assert_eq!(store["attesters"][0]["coinbase"], coinbase["coinbase"]);
    let id = topup["id"].to_string();
    let (code, err) = {
        let out = net
            .sb
            .butler()
            .arg("--config")
            .arg(&cfg)
            .args(["aztec", "actions", "approve", &id])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert_eq!(code, Some(2), "a top-up needs --send or --safe-json: {err}");
    let done = aztec_json(&net, &cfg, &["actions", "approve", &id, "--send", "--yes"]);
    assert_eq!(done["status"], "executed", "{done}");
    assert_eq!(
        net.devnet.cast(&["balance", fresh_publisher]),
        topup["value_wei"].as_str().unwrap()
    );

    // The second stake's coinbase is proposed; rejected, it stays rejected and cannot be approved.
    net.send(
        STAKER_KEY,
        &reg,
        &[
            "stake(uint256,address,address,bool)",
            "1",
            &rollup,
            STAKER,
            "false",
        ],
    );
    let pending = pending_actions(&server, 1);
    let second = &pending[0];
    assert!(
        second["attester"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&attesters[1]),
        "{second}"
    );
    let id = second["id"].to_string();
    let done = aztec_json(&net, &cfg, &["actions", "reject", &id]);
    assert_eq!(done["status"], "rejected");
    let out = net
        .sb
        .butler()
        .arg("--config")
        .arg(&cfg)
        .args(["aztec", "actions", "approve", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already rejected"));
}
