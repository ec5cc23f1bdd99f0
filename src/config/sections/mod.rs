//! One file per configuration section; a new section is a new file here and one field of the root
//! [`crate::config::Config`].

pub mod api;
pub mod aztec;
pub mod bundlers;
pub mod chain;
pub mod exporter;
pub mod fees;
pub mod health;
pub mod paymaster_ops;
pub mod paymasters;
pub mod probe;
pub mod probes;
pub mod supervisor;
pub mod watcher;
