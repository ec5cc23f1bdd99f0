//! Vouch compatibility of `POST /vouch/v2/execution-config/{config}`: the bodies Vouch sends, and the answer
//! decoded and resolved the way Vouch's `services/blockrelay/v2` does (strings for numbers, version 2,
//! first matching proposer entry, reset_relays, disabled relays), on SQLite and PostgreSQL.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::on_backends;
use crate::support::fees::{Backend, Server, bls_key};

const FALLBACK_FEE: &str = "0x000000000000000000000000000000000000fa11";
const FALLBACK_GAS: u64 = 36_000_000;

/// A relay as Vouch resolves it for one proposer.
#[derive(Debug, Clone, PartialEq)]
struct RelayOut {
    public_key: Option<String>,
    fee_recipient: String,
    gas_limit: u64,
    min_value: String,
}

/// What Vouch would use for one validator.
#[derive(Debug, PartialEq)]
struct Resolved {
    fee_recipient: String,
    gas_limit: u64,
    relays: BTreeMap<String, RelayOut>,
}

/// An optional Go `string` field: absent or a JSON string (a number fails Go's decoding).
fn gostr(v: &Value, field: &str) -> Option<String> {
    match v.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => panic!("{field} must be a JSON string for Vouch, got {other}"),
    }
}

fn address(v: &Value, field: &str) -> Option<String> {
    gostr(v, field).map(|s| {
        let b = hex::decode(s.trim_start_matches("0x")).expect("fee recipient hex");
        assert_eq!(b.len(), 20, "{field} must be 20 bytes");
        format!("0x{}", hex::encode(b))
    })
}

fn gas(v: &Value) -> Option<u64> {
    gostr(v, "gas_limit").map(|s| s.parse::<u64>().expect("gas_limit parses as uint64"))
}

fn min(v: &Value) -> Option<String> {
    gostr(v, "min_value").inspect(|s| {
        assert!(
            s.parse::<f64>().is_ok_and(|f| f >= 0.0),
            "min_value {s} is a non-negative decimal"
        )
    })
}

fn relay_pk(v: &Value) -> Option<String> {
    gostr(v, "public_key")
        .inspect(|s| assert_eq!(hex::decode(s.trim_start_matches("0x")).unwrap().len(), 48))
}

/// Decodes and resolves an execution config for (account, pubkey) the way Vouch v2 does.
fn resolve(cfg: &Value, account: &str, pubkey: &str) -> Resolved {
    assert_eq!(cfg["version"], json!(2), "version must be the integer 2");
    let top_fee = address(cfg, "fee_recipient");
    let top_gas = gas(cfg);
    let top_min = min(cfg);
    let mut fee = top_fee.clone().unwrap_or(FALLBACK_FEE.to_string());
    let mut gas_limit = top_gas.unwrap_or(FALLBACK_GAS);
    let mut relays: Vec<(String, RelayOut)> = Vec::new();
    for (url, r) in cfg["relays"].as_object().cloned().unwrap_or_default() {
        relays.push((
            url,
            RelayOut {
                public_key: relay_pk(&r),
                fee_recipient: address(&r, "fee_recipient").unwrap_or(fee.clone()),
                gas_limit: gas(&r).unwrap_or(gas_limit),
                min_value: min(&r).or(top_min.clone()).unwrap_or("0".into()),
            },
        ));
    }
    for p in cfg["proposers"].as_array().cloned().unwrap_or_default() {
        let who = p["proposer"].as_str().expect("proposer is a string");
        let matched = if let Some(hexkey) = who.strip_prefix("0x") {
            assert_eq!(
                hex::decode(hexkey).unwrap().len(),
                48,
                "proposer key length"
            );
            who.eq_ignore_ascii_case(pubkey)
        } else {
            let mut re = who.to_string();
            if !re.starts_with('^') {
                re.insert(0, '^');
            }
            if !re.ends_with('$') {
                re.push('$');
            }
            regex::Regex::new(&re)
                .expect("proposer regex")
                .is_match(account)
        };
        if !matched {
            continue;
        }
        let p_fee = address(&p, "fee_recipient");
        let p_gas = gas(&p);
        let p_min = min(&p);
        if let Some(f) = &p_fee {
            fee = f.clone();
            relays
                .iter_mut()
                .for_each(|(_, r)| r.fee_recipient = f.clone());
        }
        if let Some(g) = p_gas {
            gas_limit = g;
            relays.iter_mut().for_each(|(_, r)| r.gas_limit = g);
        }
        if let Some(m) = &p_min {
            relays.iter_mut().for_each(|(_, r)| r.min_value = m.clone());
        }
        if p.get("reset_relays") == Some(&json!(true)) {
            relays.clear();
        }
        let prs = p["relays"].as_object().cloned().unwrap_or_default();
        // Vouch marks every relay already in the set as handled, kept or disabled.
        let done: Vec<String> = relays.iter().map(|(u, _)| u.clone()).collect();
        let mut kept = Vec::new();
        for (url, mut r) in relays.drain(..) {
            match prs.get(&url) {
                Some(pr) if pr.get("disabled") == Some(&json!(true)) => {}
                Some(pr) => {
                    if let Some(k) = relay_pk(pr) {
                        r.public_key = Some(k);
                    }
                    if let Some(f) = address(pr, "fee_recipient") {
                        r.fee_recipient = f;
                    }
                    if let Some(g) = gas(pr) {
                        r.gas_limit = g;
                    }
                    if let Some(m) = min(pr) {
                        r.min_value = m;
                    }
                    kept.push((url, r));
                }
                None => kept.push((url, r)),
            }
        }
        for (url, pr) in &prs {
            if !done.contains(url) {
                kept.push((
                    url.clone(),
                    RelayOut {
                        public_key: relay_pk(pr),
                        fee_recipient: address(pr, "fee_recipient")
                            .or(p_fee.clone())
                            .or(top_fee.clone())
                            .unwrap_or(FALLBACK_FEE.into()),
                        gas_limit: gas(pr).or(p_gas).or(top_gas).unwrap_or(FALLBACK_GAS),
                        min_value: min(pr)
                            .or(p_min.clone())
                            .or(top_min.clone())
                            .unwrap_or("0".into()),
                    },
                ));
            }
        }
        relays = kept;
        break;
    }
    Resolved {
        fee_recipient: fee,
        gas_limit,
        relays: relays.into_iter().collect(),
    }
}

const R1: &str = "https://relay1.example.com/";
const R2: &str = "https://relay2.example.com/";
const R3: &str = "https://relay3.example.com/";
const TOP_FEE: &str = "0x1234567890123456789012345678901234567890";
const KEY_FEE: &str = "0x9999999999999999999999999999999999991111";
const POOL_FEE: &str = "0x7777777777777777777777777777777777772222";

async fn seed(s: &Server) -> (String, String, String) {
    let (k1, k2, k3) = (bls_key(1), bls_key(2), bls_key(3));
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({
                "name": "main", "fee_recipient": TOP_FEE, "gas_limit": "30000000", "min_value": "0.1",
                "relays": [
                    {"url": R1, "public_key": bls_key(101), "min_value": "0.2"},
                    {"url": R2, "public_key": bls_key(102)}
                ]
            })),
        )
        .await;
    assert_eq!(st, 201);
    // k1: own fee recipient and min value, relay2 disabled.
    let (st, _) = s
        .admin(
            "PUT",
            &format!("/api/admin/vouch/proposers/{k1}"),
            Some(
                json!({"fee_recipient": KEY_FEE, "gas_limit": null, "min_value": "0.5",
                        "relays": [{"url": R2, "disabled": true}]}),
            ),
        )
        .await;
    assert_eq!(st, 201);
    // k2: only a gas limit; everything else inherited.
    let (st, _) = s
        .admin(
            "PUT",
            &format!("/api/admin/vouch/proposers/{k2}"),
            Some(json!({"gas_limit": 45000000})),
        )
        .await;
    assert_eq!(st, 201);
    // Two patterns under pool-1 (name order decides), one under backup.
    for (name, pattern, tags, body) in [
        (
            "b-pool1",
            "^Pool1/.*$",
            json!(["pool-1", "high-value"]),
            json!({"fee_recipient": POOL_FEE, "reset_relays": true, "relays": [{"url": R3, "public_key": bls_key(103)}, {"url": R1, "disabled": true}]}),
        ),
        (
            "a-pool1-vip",
            "Pool1/vip-.*",
            json!(["pool-1"]),
            json!({"min_value": "1"}),
        ),
        (
            "c-backup",
            "^Backup/.*$",
            json!(["backup"]),
            json!({"fee_recipient": KEY_FEE}),
        ),
    ] {
        let mut b = body;
        b["name"] = json!(name);
        b["pattern"] = json!(pattern);
        b["tags"] = tags;
        let (st, v) = s
            .admin("POST", "/api/admin/vouch/proposer-patterns", Some(b))
            .await;
        assert_eq!(st, 201, "{v}");
    }
    (k1, k2, k3)
}

async fn vouch_compatibility(b: Backend) {
    let s = Server::start(&b).await;
    let (k1, k2, k3) = seed(&s).await;
    // The body Vouch sends: a bare array, keys as %#x (lowercase); plus an unknown key (k3).
    let bare = format!("[\"{k1}\",\"{k2}\",\"{k3}\"]");
    let (st, cfg) = s
        .vouch_raw("/vouch/v2/execution-config/main?tags=pool-1,backup", &bare)
        .await;
    assert_eq!(st, 200, "{cfg}");
    assert_eq!(cfg["version"], json!(2));
    assert!(cfg["version"].is_u64());
    for f in ["gas_limit", "min_value"] {
        assert!(cfg[f].is_string(), "{f} is a JSON string");
    }
    assert_eq!(cfg["gas_limit"], "30000000");
    assert_eq!(cfg["min_value"], "0.1");
    // Order: key entries (request order, known keys only), then patterns by name.
    let order: Vec<&str> = cfg["proposers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["proposer"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            k1.as_str(),
            k2.as_str(),
            "^(?:Pool1/vip-.*)$",
            "^(?:^Pool1/.*$)$",
            "^(?:^Backup/.*$)$"
        ]
    );
    // Null fields are omitted (inherit), reset_relays false is omitted, disabled relay is {"disabled": true}.
    let e1 = &cfg["proposers"][0];
    assert!(e1.get("gas_limit").is_none() && e1.get("reset_relays").is_none());
    assert_eq!(e1["relays"][R2], json!({"disabled": true}));
    assert_eq!(cfg["proposers"][1]["gas_limit"], "45000000");
    // Pattern with reset_relays: its disabled relay is left out (Vouch would add it back).
    let pool = &cfg["proposers"][3];
    assert_eq!(pool["reset_relays"], json!(true));
    assert!(pool["relays"].get(R1).is_none());

    // Resolution as Vouch does it.
    let r = resolve(&cfg, "Other/x", &k1);
    assert_eq!(r.fee_recipient, KEY_FEE.to_lowercase());
    assert_eq!(r.gas_limit, 30_000_000);
    assert_eq!(
        r.relays.keys().collect::<Vec<_>>(),
        vec![R1],
        "relay2 disabled for k1"
    );
    assert_eq!(r.relays[R1].min_value, "0.5");
    assert_eq!(r.relays[R1].fee_recipient, KEY_FEE.to_lowercase());

    let r = resolve(&cfg, "Other/x", &k2);
    assert_eq!(
        (r.fee_recipient.as_str(), r.gas_limit),
        (TOP_FEE, 45_000_000)
    );
    assert_eq!(r.relays.len(), 2);
    assert_eq!(r.relays[R1].min_value, "0.2");
    assert_eq!(r.relays[R2].min_value, "0.1");

    // A key entry wins over a pattern (first match), whatever the account name.
    assert_eq!(
        resolve(&cfg, "Pool1/a", &k1).fee_recipient,
        KEY_FEE.to_lowercase()
    );
    // Unknown key k3: patterns by account name; the VIP pattern comes first by name and wins.
    let vip = resolve(&cfg, "Pool1/vip-7", &k3);
    assert_eq!(vip.fee_recipient, TOP_FEE);
    assert!(vip.relays.values().all(|r| r.min_value == "1"));
    let pool1 = resolve(&cfg, "Pool1/a", &k3);
    assert_eq!(pool1.fee_recipient, POOL_FEE.to_lowercase());
    assert_eq!(
        pool1.relays.keys().collect::<Vec<_>>(),
        vec![R3],
        "reset_relays replaces the default relays"
    );
    assert_eq!(pool1.relays[R3].min_value, "0.1");
    assert_eq!(
        resolve(&cfg, "Backup/1", &k3).fee_recipient,
        KEY_FEE.to_lowercase()
    );
    assert_eq!(resolve(&cfg, "Nobody/1", &k3).relays.len(), 2);

    // Tags are OR-combined and select only tagged patterns; no tags, no patterns.
    let (_, only_backup) = s
        .vouch_raw("/vouch/v2/execution-config/main?tags=backup", &bare)
        .await;
    assert_eq!(only_backup["proposers"].as_array().unwrap().len(), 3);
    let (_, none) = s.vouch_raw("/vouch/v2/execution-config/main", &bare).await;
    assert_eq!(none["proposers"].as_array().unwrap().len(), 2);

    // The spec's object body gives the same answer; upper-case hex finds the same entries.
    let obj = json!({"keys": [k1.to_uppercase().replace("0X", "0x"), k2, k3]}).to_string();
    let (st, same) = s
        .vouch_raw("/vouch/v2/execution-config/main?tags=pool-1,backup", &obj)
        .await;
    assert_eq!(st, 200);
    assert_eq!(same, cfg);
    // An empty array is a valid request (no key entries).
    let (st, empty) = s.vouch_raw("/vouch/v2/execution-config/main", "[]").await;
    assert_eq!(st, 200);
    assert_eq!(empty["proposers"], json!([]));

    // An inactive default config is not served.
    let (st, _) = s
        .admin(
            "PUT",
            "/api/admin/vouch/configs/default/main",
            Some(json!({"fee_recipient": TOP_FEE, "active": false})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, v) = s.vouch_raw("/vouch/v2/execution-config/main", "[]").await;
    assert_eq!(
        (st, v),
        (404, json!({"error": "Default config 'main' is not active"}))
    );
}
on_backends!(vouch_compatibility);
