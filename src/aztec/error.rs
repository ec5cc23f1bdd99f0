//! Errors of the Aztec staking helpers.

use std::path::PathBuf;

use crate::chain::ChainError;

/// A failure of an Aztec command or collector.
#[derive(Debug, thiserror::Error)]
pub enum AztecError {
    /// Talking to L1 failed (or its chain id is not the node's).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The L1 endpoint serves another chain than the Aztec node's `l1ChainId`. A configuration error (exit 2).
    #[error(
        "chain id mismatch: the Aztec node {node_url} is on L1 chain {node_chain_id} but {rpc_url} reports {actual}; refusing to act on the wrong chain"
    )]
    L1ChainMismatch {
        node_url: String,
        node_chain_id: u64,
        rpc_url: String,
        actual: u64,
    },
    /// The Aztec node could not be reached or its answer was not usable.
    #[error("Aztec node {url}: {message}")]
    Node { url: String, message: String },
    /// The keystore could not be read or written.
    #[error("keystore {path}: {message}")]
    Keystore { path: PathBuf, message: String },
    /// A key is malformed or its proof of possession does not verify.
    #[error("{0}")]
    Key(String),
    /// The operation was refused before anything was sent (duplicate key, bad input, missing setting).
    #[error("{0}")]
    Refused(String),
    /// A file other than the keystore could not be read or written.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

impl From<crate::fs::FsError> for AztecError {
    fn from(e: crate::fs::FsError) -> Self {
        Self::file(&e.path, e.source)
    }
}

impl AztecError {
    /// A keystore error for `path`.
    pub fn keystore(path: &std::path::Path, message: impl ToString) -> Self {
        Self::Keystore {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// A file error for `path`.
    pub fn file(path: &std::path::Path, message: impl ToString) -> Self {
        Self::File {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}
