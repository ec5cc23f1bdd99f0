//! The registry of supervised bundlers, `DATA_DIR/bundlers/registry.json`: the seed's `BundlerInstance`
//! (§2.1) plus what supervision needs (`kind`, `base`, `pid`, `restarts`, `lastExit`, `desired`). Written
//! with [`crate::fs::atomic_write`] (temporary file, fsync, rename, fsync of the directory), so a crash leaves the old or the new
//! file, never a torn one. It holds no key: only the executor and utility addresses an instance took.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::BundlerError;

/// The file's format version.
pub const VERSION: u32 = 1;

/// Spawned by butler, or registered (an existing URL, no process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Spawned,
    Registered,
}

/// `UP`, `DOWN` or `STOPPED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Up,
    Down,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "UP",
            Status::Down => "DOWN",
            Status::Stopped => "STOPPED",
        }
    }
}

/// What the operator asked for: the supervisor keeps a `running` instance running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Desired {
    Running,
    Stopped,
}

/// The seed's policy: carried to the bundler in its config and environment, enforced by the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// `eth_sendUserOperation` with a lower `maxPriorityFeePerGas` is refused.
    #[serde(default)]
    pub min_priority_fee_gwei: f64,
    /// Selects the template's `strict_args` (for alto: `--safe-mode true`).
    #[serde(default)]
    pub strict: bool,
    /// Added to every call through the gateway.
    #[serde(default)]
    pub delay_ms: u64,
    /// Share of calls the gateway fails (0 to 1).
    #[serde(default)]
    pub failure_rate: f64,
}

impl Policy {
    /// Refuses values out of range, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.min_priority_fee_gwei.is_finite() && self.min_priority_fee_gwei >= 0.0) {
            return Err(format!(
                "policy.minPriorityFeeGwei must be a number >= 0, got {}",
                self.min_priority_fee_gwei
            ));
        }
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(format!(
                "policy.failureRate must be between 0 and 1, got {}",
                self.failure_rate
            ));
        }
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!(
                "policy.delayMs must be at most {MAX_DELAY_MS}, got {}",
                self.delay_ms
            ));
        }
        Ok(())
    }
}

/// Largest `delayMs` accepted.
pub const MAX_DELAY_MS: u64 = 60_000;

/// How an instance's process last ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastExit {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal name, when a signal ended it.
    pub signal: Option<String>,
    /// Unix milliseconds.
    pub at: u64,
    /// The last line it wrote on stderr (or stdout when stderr was silent).
    pub last_line: Option<String>,
    /// Whether butler asked for it (stop, unregister, shutdown).
    pub requested: bool,
}

impl LastExit {
    /// `exit code 1`, `signal SIGKILL`, ...
    pub fn describe(&self) -> String {
        let how = match (&self.code, &self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "an unknown status".to_string(),
        };
        match &self.last_line {
            Some(l) => format!("{how} (last line: {l})"),
            None => how,
        }
    }
}

/// One supervised bundler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BundlerInstance {
    /// `<base>_<6 random characters>`, e.g. `bundler2_abc123`.
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// The template it was spawned from (spawned instances).
    pub base: Option<String>,
    /// Where clients send operations (the policy gateway for spawned instances).
    pub rpc_url: String,
    /// Public port (the gateway's).
    pub port: Option<u16>,
    /// The bundler's own port, behind the gateway; butler's health probes use it.
    pub internal_port: Option<u16>,
    pub policy: Policy,
    pub status: Status,
    /// Why it is STOPPED or DOWN, when known (a crash loop names its last exit).
    pub reason: Option<String>,
    /// Unix milliseconds of the first spawn (or of the registration).
    pub spawned_at: u64,
    /// Unix milliseconds of the last successful health probe.
    pub last_seen: Option<u64>,
    /// PID of the running child (its process group id too); null when not running.
    pub pid: Option<u32>,
    /// Restarts after exits that were not asked for.
    pub restarts: u64,
    pub last_exit: Option<LastExit>,
    pub desired: Desired,
    /// Addresses of the executor keys it took from the pool (never the keys).
    #[serde(default)]
    pub executor_addresses: Vec<String>,
    /// Address of its utility key, when it took one.
    #[serde(default)]
    pub utility_address: Option<String>,
}

/// The file's shape: `{"version": 1, "instances": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistryFile {
    pub version: u32,
    pub instances: Vec<BundlerInstance>,
}

/// `DATA_DIR/bundlers/registry.json`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("bundlers").join("registry.json")
}

/// Reads the registry; a missing file is an empty one.
pub fn load(path: &Path) -> Result<Vec<BundlerInstance>, BundlerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(BundlerError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let file: RegistryFile = serde_json::from_str(&text).map_err(|e| BundlerError::Registry {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if file.version != VERSION {
        return Err(BundlerError::Registry {
            path: path.to_path_buf(),
            message: format!(
                "version {} is not supported (expected {VERSION})",
                file.version
            ),
        });
    }
    Ok(file.instances)
}

/// Writes the registry atomically.
pub fn save(path: &Path, instances: &[BundlerInstance]) -> Result<(), BundlerError> {
    let file = RegistryFile {
        version: VERSION,
        instances: instances.to_vec(),
    };
    let mut text = serde_json::to_vec_pretty(&file).map_err(|e| BundlerError::Registry {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push(b'\n');
    Ok(crate::fs::atomic_write(path, &text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_camel_case_and_rejects_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("registry.json");
        assert!(load(&p).unwrap().is_empty());
        let i = BundlerInstance {
            id: "alto_abc123".into(),
            name: "cheap".into(),
            kind: Kind::Spawned,
            base: Some("alto".into()),
            rpc_url: "http://127.0.0.1:3100".into(),
            port: Some(3100),
            internal_port: Some(3101),
            policy: Policy::default(),
            status: Status::Up,
            reason: None,
            spawned_at: 1,
            last_seen: None,
            pid: Some(42),
            restarts: 0,
            last_exit: None,
            desired: Desired::Running,
            executor_addresses: vec![],
            utility_address: None,
        };
        save(&p, std::slice::from_ref(&i)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
        for k in [
            "rpcUrl",
            "spawnedAt",
            "lastSeen",
            "lastExit",
            "desired",
            "kind",
            "base",
            "pid",
        ] {
            assert!(v["instances"][0].get(k).is_some(), "{k} in {v}");
        }
        assert_eq!(v["instances"][0]["policy"]["minPriorityFeeGwei"], 0.0);
        assert_eq!(load(&p).unwrap(), vec![i]);
        std::fs::write(&p, r#"{"version": 2, "instances": []}"#).unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("version 2"));
    }
}
