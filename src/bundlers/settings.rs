//! The supervisor's settings, built once from `[supervisor]`, `[chain]` and `[[bundlers]]`, and the key
//! pool read from `executor_keys_file` (refused when group- or world-readable) or
//! `BUTLER_SUPERVISOR__EXECUTOR_KEYS`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;

use crate::backoff::Backoff;
use crate::config::{Config, ConfigError, Secret, TemplateConfig};

/// One key of the pool and its address (the address is what the registry records).
#[derive(Debug, Clone)]
pub struct PoolKey {
    /// `0x` and 64 lowercase hex digits.
    pub key: Secret,
    /// EIP-55 address.
    pub address: String,
}

/// Everything the supervisor needs.
#[derive(Debug, Clone)]
pub struct SupervisorSettings {
    pub data_dir: PathBuf,
    pub port_range: (u16, u16),
    pub keys: Vec<PoolKey>,
    pub crash_loop_exits: u32,
    pub crash_loop_window: Duration,
    pub health_interval: Duration,
    pub templates: Vec<TemplateConfig>,
    /// The chain RPC (`{rpc_url}`), from `[chain] rpc_url`.
    pub rpc_url: Option<String>,
    /// Names of the configured `[[bundlers]]`, which spawned and registered names must not repeat.
    pub configured_names: Vec<String>,
    /// Delays before restarts: from 1 s, doubling up to 30 s (an instance that ran that long starts
    /// again from 1 s).
    pub restart_backoff: Backoff,
}

impl TryFrom<&Config> for SupervisorSettings {
    type Error = ConfigError;

    /// Settings from `[supervisor]` (defaults when absent), `[chain]` and `[[bundlers]]`.
    fn try_from(config: &Config) -> Result<SupervisorSettings, ConfigError> {
        let s = config.supervisor.clone().unwrap_or_default();
        let keys = match (&s.executor_keys, &s.executor_keys_file) {
            (Some(v), _) => parse_keys(v.expose(), "BUTLER_SUPERVISOR__EXECUTOR_KEYS")?,
            (None, Some(path)) => read_key_file(path)?,
            (None, None) => Vec::new(),
        };
        Ok(SupervisorSettings {
            data_dir: config.data_dir()?,
            port_range: (s.port_range[0], s.port_range[1]),
            keys,
            crash_loop_exits: s.crash_loop_exits,
            crash_loop_window: Duration::from_secs(s.crash_loop_window_secs),
            health_interval: Duration::from_secs(s.health_interval_secs),
            templates: s.templates,
            rpc_url: config
                .chain
                .as_ref()
                .and_then(|c| c.primary_url())
                .map(|u| u.to_string()),
            configured_names: config.bundlers.iter().map(|b| b.name.clone()).collect(),
            restart_backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(30)),
        })
    }
}

impl SupervisorSettings {
    pub fn template(&self, name: &str) -> Option<&TemplateConfig> {
        self.templates.iter().find(|t| t.name == name)
    }
}

/// Reads the key file, refusing one that group or others may read.
fn read_key_file(path: &Path) -> Result<Vec<PoolKey>, ConfigError> {
    use std::os::unix::fs::PermissionsExt as _;
    let err = |message: String| ConfigError::SecretFile {
        what: "executor_keys".to_string(),
        path: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(err(format!(
            "the file is readable by group or others (mode {mode:04o}); `chmod 600` it"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse_keys(&text, &path.display().to_string())
}

/// One key a line (or separated by commas); `#` starts a comment. Errors name the line, never the key.
fn parse_keys(text: &str, source: &str) -> Result<Vec<PoolKey>, ConfigError> {
    let mut keys: Vec<PoolKey> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for raw in line.split([',', ' ', '\t']).filter(|s| !s.is_empty()) {
            let hex = raw.strip_prefix("0x").unwrap_or(raw).to_ascii_lowercase();
            let bad = || {
                ConfigError::Invalid(format!(
                    "executor keys in {source}, line {}: not a private key (expected 64 hex digits)",
                    n + 1
                ))
            };
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let signer: PrivateKeySigner = hex.parse().map_err(|_| bad())?;
            let address = signer.address().to_checksum(None);
            if keys.iter().any(|k| k.address == address) {
                return Err(ConfigError::Invalid(format!(
                    "executor keys in {source}, line {}: the key of {address} is listed twice",
                    n + 1
                )));
            }
            keys.push(PoolKey {
                key: Secret::new(format!("0x{hex}")),
                address,
            });
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    const K1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys");
        std::fs::write(&p, format!("{K1}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_key_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("readable by group or others") && err.contains("keys"),
            "{err}"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let keys = read_key_file(&p).unwrap();
        assert_eq!(
            keys[0].address,
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
    }

    #[test]
    fn bad_keys_name_their_line_but_not_the_key() {
        let err = parse_keys(&format!("# pool\n{K1}\nnot-a-key\n"), "f")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 3") && !err.contains("not-a-key"),
            "{err}"
        );
        let err = parse_keys(
            &format!("{K1}\n{}\n", K1.to_uppercase().replace("0X", "0x")),
            "f",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("twice"), "{err}");
    }
}
