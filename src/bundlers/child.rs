//! One bundler process: started in its own process group with a clean environment and its own working
//! directory, its stdout and stderr lines turned into log events (`service = <instance id>`) and appended
//! to the instance's `output.log`, stopped with SIGTERM to the group then SIGKILL after the grace period. Only the [`Child`] this module spawned is
//! ever signalled, and only while it has not been reaped, so its PID cannot belong to anyone else.

use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Child;
use tokio::sync::mpsc;

use super::registry::LastExit;
use crate::logs::{Level, LogEvent, LogStore};

/// Environment variables passed through from butler to every child; nothing else is inherited.
pub const PASSED_ENV: &[&str] = &["PATH", "HOME", "LANG", "TZ"];

/// What to run.
#[derive(Debug, Clone)]
pub struct Launch {
    pub id: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub dir: PathBuf,
    /// Only non-JSON lines go to the log store (the bundler ships its structured logs itself).
    pub ships_logs: bool,
}

/// A running child and the last line it printed.
pub struct Running {
    pub child: Child,
    pub pid: u32,
    last_line: Arc<Mutex<LastLines>>,
    readers: tokio::task::JoinSet<()>,
}

/// Starts `launch`. The child gets SIGKILL if butler dies (`PR_SET_PDEATHSIG`), so no bundler outlives
/// a killed supervisor.
pub fn start(launch: &Launch, logs: &LogStore) -> std::io::Result<Running> {
    let (program, args) = launch
        .argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(
            PASSED_ENV
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
        )
        .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(&launch.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false)
        .process_group(0);
    let parent = std::process::id();
    // SAFETY: the closure only makes async-signal-safe system calls (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)?;
            if nix::unistd::getppid().as_raw() as u32 != parent {
                nix::libc::_exit(1);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("the child exited before its PID was read"))?;
    let last_line = Arc::new(Mutex::new(LastLines::default()));
    let (tx, rx) = mpsc::channel::<Line>(1024);
    let mut readers = tokio::task::JoinSet::new();
    if let Some(out) = child.stdout.take() {
        readers.spawn(read_lines(
            out,
            false,
            launch.clone(),
            last_line.clone(),
            tx.clone(),
        ));
    }
    if let Some(err) = child.stderr.take() {
        readers.spawn(read_lines(err, true, launch.clone(), last_line.clone(), tx));
    }
    readers.spawn(sink(rx, logs.clone(), launch.dir.clone()));
    Ok(Running {
        child,
        pid,
        last_line,
        readers,
    })
}

impl Running {
    /// Waits for the child to exit by itself.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// SIGTERM to the process group, SIGKILL after `grace`; returns the exit status.
    pub async fn stop(&mut self, grace: Duration) -> std::io::Result<ExitStatus> {
        let group = Pid::from_raw(self.pid as i32);
        if self.child.try_wait()?.is_none() {
            let _ = killpg(group, Signal::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                tracing::warn!(
                    pid = self.pid,
                    grace_secs = grace.as_secs(),
                    "bundler ignored SIGTERM; sending SIGKILL to its group"
                );
                let _ = killpg(group, Signal::SIGKILL);
                self.child.wait().await
            }
        }
    }

    /// Lets the output readers finish (at most `within`) and describes the exit.
    pub async fn finish(
        mut self,
        status: ExitStatus,
        requested: bool,
        within: Duration,
    ) -> LastExit {
        let _ = tokio::time::timeout(within, async {
            while self.readers.join_next().await.is_some() {}
        })
        .await;
        self.readers.abort_all();
        let last_line = {
            let last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            last.stderr.clone().or_else(|| last.stdout.clone())
        };
        exit_of(status, requested, last_line)
    }
}

/// A [`LastExit`] for a status.
pub fn exit_of(status: ExitStatus, requested: bool, last_line: Option<String>) -> LastExit {
    LastExit {
        code: status.code(),
        signal: status.signal().map(|s| {
            Signal::try_from(s)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| format!("signal {s}"))
        }),
        at: crate::telemetry::now_ms(),
        last_line,
        requested,
    }
}

/// Longest line kept in a log event.
const MAX_LINE: usize = 16 * 1024;

/// One output line: its text (for `output.log`) and its log event, unless the bundler ships it itself.
struct Line {
    raw: String,
    event: Option<LogEvent>,
}

/// The last line of each stream.
#[derive(Default)]
struct LastLines {
    stdout: Option<String>,
    stderr: Option<String>,
}

async fn read_lines(
    stream: impl tokio::io::AsyncRead + Unpin,
    stderr: bool,
    launch: Launch,
    last: Arc<Mutex<LastLines>>,
    tx: mpsc::Sender<Line>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(mut line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        let (event, json) = event_of(&launch.id, &line, stderr);
        {
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            let slot = if stderr {
                &mut last.stderr
            } else {
                &mut last.stdout
            };
            *slot = Some(event.msg.clone());
        }
        let event = (!(json && launch.ships_logs)).then_some(event);
        if tx.send(Line { raw: line, event }).await.is_err() {
            return;
        }
    }
}

/// `output.log` grows to this size, then becomes `output.log.1` (one old file is kept).
const OUTPUT_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// Appends the raw lines to `DATA_DIR/bundlers/<id>/output.log` and ingests the events in batches, until
/// every reader is done.
async fn sink(mut rx: mpsc::Receiver<Line>, logs: LogStore, dir: PathBuf) {
    use tokio::io::AsyncWriteExt as _;
    let path = dir.join("output.log");
    let open = |path: PathBuf| async move {
        tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .await
    };
    let mut file = open(path.clone()).await.ok();
    let mut written = match &file {
        Some(f) => f.metadata().await.map(|m| m.len()).unwrap_or(0),
        None => 0,
    };
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 256).await > 0 {
        let mut text = String::new();
        let mut events = Vec::new();
        for line in batch.drain(..) {
            text.push_str(&line.raw);
            text.push('\n');
            events.extend(line.event);
        }
        if written > OUTPUT_MAX_BYTES {
            let _ = tokio::fs::rename(&path, dir.join("output.log.1")).await;
            file = open(path.clone()).await.ok();
            written = 0;
        }
        if let Some(f) = file.as_mut() {
            if let Err(e) = f.write_all(text.as_bytes()).await {
                tracing::warn!(path = %path.display(), error = %e, "bundler output not written");
            }
            written += text.len() as u64;
        }
        if !events.is_empty()
            && let Err(e) = logs.ingest(events).await
        {
            tracing::warn!(error = %e, "bundler log lines not stored");
        }
    }
}

/// The log event of one line and whether the line was JSON. pino lines (`level` as a number or a label,
/// `time` in epoch ms, `msg`) keep their level, time and message; their other fields go to `meta`.
pub fn event_of(service: &str, line: &str, stderr: bool) -> (LogEvent, bool) {
    let now = crate::telemetry::now_ms() as f64 / 1000.0;
    let plain = |msg: &str| LogEvent {
        id: 0,
        ts: serde_json::Number::from_f64(now).unwrap_or_else(|| 0.into()),
        service: service.to_string(),
        level: if stderr { Level::Warn } else { Level::Info },
        msg: msg.to_string(),
        request_id: None,
        quote_id: None,
        user_op_hash: None,
        tx_hash: None,
        sender: None,
        meta: Some(serde_json::json!({"stream": if stderr { "stderr" } else { "stdout" }})),
    };
    let Ok(Value::Object(mut obj)) = serde_json::from_str::<Value>(line) else {
        return (plain(line), false);
    };
    let mut event = plain("");
    event.level = match obj.remove("level") {
        Some(Value::Number(n)) => match n.as_u64().unwrap_or(30) {
            0..=10 => Level::Trace,
            11..=20 => Level::Debug,
            21..=30 => Level::Info,
            31..=40 => Level::Warn,
            41..=50 => Level::Error,
            _ => Level::Fatal,
        },
        Some(Value::String(s)) => s.to_ascii_lowercase().parse().unwrap_or(event.level),
        _ => event.level,
    };
    if let Some(ms) = obj.remove("time").and_then(|t| t.as_f64())
        && let Some(ts) = serde_json::Number::from_f64(ms / 1000.0)
        && (0.0..crate::logs::event::MAX_TS_SECS).contains(&(ms / 1000.0))
    {
        event.ts = ts;
    }
    event.msg = match obj.remove("msg") {
        Some(Value::String(s)) => s,
        Some(v) => v.to_string(),
        None => String::new(),
    };
    obj.remove("pid");
    obj.remove("hostname");
    let mut meta = Map::new();
    meta.insert(
        "stream".into(),
        (if stderr { "stderr" } else { "stdout" }).into(),
    );
    meta.extend(obj);
    event.meta = Some(Value::Object(meta));
    (event, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pino_lines_keep_level_time_and_fields() {
        let (e, json) = event_of(
            "alto_abc123",
            r#"{"level":"warn","time":1730000000123,"pid":7,"module":"rpc","msg":"slow"}"#,
            false,
        );
        assert!(json);
        assert_eq!((e.level, e.msg.as_str()), (Level::Warn, "slow"));
        assert_eq!(e.ts.as_f64(), Some(1730000000.123));
        assert_eq!(e.meta.as_ref().unwrap()["module"], "rpc");
        assert!(e.meta.as_ref().unwrap().get("pid").is_none());
        let (e, _) = event_of("x", r#"{"level":50,"msg":"boom"}"#, false);
        assert_eq!(e.level, Level::Error);
        let (e, json) = event_of("x", "Server listening at http://127.0.0.1:3101", true);
        assert!(!json);
        assert_eq!((e.level, e.service.as_str()), (Level::Warn, "x"));
    }
}
