//! The indexer's one interface to its store: the NDJSON files (appends fsynced at each commit, then the
//! checkpoint file) or PostgreSQL (each batch and its checkpoint in one transaction). The indexer calls
//! only these methods, whichever store the configuration chose.

use std::path::PathBuf;
use std::sync::Arc;

use super::WatcherError;
use super::backend::StoreSettings;
use super::blocking::{blocking, lock};
use super::checkpoint::Checkpoint;
use super::fetch::RangeBatch;
use super::lock::WriterLock;
use super::pg::writer::PgWriter;
use super::record::Position;
use super::reduce::State;
use super::replay::replay;
use super::store::{Appended, StoreWriter, log_files};

/// The store the indexer writes.
pub enum Writer {
    Ndjson {
        dir: PathBuf,
        names: Vec<String>,
        /// Opened (and trimmed to the checkpoint) by [`Writer::replay`]; used on the blocking pool only.
        log: Option<Arc<std::sync::Mutex<StoreWriter>>>,
        _lock: WriterLock,
    },
    Postgres(Box<PgWriter>),
}

impl Writer {
    /// Takes the store's writer lock (the directory's `writer.lock`, or the database's advisory lock).
    pub async fn open(store: &StoreSettings, names: Vec<String>) -> Result<Writer, WatcherError> {
        match store {
            StoreSettings::Ndjson { chain_dir } => Ok(Writer::Ndjson {
                dir: chain_dir.clone(),
                _lock: WriterLock::acquire(chain_dir)?,
                names,
                log: None,
            }),
            StoreSettings::Postgres(db) => {
                Ok(Writer::Postgres(Box::new(PgWriter::open(db).await?)))
            }
        }
    }

    /// The database pool, for `/health/db` (PostgreSQL only).
    pub fn pool(&self) -> Option<sqlx::PgPool> {
        match self {
            Writer::Ndjson { .. } => None,
            Writer::Postgres(w) => Some(w.pool().clone()),
        }
    }

    /// The stored checkpoint, if any.
    pub async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, WatcherError> {
        match self {
            Writer::Ndjson { dir, .. } => {
                let dir = dir.clone();
                blocking(move || Checkpoint::load(&dir)).await
            }
            Writer::Postgres(w) => w.load_checkpoint().await,
        }
    }

    /// Refuses events without a checkpoint (someone removed it): re-indexing would mix two logs.
    pub async fn refuse_orphan_events(&self) -> Result<(), WatcherError> {
        match self {
            Writer::Ndjson { dir, names, .. } => {
                for n in names {
                    if !log_files(&dir.join(n))?.is_empty() {
                        return Err(WatcherError::Mismatch {
                            path: dir.join(n),
                            found: "event files".into(),
                            configured: "no checkpoint (indexer_state.json is missing)".into(),
                            hint: "restore indexer_state.json, or move the directory aside to re-index"
                                .into(),
                        });
                    }
                }
                Ok(())
            }
            Writer::Postgres(w) => {
                if w.has_events().await? {
                    return Err(WatcherError::Mismatch {
                        path: "chain_event".into(),
                        found: "events".into(),
                        configured: "no checkpoint (the watcher_checkpoint row is missing)".into(),
                        hint: "restore the row, or empty chain_event to re-index".into(),
                    });
                }
                Ok(())
            }
        }
    }

    /// Empties the store (events, checkpoint, derived tables), keeping the lock: `butler store copy --force`.
    pub async fn wipe(&self) -> Result<(), WatcherError> {
        match self {
            Writer::Ndjson { dir, log, .. } => {
                if log.is_some() {
                    return Err(WatcherError::Task(
                        "the event log is open: wipe it first".into(),
                    ));
                }
                let dir = dir.clone();
                blocking(move || {
                    let entries = match std::fs::read_dir(&dir) {
                        Ok(e) => e,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                        Err(e) => return Err(WatcherError::io(&dir)(e)),
                    };
                    for entry in entries {
                        let path = entry.map_err(WatcherError::io(&dir))?.path();
                        if path.is_dir() {
                            std::fs::remove_dir_all(&path).map_err(WatcherError::io(&path))?;
                        }
                    }
                    let cp = Checkpoint::path(&dir);
                    match std::fs::remove_file(&cp) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(WatcherError::io(&cp)(e));
                        }
                        _ => {}
                    }
                    crate::fs::sync_dir(&dir)?;
                    Ok(())
                })
                .await
            }
            Writer::Postgres(w) => w.wipe().await,
        }
    }

    /// Writes a fresh store's first checkpoint.
    pub async fn init(&self, cp: &Checkpoint) -> Result<(), WatcherError> {
        match self {
            Writer::Ndjson { dir, .. } => super::blocking::save(dir, cp).await,
            Writer::Postgres(w) => w.init(cp).await,
        }
    }

    /// Opens the log at `upto` (NDJSON: repairs and trims the files) and rebuilds the state from it.
    pub async fn replay(
        &mut self,
        upto: Option<u64>,
        retention_max: usize,
    ) -> Result<(State, Option<Position>), WatcherError> {
        match self {
            Writer::Ndjson {
                dir, names, log, ..
            } => {
                let (dir, names) = (dir.clone(), names.clone());
                let (store, replayed) = blocking(move || {
                    let store = StoreWriter::open(&dir, &names, upto)?;
                    let replayed = replay(&dir, names, upto, retention_max)?;
                    Ok((store, replayed))
                })
                .await?;
                *log = Some(Arc::new(std::sync::Mutex::new(store)));
                Ok((replayed.state, replayed.last))
            }
            Writer::Postgres(w) => {
                let (state, last) = w.replay(upto, retention_max).await?;
                w.rebuild_workflows(&state).await?;
                Ok((state, last))
            }
        }
    }

    /// The state rebuilt from the committed log up to `upto` (after a reorg), leaving the log as it is;
    /// appends continue after it once [`Writer::rollback`] has run.
    pub async fn state_at(
        &self,
        upto: Option<u64>,
        retention_max: usize,
    ) -> Result<(State, Option<Position>), WatcherError> {
        match self {
            Writer::Ndjson { dir, names, .. } => {
                let (dir, names) = (dir.clone(), names.clone());
                let r = blocking(move || replay(&dir, names, upto, retention_max)).await?;
                Ok((r.state, r.last))
            }
            Writer::Postgres(w) => w.replay(upto, retention_max).await,
        }
    }

    /// Appends a batch (in canonical order); durable at the next [`Writer::commit`]. The future owns what it
    /// needs, so the caller can apply the batch to its state meanwhile.
    pub fn append(
        &self,
        batch: Arc<RangeBatch>,
    ) -> impl Future<Output = Result<Appended, WatcherError>> + Send + 'static {
        let job: Result<Box<dyn FnOnce() -> Result<Appended, WatcherError> + Send>, Appended> =
            match self {
                Writer::Ndjson { log, .. } => {
                    let log = log.clone();
                    Ok(Box::new(move || match log {
                        Some(log) => lock(&log).append(&batch.records),
                        None => Err(not_open()),
                    }))
                }
                Writer::Postgres(w) => Err(w.append(batch)),
            };
        async move {
            match job {
                Ok(f) => blocking(f).await,
                Err(done) => Ok(done),
            }
        }
    }

    /// Makes everything appended durable and moves the checkpoint to `cp` (`state` is the reduced state at
    /// `cp`).
    pub async fn commit(&self, cp: &Checkpoint, state: &State) -> Result<(), WatcherError> {
        match self {
            Writer::Ndjson { dir, log, .. } => {
                let (log, dir, cp) = (log.clone().ok_or_else(not_open)?, dir.clone(), cp.clone());
                blocking(move || {
                    lock(&log).sync()?;
                    cp.save(&dir)
                })
                .await
            }
            Writer::Postgres(w) => w.commit(cp, state).await,
        }
    }

    /// Rolls the log back to `cp.last_block` and writes `cp` (NDJSON: the checkpoint first, so a crash in
    /// between is harmless; PostgreSQL: one transaction). Returns the records dropped.
    pub async fn rollback(&self, cp: &Checkpoint, state: &State) -> Result<u64, WatcherError> {
        match self {
            Writer::Ndjson { dir, log, .. } => {
                let (log, dir, cp) = (log.clone().ok_or_else(not_open)?, dir.clone(), cp.clone());
                blocking(move || {
                    cp.save(&dir)?;
                    lock(&log).truncate_after(cp.last_block)
                })
                .await
            }
            Writer::Postgres(w) => w.rollback(cp, state).await,
        }
    }

    /// After a failed database write: the checkpoint as stored (the lock taken again if the session was
    /// lost). `None` for the NDJSON store, whose failures are not retried.
    pub async fn recover(&mut self) -> Result<Option<Checkpoint>, WatcherError> {
        match self {
            Writer::Ndjson { .. } => Ok(None),
            Writer::Postgres(w) => w.recover().await,
        }
    }
}

fn not_open() -> WatcherError {
    WatcherError::Task("the event log was written before it was opened".into())
}
