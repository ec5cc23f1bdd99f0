//! Aztec staking helpers: the node's L1 view, BN254 attester keys and their keystore, StakingRegistry provider
//! management, rollup deposits and the entry queue, attester states, publisher funding and coinbases. No clap
//! here: the CLI builds [`settings::AztecSettings`] from the config.

pub mod actions;
pub mod bindings;
pub mod bn254;
pub mod coinbases;
mod error;
pub mod handlers;
pub mod keystore;
pub mod node;
pub mod registry;
pub mod rollup;
pub mod settings;
pub mod status;
pub mod tx;

pub use error::AztecError;
