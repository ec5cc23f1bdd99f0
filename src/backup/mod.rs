//! `butler backup` and `butler restore`: one gzip'd tar archive (mode 0600: it holds the supervised
//! bundlers' keys) of the data dir, consistent while `serve` runs, with a manifest (`manifest.json`, the
//! last entry) naming every file with its size, mode and SHA-256.
//!
//! What it holds: the watcher's store (`chain/`: the checkpoint first, then the event log; the log is
//! always written before the checkpoint that covers it, so the copy holds at least what the copied
//! checkpoint names), the log and telemetry journals, `bundlers/` (registry and instance directories),
//! `topup/` (the top-up audit) and the fee manager's SQLite database through SQLite's online backup
//! (`VACUUM INTO`). Files are copied up to their length when copying starts, so appends in flight are
//! cut at a line that restore repairs. A reorg rollback during the copy (the checkpoint's reorg count
//! moved) makes the backup start over. Lock files are left out.
//!
//! Restore refuses a non-empty target, checks every file against the manifest, then repairs as the
//! stores' own start-up does: records past the checkpoint and torn last lines are dropped. A watcher
//! started on the restored directory resumes with the checkpoint's state hash.

mod archive;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use archive::{backup, restore};

use crate::config::{Config, ConfigError};
use crate::fees::Database;

/// The manifest's format version.
pub const FORMAT: u32 = 1;

/// The manifest's name in the archive.
pub const MANIFEST: &str = "manifest.json";

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: not a butler backup: {message}")]
    Archive { path: PathBuf, message: String },
    #[error(
        "{path} is not empty: restore into a new or empty directory (the restore never mixes with existing data)"
    )]
    NotEmpty { path: PathBuf },
    #[error("the fee manager's database {path}: {message}")]
    Sqlite { path: PathBuf, message: String },
    #[error(
        "the watcher rolled its log back (a reorg) during each of {attempts} attempts; run the backup again"
    )]
    Unsettled { attempts: u32 },
    #[error("repairing the restored store: {0}")]
    Repair(String),
    #[error("the backup was interrupted (SIGINT/SIGTERM); nothing was written")]
    Cancelled,
}

impl From<crate::fs::FsError> for BackupError {
    fn from(e: crate::fs::FsError) -> Self {
        BackupError::Io {
            path: e.path,
            message: e.source.to_string(),
        }
    }
}

impl BackupError {
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
        move |e| BackupError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}

/// One archived file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the data dir, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub mode: u32,
    pub sha256: String,
}

/// The watcher's checkpoint as archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainSummary {
    pub last_block: Option<u64>,
    pub state_hash: String,
    pub events: u64,
    pub reorgs: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    pub butler_version: String,
    /// When the backup started (RFC 3339, UTC).
    pub created: String,
    /// The data dir it was taken from.
    pub data_dir: String,
    /// The watcher's checkpoint, when the data dir has one.
    pub chain: Option<ChainSummary>,
    /// How the fee manager's database was handled: `sqlite`, `absent`, or a note for PostgreSQL.
    pub fees: String,
    pub files: Vec<FileEntry>,
}

/// What the backup reads.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    pub data_dir: PathBuf,
    /// The fee manager's database (`[fees] database_url`, default `DATA_DIR/fees.db`).
    pub fees: Database,
}

impl TryFrom<&Config> for BackupSettings {
    type Error = ConfigError;

    fn try_from(config: &Config) -> Result<Self, Self::Error> {
        let data_dir = config.data_dir()?;
        let fees = crate::fees::database(&config.fees.clone().unwrap_or_default(), &data_dir)?;
        Ok(BackupSettings { data_dir, fees })
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    pub data_dir: String,
    pub files: usize,
    pub bytes: u64,
    pub chain: Option<ChainSummary>,
    /// Event records past the checkpoint that were dropped, and torn bytes cut from log tails.
    pub dropped_records: u64,
    pub torn_bytes: u64,
}
