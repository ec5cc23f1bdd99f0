//! The exporter's top-up series from the audit file of real `butler paymaster topup` runs: the last run's
//! time, the failures counted, and the latest decision (a lock held elsewhere makes a run fail; a refusal
//! counts as the latest failure but not in the failures total).

use std::fs::OpenOptions;

use fs4::fs_std::FileExt;

use crate::exporter::Serve;
use crate::paymaster_support::*;
use crate::support::devnet;

#[test]
fn the_exporter_reads_the_top_up_series_from_the_audit_file() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0", "100", "");
    let (code, _, err) = p.topup(&["--below", "1", "--to", "2", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let lock = p.data.join("locks").join(format!(
        "paymaster-{}.lock",
        p.pm.trim_start_matches("0x").to_lowercase()
    ));
    let held = OpenOptions::new().write(true).open(&lock).unwrap();
    assert!(held.try_lock_exclusive().unwrap());
    let (code, recs, err) = p.topup(&["--below", "3", "--to", "4", "--yes", "--wait-secs", "0"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(recs[0]["action"], "failed");
    assert!(
        recs[0]["reason"].as_str().unwrap().contains("lock"),
        "{recs:?}"
    );
    FileExt::unlock(&held).unwrap();

    let config = format!(
        "data_dir = \"{}\"\n[chain]\nrpc_url = \"{}\"\nchain_id = 31337\n[[paymasters]]\nname = \"pm\"\naddress = \"{}\"\nentrypoint = \"{}\"\n",
        p.data.display(),
        dn.rpc(),
        p.pm,
        p.ep
    );
    let serve = Serve::start(&config);
    let (m, text, _) = serve.scrape();
    let l = [("paymaster", "pm")];
    assert_eq!(m.must("butler_topup_failures_total", &l), 1.0, "{text}");
    assert_eq!(m.must("butler_topup_last_failed", &l), 1.0);
    if let Some(promtool) = crate::exporter::promtool() {
        let (ok, said) = crate::exporter::promtool_check_metrics(&promtool, &text);
        assert!(ok, "promtool check metrics: {said}");
    }
    let last = p.history().last().unwrap()["timestamp"].as_i64().unwrap();
    assert_eq!(
        m.must("butler_topup_last_run_timestamp_seconds", &l),
        last as f64
    );

    let (code, recs, err) = p.topup(&["--below", "1", "--to", "2", "--yes"]);
    assert_eq!(
        (code, recs[0]["action"].as_str()),
        (0, Some("none")),
        "{err}"
    );
    let (m, _, _) = serve.scrape();
    assert_eq!(
        m.must("butler_topup_last_failed", &l),
        0.0,
        "the latest decision succeeded"
    );
    assert_eq!(m.must("butler_topup_failures_total", &l), 1.0);
}
