//! `butler fees`: every fee-manager admin operation against the store directly (no server needed), plus
//! `vouch-config` (what Vouch would receive), `explain` (what one validator gets), `check` (the stored
//! configuration against the clients' rules), `export` and `import` of the whole configuration.
//!
//! `set`/`update` merge onto the stored entry: flags not given keep their value, `none` unsets one, and
//! `--relay` (repeatable) or `--no-relays` replaces the relay list. One file per entity: [`proposers`],
//! [`configs`], [`patterns`], [`mux`]; [`transfer`] holds `vouch-config`, `export` and `import`.

mod check;
mod configs;
mod explain;
mod mux;
mod patterns;
mod proposers;
mod transfer;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Ctx, UsageError};
use crate::fees::model::*;
use crate::fees::validate::{self, Loose};
use crate::fees::{FeesError, FeesSettings, Store};
use crate::output::{OutputFormat, kv_table, print_json, table};

#[derive(Debug, Subcommand)]
pub enum FeesCommand {
    /// Per-validator entries (keyed by BLS public key).
    #[command(subcommand)]
    Proposers(proposers::ProposersCommand),
    /// Named default configs (the top level of a Vouch execution config).
    #[command(subcommand)]
    Configs(configs::ConfigsCommand),
    /// Proposer patterns: regexes (Go syntax) over account names, selected by tags.
    #[command(subcommand)]
    Patterns(patterns::PatternsCommand),
    /// Commit-Boost muxes: named key sets (a key belongs to one mux at most, a mux has at least one key).
    #[command(subcommand)]
    Mux(mux::MuxCommand),
    /// Print the execution config Vouch would receive for these keys and tags.
    #[command(
        after_help = "Examples:\n  butler fees vouch-config main --key 0x8021...8bbe --tags pool-1,high-value"
    )]
    VouchConfig(transfer::VouchConfigArgs),
    /// What one validator will use (fee recipient, gas limit, grace, min value, relays), resolved from
    /// butler's answer as Vouch resolves it, with the entry that decided each value.
    #[command(
        after_help = "Examples:\n  butler fees explain 0x8021...8bbe --default-config main --tags pool-1 --account Pool1/validator-7\n  butler fees explain 0x8021...8bbe --output json"
    )]
    Explain(explain::ExplainArgs),
    /// Lint the whole stored configuration against what Vouch and Commit-Boost accept; exits 1 when a client
    /// would refuse something.
    #[command(after_help = "Examples:\n  butler fees check\n  butler fees check --output json")]
    Check,
    /// Write the whole configuration as one JSON or TOML document.
    #[command(
        after_help = "Examples:\n  butler fees export > fees.json\n  butler fees export --format toml --out fees.toml"
    )]
    Export(transfer::ExportArgs),
    /// Make the store equal to a document (JSON, or TOML for *.toml): validated first, applied in one transaction.
    #[command(
        after_help = "Examples:\n  butler fees import fees.json --dry-run\n  butler fees import fees.toml"
    )]
    Import(transfer::ImportArgs),
}

#[derive(Debug, Args)]
pub struct KeyArg {
    /// Validator BLS public key (0x and 96 hex digits).
    pub public_key: String,
}

#[derive(Debug, Args)]
pub struct NameArg {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PagingArgs {
    /// Results per page (1-1000).
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    #[arg(long, default_value_t = 0)]
    pub offset: i64,
}

/// Filters shared by the lists.
#[derive(Debug, Args)]
pub struct CommonFilters {
    /// Fee recipient (exact or prefix, any case).
    #[arg(long)]
    pub fee_recipient: Option<String>,
    /// Gas limit (exact).
    #[arg(long)]
    pub gas_limit: Option<String>,
    /// Minimum value in ETH (exact: 0.50 matches 0.5).
    #[arg(long)]
    pub min_value: Option<String>,
    #[command(flatten)]
    pub paging: PagingArgs,
}

impl CommonFilters {
    /// The settings filters, numbers canonicalised like stored values.
    fn settings_filter(&self) -> Result<SettingsFilter, FeesError> {
        Ok(SettingsFilter {
            fee_recipient: self.fee_recipient.clone(),
            gas_limit: self
                .gas_limit
                .as_ref()
                .map(|v| validate::gas_limit("--gas-limit", &Loose(v.clone())))
                .transpose()?,
            min_value: self
                .min_value
                .as_ref()
                .map(|v| validate::min_value("--min-value", &Loose(v.clone())))
                .transpose()?,
        })
    }
}

/// Values every level can set; `none` unsets on update.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Fee recipient address (EIP-55, or all lowercase).
    #[arg(long)]
    pub fee_recipient: Option<String>,
    /// Gas limit (integer).
    #[arg(long)]
    pub gas_limit: Option<String>,
    /// Relay grace period in milliseconds.
    #[arg(long)]
    pub grace: Option<String>,
    /// Minimum bid value in ETH (decimal).
    #[arg(long)]
    pub min_value: Option<String>,
    /// A relay: URL[,public_key=0x..][,fee_recipient=0x..][,gas_limit=N][,grace=MS][,min_value=ETH][,disabled]. Repeatable; replaces the relay list.
    #[arg(long = "relay", value_name = "SPEC")]
    pub relays: Vec<String>,
    /// Remove every relay.
    #[arg(long, conflicts_with = "relays")]
    pub no_relays: bool,
}

/// Bad input is a usage error (exit 2); the rest keep their meaning.
fn cli(e: FeesError) -> anyhow::Error {
    match e {
        FeesError::Invalid(m) => UsageError(m).into(),
        other => other.into(),
    }
}

pub async fn run(ctx: &Ctx, cmd: FeesCommand) -> anyhow::Result<ExitCode> {
    let settings: FeesSettings = ctx.settings()?;
    let store = Store::connect(&settings.database).await?;
    let out = ctx.output();
    let result = dispatch(&store, out, cmd).await;
    store.close().await;
    result.map_err(cli)
}

async fn dispatch(
    store: &Store,
    out: OutputFormat,
    cmd: FeesCommand,
) -> Result<ExitCode, FeesError> {
    match cmd {
        FeesCommand::Proposers(c) => proposers::run(store, out, c).await?,
        FeesCommand::Configs(c) => configs::run(store, out, c).await?,
        FeesCommand::Patterns(c) => patterns::run(store, out, c).await?,
        FeesCommand::Mux(c) => mux::run(store, out, c).await?,
        FeesCommand::VouchConfig(a) => transfer::vouch_config(store, a).await?,
        FeesCommand::Explain(a) => explain::run(store, out, a).await?,
        FeesCommand::Check => return check::run(store, out).await,
        FeesCommand::Export(a) => transfer::export(store, a).await?,
        FeesCommand::Import(a) => transfer::import(store, out, a).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the warnings about a pattern's constructs that Go (Vouch) and Rust read differently, on stderr.
fn print_pattern_warnings(name: &str, pattern: &str) {
    for w in validate::pattern_warnings(pattern) {
        eprintln!("warning: pattern '{name}': {w}");
    }
}

pub(super) fn stamp(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Prints a page as JSON (`{"<key>": [...], total, limit, offset}`) or a table with a footer.
pub(super) fn print_page<T: Serialize>(
    out: OutputFormat,
    key: &str,
    page: Page<T>,
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(&page.json(key));
    }
    let mut t = table(header.iter().copied());
    for item in &page.items {
        t.add_row(row(item));
    }
    println!("{t}");
    println!(
        "{} of {} (offset {}, limit {})",
        page.items.len(),
        page.total,
        page.offset,
        page.limit
    );
    Ok(())
}

pub(super) fn deleted(out: OutputFormat, what: &str) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(&serde_json::json!({ "deleted": what }));
    }
    println!("deleted {what}");
    Ok(())
}

pub(super) fn emit_json<T: Serialize + ?Sized>(v: &T) -> Result<(), FeesError> {
    print_json(v).map_err(|e| FeesError::Invalid(format!("cannot print JSON: {e}")))
}

/// Keys from `--key` flags and a keys file (JSON array or one per line).
pub(super) fn read_keys(
    flags: &[String],
    file: Option<&std::path::Path>,
) -> Result<Vec<String>, FeesError> {
    let mut keys = flags.to_vec();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| FeesError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        if text.trim_start().starts_with('[') {
            let list: Vec<String> = serde_json::from_str(&text).map_err(|e| {
                FeesError::Invalid(format!("{}: not a JSON array of keys: {e}", path.display()))
            })?;
            keys.extend(list);
        } else {
            keys.extend(text.split_whitespace().map(str::to_string));
        }
    }
    Ok(keys)
}

/// `none` unsets; anything else is the new value; absent keeps the current one.
fn overlay_str(current: &mut Option<String>, flag: &Option<String>) {
    if let Some(v) = flag {
        *current = (v != "none").then(|| v.clone());
    }
}

fn overlay_num(current: &mut Option<Loose>, flag: &Option<String>) {
    if let Some(v) = flag {
        *current = (v != "none").then(|| Loose(v.clone()));
    }
}

impl SettingsArgs {
    /// Applies the settings flags onto an input's settings fields.
    fn overlay(&self, fields: SettingsMut<'_>) {
        overlay_str(fields.fee_recipient, &self.fee_recipient);
        overlay_num(fields.gas_limit, &self.gas_limit);
        overlay_num(fields.grace, &self.grace);
        overlay_num(fields.min_value, &self.min_value);
    }

    /// Applies `--relay` / `--no-relays` onto an input's relay list.
    fn overlay_relays(&self, relays: &mut Option<Vec<RelayInput>>) -> Result<(), FeesError> {
        if self.no_relays {
            *relays = Some(Vec::new());
        } else if !self.relays.is_empty() {
            *relays = Some(
                self.relays
                    .iter()
                    .map(|r| relay_spec(r))
                    .collect::<Result<_, _>>()?,
            );
        }
        Ok(())
    }
}

/// `URL[,key=value...][,disabled]`.
fn relay_spec(spec: &str) -> Result<RelayInput, FeesError> {
    let mut parts = spec.split(',');
    let mut r = RelayInput {
        url: parts.next().map(str::to_string),
        ..RelayInput::default()
    };
    for part in parts {
        let (k, v) = part.split_once('=').unwrap_or((part, "true"));
        match k.trim() {
            "public_key" => r.public_key = Some(v.to_string()),
            "fee_recipient" => r.fee_recipient = Some(v.to_string()),
            "gas_limit" => r.gas_limit = Some(Loose(v.to_string())),
            "grace" => r.grace = Some(Loose(v.to_string())),
            "min_value" => r.min_value = Some(Loose(v.to_string())),
            "disabled" => r.disabled = Some(v != "false"),
            other => {
                return Err(FeesError::field(
                    "--relay",
                    format!(
                        "unknown attribute '{other}' in '{spec}' (public_key, fee_recipient, gas_limit, grace, min_value, disabled)"
                    ),
                ));
            }
        }
    }
    Ok(r)
}

pub(super) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".to_string())
}

/// Prints one entry of a `get` as tables: the `head` rows, its settings, the `tail` row and its timestamps,
/// then its relays.
pub(super) fn print_entry(
    head: Vec<(&'static str, String)>,
    s: &Settings,
    tail: (&'static str, String),
    stamps: &Stamps,
    relays: Option<&[Relay]>,
) {
    let settings = [
        ("fee_recipient", opt(&s.fee_recipient)),
        ("gas_limit", opt(&s.gas_limit)),
        ("grace", opt(&s.grace)),
        ("min_value", opt(&s.min_value)),
    ];
    let stamps = [
        ("created_at", stamp(&stamps.created_at)),
        ("updated_at", stamp(&stamps.updated_at)),
    ];
    let rows = head.into_iter().chain(settings).chain([tail]).chain(stamps);
    println!("{}", kv_table(rows));
    println!("{}", relays_table(relays.unwrap_or_default()));
}

pub(super) fn relays_table(relays: &[Relay]) -> comfy_table::Table {
    let mut t = table([
        "relay",
        "public_key",
        "fee_recipient",
        "gas_limit",
        "grace",
        "min_value",
        "disabled",
    ]);
    for r in relays {
        t.add_row(vec![
            r.url.clone(),
            r.public_key
                .as_deref()
                .map(validate::short)
                .unwrap_or_else(|| "-".into()),
            opt(&r.settings.fee_recipient),
            opt(&r.settings.gas_limit),
            opt(&r.settings.grace),
            opt(&r.settings.min_value),
            r.disabled.to_string(),
        ]);
    }
    t
}

pub(super) fn paging(p: &PagingArgs) -> Result<Paging, FeesError> {
    if !(1..=MAX_LIMIT).contains(&p.limit) {
        return Err(FeesError::field(
            "--limit",
            format!("{} is not from 1 to {MAX_LIMIT}", p.limit),
        ));
    }
    if p.offset < 0 {
        return Err(FeesError::field("--offset", "must not be negative"));
    }
    Ok(Paging {
        limit: p.limit,
        offset: p.offset,
    })
}
