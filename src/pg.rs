//! PostgreSQL connections shared by the fee manager and the watcher's store: the URL check (no password in
//! it: the password comes from a `*_file` or the environment), connect options with the password applied,
//! and a pool. Each subsystem runs its own embedded migrations, in version ranges that never overlap
//! (fee manager 1–999, watcher 1000–1999), each migrator ignoring the other's versions, so both can share
//! one database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::{ConfigError, Secret};

/// A PostgreSQL server and database; the password comes from a secret, never from the URL.
#[derive(Debug, Clone)]
pub struct PgDatabase {
    pub url: String,
    pub password: Option<Secret>,
}

impl PgDatabase {
    /// Checks a `postgres://` URL from `section` (`[fees]`, `[watcher]`): valid, and without a password.
    pub fn from_url(
        section: &str,
        url: &str,
        password: Option<Secret>,
    ) -> Result<PgDatabase, ConfigError> {
        let url = url.trim();
        if !is_postgres_url(url) {
            return Err(ConfigError::Invalid(format!(
                "{section} database_url `{url}`: expected postgres://USER@HOST:PORT/DB"
            )));
        }
        let parsed = url::Url::parse(url).map_err(|e| {
            ConfigError::Invalid(format!("{section} database_url is not a valid URL: {e}"))
        })?;
        if parsed.password().is_some() {
            let env = section.trim_matches(['[', ']']).to_uppercase();
            return Err(ConfigError::Invalid(format!(
                "{section} database_url must not contain a password: set {section} database_password_file or \
                 BUTLER_{env}__DATABASE_PASSWORD"
            )));
        }
        Ok(PgDatabase {
            url: url.to_string(),
            password,
        })
    }

    /// The URL for messages (it never holds a password).
    pub fn describe(&self) -> String {
        format!("postgres {}", self.url)
    }

    /// Connect options with the password applied.
    pub fn options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        let mut opts = PgConnectOptions::from_str(&self.url)?;
        if let Some(pw) = &self.password {
            opts = opts.password(pw.expose());
        }
        Ok(opts)
    }

    /// A pool of at most `max` connections (a connection attempt waits at most 10 s).
    pub async fn pool(&self, max: u32) -> Result<sqlx::PgPool, sqlx::Error> {
        PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(self.options()?)
            .await
    }
}

/// Whether a URL names a PostgreSQL server.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Runs a migrator that shares the database's `_sqlx_migrations` table with other subsystems: the versions
/// applied by the others are not its own and are ignored.
pub async fn migrate(
    mut migrator: Migrator,
    pool: &sqlx::PgPool,
) -> Result<(), sqlx::migrate::MigrateError> {
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}
