//! `butler fees` against the store directly: admin commands with tables and `--output json`, and
//! `export` / `import` (JSON and TOML; validated before any write; idempotent), on SQLite and PostgreSQL.

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::on_backends;
use crate::support::Sandbox;
use crate::support::fees::{Backend, bls_key, off_curve_key};

fn json_out(sb: &Sandbox, args: &[&str]) -> Value {
    let out = sb
        .butler()
        .args(["--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn cli_admin_and_transfer(b: Backend) {
    let sb = Sandbox::new();
    sb.write("cwd/butler.toml", &b.config(&sb).await);
    let (k1, k2) = (bls_key(21), bls_key(22));
    let fee = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    let v = json_out(
        &sb,
        &[
            "fees",
            "configs",
            "create",
            "main",
            "--fee-recipient",
            &fee.to_lowercase(),
            "--gas-limit",
            "30000000",
            "--relay",
            &format!(
                "https://relay1.example.com,public_key={},min_value=0.2",
                bls_key(101)
            ),
        ],
    );
    assert_eq!(v["fee_recipient"], fee);
    assert_eq!(v["relays"][0]["url"], "https://relay1.example.com/");
    let v = json_out(
        &sb,
        &[
            "fees",
            "proposers",
            "set",
            &k1,
            "--min-value",
            "0.5",
            "--relay",
            "https://relay1.example.com/,disabled",
        ],
    );
    assert_eq!(
        (v["min_value"].clone(), v["relays"][0]["disabled"].clone()),
        (json!("0.5"), json!(true))
    );
    // set merges: the relay and min value stay, gas limit is added, then unset with `none`.
    let v = json_out(
        &sb,
        &["fees", "proposers", "set", &k1, "--gas-limit", "40000000"],
    );
    assert_eq!(
        (
            v["min_value"].clone(),
            v["gas_limit"].clone(),
            v["relays"].as_array().unwrap().len()
        ),
        (json!("0.5"), json!("40000000"), 1)
    );
    let v = json_out(
        &sb,
        &["fees", "proposers", "set", &k1, "--gas-limit", "none"],
    );
    assert_eq!(v["gas_limit"], Value::Null);
    json_out(
        &sb,
        &[
            "fees",
            "patterns",
            "create",
            "pool1",
            "--pattern",
            "^Pool1/.*$",
            "--tag",
            "pool-1",
            "--reset-relays",
            "true",
        ],
    );
    json_out(&sb, &["fees", "mux", "create", "pool-1", "--key", &k1]);
    let v = json_out(&sb, &["fees", "mux", "add-keys", "pool-1", "--key", &k2]);
    assert_eq!(v, json!({"added": 1, "total_keys": 2}));
    let v = json_out(&sb, &["fees", "proposers", "list", "--min-value", "0.50"]);
    assert_eq!(v["total"], json!(1));
    let v = json_out(
        &sb,
        &[
            "fees",
            "vouch-config",
            "main",
            "--key",
            &k1,
            "--tags",
            "pool-1",
        ],
    );
    assert_eq!(
        v["proposers"][0]["relays"]["https://relay1.example.com/"],
        json!({"disabled": true})
    );
    assert_eq!(v["proposers"][1]["proposer"], "^(?:^Pool1/.*$)$");
    // Tables for people.
    sb.butler()
        .args(["fees", "proposers", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&k1))
        .stdout(predicate::str::contains("1 of 1"));
    sb.butler()
        .args(["fees", "mux", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("pool-1"));
    // Errors: bad input exits 2 naming the field; a missing entry exits 1.
    sb.butler()
        .args(["fees", "proposers", "set", &off_curve_key()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a point on the curve"));
    sb.butler()
        .args(["fees", "configs", "update", "main", "--gas-limit", "lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gas_limit: 'lots'"));
    sb.butler()
        .args(["fees", "configs", "get", "nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Default config 'nope' not found"));

    // Export, then import the same document: nothing changes.
    let exported = sb.butler().args(["fees", "export"]).output().unwrap();
    assert!(exported.status.success());
    let doc: Value = serde_json::from_slice(&exported.stdout).unwrap();
    assert_eq!(doc["version"], json!(1));
    assert_eq!(
        doc["mux_configs"],
        json!([{"name": "pool-1", "keys": [k1, k2]}])
    );
    let path = sb.write("fees.json", &String::from_utf8(exported.stdout).unwrap());
    let v = json_out(&sb, &["fees", "import", path.to_str().unwrap()]);
    assert_eq!(v["applied"], json!(false));
    // Edit: move k2 to a new mux, drop the pattern, change the default; dry run first, then apply twice.
    let mut edited = doc.clone();
    edited["mux_configs"] =
        json!([{"name": "pool-1", "keys": [k1]}, {"name": "pool-2", "keys": [k2]}]);
    edited["proposer_patterns"] = json!([]);
    edited["default_configs"][0]["min_value"] = json!("0.3");
    let path = sb.write("edited.json", &edited.to_string());
    let plan = json_out(
        &sb,
        &["fees", "import", path.to_str().unwrap(), "--dry-run"],
    );
    assert_eq!(plan["applied"], json!(false));
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(
        changes[0],
        json!({"section": "default_configs", "create": 0, "update": 1, "delete": 0, "unchanged": 0})
    );
    assert_eq!(
        changes[2],
        json!({"section": "proposer_patterns", "create": 0, "update": 0, "delete": 1, "unchanged": 0})
    );
    assert_eq!(
        changes[3],
        json!({"section": "mux_configs", "create": 1, "update": 1, "delete": 0, "unchanged": 0})
    );
    assert_eq!(
        json_out(&sb, &["fees", "mux", "get", "pool-1"])["keys"],
        json!([k1, k2]),
        "dry run wrote nothing"
    );
    assert_eq!(
        json_out(&sb, &["fees", "import", path.to_str().unwrap()])["applied"],
        json!(true)
    );
    assert_eq!(
        json_out(&sb, &["fees", "import", path.to_str().unwrap()])["applied"],
        json!(false),
        "idempotent"
    );
    assert_eq!(
        json_out(&sb, &["fees", "mux", "get", "pool-2"])["keys"],
        json!([k2])
    );
    // TOML round trip.
    let toml_path = sb.path().join("fees.toml");
    sb.butler()
        .args([
            "fees",
            "export",
            "--format",
            "toml",
            "--out",
            toml_path.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert_eq!(
        json_out(&sb, &["fees", "import", toml_path.to_str().unwrap()])["applied"],
        json!(false)
    );
    // A file that cannot be written is named as such.
    let unwritable = sb.path().join("no-such-dir").join("fees.json");
    sb.butler()
        .args(["fees", "export", "--out", unwritable.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "cannot write {}",
            unwritable.display()
        )));
    // An invalid document is refused as a whole, naming the place, and writes nothing.
    let mut bad = edited.clone();
    bad["mux_configs"][1]["keys"] = json!([k1]);
    bad["default_configs"][0]["min_value"] = json!("0.9");
    let path = sb.write("bad.json", &bad.to_string());
    sb.butler()
        .args(["fees", "import", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mux_configs[1].keys[0]"))
        .stderr(predicate::str::contains("bad.json"));
    let path = sb.write("bad2.json", "{\"proposers\": [{\"public_key\": 5}]}");
    sb.butler()
        .args(["fees", "import", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("proposers[0].public_key"));
    assert_eq!(
        json_out(&sb, &["fees", "configs", "get", "main"])["min_value"],
        json!("0.3")
    );
}
on_backends!(cli_admin_and_transfer);
