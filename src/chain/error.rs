//! Errors of the chain core.

use alloy::transports::TransportError;

/// A failure talking to a node or a contract.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached or answered with an error.
    #[error("RPC {url}: {method}: {source}")]
    Rpc {
        url: String,
        method: &'static str,
        #[source]
        source: TransportError,
    },
    /// A contract call failed (revert, missing contract, undecodable answer).
    #[error("RPC {url}: {what}: {message}")]
    Call {
        url: String,
        what: String,
        message: String,
    },
    /// The node serves another chain than the configuration says. A configuration error (exit code 2).
    #[error(
        "chain id mismatch: the config says {expected} but {url} reports {actual}; refusing to act on the wrong chain"
    )]
    ChainIdMismatch {
        url: String,
        expected: u64,
        actual: u64,
    },
    /// Two configured URLs serve different chains (no chain id configured). A configuration error (exit code 2).
    #[error(
        "RPC URL {url} reports chain id {actual} but the other URLs report {reference}; every URL must serve the same chain"
    )]
    UrlsDisagree {
        url: String,
        reference: u64,
        actual: u64,
    },
    /// The node's answer is not what the protocol promises.
    #[error("RPC {url}: {message}")]
    Invalid { url: String, message: String },
}
