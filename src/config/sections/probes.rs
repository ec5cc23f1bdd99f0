//! `[[exporter.probes]]`: generic JSON-RPC probes of chain-adjacent services (a Celestia node's head, a
//! sequencer's status), exported as `butler_probe_value{probe}` and `butler_probe_up{probe}` and checked by
//! `butler health`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{ConfigError, Secret, resolve_secret};

/// One `[[exporter.probes]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcProbeConfig {
    /// The `probe` label.
    pub name: String,
    /// The JSON-RPC endpoint (or `url_file` when the URL holds a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// A file holding the endpoint's URL (never printed, never logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// The JSON-RPC method.
    pub method: String,
    /// The method's params (default `[]`).
    #[serde(default = "empty_params")]
    pub params: serde_json::Value,
    /// Where the value is in the result: keys and array indices joined by dots (`header.height`,
    /// `0.number`); without it the result itself is the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Sent as `Authorization: Bearer <token>` (a Celestia node's auth token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<PathBuf>,
    /// Only from env: `BUTLER_EXPORTER__PROBES__<i>__BEARER_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
}

fn empty_params() -> serde_json::Value {
    serde_json::Value::Array(Vec::new())
}

impl RpcProbeConfig {
    /// The endpoint: `url`, else the content of `url_file`; exactly one must be set.
    pub fn endpoint(&self) -> Result<Url, ConfigError> {
        let what = format!("[[exporter.probes]] `{}`", self.name);
        match (&self.url, &self.url_file) {
            (Some(u), None) => Ok(u.clone()),
            (None, Some(_)) => {
                let secret = resolve_secret("url", None, self.url_file.as_deref())?
                    .ok_or_else(|| ConfigError::Invalid(format!("{what}: url_file is empty")))?;
                Url::parse(secret.expose()).map_err(|e| {
                    ConfigError::Invalid(format!("{what}: url_file does not hold a URL ({e})"))
                })
            }
            (Some(_), Some(_)) => Err(ConfigError::Invalid(format!(
                "{what}: set url or url_file, not both"
            ))),
            (None, None) => Err(ConfigError::Invalid(format!(
                "{what}: set url (or url_file when the URL holds a key)"
            ))),
        }
    }

    /// The bearer token, if any.
    pub fn bearer_token(&self) -> Result<Option<Secret>, ConfigError> {
        resolve_secret(
            "bearer_token",
            self.bearer_token.as_ref(),
            self.bearer_token_file.as_deref(),
        )
    }

    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let what = format!("[[exporter.probes]] `{}`", self.name);
        if self.name.is_empty() {
            return Err(ConfigError::Invalid(
                "[[exporter.probes]] name must not be empty".to_string(),
            ));
        }
        if self.method.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{what}: method must not be empty"
            )));
        }
        if !(self.params.is_array() || self.params.is_object()) {
            return Err(ConfigError::Invalid(format!(
                "{what}: params must be an array or a table"
            )));
        }
        if self
            .url
            .as_ref()
            .is_some_and(|u| !u.username().is_empty() || u.password().is_some())
        {
            return Err(ConfigError::Invalid(format!(
                "{what}: url holds credentials; put the URL in a file and set url_file instead"
            )));
        }
        if self.url.is_some() == self.url_file.is_some() {
            return Err(ConfigError::Invalid(format!(
                "{what}: set exactly one of url and url_file"
            )));
        }
        if self
            .path
            .as_deref()
            .is_some_and(|p| p.split('.').any(str::is_empty))
        {
            return Err(ConfigError::Invalid(format!(
                "{what}: path has an empty segment (write keys and indices joined by dots)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn check(probe: &str) -> String {
        let text =
            format!("[exporter]\n[[exporter.probes]]\nname = \"p\"\nmethod = \"m\"\n{probe}\n");
        let config = toml::from_str::<Config>(&text).unwrap();
        config
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn probe_rules() {
        assert_eq!(check("url = \"http://127.0.0.1:1\""), "");
        assert!(check("").contains("exactly one of url and url_file"));
        assert!(check("url = \"http://u:secret@h:1\"").contains("url_file"));
        assert!(check("url = \"http://h:1\"\nparams = 3").contains("params"));
        assert!(check("url = \"http://h:1\"\npath = \"a..b\"").contains("empty segment"));
    }
}
