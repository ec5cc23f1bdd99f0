//! The watcher's own `GET /metrics` on the API listener of `serve --watcher`, on the shared devnet: it
//! passes `promtool check metrics`, the indexer's head equals the chain's once caught up (blocks behind
//! within the confirmations), API requests are labelled with route templates, the ingest and telemetry
//! series move, the bearer token guards it when configured, and the watcher part of docs/metrics.md lists
//! exactly what it emits (name, type, labels, help). On a private anvil, a reorg is counted with its depth.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::exporter::{Metrics, promtool, promtool_check_metrics, quantity};
use crate::exporter_prometheus::{Documented, documented_part};
use crate::support::api::{ApiServer, client, event};
use crate::support::devnet::Devnet;

/// A watcher config indexing the devnet's EntryPoint v0.7 from block 0.
pub fn watcher_config(dn: &Devnet) -> String {
    format!(
        "[chain]\nrpc_url = \"{rpc}\"\nchain_id = 31337\n\n[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\n\
[[watcher.sources]]\nname = \"ep07\"\npreset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = 0\n",
        rpc = dn.rpc(),
        ep = dn.get("ENTRYPOINT_V07"),
    )
}

/// `GET /metrics` with an optional token: (status, body).
async fn get_metrics(server: &ApiServer, token: Option<&str>) -> (u16, String) {
    let mut req = client().get(server.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn scrape(server: &ApiServer) -> (Metrics, String) {
    let (status, body) = get_metrics(server, None).await;
    assert_eq!(status, 200, "GET /metrics: {body}\n{}", server.log());
    (Metrics::parse(&body), body)
}

/// Scrapes until the indexed head equals the chain's head (the shared chain may move meanwhile).
async fn scrape_caught_up(server: &ApiServer, dn: &Devnet) -> (Metrics, String, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (m, text) = scrape(server).await;
        let chain = quantity(&dn.rpc_call("eth_blockNumber", json!([]))) as u64;
        if m.get("butler_indexer_head_block", &[]) == Some(chain as f64) {
            return (m, text, chain);
        }
        assert!(
            Instant::now() < deadline,
            "the indexer head never reached the chain head {chain}:\n{text}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// HELP, TYPE and label names of every family in a scrape (histogram samples folded into their family).
pub fn emitted(text: &str) -> BTreeMap<String, Documented> {
    let mut out: BTreeMap<String, Documented> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            out.insert(
                name.to_string(),
                Documented {
                    kind: String::new(),
                    labels: Vec::new(),
                    help: help.to_string(),
                },
            );
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            out.get_mut(name).expect("HELP before TYPE").kind = kind.to_string();
        }
    }
    for s in Metrics::parse(text).0 {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                s.name
                    .strip_suffix(suffix)
                    .filter(|f| out.get(*f).is_some_and(|d| d.kind == "histogram"))
            })
            .unwrap_or(&s.name)
            .to_string();
        let e = out.get_mut(&family).expect("sample of a described family");
        let mut labels: Vec<String> = s.labels.keys().filter(|k| *k != "le").cloned().collect();
        labels.sort();
        if labels.len() > e.labels.len() {
            e.labels = labels;
        }
    }
    out
}

fn promtool_check(promtool: &std::path::Path, text: &str) {
    let (ok, said) = promtool_check_metrics(promtool, text);
    assert!(
        ok && said.trim().is_empty(),
        "promtool check metrics: {said}\n{text}"
    );
}

#[test]
fn docs_list_exactly_the_watcher_catalog() {
    let docs = documented_part(true);
    let catalog = butler::api::prom::catalog();
    for def in &catalog {
        let d = docs.get(def.name).unwrap_or_else(|| {
            panic!("{} is not in the watcher part of docs/metrics.md", def.name)
        });
        assert_eq!(d.kind, def.kind.as_str(), "{}", def.name);
        assert_eq!(d.labels, def.labels, "labels of {}", def.name);
        assert_eq!(d.help, def.help, "help of {}", def.name);
    }
    for name in docs.keys().filter(|n| n.starts_with("butler_")) {
        assert!(
            catalog.iter().any(|d| d.name == name),
            "the watcher part of docs/metrics.md lists {name}, which the watcher does not emit"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_metrics_follow_the_chain_pass_promtool_and_match_the_docs() {
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    let server = ApiServer::start(&watcher_config(dn), &[]);
    let c = client();
    // some traffic for the API series: an ingest, a telemetry heartbeat, a templated route, a 404
    let res = c
        .post(server.url("/api/logs/ingest"))
        .json(&json!([event("one"), event("two")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = c
        .post(server.url("/api/logs/ingest"))
        .json(&json!([event("fine"), {"ts": 1, "level": "info", "msg": "no service"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = c
        .post(server.url("/api/telemetry/session"))
        .json(&json!({"owner": "0x90F79bf6EB2c4f870365E785982E1f101E93b906", "sessionId": "s1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = format!("0x{}", "ab".repeat(32));
    c.get(server.url(&format!("/workflows/{id}")))
        .send()
        .await
        .unwrap();
    let res = c.get(server.url("/no/such/path")).send().await.unwrap();
    assert_eq!(res.status(), 404);

    let (m, text, chain) = scrape_caught_up(&server, dn).await;
    let seen = m.must("butler_indexer_chain_head_block", &[]);
    assert!(
        seen >= chain as f64 - 1.0 && seen <= chain as f64,
        "chain head seen {seen}, chain {chain}"
    );
    let behind = m.must("butler_indexer_blocks_behind", &[]);
    assert!(
        behind <= 0.0,
        "blocks behind {behind} exceeds the confirmations (0)"
    );
    assert!(
        m.must(
            "butler_indexer_events_total",
            &[("source", "ep07"), ("event", "Deposited")]
        ) >= 1.0,
        "the devnet's paymaster deposit is indexed"
    );
    assert!(m.must("butler_store_files", &[]) >= 1.0);
    assert!(m.must("butler_store_bytes", &[]) > 0.0);
    assert!(m.must("butler_indexer_checkpoint_age_seconds", &[]) >= 0.0);
    assert!(m.must("butler_indexer_replay_duration_seconds", &[]) >= 0.0);
    assert_eq!(m.must("butler_indexer_reorgs_total", &[]), 0.0);
    assert_eq!(m.must("butler_logs_ingested_total", &[]), 2.0);
    assert_eq!(m.must("butler_logs_dropped_total", &[]), 2.0);
    assert_eq!(m.must("butler_telemetry_sessions", &[]), 1.0);
    assert_eq!(m.must("butler_api_sse_clients", &[]), 0.0);
    assert_eq!(
        m.must(
            "butler_api_requests_total",
            &[("route", "/api/logs/ingest"), ("status", "422")]
        ),
        1.0
    );
    assert!(
        m.get("butler_api_requests_total", &[("route", "/workflows/{id}")])
            .is_some(),
        "the route label is the template:\n{text}"
    );
    assert_eq!(
        m.must(
            "butler_api_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    assert!(
        !text.contains(&id) && !text.contains("/no/such/path"),
        "raw paths never become labels"
    );
    assert!(
        m.must(
            "butler_api_request_duration_seconds_count",
            &[("route", "/api/logs/ingest")]
        ) >= 2.0
    );
    assert_eq!(m.must("butler_build_info", &[]), 1.0);

    if let Some(promtool) = promtool() {
        promtool_check(&promtool, &text);
    }

    let emitted = emitted(&text);
    let docs = documented_part(true);
    for (name, e) in &emitted {
        let d = docs.get(name).unwrap_or_else(|| {
            panic!("{name} is emitted but not in the watcher part of docs/metrics.md")
        });
        let mut doc_labels = d.labels.clone();
        doc_labels.sort();
        assert_eq!(
            (&e.kind, &e.labels, &e.help),
            (&d.kind, &doc_labels, &d.help),
            "{name}"
        );
    }
    // the supervised bundlers' series need a [supervisor] with instances: the bundlers test checks them;
    // the WebSocket heads' series need [chain] ws_url: the chain_ws tests check them;
    // the database's need the PostgreSQL store: watcher_pg_serve checks them
    let supervised: Vec<&str> = butler::bundlers::metrics::ALL
        .iter()
        .chain(butler::chain::heads::ALL)
        .chain(butler::watcher::pg::health::ALL.iter())
        .map(|d| d.name)
        .collect();
    for name in docs.keys().filter(|n| !supervised.contains(&n.as_str())) {
        assert!(
            emitted.contains_key(name),
            "{name} is documented for the watcher but was not emitted:\n{text}"
        );
    }
}

#[tokio::test]
async fn the_metrics_token_guards_the_watcher_metrics() {
    let server = ApiServer::start("", &[("BUTLER_API__METRICS_TOKEN", "scrape-me")]);
    assert_eq!(get_metrics(&server, None).await.0, 401);
    assert_eq!(get_metrics(&server, Some("wrong")).await.0, 401);
    let (status, body) = get_metrics(&server, Some("scrape-me")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("butler_build_info{"), "{body}");
    assert!(
        !body.contains("butler_indexer_"),
        "no indexer series without a [watcher] section"
    );
    let open = ApiServer::start("", &[]);
    assert_eq!(get_metrics(&open, None).await.0, 200, "open by default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_shows_in_the_watcher_metrics_with_its_depth() {
    use crate::watcher_support::{Anvil, DEV_ACCOUNT, calldata, deploy, transact};
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    for _ in 0..4 {
        transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["2"]));
    }
    let server = ApiServer::start(
        &format!(
            "[chain]\nrpc_url = \"{rpc}\"\n\n[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\n\
[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n",
            rpc = anvil.rpc
        ),
        &[],
    );
    let wait = |what: &'static str, done: fn(&Metrics) -> bool| {
        let server = &server;
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let (m, text) = scrape(server).await;
                if done(&m) {
                    return m;
                }
                assert!(
                    Instant::now() < deadline,
                    "{what}:\n{text}\n{}",
                    server.log()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let head = anvil.head() as f64;
    let m = wait("caught up", |m| {
        m.get("butler_indexer_blocks_behind", &[]) == Some(0.0)
    })
    .await;
    assert_eq!(m.must("butler_indexer_head_block", &[]), head);
    assert_eq!(m.must("butler_indexer_reorgs_total", &[]), 0.0);
    assert_eq!(m.must("butler_indexer_last_reorg_depth_blocks", &[]), 0.0);

    // replace the last 3 blocks
    anvil.call(
        "anvil_reorg",
        json!([3, [[{"from": DEV_ACCOUNT, "to": emitter, "data": calldata("emitMany(uint256)", &["5"]), "gas": "0x1000000"}, 0]]]),
    );
    anvil.mine(1);
    let m = wait("the reorg is counted", |m| {
        m.get("butler_indexer_reorgs_total", &[]) == Some(1.0)
    })
    .await;
    assert_eq!(m.must("butler_indexer_last_reorg_depth_blocks", &[]), 3.0);
}
