//! Configuration: the TOML schema shared by every command and serve mode, where the file is found,
//! `BUTLER_SECTION__KEY` environment overrides, secrets (env or `*_file` only) and their redaction.
//!
//! Every section is optional; a command asks for the sections it needs with the `require_*` helpers,
//! which fail with a [`ConfigError`] that says which section or key is missing.

mod error;
mod load;
mod schema;
mod secret;
pub mod sections;

pub use error::ConfigError;
pub use load::{CONFIG_ENV, EXAMPLE_CONFIG, LoadOptions, Loaded, load, locate};
pub use schema::*;
pub use secret::{Secret, resolve_secret};
pub use sections::supervisor::{SupervisorConfig, TemplateConfig};
