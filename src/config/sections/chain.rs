//! `[chain]`: the JSON-RPC endpoints every chain command uses (one or several, tried healthiest first).

use std::path::PathBuf;

use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use crate::chain::redact::redact_url;
use crate::config::ConfigError;

/// `[chain]`: the JSON-RPC endpoints every chain command uses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// One endpoint (a list of one); exclusive with `rpc_urls`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "redacted_one"
    )]
    pub rpc_url: Option<Url>,
    /// Several endpoints, all on the same chain; requests go to the healthiest and fail over to the next.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "redacted_all"
    )]
    pub rpc_urls: Vec<Url>,
    /// A file of endpoints, one URL a line (for URLs that carry credentials); readable by its owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_urls_file: Option<PathBuf>,
    /// Checked against `eth_chainId` of every endpoint when set; a mismatch is a hard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// Per-request timeout in seconds.
    #[serde(default = "default_rpc_timeout")]
    pub timeout_secs: f64,
    /// Retries on transport errors, HTTP 429 and 5xx (never on reverts).
    #[serde(default = "default_rpc_retries")]
    pub max_retries: u32,
    /// The URLs read from `rpc_urls_file` when the configuration is loaded (never shown).
    #[serde(skip)]
    pub file_urls: Vec<Url>,
    /// WebSocket endpoint (`ws://` or `wss://`) whose `eth_subscribe("newHeads")` wakes the watcher's indexer
    /// on each new block; polling stays as the fallback. May carry a key: shown only redacted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "redacted_one"
    )]
    pub ws_url: Option<Url>,
}

/// Default `[chain] timeout_secs`.
pub const DEFAULT_RPC_TIMEOUT_SECS: f64 = 10.0;
/// Default `[chain] max_retries`.
pub const DEFAULT_RPC_RETRIES: u32 = 3;

fn default_rpc_timeout() -> f64 {
    DEFAULT_RPC_TIMEOUT_SECS
}
fn default_rpc_retries() -> u32 {
    DEFAULT_RPC_RETRIES
}

fn redacted_one<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_str(&redact_url(u)),
        None => s.serialize_none(),
    }
}

fn redacted_all<S: Serializer>(urls: &[Url], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(urls.iter().map(redact_url))
}

impl ChainConfig {
    /// Endpoints with the default timeout and retries.
    pub fn new(rpc_urls: Vec<Url>, chain_id: Option<u64>) -> ChainConfig {
        ChainConfig {
            rpc_urls,
            chain_id,
            timeout_secs: DEFAULT_RPC_TIMEOUT_SECS,
            max_retries: DEFAULT_RPC_RETRIES,
            ..ChainConfig::default()
        }
    }

    /// Every endpoint, in configured order: `rpc_url`, `rpc_urls` or the lines of `rpc_urls_file`.
    pub fn urls(&self) -> Vec<Url> {
        match &self.rpc_url {
            Some(u) => vec![u.clone()],
            None if !self.rpc_urls.is_empty() => self.rpc_urls.clone(),
            None => self.file_urls.clone(),
        }
    }

    /// The first endpoint (what a single-URL consumer such as a bundler template gets).
    pub fn primary_url(&self) -> Option<Url> {
        self.urls().into_iter().next()
    }

    /// Rules serde cannot express: exactly one way of naming the endpoints, a positive timeout.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.timeout_secs > 0.0 && self.timeout_secs.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "[chain] timeout_secs must be a positive number of seconds, got {}",
                self.timeout_secs
            )));
        }
        if let Some(ws) = &self.ws_url
            && !matches!(ws.scheme(), "ws" | "wss")
        {
            return Err(ConfigError::Invalid(format!(
                "[chain] ws_url must be a ws:// or wss:// URL, got {}",
                crate::chain::redact::redact_url(ws)
            )));
        }
        let given: Vec<&str> = [
            ("rpc_url", self.rpc_url.is_some()),
            ("rpc_urls", !self.rpc_urls.is_empty()),
            ("rpc_urls_file", self.rpc_urls_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        match given.len() {
            0 => Err(ConfigError::Missing(
                "[chain] names no RPC endpoint: set rpc_url, rpc_urls or rpc_urls_file (or pass --rpc-url)"
                    .into(),
            )),
            1 => Ok(()),
            _ => Err(ConfigError::Invalid(format!(
                "[chain] sets both {}: use one of them (rpc_url is a list of one)",
                given.join(" and ")
            ))),
        }
    }

    /// Reads `rpc_urls_file` (one URL a line; blank lines and `#` comments skipped) into `file_urls`;
    /// the file must be readable by its owner only.
    pub fn read_urls_file(&mut self) -> Result<(), ConfigError> {
        let Some(path) = &self.rpc_urls_file else {
            return Ok(());
        };
        let what = "[chain] rpc_urls_file";
        super::paymaster_ops::check_private(what, path)?;
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::SecretFile {
            what: what.into(),
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut urls = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let url = Url::parse(line).map_err(|e| ConfigError::SecretFile {
                what: what.into(),
                path: path.clone(),
                message: format!("line {}: not a URL ({e})", n + 1),
            })?;
            urls.push(url);
        }
        if urls.is_empty() {
            return Err(ConfigError::SecretFile {
                what: what.into(),
                path: path.clone(),
                message: "the file names no URL".into(),
            });
        }
        self.file_urls = urls;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn both_forms_are_refused_naming_both() {
        let c = ChainConfig {
            rpc_url: Some(url("http://a:1")),
            ..ChainConfig::new(vec![url("http://b:2")], None)
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rpc_url and rpc_urls"), "{e}");
        assert_eq!(c.urls(), vec![url("http://a:1")]);
    }

    #[test]
    fn the_urls_file_is_read_line_by_line_and_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("urls");
        std::fs::write(&p, "# providers\nhttp://a:1/v2/KEY\n\nhttp://b:2\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut c = ChainConfig {
            rpc_urls_file: Some(p.clone()),
            ..ChainConfig::new(vec![], None)
        };
        c.validate().unwrap();
        c.read_urls_file().unwrap();
        assert_eq!(c.urls(), vec![url("http://a:1/v2/KEY"), url("http://b:2")]);
        let shown = serde_json::to_string(&c).unwrap();
        assert!(!shown.contains("KEY"), "{shown}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = c.read_urls_file().unwrap_err().to_string();
        assert!(e.contains("urls") && e.contains("0644"), "{e}");
        std::fs::write(&p, "nope\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = c.read_urls_file().unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn a_key_in_a_url_is_not_serialised() {
        let c = ChainConfig::new(vec![url("https://h/v2/SECRET")], None);
        let shown = serde_json::to_string(&c).unwrap();
        assert!(
            !shown.contains("SECRET") && shown.contains("https://h/v2/***"),
            "{shown}"
        );
    }
}
