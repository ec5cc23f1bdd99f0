//! The console in a real browser (headless Debian chromium over the DevTools protocol), without a chain:
//! a log whose `msg` and `meta` hold `<script>` and `<img onerror>` is shown as text both when the page
//! renders it and when the live tail appends it without a reload, and none of it runs; every page of an
//! empty store renders.

use serde_json::json;

use crate::support::api::{ApiServer, client};
use crate::support::browser::{Chrome, eval, open, screenshot, text, wait_js};

/// Markup that would run if it were parsed: each piece marks the page (a global and the title).
const SCRIPT: &str = "<script>window.__pwned = 'script'; document.title = 'pwned';</script>";
const IMG: &str = "<img src=x onerror=\"window.__pwned = 'img'; document.title = 'pwned'\">";

fn hostile(msg_tag: &str) -> serde_json::Value {
    json!({
        "ts": 1730000000, "service": "hostile", "level": "error",
        "msg": format!("{msg_tag} {SCRIPT} {IMG}"),
        "meta": {"note": SCRIPT, "html": IMG}
    })
}

async fn ingest(server: &ApiServer, body: serde_json::Value) {
    let res = client()
        .post(server.url("/api/logs/ingest"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "ingest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_logs_are_shown_as_text_and_the_live_tail_appends_without_a_reload() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let server = ApiServer::start("", &[]);
    ingest(&server, hostile("rendered")).await;
    let page = chrome.signed_in(&server).await;
    open(&page, &server, "/ui/logs").await;
    wait_js(
        &page,
        "document.getElementById('live-state').textContent === 'connected'",
        30,
    )
    .await;
    eval::<bool>(&page, "window.__marker = 'same page'; true").await;
    ingest(&server, hostile("streamed")).await;
    wait_js(
        &page,
        "document.body.innerText.includes('streamed <script>')",
        30,
    )
    .await;
    let marker: String = eval(&page, "window.__marker").await;
    assert_eq!(marker, "same page", "the event arrived without a reload");
    let shown = text(&page).await;
    for needle in [
        "rendered <script>",
        "streamed <script>",
        "<img src=x onerror=",
    ] {
        assert!(
            shown.contains(needle),
            "the page shows `{needle}` as text:\n{shown}"
        );
    }
    let pwned: String = eval(&page, "typeof window.__pwned").await;
    assert_eq!(pwned, "undefined", "no injected script or handler ran");
    let title: String = eval(&page, "document.title").await;
    assert_eq!(title, "Logs · butler");
    let injected: u64 = eval(
        &page,
        "document.querySelectorAll('#log-rows script, #log-rows img').length",
    )
    .await;
    assert_eq!(injected, 0, "no element was created from a log's text");
    screenshot(&page, "logs").await;
    chrome.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_an_empty_store_renders_in_the_browser() {
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let server = ApiServer::start("", &[]);
    let page = chrome.signed_in(&server).await;
    for path in crate::console::PAGES {
        open(&page, &server, path).await;
        let errors: u64 = eval(&page, "document.querySelectorAll('p.error').length").await;
        assert_eq!(
            errors,
            0,
            "{path} renders without an error:\n{}",
            text(&page).await
        );
    }
    open(&page, &server, "/ui/login").await;
    screenshot(&page, "login").await;
    chrome.close().await;
}
