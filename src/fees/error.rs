//! The fee manager's error type (its HTTP form is in [`crate::fees::http`]).

use std::path::PathBuf;

/// Everything that can go wrong in the fee manager.
#[derive(Debug, thiserror::Error)]
pub enum FeesError {
    /// Bad input; the message names the field (`relays[0].fee_recipient: ...`).
    #[error("{0}")]
    Invalid(String),
    /// The named thing does not exist (`Default config 'x' not found`).
    #[error("{0}")]
    NotFound(String),
    /// The write would break a rule of the store (a name taken, a key held by another mux).
    #[error("{0}")]
    Conflict(String),
    /// The fee manager is misconfigured (database URL, secrets).
    #[error("{0}")]
    Config(String),
    #[error("cannot create the database directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot apply the fee manager's database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl From<sqlx::Error> for FeesError {
    fn from(e: sqlx::Error) -> Self {
        match e.as_database_error() {
            Some(d) if d.is_unique_violation() => FeesError::Conflict(format!(
                "the write conflicts with an existing entry (a concurrent change?): {}",
                d.message()
            )),
            _ => FeesError::Db(e),
        }
    }
}

impl FeesError {
    /// A 400 naming `field`.
    pub fn field(field: impl std::fmt::Display, message: impl std::fmt::Display) -> Self {
        FeesError::Invalid(format!("{field}: {message}"))
    }
}
