//! What the real clients decode: proposer patterns by Go's `regexp` rules (every Rust-only construct refused
//! through the admin API, `butler fees` and `fees import`; patterns served anchored as a whole), values as
//! Go parses them (grace as a Go duration, exact numbers), keys in one spelling, entries that override
//! nothing, and muxes that are never empty, on SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::on_backends;
use crate::support::fees::{Backend, Server, bls_key};

const FEE_A: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const FEE_B: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";

/// Patterns Rust's `regex` accepts and Go's `regexp` refuses (or reads differently), with the construct the
/// error must name and its position.
const RUST_ONLY: &[(&str, &str, usize)] = &[
    ("(?x)Pool1/.*", "(?x", 1),
    ("Pool1/(?u)a", "(?u", 7),
    ("Pool1/\\u0041", "\\u", 7),
    ("Pool1/\\u{41}", "\\u", 7),
    ("a{1001}", "{1001}", 2),
    ("(a{50}){50}", "{50}", 8),
    ("Pool1/[a[bc]]", "[", 9),
    ("Pool1/[a-z&&b]", "&&", 11),
    ("Pool1/[a-z--b]", "--", 11),
    ("\\p{Alphabetic}+", "\\p{Alphabetic}", 1),
    ("\\p{scx=Greek}", "\\p{scx=Greek}", 1),
];

fn cli(s: &Server, args: &[&str]) -> std::process::Output {
    s.sb.butler().args(args).output().unwrap()
}

async fn patterns_by_go_rules(b: Backend) {
    let s = Server::start(&b).await;
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "main", "fee_recipient": FEE_A})),
        )
        .await;
    assert_eq!(st, 201);
    for (i, (pattern, construct, position)) in RUST_ONLY.iter().enumerate() {
        assert!(
            regex::Regex::new(pattern).is_ok(),
            "{pattern} is a valid Rust regex"
        );
        let want = format!("`{construct}");
        let at = format!("at position {position}");
        // Admin API: 400 naming the construct and where it is.
        let (st, v) = s
            .admin(
                "POST",
                "/api/admin/vouch/proposer-patterns",
                Some(json!({"name": format!("p{i}"), "pattern": pattern, "tags": ["t"]})),
            )
            .await;
        let msg = v["error"].as_str().unwrap_or_default();
        assert_eq!(st, 400, "{pattern}: {v}");
        assert!(
            msg.starts_with("pattern: ") && msg.contains(&want) && msg.contains(&at),
            "{pattern}: {msg}"
        );
        // The CLI: exit 2 with the same message.
        let out = cli(
            &s,
            &[
                "fees",
                "patterns",
                "create",
                &format!("p{i}"),
                "--pattern",
                pattern,
                "--tag",
                "t",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{pattern}: {err}");
        assert!(err.contains(&want) && err.contains(&at), "{pattern}: {err}");
        // Import: exit 2 naming the file and the place; nothing written.
        let doc = json!({"version": 1, "default_configs": [{"name": "main", "fee_recipient": FEE_A}],
            "proposer_patterns": [{"name": "ok", "pattern": "Pool9/.*", "tags": ["t"]},
                                  {"name": format!("p{i}"), "pattern": pattern, "tags": ["t"]}]});
        s.sb.write("cwd/doc.json", &doc.to_string());
        let out = cli(&s, &["fees", "import", "doc.json"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{pattern}: {err}");
        assert!(
            err.contains("doc.json")
                && err.contains("proposer_patterns[1].pattern")
                && err.contains(&want),
            "{pattern}: {err}"
        );
    }
    let (_, v) = s
        .admin("GET", "/api/admin/vouch/proposer-patterns", None)
        .await;
    assert_eq!(v["total"], json!(0), "nothing refused was stored");

    // A valid Go pattern is accepted; constructs Go reads as ASCII come back as warnings.
    let go = "(?i)pool1/validator-\\d+";
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/vouch/proposer-patterns",
            Some(json!({"name": "go", "pattern": go, "tags": ["t"], "min_value": "1"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["pattern"], go);
    let w = v["warnings"][0].as_str().unwrap();
    assert!(
        w.contains("`\\d` at position 21") && w.contains("ASCII"),
        "{w}"
    );
    // The answer can be sent back as is (warnings included).
    let (st, _) = s
        .admin(
            "PUT",
            "/api/admin/vouch/proposer-patterns/go",
            Some(v.clone()),
        )
        .await;
    assert_eq!(st, 200);
    let out = cli(&s, &["fees", "patterns", "get", "go"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("warning: pattern 'go': `\\d` at position 21")
    );

    // An alternation is stored as given and served anchored as a whole.
    let alt = "Pool1/a|Pool2/b";
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/vouch/proposer-patterns",
            Some(json!({"name": "alt", "pattern": alt, "tags": ["t"], "fee_recipient": FEE_B})),
        )
        .await;
    assert_eq!((st, v["pattern"].clone()), (201, json!(alt)));
    let export: Value = serde_json::from_slice(&cli(&s, &["fees", "export"]).stdout).unwrap();
    let stored: Vec<&str> = export["proposer_patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pattern"].as_str().unwrap())
        .collect();
    assert_eq!(stored, [alt, go]);
    let (st, cfg) = s
        .vouch_raw("/vouch/v2/execution-config/main?tags=t", "[]")
        .await;
    assert_eq!(st, 200);
    let served: Vec<&str> = cfg["proposers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["proposer"].as_str().unwrap())
        .collect();
    assert_eq!(
        served,
        ["^(?:Pool1/a|Pool2/b)$", "^(?:(?i)pool1/validator-\\d+)$"]
    );
    let whole = regex::Regex::new(served[0]).unwrap();
    assert!(
        whole.is_match("Pool1/a") && !whole.is_match("Pool1/ab") && !whole.is_match("xPool2/b")
    );
    let mut s = s;
    s.stop();
}
on_backends!(patterns_by_go_rules);

async fn values_as_go_reads_them(b: Backend) {
    let s = Server::start(&b).await;
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "main", "fee_recipient": FEE_A})),
        )
        .await;
    assert_eq!(st, 201);
    let key = bls_key(501);
    let upper = format!("0x{}", key[2..].to_uppercase());

    // An entry that overrides nothing is left out: the pattern matching the validator applies.
    let (st, v) = s
        .admin(
            "PUT",
            &format!("/api/admin/vouch/proposers/{key}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/proposer-patterns",
            Some(json!({"name": "pool1", "pattern": "Pool1/.*", "tags": ["t"], "fee_recipient": FEE_B})),
        )
        .await;
    assert_eq!(st, 201);
    let (_, cfg) = s
        .vouch_raw(
            "/vouch/v2/execution-config/main?tags=t",
            &json!([key]).to_string(),
        )
        .await;
    assert_eq!(
        cfg["proposers"],
        json!([{"proposer": "^(?:Pool1/.*)$", "fee_recipient": FEE_B}])
    );
    let (_, e) = s
        .admin(
            "GET",
            &format!(
                "/api/admin/vouch/explain?public_key={key}&config=main&tags=t&account=Pool1/x"
            ),
            None,
        )
        .await;
    assert_eq!(e["matched"]["name"], "pool1", "{e}");
    assert_eq!(e["fee_recipient"]["value"], FEE_B);

    // Keys in upper and lower case are one row.
    let (st, v) = s
        .admin(
            "PUT",
            &format!("/api/admin/vouch/proposers/{upper}"),
            Some(json!({"public_key": upper, "min_value": "0.5"})),
        )
        .await;
    assert_eq!((st, v["public_key"].clone()), (200, json!(key)), "{v}");
    let (_, v) = s
        .admin("GET", &format!("/api/admin/vouch/proposers/{upper}"), None)
        .await;
    assert_eq!(v["min_value"], "0.5");
    let (_, v) = s.admin("GET", "/api/admin/vouch/proposers", None).await;
    assert_eq!(v["total"], json!(1));
    let out = cli(
        &s,
        &[
            "fees",
            "proposers",
            "set",
            &upper,
            "--gas-limit",
            "31000000",
        ],
    );
    assert!(out.status.success());
    let (_, v) = s.admin("GET", "/api/admin/vouch/proposers", None).await;
    assert_eq!(
        (v["total"].clone(), v["proposers"][0]["gas_limit"].clone()),
        (json!(1), json!("31000000"))
    );

    // grace: at most what a Go time.Duration of milliseconds holds.
    let path = format!("/api/admin/vouch/proposers/{key}");
    let (st, v) = s
        .admin("PUT", &path, Some(json!({"grace": "9223372036855"})))
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("grace: '9223372036855' is too large"),
        "{v}"
    );
    let (st, _) = s
        .admin("PUT", &path, Some(json!({"grace": "18446744073709551615"})))
        .await;
    assert_eq!(st, 400);
    let (st, v) = s
        .admin("PUT", &path, Some(json!({"grace": 9223372036854u64})))
        .await;
    assert_eq!((st, v["grace"].clone()), (200, json!("9223372036854")));

    // Numbers: a JSON number that is not exact is refused; as a string it is kept exactly.
    let body = r#"{"min_value": 123456789.123456789}"#;
    let resp = s
        .http
        .put(s.url(&path))
        .bearer_auth(crate::support::fees::TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.unwrap();
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("min_value") && msg.contains("give it as a string"),
        "{msg}"
    );
    let (st, v) = s
        .admin(
            "PUT",
            &path,
            Some(json!({"min_value": "123456789.123456789"})),
        )
        .await;
    assert_eq!(
        (st, v["min_value"].clone()),
        (200, json!("123456789.123456789"))
    );
    let (st, v) = s
        .admin("PUT", &path, Some(json!({"gas_limit": 30000000})))
        .await;
    assert_eq!((st, v["gas_limit"].clone()), (200, json!("30000000")));
    let resp = s
        .http
        .put(s.url(&path))
        .bearer_auth(crate::support::fees::TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"gas_limit": 3e7}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let mut s = s;
    s.stop();
}
on_backends!(values_as_go_reads_them);

async fn muxes_never_empty(b: Backend) {
    let s = Server::start(&b).await;
    let (k1, k2) = (bls_key(511), bls_key(512));
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux",
            Some(json!({"name": "m", "keys": []})),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("Commit-Boost refuses a mux without keys"),
        "{v}"
    );
    let out = cli(&s, &["fees", "mux", "create", "m"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("would have no keys"));
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux",
            Some(json!({"name": "m", "keys": [k1, k2]})),
        )
        .await;
    assert_eq!(st, 201);
    let (st, _) = s
        .admin(
            "PUT",
            "/api/admin/commit-boost/mux/m",
            Some(json!({"name": "m", "keys": []})),
        )
        .await;
    assert_eq!(st, 409);
    let keys = "/api/admin/commit-boost/mux/m/keys";
    let (st, v) = s.admin("DELETE", keys, Some(json!({"keys": [k1]}))).await;
    assert_eq!((st, v["total_keys"].clone()), (200, json!(1)));
    let (st, v) = s.admin("DELETE", keys, Some(json!({"keys": [k2]}))).await;
    assert_eq!(st, 409, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("would leave mux 'm' without keys"),
        "{v}"
    );
    let out = cli(&s, &["fees", "mux", "remove-keys", "m", "--key", &k2]);
    assert_eq!(out.status.code(), Some(1));
    let (st, v) = s.call("GET", "/commit-boost/v1/mux/m", None, None).await;
    assert_eq!(
        (st, v),
        (200, json!([k2])),
        "the refused removal changed nothing"
    );
    let doc = json!({"version": 1, "mux_configs": [{"name": "m", "keys": []}]});
    s.sb.write("cwd/doc.json", &doc.to_string());
    let out = cli(&s, &["fees", "import", "doc.json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("mux_configs[0].keys"), "{err}");
    let mut s = s;
    s.stop();
}
on_backends!(muxes_never_empty);
