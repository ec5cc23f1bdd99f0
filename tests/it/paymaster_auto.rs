//! `[paymaster_ops] auto_topup = true` with `serve --watcher`: the watcher tops the paymaster up to
//! `topup_to_eth` on its own (one transaction), records it in the same audit file, and later rounds find
//! nothing to do.

use std::time::{Duration, Instant};

use crate::paymaster_support::*;
use crate::support::api::ApiServer;
use crate::support::devnet;

#[test]
fn the_watcher_tops_up_on_its_own_with_the_same_audit_file() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0.1", "50", "");
    let key = format!("0x{}", hex::encode(p.funder.to_bytes()));
    let server = ApiServer::start(
        &format!(
            "[chain]\nrpc_url = \"{}\"\nchain_id = 31337\n\
             [[paymasters]]\nname = \"auto\"\naddress = \"{}\"\nentrypoint = \"{}\"\n\
             topup_below_eth = \"1\"\ntopup_to_eth = \"2.5\"\n\
             [paymaster_ops]\nauto_topup = true\nauto_topup_interval_secs = 1\n",
            dn.rpc(),
            p.pm,
            p.ep
        ),
        &[("BUTLER_PAYMASTER_OPS__FUNDER_KEY", &key)],
    );
    let audit = server.data_dir().join("topup/audit.ndjson");
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        let records: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if records.iter().any(|r| r["action"] == "none") {
            break records;
        }
        assert!(
            Instant::now() < deadline,
            "no second round within 60 s:\n{text}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(&actions[..3], ["sent", "topped_up", "none"], "{actions:?}");
    assert_eq!(records[1]["paymaster"], "auto");
    assert_eq!(p.deposit(), wei("2.5"));
    assert_eq!(p.funder_nonce(), 1);
}
