//! The watcher's errors: store and checkpoint I/O (each naming its path), RPC failures, the writer lock,
//! and a store that does not match the configuration.

use std::path::PathBuf;

use crate::chain::ChainError;

/// A watcher failure.
#[derive(Debug, thiserror::Error)]
pub enum WatcherError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a valid event record: {message}")]
    Record {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: not a valid checkpoint: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error(
        "another writer holds {path}: {holder}; only one `butler index` or `butler serve --watcher` may write a data dir"
    )]
    Locked { path: PathBuf, holder: String },
    #[error("{path} was written for {found}, but the configuration says {configured}; {hint}")]
    Mismatch {
        path: PathBuf,
        found: String,
        configured: String,
        hint: String,
    },
    #[error("no event store in {path}: run `butler index` (or `butler serve --watcher`) first")]
    NoStore { path: PathBuf },
    #[error("{0}")]
    Chain(#[from] ChainError),
    #[error("background task failed: {0}")]
    Task(String),
    #[error("watcher database: {what}: {source}")]
    Db {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("watcher database {url}: migrations failed: {message}")]
    Migrate { url: String, message: String },
    #[error(
        "another indexer holds the watcher store {url}: {holder}; only one indexer may write a database \
         (run more API processes with `butler serve --watcher --read-only`)"
    )]
    DbLocked { url: String, holder: String },
    #[error(
        "the copy target {to} is not empty: it holds {found}; choose an empty target, or pass --force to empty it first"
    )]
    CopyTarget { to: String, found: String },
    #[error("{method} on {url}: {message}")]
    Rpc {
        url: String,
        method: &'static str,
        message: String,
    },
}

impl From<crate::fs::FsError> for WatcherError {
    fn from(e: crate::fs::FsError) -> Self {
        WatcherError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

impl WatcherError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> WatcherError {
        let path = path.into();
        move |source| WatcherError::Io { path, source }
    }

    /// Wraps a database error with what was being done.
    pub fn db(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> WatcherError {
        let what = what.into();
        move |source| WatcherError::Db { what, source }
    }

    /// Whether waiting and trying again can help (node unreachable, timeouts, a lagging node, the
    /// database unreachable or restarting).
    pub fn is_transient(&self) -> bool {
        match self {
            WatcherError::Chain(
                ChainError::ChainIdMismatch { .. } | ChainError::UrlsDisagree { .. },
            ) => false,
            WatcherError::Chain(_) | WatcherError::Rpc { .. } => true,
            WatcherError::Db { source, .. } => db_transient(source),
            _ => false,
        }
    }

    /// Whether this is a database failure the writer recovers from by reloading its checkpoint.
    pub fn is_db(&self) -> bool {
        matches!(self, WatcherError::Db { .. })
    }
}

/// Connection failures, pool timeouts and server shutdowns (SQLSTATE classes 08, 57P, 53) pass; other
/// database errors (a bad row, a constraint) do not.
fn db_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c.starts_with("53")),
        _ => false,
    }
}
