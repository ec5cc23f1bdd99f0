//! `GET /api/admin/users` at scale and the public health answers: on a private anvil, the test emitter's
//! 125 UserOperation-shaped events from 50 senders (plus one sender only telemetry knows) are paged with
//! `limit`/`offset` and `total`, sorted by `lastOp`, `ops`, `gas` and `fees` (descending, ties by address;
//! the pages put together equal the whole list), filtered by `sender` and `owner`; unknown parameters and
//! bad values are refused; `/health` and `/api/public/health` show no filesystem path.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use serde_json::{Value, json};

use crate::support::api::{ADMIN, ApiServer, client};
use crate::watcher_support::{Anvil, calldata, deploy, transact};

async fn get(server: &ApiServer, path: &str) -> (u16, Value) {
    let res = client()
        .get(server.url(path))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn ok(server: &ApiServer, path: &str) -> Value {
    let (status, v) = get(server, path).await;
    assert_eq!(status, 200, "GET {path}: {v}");
    v
}

fn addresses(v: &Value) -> Vec<String> {
    v["senders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sender"].as_str().unwrap().to_string())
        .collect()
}

/// The test emitter's sender number `n` (`0x5000 + n`), checksummed.
fn emitter_sender(n: u64) -> String {
    Address::left_padding_from(&(0x5000 + n).to_be_bytes()).to_checksum(None)
}

const OWNER: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
/// A sender only telemetry reported (no operation indexed), checksummed.
fn telemetry_only() -> String {
    "0x000000000000000000000000000000000000beef"
        .parse::<Address>()
        .unwrap()
        .to_checksum(None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_paged_sorted_and_filtered_with_a_total() {
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    // 120 events: senders 0..19 get 3 operations, 20..49 get 2; a later block adds one to 20..24
    transact(
        &anvil.rpc,
        &emitter,
        &calldata("emitMany(uint256)", &["120"]),
    );
    anvil.call("evm_increaseTime", json!([60]));
    transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["5"]));
    let server = ApiServer::start(
        &format!(
            "[chain]\nrpc_url = \"{}\"\n[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\
[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n",
            anvil.rpc
        ),
        &[],
    );
    for sender in [emitter_sender(3), telemetry_only()] {
        let res = client()
            .post(server.url("/api/telemetry/session"))
            .json(&json!({"owner": OWNER, "sender": sender, "sessionId": sender}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let all = loop {
        let v = ok(&server, "/api/admin/users?limit=1000").await;
        let ops: u64 = v["senders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["total"].as_u64().unwrap())
            .sum();
        if v["total"] == 51 && ops == 125 {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "never indexed: {v}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // default: by address, 100 a page
    let mut by_address: Vec<String> = (0..50).map(emitter_sender).collect();
    by_address.push(telemetry_only());
    let first = ok(&server, "/api/admin/users").await;
    assert_eq!(
        (&first["total"], &first["limit"], &first["offset"]),
        (&json!(51), &json!(100), &json!(0))
    );
    assert_eq!(addresses(&first), by_address);
    let tail = ok(&server, "/api/admin/users?limit=10&offset=45").await;
    assert_eq!(addresses(&tail), by_address[45..]);
    assert_eq!(tail["total"], 51);
    let past = ok(&server, "/api/admin/users?offset=60").await;
    assert_eq!((addresses(&past).len(), &past["total"]), (0, &json!(51)));

    // sorts: descending, ties by address, and pages that put together give the whole list
    let ops = ok(&server, "/api/admin/users?sort=ops&limit=26").await;
    let expected: Vec<String> = (0..25)
        .map(emitter_sender)
        .chain([emitter_sender(25)])
        .collect();
    assert_eq!(addresses(&ops), expected);
    let last = ok(&server, "/api/admin/users?sort=lastOp&limit=5").await;
    assert_eq!(
        addresses(&last),
        (20..25).map(emitter_sender).collect::<Vec<_>>()
    );
    for sort in ["ops", "gas", "fees", "lastOp"] {
        let whole =
            addresses(&ok(&server, &format!("/api/admin/users?sort={sort}&limit=1000")).await);
        let mut paged = Vec::new();
        for offset in (0..51).step_by(7) {
            let page = ok(
                &server,
                &format!("/api/admin/users?sort={sort}&limit=7&offset={offset}"),
            )
            .await;
            assert_eq!(page["total"], 51);
            paged.extend(addresses(&page));
        }
        assert_eq!(paged, whole, "pages of sort={sort}");
    }
    let gas = ok(&server, "/api/admin/users?sort=gas&limit=1000").await;
    let costs: Vec<U256> = gas["senders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["totalActualGasCostWei"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        costs.windows(2).all(|w| w[0] >= w[1]),
        "gas descending: {costs:?}"
    );
    assert_eq!(
        costs.last(),
        Some(&U256::ZERO),
        "the telemetry-only sender is last"
    );
    // no paymaster fees indexed: every sender ties, so the order is by address
    let fees = ok(&server, "/api/admin/users?sort=fees&limit=1000").await;
    assert_eq!(addresses(&fees), by_address);

    // filters
    let one = ok(
        &server,
        &format!(
            "/api/admin/users?sender={}",
            emitter_sender(3).to_lowercase()
        ),
    )
    .await;
    assert_eq!(addresses(&one), [emitter_sender(3)]);
    assert_eq!(one["total"], 1);
    assert_eq!(one["senders"][0]["owner"], OWNER);
    assert_eq!(one["senders"][0]["total"], 3);
    assert_eq!(one["owners"][0]["owner"], OWNER);
    assert_eq!(one["owners"][0]["total"], 3, "the owner sums its senders");
    let owned = ok(&server, &format!("/api/admin/users?owner={OWNER}")).await;
    assert_eq!(addresses(&owned), [emitter_sender(3), telemetry_only()]);
    assert_eq!(owned["total"], 2);
    assert_eq!(owned["owners"].as_array().unwrap().len(), 1);
    let none = ok(
        &server,
        &format!(
            "/api/admin/users?owner={OWNER}&sender={}",
            emitter_sender(4)
        ),
    )
    .await;
    assert_eq!((addresses(&none).len(), &none["total"]), (0, &json!(0)));
    let unknown = ok(
        &server,
        &format!("/api/admin/users?sender={}", emitter_sender(77)),
    )
    .await;
    assert_eq!(unknown["total"], 0);
    let page = ok(&server, "/api/admin/users?limit=3").await;
    assert!(
        page["owners"].as_array().unwrap().is_empty(),
        "no owner among the first three senders"
    );
    assert_eq!(all["owners"].as_array().unwrap().len(), 1);

    // refused: unknown parameters (400) and bad values (422), each named
    for (query, status, says) in [
        ("page=2", 400, "unknown field `page`"),
        ("limit=0", 422, "parameter `limit`"),
        ("limit=1001", 422, "parameter `limit`"),
        ("offset=-1", 422, "parameter `offset`"),
        ("sort=name", 422, "parameter `sort`"),
        ("sender=0x12", 422, "parameter `sender`"),
        ("owner=nobody", 422, "parameter `owner`"),
    ] {
        let (code, body) = get(&server, &format!("/api/admin/users?{query}")).await;
        assert_eq!(code, status, "?{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "?{query}: {body}"
        );
    }

    // public health names no path; /health/db still has them
    let data = server.data_dir().display().to_string();
    let sandbox = server.sandbox.path().display().to_string();
    for path in ["/health", "/api/public/health"] {
        let res = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        assert!(
            !text.contains(&data) && !text.contains(&sandbox) && !text.contains("/tmp"),
            "{path} shows a path: {text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        for name in ["logs", "telemetry"] {
            let check = v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("{path}: no {name} check: {v}"));
            assert_eq!(check["detail"], "writable", "{path}: {check}");
        }
    }
}
