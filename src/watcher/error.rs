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

    /// Whether waiting and trying again can help (node unreachable, timeouts, a lagging node).
    pub fn is_transient(&self) -> bool {
        match self {
            WatcherError::Chain(
                ChainError::ChainIdMismatch { .. } | ChainError::UrlsDisagree { .. },
            ) => false,
            WatcherError::Chain(_) | WatcherError::Rpc { .. } => true,
            _ => false,
        }
    }
}
