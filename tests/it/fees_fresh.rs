//! Freshness of the public answers: the server answers Vouch and Commit-Boost from an in-memory snapshot, and
//! the next request after a write reflects it, whether the write came through the admin API or from
//! `butler fees` in another process (the configuration version in the database), on SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::on_backends;
use crate::support::fees::{Backend, Server, bls_key};

const FEE_1: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const FEE_2: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";

/// The execution config for `keys` (bare array body), with its status.
async fn vouch(s: &Server, query: &str, keys: &[&str]) -> (u16, Value) {
    s.vouch_raw(
        &format!("/vouch/v2/execution-config/main{query}"),
        &json!(keys).to_string(),
    )
    .await
}

/// The proposer fields of an answer's entries.
fn who(cfg: &Value) -> Vec<String> {
    cfg["proposers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["proposer"].as_str().unwrap().to_string())
        .collect()
}

async fn mux(s: &Server) -> (u16, Value) {
    s.call("GET", "/commit-boost/v1/mux/m", None, None).await
}

async fn admin_writes_are_served(b: Backend) {
    let s = Server::start(&b).await;
    let (k1, k2) = (bls_key(301), bls_key(302));
    let (st, _) = vouch(&s, "", &[]).await;
    assert_eq!(st, 404, "no default config yet");

    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "main", "fee_recipient": FEE_1})),
        )
        .await;
    assert_eq!(st, 201);
    let (st, cfg) = vouch(&s, "", &[&k1, &k2]).await;
    assert_eq!((st, cfg["fee_recipient"].clone()), (200, json!(FEE_1)));
    assert!(who(&cfg).is_empty());

    let proposer = format!("/api/admin/vouch/proposers/{k1}");
    for min in ["0.5", "0.6"] {
        let (st, _) = s
            .admin("PUT", &proposer, Some(json!({"min_value": min})))
            .await;
        assert!(st == 200 || st == 201, "{st}");
        let (_, cfg) = vouch(&s, "", &[&k1, &k2]).await;
        assert_eq!(who(&cfg), vec![k1.clone()]);
        assert_eq!(cfg["proposers"][0]["min_value"], min);
    }

    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/proposer-patterns",
            Some(json!({"name": "p", "pattern": "^P/.*$", "tags": ["t"], "min_value": "1"})),
        )
        .await;
    assert_eq!(st, 201);
    let (_, cfg) = vouch(&s, "?tags=t", &[&k1]).await;
    assert_eq!(who(&cfg), vec![k1.clone(), "^(?:^P/.*$)$".to_string()]);

    let main = "/api/admin/vouch/configs/default/main";
    let (st, _) = s.admin("PUT", main, Some(json!({"active": false}))).await;
    assert_eq!(st, 200);
    assert_eq!(
        vouch(&s, "", &[]).await,
        (404, json!({"error": "Default config 'main' is not active"}))
    );
    let (st, _) = s
        .admin("PUT", main, Some(json!({"gas_limit": "40000000"})))
        .await;
    assert_eq!(st, 200);
    let (st, cfg) = vouch(&s, "", &[]).await;
    assert_eq!((st, cfg["gas_limit"].clone()), (200, json!("40000000")));
    assert!(cfg.get("fee_recipient").is_none(), "replaced, not merged");

    let (st, _) = s.admin("DELETE", &proposer, None).await;
    assert_eq!(st, 204);
    let (_, cfg) = vouch(&s, "?tags=t", &[&k1]).await;
    assert_eq!(who(&cfg), vec!["^(?:^P/.*$)$".to_string()]);

    assert_eq!(mux(&s).await.0, 404);
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux",
            Some(json!({"name": "m", "keys": [k1]})),
        )
        .await;
    assert_eq!(st, 201);
    assert_eq!(mux(&s).await, (200, json!([k1])));
    let keys = "/api/admin/commit-boost/mux/m/keys";
    let (st, _) = s.admin("POST", keys, Some(json!({"keys": [k2]}))).await;
    assert_eq!(st, 200);
    assert_eq!(mux(&s).await, (200, json!([k1, k2])));
    let (st, _) = s.admin("DELETE", keys, Some(json!({"keys": [k1]}))).await;
    assert_eq!(st, 200);
    assert_eq!(mux(&s).await, (200, json!([k2])));
    let (st, _) = s
        .admin("DELETE", "/api/admin/commit-boost/mux/m", None)
        .await;
    assert_eq!(st, 204);
    assert_eq!(mux(&s).await.0, 404);
    let mut s = s;
    s.stop();
}
on_backends!(admin_writes_are_served);

async fn cli_writes_are_served(b: Backend) {
    let s = Server::start(&b).await;
    let (k1, k2) = (bls_key(311), bls_key(312));
    // `butler fees` in another process, on the server's configuration (same database).
    let cli = |args: &[&str]| {
        let out = s.sb.butler().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    assert_eq!(vouch(&s, "", &[]).await.0, 404, "no default config yet");

    cli(&[
        "fees",
        "configs",
        "create",
        "main",
        "--fee-recipient",
        FEE_1,
    ]);
    let (st, cfg) = vouch(&s, "", &[&k1]).await;
    assert_eq!((st, cfg["fee_recipient"].clone()), (200, json!(FEE_1)));

    cli(&["fees", "proposers", "set", &k1, "--min-value", "0.5"]);
    let (_, cfg) = vouch(&s, "", &[&k1, &k2]).await;
    assert_eq!(who(&cfg), vec![k1.clone()]);
    assert_eq!(cfg["proposers"][0]["min_value"], "0.5");

    cli(&[
        "fees",
        "patterns",
        "create",
        "p",
        "--pattern",
        "^P/.*$",
        "--tag",
        "t",
        "--min-value",
        "1",
    ]);
    cli(&[
        "fees",
        "configs",
        "update",
        "main",
        "--gas-limit",
        "40000000",
    ]);
    let (_, cfg) = vouch(&s, "?tags=t", &[&k1, &k2]).await;
    assert_eq!(who(&cfg), vec![k1.clone(), "^(?:^P/.*$)$".to_string()]);
    assert_eq!(cfg["gas_limit"], "40000000");
    // What `fees vouch-config` prints is what the server answers.
    let printed: Value = serde_json::from_slice(&cli(&[
        "--output",
        "json",
        "fees",
        "vouch-config",
        "main",
        "--key",
        &k1,
        "--key",
        &k2,
        "--tags",
        "t",
    ]))
    .unwrap();
    assert_eq!(printed, cfg);

    cli(&["fees", "mux", "create", "m", "--key", &k1]);
    assert_eq!(mux(&s).await, (200, json!([k1])));
    cli(&["fees", "mux", "add-keys", "m", "--key", &k2]);
    assert_eq!(mux(&s).await, (200, json!([k1, k2])));
    cli(&["fees", "mux", "remove-keys", "m", "--key", &k1]);
    assert_eq!(mux(&s).await, (200, json!([k2])));

    cli(&["fees", "proposers", "delete", &k1]);
    let (_, cfg) = vouch(&s, "?tags=t", &[&k1]).await;
    assert_eq!(who(&cfg), vec!["^(?:^P/.*$)$".to_string()]);

    // A whole-document import: one transaction, seen at once.
    let mut doc: Value = serde_json::from_slice(&cli(&["fees", "export"])).unwrap();
    doc["default_configs"][0]["fee_recipient"] = json!(FEE_2);
    doc["proposers"] = json!([{"public_key": k2, "gas_limit": "50000000"}]);
    doc["mux_configs"] = json!([]);
    let path = s.sb.write("fees.json", &doc.to_string());
    cli(&["fees", "import", path.to_str().unwrap()]);
    let (_, cfg) = vouch(&s, "", &[&k1, &k2]).await;
    assert_eq!(cfg["fee_recipient"], FEE_2);
    assert_eq!(who(&cfg), vec![k2.clone()]);
    assert_eq!(cfg["proposers"][0]["gas_limit"], "50000000");
    assert_eq!(mux(&s).await.0, 404);
    let mut s = s;
    s.stop();
}
on_backends!(cli_writes_are_served);
