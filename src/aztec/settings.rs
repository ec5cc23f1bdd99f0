//! [`AztecSettings`]: what the Aztec commands use from the config (`[aztec]` and `[chain]`), built once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use url::Url;

use crate::config::sections::aztec::AztecConfig;
use crate::config::{Config, ConfigError, Secret, resolve_secret};

/// The `[aztec]` settings of a command.
#[derive(Debug, Clone)]
pub struct AztecSettings {
    pub node_url: Url,
    pub staking_registry: Option<Address>,
    pub provider_id: Option<u64>,
    pub keys_file: Option<PathBuf>,
    pub publishers: Vec<Address>,
    pub min_eth_per_attester: U256,
    pub node_timeout: Duration,
    signer_key: Option<Secret>,
    signer_key_file: Option<PathBuf>,
    keystore_passphrase: Option<Secret>,
}

impl AztecSettings {
    /// The StakingRegistry, or a config error naming the key.
    pub fn require_registry(&self) -> Result<Address, ConfigError> {
        self.staking_registry
            .ok_or_else(|| ConfigError::Missing("[aztec] staking_registry is not set".into()))
    }

    /// The keystore path, or a config error naming the key.
    pub fn require_keys_file(&self) -> Result<&Path, ConfigError> {
        self.keys_file
            .as_deref()
            .ok_or_else(|| ConfigError::Missing("[aztec] keys_file is not set".into()))
    }

    /// The keystore passphrase (env `BUTLER_AZTEC__KEYSTORE_PASSPHRASE` or `keystore_passphrase_file`).
    pub fn keystore_passphrase(&self) -> Option<&Secret> {
        self.keystore_passphrase.as_ref()
    }

    /// The signer key: `override_file` (the `--private-key-file` flag), else env `BUTLER_AZTEC__SIGNER_KEY`,
    /// else `signer_key_file`. A key file group or others can read is refused.
    pub fn signer_key(&self, override_file: Option<&Path>) -> Result<Option<Secret>, ConfigError> {
        let (value, file) = match override_file {
            Some(f) => (None, Some(f)),
            None => (self.signer_key.as_ref(), self.signer_key_file.as_deref()),
        };
        if value.is_none()
            && let Some(f) = file
            && f.exists()
        {
            crate::aztec::keystore::private_mode(f).map_err(|message| ConfigError::SecretFile {
                what: "signer_key".into(),
                path: f.to_path_buf(),
                message,
            })?;
        }
        resolve_secret("signer_key", value, file)
    }
}

impl TryFrom<&Config> for AztecSettings {
    type Error = ConfigError;

    fn try_from(config: &Config) -> Result<Self, ConfigError> {
        let a: &AztecConfig = config.aztec.as_ref().ok_or_else(|| {
            ConfigError::Missing(
                "no [aztec] section: set [aztec] node_url (and staking_registry, keys_file, ...)"
                    .into(),
            )
        })?;
        let keystore_passphrase = resolve_secret(
            "keystore_passphrase",
            a.keystore_passphrase.as_ref(),
            a.keystore_passphrase_file.as_deref(),
        )?;
        let node_timeout = config
            .chain
            .as_ref()
            .map(|c| Duration::from_secs_f64(c.timeout_secs))
            .unwrap_or(Duration::from_secs(10));
        Ok(Self {
            node_url: a.node_url.clone(),
            staking_registry: a.staking_registry,
            provider_id: a.provider_id,
            keys_file: a.keys_file.clone(),
            publishers: a.publishers.clone(),
            min_eth_per_attester: a.min_eth_per_attester.0,
            node_timeout,
            signer_key: a.signer_key.clone(),
            signer_key_file: a.signer_key_file.clone(),
            keystore_passphrase,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_secrets_and_the_signer_override() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("signer.key");
        std::fs::write(&key, "0x01\n").unwrap();
        let text = format!(
            "[aztec]\nnode_url = \"http://127.0.0.1:8080\"\nsigner_key_file = \"{}\"\n",
            key.display()
        );
        let config: Config = toml::from_str(&text).unwrap();
        let s = AztecSettings::try_from(&config).unwrap();
        assert_eq!(
            s.min_eth_per_attester,
            U256::from(100_000_000_000_000_000u64)
        );
        assert!(s.keystore_passphrase().is_none());
        assert!(
            s.require_registry()
                .unwrap_err()
                .to_string()
                .contains("staking_registry")
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = s.signer_key(None).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(s.signer_key(None).unwrap().unwrap().expose(), "0x01");
        let other = dir.path().join("other.key");
        std::fs::write(&other, "0x02").unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            s.signer_key(Some(&other)).unwrap().unwrap().expose(),
            "0x02"
        );
        assert!(AztecSettings::try_from(&Config::default()).is_err());
    }

    #[test]
    fn aztec_env_overrides_and_secrets_come_from_env_and_are_refused_in_the_file() {
        use crate::config::{LoadOptions, load};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("butler.toml");
        std::fs::write(&path, "[aztec]\nnode_url = \"http://127.0.0.1:8080\"\n").unwrap();
        let opts = |env: &[(&str, &str)]| LoadOptions {
            explicit: Some(path.clone()),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: dir.path().to_path_buf(),
            platform_dir: None,
        };
        let loaded = load(&opts(&[
            ("BUTLER_AZTEC__SIGNER_KEY", "0x01"),
            ("BUTLER_AZTEC__KEYSTORE_PASSPHRASE", "pass"),
            ("BUTLER_AZTEC__MIN_ETH_PER_ATTESTER", "0.25"),
            ("BUTLER_AZTEC__NODE_URL", "http://127.0.0.1:9999/"),
        ]))
        .unwrap();
        let s = AztecSettings::try_from(&loaded.config).unwrap();
        assert_eq!(s.node_url.as_str(), "http://127.0.0.1:9999/");
        assert_eq!(s.signer_key(None).unwrap().unwrap().expose(), "0x01");
        assert_eq!(s.keystore_passphrase().unwrap().expose(), "pass");
        assert_eq!(
            s.min_eth_per_attester,
            U256::from(250_000_000_000_000_000u64)
        );
        std::fs::write(
            &path,
            "[aztec]\nnode_url = \"http://x\"\nkeystore_passphrase = \"p\"\n",
        )
        .unwrap();
        let err = load(&opts(&[])).unwrap_err().to_string();
        assert!(
            err.contains("BUTLER_AZTEC__KEYSTORE_PASSPHRASE") && err.contains(":3"),
            "{err}"
        );
        std::fs::write(
            &path,
            "[aztec]\nnode_url = \"http://x\"\nsigner_key = \"0x01\"\n",
        )
        .unwrap();
        let err = load(&opts(&[])).unwrap_err().to_string();
        assert!(
            err.contains("BUTLER_AZTEC__SIGNER_KEY") && err.contains(":3"),
            "{err}"
        );
        std::fs::write(&path, "data_dir = \"/tmp\"\n").unwrap();
        let loaded = load(&opts(&[(
            "BUTLER_AZTEC__NODE_URL",
            "http://127.0.0.1:9998/",
        )]))
        .unwrap();
        let s = AztecSettings::try_from(&loaded.config).unwrap();
        assert_eq!(s.node_url.as_str(), "http://127.0.0.1:9998/");
    }
}
