//! The owner's admin writes through butler on the devnet: deposit, withdraw and the stake actions change
//! the EntryPoint's `getDepositInfo` as expected; a key that is not the paymaster's `owner()` is refused
//! before anything is sent; the Safe Transaction Builder JSON carries the same calldata as the call.

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use serde_json::{Value, json};

use crate::paymaster_support::*;
use crate::support::devnet;
use crate::watcher_support::{calldata, hex_u64};

fn ok(p: &Pm, args: &[&str]) -> Value {
    let out = p.butler(args).output().unwrap();
    assert!(
        out.status.success(),
        "butler paymaster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn deposit_withdraw_and_stake_actions_change_get_deposit_info() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "3", "0", "");
    let (key, _) = p.new_owner();
    p.with_admin_key(&key);
    let dest = PrivateKeySigner::random().address().to_checksum(None);

    let r = ok(&p, &["deposit", "--amount", "1", "--yes"]);
    assert_eq!(r["after"]["deposit_wei"], wei("4").to_string());
    assert_eq!(p.deposit_info().0, wei("4"));

    ok(&p, &["withdraw", "--to", &dest, "--amount", "1.5", "--yes"]);
    assert_eq!(p.deposit_info().0, wei("2.5"));
    let bal = dn.rpc_call("eth_getBalance", json!([dest, "latest"]));
    assert_eq!(
        U256::from_str_radix(bal.as_str().unwrap().trim_start_matches("0x"), 16).unwrap(),
        wei("1.5")
    );

    ok(
        &p,
        &[
            "stake",
            "add",
            "--amount",
            "1",
            "--unstake-delay",
            "1",
            "--yes",
        ],
    );
    let (_, staked, stake, delay, wt) = p.deposit_info();
    assert_eq!((staked, stake, delay, wt), (true, wei("1"), 1, 0));

    let r = ok(&p, &["stake", "unlock", "--yes"]);
    let (_, staked, stake, _, withdraw_time) = p.deposit_info();
    assert!(!staked && stake == wei("1") && withdraw_time > 0, "{r}");
    assert_eq!(r["after"]["withdraw_time"], withdraw_time);

    // the stake can be withdrawn once the chain's time passes withdrawTime (a 1 s delay)
    while chrono::Utc::now().timestamp() as u64 <= withdraw_time {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    ok(&p, &["stake", "withdraw", "--to", &dest, "--yes"]);
    let (_, staked, stake, _, wt) = p.deposit_info();
    assert_eq!((staked, stake, wt), (false, U256::ZERO, 0));
    let bal = dn.rpc_call("eth_getBalance", json!([dest, "latest"]));
    assert_eq!(
        U256::from_str_radix(bal.as_str().unwrap().trim_start_matches("0x"), 16).unwrap(),
        wei("2.5")
    );
}

#[test]
fn a_key_that_is_not_the_owner_is_refused_before_sending() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "1", "0", "");
    let stranger = PrivateKeySigner::random();
    dn.rpc_call(
        "anvil_setBalance",
        json!([stranger.address(), "0x56bc75e2d63100000"]),
    );
    p.with_admin_key(&format!("0x{}", hex::encode(stranger.to_bytes())));
    let dest = stranger.address().to_checksum(None);
    let out = p
        .butler(&["withdraw", "--to", &dest, "--amount", "1", "--yes"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not the owner()"), "{err}");
    let nonce = hex_u64(&dn.rpc_call(
        "eth_getTransactionCount",
        json!([stranger.address(), "pending"]),
    ));
    assert_eq!(nonce, 0, "nothing was sent");
    assert_eq!(p.deposit_info().0, wei("1"));

    let out = p
        .butler(&["withdraw", "--to", &dest, "--amount", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the owner check comes first");
}

#[test]
fn the_safe_json_carries_the_same_calldata_and_dry_run_sends_nothing() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "1", "0", "");
    let dest = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let shown = ok(
        &p,
        &["withdraw", "--to", dest, "--amount", "0.25", "--dry-run"],
    );
    assert_eq!(shown["to"], p.pm.as_str());
    assert_eq!(shown["sent"], false);
    let expected = calldata(
        "withdrawTo(address,uint256)",
        &[dest, &wei("0.25").to_string()],
    );
    assert_eq!(shown["data"], expected.as_str());

    let file = p.sb.path().join("withdraw.json");
    ok(
        &p,
        &[
            "withdraw",
            "--to",
            dest,
            "--amount",
            "0.25",
            "--safe-json",
            file.to_str().unwrap(),
        ],
    );
    let batch: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(batch["version"], "1.0");
    assert_eq!(batch["chainId"], "31337");
    assert!(batch["meta"].is_object());
    assert_eq!(
        batch["meta"]["createdFromSafeAddress"], "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "the owner"
    );
    let t = &batch["transactions"][0];
    assert_eq!(t["to"], p.pm.as_str());
    assert_eq!(t["value"], "0");
    assert_eq!(t["data"], expected.as_str());
    let data: alloy::primitives::Bytes = t["data"].as_str().unwrap().parse().unwrap();
    let decoded = <butler::chain::bindings::IBasePaymaster::withdrawToCall as alloy::sol_types::SolCall>::abi_decode(&data).unwrap();
    assert_eq!(decoded.withdrawAddress.to_checksum(None), dest);
    assert_eq!(decoded.amount, wei("0.25"));
    assert_eq!(p.deposit_info().0, wei("1"), "nothing sent");

    let out = p
        .butler(&["stake", "add", "--amount", "1", "--unstake-delay", "60"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "no admin key configured: exit 2"
    );
}
