//! The fee-manager spec end to end over HTTP (every endpoint, filter, pagination rule, error body and
//! validation message), on SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::on_backends;
use crate::support::fees::{Backend, Server, TOKEN, bls_key, off_curve_key};

const FEE_A: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const FEE_B: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";

fn is_iso_utc(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

async fn spec_walkthrough(b: Backend) {
    let s = Server::start(&b).await;
    // Default configs: create (201), get, list with filters, duplicate (409), update (200), delete (204).
    let main = json!({
        "name": "main", "fee_recipient": FEE_A, "gas_limit": "30000000", "min_value": "0.1", "active": true,
        "relays": [{"url": "https://relay1.example.com/", "public_key": bls_key(101), "fee_recipient": FEE_B, "min_value": "0.2"}]
    });
    let (st, created) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(main.clone()),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    assert_eq!(created["name"], "main");
    assert!(is_iso_utc(&created["created_at"]) && is_iso_utc(&created["updated_at"]));
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "testnet", "fee_recipient": FEE_B, "active": false})),
        )
        .await;
    assert_eq!(st, 201);
    let (st, dup) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(main.clone()),
        )
        .await;
    assert_eq!(
        (st, dup),
        (
            409,
            json!({"error": "Default config 'main' already exists"})
        )
    );
    let (st, got) = s
        .admin("GET", "/api/admin/vouch/configs/default/main", None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(got["gas_limit"], "30000000");
    let relay = &got["relays"][0];
    assert!(relay["id"].is_i64());
    assert_eq!(relay["url"], "https://relay1.example.com/");
    assert_eq!(relay["min_value"], "0.2");
    assert_eq!(relay["gas_limit"], Value::Null);
    let list = |q: &str| format!("/api/admin/vouch/configs/default{q}");
    let names = |v: &Value, key: &str, field: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[field].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = s.admin("GET", &list("?active=true"), None).await;
    assert_eq!(names(&v, "configs", "name"), ["main"]);
    let (_, v) = s.admin("GET", &list("?name=ma"), None).await;
    assert_eq!(names(&v, "configs", "name"), ["main"]);
    let (_, v) = s
        .admin(
            "GET",
            &list(&format!("?fee_recipient={}", FEE_B.to_lowercase())),
            None,
        )
        .await;
    assert_eq!(names(&v, "configs", "name"), ["testnet"]);
    let (_, v) = s
        .admin("GET", &list("?gas_limit=30000000&min_value=0.10"), None)
        .await;
    assert_eq!(names(&v, "configs", "name"), ["main"]);
    assert_eq!(
        (v["total"].clone(), v["limit"].clone(), v["offset"].clone()),
        (json!(1), json!(100), json!(0))
    );
    let (st, v) = s
        .admin(
            "PUT",
            "/api/admin/vouch/configs/default/testnet",
            Some(json!({"name": "testnet", "fee_recipient": FEE_B, "gas_limit": "36000000"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["gas_limit"], "36000000");
    assert_eq!(v["active"], json!(true), "an omitted active means active");
    let (st, v) = s
        .admin(
            "PUT",
            "/api/admin/vouch/configs/default/nope",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (st, v),
        (404, json!({"error": "Default config 'nope' not found"}))
    );

    // Proposers: PUT creates (201) then updates (200); list with every filter and pagination.
    let keys: Vec<String> = (1..=5).map(bls_key).collect();
    for (i, k) in keys.iter().enumerate() {
        let body = json!({"fee_recipient": if i % 2 == 0 { FEE_A } else { FEE_B }, "gas_limit": null,
                          "min_value": if i < 2 { "0.5" } else { "0.25" }, "reset_relays": i == 0,
                          "relays": [{"url": "https://relay2.example.com/", "public_key": bls_key(102), "disabled": false}]});
        let (st, v) = s
            .admin(
                "PUT",
                &format!("/api/admin/vouch/proposers/{k}"),
                Some(body),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
    let (st, v) = s
        .admin(
            "PUT",
            &format!("/api/admin/vouch/proposers/{}", keys[0]),
            Some(json!({"fee_recipient": FEE_B, "min_value": "0.5"})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["reset_relays"], json!(false));
    assert_eq!(v["relays"], json!([]));
    let (st, v) = s
        .admin(
            "GET",
            &format!("/api/admin/vouch/proposers/{}", keys[1]),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["public_key"], json!(keys[1]));
    assert_eq!(v["gas_limit"], Value::Null);
    assert_eq!(v["relays"][0]["disabled"], json!(false));
    let plist = |q: &str| format!("/api/admin/vouch/proposers{q}");
    let (_, v) = s
        .admin("GET", &plist("?min_value=0.5&reset_relays=false"), None)
        .await;
    assert_eq!(v["total"], json!(2));
    let (_, v) = s
        .admin("GET", &plist(&format!("?fee_recipient={FEE_A}")), None)
        .await;
    assert_eq!(v["total"], json!(2), "keys 3 and 5");
    let prefix = &keys[2][..6];
    let (_, v) = s
        .admin(
            "GET",
            &plist(&format!("?public_key={prefix}&limit=50&offset=0")),
            None,
        )
        .await;
    assert!(
        names(&v, "proposers", "public_key")
            .iter()
            .all(|k| k.starts_with(prefix))
    );
    assert!(v["total"].as_i64().unwrap() >= 1);
    let (_, p1) = s.admin("GET", &plist("?limit=2&offset=0"), None).await;
    let (_, p2) = s.admin("GET", &plist("?limit=2&offset=2"), None).await;
    let (_, p3) = s.admin("GET", &plist("?limit=2&offset=4"), None).await;
    let mut all: Vec<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| names(p, "proposers", "public_key"))
        .collect();
    assert_eq!(
        (
            p1["total"].clone(),
            p1["limit"].clone(),
            p2["offset"].clone()
        ),
        (json!(5), json!(2), json!(2))
    );
    assert_eq!(all.len(), 5);
    let mut sorted = keys.clone();
    sorted.sort();
    all.sort();
    assert_eq!(all, sorted);
    assert!(
        p1["proposers"][0].get("relays").is_none(),
        "lists carry no relays"
    );
    let (st, _) = s
        .admin(
            "DELETE",
            &format!("/api/admin/vouch/proposers/{}", keys[4]),
            None,
        )
        .await;
    assert_eq!(st, 204);
    let (st, v) = s
        .admin(
            "GET",
            &format!("/api/admin/vouch/proposers/{}", keys[4]),
            None,
        )
        .await;
    assert_eq!(
        (st, v),
        (
            404,
            json!({"error": format!("Proposer '{}' not found", keys[4])})
        )
    );
    let (st, _) = s
        .admin(
            "DELETE",
            &format!("/api/admin/vouch/proposers/{}", keys[4]),
            None,
        )
        .await;
    assert_eq!(st, 404);

    // Proposer patterns: create, filters, get, update, delete.
    for (name, pattern, tags, min, reset) in [
        (
            "pool1-mainnet",
            "^Pool1/.*$",
            json!(["pool-1", "high-value"]),
            "0.3",
            true,
        ),
        (
            "pool1-backup",
            "^Pool1Backup/.*$",
            json!(["pool-1", "backup"]),
            "0.2",
            false,
        ),
        (
            "wallets",
            "^Wallet [0-9]+/.*$",
            json!(["relay-A"]),
            "0.3",
            true,
        ),
    ] {
        let (st, v) = s
            .admin(
                "POST",
                "/api/admin/vouch/proposer-patterns",
                Some(json!({"name": name, "pattern": pattern, "tags": tags,
                "fee_recipient": FEE_A, "min_value": min, "reset_relays": reset,
                "relays": [{"url": "https://relay3.example.com/", "public_key": bls_key(103)}]})),
            )
            .await;
        assert_eq!(st, 201, "{v}");
    }
    let pat = |q: &str| format!("/api/admin/vouch/proposer-patterns{q}");
    let (_, v) = s.admin("GET", &pat("?tag=pool-1"), None).await;
    assert_eq!(
        names(&v, "configs", "name"),
        ["pool1-backup", "pool1-mainnet"]
    );
    let (_, v) = s
        .admin(
            "GET",
            &pat("?tag=high-value&reset_relays=true&min_value=0.3"),
            None,
        )
        .await;
    assert_eq!(names(&v, "configs", "name"), ["pool1-mainnet"]);
    let (_, v) = s.admin("GET", &pat("?pattern=Pool1"), None).await;
    assert_eq!(v["total"], json!(2));
    let (_, v) = s.admin("GET", &pat("?name=pool1"), None).await;
    assert_eq!(v["total"], json!(2));
    assert_eq!(v["configs"][1]["tags"], json!(["high-value", "pool-1"]));
    let (_, v) = s
        .admin("GET", &pat("?name=pool1-mainnet&limit=1"), None)
        .await;
    assert_eq!(
        (v["total"].clone(), v["limit"].clone()),
        (json!(1), json!(1))
    );
    let (st, v) = s.admin("GET", &pat("/pool1-mainnet"), None).await;
    assert_eq!(st, 200);
    assert_eq!(v["pattern"], "^Pool1/.*$");
    assert_eq!(v["relays"][0]["url"], "https://relay3.example.com/");
    let (st, v) = s
        .admin(
            "PUT",
            &pat("/wallets"),
            Some(json!({"name": "wallets", "pattern": "^Wallet 1/.*$", "tags": ["relay-B"]})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        (v["tags"].clone(), v["relays"].clone()),
        (json!(["relay-B"]), json!([]))
    );
    let (st, v) = s
        .admin(
            "PUT",
            &pat("/wallets"),
            Some(json!({"name": "other", "pattern": "x"})),
        )
        .await;
    assert_eq!(st, 400);
    assert!(v["error"].as_str().unwrap().starts_with("name: "), "{v}");
    let (st, _) = s.admin("DELETE", &pat("/wallets"), None).await;
    assert_eq!(st, 204);
    let (st, v) = s.admin("GET", &pat("/wallets"), None).await;
    assert_eq!(
        (st, v),
        (
            404,
            json!({"error": "Proposer pattern 'wallets' not found"})
        )
    );

    // The spec's Vouch examples.
    let (st, v) = s
        .vouch_raw(
            "/vouch/v2/execution-config/main",
            &json!({"keys": [keys[0], keys[1]]}).to_string(),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["proposers"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["relays"]["https://relay1.example.com/"]["min_value"],
        "0.2"
    );
    let (_, v) = s
        .vouch_raw(
            "/vouch/v2/execution-config/main?tags=pool-1,high-value",
            &json!({"keys": [keys[0]]}).to_string(),
        )
        .await;
    let who: Vec<&str> = v["proposers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["proposer"].as_str().unwrap())
        .collect();
    assert_eq!(
        who,
        vec![
            keys[0].as_str(),
            "^(?:^Pool1Backup/.*$)$",
            "^(?:^Pool1/.*$)$"
        ]
    );

    let (st, _) = s
        .admin("DELETE", "/api/admin/vouch/configs/default/testnet", None)
        .await;
    assert_eq!(st, 204);
    let (st, v) = s
        .admin("DELETE", "/api/admin/vouch/configs/default/testnet", None)
        .await;
    assert_eq!(
        (st, v),
        (404, json!({"error": "Default config 'testnet' not found"}))
    );
    let mut s = s;
    s.stop();
}
on_backends!(spec_walkthrough);

async fn error_bodies(b: Backend) {
    let s = Server::start(&b).await;
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "main"})),
        )
        .await;
    assert_eq!(st, 201);
    let cases: Vec<(&str, &str, u16, Value)> = vec![
        (
            "/vouch/v2/execution-config/main",
            "{\"other\": 1}",
            400,
            json!({"error": "Invalid request body: missing 'keys' field"}),
        ),
        (
            "/vouch/v2/execution-config/unknown",
            "[]",
            404,
            json!({"error": "Default config 'unknown' not found"}),
        ),
        (
            "/vouch/v2/execution-config/main",
            "",
            400,
            json!({"error": "Invalid request body: empty; expected a JSON array of public keys or {\"keys\": [...]}"}),
        ),
        (
            "/vouch/v2/execution-config/main",
            "[1]",
            400,
            json!({"error": "[0]: expected a public key string"}),
        ),
        (
            "/vouch/v2/execution-config/main",
            "{\"keys\": [\"0x12\"]}",
            400,
            json!({"error": "keys[0]: '0x12' is not a validator public key (expected 0x and 96 hex digits)"}),
        ),
        (
            "/vouch/v2/execution-config/main?tag=a",
            "[]",
            400,
            json!({"error": "unknown query parameter 'tag' (expected one of: tags)"}),
        ),
    ];
    for (path, body, status, want) in cases {
        assert_eq!(
            s.vouch_raw(path, body).await,
            (status, want),
            "{path} {body}"
        );
    }
    let (st, v) = s
        .vouch_raw("/vouch/v2/execution-config/main", "{not json")
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid request body: not JSON"),
        "{v}"
    );
    let (st, v) = s
        .call("GET", "/commit-boost/v1/mux/unknown", None, None)
        .await;
    assert_eq!(
        (st, v),
        (404, json!({"error": "Mux config 'unknown' not found"}))
    );
    let (st, v) = s
        .call(
            "GET",
            "/api/admin/commit-boost/mux/unknown",
            None,
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        (st, v),
        (404, json!({"error": "Mux config 'unknown' not found"}))
    );
    // Auth: missing and wrong tokens are 401 with a JSON error.
    let (st, v) = s
        .call("GET", "/api/admin/vouch/proposers", None, None)
        .await;
    assert_eq!(
        (st, v),
        (
            401,
            json!({"error": "missing bearer token: send Authorization: Bearer <token>"})
        )
    );
    let (st, v) = s
        .call("GET", "/api/admin/vouch/proposers", None, Some("wrong"))
        .await;
    assert_eq!((st, v), (401, json!({"error": "invalid bearer token"})));
    // Query and body errors name the field.
    let (st, v) = s
        .admin("GET", "/api/admin/vouch/proposers?limit=0", None)
        .await;
    assert_eq!(
        (st, v),
        (
            400,
            json!({"error": "limit: '0' is not an integer from 1 to 1000"})
        )
    );
    let (st, v) = s
        .admin("GET", "/api/admin/vouch/proposers?reset_relays=yes", None)
        .await;
    assert_eq!(
        (st, v),
        (
            400,
            json!({"error": "reset_relays: 'yes' is not true or false"})
        )
    );
    let (st, v) = s
        .admin("GET", "/api/admin/vouch/proposers?colour=red", None)
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("unknown query parameter 'colour'")
    );
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "x", "feerecipient": FEE_A})),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `feerecipient`"),
        "{v}"
    );
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "x", "relays": [{"url": "https://r/", "disabled": "no"}]})),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid request body: relays[0].disabled: "),
        "{v}"
    );
    // No admin token configured: the admin API refuses (503), the public API still answers.
    let closed = Server::start_with(&b, None).await;
    let (st, v) = closed
        .call("GET", "/api/admin/vouch/proposers", None, Some(TOKEN))
        .await;
    assert_eq!(st, 503);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("admin API disabled"),
        "{v}"
    );
    let (st, _) = closed
        .call("GET", "/commit-boost/v1/mux/x", None, None)
        .await;
    assert_eq!(st, 404);
}
on_backends!(error_bodies);

async fn validation_messages(b: Backend) {
    let s = Server::start(&b).await;
    let bad_checksum = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    let off = off_curve_key();
    let good = bls_key(9);
    let cases: Vec<(&str, String, Value, String)> = vec![
        ("POST", "/api/admin/vouch/configs/default".into(), json!({"name": "m", "fee_recipient": bad_checksum}),
         format!("fee_recipient: '{bad_checksum}' has an invalid EIP-55 checksum (check the address, or give it in all lowercase)")),
        ("PUT", format!("/api/admin/vouch/proposers/{off}"), json!({}),
         format!("public_key: '{}...{}' is not a valid BLS12-381 public key (not a point on the curve)", &off[..10], &off[90..])),
        ("POST", "/api/admin/vouch/proposer-patterns".into(), json!({"name": "p", "pattern": "^Pool1/(.*$"}),
         "pattern: '^Pool1/(.*$' is not a regular expression Vouch (Go's regexp) accepts: missing closing )".into()),
        ("PUT", format!("/api/admin/vouch/proposers/{good}"), json!({"gas_limit": "30M"}),
         "gas_limit: '30M' is not a gas limit (expected a positive integer such as \"30000000\")".into()),
        ("PUT", format!("/api/admin/vouch/proposers/{good}"), json!({"min_value": "lots"}),
         "min_value: 'lots' is not a decimal ETH amount".into()),
        ("PUT", format!("/api/admin/vouch/proposers/{good}"), json!({"relays": [{"url": "not a url"}]}),
         "relays[0].url: 'not a url' is not a URL".into()),
        ("PUT", format!("/api/admin/vouch/proposers/{good}"), json!({"relays": [{"url": "https://r/", "public_key": off}]}),
         "relays[0].public_key: ".into()),
        ("POST", "/api/admin/commit-boost/mux".into(), json!({"name": "m", "keys": [good, off]}),
         "keys[1]: ".into()),
    ];
    for (method, path, body, want) in cases {
        let (st, v) = s.admin(method, &path, Some(body)).await;
        assert_eq!(st, 400, "{path}: {v}");
        let msg = v["error"].as_str().unwrap();
        assert!(msg.starts_with(&want), "{msg:?} should start with {want:?}");
    }
    // Lowercase addresses are accepted and stored checksummed.
    let (st, v) = s
        .admin(
            "PUT",
            &format!("/api/admin/vouch/proposers/{good}"),
            Some(json!({"fee_recipient": FEE_A.to_lowercase(), "min_value": "0.50"})),
        )
        .await;
    assert_eq!(st, 201);
    assert_eq!(
        (v["fee_recipient"].clone(), v["min_value"].clone()),
        (json!(FEE_A), json!("0.5"))
    );
    // A rejected write changes nothing.
    let (st, _) = s
        .admin("PUT", &format!("/api/admin/vouch/proposers/{good}"), Some(json!({"fee_recipient": FEE_B, "relays": [{"url": "https://r/"}, {"url": "https://r"}]})))
        .await;
    assert_eq!(st, 400);
    let (_, v) = s
        .admin("GET", &format!("/api/admin/vouch/proposers/{good}"), None)
        .await;
    assert_eq!(v["fee_recipient"], json!(FEE_A));
}
on_backends!(validation_messages);
