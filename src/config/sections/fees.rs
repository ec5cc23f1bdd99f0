//! `[fees]`: the fee manager (`butler serve --fee-manager`, `butler fees`).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Secret, resolve_secret};

/// `[fees]`: the fee manager (`butler serve --fee-manager`, `butler fees`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesConfig {
    #[serde(default = "default_fees_listen")]
    pub listen: SocketAddr,
    /// `sqlite://fees.db` (relative to data_dir) or `postgres://...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_FEES__ADMIN_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// File holding the Postgres password (the URL itself must not carry one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_password_file: Option<PathBuf>,
    /// Only from env: `BUTLER_FEES__DATABASE_PASSWORD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_password: Option<Secret>,
}

impl Default for FeesConfig {
    fn default() -> Self {
        Self {
            listen: default_fees_listen(),
            database_url: None,
            admin_token_file: None,
            admin_token: None,
            database_password_file: None,
            database_password: None,
        }
    }
}

fn default_fees_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8081))
}

impl FeesConfig {
    /// The fee manager's admin token, if any.
    pub fn admin_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "admin_token",
            self.admin_token.as_ref(),
            self.admin_token_file.as_deref(),
        )
    }

    /// The Postgres password, if any.
    pub fn database_password(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "database_password",
            self.database_password.as_ref(),
            self.database_password_file.as_deref(),
        )
    }
}
