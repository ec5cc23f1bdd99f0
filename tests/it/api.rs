//! The HTTP API of `butler serve --watcher` as a client sees it: auth on every protected route, bad input
//! named in JSON errors with the right status and nothing stored, and an OpenAPI document that lists
//! exactly the routes served.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::api::{ADMIN, ApiServer, client, event};

/// Every route of the API (method, path): the contract of the issue.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/health/db"),
    ("get", "/api/openapi.json"),
    ("get", "/api/public/bundlers"),
    ("get", "/api/public/deployments"),
    ("get", "/api/public/health"),
    ("get", "/api/public/status"),
    ("post", "/api/logs/ingest"),
    ("get", "/api/logs"),
    ("get", "/api/logs/stream"),
    ("post", "/api/telemetry/session"),
    ("post", "/api/telemetry/event"),
    ("get", "/api/admin/bundlers"),
    ("post", "/api/admin/bundlers/spawn"),
    ("post", "/api/admin/bundlers/register"),
    ("post", "/api/admin/bundlers/{id}/stop"),
    ("post", "/api/admin/bundlers/{id}/start"),
    ("post", "/api/admin/bundlers/{id}/unregister"),
    ("get", "/api/admin/paymaster/status"),
    ("get", "/api/admin/paymaster/revenue"),
    ("post", "/api/admin/paymaster/config"),
    ("get", "/api/admin/users"),
    ("get", "/api/admin/userops"),
    ("get", "/api/admin/metrics/summary"),
    ("get", "/api/admin/metrics/timeseries"),
    ("get", "/workflows"),
    ("get", "/workflows/{id}"),
    ("get", "/stats"),
    ("get", "/metrics"),
];

/// Routes that need the admin token.
fn admin_routes() -> Vec<&'static str> {
    ROUTES
        .iter()
        .filter(|(m, p)| {
            *m == "get"
                && (p.starts_with("/api/admin") || p.starts_with("/api/logs") || *p == "/health/db")
        })
        .map(|(_, p)| *p)
        .collect()
}

async fn get_status(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let is_sse = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"));
    if is_sse {
        return (status, Value::Null);
    }
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_routes_refuse_missing_and_wrong_tokens_and_accept_the_right_one() {
    let server = ApiServer::start("", &[]);
    for path in admin_routes() {
        let url = server.url(path);
        let (code, body) = get_status(&url, None).await;
        assert_eq!(code, 401, "{path} without a token: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("authorization"),
            "{path}: {body}"
        );
        let (code, body) = get_status(&url, Some("wrong-token")).await;
        assert_eq!(code, 401, "{path} with a wrong token: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("wrong token"),
            "{path}: {body}"
        );
        let (code, body) = get_status(&url, Some(&format!("{ADMIN}x"))).await;
        assert_eq!(code, 401, "{path} with a longer token: {body}");
        let (code, body) = get_status(&url, Some(ADMIN)).await;
        assert_eq!(code, 200, "{path} with the admin token: {body}");
    }
    let res = client().get(server.url("/api/logs")).send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn without_an_admin_token_admin_routes_are_closed() {
    let server = ApiServer::start_with("", &[], false);
    let (code, body) = get_status(&server.url("/api/logs"), Some(ADMIN)).await;
    assert_eq!(code, 503, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no admin token is configured"),
        "{body}"
    );
}

#[tokio::test]
async fn an_ingest_token_guards_ingest_and_telemetry() {
    let server = ApiServer::start("", &[("BUTLER_API__INGEST_TOKEN", "ingest-secret")]);
    let c = client();
    let session = json!({"owner": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"});
    for (path, body) in [
        ("/api/logs/ingest", event("guarded")),
        ("/api/telemetry/session", session.clone()),
        (
            "/api/telemetry/event",
            json!({"event": "paid_fallback_attempt"}),
        ),
    ] {
        let res = c.post(server.url(path)).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path} without a token");
        let res = c
            .post(server.url(path))
            .bearer_auth("nope")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} with a wrong token");
        for token in ["ingest-secret", ADMIN] {
            let res = c
                .post(server.url(path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{path} with {token}");
        }
    }
}

#[tokio::test]
async fn bad_input_is_rejected_with_a_named_error_and_nothing_is_stored() {
    let server = ApiServer::start("[api]\nbody_limit_bytes = 4096\n", &[]);
    let c = client();
    let ingest = server.url("/api/logs/ingest");
    let post = |ct: &'static str, body: Vec<u8>| {
        c.post(&ingest).header("content-type", ct).body(body).send()
    };
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("malformed JSON", "application/json", b"{\"ts\": 1,".to_vec(), 400, "malformed JSON"),
        ("missing msg", "application/json", br#"{"ts":1,"service":"s","level":"info"}"#.to_vec(), 422, "missing field `msg`"),
        ("missing ts", "application/json", br#"{"service":"s","level":"info","msg":"m"}"#.to_vec(), 422, "missing field `ts`"),
        ("ts as text", "application/json", br#"{"ts":"now","service":"s","level":"info","msg":"m"}"#.to_vec(), 422, "field `ts`"),
        ("msg as number", "application/json", br#"{"ts":1,"service":"s","level":"info","msg":5}"#.to_vec(), 422, "field `msg`: expected a string"),
        ("unknown level", "application/json", br#"{"ts":1,"service":"s","level":"loud","msg":"m"}"#.to_vec(), 422, "unknown level `loud`"),
        ("bad sender", "application/json", br#"{"ts":1,"service":"s","level":"info","msg":"m","sender":"0x12"}"#.to_vec(), 422, "field `sender`"),
        ("bad second event", "application/json",
            br#"[{"ts":1,"service":"s","level":"info","msg":"ok"},{"ts":1,"service":"s","level":"info"}]"#.to_vec(), 422, "event 1: missing field `msg`"),
        ("bad NDJSON line", "application/x-ndjson",
            b"{\"ts\":1,\"service\":\"s\",\"level\":\"info\",\"msg\":\"ok\"}\n{\"ts\":1,\n".to_vec(), 400, "line 2"),
        ("empty array", "application/json", b"[]".to_vec(), 422, "no events"),
        ("oversized", "application/json", serde_json::to_vec(&event(&"x".repeat(5000))).unwrap(), 413, "larger than the limit of 4096 bytes"),
        ("wrong content type", "text/plain", serde_json::to_vec(&event("x")).unwrap(), 415, "header `content-type`"),
    ];
    for (what, ct, body, status, want) in cases {
        let res = post(ct, body).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{what}");
        assert_eq!(res.headers()["content-type"], "application/json", "{what}");
        let v: Value = res.json().await.unwrap();
        let err = v["error"].as_str().unwrap_or_default();
        assert!(err.contains(want), "{what}: {err}");
    }
    let res = c
        .post(&ingest)
        .body(serde_json::to_vec(&event("x")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415, "missing content type");

    let logs = |q: &str| {
        c.get(server.url(&format!("/api/logs{q}")))
            .bearer_auth(ADMIN)
            .send()
    };
    for (q, status, want) in [
        ("?sender=0x12", 422, "parameter `sender`"),
        (
            "?sender=0xZZ97970c51812dc3a010c7d01b50e0d17dc79c8",
            422,
            "parameter `sender`",
        ),
        (
            "?sender=0x70997970C51812dc3a010c7d01b50e0d17dc79c9",
            422,
            "EIP-55",
        ),
        ("?userOpHash=0x1234", 422, "parameter `userOpHash`"),
        ("?txHash=abc", 422, "parameter `txHash`"),
        ("?level=loud", 422, "parameter `level`"),
        ("?limit=0", 422, "parameter `limit`"),
        ("?limit=many", 422, "parameter `limit`"),
        ("?since=yesterday", 422, "parameter `since`"),
        ("?since=10&until=5", 422, "parameter `until`"),
        ("?servce=x", 400, "unknown field `servce`"),
    ] {
        let res = logs(q).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{q}");
        let v: Value = res.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains(want), "{q}: {v}");
    }
    let v: Value = logs("").await.unwrap().json().await.unwrap();
    assert_eq!(
        v["logs"].as_array().unwrap().len(),
        0,
        "a rejected request stored something: {v}"
    );
    let files = std::fs::read_dir(server.data_dir().join("logs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "ndjson")
        })
        .count();
    assert_eq!(files, 0, "a rejected request created a log file");

    let tel = server.url("/api/telemetry/session");
    for (body, want) in [
        (json!({}), "missing field `owner`"),
        (json!({"owner": "0x1"}), "field `owner`"),
        (
            json!({"owner": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "sender": 7}),
            "field `sender`",
        ),
        (
            json!({"owner": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "extra": 1}),
            "unknown field `extra`",
        ),
    ] {
        let res = c.post(&tel).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{body}");
        let v: Value = res.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains(want), "{body}: {v}");
    }
    let res = c
        .post(server.url("/api/telemetry/event"))
        .json(&json!({"event": "clicked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = c.get(server.url("/no/such/route")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let v: Value = res.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("/no/such/route"));
    let res = c.delete(server.url("/api/logs")).send().await.unwrap();
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn ingest_accepts_one_an_array_and_ndjson_and_query_filters() {
    let server = ApiServer::start("", &[]);
    let c = client();
    let ingest = server.url("/api/logs/ingest");
    let hash = format!("0x{}", "ab".repeat(32));
    let one = json!({"ts": 100, "service": "bundler1", "level": "info", "msg": "userOp accepted",
        "requestId": "req_1", "userOpHash": hash, "sender": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "txHash": null, "meta": {"entryPoint": "0x0000000071727De22E5E9d8BAf0edAc6f37da032"}});
    let v: Value = c
        .post(&ingest)
        .json(&one)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"accepted": 1, "firstId": 1, "lastId": 1}));
    let many = json!([
        {"ts": 200, "service": "bundler2", "level": "warn", "msg": "slow quote", "quoteId": "q9"},
        {"ts": 300, "service": "bundler2", "level": "error", "msg": "Bundle REVERTED"},
    ]);
    let v: Value = c
        .post(&ingest)
        .json(&many)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"accepted": 2, "firstId": 2, "lastId": 3}));
    let nd = "{\"ts\":400,\"service\":\"app\",\"level\":\"debug\",\"msg\":\"a\"}\n\n{\"ts\":500,\"service\":\"app\",\"level\":\"fatal\",\"msg\":\"b\"}\n";
    let res = c
        .post(&ingest)
        .header("content-type", "application/x-ndjson")
        .body(nd)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let q = |query: &str| {
        let url = server.url(&format!("/api/logs{query}"));
        let c = c.clone();
        async move {
            let v: Value = c
                .get(url)
                .bearer_auth(ADMIN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_u64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(q("").await, vec![1, 2, 3, 4, 5], "no implicit time window");
    assert_eq!(q("?service=bundler2").await, vec![2, 3]);
    assert_eq!(q("?level=warn").await, vec![2, 3, 5]);
    assert_eq!(q("?since=200&until=400").await, vec![2, 3, 4]);
    assert_eq!(q("?requestId=req_1").await, vec![1]);
    assert_eq!(q("?quoteId=q9").await, vec![2]);
    assert_eq!(q(&format!("?userOpHash={hash}")).await, vec![1]);
    assert_eq!(
        q("?sender=0x70997970C51812dc3A010C7d01b50e0d17dc79C8").await,
        vec![1]
    );
    assert_eq!(
        q(&format!("?txHash=0x{}", "00".repeat(32))).await,
        Vec::<u64>::new()
    );
    assert_eq!(q("?q=reverted").await, vec![3]);
    assert_eq!(
        q("?q=71727de22e5e").await,
        vec![1],
        "text search covers meta"
    );
    assert_eq!(q("?limit=2").await, vec![4, 5], "limit keeps the newest");
    let v: Value = c
        .get(server.url("/api/logs?requestId=req_1"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let e = &v["logs"][0];
    assert_eq!(e["sender"], "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    assert_eq!(e["userOpHash"], hash);
    assert_eq!(
        e["meta"]["entryPoint"],
        "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_served_routes() {
    let server = ApiServer::start("", &[]);
    let c = client();
    let doc: Value = c
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, expected,
        "documented routes differ from the contract"
    );
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "0x00");
        let url = server.url(&concrete);
        let req = match method.as_str() {
            "get" => c.get(&url),
            "post" => c.post(&url).json(&json!({})),
            m => panic!("unexpected method {m}"),
        };
        let res = req.bearer_auth(ADMIN).send().await.unwrap();
        let status = res.status().as_u16();
        if status == 404 || status == 405 {
            let v: Value = res.json().await.unwrap_or(Value::Null);
            let err = v["error"].as_str().unwrap_or_default();
            assert!(
                !err.starts_with("no route") && !err.starts_with("method"),
                "{method} {path} is documented but not served: {err}"
            );
        }
    }
    for (method, path) in &documented {
        let op = &doc["paths"][path][method];
        let secured = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        if path.starts_with("/api/admin") || (path.starts_with("/api/logs") && method == "get") {
            assert!(secured, "{method} {path} must declare the bearer scheme");
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} must document 401"
            );
        }
    }
}
