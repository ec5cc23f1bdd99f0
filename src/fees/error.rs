//! The fee manager's error type (its HTTP form is in [`crate::fees::http`]).

use std::path::PathBuf;

/// The kinds of named entries, as error messages call them (the spec's wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    DefaultConfig,
    Proposer,
    Pattern,
    Mux,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::DefaultConfig => "Default config",
            Kind::Proposer => "Proposer",
            Kind::Pattern => "Proposer pattern",
            Kind::Mux => "Mux config",
        })
    }
}

/// A write that would break a rule of the store (answered 409).
#[derive(Debug, thiserror::Error)]
pub enum Conflict {
    #[error("{kind} '{name}' already exists")]
    Exists { kind: Kind, name: String },
    #[error(
        "keys[{index}]: {key} is already in mux '{other}' (Commit-Boost refuses a key in two muxes)"
    )]
    KeyInOtherMux {
        index: usize,
        key: String,
        other: String,
    },
    #[error(
        "Mux config '{name}' would have no keys: Commit-Boost refuses a mux without keys (its PBS module does not start); give at least one key, or delete the mux"
    )]
    EmptyMux { name: String },
    #[error(
        "removing these keys would leave mux '{name}' without keys: Commit-Boost refuses a mux without keys (its PBS module does not start); delete the mux instead"
    )]
    LastKey { name: String },
    #[error("the write conflicts with an existing entry (a concurrent change?): {0}")]
    Concurrent(String),
}

/// Everything that can go wrong in the fee manager.
#[derive(Debug, thiserror::Error)]
pub enum FeesError {
    /// Bad input; the message names the field (`relays[0].fee_recipient: ...`).
    #[error("{0}")]
    Invalid(String),
    /// The named entry does not exist (`Default config 'x' not found`).
    #[error("{kind} '{name}' not found")]
    NotFound { kind: Kind, name: String },
    /// The default config exists but is not served.
    #[error("Default config '{0}' is not active")]
    Inactive(String),
    /// The write would break a rule of the store (a name taken, a key held by another mux).
    #[error(transparent)]
    Conflict(#[from] Conflict),
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
            Some(d) if d.is_unique_violation() => {
                FeesError::Conflict(Conflict::Concurrent(d.message().to_string()))
            }
            _ => FeesError::Db(e),
        }
    }
}

impl FeesError {
    /// The not-found error for the entry `name` of `kind`.
    pub fn not_found(kind: Kind, name: impl Into<String>) -> Self {
        FeesError::NotFound {
            kind,
            name: name.into(),
        }
    }

    /// A 400 naming `field`.
    pub fn field(field: impl std::fmt::Display, message: impl std::fmt::Display) -> Self {
        FeesError::Invalid(format!("{field}: {message}"))
    }
}
