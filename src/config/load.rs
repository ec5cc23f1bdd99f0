//! Finding and loading the configuration: the file in lookup order, then the `BUTLER_SECTION__KEY` env
//! overrides (applied on the parsed document, see [`super::document`]), then the rules serde cannot express.

use std::path::PathBuf;

use super::document::{self, Override};
use super::{Config, ConfigError};

/// The env var that names the config file.
pub const CONFIG_ENV: &str = "BUTLER_CONFIG";

/// The commented example configuration (`config/butler.example.toml`), also written by `butler config init`.
pub const EXAMPLE_CONFIG: &str = include_str!("../../config/butler.example.toml");

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
    let overrides = env_overrides(opts);
    let mut config = document::parse(&text, &display_path, &overrides)?;
    let applied = overrides.into_iter().map(|o| o.var).collect();
    config.validate()?;
    if let Some(chain) = config.chain.as_mut() {
        chain.read_urls_file()?;
    }
    Ok(Loaded {
        config,
        path,
        source,
        overrides: applied,
    })
}

/// `BUTLER_SECTION__KEY=value` (and `BUTLER_DATA_DIR`, `BUTLER_PAYMASTERS__0__NAME`) as key paths, in
/// variable order. Variables whose first segment names no top-level key of [`Config`] are not overrides and
/// are ignored.
fn env_overrides(opts: &LoadOptions) -> Vec<Override> {
    let top = serde_aux::serde_introspection::serde_introspect::<Config>();
    let mut out: Vec<Override> = opts
        .env
        .iter()
        .filter(|(k, _)| k != CONFIG_ENV)
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix("BUTLER_")?;
            let segments: Vec<String> = rest.split("__").map(|s| s.to_lowercase()).collect();
            top.contains(&segments[0].as_str()).then(|| Override {
                var: k.clone(),
                segments,
                raw: v.clone(),
            })
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Config text without env overrides.
    fn parse_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        document::parse(text, path, &[])
    }

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
        l.config
            .chain
            .as_ref()
            .unwrap()
            .rpc_url
            .as_ref()
            .unwrap()
            .to_string()
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
    fn a_bad_checksum_from_the_environment_is_refused_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let pm = |address: &'static str| {
            opts(
                dir.path(),
                &[
                    ("BUTLER_PAYMASTERS__0__NAME", "pm"),
                    ("BUTLER_PAYMASTERS__0__ADDRESS", address),
                    (
                        "BUTLER_PAYMASTERS__0__ENTRYPOINT",
                        "0x0000000071727De22E5E9d8BAf0edAc6f37da032",
                    ),
                ],
            )
        };
        let err = load(&pm("0x9FE46736679d2D9a65F0992F2272dE9f3c7fa6e0")).unwrap_err();
        assert!(matches!(err, ConfigError::Env { .. }), "{err}");
        let err = err.to_string();
        assert!(
            err.contains("BUTLER_PAYMASTERS__0__ADDRESS") && err.contains("EIP-55"),
            "{err}"
        );
        let good = load(&pm("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")).unwrap();
        assert_eq!(
            good.config.paymasters[0].address.to_checksum(None),
            "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
        );
        load(&pm("0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0")).unwrap();
    }

    #[test]
    fn a_bad_checksum_in_a_list_is_refused_with_its_position() {
        let p = PathBuf::from("c.toml");
        let text = "[[bundlers]]\nname = \"a\"\nrpc_url = \"http://x\"\nexecutors = [\"0x9FE46736679d2D9a65F0992F2272dE9f3c7fa6e0\"]\n";
        let err = parse_str(text, &p).unwrap_err().to_string();
        assert!(
            err.starts_with("c.toml:4:15:") && err.contains("EIP-55"),
            "{err}"
        );
    }

    #[test]
    fn a_wrong_type_from_the_environment_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.toml");
        write(&p, "[watcher]\nconfirmations = 2\n");
        let mut o = opts(
            dir.path(),
            &[("BUTLER_WATCHER__POLL_INTERVAL_SECS", "soon")],
        );
        o.explicit = Some(p);
        let err = load(&o).unwrap_err().to_string();
        assert!(
            err.starts_with("environment variable BUTLER_WATCHER__POLL_INTERVAL_SECS:"),
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
    fn a_secret_in_a_list_entry_names_the_indexed_env_key() {
        let p = PathBuf::from("/etc/butler.toml");
        let text = "[[exporter.probes]]\nname = \"a\"\nurl = \"http://x\"\nmethod = \"m\"\n\
                    [[exporter.probes]]\nname = \"b\"\nbearer_token = \"abc\"\n";
        let err = parse_str(text, &p).unwrap_err().to_string();
        assert!(
            err.contains("/etc/butler.toml:7")
                && err.contains("BUTLER_EXPORTER__PROBES__1__BEARER_TOKEN"),
            "{err}"
        );
    }

    #[test]
    fn paymaster_ops_keys_come_from_the_environment_and_are_refused_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ops.toml");
        write(&p, "[paymaster_ops]\nauto_topup = true\n");
        let mut o = opts(
            dir.path(),
            &[
                ("BUTLER_PAYMASTER_OPS__FUNDER_KEY", "0x01"),
                ("BUTLER_PAYMASTER_OPS__ADMIN_KEY", "0x02"),
            ],
        );
        o.explicit = Some(p);
        let l = load(&o).unwrap();
        let ops = l.config.paymaster_ops.as_ref().unwrap();
        assert!(ops.auto_topup);
        assert_eq!(ops.funder_key().unwrap().unwrap().expose(), "0x01");
        assert_eq!(ops.admin_key().unwrap().unwrap().expose(), "0x02");
        let path = PathBuf::from("/etc/butler.toml");
        for key in ["funder_key", "admin_key"] {
            let err = parse_str(&format!("[paymaster_ops]\n{key} = \"0x01\"\n"), &path)
                .unwrap_err()
                .to_string();
            let env = format!("BUTLER_PAYMASTER_OPS__{}", key.to_uppercase());
            assert!(
                err.contains("/etc/butler.toml:2") && err.contains(&env),
                "{err}"
            );
        }
    }

    #[test]
    fn example_config_parses() {
        let c = parse_str(EXAMPLE_CONFIG, Path::new("config/butler.example.toml")).unwrap();
        c.validate().unwrap();
        assert!(c.chain.is_some() && !c.paymasters.is_empty() && c.fees.is_some());
    }

    #[test]
    fn watcher_store_keys() {
        use crate::watcher::backend::StoreSettings;
        let store = |body: &str| -> Result<StoreSettings, ConfigError> {
            let c = parse_str(
                &format!("data_dir = \"/d\"\n[watcher]\n{body}"),
                Path::new("x.toml"),
            )?;
            c.validate()?;
            StoreSettings::try_from(&c)
        };
        assert!(matches!(store(""), Ok(StoreSettings::Ndjson { .. })));
        let pg = store(
            "store = \"postgres\"\ndatabase_url = \"postgres://u@h:5432/db\"\nread_only = true\n",
        );
        assert!(
            matches!(pg, Ok(StoreSettings::Postgres(ref d)) if d.url == "postgres://u@h:5432/db"),
            "{pg:?}"
        );
        let e = store("store = \"postgres\"\n").unwrap_err().to_string();
        assert!(e.contains("database_url"), "{e}");
        let e = store("store = \"postgres\"\ndatabase_url = \"postgres://u:pw@h/db\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("must not contain a password")
                && e.contains("BUTLER_WATCHER__DATABASE_PASSWORD"),
            "{e}"
        );
        let e = store("read_only = true\n").unwrap_err().to_string();
        assert!(e.contains("read_only") && e.contains("postgres"), "{e}");
        assert!(store("store = \"sqlite\"\n").is_err());
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
