//! Configuration errors: each names the file (and line and column where there is one), the env var or the key.

use std::path::PathBuf;

/// A configuration problem. Every variant maps to exit code 2 in the CLI.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{}", position_message(path, *line, *column, message))]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// A `BUTLER_SECTION__KEY` override could not be applied.
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    /// A secret was written into the file instead of env or a `*_file` path.
    #[error(
        "{}",
        position_message(path, *line, None, &format!("`{key}` is a secret and is not read from the config file; set `{key}_file = \"/path\"` or the env var {env}"))
    )]
    SecretInFile {
        path: PathBuf,
        line: Option<usize>,
        key: String,
        env: String,
    },
    /// A secret file could not be read or is empty.
    #[error("cannot read secret `{what}` from {path}: {message}")]
    SecretFile {
        what: String,
        path: PathBuf,
        message: String,
    },
    /// A section or key the command needs is not configured.
    #[error("{0}")]
    Missing(String),
    /// A value is present but invalid.
    #[error("{0}")]
    Invalid(String),
}

fn position_message(
    path: &std::path::Path,
    line: Option<usize>,
    column: Option<usize>,
    message: &str,
) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{}:{l}:{c}: {message}", path.display()),
        (Some(l), None) => format!("{}:{l}: {message}", path.display()),
        _ => format!("{}: {message}", path.display()),
    }
}
