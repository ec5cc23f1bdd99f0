//! From a template and an instance to what runs: placeholders expanded in the command, the environment
//! and the config, which is written as `DATA_DIR/bundlers/<id>/bundler.config.json` (mode 0600, in a
//! 0700 directory: it holds the instance's keys). Keys only ever go into that file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use serde_json::{Map, Value};

use super::BundlerError;
use super::child::Launch;
use super::registry::BundlerInstance;
use super::settings::SupervisorSettings;
use crate::config::TemplateConfig;
use crate::fs::FsError;
use crate::probe::userop::ENTRYPOINT_V07;

/// The name of the config file in the instance directory.
pub const CONFIG_FILE: &str = "bundler.config.json";

/// Writes the instance directory and its config, and returns the launch.
pub fn prepare(
    settings: &SupervisorSettings,
    template: &TemplateConfig,
    record: &BundlerInstance,
    dir: &Path,
) -> Result<Launch, BundlerError> {
    std::fs::create_dir_all(dir).map_err(FsError::at(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(FsError::at(dir))?;
    let config_path = dir.join(CONFIG_FILE);
    let port = record.internal_port.unwrap_or_default();
    let entrypoints = if template.entrypoints.is_empty() {
        ENTRYPOINT_V07.to_checksum(None)
    } else {
        template
            .entrypoints
            .iter()
            .map(|a| a.to_checksum(None))
            .collect::<Vec<_>>()
            .join(",")
    };
    let vars: Vec<(&str, String)> = vec![
        ("id", record.id.clone()),
        ("port", port.to_string()),
        ("rpc_url", settings.rpc_url.clone().unwrap_or_default()),
        ("entrypoints", entrypoints),
        ("config_path", config_path.display().to_string()),
        ("data_dir", dir.display().to_string()),
    ];
    let key_of = |address: &str| {
        settings
            .keys
            .iter()
            .find(|k| k.address == address)
            .map(|k| k.key.expose().to_string())
            .ok_or_else(|| {
                BundlerError::Conflict(format!(
                    "bundler `{}`: the key of {address} is no longer in the key pool ([supervisor] executor_keys_file)",
                    record.id
                ))
            })
    };
    let executor_keys = record
        .executor_addresses
        .iter()
        .map(|a| key_of(a))
        .collect::<Result<Vec<_>, _>>()?
        .join(",");
    let utility_key = record.utility_address.as_deref().map(key_of).transpose()?;
    let mut config_vars = vars.clone();
    config_vars.push(("executor_keys", executor_keys));
    config_vars.push(("utility_key", utility_key.unwrap_or_default()));
    let mut config = Map::new();
    for (k, v) in &template.config {
        config.insert(k.clone(), to_json(v, &config_vars));
    }
    config.insert(
        "observability".to_string(),
        serde_json::json!({"service": record.id}),
    );
    config.insert(
        "policy".to_string(),
        serde_json::to_value(record.policy).unwrap_or_default(),
    );
    let text = serde_json::to_vec_pretty(&Value::Object(config))
        .map_err(|e| BundlerError::Invalid(format!("template `{}`: config: {e}", template.name)))?;
    crate::fs::atomic_write_private(&config_path, &text)?;
    let mut argv: Vec<String> = template.command.iter().map(|a| expand(a, &vars)).collect();
    if record.policy.strict {
        argv.extend(template.strict_args.iter().map(|a| expand(a, &vars)));
    }
    let mut env: Vec<(String, String)> = template
        .env
        .iter()
        .map(|(k, v)| (k.clone(), expand(v, &vars)))
        .collect();
    env.push(("BUTLER_BUNDLER_ID".to_string(), record.id.clone()));
    env.push((
        "BUTLER_BUNDLER_POLICY".to_string(),
        serde_json::to_string(&record.policy).unwrap_or_default(),
    ));
    Ok(Launch {
        id: record.id.clone(),
        argv,
        env,
        dir: dir.to_path_buf(),
        ships_logs: template.ships_logs,
    })
}

/// Replaces every `{name}` of `vars` in `s`.
pub fn expand(s: &str, vars: &[(&str, String)]) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// A TOML value as JSON with placeholders expanded; a string that is exactly `{port}` becomes a number.
fn to_json(v: &toml::Value, vars: &[(&str, String)]) -> Value {
    match v {
        toml::Value::String(s) if s == "{port}" => vars
            .iter()
            .find(|(k, _)| *k == "port")
            .and_then(|(_, p)| p.parse::<u64>().ok())
            .map_or_else(|| Value::String(expand(s, vars)), Value::from),
        toml::Value::String(s) => Value::String(expand(s, vars)),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(|v| to_json(v, vars)).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), to_json(v, vars)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_and_a_lone_port_becomes_a_number() {
        let vars = vec![
            ("port", "3101".to_string()),
            ("id", "alto_abc123".to_string()),
        ];
        assert_eq!(
            expand("--id={id} --port {port}", &vars),
            "--id=alto_abc123 --port 3101"
        );
        let t: toml::Table = toml::from_str(
            "port = \"{port}\"\nname = \"b-{id}\"\njson = true\nlist = [\"{port}\", 2]",
        )
        .unwrap();
        let json: Map<String, Value> = t
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v, &vars)))
            .collect();
        assert_eq!(
            Value::Object(json),
            serde_json::json!({"port": 3101, "name": "b-alto_abc123", "json": true, "list": [3101, 2]})
        );
    }
}
