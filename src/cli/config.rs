//! `butler config init|check|show`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::Ctx;
use crate::config::EXAMPLE_CONFIG;
use crate::output::{OutputFormat, print_json};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write the commented example configuration to stdout or to a new file.
    #[command(
        after_help = "Examples:\n  butler config init > butler.toml\n  butler config init --path ~/.config/butler/butler.toml"
    )]
    Init {
        /// Write to this file instead of stdout; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        path: Option<PathBuf>,
    },
    /// Validate the configuration; every problem names its file and line.
    #[command(
        after_help = "Examples:\n  butler config check\n  butler --config /etc/butler/butler.toml config check"
    )]
    Check,
    /// Print the effective configuration (file plus env overrides), secrets redacted.
    #[command(
        after_help = "Examples:\n  butler config show\n  BUTLER_CHAIN__RPC_URL=http://127.0.0.1:8545 butler config show --output json"
    )]
    Show,
}

pub fn run(ctx: &Ctx, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Init { path: None } => {
            std::io::stdout()
                .write_all(EXAMPLE_CONFIG.as_bytes())
                .context("writing to stdout")?;
        }
        ConfigCommand::Init { path: Some(path) } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => anyhow::Error::new(super::UsageError(
                        format!("{} already exists; not overwriting it", path.display()),
                    )),
                    _ => anyhow::Error::new(e).context(format!("creating {}", path.display())),
                })?;
            file.write_all(EXAMPLE_CONFIG.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        ConfigCommand::Check => {
            let loaded = ctx.loaded()?;
            let c = &loaded.config;
            let file = loaded.path.as_ref().map(|p| p.display().to_string());
            match ctx.output() {
                OutputFormat::Json => print_json(&serde_json::json!({
                    "ok": true,
                    "file": file,
                    "source": loaded.source,
                    "env_overrides": loaded.overrides,
                }))?,
                OutputFormat::Table => {
                    match &file {
                        Some(f) => println!("ok: {f} (found via {})", loaded.source),
                        None => {
                            println!("ok: no config file found; defaults and env overrides only")
                        }
                    }
                    if !loaded.overrides.is_empty() {
                        println!("env overrides: {}", loaded.overrides.join(", "));
                    }
                    println!(
                        "sections: chain={} paymasters={} bundlers={} probe={} exporter={} watcher={} api={} fees={}",
                        c.chain.is_some(),
                        c.paymasters.len(),
                        c.bundlers.len(),
                        c.probe.is_some(),
                        c.exporter.is_some(),
                        c.watcher.is_some(),
                        c.api.is_some(),
                        c.fees.is_some()
                    );
                }
            }
        }
        ConfigCommand::Show => {
            let mut value = serde_json::to_value(ctx.config()?)?;
            checksum_addresses(&mut value);
            match ctx.output() {
                OutputFormat::Json => print_json(&value)?,
                OutputFormat::Table => print!("{}", toml::to_string_pretty(&value)?),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every address-shaped string in EIP-55 form (the schema stores addresses, which serialise lowercase).
fn checksum_addresses(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            if text.len() == 42
                && let Ok(addr) = text.parse::<alloy::primitives::Address>()
            {
                *text = addr.to_checksum(None);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(checksum_addresses),
        serde_json::Value::Object(map) => map.values_mut().for_each(checksum_addresses),
        _ => {}
    }
}
