//! Finding, reading and layering the configuration: file, then `BUTLER_SECTION__KEY` env overrides.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Config, ConfigError};

/// The env var that names the config file.
pub const CONFIG_ENV: &str = "BUTLER_CONFIG";

/// The commented example configuration (`config/butler.example.toml`), also written by `butler config init`.
pub const EXAMPLE_CONFIG: &str = include_str!("../../config/butler.example.toml");

/// Key names that hold secrets: they are refused in the file and accepted from env only.
const SECRET_KEYS: &[&str] = &[
    "admin_token",
    "ingest_token",
    "bearer_token",
    "paymaster_signer_key",
    "funder_key",
    "private_key",
    "database_password",
    "executor_keys",
];

/// Where to look and which environment to read. Built from the process by the CLI; tests build it by hand.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config PATH`.
    pub explicit: Option<PathBuf>,
    /// The process environment (`BUTLER_CONFIG` and `BUTLER_*` overrides are read from here).
    pub env: Vec<(String, String)>,
    /// The directory `./butler.toml` is looked up in.
    pub cwd: PathBuf,
    /// The platform config directory (`~/.config/butler` on Linux).
    pub platform_dir: Option<PathBuf>,
}

impl LoadOptions {
    /// Options for this process: its environment, working directory and platform config dir.
    pub fn from_process(explicit: Option<PathBuf>) -> Self {
        Self {
            explicit,
            env: std::env::vars().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            platform_dir: directories::ProjectDirs::from("", "", "butler")
                .map(|p| p.config_dir().to_path_buf()),
        }
    }

    fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A loaded configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file read, if any (no file is fine: every section is optional).
    pub path: Option<PathBuf>,
    /// How the file was found: `--config`, `$BUTLER_CONFIG`, `./butler.toml`, `platform config dir`, or `none`.
    pub source: &'static str,
    /// The env overrides applied, by variable name.
    pub overrides: Vec<String>,
}

/// Finds the config file in lookup order. An explicit path (flag or env) that does not exist is an error.
pub fn locate(opts: &LoadOptions) -> Result<Option<(PathBuf, &'static str)>, ConfigError> {
    let must_exist = |p: PathBuf, source: &'static str| {
        if p.is_file() {
            Ok(Some((p, source)))
        } else {
            Err(ConfigError::Read {
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("not found (named by {source})"),
                ),
                path: p,
            })
        }
    };
    if let Some(p) = &opts.explicit {
        return must_exist(p.clone(), "--config");
    }
    if let Some(p) = opts.env_var(CONFIG_ENV).filter(|v| !v.is_empty()) {
        return must_exist(PathBuf::from(p), "$BUTLER_CONFIG");
    }
    let local = opts.cwd.join("butler.toml");
    if local.is_file() {
        return Ok(Some((local, "./butler.toml")));
    }
    if let Some(dir) = &opts.platform_dir {
        let p = dir.join("butler.toml");
        if p.is_file() {
            return Ok(Some((p, "platform config dir")));
        }
    }
    Ok(None)
}

/// Loads, overrides and validates the configuration.
pub fn load(opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let (text, path, source) = match locate(opts)? {
        Some((path, source)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
                path: path.clone(),
                source: e,
            })?;
            (text, Some(path), source)
        }
        None => (String::new(), None, "none"),
    };
    let display_path = path
        .clone()
        .unwrap_or_else(|| PathBuf::from("<no config file>"));
    let mut config = parse_str(&text, &display_path)?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| parse_error(&e, &text, &display_path))?;
    let overrides = env_overrides(opts);
    if !overrides.is_empty() {
        config = apply_overrides(&table, &overrides)?;
    }
    let applied = overrides.into_iter().map(|(var, _, _)| var).collect();
    config.validate()?;
    Ok(Loaded {
        config,
        path,
        source,
        overrides: applied,
    })
}

/// Parses config text, naming `path` (with line and column) in every error.
pub fn parse_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
    reject_secrets_in_file(text, path)?;
    let config = toml::from_str::<Config>(text).map_err(|e| parse_error(&e, text, path))?;
    check_address_checksums(text, path)?;
    Ok(config)
}

/// Mixed-case addresses must carry a valid EIP-55 checksum (a typo in one is otherwise silently accepted).
fn check_address_checksums(text: &str, path: &Path) -> Result<(), ConfigError> {
    static ADDR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#""(0x[0-9a-fA-F]{40})""#).expect("static regex")
    });
    for (idx, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        for cap in ADDR.captures_iter(code) {
            let addr = &cap[1];
            let hex = &addr[2..];
            let mixed = hex.chars().any(|c| c.is_ascii_lowercase())
                && hex.chars().any(|c| c.is_ascii_uppercase());
            if mixed && alloy::primitives::Address::parse_checksummed(addr, None).is_err() {
                let column = line.find(addr).map(|c| c + 1);
                return Err(ConfigError::Parse {
                    path: path.to_path_buf(),
                    line: Some(idx + 1),
                    column,
                    message: format!(
                        "address {addr} has an invalid EIP-55 checksum (write it all-lowercase or with the correct checksum)"
                    ),
                });
            }
        }
    }
    Ok(())
}

fn parse_error(e: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
    let (line, column) = match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    let message = e.message().trim().to_string();
    let message = match did_you_mean(&message) {
        Some(hint) => format!("{message}; did you mean `{hint}`?"),
        None => message,
    };
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

/// For "unknown field `x`, expected one of `a`, `b`": the closest expected name, when close enough.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (strsim::jaro_winkler(unknown, cand), cand))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

fn reject_secrets_in_file(text: &str, path: &Path) -> Result<(), ConfigError> {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Ok(()); // the typed parse reports syntax errors with their position
    };
    let mut found = None;
    walk(&table, &mut Vec::new(), &mut |keys, key| {
        if found.is_none() && SECRET_KEYS.contains(&key) {
            found = Some((keys.to_vec(), key.to_string()));
        }
    });
    let Some((sections, key)) = found else {
        return Ok(());
    };
    let line = text.lines().position(|l| {
        let t = l.trim_start();
        t.strip_prefix(key.as_str())
            .is_some_and(|r| r.trim_start().starts_with('='))
    });
    let env = std::iter::once("BUTLER".to_string())
        .chain(
            sections
                .iter()
                .filter(|s| s.parse::<usize>().is_err())
                .map(|s| s.to_uppercase()),
        )
        .collect::<Vec<_>>()
        .join("_");
    Err(ConfigError::SecretInFile {
        path: path.to_path_buf(),
        line: line.map(|l| l + 1),
        env: format!("{env}__{}", key.to_uppercase()),
        key,
    })
}

fn walk(table: &toml::Table, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &str)) {
    for (k, v) in table {
        f(path, k);
        match v {
            toml::Value::Table(t) => {
                path.push(k.clone());
                walk(t, path, f);
                path.pop();
            }
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(t) = item {
                        path.push(k.clone());
                        path.push(i.to_string());
                        walk(t, path, f);
                        path.pop();
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}

/// `BUTLER_SECTION__KEY=value` (and `BUTLER_DATA_DIR`, `BUTLER_PAYMASTERS__0__NAME`) as key paths.
/// Variables whose first segment names no top-level key are not overrides and are ignored.
fn env_overrides(opts: &LoadOptions) -> Vec<(String, Vec<String>, String)> {
    const TOP: &[&str] = &[
        "data_dir",
        "chain",
        "paymasters",
        "probe",
        "bundlers",
        "exporter",
        "watcher",
        "api",
        "fees",
    ];
    let mut out: Vec<_> = opts
        .env
        .iter()
        .filter(|(k, _)| k != CONFIG_ENV)
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix("BUTLER_")?;
            let segments: Vec<String> = rest.split("__").map(|s| s.to_lowercase()).collect();
            TOP.contains(&segments[0].as_str())
                .then(|| (k.clone(), segments, v.clone()))
        })
        .collect();
    out.sort();
    out
}

/// Applies every override. A value that reads as a TOML number, boolean or array is tried typed first
/// and as a plain string when the typed form does not fit the schema (a numeric token, say).
fn apply_overrides(
    table: &toml::Table,
    overrides: &[(String, Vec<String>, String)],
) -> Result<Config, ConfigError> {
    let typed: Vec<Option<toml::Value>> = overrides
        .iter()
        .map(|(_, _, raw)| {
            toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .filter(|v| !matches!(v, toml::Value::String(_) | toml::Value::Table(_)))
        })
        .collect();
    let attempt = |as_string: &[bool]| -> Result<Config, ConfigError> {
        let mut t = table.clone();
        for (i, (var, segments, raw)) in overrides.iter().enumerate() {
            let value = match (&typed[i], as_string[i]) {
                (Some(v), false) => v.clone(),
                _ => toml::Value::String(raw.clone()),
            };
            set_path(&mut t, segments, value).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
        }
        Config::deserialize(toml::Value::Table(t))
            .map_err(|e| env_error(overrides, e.message().trim()))
    };
    let base = vec![false; overrides.len()];
    let base_err = match attempt(&base) {
        Ok(c) => return Ok(c),
        Err(e) => e.to_string(),
    };
    let mut prefer_string = base.clone();
    for i in (0..overrides.len()).filter(|&i| typed[i].is_some()) {
        let mut flipped = base.clone();
        flipped[i] = true;
        match attempt(&flipped) {
            Ok(c) => return Ok(c),
            Err(e) if e.to_string() != base_err => prefer_string[i] = true,
            Err(_) => {}
        }
    }
    attempt(&prefer_string)
}

/// Names the env var an override error is about (by the key the message mentions), else all of them.
fn env_error(overrides: &[(String, Vec<String>, String)], message: &str) -> ConfigError {
    let hint = did_you_mean(message)
        .map(|h| format!("; did you mean `{h}`?"))
        .unwrap_or_default();
    let first_key = message.split('`').nth(1);
    let mentioned = overrides
        .iter()
        .find(|(_, segs, _)| segs.last().map(String::as_str) == first_key)
        .or_else(|| {
            overrides.iter().find(|(_, segs, _)| {
                segs.last()
                    .is_some_and(|k| message.contains(&format!("`{k}`")))
            })
        });
    let var = match mentioned {
        Some((var, _, _)) => var.clone(),
        None => overrides
            .iter()
            .map(|(v, _, _)| v.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    ConfigError::Env {
        var,
        message: format!("{message}{hint}"),
    }
}

fn set_path(
    table: &mut toml::Table,
    segments: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let (last, parents) = segments.split_last().ok_or("empty key")?;
    let mut cur = table;
    for (i, seg) in parents.iter().enumerate() {
        let next_is_index = parents
            .get(i + 1)
            .or(Some(last))
            .is_some_and(|s| s.parse::<usize>().is_ok());
        let entry = cur.entry(seg.clone()).or_insert_with(|| {
            if next_is_index {
                toml::Value::Array(Vec::new())
            } else {
                toml::Value::Table(toml::Table::new())
            }
        });
        cur = match entry {
            toml::Value::Table(t) => t,
            toml::Value::Array(items) => {
                let idx: usize = segments
                    .get(i + 1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        format!("`{seg}` is a list: address an element as {seg}__<index>__<key>")
                    })?;
                if idx > items.len() {
                    return Err(format!(
                        "`{seg}` has {} entries; index {idx} would leave a gap",
                        items.len()
                    ));
                }
                if idx == items.len() {
                    items.push(toml::Value::Table(toml::Table::new()));
                }
                match &mut items[idx] {
                    toml::Value::Table(t) => {
                        return set_path(t, &segments[i + 2..], value);
                    }
                    _ => return Err(format!("`{seg}` entry {idx} is not a table")),
                }
            }
            _ => return Err(format!("`{seg}` is a value, not a section")),
        };
    }
    cur.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &Path, env: &[(&str, &str)]) -> LoadOptions {
        LoadOptions {
            explicit: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: dir.join("cwd"),
            platform_dir: Some(dir.join("platform")),
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const A: &str = "[chain]\nrpc_url = \"http://a:1\"\n";
    const B: &str = "[chain]\nrpc_url = \"http://b:2\"\n";
    const C: &str = "[chain]\nrpc_url = \"http://c:3\"\n";
    const D: &str = "[chain]\nrpc_url = \"http://d:4\"\n";

    fn rpc(l: &Loaded) -> String {
        l.config.chain.as_ref().unwrap().rpc_url.to_string()
    }

    #[test]
    fn lookup_order_flag_env_cwd_platform() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("flag.toml"), A);
        write(&d.join("env.toml"), B);
        write(&d.join("cwd/butler.toml"), C);
        write(&d.join("platform/butler.toml"), D);
        let env_path = d.join("env.toml").display().to_string();
        let mut o = opts(d, &[(CONFIG_ENV, &env_path)]);
        o.explicit = Some(d.join("flag.toml"));
        assert_eq!(rpc(&load(&o).unwrap()), "http://a:1/");
        o.explicit = None;
        let l = load(&o).unwrap();
        assert_eq!(
            (rpc(&l).as_str(), l.source),
            ("http://b:2/", "$BUTLER_CONFIG")
        );
        let o = opts(d, &[]);
        assert_eq!(load(&o).unwrap().source, "./butler.toml");
        std::fs::remove_file(d.join("cwd/butler.toml")).unwrap();
        let l = load(&o).unwrap();
        assert_eq!(
            (rpc(&l).as_str(), l.source),
            ("http://d:4/", "platform config dir")
        );
        std::fs::remove_file(d.join("platform/butler.toml")).unwrap();
        let l = load(&o).unwrap();
        assert!(l.path.is_none() && l.config.chain.is_none());
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), &[]);
        o.explicit = Some(dir.path().join("absent.toml"));
        let err = load(&o).unwrap_err().to_string();
        assert!(
            err.contains("absent.toml") && err.contains("--config"),
            "{err}"
        );
    }

    #[test]
    fn env_overrides_typed_values_and_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(
            dir.path(),
            &[
                ("BUTLER_CHAIN__RPC_URL", "http://x:9"),
                ("BUTLER_CHAIN__CHAIN_ID", "31337"),
                ("BUTLER_PAYMASTERS__0__NAME", "pm"),
                (
                    "BUTLER_PAYMASTERS__0__ADDRESS",
                    "0x0000000000000000000000000000000000000001",
                ),
                (
                    "BUTLER_PAYMASTERS__0__ENTRYPOINT",
                    "0x0000000071727De22E5E9d8BAf0edAc6f37da032",
                ),
                ("BUTLER_PAYMASTERS__0__MIN_DEPOSIT_ETH", "1.5"),
                ("BUTLER_DEVNET_HOME", "/not/a/config/key"),
                ("BUTLER_API__ADMIN_TOKEN", "s3cret"),
            ],
        );
        let l = load(&o).unwrap();
        let c = l.config;
        assert_eq!(c.chain.as_ref().unwrap().chain_id, Some(31337));
        assert_eq!(c.paymasters[0].name, "pm");
        assert_eq!(
            c.paymasters[0].min_deposit_eth.unwrap().0,
            alloy::primitives::U256::from(15u64)
                * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(17u64))
        );
        assert_eq!(
            c.api.unwrap().admin_token().unwrap().unwrap().expose(),
            "s3cret"
        );
    }

    #[test]
    fn env_override_with_unknown_key_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let o = opts(
            dir.path(),
            &[
                ("BUTLER_CHAIN__RPC_URL", "http://x:9"),
                ("BUTLER_CHAIN__RPC_URLL", "x"),
            ],
        );
        let err = load(&o).unwrap_err().to_string();
        assert!(
            err.contains("BUTLER_CHAIN__RPC_URLL") && err.contains("did you mean `rpc_url`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.toml");
        write(
            &p,
            "# comment\n[chain]\nrpc_url = \"http://a:1\"\nchain_di = 5\n",
        );
        let mut o = opts(dir.path(), &[]);
        o.explicit = Some(p.clone());
        let err = load(&o).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:4:1:", p.display())), "{err}");
        assert!(
            err.contains("unknown field `chain_di`") && err.contains("did you mean `chain_id`?"),
            "{err}"
        );
    }

    #[test]
    fn malformed_address_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.toml");
        write(
            &p,
            "[[paymasters]]\nname = \"x\"\naddress = \"0x12\"\nentrypoint = \"0x0000000071727De22E5E9d8BAf0edAc6f37da032\"\n",
        );
        let err = parse_str(&std::fs::read_to_string(&p).unwrap(), &p)
            .unwrap_err()
            .to_string();
        assert!(err.contains(":3:"), "{err}");
    }

    #[test]
    fn bad_checksum_is_refused_lowercase_accepted() {
        let p = PathBuf::from("c.toml");
        let good = "[probe]\nfactory = \"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0\"\n";
        parse_str(good, &p).unwrap();
        parse_str(&good.to_lowercase(), &p).unwrap();
        let bad = "[probe]\nfactory = \"0x9FE46736679d2D9a65F0992F2272dE9f3c7fa6e0\"\n";
        let err = parse_str(bad, &p).unwrap_err().to_string();
        assert!(
            err.starts_with("c.toml:2:12:") && err.contains("EIP-55"),
            "{err}"
        );
    }

    #[test]
    fn secrets_in_the_file_are_refused() {
        let p = PathBuf::from("/etc/butler.toml");
        let err = parse_str("[api]\nadmin_token = \"abc\"\n", &p)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/etc/butler.toml:2") && err.contains("BUTLER_API__ADMIN_TOKEN"),
            "{err}"
        );
        assert!(err.contains("admin_token_file"), "{err}");
    }

    #[test]
    fn example_config_parses() {
        let c = parse_str(EXAMPLE_CONFIG, Path::new("config/butler.example.toml")).unwrap();
        c.validate().unwrap();
        assert!(c.chain.is_some() && !c.paymasters.is_empty() && c.fees.is_some());
    }

    #[test]
    fn duplicate_names_are_refused() {
        let text = "[[bundlers]]\nname = \"a\"\nrpc_url = \"http://x\"\n[[bundlers]]\nname = \"a\"\nrpc_url = \"http://y\"\n";
        let c = parse_str(text, Path::new("x.toml")).unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`a` appears twice")
        );
    }
}
