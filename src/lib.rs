//! butler: one binary for the people who run ERC-4337 infrastructure (paymasters, bundlers), validator fee
//! configuration (Vouch, Commit-Boost) and Aztec staking.
//!
//! The library holds every subsystem; `src/main.rs` only parses arguments and calls [`cli::run`].
//! Core modules never see clap: the CLI maps its arguments into plain settings.

pub mod api;
pub mod aztec;
pub mod backoff;
pub mod backup;
pub mod bundlers;
pub mod chain;
pub mod cli;
pub mod config;
pub mod console;
pub mod exporter;
pub mod fees;
pub mod fs;
pub mod health;
pub mod http;
pub mod logs;
pub mod output;
pub mod paymaster;
pub mod pg;
pub mod probe;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
pub mod watcher;
