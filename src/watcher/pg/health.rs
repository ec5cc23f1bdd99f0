//! What `/health/db` reports about the watcher's database: reachable or not, the round-trip latency, the
//! schema version (the watcher's newest applied migration) and the last checkpoint. A probe never waits
//! longer than [`PROBE_TIMEOUT`]. The same probe, every poll interval, sets `butler_store_db_up` and
//! `butler_store_db_latency_seconds` on the watcher's `/metrics`.

use std::time::{Duration, Instant};

use prometheus::{Gauge, IntGauge, Opts};
use serde::Serialize;
use sqlx::{PgPool, Row};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use crate::exporter::catalog::{MetricDef, gauge};

/// Longest a probe waits for the database.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The database as one probe saw it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DbProbe {
    pub connected: bool,
    /// Round trip of `SELECT 1`, in milliseconds.
    pub latency_ms: Option<f64>,
    /// The watcher's newest applied migration (1000 and up).
    pub schema_version: Option<i64>,
    pub last_checkpoint: Option<CheckpointRow>,
    pub error: Option<String>,
}

/// The `watcher_checkpoint` row.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointRow {
    pub last_block: Option<u64>,
    pub events: u64,
    pub state_hash: String,
    /// Seconds since the row was last written.
    pub age_secs: f64,
}

/// Probes the database.
pub async fn probe(pool: &PgPool) -> DbProbe {
    match tokio::time::timeout(PROBE_TIMEOUT, run(pool)).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => down(e.to_string()),
        Err(_) => down(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}

fn down(error: String) -> DbProbe {
    DbProbe {
        connected: false,
        latency_ms: None,
        schema_version: None,
        last_checkpoint: None,
        error: Some(error),
    }
}

async fn run(pool: &PgPool) -> Result<DbProbe, sqlx::Error> {
    let mut c = pool.acquire().await?;
    let started = Instant::now();
    sqlx::query("SELECT 1").execute(&mut *c).await?;
    let latency = started.elapsed().as_secs_f64() * 1000.0;
    let version: Option<i64> = sqlx::query(
        "SELECT max(version) FROM _sqlx_migrations WHERE version >= $1 AND version < $1 + 1000 AND success",
    )
    .bind(super::FIRST_VERSION)
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    let row = sqlx::query(
        "SELECT last_block, events, state_hash, EXTRACT(EPOCH FROM now() - updated_at)::float8 \
         FROM watcher_checkpoint WHERE id = 1",
    )
    .fetch_optional(&mut *c)
    .await?;
    let last_checkpoint = match row {
        Some(r) => Some(CheckpointRow {
            last_block: r.try_get::<Option<i64>, _>(0)?.map(|b| b as u64),
            events: r.try_get::<i64, _>(1)? as u64,
            state_hash: r.try_get(2)?,
            age_secs: r.try_get::<f64, _>(3)?.max(0.0),
        }),
        None => None,
    };
    Ok(DbProbe {
        connected: true,
        latency_ms: Some(latency),
        schema_version: version,
        last_checkpoint,
        error: None,
    })
}

pub const DB_UP: MetricDef = gauge(
    "butler_store_db_up",
    &[],
    "1 when the watcher's PostgreSQL database answered the last probe (every poll interval), else 0.",
);
pub const DB_LATENCY: MetricDef = gauge(
    "butler_store_db_latency_seconds",
    &[],
    "Round trip of the last answered probe of the watcher's PostgreSQL database (SELECT 1), in seconds.",
);

/// The database's metric families, in documentation order.
pub const ALL: [MetricDef; 2] = [DB_UP, DB_LATENCY];

/// The database's series on the watcher's `/metrics`, set by [`DbMetrics::run`].
#[derive(Clone)]
pub struct DbMetrics {
    up: IntGauge,
    latency: Gauge,
}

impl DbMetrics {
    pub fn new() -> Result<DbMetrics, prometheus::Error> {
        Ok(DbMetrics {
            up: IntGauge::with_opts(Opts::new(DB_UP.name, DB_UP.help))?,
            latency: Gauge::with_opts(Opts::new(DB_LATENCY.name, DB_LATENCY.help))?,
        })
    }

    /// The collectors to register on the API's registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![Box::new(self.up.clone()), Box::new(self.latency.clone())]
    }

    /// Probes the database every `every` until cancelled.
    pub async fn run(self, pool: PgPool, every: Duration, cancel: CancellationToken) {
        loop {
            let p = probe(&pool).await;
            self.up.set(i64::from(p.connected));
            if let Some(ms) = p.latency_ms {
                self.latency.set(ms / 1000.0);
            }
            if !crate::backoff::sleep(every, &cancel).await {
                return;
            }
        }
    }
}
