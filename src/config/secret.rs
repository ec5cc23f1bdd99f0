//! Secrets: values that come only from the environment or from a `*_file` path, never printed.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ConfigError;

/// A secret string. `Debug`, `Display` and `Serialize` print `<redacted>`; use [`Secret::expose`] to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Secret(s.trim().to_string()))
    }
}

/// Resolves a secret from its env-provided value or its `*_file` path (the env value wins).
/// The file's content is trimmed of surrounding whitespace; an empty secret is an error.
pub fn resolve_secret(
    what: &str,
    value: Option<&Secret>,
    file: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(v) = value {
        if v.expose().is_empty() {
            return Err(ConfigError::Invalid(format!(
                "secret `{what}` is set but empty"
            )));
        }
        return Ok(Some(v.clone()));
    }
    let Some(path) = file else { return Ok(None) };
    let raw = std::fs::read_to_string(path).map_err(|e| ConfigError::SecretFile {
        what: what.to_string(),
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::SecretFile {
            what: what.to_string(),
            path: path.to_path_buf(),
            message: "the file is empty".to_string(),
        });
    }
    Ok(Some(Secret(trimmed.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_everywhere() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<redacted>\"");
    }

    #[test]
    fn file_secret_is_trimmed_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "  abc123\n\n").unwrap();
        let got = resolve_secret("admin_token", None, Some(&p))
            .unwrap()
            .unwrap();
        assert_eq!(got.expose(), "abc123");
        let env = Secret::new("fromenv");
        let got = resolve_secret("admin_token", Some(&env), Some(&p))
            .unwrap()
            .unwrap();
        assert_eq!(got.expose(), "fromenv");
    }

    #[test]
    fn empty_or_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty");
        std::fs::write(&p, " \n").unwrap();
        let err = resolve_secret("admin_token", None, Some(&p))
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty") && err.contains("empty"), "{err}");
        let err = resolve_secret("admin_token", None, Some(&dir.path().join("nope")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }
}
