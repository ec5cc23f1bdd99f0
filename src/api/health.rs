//! Health for load balancers and banners: `/health`, `/health/db`, `/api/public/health` and
//! `/api/public/status`. Every one answers 200 while the process serves; the `status` field (`ok`,
//! `degraded`, `down`) is what to read. Checks come from the monitor's snapshot, never from a live RPC call.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::monitor::Snapshot;
use super::state::ApiState;

/// `ok`, `degraded` or `down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Degraded,
    Down,
}

/// One check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    /// `rpc`, `paymaster:<name>`, `bundlers`, `logs`, `telemetry`.
    pub name: String,
    pub status: Status,
    pub detail: String,
}

/// `GET /health` and `GET /api/public/health`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthResponse {
    pub status: Status,
    pub version: String,
    pub uptime_secs: u64,
    pub checks: Vec<Check>,
    /// The indexer's last committed block (null without a watcher or before the first commit).
    pub indexed_block: Option<u64>,
    /// The block the current indexing pass runs to.
    pub target_block: Option<u64>,
    pub caught_up: Option<bool>,
    /// Records in the event log.
    pub events: Option<u64>,
    pub reorgs: Option<u64>,
}

/// A degraded-mode banner for the user app.
#[derive(Debug, Serialize, ToSchema)]
pub struct Banner {
    /// `rpc_down`, `indexer_lagging`, `paymaster_deposit_low`, `paymaster_unreachable`, `no_bundler_up`
    /// or `store_not_writable`.
    pub code: String,
    /// `warning` or `critical`.
    pub severity: String,
    pub message: String,
}

/// `GET /api/public/status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    pub status: Status,
    pub banners: Vec<Banner>,
}

/// A store directory's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreHealth {
    pub dir: String,
    pub writable: bool,
    pub error: Option<String>,
}

/// `GET /health/db`: the stores butler writes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DbHealthResponse {
    pub status: Status,
    /// `connected` when every store is writable (and the watcher's database answers), `disconnected` when
    /// the watcher's database does not answer, else `error`.
    pub db: String,
    /// The watcher's event store: `ndjson` or `postgres` (null without a watcher).
    pub store: Option<String>,
    /// Round trip to the watcher's database in milliseconds (PostgreSQL store only).
    pub latency_ms: Option<f64>,
    /// The watcher's newest applied migration (PostgreSQL store only).
    pub schema_version: Option<i64>,
    /// The checkpoint row as stored (PostgreSQL store only).
    pub last_checkpoint: Option<crate::watcher::pg::health::CheckpointRow>,
    /// Why the watcher's database is not answering.
    pub error: Option<String>,
    pub logs: StoreHealth,
    pub telemetry: StoreHealth,
    /// Events in memory, newest id.
    pub retained_logs: usize,
    pub newest_log_id: Option<u64>,
    /// The watcher's checkpoint (`DATA_DIR/chain/indexer_state.json`); null without a watcher.
    pub checkpoint: Option<CheckpointHealth>,
}

/// The watcher's checkpoint file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointHealth {
    pub path: String,
    /// Seconds since it was last written; null when it cannot be read.
    pub age_secs: Option<u64>,
    pub last_block: Option<u64>,
}

/// Blocks beyond the confirmation depth the indexer may trail the head before it counts as lagging.
pub const LAG_BLOCKS: u64 = 10;

/// The checks from the snapshot, plus the stores.
pub fn checks(state: &ApiState, snap: &Snapshot) -> Vec<(Check, Option<Banner>)> {
    let mut out = Vec::new();
    let banner = |code: &str, severity: &str, message: String| Banner {
        code: code.to_string(),
        severity: severity.to_string(),
        message,
    };
    if !snap.ready {
        // the first probe round takes at most the probe timeout; until then nothing is known to be wrong
        out.push((
            Check {
                name: "monitor".into(),
                status: Status::Ok,
                detail: "first health probes still running".into(),
            },
            None,
        ));
    }
    if let Some(c) = &snap.chain {
        let (status, detail, b) = if c.up {
            (
                Status::Ok,
                format!("head block {}", c.head_block.unwrap_or(0)),
                None,
            )
        } else {
            let e = c.error.clone().unwrap_or_default();
            (
                Status::Down,
                e.clone(),
                Some(banner(
                    "rpc_down",
                    "critical",
                    format!("the chain RPC is not answering: {e}"),
                )),
            )
        };
        out.push((
            Check {
                name: "rpc".into(),
                status,
                detail,
            },
            b,
        ));
    }
    if let Some(w) = state.watcher() {
        let p = w.progress.borrow().clone();
        let head = snap.chain.as_ref().and_then(|c| c.head_block);
        let lag = match (head, p.indexed_block) {
            (Some(h), Some(i)) => h.saturating_sub(i),
            (Some(h), None) => h,
            _ => 0,
        };
        let detail = format!(
            "indexed block {} of head {}",
            p.indexed_block.map_or("-".to_string(), |b| b.to_string()),
            head.map_or("-".to_string(), |b| b.to_string())
        );
        let (status, b) = if lag > w.confirmations + LAG_BLOCKS {
            (
                Status::Degraded,
                Some(banner(
                    "indexer_lagging",
                    "warning",
                    format!(
                        "the indexer is {lag} blocks behind the chain; recent operations may be missing"
                    ),
                )),
            )
        } else {
            (Status::Ok, None)
        };
        out.push((
            Check {
                name: "indexer".into(),
                status,
                detail,
            },
            b,
        ));
    }
    for p in &snap.paymasters {
        let name = format!("paymaster:{}", p.target.name);
        let (status, detail, b) = match &p.status {
            Err(e) => (
                Status::Degraded,
                e.clone(),
                Some(banner(
                    "paymaster_unreachable",
                    "warning",
                    format!("paymaster {}: {e}", p.target.name),
                )),
            ),
            Ok(s) if p.deposit_low() => (
                Status::Degraded,
                format!("deposit {} wei below the minimum", s.deposit_wei),
                Some(banner(
                    "paymaster_deposit_low",
                    "warning",
                    format!(
                        "paymaster {} deposit is low; sponsored operations may fail",
                        p.target.name
                    ),
                )),
            ),
            Ok(s) => (Status::Ok, format!("deposit {} wei", s.deposit_wei), None),
        };
        out.push((
            Check {
                name,
                status,
                detail,
            },
            b,
        ));
    }
    let (supervised_up, supervised) = super::bundlers::running_counts(state);
    let total = snap.bundlers.len() + supervised;
    if total > 0 {
        let up = snap.bundlers.iter().filter(|b| b.status == "UP").count() + supervised_up;
        let (status, b) = if up == 0 {
            (
                Status::Degraded,
                Some(banner(
                    "no_bundler_up",
                    "critical",
                    "no bundler is answering".into(),
                )),
            )
        } else {
            (Status::Ok, None)
        };
        out.push((
            Check {
                name: "bundlers".into(),
                status,
                detail: format!("{up} of {total} up"),
            },
            b,
        ));
    }
    // public answers: whether the store takes writes, never where it is (that is for admins)
    for name in ["logs", "telemetry"] {
        let (status, detail, b) = match write_probe(&state.settings().data_dir.join(name)) {
            Ok(()) => (Status::Ok, "writable".to_string(), None),
            Err(e) => (
                Status::Degraded,
                format!("not writable: {e}"),
                Some(banner(
                    "store_not_writable",
                    "critical",
                    format!("the {name} store is not writable"),
                )),
            ),
        };
        out.push((
            Check {
                name: name.into(),
                status,
                detail,
            },
            b,
        ));
    }
    out
}

/// Whether a store directory takes writes (a probe file is created and removed).
pub fn store_health(dir: &Path) -> StoreHealth {
    let result = write_probe(dir);
    StoreHealth {
        dir: dir.display().to_string(),
        writable: result.is_ok(),
        error: result
            .err()
            .map(|e| format!("{}: {e}", dir.join(WRITE_PROBE).display())),
    }
}

/// The probe file [`write_probe`] creates and removes.
const WRITE_PROBE: &str = ".write-probe";

/// Creates and removes a probe file in `dir`; the error (which names no path) when that fails.
fn write_probe(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(WRITE_PROBE);
    std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe))
}

fn health_response(state: &ApiState) -> HealthResponse {
    let snap = state.snapshot();
    let checks: Vec<Check> = checks(state, &snap).into_iter().map(|(c, _)| c).collect();
    let p = state.watcher().map(|w| w.progress.borrow().clone());
    HealthResponse {
        status: checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok),
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: state.uptime().as_secs(),
        checks,
        indexed_block: p.as_ref().and_then(|p| p.indexed_block),
        target_block: p.as_ref().map(|p| p.pass_target),
        caught_up: p.as_ref().map(|p| p.caught_up),
        events: p.as_ref().map(|p| p.events),
        reorgs: p.as_ref().map(|p| p.reorgs),
    }
}

/// Liveness with the overall status (the workflow observer's `/health`).
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "Serving; read `status`", body = HealthResponse)))]
pub async fn health(State(state): State<ApiState>) -> Json<HealthResponse> {
    Json(health_response(&state))
}

/// Overall system health for the user app's banners.
#[utoipa::path(get, path = "/api/public/health", tag = "public",
    responses((status = 200, description = "Serving; read `status`", body = HealthResponse)))]
pub async fn public_health(State(state): State<ApiState>) -> Json<HealthResponse> {
    Json(health_response(&state))
}

/// Degraded-mode banners derived from health: RPC down, indexer lagging, paymaster deposit low, no bundler up.
#[utoipa::path(get, path = "/api/public/status", tag = "public",
    responses((status = 200, description = "Banners to show (empty when all is well)", body = StatusResponse)))]
pub async fn public_status(State(state): State<ApiState>) -> Json<StatusResponse> {
    let snap = state.snapshot();
    let all = checks(&state, &snap);
    Json(StatusResponse {
        status: all
            .iter()
            .map(|(c, _)| c.status)
            .max()
            .unwrap_or(Status::Ok),
        banners: all.into_iter().filter_map(|(_, b)| b).collect(),
    })
}

/// The stores' health: writable directories, the watcher's checkpoint, and with the PostgreSQL store the
/// database itself (connected, latency, schema version, last checkpoint). Needs the admin token.
#[utoipa::path(get, path = "/health/db", tag = "health",
    responses((status = 200, description = "Serving; read `status`", body = DbHealthResponse)),
    security(("bearer" = [])))]
pub async fn health_db(State(state): State<ApiState>) -> Json<DbHealthResponse> {
    let logs = store_health(&state.settings().data_dir.join("logs"));
    let telemetry = store_health(&state.settings().data_dir.join("telemetry"));
    let probe = match state.watcher().and_then(|w| w.db.clone()) {
        Some(pool) => Some(crate::watcher::pg::health::probe(&pool).await),
        None => None,
    };
    let checkpoint = state.watcher().filter(|w| w.db.is_none()).map(|w| {
        let chain_dir = crate::watcher::chain_dir(&state.settings().data_dir);
        let path = crate::watcher::checkpoint::Checkpoint::path(&chain_dir);
        let age_secs = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map(|d| d.as_secs());
        CheckpointHealth {
            path: path.display().to_string(),
            age_secs,
            last_block: w.progress.borrow().indexed_block,
        }
    });
    let files_ok = logs.writable && telemetry.writable;
    let db_ok = probe.as_ref().is_none_or(|p| p.connected);
    let stats = state.logs().stats();
    Json(DbHealthResponse {
        status: if files_ok && db_ok {
            Status::Ok
        } else {
            Status::Down
        },
        db: match (db_ok, files_ok) {
            (false, _) => "disconnected",
            (true, false) => "error",
            (true, true) => "connected",
        }
        .to_string(),
        store: state
            .watcher()
            .map(|w| if w.db.is_some() { "postgres" } else { "ndjson" }.to_string()),
        latency_ms: probe.as_ref().and_then(|p| p.latency_ms),
        schema_version: probe.as_ref().and_then(|p| p.schema_version),
        last_checkpoint: probe.as_ref().and_then(|p| p.last_checkpoint.clone()),
        error: probe.and_then(|p| p.error),
        logs,
        telemetry,
        retained_logs: stats.retained,
        newest_log_id: stats.newest_id,
        checkpoint,
    })
}
