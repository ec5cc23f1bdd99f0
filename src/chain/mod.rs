//! Chain core: the JSON-RPC client (timeouts, retries, chain id check), contract bindings, exact ETH units
//! and number coercion. Everything that talks to a node goes through [`ChainClient`].

pub mod bindings;
pub mod bundler;
mod client;
mod error;
pub mod heads;
pub mod metrics;
pub mod num;
pub mod pool;
pub mod range_caps;
pub mod range_limit;
pub mod redact;
pub mod retry;
pub mod ser;
pub mod units;

pub use client::{ChainClient, ChainStatus, UrlStatus};
pub use error::ChainError;
