//! Which store holds the event log, and reading it: the NDJSON files under `DATA_DIR/chain` (the default)
//! or PostgreSQL (`[watcher] store = "postgres"`). Every command that reads the store (`userops`,
//! `workflows`, `stats`, `replay --verify`) goes through [`StoreReader`], so both answer the same.

use std::path::PathBuf;

use sqlx::PgPool;

use super::WatcherError;
use super::checkpoint::Checkpoint;
use super::read::LogReader;
use super::record::Record;
use super::replay::{Replayed, Verification, replay};
use crate::config::sections::watcher::StoreChoice;
use crate::config::{Config, ConfigError};
use crate::pg::PgDatabase;

/// Where the event log lives.
#[derive(Debug, Clone)]
pub enum StoreSettings {
    /// `DATA_DIR/chain`.
    Ndjson {
        chain_dir: PathBuf,
    },
    Postgres(PgDatabase),
}

impl TryFrom<&Config> for StoreSettings {
    type Error = ConfigError;

    /// `[watcher] store` (NDJSON under the data dir without a `[watcher]` section).
    fn try_from(config: &Config) -> Result<StoreSettings, ConfigError> {
        let ndjson = || -> Result<StoreSettings, ConfigError> {
            Ok(StoreSettings::Ndjson {
                chain_dir: super::chain_dir(&config.data_dir()?),
            })
        };
        let Some(w) = config.watcher.as_ref() else {
            return ndjson();
        };
        match (w.store, w.database_url.as_deref()) {
            (StoreChoice::Ndjson, _) => ndjson(),
            (StoreChoice::Postgres, Some(url)) => Ok(StoreSettings::Postgres(
                PgDatabase::from_url("[watcher]", url, w.database_password()?)?,
            )),
            (StoreChoice::Postgres, None) => Err(ConfigError::Invalid(
                "[watcher] store = \"postgres\" needs [watcher] database_url".to_string(),
            )),
        }
    }
}

impl StoreSettings {
    /// For logs and messages (no password).
    pub fn describe(&self) -> String {
        match self {
            StoreSettings::Ndjson { chain_dir } => format!("ndjson {}", chain_dir.display()),
            StoreSettings::Postgres(db) => db.describe(),
        }
    }

    /// `ndjson` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreSettings::Ndjson { .. } => "ndjson",
            StoreSettings::Postgres(_) => "postgres",
        }
    }
}

/// A read-only view of a store at its checkpoint (no lock: the writer may be running).
pub enum StoreReader {
    Ndjson(LogReader),
    /// The records are read in one repeatable-read transaction with the checkpoint they belong to.
    Postgres {
        checkpoint: Checkpoint,
        records: Vec<Record>,
        /// Time taken to read them (counted in the replay's elapsed time).
        read: std::time::Duration,
    },
}

impl StoreReader {
    /// Opens the store; fails when nothing was indexed yet.
    pub async fn open(store: &StoreSettings) -> Result<StoreReader, WatcherError> {
        match store {
            StoreSettings::Ndjson { chain_dir } => {
                Ok(StoreReader::Ndjson(LogReader::open(chain_dir)?))
            }
            StoreSettings::Postgres(db) => {
                let pool = super::pg::connect(db, 2).await?;
                let started = std::time::Instant::now();
                let (checkpoint, records) =
                    snapshot(&pool)
                        .await?
                        .ok_or_else(|| WatcherError::NoStore {
                            path: db.url.clone().into(),
                        })?;
                pool.close().await;
                Ok(StoreReader::Postgres {
                    checkpoint,
                    records,
                    read: started.elapsed(),
                })
            }
        }
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        match self {
            StoreReader::Ndjson(r) => &r.checkpoint,
            StoreReader::Postgres { checkpoint, .. } => checkpoint,
        }
    }

    /// Every committed record, in canonical order.
    pub fn records(
        &self,
    ) -> Result<Box<dyn Iterator<Item = Result<Record, WatcherError>> + '_>, WatcherError> {
        match self {
            StoreReader::Ndjson(r) => Ok(Box::new(r.records()?)),
            StoreReader::Postgres { records, .. } => Ok(Box::new(records.iter().cloned().map(Ok))),
        }
    }

    /// The state rebuilt from the records alone (for PostgreSQL the time includes reading them).
    pub fn replay(&self) -> Result<Replayed, WatcherError> {
        let cp = self.checkpoint();
        match self {
            StoreReader::Ndjson(r) => replay(
                &r.chain_dir,
                cp.sources.iter().map(|s| s.name.clone()),
                cp.last_block,
                cp.retention_max,
            ),
            StoreReader::Postgres { records, read, .. } => {
                let started = std::time::Instant::now();
                let mut state = super::reduce::State::new(cp.retention_max);
                for r in records {
                    state.apply(r);
                }
                Ok(Replayed {
                    state,
                    last: records.last().map(Record::position),
                    elapsed: *read + started.elapsed(),
                })
            }
        }
    }

    /// Rebuilds the state and compares it with the checkpoint.
    pub fn verify(&self) -> Result<Verification, WatcherError> {
        Ok(Verification::of(self.checkpoint(), &self.replay()?))
    }
}

/// The checkpoint and the records up to it, read from one snapshot; `None` without a checkpoint.
pub async fn snapshot(pool: &PgPool) -> Result<Option<(Checkpoint, Vec<Record>)>, WatcherError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(WatcherError::db("begin a read"))?;
    let Some(cp) = super::pg::load_checkpoint(&mut *tx).await? else {
        return Ok(None);
    };
    let mut records = Vec::new();
    super::pg::for_each_record(&mut *tx, None, cp.last_block, |r| records.push(r)).await?;
    tx.commit().await.map_err(WatcherError::db("end a read"))?;
    Ok(Some((cp, records)))
}
