//! The console in a real browser on the shared devnet: after real sponsored UserOperations the overview
//! shows the paymaster's deposit and the user operations page lists their hashes; a bundler spawned
//! from the bundlers page (through its confirmation step) comes UP on the page without a reload, and is
//! unregistered from it again; the paymaster's admin actions answer their calldata and a Safe batch to
//! download, never sending. Screenshots of every page go to `target/console-screenshots/`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::console;
use crate::support::api::{ADMIN, ApiServer, client};
use crate::support::browser::{Chrome, eval, open, screenshot, text, wait_js};
use crate::support::bundlers::{
    alto_template, key_pool, port_range, probe_userop, supervisor_config, watcher,
};
use crate::support::devnet::{self, Devnet};

async fn get(server: &ApiServer, path: &str) -> Value {
    let res = client()
        .get(server.url(path))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

fn config(dn: &Devnet, dir: &std::path::Path) -> String {
    let pool = key_pool(dn, dir, 2);
    let funder = dir.join("funder.key");
    std::fs::write(
        &funder,
        format!(
            "0x{}\n",
            hex::encode(alloy::signers::local::PrivateKeySigner::random().to_bytes())
        ),
    )
    .unwrap();
    std::fs::set_permissions(&funder, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let (ep, pm) = (dn.get("ENTRYPOINT_V07"), dn.get("VERIFYING_PAYMASTER"));
    format!(
        "{supervisor}\n[api]\nmonitor_interval_secs = 1\n\n[[paymasters]]\nname = \"verifying\"\naddress = \"{pm}\"\n\
entrypoint = \"{ep}\"\nmin_deposit_eth = \"0.001\"\n\n[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\n\
[[watcher.sources]]\nname = \"ep07\"\npreset = \"entrypoint\"\naddress = \"{ep}\"\nstart_block = 0\n\n\
[paymaster_ops]\nfunder_key_file = \"{funder}\"\n",
        funder = funder.display(),
        supervisor = supervisor_config(dn.rpc(), Some(&pool), port_range(10), &alto_template(dn)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_real_user_operations_and_spawns_a_bundler_that_comes_up() {
    let Some(dn) = devnet::shared() else { return };
    let Some(chrome) = Chrome::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = watcher(&config(dn, dir.path()));
    let mut hashes = Vec::new();
    for _ in 0..2 {
        let (ok, report, out) = probe_userop(dn, dn.bundler());
        assert!(ok, "probe userop: {out}");
        hashes.push(
            report["ops"][0]["user_op_hash"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = get(&server, "/api/admin/userops?limit=10000").await;
        let listed: Vec<&str> = v["userops"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["userOpHash"].as_str())
            .collect();
        if hashes.iter().all(|h| listed.contains(&h.as_str())) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never indexed: {hashes:?}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let status = get(&server, "/api/admin/paymaster/status").await;
    let wei = status["paymasters"][0]["depositWei"]
        .as_str()
        .unwrap()
        .to_string();
    let deposit = butler::console::layout::eth_str(&wei);

    let page = chrome.signed_in(&server).await;
    let deposit_js = format!(
        "Array.from(document.querySelectorAll('[data-paymaster-deposit]')).some(e => e.textContent === {deposit:?})"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        open(&page, &server, "/").await;
        if eval::<bool>(&page, &deposit_js).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the overview never showed the deposit {deposit}:\n{}",
            text(&page).await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    open(&page, &server, "/ui/userops?limit=1000").await;
    for h in &hashes {
        let listed: bool = eval(
            &page,
            &format!("document.querySelector('[data-hash=\"{h}\"]') !== null"),
        )
        .await;
        assert!(
            listed,
            "the user operations page lists {h}:\n{}",
            text(&page).await
        );
    }
    screenshot(&page, "userops").await;
    let sender: String = eval(
        &page,
        "document.querySelector('td.hash a[href^=\"/ui/senders/\"]').getAttribute('href')",
    )
    .await;
    open(&page, &server, &sender).await;
    assert!(
        text(&page).await.contains("Operations"),
        "the sender page shows its totals"
    );
    screenshot(&page, "sender").await;
    // a top-up refused for an empty funder is in the audit file; the paymasters page lists it
    let out = crate::support::Sandbox::new()
        .butler()
        .args(["--config", server.config.to_str().unwrap()])
        .args([
            "paymaster",
            "topup",
            "--below",
            "1000",
            "--to",
            "1001",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "the empty funder is refused (exit 3): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    open(&page, &server, "/ui/paymasters").await;
    let shown = text(&page).await;
    assert!(
        shown.contains("refused") && shown.contains("short by"),
        "the top-up history shows the refusal:\n{shown}"
    );
    screenshot(&page, "paymasters").await;
    open(&page, &server, "/ui/workflows").await;
    screenshot(&page, "workflows").await;

    // spawn through the form and its confirmation step
    open(&page, &server, "/ui/bundlers").await;
    page.find_element("form.spawn input[name=name]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str("console-spawned")
        .await
        .unwrap();
    page.find_element("form.spawn button[type=submit]")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        &page,
        "document.querySelector('.confirm button.danger') !== null",
        20,
    )
    .await;
    assert!(
        text(&page).await.contains("console-spawned"),
        "the confirmation names the instance"
    );
    page.find_element(".confirm button.danger")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        &page,
        "location.pathname.startsWith('/ui/bundlers/alto_')",
        30,
    )
    .await;
    let id: String = eval(&page, "location.pathname.split('/').pop()").await;
    eval::<bool>(&page, "window.__marker = 'same page'; true").await;
    wait_js(
        &page,
        &format!("document.querySelector('[data-bundler-status=\"{id}\"]').textContent === 'UP'"),
        120,
    )
    .await;
    let marker: String = eval(&page, "window.__marker").await;
    assert_eq!(
        marker, "same page",
        "UP arrived through the status stream, without a reload"
    );
    let listed = get(&server, "/api/admin/bundlers").await;
    let entry = listed["bundlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(entry["status"], "UP", "{entry}");
    open(&page, &server, &format!("/ui/bundlers/{id}")).await;
    screenshot(&page, "bundler").await;
    open(&page, &server, "/").await;
    screenshot(&page, "overview").await;
    open(&page, &server, "/ui/bundlers").await;
    screenshot(&page, "bundlers").await;

    // unregister through its confirmation step
    page.find_element(&format!(
        "form[action=\"/ui/bundlers/{id}/unregister\"] button"
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_js(
        &page,
        "document.querySelector('.confirm button.danger') !== null",
        20,
    )
    .await;
    page.find_element(".confirm button.danger")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(&page, "location.pathname === '/ui/bundlers'", 60).await;
    let listed = get(&server, "/api/admin/bundlers").await;
    assert!(
        listed["bundlers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["id"] != id.as_str()),
        "unregistered: {listed}"
    );
    chrome.close().await;

    // the paymaster's admin actions are dry runs: the calldata, or a Safe batch to download
    let (cookie, _) = console::sign_in(&server).await;
    let csrf = console::csrf(&server, &cookie).await;
    let to = dn.get("EXECUTOR_ADDRESS").to_string();
    let action = |format: &'static str| {
        console::client()
            .post(server.url("/ui/paymasters/action"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("paymaster", "verifying"),
                ("action", "withdraw"),
                ("amountWei", "1000"),
                ("to", to.as_str()),
                ("format", format),
            ])
            .send()
    };
    let shown = action("calldata").await.unwrap();
    assert_eq!(shown.status(), 200);
    let shown = shown.text().await.unwrap();
    assert!(
        shown.contains("withdrawTo") && shown.contains("Nothing was sent"),
        "{shown}"
    );
    let safe = action("safe").await.unwrap();
    assert_eq!(safe.status(), 200);
    assert!(
        safe.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
        "the Safe batch is a download"
    );
    let batch: Value = safe.json().await.unwrap();
    assert_eq!(
        batch["transactions"].as_array().map(Vec::len),
        Some(1),
        "{batch}"
    );
}
