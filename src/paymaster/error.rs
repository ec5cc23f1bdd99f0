//! Errors of the paymaster operations (top-up, admin writes, audit, locks).

use std::path::PathBuf;

use crate::chain::ChainError;
use crate::fs::FsError;

/// A failure of a paymaster operation.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A file could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A line of the audit file is not an audit record.
    #[error("{path}:{line}: not an audit record: {message}")]
    Audit {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A transaction could not be signed.
    #[error("cannot sign the transaction: {0}")]
    Sign(String),
    /// The request cannot be carried out as given (a configuration or usage problem: exit code 2).
    #[error("{0}")]
    Refused(String),
}
