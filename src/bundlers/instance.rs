//! One task per instance. A spawned instance's task runs its child (with the policy gateway in front),
//! waits for readiness (a first `/health` 200, then the shared bundler probe, `eth_chainId` and
//! `eth_supportedEntryPoints`, on the internal port), probes it every `health_interval`, restarts it after any exit it did not ask for
//! ([`crate::backoff`], from 1 s doubling to 30 s), and marks a crash loop STOPPED with its reason. A registered
//! instance's task only probes its URL (the same bundler probe).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::registry::{Desired, LastExit, Status};
use super::{Control, Supervisor, child, gateway, ports, template};
use crate::chain::ChainClient;
use crate::chain::bundler::{self, BundlerHealth};
use crate::chain::retry::RetrySettings;
use crate::logs::Level;

/// How one run of the child ended.
enum Outcome {
    /// The watcher is stopping.
    Cancelled,
    /// Stopped by request.
    Stop(oneshot::Sender<()>, Option<LastExit>),
    /// Unregistered.
    Remove(oneshot::Sender<()>),
    /// It exited (or could not start) without being asked to.
    Exited { exit: LastExit, up_for: Duration },
    /// It cannot run at all (its template is gone, its keys left the pool): no restart.
    Failed(String),
}

pub(super) async fn run_spawned(
    sup: Supervisor,
    id: String,
    mut rx: mpsc::Receiver<Control>,
    cancel: CancellationToken,
) {
    let settings = sup.settings().clone();
    let mut delays = settings.restart_backoff.delays();
    let mut exits: VecDeque<Instant> = VecDeque::new();
    let mut halted = false;
    loop {
        let Some(record) = sup.get(&id) else { return };
        if record.desired == Desired::Stopped || halted {
            if record.status != Status::Stopped || record.pid.is_some() {
                sup.update(&id, |r| {
                    r.status = Status::Stopped;
                    r.pid = None;
                });
                save(&sup).await;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                msg = rx.recv() => match msg {
                    None => return,
                    Some(Control::Remove(ack)) => { let _ = ack.send(()); return; }
                    Some(Control::Stop(ack)) => { stopped(&sup, &id, None).await; let _ = ack.send(()); }
                    Some(Control::Start) => {
                        halted = false;
                        exits.clear();
                        delays.reset();
                        sup.update(&id, |r| { r.desired = Desired::Running; r.reason = None; });
                        save(&sup).await;
                        sup.note(&id, Level::Info, "start requested".to_string()).await;
                    }
                },
            }
            continue;
        }
        match run_once(&sup, &id, &mut rx, &cancel).await {
            Outcome::Cancelled => {
                sup.update(&id, |r| {
                    r.status = Status::Stopped;
                    r.pid = None;
                    r.reason = Some("the watcher stopped".to_string());
                });
                return;
            }
            Outcome::Remove(ack) => {
                let _ = ack.send(());
                return;
            }
            Outcome::Stop(ack, exit) => {
                stopped(&sup, &id, exit).await;
                let _ = ack.send(());
            }
            Outcome::Failed(reason) => {
                halted = true;
                sup.update(&id, |r| {
                    r.status = Status::Stopped;
                    r.pid = None;
                    r.reason = Some(reason.clone());
                });
                save(&sup).await;
                sup.note(&id, Level::Error, format!("cannot run: {reason}"))
                    .await;
            }
            Outcome::Exited { exit, up_for } => {
                if up_for >= settings.restart_backoff.max {
                    delays.reset();
                }
                let now = Instant::now();
                exits.push_back(now);
                while exits
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > settings.crash_loop_window)
                {
                    exits.pop_front();
                }
                let how = exit.describe();
                if exits.len() >= settings.crash_loop_exits as usize {
                    halted = true;
                    let reason = format!(
                        "crash loop: {} exits within {} s; last: {how}",
                        exits.len(),
                        settings.crash_loop_window.as_secs()
                    );
                    sup.update(&id, |r| {
                        r.status = Status::Stopped;
                        r.pid = None;
                        r.last_exit = Some(exit);
                        r.reason = Some(reason.clone());
                    });
                    save(&sup).await;
                    sup.note(
                        &id,
                        Level::Error,
                        format!(
                            "{reason}; not restarting (`butler bundlers start {id}` tries again)"
                        ),
                    )
                    .await;
                    continue;
                }
                let delay = delays.next_delay();
                let reason = format!(
                    "exited with {how}, not asked to; restarting in {} s",
                    delay.as_secs_f64()
                );
                sup.update(&id, |r| {
                    r.status = Status::Down;
                    r.pid = None;
                    r.last_exit = Some(exit);
                    r.reason = Some(reason.clone());
                });
                save(&sup).await;
                sup.note(&id, Level::Warn, reason).await;
                tokio::select! {
                    _ = cancel.cancelled() => {
                        sup.update(&id, |r| { r.status = Status::Stopped; r.reason = Some("the watcher stopped".to_string()); });
                        return;
                    }
                    _ = tokio::time::sleep(delay) => {}
                    msg = rx.recv() => match msg {
                        None => return,
                        Some(Control::Remove(ack)) => { let _ = ack.send(()); return; }
                        Some(Control::Stop(ack)) => { stopped(&sup, &id, None).await; let _ = ack.send(()); }
                        Some(Control::Start) => {}
                    },
                }
                if sup.get(&id).is_some_and(|r| r.desired == Desired::Running) {
                    sup.update(&id, |r| r.restarts += 1);
                    sup.note(&id, Level::Info, "restarting".to_string()).await;
                }
            }
        }
    }
}

async fn stopped(sup: &Supervisor, id: &str, exit: Option<LastExit>) {
    sup.update(id, |r| {
        r.desired = Desired::Stopped;
        r.status = Status::Stopped;
        r.pid = None;
        r.reason = Some("stopped by request".to_string());
        if exit.is_some() {
            r.last_exit = exit;
        }
    });
    save(sup).await;
    sup.note(id, Level::Info, "stopped by request".to_string())
        .await;
}

async fn save(sup: &Supervisor) {
    if let Err(e) = sup.persist().await {
        tracing::error!(error = %e, "bundler registry not written");
    }
}

/// One run of the child: ports, config, gateway, process, readiness, health; until it exits or is told
/// to stop.
async fn run_once(
    sup: &Supervisor,
    id: &str,
    rx: &mut mpsc::Receiver<Control>,
    cancel: &CancellationToken,
) -> Outcome {
    let settings = sup.settings();
    let Some(record) = sup.get(id) else {
        return Outcome::Cancelled;
    };
    let base = record.base.clone().unwrap_or_default();
    let Some(template) = settings.template(&base).cloned() else {
        return Outcome::Failed(format!(
            "template `{base}` is no longer in [[supervisor.templates]]"
        ));
    };
    let record = match ensure_ports(sup, id).await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e),
    };
    let (Some(public), Some(internal)) = (record.port, record.internal_port) else {
        return Outcome::Failed("no ports assigned".to_string());
    };
    let launch = match template::prepare(settings, &template, &record, &sup.instance_dir(id)) {
        Ok(l) => l,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let failed = |line: String| Outcome::Exited {
        exit: LastExit {
            code: None,
            signal: None,
            at: crate::telemetry::now_ms(),
            last_line: Some(line),
            requested: false,
        },
        up_for: Duration::ZERO,
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", public)).await {
        Ok(l) => l,
        Err(e) => {
            return failed(format!(
                "cannot bind the gateway on 127.0.0.1:{public}: {e}"
            ));
        }
    };
    let gw_cancel = CancellationToken::new();
    let gw = tokio::spawn(gateway::serve(
        listener,
        id.to_string(),
        record.policy,
        SocketAddr::from(([127, 0, 0, 1], internal)),
        gw_cancel.clone(),
    ));
    let outcome = match child::start(&launch, &sup.0.logs) {
        Ok(running) => {
            supervise(
                sup,
                id,
                running,
                template.ready_timeout_secs,
                template.stop_grace_secs,
                internal,
                rx,
                cancel,
            )
            .await
        }
        Err(e) => failed(format!("cannot start `{}`: {e}", launch.argv[0])),
    };
    sup.set_up_since(id, None);
    gw_cancel.cancel();
    let _ = gw.await;
    outcome
}

#[allow(clippy::too_many_arguments)]
async fn supervise(
    sup: &Supervisor,
    id: &str,
    mut running: child::Running,
    ready_timeout_secs: u64,
    stop_grace_secs: u64,
    internal: u16,
    rx: &mut mpsc::Receiver<Control>,
    cancel: &CancellationToken,
) -> Outcome {
    let pid = running.pid;
    sup.update(id, |r| {
        r.pid = Some(pid);
        r.status = Status::Down;
        r.reason = Some("starting".to_string());
    });
    save(sup).await;
    sup.note(id, Level::Info, format!("started, pid {pid}"))
        .await;
    let grace = Duration::from_secs(stop_grace_secs);
    let flush = Duration::from_secs(1);
    let http = sup.0.http.clone();
    let ready_timeout = Duration::from_secs(ready_timeout_secs);
    let deadline = tokio::time::sleep(ready_timeout);
    tokio::pin!(deadline);
    let rpc = probe_client(&format!("http://127.0.0.1:{internal}"));
    let readiness = wait_ready(http.clone(), internal, rpc.clone());
    tokio::pin!(readiness);
    let mut ready_at: Option<Instant> = None;
    let mut probes: u64 = 0;
    let mut tick = tokio::time::interval(sup.settings().health_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let up_for = |at: Option<Instant>| at.map_or(Duration::ZERO, |t| t.elapsed());
    loop {
        tokio::select! {
            status = running.wait() => {
                let exit = match status {
                    Ok(status) => running.finish(status, false, flush).await,
                    Err(e) => LastExit { code: None, signal: None, at: crate::telemetry::now_ms(), last_line: Some(format!("waiting for the process failed: {e}")), requested: false },
                };
                return Outcome::Exited { exit, up_for: up_for(ready_at) };
            }
            () = &mut readiness, if ready_at.is_none() => {
                ready_at = Some(Instant::now());
                sup.set_up_since(id, ready_at);
                sup.update(id, |r| { r.status = Status::Up; r.reason = None; r.last_seen = Some(crate::telemetry::now_ms()); });
                save(sup).await;
                sup.note(id, Level::Info, format!("ready on the internal port {internal}")).await;
                tick.reset();
            }
            () = &mut deadline, if ready_at.is_none() => {
                let exit = match running.stop(grace).await {
                    Ok(status) => running.finish(status, false, flush).await,
                    Err(_) => LastExit { code: None, signal: None, at: crate::telemetry::now_ms(), last_line: None, requested: false },
                };
                let exit = LastExit { last_line: Some(format!("not ready within {ready_timeout_secs} s (ready_timeout_secs){}", exit.last_line.map(|l| format!("; last line: {l}")).unwrap_or_default())), ..exit };
                return Outcome::Exited { exit, up_for: Duration::ZERO };
            }
            _ = tick.tick(), if ready_at.is_some() => {
                probes += 1;
                let (ok, what) = if probes.is_multiple_of(RPC_PROBE_EVERY) {
                    (rpc_probe(rpc.as_ref()).await.is_ok(), "eth_chainId / eth_supportedEntryPoints")
                } else {
                    (health_ok(&http, internal).await, "GET /health")
                };
                let now = crate::telemetry::now_ms();
                let before = sup.get(id).map(|r| r.status);
                let status = if ok { Status::Up } else { Status::Down };
                sup.update(id, |r| {
                    r.status = status;
                    r.reason = (!ok).then(|| format!("{what} on the internal port did not answer"));
                    if ok { r.last_seen = Some(now); }
                });
                if before != Some(status) {
                    save(sup).await;
                    sup.note(id, if ok { Level::Info } else { Level::Warn }, format!("health: {}", status.as_str())).await;
                }
            }
            msg = rx.recv() => {
                let stop = |running: child::Running, status: std::io::Result<std::process::ExitStatus>| async move {
                    match status {
                        Ok(s) => Some(running.finish(s, true, flush).await),
                        Err(_) => None,
                    }
                };
                match msg {
                    Some(Control::Start) => {}
                    Some(Control::Stop(ack)) => {
                        let status = running.stop(grace).await;
                        return Outcome::Stop(ack, stop(running, status).await);
                    }
                    Some(Control::Remove(ack)) => {
                        let status = running.stop(grace).await;
                        stop(running, status).await;
                        return Outcome::Remove(ack);
                    }
                    None => {
                        let status = running.stop(grace).await;
                        stop(running, status).await;
                        return Outcome::Cancelled;
                    }
                }
            }
            _ = cancel.cancelled() => {
                let status = running.stop(grace).await;
                if let Ok(s) = status {
                    let exit = running.finish(s, true, flush).await;
                    sup.update(id, |r| r.last_exit = Some(exit));
                }
                return Outcome::Cancelled;
            }
        }
    }
}

/// Keeps the instance's ports, or moves it to free ones when something else holds them now.
async fn ensure_ports(sup: &Supervisor, id: &str) -> Result<super::BundlerInstance, String> {
    let record = sup.get(id).ok_or_else(|| "unregistered".to_string())?;
    let free = |p: Option<u16>| p.is_some_and(ports::is_free);
    if free(record.port) && free(record.internal_port) {
        return Ok(record);
    }
    let moved = sup.with_entries_mut(|entries| {
        let used = entries
            .iter()
            .filter(|e| e.record.id != id)
            .flat_map(|e| [e.record.port, e.record.internal_port])
            .flatten()
            .collect();
        let (public, internal) =
            ports::allocate_pair(sup.settings().port_range, &used).map_err(|e| e.to_string())?;
        let e = entries
            .iter_mut()
            .find(|e| e.record.id == id)
            .ok_or_else(|| "unregistered".to_string())?;
        e.record.port = Some(public);
        e.record.internal_port = Some(internal);
        e.record.rpc_url = format!("http://127.0.0.1:{public}");
        Ok::<_, String>(e.record.clone())
    })?;
    save(sup).await;
    sup.note(
        id,
        Level::Warn,
        format!(
            "its ports were busy; moved to {} (gateway) and {} (bundler)",
            moved.port.unwrap_or_default(),
            moved.internal_port.unwrap_or_default()
        ),
    )
    .await;
    Ok(moved)
}

/// Every this many health probes, the JSON-RPC probe ([`crate::chain::bundler::probe`]: `eth_chainId`
/// and `eth_supportedEntryPoints`) instead of `GET /health` (which alto answers without logging it, so the
/// probes do not fill the log store; the JSON-RPC calls prove the RPC path works).
const RPC_PROBE_EVERY: u64 = 12;

/// Bound on one probe request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

async fn health_ok(http: &reqwest::Client, port: u16) -> bool {
    http.get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// A chain client bound to a bundler's URL for [`crate::chain::bundler::probe`]: one attempt per probe
/// (the next probe is the retry). `Err` names a URL that does not parse.
fn probe_client(url: &str) -> Result<ChainClient, String> {
    let url = Url::parse(url).map_err(|e| format!("rpcUrl `{url}`: {e}"))?;
    let retry = RetrySettings {
        timeout: PROBE_TIMEOUT,
        max_retries: 0,
        ..RetrySettings::default()
    };
    Ok(ChainClient::new(url, retry))
}

/// The shared bundler probe, bounded by [`PROBE_TIMEOUT`]; the error says what failed.
async fn rpc_probe(client: Result<&ChainClient, &String>) -> Result<BundlerHealth, String> {
    let client = client.map_err(Clone::clone)?;
    match tokio::time::timeout(PROBE_TIMEOUT, bundler::probe(client)).await {
        Ok(answer) => answer.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "{}: no answer within {} s",
            client.url(),
            PROBE_TIMEOUT.as_secs()
        )),
    }
}

/// Resolves once `/health` answers 200 and the bundler probe answers with at least one EntryPoint.
async fn wait_ready(http: reqwest::Client, port: u16, rpc: Result<ChainClient, String>) {
    loop {
        if health_ok(&http, port).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        if rpc_probe(rpc.as_ref())
            .await
            .is_ok_and(|h| !h.supported_entry_points.is_empty())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(super) async fn run_registered(
    sup: Supervisor,
    id: String,
    mut rx: mpsc::Receiver<Control>,
    cancel: CancellationToken,
) {
    let interval = sup.settings().health_interval;
    let Some(url) = sup.get(&id).map(|r| r.rpc_url) else {
        return;
    };
    let rpc = probe_client(&url);
    loop {
        let Some(record) = sup.get(&id) else { return };
        let probe = rpc_probe(rpc.as_ref()).await;
        let status = if probe.is_ok() {
            Status::Up
        } else {
            Status::Down
        };
        let now = crate::telemetry::now_ms();
        sup.update(&id, |r| {
            r.status = status;
            r.reason = probe.as_ref().err().cloned();
            if status == Status::Up {
                r.last_seen = Some(now);
            }
        });
        if record.status != status {
            save(&sup).await;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
            msg = rx.recv() => match msg {
                None => return,
                Some(Control::Remove(ack)) => { let _ = ack.send(()); return; }
                Some(Control::Stop(ack)) => { let _ = ack.send(()); }
                Some(Control::Start) => {}
            },
        }
    }
}
