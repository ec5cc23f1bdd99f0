//! A top-up whose transaction stays pending (mining paused with `evm_setAutomine false`) is reported as
//! failed with its hash and nonce and never replaced; the next run waits for it and sends nothing. Runs on
//! its own devnet because it pauses mining. `--confirmations` waits for the blocks after the deposit's; a
//! transaction of the funder that butler did not send is waited for too.

use std::io::{BufRead, BufReader, Read};

use serde_json::json;

use crate::paymaster_support::*;
use crate::support::devnet::Devnet;

#[test]
fn a_pending_top_up_of_an_earlier_run_is_waited_for_and_never_doubled() {
    let Some(dn) = Devnet::start() else { return };
    let p = Pm::new(&dn, "0", "100", "");
    dn.rpc_call("evm_setAutomine", json!([false]));
    let args = ["--below", "1", "--to", "2", "--yes"];
    let (code, recs, err) = p.topup(&[&args[..], &["--wait-secs", "2"]].concat());
    assert_eq!(code, 1, "not mined within --wait-secs: {err}");
    let r = &recs[0];
    assert_eq!(r["action"], "failed");
    let hash = r["tx_hash"]
        .as_str()
        .expect("the hash is reported")
        .to_string();
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("nonce 0") && reason.contains("not replaced"),
        "{reason}"
    );

    let mut child = p
        .process(&[&["topup"], &args[..], &["--wait-secs", "60"]].concat())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the run ended without waiting:\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("waiting for") {
            break;
        }
    }
    assert!(
        seen.contains(&hash),
        "it waits for the earlier top-up: {seen}"
    );
    dn.rpc_call("evm_setAutomine", json!([true]));
    dn.rpc_call("evm_mine", json!([]));
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    let (code, recs, _) = parse(child.wait_with_output().unwrap());
    let rest = drain.join().unwrap();
    assert_eq!(code, 0, "{seen}{rest}");
    assert_eq!(recs[0]["action"], "waited_pending", "{recs:?}");
    assert_eq!(recs[0]["tx_hash"], hash.as_str());
    assert_eq!(
        p.funder_nonce(),
        1,
        "one transaction in all: the pending one was not doubled"
    );
    assert_eq!(p.deposit(), wei("2"));

    // --confirmations 3: the run re-reads the deposit only once two more blocks follow the deposit's block
    let mut child = p
        .process(&[
            "topup",
            "--below",
            "3",
            "--to",
            "4",
            "--yes",
            "--confirmations",
            "3",
            "--wait-secs",
            "60",
        ])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while p.funder_nonce() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the deposit was not sent"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "mined, and still waiting for confirmations"
    );
    dn.rpc_call("anvil_mine", json!(["0x2"]));
    let (code, recs, err) = parse(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert_eq!(recs[0]["action"], "topped_up");
    let head = crate::watcher_support::hex_u64(&dn.rpc_call("eth_blockNumber", json!([])));
    assert_eq!(head, recs[0]["block_number"].as_u64().unwrap() + 2);
    assert_eq!(p.deposit(), wei("4"));

    // any transaction of the funder in flight (pending nonce above the latest) is waited for, even one
    // butler did not send; past --wait-secs the run fails and sends nothing
    dn.rpc_call("evm_setAutomine", json!([false]));
    let key = format!("0x{}", hex::encode(p.funder.to_bytes()));
    dn.cast(&[
        "send",
        "--async",
        "--private-key",
        &key,
        "0x000000000000000000000000000000000000dEaD",
        "--value",
        "1",
    ]);
    let (code, recs, err) = p.topup(&["--below", "5", "--to", "6", "--yes", "--wait-secs", "1"]);
    assert_eq!(code, 1, "{err}");
    let reason = recs[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("transaction(s) of the funder") && reason.contains("nothing sent"),
        "{reason}"
    );
    let pending = crate::watcher_support::hex_u64(&dn.rpc_call(
        "eth_getTransactionCount",
        json!([p.funder.address(), "pending"]),
    ));
    assert_eq!(
        pending, 3,
        "two top-ups mined, only the outside transaction pending"
    );
    dn.rpc_call("evm_setAutomine", json!([true]));
    dn.rpc_call("evm_mine", json!([]));
}
