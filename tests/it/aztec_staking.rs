//! Aztec attester keys end to end on the real Aztec L1 deployment plus the test StakingRegistry: keys generated
//! by butler (sealed keystore, mode 0600) accepted by `addKeysToProvider` and by `Rollup.deposit`, flushed to
//! VALIDATING; a wrong proof of possession refused locally, a duplicate key refused, a world-readable keystore
//! refused; attester states, entry-queue stats and publisher needs equal to the contract reads; coinbases
//! scraped from real `StakedWithProvider` logs; the local hash-to-curve and PoP agree with the GSE's oracles.

use std::os::unix::fs::PermissionsExt;

use alloy::primitives::{Address, U256};
use butler::aztec::bindings::G1Point;
use butler::aztec::bn254::registration_digest;
use serde_json::Value;

use crate::aztec::{aztec_fail, aztec_json};
use crate::support::aztec::{ADMIN, ADMIN_KEY, AztecNet, STAKER, STAKER_KEY};

const STAKE: &str = "100000000000000000000";

fn state_of(list: &Value, attester: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["address"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(attester)
        })
        .unwrap_or_else(|| panic!("{attester} not in {list}"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn keys_from_butler_are_queued_deposited_and_flushed_to_validating() {
    let Some(net) = AztecNet::start() else { return };
    let reg = net.staking_registry.clone();
    let rollup = net.rollup();
    net.send(
        ADMIN_KEY,
        &reg,
        &[
            "registerProvider(address,uint16,address)",
            ADMIN,
            "500",
            ADMIN,
        ],
    );
    let keys = net.sb.path().join("keys.json");
    let pass = net.key_file("pass.txt", "a long keystore passphrase");
    let signer = net.key_file("admin.key", ADMIN_KEY);
    let fresh_publisher = "0x000000000000000000000000000000000000bEEF";
    let cfg = net.config(
        &keys,
        &format!(
            "provider_id = 1\nkeystore_passphrase_file = \"{}\"\nsigner_key_file = \"{}\"\npublishers = [\"{STAKER}\", \"{fresh_publisher}\"]\n",
            pass.display(),
            signer.display()
        ),
    );

    // Generate three attesters into a sealed 0600 keystore; nothing secret is printed.
    let generated = aztec_json(&net, &cfg, &["keys", "generate", "--count", "3"]);
    let attesters: Vec<String> = generated
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(attesters.len(), 3);
    assert!(
        generated.to_string().contains("\"encrypted\":true"),
        "{generated}"
    );
    assert_eq!(
        std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let store: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    assert!(
        store["attesters"][0]["encrypted_private_keys"]["ciphertext"].is_string(),
        "{store}"
    );
    assert!(store["attesters"][0].get("private_keys").is_none());

    // The local digest and proof of possession agree with the GSE's own oracles.
    let gse = net.addr("gseAddress");
    let entry = &store["attesters"][0];
    let (x, y) = (
        entry["public_key_g1"]["x"].as_str().unwrap(),
        entry["public_key_g1"]["y"].as_str().unwrap(),
    );
    let onchain = net.call(
        &gse,
        "getRegistrationDigest((uint256,uint256))((uint256,uint256))",
        &[&format!("({x},{y})")],
    );
    let local = registration_digest(&G1Point {
        x: x.parse().unwrap(),
        y: y.parse().unwrap(),
    });
    assert!(
        onchain.contains(&local.x.to_string()) && onchain.contains(&local.y.to_string()),
        "GSE digest {onchain} != local {local:?}"
    );
    let wrapper = gse.parse::<Address>().unwrap().create(1).to_string();
    let g2 = &entry["public_key_g2"];
    let pop = &entry["proof_of_possession"];
    let verdict = net.call(
        &wrapper,
        "proofOfPossession((uint256,uint256),(uint256,uint256,uint256,uint256),(uint256,uint256))(bool)",
        &[
            &format!("({x},{y})"),
            &format!("({},{},{},{})", g2["x0"].as_str().unwrap(), g2["x1"].as_str().unwrap(), g2["y0"].as_str().unwrap(), g2["y1"].as_str().unwrap()),
            &format!("({},{})", pop["x"].as_str().unwrap(), pop["y"].as_str().unwrap()),
        ],
    );
    assert_eq!(
        verdict, "true",
        "Bn254LibWrapper at {wrapper} rejects butler's proof of possession"
    );

    // Keys 0 and 1 go to the provider's queue through butler's own --send.
    let sent = aztec_json(
        &net,
        &cfg,
        &[
            "keys",
            "add",
            "--attester",
            &attesters[0],
            "--attester",
            &attesters[1],
            "--send",
            "--yes",
        ],
    );
    assert_eq!(sent.as_array().unwrap().len(), 1, "{sent}");
    assert_eq!(
        net.call_uint(&reg, "getProviderQueueLength(uint256)(uint256)", &["1"]),
        2
    );

    // A duplicate is refused before anything is sent.
    let (code, err) = aztec_fail(&net, &cfg, &["keys", "add", "--attester", &attesters[0]]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already in provider 1's queue"), "{err}");

    // The same BN254 key under another address is a duplicate too; without --attester only new keys are taken.
    let mut dup: Value = store.clone();
    for k in ["public_key_g1", "public_key_g2", "proof_of_possession"] {
        dup["attesters"][2][k] = store["attesters"][0][k].clone();
    }
    let dup_keys = net.sb.write(
        "dup-keys.json",
        &serde_json::to_string_pretty(&dup).unwrap(),
    );
    std::fs::set_permissions(&dup_keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dup_cfg = net.sb.write(
        "dup.toml",
        &std::fs::read_to_string(&cfg)
            .unwrap()
            .replace(keys.to_str().unwrap(), dup_keys.to_str().unwrap()),
    );
    let (code, err) = aztec_fail(
        &net,
        &dup_cfg,
        &["keys", "add", "--attester", &attesters[2]],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("already in provider 1's queue") && err.contains(&attesters[0]),
        "{err}"
    );
    let default = aztec_json(&net, &cfg, &["keys", "add"]);
    assert!(
        default[0]["data"]
            .as_str()
            .unwrap()
            .contains(&attesters[2][2..].to_lowercase()),
        "the default selection is the one attester not queued yet: {default}"
    );
    assert!(
        !default[0]["data"]
            .as_str()
            .unwrap()
            .contains(&attesters[0][2..].to_lowercase())
    );

    // A wrong proof of possession is refused locally, for the queue and for a deposit.
    let mut bad: Value = store.clone();
    bad["attesters"][2]["proof_of_possession"] =
        store["attesters"][0]["proof_of_possession"].clone();
    let bad_keys = net.sb.write(
        "bad-keys.json",
        &serde_json::to_string_pretty(&bad).unwrap(),
    );
    std::fs::set_permissions(&bad_keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bad_cfg = net.sb.write(
        "bad.toml",
        &std::fs::read_to_string(&cfg)
            .unwrap()
            .replace(keys.to_str().unwrap(), bad_keys.to_str().unwrap()),
    );
    for args in [
        vec!["keys", "add", "--attester", attesters[2].as_str()],
        vec![
            "deposit",
            "--attester",
            attesters[2].as_str(),
            "--withdrawer",
            ADMIN,
        ],
    ] {
        let (code, err) = aztec_fail(&net, &bad_cfg, &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("proof of possession does not verify"),
            "{args:?}: {err}"
        );
    }
    // A keystore others can read is refused.
    std::fs::set_permissions(&bad_keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, err) = aztec_fail(&net, &bad_cfg, &["attesters"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("chmod 600"), "{err}");

    let states = aztec_json(&net, &cfg, &["attesters"]);
    assert_eq!(
        state_of(&states, &attesters[0]),
        "IN_STAKING_PROVIDER_QUEUE"
    );
    assert_eq!(state_of(&states, &attesters[2]), "NEW");

    // A staker stakes twice with the provider (the registry deposits keys 0 and 1 into the rollup) ...
    net.mint_stake(STAKER, "1000000000000000000000");
    let asset = net.addr("stakingAssetAddress");
    net.send(
        STAKER_KEY,
        &asset,
        &["approve(address,uint256)", &reg, "1000000000000000000000"],
    );
    for _ in 0..2 {
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
    }
    // ... and key 2 is deposited directly with butler's approve + deposit.
    net.mint_stake(ADMIN, STAKE);
    let sent = aztec_json(
        &net,
        &cfg,
        &[
            "deposit",
            "--attester",
            &attesters[2],
            "--withdrawer",
            ADMIN,
            "--send",
            "--yes",
        ],
    );
    assert_eq!(
        sent.as_array().unwrap().len(),
        2,
        "approve and deposit: {sent}"
    );

    let states = aztec_json(&net, &cfg, &["attesters"]);
    for a in &attesters {
        assert_eq!(state_of(&states, a), "ROLLUP_ENTRY_QUEUE", "{states}");
    }
    let queue = aztec_json(&net, &cfg, &["queue"]);
    let q = &queue["entry_queue"];
    assert_eq!(
        q["length"].as_u64().unwrap() as u128,
        net.call_uint(&rollup, "getEntryQueueLength()(uint256)", &[])
    );
    assert_eq!(q["length"], 3);
    assert_eq!(
        q["flush_size"].as_u64().unwrap() as u128,
        net.call_uint(&rollup, "getEntryQueueFlushSize()(uint256)", &[])
    );
    assert_eq!(
        q["current_epoch"].as_u64().unwrap() as u128,
        net.call_uint(&rollup, "getCurrentEpoch()(uint256)", &[])
    );
    assert_eq!(
        q["next_flushable_epoch"].as_u64().unwrap() as u128,
        net.call_uint(&rollup, "getNextFlushableEpoch()(uint256)", &[])
    );
    assert_eq!(
        q["available_flushes"].as_u64().unwrap() as u128,
        net.call_uint(&rollup, "getAvailableValidatorFlushes()(uint256)", &[])
    );
    assert_eq!(
        q["is_bootstrapped"].as_bool().unwrap().to_string(),
        net.call(&rollup, "getIsBootstrapped()(bool)", &[])
    );
    assert_eq!(queue["provider_queue_length"], 0);
    assert_eq!(queue["attesters"].as_array().unwrap().len(), 3, "{queue}");

    // Flushing the entry queue makes all three VALIDATING, which butler reports as ACTIVE.
    net.send(ADMIN_KEY, &rollup, &["flushEntryQueue()"]);
    let states = aztec_json(&net, &cfg, &["attesters"]);
    for a in &attesters {
        let view = net.call(&rollup, "getStatus(address)(uint8)", &[a]);
        assert_eq!(view, "1", "{a} is not VALIDATING on chain");
        assert_eq!(state_of(&states, a), "ACTIVE", "{states}");
    }

    // Coinbases come from the registry's real StakedWithProvider logs.
    let changes = aztec_json(&net, &cfg, &["coinbases", "--from-block", "0"]);
    assert_eq!(changes.as_array().unwrap().len(), 2, "{changes}");
    let logs = net.devnet.cast(&[
        "logs",
        "--json",
        "--address",
        &reg,
        "StakedWithProvider(uint256,address,address,address,address)",
    ]);
    let logs: Value = serde_json::from_str(&logs).unwrap();
    assert_eq!(logs.as_array().unwrap().len(), 2);
    for (log, change) in logs
        .as_array()
        .unwrap()
        .iter()
        .zip(changes.as_array().unwrap())
    {
        let data = log["data"].as_str().unwrap();
        let split = format!("0x{}", &data[26..66]);
        assert_eq!(
            change["coinbase"].as_str().unwrap().to_lowercase(),
            split,
            "{log}"
        );
    }
    let store: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    assert!(
        store["attesters"][0]["coinbase"].is_string(),
        "coinbase not recorded: {store}"
    );
    assert!(store["attesters"][2]["coinbase"].is_null());
    let again = aztec_json(&net, &cfg, &["coinbases", "--from-block", "0"]);
    assert_eq!(
        again.as_array().unwrap().len(),
        0,
        "a second scrape changes nothing: {again}"
    );

    // Publishers: ceil(3 attesters / 2 publishers) × 0.1 ETH each, against their real balances.
    let pubs = aztec_json(&net, &cfg, &["publishers"]);
    let required = U256::from(200_000_000_000_000_000u64).to_string();
    for p in pubs.as_array().unwrap() {
        assert_eq!(p["load"], 2);
        assert_eq!(p["required_wei"].as_str().unwrap(), required);
        let balance = net
            .devnet
            .cast(&["balance", p["publisher"].as_str().unwrap()]);
        assert_eq!(p["balance_wei"].as_str().unwrap(), balance);
    }
    let fresh = pubs
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["publisher"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(fresh_publisher)
        })
        .unwrap();
    assert_eq!(fresh["required_topup_wei"].as_str().unwrap(), required);
    let topup = aztec_json(&net, &cfg, &["publishers", "--top-up"]);
    assert_eq!(topup.as_array().unwrap().len(), 1, "{topup}");
    assert_eq!(topup[0]["value"].as_str().unwrap(), required);

    // One more key waits in the provider's queue; the exporter's Aztec series match all of the above.
    let fourth = aztec_json(&net, &cfg, &["keys", "generate"]);
    let fourth = fourth[0]["address"].as_str().unwrap().to_string();
    aztec_json(
        &net,
        &cfg,
        &["keys", "add", "--attester", &fourth, "--send", "--yes"],
    );
    crate::aztec_exporter::check_aztec_metrics(
        &net,
        &keys,
        &[STAKER, fresh_publisher],
        &[
            ("NEW", 0.0),
            ("IN_STAKING_PROVIDER_QUEUE", 1.0),
            ("ROLLUP_ENTRY_QUEUE", 0.0),
            ("ACTIVE", 3.0),
            ("NO_LONGER_ACTIVE", 0.0),
        ],
        1.0,
    );
}
