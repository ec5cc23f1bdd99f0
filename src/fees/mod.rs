//! The fee manager: validator fee configuration served to Vouch (execution config v2) and Commit-Boost (mux
//! key sets), administered over an HTTP API with a bearer token and from `butler fees`.
//!
//! - [`model`]: entities, raw inputs and filters; [`validate`]: field checks (EIP-55, BLS, regex, numbers).
//! - [`store`]: sqlx store (SQLite by default, PostgreSQL by URL), embedded migrations.
//! - [`vouch`]: the execution-config entries and request body; [`snapshot`]: the in-memory configuration the
//!   public routes answer from, reloaded when the database's configuration version changes.
//! - [`transfer`]: whole-configuration export and import; [`check`]: the stored configuration linted
//!   against the clients' rules.
//! - [`goregex`]: proposer patterns checked by Go's `regexp/syntax` rules (what Vouch compiles them with).
//! - [`explain`]: what one validator gets, resolved from butler's answer the way Vouch resolves it.
//! - [`http`]: the public and admin routes, and the `serve --fee-manager` mode.

pub mod check;
pub mod explain;
pub mod goregex;
pub mod http;
pub mod model;
pub mod snapshot;
pub mod store;
pub mod transfer;
pub mod validate;
pub mod vouch;

mod error;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use error::{Conflict, FeesError, Kind};
pub use store::{Database, Store};

use crate::config::{Config, ConfigError, FeesConfig, Secret};

/// The fee manager's settings, resolved from `[fees]` and the data dir.
#[derive(Debug, Clone)]
pub struct FeesSettings {
    pub listen: SocketAddr,
    pub database: Database,
    /// `None`: the admin API refuses every request.
    pub admin_token: Option<Secret>,
}

impl TryFrom<&Config> for FeesSettings {
    type Error = ConfigError;

    /// Resolves `[fees]` (all defaults when the section is absent): listen address, database and admin token.
    fn try_from(config: &Config) -> Result<FeesSettings, ConfigError> {
        let fees = config.fees.clone().unwrap_or_default();
        Ok(FeesSettings {
            listen: fees.listen,
            database: database(&fees, &config.data_dir()?)?,
            admin_token: fees.admin_token()?,
        })
    }
}

/// The database named by `[fees] database_url` (default `DATA_DIR/fees.db`).
pub fn database(fees: &FeesConfig, data_dir: &Path) -> Result<Database, ConfigError> {
    let Some(url) = fees.database_url.as_deref().map(str::trim) else {
        return Ok(Database::Sqlite {
            path: data_dir.join("fees.db"),
        });
    };
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        if rest.is_empty() || rest.contains('?') {
            return Err(ConfigError::Invalid(format!(
                "[fees] database_url `{url}`: expected sqlite://FILE (relative to data_dir) or sqlite:///ABSOLUTE/FILE"
            )));
        }
        let path = PathBuf::from(rest);
        let path = if path.is_absolute() {
            path
        } else {
            data_dir.join(path)
        };
        return Ok(Database::Sqlite { path });
    }
    if crate::pg::is_postgres_url(url) {
        return Ok(Database::Postgres(crate::pg::PgDatabase::from_url(
            "[fees]",
            url,
            fees.database_password()?,
        )?));
    }
    Err(ConfigError::Invalid(format!(
        "[fees] database_url `{url}`: expected sqlite://FILE or postgres://USER@HOST:PORT/DB"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(url: Option<&str>) -> Result<Database, ConfigError> {
        let fees = FeesConfig {
            database_url: url.map(str::to_string),
            ..FeesConfig::default()
        };
        database(&fees, Path::new("/data"))
    }

    #[test]
    fn database_urls() {
        let path = |d: Database| match d {
            Database::Sqlite { path } => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(path(db(None).unwrap()), Path::new("/data/fees.db"));
        assert_eq!(
            path(db(Some("sqlite://x/f.db")).unwrap()),
            Path::new("/data/x/f.db")
        );
        assert_eq!(
            path(db(Some("sqlite:///abs/f.db")).unwrap()),
            Path::new("/abs/f.db")
        );
        assert!(matches!(
            db(Some("postgres://u@127.0.0.1:5432/fees")).unwrap(),
            Database::Postgres(_)
        ));
        let e = db(Some("postgres://u:pw@h/db")).unwrap_err().to_string();
        assert!(e.contains("must not contain a password"), "{e}");
        assert!(db(Some("mysql://h/db")).is_err());
    }
}
