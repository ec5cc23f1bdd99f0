//! Each shipped systemd unit's command stops cleanly on SIGTERM within the unit's `TimeoutStopSec`: the
//! exact `ExecStart` arguments of config/systemd/*.service (with a test config and a free listen port), on
//! the shared devnet; the watcher while it indexes and holds an open SSE stream.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::exporter::devnet_config;
use crate::monkit::{Unit, stop};
use crate::support::api::ADMIN;
use crate::support::{Sandbox, free_port};

/// The `serve` mode flag of a unit and the flag that sets that mode's listen address.
fn listen_flag(args: &[&str]) -> &'static str {
    if args.contains(&"--prometheus") {
        "--exporter-listen"
    } else if args.contains(&"--watcher") {
        "--api-listen"
    } else if args.contains(&"--fee-manager") {
        "--fees-listen"
    } else {
        panic!("no serve mode in {args:?}")
    }
}

/// Starts the unit's command with `config` in place of /etc/butler/butler.toml and waits until it listens.
fn start(sb: &Sandbox, unit: &Unit, config: &str, port: u16) -> Child {
    let path = sb.write("butler.toml", config);
    let args: Vec<String> = unit
        .args()
        .iter()
        .map(|a| {
            if *a == "/etc/butler/butler.toml" {
                path.display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("butler"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BUTLER_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(&args)
        .arg(listen_flag(&unit.args()))
        .arg(format!("127.0.0.1:{port}"))
        .env("HOME", sb.path())
        .env("XDG_CONFIG_HOME", sb.path().join("xdg-config"))
        .env("XDG_DATA_HOME", sb.path().join("xdg-data"))
        .env("BUTLER_API__ADMIN_TOKEN", ADMIN)
        .current_dir(sb.path().join("cwd"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(sb.path().join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{} exited with {status}:\n{}", unit.name, log(sb));
        }
        assert!(
            Instant::now() < deadline,
            "{} did not listen within 30 s:\n{}",
            unit.name,
            log(sb)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn log(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.path().join("serve.log")).unwrap_or_default()
}

#[test]
fn every_unit_command_stops_cleanly_on_sigterm_within_its_timeout_stop_sec() {
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    for unit in Unit::all() {
        let sb = Sandbox::new();
        let data = sb.path().join("data");
        let args = unit.args();
        let config = if args.contains(&"--prometheus") {
            devnet_config(dn, "")
        } else if args.contains(&"--watcher") {
            format!(
                "data_dir = {data:?}\n[chain]\nrpc_url = \"{}\"\nchain_id = 31337\n\n[watcher]\nconfirmations = 0\n\
poll_interval_secs = 1\n\n[[watcher.sources]]\nname = \"ep07\"\npreset = \"entrypoint\"\naddress = \"{}\"\n\
start_block = 0\n",
                dn.rpc(),
                dn.get("ENTRYPOINT_V07")
            )
        } else {
            format!("data_dir = {data:?}\n[fees]\ndatabase_url = \"sqlite://fees.db\"\n")
        };
        let port = free_port();
        let mut child = start(&sb, &unit, &config, port);
        // A client that never hangs up: the watcher's SSE stream stays open through the stop.
        let mut sse = args.contains(&"--watcher").then(|| {
            Command::new("curl")
                .args(["-sN", "-m", "120", "-H"])
                .arg(format!("authorization: Bearer {ADMIN}"))
                .arg(format!("http://127.0.0.1:{port}/api/logs/stream"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        });
        if let Some(c) = sse.as_mut() {
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                c.try_wait().unwrap().is_none(),
                "the SSE client is connected"
            );
        }
        let limit = unit.timeout_stop();
        let stopped = stop(&mut child, limit);
        if let Some(mut c) = sse {
            let _ = c.kill();
            let _ = c.wait();
        }
        let Some((took, status)) = stopped else {
            panic!(
                "{}: still running {limit:?} (TimeoutStopSec) after SIGTERM; systemd would SIGKILL it:\n{}",
                unit.name,
                log(&sb)
            );
        };
        assert!(
            status.success(),
            "{}: exit {status} after SIGTERM:\n{}",
            unit.name,
            log(&sb)
        );
        let said = log(&sb);
        assert!(
            said.contains("SIGTERM received") && !said.contains("ERROR"),
            "{}: a clean stop logs SIGTERM and no error:\n{said}",
            unit.name
        );
        eprintln!(
            "{}: stopped {took:?} after SIGTERM (TimeoutStopSec {limit:?})",
            unit.name
        );
    }
}
