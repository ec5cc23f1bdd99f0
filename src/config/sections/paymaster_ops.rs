//! `[paymaster_ops]`: the keys that move money for paymasters (the top-up funder, the paymaster owner for
//! admin writes) and the watcher's automatic top-up. Keys come only from env or from `*_file` paths, and a
//! key file that group or others can read is refused.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Secret, resolve_secret};

/// `[paymaster_ops]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymasterOpsConfig {
    /// Key of the account that pays `butler paymaster topup` (hex private key in a file, mode 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder_key_file: Option<PathBuf>,
    /// Only from env: `BUTLER_PAYMASTER_OPS__FUNDER_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder_key: Option<Secret>,
    /// Key of the paymaster's `owner()`, for `butler paymaster withdraw|stake ...` and
    /// `POST /api/admin/paymaster/config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_key_file: Option<PathBuf>,
    /// Only from env: `BUTLER_PAYMASTER_OPS__ADMIN_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_key: Option<Secret>,
    /// `serve --watcher` runs the top-up of every `[[paymasters]]` entry with `topup_below_eth` and
    /// `topup_to_eth` on its own (same lock, audit file and thresholds as `butler paymaster topup`).
    #[serde(default)]
    pub auto_topup: bool,
    /// Seconds between two automatic top-up rounds.
    #[serde(default = "default_auto_topup_interval")]
    pub auto_topup_interval_secs: u64,
}

fn default_auto_topup_interval() -> u64 {
    1800
}

impl PaymasterOpsConfig {
    /// The funder key, from env or its file (refused when group or others can read the file).
    pub fn funder_key(&self) -> Result<Option<Secret>, ConfigError> {
        private_key_secret(
            "funder_key",
            self.funder_key.as_ref(),
            self.funder_key_file.as_deref(),
        )
    }

    /// The admin (owner) key, from env or its file (refused when group or others can read the file).
    pub fn admin_key(&self) -> Result<Option<Secret>, ConfigError> {
        private_key_secret(
            "admin_key",
            self.admin_key.as_ref(),
            self.admin_key_file.as_deref(),
        )
    }

    /// Rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.auto_topup_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "[paymaster_ops] auto_topup_interval_secs must be at least 1".to_string(),
            ));
        }
        Ok(())
    }
}

/// Resolves a key like [`resolve_secret`], first refusing a file whose mode lets group or others read it.
fn private_key_secret(
    what: &str,
    value: Option<&Secret>,
    file: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    if value.is_none()
        && let Some(path) = file
    {
        check_private(what, path)?;
    }
    resolve_secret(what, value, file)
}

/// Refuses a key file readable by group or others.
pub fn check_private(what: &str, path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| ConfigError::SecretFile {
        what: what.to_string(),
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o044 != 0 {
        return Err(ConfigError::SecretFile {
            what: what.to_string(),
            path: path.to_path_buf(),
            message: format!(
                "the file is readable by group or others (mode {mode:04o}); run `chmod 600 {}`",
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn group_or_world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("funder.key");
        std::fs::write(&p, "0x01\n").unwrap();
        let ops = PaymasterOpsConfig {
            funder_key_file: Some(p.clone()),
            ..Default::default()
        };
        for mode in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = ops.funder_key().unwrap_err().to_string();
            assert!(
                err.contains("chmod 600") && err.contains("funder.key"),
                "{err}"
            );
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(ops.funder_key().unwrap().unwrap().expose(), "0x01");
    }
}
