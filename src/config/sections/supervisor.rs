//! `[supervisor]` and `[[supervisor.templates]]`: the bundlers `serve --watcher` spawns and supervises
//! (docs/bundlers.md). Templates say how to start one bundler engine; the key pool holds the executor and
//! utility keys that spawned instances take (each instance its own, never shared).

use std::collections::BTreeMap;
use std::path::PathBuf;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Secret};

/// `[supervisor]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorConfig {
    /// Inclusive range of loopback ports for spawned instances (each takes two: its public port, served
    /// by butler's policy gateway, and the bundler's internal port).
    #[serde(default = "default_port_range")]
    pub port_range: [u16; 2],
    /// File with the key pool: one lowercase hex private key a line (mode 0600 or stricter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_keys_file: Option<PathBuf>,
    /// Only from env: `BUTLER_SUPERVISOR__EXECUTOR_KEYS` (keys separated by commas or whitespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_keys: Option<Secret>,
    /// Exits within `crash_loop_window_secs` that make a crash loop (the instance is then STOPPED).
    #[serde(default = "default_crash_loop_exits")]
    pub crash_loop_exits: u32,
    #[serde(default = "default_crash_loop_window")]
    pub crash_loop_window_secs: u64,
    /// Seconds between health probes of each instance (UP/DOWN): `GET /health` on its internal port, every
    /// 12th probe `eth_chainId`.
    #[serde(default = "default_health_interval")]
    pub health_interval_secs: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateConfig>,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            port_range: default_port_range(),
            executor_keys_file: None,
            executor_keys: None,
            crash_loop_exits: default_crash_loop_exits(),
            crash_loop_window_secs: default_crash_loop_window(),
            health_interval_secs: default_health_interval(),
            templates: Vec::new(),
        }
    }
}

/// `[[supervisor.templates]]`: how to start one kind of bundler (the seed's `base`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// The `base` a spawn request names, e.g. `bundler2`.
    pub name: String,
    /// Program and arguments, with placeholders `{id}`, `{port}`, `{rpc_url}`, `{entrypoints}`,
    /// `{config_path}`, `{data_dir}`. Keys never go here: use `{executor_keys}` and `{utility_key}` in `config`.
    pub command: Vec<String>,
    /// Extra environment of the child (same placeholders as `command`); nothing else is inherited but
    /// `PATH`, `HOME`, `LANG` and `TZ`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Written as the instance's `bundler.config.json` after placeholder expansion (strings only); may use
    /// `{executor_keys}` and `{utility_key}` besides the command's placeholders.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub config: toml::Table,
    /// Arguments appended to `command` when the instance's policy is `strict`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strict_args: Vec<String>,
    /// Executor keys each instance takes from the pool when `config` uses `{executor_keys}`.
    #[serde(default = "default_executor_keys_per_instance")]
    pub executor_keys_per_instance: usize,
    /// EntryPoints the bundler serves (`{entrypoints}`, a comma list). Default: the canonical v0.7 one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoints: Vec<Address>,
    /// The bundler posts its own structured logs to `/api/logs/ingest`: only its non-JSON lines are stored.
    #[serde(default)]
    pub ships_logs: bool,
    /// Seconds from start to a first `/health` 200 and answers to `eth_chainId` and `eth_supportedEntryPoints`.
    #[serde(default = "default_ready_timeout")]
    pub ready_timeout_secs: u64,
    /// Seconds between SIGTERM to the instance's process group and SIGKILL.
    #[serde(default = "default_stop_grace")]
    pub stop_grace_secs: u64,
}

fn default_port_range() -> [u16; 2] {
    [3100, 3199]
}
fn default_crash_loop_exits() -> u32 {
    5
}
fn default_crash_loop_window() -> u64 {
    60
}
fn default_health_interval() -> u64 {
    5
}
fn default_executor_keys_per_instance() -> usize {
    1
}
fn default_ready_timeout() -> u64 {
    60
}
fn default_stop_grace() -> u64 {
    10
}

/// The placeholders `command`, `env` and `config` may use.
pub const PLACEHOLDERS: &[&str] = &[
    "id",
    "port",
    "rpc_url",
    "entrypoints",
    "config_path",
    "data_dir",
];
/// The key placeholders, allowed in `config` only.
pub const KEY_PLACEHOLDERS: &[&str] = &["executor_keys", "utility_key"];

impl SupervisorConfig {
    /// Checks rules serde cannot express: the port range, unique template names, known placeholders,
    /// keys kept off the command line.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let [lo, hi] = self.port_range;
        if lo == 0 || lo > hi {
            return Err(ConfigError::Invalid(format!(
                "[supervisor] port_range: expected [low, high] with 0 < low <= high, got [{lo}, {hi}]"
            )));
        }
        if self.crash_loop_exits == 0 || self.crash_loop_window_secs == 0 {
            return Err(ConfigError::Invalid(
                "[supervisor] crash_loop_exits and crash_loop_window_secs must be at least 1"
                    .to_string(),
            ));
        }
        if self.health_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "[supervisor] health_interval_secs must be at least 1".to_string(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.templates.iter().enumerate() {
            let at = format!("[[supervisor.templates]] #{} (`{}`)", i + 1, t.name);
            if t.name.is_empty()
                || !t
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ConfigError::Invalid(format!(
                    "{at}: name must be letters, digits, `-` or `_`"
                )));
            }
            if !seen.insert(t.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "[[supervisor.templates]] name `{}` is used twice",
                    t.name
                )));
            }
            if t.command.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "{at}: command must name a program"
                )));
            }
            if t.ready_timeout_secs == 0 {
                return Err(ConfigError::Invalid(format!(
                    "{at}: ready_timeout_secs must be at least 1"
                )));
            }
            let args = t.command.iter().chain(&t.strict_args);
            for s in args.chain(t.env.values()) {
                check_placeholders(s, PLACEHOLDERS).map_err(|e| {
                    ConfigError::Invalid(format!("{at}: command, strict_args or env: {e}"))
                })?;
            }
            let mut strings = Vec::new();
            table_strings(&t.config, &mut strings);
            for s in strings {
                check_placeholders(s, &[PLACEHOLDERS, KEY_PLACEHOLDERS].concat())
                    .map_err(|e| ConfigError::Invalid(format!("{at}: config: {e}")))?;
            }
        }
        Ok(())
    }
}

impl TemplateConfig {
    /// Whether `config` uses the placeholder `{name}`.
    pub fn config_uses(&self, name: &str) -> bool {
        let mut strings = Vec::new();
        table_strings(&self.config, &mut strings);
        let needle = format!("{{{name}}}");
        strings.iter().any(|s| s.contains(&needle))
    }
}

/// Every string in a TOML table, nested ones included.
pub fn table_strings<'a>(t: &'a toml::Table, out: &mut Vec<&'a str>) {
    for v in t.values() {
        value_strings(v, out);
    }
}

fn value_strings<'a>(v: &'a toml::Value, out: &mut Vec<&'a str>) {
    match v {
        toml::Value::String(s) => out.push(s),
        toml::Value::Array(a) => a.iter().for_each(|v| value_strings(v, out)),
        toml::Value::Table(t) => table_strings(t, out),
        _ => {}
    }
}

/// Refuses `{name}` placeholders outside `allowed`, naming the unknown one.
fn check_placeholders(s: &str, allowed: &[&str]) -> Result<(), String> {
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !allowed.contains(&name) {
            let where_ = if KEY_PLACEHOLDERS.contains(&name) {
                " (keys are allowed in `config` only, never on the command line or in env)"
            } else {
                ""
            };
            return Err(format!(
                "unknown placeholder `{{{name}}}` in `{s}`{where_}; expected one of {}",
                allowed
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(command: &[&str]) -> TemplateConfig {
        TemplateConfig {
            name: "alto".into(),
            command: command.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            config: toml::Table::new(),
            strict_args: Vec::new(),
            executor_keys_per_instance: 1,
            entrypoints: Vec::new(),
            ships_logs: false,
            ready_timeout_secs: 60,
            stop_grace_secs: 10,
        }
    }

    #[test]
    fn keys_are_refused_on_the_command_line_and_unknown_placeholders_named() {
        let mut c = SupervisorConfig {
            templates: vec![template(&[
                "alto",
                "--executor-private-keys",
                "{executor_keys}",
            ])],
            ..Default::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("{executor_keys}") && err.contains("config` only"),
            "{err}"
        );
        c.templates = vec![template(&["alto", "--port", "{prot}"])];
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("{prot}"), "{err}");
        c.templates = vec![template(&["alto", "--port", "{port}"])];
        c.templates[0]
            .config
            .insert("utility-private-key".into(), "{utility_key}".into());
        c.validate().unwrap();
        assert!(c.templates[0].config_uses("utility_key"));
        assert!(!c.templates[0].config_uses("executor_keys"));
    }

    #[test]
    fn port_range_must_be_ordered() {
        let c = SupervisorConfig {
            port_range: [3200, 3100],
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("port_range"));
    }
}
