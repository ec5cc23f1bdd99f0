//! `fees explain` / `GET /api/admin/vouch/explain` against an independent implementation of what a validator
//! gets, written here from the rules in docs/fee-manager.md (entry order: the key entry, then the patterns
//! carrying a requested tag by name; the first match wins; inheritance from the default config and its
//! relays; `reset_relays`; disabled relays; entries that override nothing left out), on generated
//! configurations (seeded RNG, seed printed), on SQLite and PostgreSQL.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::on_backends;
use crate::support::fees::{Backend, Server, bls_key};

const URLS: [&str; 4] = [
    "https://r1.example.com/",
    "https://r2.example.com/",
    "https://r3.example.com/",
    "https://r4.example.com/",
];
const ADDRS: [&str; 4] = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
];
const TAGS: [&str; 3] = ["t1", "t2", "t3"];
const WALLETS: [&str; 3] = ["Pool1", "Pool2", "Solo"];

/// The values of one level; `None` inherits.
#[derive(Debug, Clone, Default)]
struct Values {
    fee: Option<String>,
    gas: Option<String>,
    grace: Option<String>,
    min: Option<String>,
}

#[derive(Debug, Clone)]
struct Relay {
    url: String,
    public_key: Option<String>,
    values: Values,
    disabled: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    values: Values,
    reset: bool,
    relays: Vec<Relay>,
}

#[derive(Debug, Clone)]
struct Pattern {
    name: String,
    pattern: String,
    tags: Vec<String>,
    entry: Entry,
}

struct Generated {
    top: Entry,
    keys: Vec<String>,
    proposers: BTreeMap<String, Entry>,
    patterns: Vec<Pattern>,
}

fn maybe(rng: &mut StdRng, p: f64, v: impl FnOnce(&mut StdRng) -> String) -> Option<String> {
    rng.random_bool(p).then(|| v(rng))
}

fn values(rng: &mut StdRng, p: f64) -> Values {
    Values {
        fee: maybe(rng, p, |r| {
            ADDRS[r.random_range(0..ADDRS.len())].to_string()
        }),
        gas: maybe(rng, p, |r| {
            (30_000_000 + r.random_range(0..4) * 1_000_000).to_string()
        }),
        grace: maybe(rng, p, |r| (r.random_range(0..5) * 100).to_string()),
        min: maybe(rng, p, |r| format!("0.{}", r.random_range(1..9))),
    }
}

fn relays(rng: &mut StdRng, key_seed: u16, disabled_p: f64) -> Vec<Relay> {
    let mut out = Vec::new();
    for url in URLS {
        if rng.random_bool(0.4) {
            out.push(Relay {
                url: url.to_string(),
                public_key: rng
                    .random_bool(0.5)
                    .then(|| bls_key(key_seed + rng.random_range(0..3))),
                values: values(rng, 0.3),
                disabled: rng.random_bool(disabled_p),
            });
        }
    }
    out
}

fn entry(rng: &mut StdRng) -> Entry {
    Entry {
        // Sometimes nothing at all: an entry that overrides nothing.
        values: if rng.random_bool(0.2) {
            Values::default()
        } else {
            values(rng, 0.4)
        },
        reset: rng.random_bool(0.25),
        relays: if rng.random_bool(0.3) {
            Vec::new()
        } else {
            relays(rng, 900, 0.35)
        },
    }
}

fn generate(rng: &mut StdRng) -> Generated {
    let top = Entry {
        values: values(rng, 0.6),
        reset: false,
        relays: relays(rng, 800, 0.2),
    };
    let keys: Vec<String> = (0..4).map(|i| bls_key(700 + i)).collect();
    let mut proposers = BTreeMap::new();
    for k in &keys[..3] {
        if rng.random_bool(0.7) {
            proposers.insert(k.clone(), entry(rng));
        }
    }
    let mut patterns = Vec::new();
    for i in 0..rng.random_range(0..5) {
        let wallet = WALLETS[rng.random_range(0..WALLETS.len())];
        let pattern = match rng.random_range(0..3) {
            0 => format!("{wallet}/.*"),
            1 => format!("{wallet}/v-[0-9]+"),
            _ => format!("{wallet}/a|{wallet}/b"),
        };
        let tags = TAGS
            .iter()
            .filter(|_| rng.random_bool(0.5))
            .map(|t| t.to_string())
            .collect();
        patterns.push(Pattern {
            name: format!("p{}-{i}", rng.random_range(0..10)),
            pattern,
            tags,
            entry: entry(rng),
        });
    }
    Generated {
        top,
        keys,
        proposers,
        patterns,
    }
}

fn values_json(v: &Values) -> Value {
    json!({"fee_recipient": v.fee, "gas_limit": v.gas, "grace": v.grace, "min_value": v.min})
}

fn relays_json(rs: &[Relay]) -> Value {
    rs.iter()
        .map(|r| {
            let mut v = values_json(&r.values);
            v["url"] = json!(r.url);
            v["public_key"] = json!(r.public_key);
            v["disabled"] = json!(r.disabled);
            v
        })
        .collect()
}

fn document(g: &Generated) -> Value {
    let mut main = values_json(&g.top.values);
    main["name"] = json!("main");
    main["relays"] = relays_json(&g.top.relays);
    let proposers: Vec<Value> = g
        .proposers
        .iter()
        .map(|(k, e)| {
            let mut v = values_json(&e.values);
            v["public_key"] = json!(k);
            v["reset_relays"] = json!(e.reset);
            v["relays"] = relays_json(&e.relays);
            v
        })
        .collect();
    let patterns: Vec<Value> = g
        .patterns
        .iter()
        .map(|p| {
            let mut v = values_json(&p.entry.values);
            v["name"] = json!(p.name);
            v["pattern"] = json!(p.pattern);
            v["tags"] = json!(p.tags);
            v["reset_relays"] = json!(p.entry.reset);
            v["relays"] = relays_json(&p.entry.relays);
            v
        })
        .collect();
    json!({"version": 1, "default_configs": [main], "proposers": proposers, "proposer_patterns": patterns})
}

/// One relay as the validator uses it: public key, fee recipient, gas limit, grace, min value (`None`:
/// one of Vouch's fallbacks).
type Use = (
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// The docs' rules, applied to the stored configuration.
fn expected(
    g: &Generated,
    key: &str,
    account: &str,
    tags: &[&str],
) -> (Option<String>, Option<String>, BTreeMap<String, Use>) {
    let top = &g.top.values;
    let base: Vec<&Relay> = g.top.relays.iter().filter(|r| !r.disabled).collect();
    let inherited_url = |url: &str| base.iter().any(|r| r.url == url);
    // What butler serves of an entry: a disabled relay only where it removes an inherited one; an entry
    // that overrides nothing is left out.
    let serves = |e: &Entry| {
        let v = &e.values;
        v.fee.is_some()
            || v.gas.is_some()
            || v.grace.is_some()
            || v.min.is_some()
            || e.reset
            || e.relays
                .iter()
                .any(|r| !r.disabled || (!e.reset && inherited_url(&r.url)))
    };
    let mut candidates: Vec<(Option<String>, &Entry)> = Vec::new();
    if let Some(e) = g.proposers.get(key) {
        candidates.push((None, e));
    }
    let mut pats: Vec<&Pattern> = g
        .patterns
        .iter()
        .filter(|p| p.tags.iter().any(|t| tags.contains(&t.as_str())))
        .collect();
    pats.sort_by(|a, b| a.name.cmp(&b.name));
    for p in pats {
        let whole = regex::Regex::new(&format!("^(?:{})$", p.pattern)).unwrap();
        if whole.is_match(account) {
            candidates.push((Some(p.name.clone()), &p.entry));
        }
    }
    let matched = candidates.into_iter().find(|(_, e)| serves(e));
    let mut fee = top.fee.clone();
    let top_gas = top.gas.clone();
    let top_grace = top.grace.clone().unwrap_or("0".into());
    let top_min = top.min.clone().unwrap_or("0".into());
    let mut relays: BTreeMap<String, Use> = base
        .iter()
        .map(|r| {
            let v = &r.values;
            (
                r.url.clone(),
                (
                    r.public_key.clone(),
                    v.fee.clone().or(fee.clone()),
                    v.gas.clone().or(top_gas.clone()),
                    v.grace.clone().unwrap_or(top_grace.clone()),
                    v.min.clone().unwrap_or(top_min.clone()),
                ),
            )
        })
        .collect();
    let Some((name, e)) = matched else {
        return (None, fee, relays);
    };
    let ev = &e.values;
    for r in relays.values_mut() {
        if let Some(f) = &ev.fee {
            r.1 = Some(f.clone());
        }
        if let Some(x) = &ev.gas {
            r.2 = Some(x.clone());
        }
        if let Some(x) = &ev.grace {
            r.3 = x.clone();
        }
        if let Some(x) = &ev.min {
            r.4 = x.clone();
        }
    }
    if ev.fee.is_some() {
        fee = ev.fee.clone();
    }
    if e.reset {
        relays.clear();
    }
    for pr in &e.relays {
        let v = &pr.values;
        match relays.get_mut(&pr.url) {
            Some(_) if pr.disabled => {
                relays.remove(&pr.url);
            }
            Some(r) => {
                if pr.public_key.is_some() {
                    r.0 = pr.public_key.clone();
                }
                if v.fee.is_some() {
                    r.1 = v.fee.clone();
                }
                if v.gas.is_some() {
                    r.2 = v.gas.clone();
                }
                if let Some(x) = &v.grace {
                    r.3 = x.clone();
                }
                if let Some(x) = &v.min {
                    r.4 = x.clone();
                }
            }
            None if pr.disabled => {}
            None => {
                relays.insert(
                    pr.url.clone(),
                    (
                        pr.public_key.clone(),
                        v.fee.clone().or(ev.fee.clone()).or(top.fee.clone()),
                        v.gas.clone().or(ev.gas.clone()).or(top_gas.clone()),
                        v.grace
                            .clone()
                            .or(ev.grace.clone())
                            .unwrap_or(top_grace.clone()),
                        v.min.clone().or(ev.min.clone()).unwrap_or(top_min.clone()),
                    ),
                );
            }
        }
    }
    let label = Some(name.unwrap_or_else(|| "key".to_string()));
    (label, fee, relays)
}

/// The same three things read from an explain answer.
fn observed(v: &Value) -> (Option<String>, Option<String>, BTreeMap<String, Use>) {
    let s = |d: &Value| d["value"].as_str().map(str::to_string);
    let matched = match &v["matched"] {
        Value::Null => None,
        m if m["kind"] == "key" => Some("key".to_string()),
        m => Some(m["name"].as_str().unwrap().to_string()),
    };
    let relays = v["relays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["added_while_disabled"], json!(false), "{r}");
            (
                r["url"].as_str().unwrap().to_string(),
                (
                    r["public_key"]
                        .get("value")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                    s(&r["fee_recipient"]),
                    s(&r["gas_limit"]),
                    s(&r["grace"]).unwrap(),
                    s(&r["min_value"]).unwrap(),
                ),
            )
        })
        .collect();
    (matched, s(&v["fee_recipient"]), relays)
}

async fn explain_agrees_with_the_rules(b: Backend) {
    let s = Server::start(&b).await;
    let seed: u64 = std::env::var("BUTLER_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("fees_explain seed: {seed} (BUTLER_TEST_SEED={seed} repeats it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let doc_path = s.sb.path().join("cwd/doc.json");
    let mut checked = 0;
    for round in 0..24 {
        let g = generate(&mut rng);
        std::fs::write(&doc_path, document(&g).to_string()).unwrap();
        let out =
            s.sb.butler()
                .args(["fees", "import", "doc.json"])
                .output()
                .unwrap();
        assert!(
            out.status.success(),
            "seed {seed} round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for key in &g.keys {
            for _ in 0..3 {
                let wallet = WALLETS[rng.random_range(0..WALLETS.len())];
                let account = match rng.random_range(0..4) {
                    0 => format!("{wallet}/a"),
                    1 => format!("{wallet}/b"),
                    2 => format!("{wallet}/v-{}", rng.random_range(0..20)),
                    _ => format!("{wallet}/other"),
                };
                let tags: Vec<&str> = TAGS
                    .iter()
                    .copied()
                    .filter(|_| rng.random_bool(0.5))
                    .collect();
                let q = format!(
                    "/api/admin/vouch/explain?public_key={key}&config=main&tags={}&account={account}",
                    tags.join(",")
                );
                let (st, v) = s.admin("GET", &q, None).await;
                assert_eq!(st, 200, "seed {seed} round {round}: {v}");
                assert_eq!(
                    observed(&v),
                    expected(&g, key, &account, &tags),
                    "seed {seed} round {round}: {key} {account} {tags:?}\n{v:#}\nstored: {:#}",
                    document(&g)
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 24 * 12);
    // The CLI prints the same explanation.
    let k = bls_key(700);
    let out =
        s.sb.butler()
            .args([
                "--output",
                "json",
                "fees",
                "explain",
                &k,
                "--tags",
                "t1,t2",
                "--account",
                "Pool1/a",
            ])
            .output()
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, http) = s
        .admin(
            "GET",
            &format!("/api/admin/vouch/explain?public_key={k}&tags=t1,t2&account=Pool1/a"),
            None,
        )
        .await;
    assert_eq!(cli, http);
    let table =
        s.sb.butler()
            .args(["fees", "explain", &k, "--account", "Pool1/a"])
            .output()
            .unwrap();
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("fee_recipient"));
    let mut s = s;
    s.stop();
}
on_backends!(explain_agrees_with_the_rules);
