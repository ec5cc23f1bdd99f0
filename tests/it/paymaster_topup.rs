//! `butler paymaster topup` against the devnet: one transaction under the threshold and the deposit equal to
//! `--to` after it, none above it; overlapping runs send one; dry runs send nothing; refusals (empty funder
//! with its shortfall, fee cap, no TTY without --yes) exit 3; a wrong chain id exits 2; `--max` caps.

use alloy::primitives::U256;
use serde_json::Value;

use crate::paymaster_support::*;
use crate::support::devnet;

fn one(records: &[Value]) -> &Value {
    assert_eq!(records.len(), 1, "{records:?}");
    &records[0]
}

#[test]
fn under_the_threshold_one_deposit_reaches_to_and_above_it_nothing_is_sent() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0.5", "100", "");
    let (code, recs, err) = p.topup(&["--below", "1", "--to", "3", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let r = one(&recs);
    assert_eq!(r["action"], "topped_up", "{r}");
    assert_eq!(r["deposit_before_wei"], wei("0.5").to_string());
    assert_eq!(r["amount_wei"], wei("2.5").to_string());
    assert_eq!(r["deposit_after_wei"], wei("3").to_string());
    assert!(r["tx_hash"].is_string());
    assert_eq!(p.deposit(), wei("3"), "the deposit equals --to");
    assert_eq!(p.funder_nonce(), 1, "exactly one transaction");

    let (code, recs, err) = p.topup(&["--below", "3", "--to", "5", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let r = one(&recs);
    assert_eq!(r["action"], "none", "at the threshold: nothing to do");
    assert!(r["tx_hash"].is_null());
    assert_eq!(p.funder_nonce(), 1, "no transaction above the threshold");

    let actions: Vec<String> = p
        .history()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions,
        ["sent", "topped_up", "none"],
        "every decision is audited"
    );
    let audit = std::fs::read_to_string(p.data.join("topup/audit.ndjson")).unwrap();
    assert_eq!(audit.lines().count(), 3, "one NDJSON line per record");
    let lock = p.data.join("locks").join(format!(
        "paymaster-{}.lock",
        p.pm.trim_start_matches("0x").to_lowercase()
    ));
    assert!(lock.exists(), "the lock lives under DATA_DIR/locks/");
}

#[test]
fn two_runs_started_together_send_exactly_one_transaction() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(
        dn,
        "0",
        "100",
        "topup_below_eth = \"1\"\ntopup_to_eth = \"2\"",
    );
    let spawn = || p.process(&["topup", "--yes"]).spawn().unwrap();
    let (a, b) = (spawn(), spawn());
    let mut actions = Vec::new();
    for child in [a, b] {
        let (code, recs, err) = parse(child.wait_with_output().unwrap());
        assert_eq!(code, 0, "both runs exit 0: {err}");
        actions.push(one(&recs)["action"].as_str().unwrap().to_string());
    }
    actions.sort();
    assert_eq!(actions, ["none", "topped_up"]);
    assert_eq!(p.funder_nonce(), 1, "funder nonce +1");
    assert_eq!(p.deposit(), wei("2"));
}

#[test]
fn dry_run_sends_nothing_and_exits_as_the_real_run_would() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(
        dn,
        "0",
        "100",
        "topup_below_eth = \"5\"\ntopup_to_eth = \"6\"\ntopup_max_eth = \"10\"",
    );
    let (code, recs, err) = p.topup(&["--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        one(&recs)["amount_wei"],
        wei("6").to_string(),
        "thresholds from the config"
    );
    assert_eq!(one(&recs)["max_wei"], wei("10").to_string());
    let (code, recs, err) = p.topup(&["--below", "1", "--to", "3", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    let r = one(&recs);
    assert_eq!(r["action"], "planned");
    assert_eq!(
        r["amount_wei"],
        wei("3").to_string(),
        "flags win over the config"
    );
    let (code, recs, _) = p.topup(&["--below", "1", "--to", "3", "--max", "0.5", "--dry-run"]);
    assert_eq!(
        code, 3,
        "a capped plan still under --below exits 3 like the real run"
    );
    assert_eq!(one(&recs)["action"], "planned");
    assert_eq!(p.funder_nonce(), 0, "nothing sent");
    assert_eq!(p.deposit(), U256::ZERO);
}

#[test]
fn max_caps_the_amount_and_the_exit_code_says_whether_it_was_enough() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0", "100", "");
    let (code, recs, err) = p.topup(&["--below", "1", "--to", "3", "--max", "0.4", "--yes"]);
    assert_eq!(code, 3, "capped and still under --below: {err}");
    let r = one(&recs);
    assert_eq!(r["action"], "capped");
    assert_eq!(r["amount_wei"], wei("0.4").to_string());
    assert_eq!(p.deposit(), wei("0.4"), "exactly --max was sent");
    let (code, recs, err) = p.topup(&["--below", "1", "--to", "3", "--max", "2", "--yes"]);
    assert_eq!(code, 0, "capped but at or above --below: {err}");
    assert_eq!(one(&recs)["action"], "capped");
    assert_eq!(p.deposit(), wei("2.4"));
    assert_eq!(p.funder_nonce(), 2);
}

#[test]
fn an_empty_funder_is_refused_with_the_exact_shortfall() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0", "0", "");
    let (code, recs, err) = p.topup(&["--below", "1", "--to", "2", "--yes"]);
    assert_eq!(code, 3, "{err}");
    let r = one(&recs);
    assert_eq!(r["action"], "refused");
    let gas: U256 = U256::from(r["gas_limit"].as_u64().unwrap());
    let fee: U256 = r["max_fee_per_gas_wei"].as_str().unwrap().parse().unwrap();
    let short = wei("2") + gas * fee;
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("short by") && reason.contains(&format!("({short} wei)")),
        "{reason}"
    );
    assert_eq!(p.funder_nonce(), 0);
}

#[test]
fn no_tty_without_yes_refuses_and_a_fee_over_the_cap_refuses() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0", "100", "");
    let (code, recs, err) = p.topup(&["--below", "1", "--to", "2"]);
    assert_eq!(code, 3, "{err}");
    let r = one(&recs);
    assert_eq!(r["action"], "refused");
    assert!(r["reason"].as_str().unwrap().contains("--yes"), "{r}");
    let (code, recs, err) = p.topup(&[
        "--below",
        "1",
        "--to",
        "2",
        "--yes",
        "--max-fee-gwei",
        "0.000000001",
    ]);
    assert_eq!(code, 3, "{err}");
    let r = one(&recs);
    assert_eq!(r["action"], "refused");
    assert!(
        r["reason"].as_str().unwrap().contains("--max-fee-gwei"),
        "{r}"
    );
    assert_eq!(p.funder_nonce(), 0, "nothing sent");
}

#[test]
fn a_wrong_chain_id_or_a_readable_key_file_exits_2_before_anything_is_signed() {
    use std::os::unix::fs::PermissionsExt;
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0", "100", "");
    let text = std::fs::read_to_string(&p.config).unwrap();
    std::fs::write(&p.config, text.replace("chain_id = 31337", "chain_id = 1")).unwrap();
    let (code, _, err) = p.topup(&["--below", "1", "--to", "2", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("chain id"), "{err}");
    std::fs::write(&p.config, text).unwrap();
    let key = p.sb.path().join("funder.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, _, err) = p.topup(&["--below", "1", "--to", "2", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    assert_eq!(p.funder_nonce(), 0);
}

/// Runs `butler paymaster topup ARGS` at a terminal (a pty from `script`) answering `answer`.
fn at_a_terminal(p: &Pm, args: &[&str], answer: &str) -> (i32, String) {
    use std::io::Write;
    let line = format!(
        "{} --config {} paymaster topup {}",
        assert_cmd::cargo::cargo_bin("butler").display(),
        p.config.display(),
        args.join(" ")
    );
    let mut cmd = std::process::Command::new("script");
    for (k, _) in std::env::vars() {
        if k.starts_with("BUTLER_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(["-qec", &line, "/dev/null"])
        .env("HOME", p.sb.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn at_a_terminal_the_plan_is_shown_and_only_a_yes_sends() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0", "100", "");
    let (code, out) = at_a_terminal(&p, &["--below", "1", "--to", "2"], "n\n");
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("Send this transaction? [y/N]") && out.contains("depositTo("),
        "{out}"
    );
    assert_eq!(p.funder_nonce(), 0, "a no sends nothing");
    let (code, out) = at_a_terminal(&p, &["--below", "1", "--to", "2"], "y\n");
    assert_eq!(code, 0, "{out}");
    assert_eq!(p.funder_nonce(), 1);
    assert_eq!(p.deposit(), wei("2"));
}

#[test]
fn an_unreachable_node_exits_1_and_is_recorded_as_failed() {
    let Some(dn) = devnet::shared() else { return };
    let p = Pm::new(dn, "0", "100", "");
    let text = std::fs::read_to_string(&p.config).unwrap();
    let dead = format!("http://127.0.0.1:{}", crate::support::free_port());
    std::fs::write(&p.config, text.replace(dn.rpc(), &dead)).unwrap();
    let (code, recs, err) = p.topup(&["--below", "1", "--to", "2", "--yes"]);
    assert_eq!(code, 1, "{err}");
    let r = one(&recs);
    assert_eq!(r["action"], "failed");
    assert!(r["reason"].as_str().unwrap().contains(&dead), "{r}");
    let history = p.history();
    assert_eq!(history.len(), 1, "the failure is in the audit file");
    assert_eq!(history[0]["action"], "failed");
}

#[test]
fn help_teaches_the_exit_codes_and_the_json_record() {
    let sb = crate::support::Sandbox::new();
    let out = sb
        .butler()
        .args(["paymaster", "topup", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "0  every paymaster is at or above --below",
        "1  failed",
        "2  usage or configuration error (including a wrong chain id)",
        "3  refused",
        "waited_pending",
        "DATA_DIR/topup/audit.ndjson",
        "--max-fee-gwei",
        "--confirmations",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
}
