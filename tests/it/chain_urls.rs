//! Several RPC URLs: a stopped first URL (every command and both serve modes work through the second, and
//! the first is used again once it answers), a second URL on another chain (refused at start, exit 2, named),
//! a second URL lagging the head by 5 blocks (no missed event, no false reorg), the URL list from the file,
//! the env and repeated flags, and a URL with a key in its path that never shows unredacted.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::chain_support::{Behaviour, Proxy};
use crate::exporter::Serve;
use crate::support::api::{ApiServer, client};
use crate::support::devnet::{Devnet, shared};
use crate::support::{Sandbox, free_port};
use crate::watcher_support::*;

/// The sum of the samples of `name` in a text exposition whose labels include `labels` (`k="v"` each).
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let wanted: Vec<&str> = labels.split(',').filter(|l| !l.is_empty()).collect();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, have) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let have: Vec<&str> = have.split(',').collect();
            (n == name && wanted.iter().all(|w| have.contains(w)))
                .then(|| value.parse::<f64>().ok())?
        })
        .reduce(|a, b| a + b)
}

/// Polls `ok` every 100 ms for up to `secs`.
fn wait_until(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `chain status --output json` with what `cmd` already carries; it must succeed.
fn status_json(cmd: &mut assert_cmd::Command) -> Value {
    let out = cmd
        .args(["--output", "json", "chain", "status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn chain_section(urls: &[&str]) -> String {
    let list: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    format!(
        "[chain]\nrpc_urls = [{}]\nchain_id = 31337\ntimeout_secs = 5\nmax_retries = 2\n",
        list.join(", ")
    )
}

fn watcher_section(dn: &Devnet) -> String {
    format!(
        "[watcher]\nconfirmations = 0\npoll_interval_secs = 1\n\n[[watcher.sources]]\nname = \"ep07\"\npreset = \"entrypoint\"\naddress = \"{}\"\nstart_block = 0\n",
        dn.get("ENTRYPOINT_V07")
    )
}

fn paymaster_section(dn: &Devnet) -> String {
    format!(
        "[[paymasters]]\nname = \"verifying\"\naddress = \"{}\"\nentrypoint = \"{}\"\n",
        dn.get("VERIFYING_PAYMASTER"),
        dn.get("ENTRYPOINT_V07")
    )
}

async fn metrics_of(server: &ApiServer) -> String {
    client()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_first_url_is_skipped_everywhere_and_used_again_once_it_answers() {
    let Some(dn) = shared() else { return };
    let port = free_port();
    let down = format!("http://127.0.0.1:{port}");
    let shown_down = format!("{down}/");
    let shown_up = format!("{}/", dn.rpc().trim_end_matches('/'));
    let sections = format!(
        "{}\n{}\n{}",
        chain_section(&[&down, dn.rpc()]),
        paymaster_section(dn),
        watcher_section(dn)
    );
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    let config = sb.write(
        "butler.toml",
        &format!("data_dir = {:?}\n{sections}", data.display().to_string()),
    );

    // the commands
    let status = butler_json(&sb, &config, &["chain", "status"]);
    assert_eq!(status["urls"][0]["url"], shown_down.as_str(), "{status}");
    assert_eq!(status["urls"][0]["healthy"], false, "{status}");
    assert_eq!(status["urls"][1]["healthy"], true, "{status}");
    assert_eq!(status["rpc_url"], shown_up.as_str(), "{status}");
    assert!(status["head_block"].as_u64().unwrap() > 0);
    let pm = butler_json(&sb, &config, &["paymaster", "status"]);
    assert!(pm.to_string().contains("deposit"), "{pm}");
    let done = butler_json(&sb, &config, &["index"]);
    assert_eq!(done["caughtUp"], true, "{done}");
    butler_json(&sb, &config, &["userops"]);
    butler_json(&sb, &config, &["stats"]);

    // the exporter
    let exporter = Serve::start(&sections);
    let (_, text, _) = exporter.scrape();
    assert_eq!(
        sample(&text, "butler_chain_up", ""),
        Some(1.0),
        "{text}\n{}",
        exporter.log()
    );
    let healthy =
        |text: &str, url: &str| sample(text, "butler_rpc_url_healthy", &format!("url=\"{url}\""));
    assert_eq!(healthy(&text, &shown_down), Some(0.0), "{text}");
    assert_eq!(healthy(&text, &shown_up), Some(1.0), "{text}");
    assert!(
        sample(
            &text,
            "butler_rpc_requests_total",
            &format!("url=\"{shown_up}\",method=\"eth_chainId\",outcome=\"ok\"")
        )
        .is_some(),
        "{text}"
    );

    // the watcher
    let watcher = ApiServer::start(&sections, &[]);
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics_of(&watcher).await;
        if sample(&text, "butler_indexer_head_block", "").is_some_and(|b| b > 0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sample(&text, "butler_indexer_head_block", "").is_some_and(|b| b > 0.0),
        "the watcher indexes through the second URL:\n{text}\n{}",
        watcher.log()
    );
    assert_eq!(healthy(&text, &shown_down), Some(0.0), "{text}");

    // the first URL comes back: the running watcher probes it and uses it again, and so does a new command
    let back = Proxy::start_on(port, dn.rpc(), Behaviour::default());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = metrics_of(&watcher).await;
        // the indexer's passes (head and reorg check) go there again
        let used = back
            .stats
            .lock()
            .unwrap()
            .methods
            .get("eth_getBlockByNumber")
            .copied()
            .unwrap_or(0);
        if healthy(&text, &shown_down) == Some(1.0) && used > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not use the first URL again:\n{text}\n{:?}",
            back.stats.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = butler_json(&sb, &config, &["chain", "status"]);
    assert_eq!(status["urls"][0]["healthy"], true, "{status}");
    assert_eq!(
        status["rpc_url"],
        shown_down.as_str(),
        "the first URL is preferred again: {status}"
    );
}

/// An anvil on another chain id; killed on drop.
struct OtherChain {
    child: std::process::Child,
    rpc: String,
}

impl OtherChain {
    fn start(chain_id: u64) -> OtherChain {
        let port = free_port();
        let child = std::process::Command::new(Devnet::bin("anvil"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
            ])
            .args(["--chain-id", &chain_id.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn anvil");
        let other = OtherChain {
            child,
            rpc: format!("http://127.0.0.1:{port}"),
        };
        wait_until(15, "the second anvil did not start", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        other
    }
}

impl Drop for OtherChain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_second_url_on_another_chain_is_refused_at_start_naming_it() {
    let Some(dn) = shared() else { return };
    let other = OtherChain::start(4242);
    let sb = Sandbox::new();
    // flags only, no chain id configured: the URLs disagree
    let out = sb
        .butler()
        .args([
            "--rpc-url",
            dn.rpc(),
            "--rpc-url",
            &other.rpc,
            "chain",
            "status",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&other.rpc) && err.contains("4242"), "{err}");
    // a configured chain id: the URL on the other chain is named
    let data = sb.path().join("data");
    let config = sb.write(
        "butler.toml",
        &format!(
            "data_dir = {:?}\n{}\n{}\n{}",
            data.display().to_string(),
            chain_section(&[dn.rpc(), &other.rpc]),
            paymaster_section(dn),
            watcher_section(dn)
        ),
    );
    for args in [
        &["chain", "status"][..],
        &["index"],
        &["paymaster", "status"],
    ] {
        let out = sb
            .butler()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&other.rpc) && err.contains("31337") && err.contains("4242"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn url_lists_come_from_the_file_the_env_or_repeated_flags_and_not_two_keys_at_once() {
    let Some(dn) = shared() else { return };
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let file = sb.write("urls", &format!("# providers\n{}\n", dn.rpc()));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = sb.write(
        "butler.toml",
        &format!(
            "[chain]\nrpc_urls_file = {:?}\n",
            file.display().to_string()
        ),
    );
    let s = butler_json(&sb, &config, &["chain", "status"]);
    assert_eq!(s["urls"].as_array().unwrap().len(), 1, "{s}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = sb
        .butler()
        .arg("--config")
        .arg(&config)
        .args(["chain", "status"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rpc_urls_file") && err.contains("0644"),
        "{err}"
    );

    let both = sb.write(
        "both.toml",
        &format!(
            "[chain]\nrpc_url = {:?}\nrpc_urls = [{:?}]\n",
            dn.rpc(),
            dn.rpc()
        ),
    );
    let out = sb
        .butler()
        .arg("--config")
        .arg(&both)
        .args(["chain", "status"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("rpc_url and rpc_urls"), "{err}");

    let down = format!("http://127.0.0.1:{}", free_port());
    let empty = sb.write("empty.toml", "");
    let s = status_json(
        sb.butler()
            .arg("--config")
            .arg(&empty)
            .env("BUTLER_CHAIN__RPC_URLS__0", &down)
            .env("BUTLER_CHAIN__RPC_URLS__1", dn.rpc()),
    );
    assert_eq!(s["urls"].as_array().unwrap().len(), 2, "{s}");
    assert_eq!(s["urls"][0]["healthy"], false, "{s}");

    // repeated flags replace the configured list
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = status_json(sb.butler().arg("--config").arg(&config).args([
        "--rpc-url",
        &down,
        "--rpc-url",
        dn.rpc(),
        "--rpc-url",
        dn.rpc(),
    ]));
    assert_eq!(s["urls"].as_array().unwrap().len(), 3, "{s}");
}

#[test]
fn a_second_url_lagging_five_blocks_misses_no_event_and_sees_no_reorg() {
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    let first = Proxy::start(&anvil.rpc, Behaviour::default());
    let lagging = Proxy::start(&anvil.rpc, Behaviour { cap: None, lag: 5 });
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    let config = sb.write(
        "butler.toml",
        &format!(
            "data_dir = {:?}\n[chain]\nrpc_urls = [{:?}, {:?}]\ntimeout_secs = 5\nmax_retries = 1\n[watcher]\nconfirmations = 0\n[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n",
            data.display().to_string(),
            first.url,
            lagging.url
        ),
    );
    // the first URL is down every other round: those rounds index through the lagging one, which is
    // sometimes behind blocks already indexed through the first
    for round in 0..8 {
        transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["2"]));
        // sometimes more blocks than the lag, so the lagging URL has new blocks too
        anvil.mine(if round % 4 == 1 { 8 } else { 2 });
        first
            .down
            .store(round % 2 == 1, std::sync::atomic::Ordering::SeqCst);
        let done = butler_json(&sb, &config, &["index"]);
        assert_eq!(done["caughtUp"], true, "round {round}: {done}");
    }
    assert!(lagging.take().get_logs() > 0, "the lagging URL was used");
    // the first URL alone at the end: whatever the lagging one had not seen yet is indexed now
    first.down.store(false, std::sync::atomic::Ordering::SeqCst);
    lagging
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    butler_json(&sb, &config, &["index"]);
    assert_eq!(
        keys_of_records(&records(&data)),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter)),
        "every event exactly once"
    );
    let stats = butler_json(&sb, &config, &["stats"]);
    assert_eq!(stats["reorgs"], 0, "no false reorg: {stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_a_url_path_never_shows_unredacted() {
    let Some(dn) = shared() else { return };
    use std::os::unix::fs::PermissionsExt;
    const KEY: &str = "SECRETKEY0123abcdef";
    const DOWN_KEY: &str = "DOWNKEY9876zyxwvu";
    let proxy = Proxy::start(dn.rpc(), Behaviour::default());
    let keyed = format!("{}/v2/{KEY}", proxy.url);
    let down = format!("http://127.0.0.1:{}/v2/{DOWN_KEY}", free_port());
    let sb = Sandbox::new();
    let file = sb.write("urls", &format!("{keyed}\n{down}\n"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let data = sb.path().join("data");
    let sections = format!(
        "[chain]\nrpc_urls_file = {:?}\nchain_id = 31337\ntimeout_secs = 5\nmax_retries = 1\n{}\n{}",
        file.display().to_string(),
        paymaster_section(dn),
        watcher_section(dn)
    );
    let config = sb.write(
        "butler.toml",
        &format!("data_dir = {:?}\n{sections}", data.display().to_string()),
    );
    let mut seen = String::new();
    for args in [
        &["chain", "status"][..],
        &["--output", "json", "chain", "status"],
        &["config", "show"],
        &["--output", "json", "config", "show"],
        &["-v", "index"],
        &["--output", "json", "paymaster", "status"],
    ] {
        let out = sb
            .butler()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    // an error that names the URLs: both keyed URLs unreachable
    let out = sb
        .butler()
        .args([
            "--rpc-url",
            &down,
            "--rpc-url",
            &down.replace("/v2/", "/v3/"),
            "chain",
            "status",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    seen.push_str(&String::from_utf8_lossy(&out.stderr));
    let exporter = Serve::start(&sections);
    let (_, text, _) = exporter.scrape();
    seen.push_str(&text);
    seen.push_str(&exporter.log());
    let watcher = ApiServer::start(&sections, &[]);
    let text = metrics_of(&watcher).await;
    seen.push_str(&text);
    seen.push_str(&watcher.log());

    assert!(
        proxy
            .stats
            .lock()
            .unwrap()
            .paths
            .iter()
            .any(|p| p == &format!("/v2/{KEY}")),
        "the keyed URL was used"
    );
    assert!(
        !seen.contains(KEY) && !seen.contains(DOWN_KEY),
        "a key leaked:\n{seen}"
    );
    assert!(
        seen.contains(&format!("{}/v2/***", proxy.url)),
        "the URL is shown redacted:\n{seen}"
    );
    assert!(
        text.contains(&format!("url=\"{}/v2/***\"", proxy.url)),
        "metrics label the redacted URL:\n{text}"
    );
}
