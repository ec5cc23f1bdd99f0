//! `probe userop`: an end-to-end check of a bundler (and a VerifyingPaymaster) with real v0.7/v0.8
//! UserOperations from fresh counterfactual SimpleAccounts, reporting each operation's latency to
//! inclusion. Also the traffic generator of the demo, the tests and the benchmarks.
//!
//! [`userop`] holds the pure parts (packing, hashing), [`bundler`] the bundler's JSON-RPC,
//! `prepare` builds and signs one operation, `run` sends and polls them.

pub mod bundler;
mod prepare;
mod run;
pub mod userop;

use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::signers::local::PrivateKeySigner;
use url::Url;

pub use run::{OpReport, ProbeReport, run_probe};

use crate::chain::ChainError;

/// Who pays for the probe's operations.
#[derive(Debug, Clone)]
pub enum Funding {
    /// A VerifyingPaymaster sponsors them; `signer` is its off-chain signer.
    Sponsored {
        paymaster: Address,
        signer: PrivateKeySigner,
    },
    /// `funder` pays each fresh account's EntryPoint deposit (`depositTo`) before its operation.
    SelfFunded { funder: PrivateKeySigner },
}

/// Everything `probe userop` needs besides the chain client.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    pub bundler: Url,
    pub entrypoint: Address,
    /// SimpleAccountFactory for the fresh accounts.
    pub factory: Address,
    pub funding: Funding,
    /// Operations to send.
    pub count: usize,
    /// Operations in flight at once.
    pub concurrency: usize,
    /// How long to wait for each operation's inclusion after sending it.
    pub inclusion_timeout: Duration,
    /// Pause between `eth_getUserOperationReceipt` polls.
    pub poll_interval: Duration,
    /// Ask the bundler for gas limits (`eth_estimateUserOperationGas`) instead of the fixed ones.
    pub estimate_gas: bool,
    /// Per-request timeout and read retries towards the bundler.
    pub bundler_timeout: Duration,
    pub bundler_retries: u32,
}

/// Why the probe could not run or an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Chain(#[from] ChainError),
    /// The bundler could not be reached or refused a request.
    #[error("bundler {url}: {method}: {message}")]
    Bundler {
        url: String,
        method: &'static str,
        message: String,
    },
    /// A configured address has no code on this chain.
    #[error("{what} {address} has no code on this chain")]
    NoContract {
        what: &'static str,
        address: Address,
    },
    /// The bundler does not serve this EntryPoint.
    #[error("bundler {url} does not support EntryPoint {entrypoint} (it supports: {supported})")]
    UnsupportedEntryPoint {
        url: String,
        entrypoint: Address,
        supported: String,
    },
    /// The paymaster signer key does not belong to the paymaster's `verifyingSigner`.
    #[error(
        "the paymaster signer key belongs to {signer}, but paymaster {paymaster} accepts signatures of {expected}"
    )]
    SignerMismatch {
        paymaster: Address,
        signer: Address,
        expected: Address,
    },
    /// The EntryPoint hashes operations in a way butler does not know (neither v0.7 nor v0.8).
    #[error(
        "EntryPoint {entrypoint}: getUserOpHash returned {onchain}, which is neither the v0.7 ({v07}) nor the v0.8 ({v08}) userOpHash"
    )]
    UnknownEntryPoint {
        entrypoint: Address,
        onchain: B256,
        v07: B256,
        v08: B256,
    },
    /// The locally computed userOpHash differs from the EntryPoint's or the bundler's.
    #[error("userOpHash mismatch: computed {local}, {source_name} says {other}")]
    HashMismatch {
        local: B256,
        source_name: &'static str,
        other: B256,
    },
    #[error("signing failed: {0}")]
    Sign(String),
    /// The funder's `depositTo` did not go through.
    #[error("funding the account's EntryPoint deposit failed: {0}")]
    Funding(String),
    #[error("not included within {0:?}")]
    Timeout(Duration),
    #[error("cancelled")]
    Cancelled,
}

impl ProbeError {
    /// Errors that come from the given settings (wrong address, wrong key): usage errors, not runtime failures.
    pub fn is_settings_error(&self) -> bool {
        matches!(
            self,
            Self::NoContract { .. }
                | Self::UnsupportedEntryPoint { .. }
                | Self::SignerMismatch { .. }
                | Self::UnknownEntryPoint { .. }
        )
    }
}
