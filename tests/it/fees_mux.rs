//! Commit-Boost muxes over HTTP (the plain-array answer its HTTP loader decodes, refusing a key another mux
//! holds) and concurrent admin writes and reads, on SQLite and PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::on_backends;
use crate::support::fees::{Backend, Server, bls_key};

async fn commit_boost(b: Backend) {
    let s = Server::start(&b).await;
    let (k1, k2, k3, k4) = (bls_key(11), bls_key(12), bls_key(13), bls_key(14));
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux",
            Some(json!({"name": "pool-1", "keys": [k1, k2]})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["name"].clone(), v["key_count"].clone()),
        (json!("pool-1"), json!(2))
    );
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
    // What Commit-Boost does: GET, no body, status 200, a JSON array of BLS keys (deserialised and checked).
    let resp = s
        .http
        .get(s.url("/commit-boost/v1/mux/pool-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.content_length().unwrap_or(0) < 10 * 1024 * 1024);
    let keys: Vec<String> = resp.json().await.expect("a plain JSON array of strings");
    assert_eq!(keys, vec![k1.clone(), k2.clone()]);
    for k in &keys {
        let bytes = hex::decode(&k[2..]).unwrap();
        assert!(blst::min_pk::PublicKey::key_validate(&bytes).is_ok());
    }
    // A key held by another mux is refused on create, replace and add.
    let conflict = json!({"error": format!("keys[1]: {k2} is already in mux 'pool-1' (Commit-Boost refuses a key in two muxes)")});
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux",
            Some(json!({"name": "pool-2", "keys": [k3, k2]})),
        )
        .await;
    assert_eq!((st, v), (409, conflict.clone()));
    let (st, _) = s
        .admin("GET", "/api/admin/commit-boost/mux/pool-2", None)
        .await;
    assert_eq!(st, 404, "nothing half-written");
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux",
            Some(json!({"name": "pool-2", "keys": [k3]})),
        )
        .await;
    assert_eq!(st, 201);
    let (st, v) = s
        .admin(
            "PUT",
            "/api/admin/commit-boost/mux/pool-2",
            Some(json!({"name": "pool-2", "keys": [k3, k2]})),
        )
        .await;
    assert_eq!((st, v), (409, conflict));
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux/pool-2/keys",
            Some(json!({"keys": [k1]})),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    // Add and remove keys (spec bodies and answers); re-adding is a no-op.
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux/pool-1/keys",
            Some(json!({"keys": [k4]})),
        )
        .await;
    assert_eq!((st, v), (200, json!({"added": 1, "total_keys": 3})));
    let (_, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux/pool-1/keys",
            Some(json!({"keys": [k4, k1]})),
        )
        .await;
    assert_eq!(v, json!({"added": 0, "total_keys": 3}));
    let (st, v) = s
        .admin(
            "DELETE",
            "/api/admin/commit-boost/mux/pool-1/keys",
            Some(json!({"keys": [k4]})),
        )
        .await;
    assert_eq!((st, v), (200, json!({"removed": 1, "total_keys": 2})));
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux/pool-9/keys",
            Some(json!({"keys": [k4]})),
        )
        .await;
    assert_eq!(
        (st, v),
        (404, json!({"error": "Mux config 'pool-9' not found"}))
    );
    let (st, v) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux/pool-1/keys",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (st, v),
        (
            400,
            json!({"error": "Invalid request body: missing 'keys' field"})
        )
    );
    // List, get, replace, delete.
    let (_, v) = s
        .admin("GET", "/api/admin/commit-boost/mux?limit=1", None)
        .await;
    assert_eq!(
        (v["total"].clone(), v["limit"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(v["mux_configs"][0]["name"], "pool-1");
    assert_eq!(v["mux_configs"][0]["key_count"], json!(2));
    let (_, v) = s
        .admin("GET", "/api/admin/commit-boost/mux/pool-1", None)
        .await;
    assert_eq!(v["keys"], json!([k1, k2]));
    let (st, v) = s
        .admin(
            "PUT",
            "/api/admin/commit-boost/mux/pool-1",
            Some(json!({"name": "pool-1", "keys": [k2]})),
        )
        .await;
    assert_eq!((st, v["key_count"].clone()), (200, json!(1)));
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/commit-boost/mux/pool-2/keys",
            Some(json!({"keys": [k1]})),
        )
        .await;
    assert_eq!(st, 200, "k1 is free again");
    let (st, _) = s
        .admin("DELETE", "/api/admin/commit-boost/mux/pool-1", None)
        .await;
    assert_eq!(st, 204);
    let (st, _) = s
        .call("GET", "/commit-boost/v1/mux/pool-1", None, None)
        .await;
    assert_eq!(st, 404);
    let (_, v) = s
        .call("GET", "/commit-boost/v1/mux/pool-2", None, None)
        .await;
    assert_eq!(v, json!([k3, k1]));
}
on_backends!(commit_boost);

async fn concurrent_admin(b: Backend) {
    let s = Arc::new(Server::start(&b).await);
    let (st, _) = s
        .admin(
            "POST",
            "/api/admin/vouch/configs/default",
            Some(json!({"name": "main"})),
        )
        .await;
    assert_eq!(st, 201);
    // Each mux starts with a key of its own (Commit-Boost refuses an empty mux).
    let seeds = [bls_key(400), bls_key(401)];
    for (m, seed) in ["a", "b"].into_iter().zip(&seeds) {
        let (st, _) = s
            .admin(
                "POST",
                "/api/admin/commit-boost/mux",
                Some(json!({"name": m, "keys": [seed]})),
            )
            .await;
        assert_eq!(st, 201);
    }
    let keys: Arc<Vec<String>> = Arc::new((200..240).map(bls_key).collect());
    let mut tasks = Vec::new();
    for w in 0..8usize {
        let s = s.clone();
        let keys = keys.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for i in 0..keys.len() {
                let k = &keys[(i + w * 5) % keys.len()];
                // Proposer upserts from every writer (last write wins, never an error).
                let (st, v) = s
                    .admin(
                        "PUT",
                        &format!("/api/admin/vouch/proposers/{k}"),
                        Some(json!({"gas_limit": (w + 1) * 1000,
                        "relays": [{"url": format!("https://r{w}.example.com/")}]})),
                    )
                    .await;
                assert!(st == 200 || st == 201, "{st} {v}");
                // Every writer tries to put the key in its mux; exactly one mux may get it.
                let mux = if w % 2 == 0 { "a" } else { "b" };
                let (st, v) = s
                    .admin(
                        "POST",
                        &format!("/api/admin/commit-boost/mux/{mux}/keys"),
                        Some(json!({"keys": [k]})),
                    )
                    .await;
                match st {
                    200 => {
                        if v["added"] == json!(1) {
                            won.push((mux, k.clone()));
                        }
                    }
                    409 => {}
                    other => panic!("{other} {v}"),
                }
                if i % 10 == 0 {
                    let (st, v) = s
                        .vouch_raw("/vouch/v2/execution-config/main", &json!(*keys).to_string())
                        .await;
                    assert_eq!(st, 200, "{v}");
                    for p in v["proposers"].as_array().unwrap() {
                        assert_eq!(
                            p["relays"].as_object().unwrap().len(),
                            1,
                            "relays never seen half-written: {p}"
                        );
                    }
                }
            }
            won
        }));
    }
    let mut added = Vec::new();
    for t in tasks {
        added.extend(t.await.unwrap());
    }
    let (_, a) = s.admin("GET", "/api/admin/commit-boost/mux/a", None).await;
    let (_, bm) = s.admin("GET", "/api/admin/commit-boost/mux/b", None).await;
    let ka: HashSet<&str> = a["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .filter(|k| *k != seeds[0])
        .collect();
    let kb: HashSet<&str> = bm["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .filter(|k| *k != seeds[1])
        .collect();
    assert!(ka.is_disjoint(&kb), "a key ended up in two muxes");
    assert_eq!(
        ka.len() + kb.len(),
        keys.len(),
        "every key landed in exactly one mux"
    );
    assert_eq!(added.len(), keys.len(), "each key was added exactly once");
    let (_, v) = s
        .admin("GET", "/api/admin/vouch/proposers?limit=1000", None)
        .await;
    assert_eq!(v["total"], json!(keys.len()));
    for p in v["proposers"].as_array().unwrap() {
        let (_, full) = s
            .admin(
                "GET",
                &format!(
                    "/api/admin/vouch/proposers/{}",
                    p["public_key"].as_str().unwrap()
                ),
                None,
            )
            .await;
        let gas: u64 = full["gas_limit"].as_str().unwrap().parse().unwrap();
        let w = gas / 1000 - 1;
        assert_eq!(
            full["relays"],
            json!([{"id": full["relays"][0]["id"], "url": format!("https://r{w}.example.com/"),
            "public_key": Value::Null, "fee_recipient": Value::Null, "gas_limit": Value::Null, "grace": Value::Null,
            "min_value": Value::Null, "disabled": false}]),
            "relays match the writer of the row"
        );
    }
}
on_backends!(concurrent_admin);
