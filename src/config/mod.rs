//! Configuration: the TOML schema shared by every command and serve mode, where the file is found,
//! `BUTLER_SECTION__KEY` environment overrides, secrets (env or `*_file` only) and their redaction.
//!
//! Every section is optional; a command asks for the sections it needs with the `require_*` helpers,
//! which fail with a [`ConfigError`] that says which section or key is missing.

mod amount;
mod document;
mod error;
mod load;
mod schema;
mod secret;
pub mod sections;

pub use amount::EthAmount;
pub use error::ConfigError;
pub use load::{CONFIG_ENV, EXAMPLE_CONFIG, LoadOptions, Loaded, load, locate};
pub use schema::Config;
pub use secret::{Secret, resolve_secret};
pub use sections::api::ApiConfig;
pub use sections::bundlers::BundlerConfig;
pub use sections::chain::ChainConfig;
pub use sections::exporter::ExporterConfig;
pub use sections::fees::FeesConfig;
pub use sections::health::HealthConfig;
pub use sections::paymasters::PaymasterConfig;
pub use sections::probe::ProbeConfig;
pub use sections::probes::RpcProbeConfig;
pub use sections::supervisor::{SupervisorConfig, TemplateConfig};
pub use sections::watcher::{WatcherConfig, WatcherSource};
