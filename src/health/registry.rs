//! The supervised bundlers' registry as `butler health` reads it: `DATA_DIR/bundlers/registry.json`,
//! written by the bundler supervisor of `serve --watcher` (`{"version": 1, "instances": [{"id", "name",
//! "status", "desired", ...}]}`; fields beyond these are ignored). No file: no supervised bundlers.

use std::path::Path;

use serde::Deserialize;

use crate::bundlers::registry::VERSION;
pub use crate::bundlers::registry::path;

/// The registry file.
#[derive(Debug, Clone, Deserialize)]
pub struct Registry {
    pub version: u32,
    #[serde(default)]
    pub instances: Vec<Instance>,
}

/// One supervised bundler.
#[derive(Debug, Clone, Deserialize)]
pub struct Instance {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `UP`, `DOWN` or `STOPPED`.
    pub status: String,
    /// `running` or `stopped`.
    pub desired: String,
}

impl Instance {
    /// An instance meant to run must be up.
    pub fn healthy(&self) -> bool {
        self.desired != "running" || self.status == "UP"
    }
}

/// Reads the registry; `Ok(None)` when there is no file.
pub fn read(path: &Path) -> Result<Option<Registry>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let registry: Registry =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if registry.version != VERSION {
        return Err(format!(
            "{}: registry version {} is not supported (expected {VERSION})",
            path.display(),
            registry.version
        ));
    }
    Ok(Some(registry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_fields_are_tolerated_and_desired_running_must_be_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        assert!(read(&p).unwrap().is_none(), "no file: no bundlers");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            r#"{"version": 1, "instances": [
                {"id": "a1", "name": "alto", "status": "UP", "desired": "running", "port": 4337, "restarts": 2},
                {"id": "a2", "name": "alto", "status": "DOWN", "desired": "running"},
                {"id": "a3", "name": "alto", "status": "STOPPED", "desired": "stopped"}
            ], "updated": "x"}"#,
        )
        .unwrap();
        let r = read(&p).unwrap().unwrap();
        let healthy: Vec<bool> = r.instances.iter().map(Instance::healthy).collect();
        assert_eq!(healthy, vec![true, false, true]);
        std::fs::write(&p, "{").unwrap();
        assert!(read(&p).unwrap_err().contains("registry.json"));
    }
}
