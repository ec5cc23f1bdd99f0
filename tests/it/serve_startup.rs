//! `serve --watcher` at startup: an unreachable node is waited for (no exit, no restart loop), SIGTERM
//! while waiting stops cleanly, and a node on the wrong chain stops it (and `index`) at once with exit code 2.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use crate::support::{Sandbox, devnet, free_port};

fn config(sb: &Sandbox, rpc: &str, chain_id: u64, api_port: u16) -> std::path::PathBuf {
    sb.write(
        "butler.toml",
        &format!(
            "data_dir = \"{}\"\n\n[chain]\nrpc_url = \"{rpc}\"\nchain_id = {chain_id}\nmax_retries = 0\ntimeout_secs = 1\n\n\
             [watcher]\nconfirmations = 0\n\n[[watcher.sources]]\nname = \"ep\"\npreset = \"entrypoint\"\n\
             address = \"0x0000000071727De22E5E9d8BAf0edAc6f37da032\"\nstart_block = 0\n\n\
             [api]\nlisten = \"127.0.0.1:{api_port}\"\n",
            sb.path().join("data").display()
        ),
    )
}

#[test]
fn unreachable_node_is_waited_for_and_sigterm_stops_cleanly() {
    let sb = Sandbox::new();
    let cfg = config(
        &sb,
        &format!("http://127.0.0.1:{}", free_port()),
        31337,
        free_port(),
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("butler"))
        .args(["--config", cfg.to_str().unwrap(), "serve", "--watcher"])
        .env_remove("BUTLER_CONFIG")
        .env_remove("RUST_LOG")
        .env("XDG_CONFIG_HOME", sb.path().join("xdg"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    // two "waits for it" lines: it failed, waited, tried again and is still waiting
    let mut waits = 0;
    while waits < 2 {
        let line = seen
            .recv_timeout(Duration::from_secs(30))
            .expect("serve --watcher neither logged waiting for its node nor kept running");
        if line.contains("node not reachable; the watcher waits for it") {
            waits += 1;
        }
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "serve --watcher exited while its node was down"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn wrong_chain_id_stops_serve_watcher_and_index_with_exit_2() {
    let Some(dn) = devnet::shared() else { return };
    let sb = Sandbox::new();
    let cfg = config(&sb, dn.rpc(), 1, free_port());
    for args in [&["serve", "--watcher"][..], &["index"][..]] {
        sb.butler()
            .args(["--config", cfg.to_str().unwrap()])
            .args(args)
            .timeout(Duration::from_secs(30))
            .assert()
            .code(2)
            .stderr(predicates::str::contains("chain id mismatch"));
    }
}
