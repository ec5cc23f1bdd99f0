//! `butler fees`: every fee-manager admin operation against the store directly (no server needed), plus
//! `vouch-config` (what Vouch would receive), `export` and `import` of the whole configuration.
//!
//! `set`/`update` merge onto the stored entry: flags not given keep their value, `none` unsets one, and
//! `--relay` (repeatable) or `--no-relays` replaces the relay list.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::fees_input::{
    emit_json, number_filters, opt, overlay_settings, paging, read_keys, relays_table,
};
use super::{Ctx, UsageError};
use crate::fees::model::*;
use crate::fees::snapshot::Snapshot;
use crate::fees::validate;
use crate::fees::{FeesError, FeesSettings, Store, vouch};
use crate::output::{OutputFormat, kv_table};

#[derive(Debug, Subcommand)]
pub enum FeesCommand {
    /// Per-validator entries (keyed by BLS public key).
    #[command(subcommand)]
    Proposers(ProposersCommand),
    /// Named default configs (the top level of a Vouch execution config).
    #[command(subcommand)]
    Configs(NamedCommand),
    /// Proposer patterns: regexes over account names, selected by tags.
    #[command(subcommand)]
    Patterns(NamedCommand),
    /// Commit-Boost muxes: named key sets (a key belongs to one mux at most).
    #[command(subcommand)]
    Mux(MuxCommand),
    /// Print the execution config Vouch would receive for these keys and tags.
    #[command(
        after_help = "Examples:\n  butler fees vouch-config main --key 0x8021...8bbe --tags pool-1,high-value"
    )]
    VouchConfig(VouchConfigArgs),
    /// Write the whole configuration as one JSON or TOML document.
    #[command(
        after_help = "Examples:\n  butler fees export > fees.json\n  butler fees export --format toml --out fees.toml"
    )]
    Export(ExportArgs),
    /// Make the store equal to a document (JSON, or TOML for *.toml): validated first, applied in one transaction.
    #[command(
        after_help = "Examples:\n  butler fees import fees.json --dry-run\n  butler fees import fees.toml"
    )]
    Import(ImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProposersCommand {
    /// List proposers (filters AND-combined).
    #[command(
        after_help = "Examples:\n  butler fees proposers list --public-key 0x80 --limit 50\n  butler fees proposers list --min-value 0.5 --reset-relays true --output json"
    )]
    List(ProposerListArgs),
    /// Show one proposer with its relays.
    #[command(after_help = "Examples:\n  butler fees proposers get 0x8021...8bbe")]
    Get(KeyArg),
    /// Create or change a proposer (flags not given keep their value; `none` unsets).
    #[command(
        after_help = "Examples:\n  butler fees proposers set 0x8021...8bbe --fee-recipient 0x9999...1111 --min-value 0.5\n  butler fees proposers set 0x8021...8bbe --relay https://relay2.example.com/,disabled"
    )]
    Set(ProposerSetArgs),
    /// Delete a proposer.
    #[command(after_help = "Examples:\n  butler fees proposers delete 0x8021...8bbe")]
    Delete(KeyArg),
}

/// Default configs and patterns share their verbs; `create`/`update` take the flags of their kind.
#[derive(Debug, Subcommand)]
pub enum NamedCommand {
    /// List (filters AND-combined).
    #[command(
        after_help = "Examples:\n  butler fees configs list --active true\n  butler fees patterns list --tag pool-1 --output json"
    )]
    List(NamedListArgs),
    /// Show one, with its relays.
    #[command(
        after_help = "Examples:\n  butler fees configs get main\n  butler fees patterns get pool1-mainnet"
    )]
    Get(NameArg),
    /// Create one.
    #[command(
        after_help = "Examples:\n  butler fees configs create main --fee-recipient 0x1234...5678 --gas-limit 30000000 --min-value 0.1 --relay https://relay1.example.com/,public_key=0xac6e...\n  butler fees patterns create pool1-mainnet --pattern '^Pool1/.*$' --tag pool-1 --fee-recipient 0x7777...2222 --reset-relays true"
    )]
    Create(NamedSetArgs),
    /// Change one (flags not given keep their value; `none` unsets).
    #[command(
        after_help = "Examples:\n  butler fees configs update main --min-value 0.2\n  butler fees patterns update pool1-mainnet --tag pool-1 --tag backup"
    )]
    Update(NamedSetArgs),
    /// Delete one.
    #[command(after_help = "Examples:\n  butler fees configs delete testnet")]
    Delete(NameArg),
}

#[derive(Debug, Subcommand)]
pub enum MuxCommand {
    /// List muxes with their key counts.
    #[command(after_help = "Examples:\n  butler fees mux list --output json")]
    List(PagingArgs),
    /// Show the keys of a mux.
    #[command(after_help = "Examples:\n  butler fees mux get pool-1")]
    Get(NameArg),
    /// Create a mux.
    #[command(after_help = "Examples:\n  butler fees mux create pool-1 --keys-file pool-1.json")]
    Create(MuxKeysArgs),
    /// Replace the keys of a mux.
    #[command(
        after_help = "Examples:\n  butler fees mux update pool-1 --key 0x8160...ca67 --key 0x87b5...bf17"
    )]
    Update(MuxKeysArgs),
    /// Delete a mux.
    #[command(after_help = "Examples:\n  butler fees mux delete pool-1")]
    Delete(NameArg),
    /// Add keys to a mux (keys it already has are skipped).
    #[command(after_help = "Examples:\n  butler fees mux add-keys pool-1 --key 0x89e2...bc52")]
    AddKeys(MuxKeysArgs),
    /// Remove keys from a mux.
    #[command(after_help = "Examples:\n  butler fees mux remove-keys pool-1 --key 0x89e2...bc52")]
    RemoveKeys(MuxKeysArgs),
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

#[derive(Debug, Args)]
pub struct ProposerListArgs {
    /// Public key (exact or prefix).
    #[arg(long)]
    pub public_key: Option<String>,
    #[arg(long)]
    pub reset_relays: Option<bool>,
    #[command(flatten)]
    pub common: CommonFilters,
}

#[derive(Debug, Args)]
pub struct NamedListArgs {
    /// Name (exact or prefix).
    #[arg(long)]
    pub name: Option<String>,
    /// Default configs: active or not.
    #[arg(long)]
    pub active: Option<bool>,
    /// Patterns: substring of the regex.
    #[arg(long)]
    pub pattern: Option<String>,
    /// Patterns: carrying this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Patterns: reset_relays flag.
    #[arg(long)]
    pub reset_relays: Option<bool>,
    #[command(flatten)]
    pub common: CommonFilters,
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

#[derive(Debug, Args)]
pub struct ProposerSetArgs {
    pub public_key: String,
    /// Replace the default's relays instead of merging with them.
    #[arg(long)]
    pub reset_relays: Option<bool>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct NamedSetArgs {
    pub name: String,
    /// Default configs: served to Vouch only when active.
    #[arg(long)]
    pub active: Option<bool>,
    /// Patterns: regex over account names (`wallet/account`; Vouch anchors it).
    #[arg(long)]
    pub pattern: Option<String>,
    /// Patterns: a tag (repeatable; replaces the tag list).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Patterns: replace the default's relays instead of merging with them.
    #[arg(long)]
    pub reset_relays: Option<bool>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct MuxKeysArgs {
    pub name: String,
    /// A validator public key (repeatable).
    #[arg(long = "key")]
    pub keys: Vec<String>,
    /// A file of keys: a JSON array, or one key per line.
    #[arg(long)]
    pub keys_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VouchConfigArgs {
    /// Default config name.
    #[arg(value_name = "CONFIG")]
    pub config_name: String,
    #[arg(long = "key")]
    pub keys: Vec<String>,
    #[arg(long)]
    pub keys_file: Option<PathBuf>,
    /// Comma-separated tags selecting patterns.
    #[arg(long)]
    pub tags: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DocFormat {
    Json,
    Toml,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value_t = DocFormat::Json)]
    pub format: DocFormat,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The document (JSON, or TOML when the name ends in .toml).
    pub file: PathBuf,
    /// Show the plan without writing.
    #[arg(long)]
    pub dry_run: bool,
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
    result.map_err(cli)?;
    Ok(ExitCode::SUCCESS)
}

async fn dispatch(store: &Store, out: OutputFormat, cmd: FeesCommand) -> Result<(), FeesError> {
    match cmd {
        FeesCommand::Proposers(c) => proposers(store, out, c).await,
        FeesCommand::Configs(c) => super::fees_named::configs(store, out, c).await,
        FeesCommand::Patterns(c) => super::fees_named::patterns(store, out, c).await,
        FeesCommand::Mux(c) => super::fees_named::mux(store, out, c).await,
        FeesCommand::VouchConfig(a) => {
            let keys = read_keys(&a.keys, a.keys_file.as_deref())?;
            let keys = keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    validate::pubkey_bytes(k)
                        .ok_or_else(|| validate::not_a_pubkey(&format!("--key[{i}]"), k))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let tags = vouch::parse_tags(a.tags.as_deref())?;
            let (version, config) = store.load().await?;
            let answer = Snapshot::build(version, &config)?.execution_config(
                &a.config_name,
                &keys,
                &tags,
            )?;
            // Field order is kept (serde_json's preserve_order), so this prints what the server answers.
            emit_json(&serde_json::from_slice::<serde_json::Value>(&answer)?)
        }
        FeesCommand::Export(a) => super::fees_input::export(store, a).await,
        FeesCommand::Import(a) => super::fees_input::import(store, out, a).await,
    }
}

fn proposer_row(p: &Record<Proposer>) -> Vec<String> {
    let s = &p.item.settings;
    vec![
        p.item.public_key.clone(),
        opt(&s.fee_recipient),
        opt(&s.gas_limit),
        opt(&s.min_value),
        p.item.reset_relays.to_string(),
        p.stamps
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    ]
}

async fn proposers(
    store: &Store,
    out: OutputFormat,
    cmd: ProposersCommand,
) -> Result<(), FeesError> {
    match cmd {
        ProposersCommand::List(a) => {
            let (gas_limit, min_value) = number_filters(&a.common)?;
            let f = ProposerFilter {
                public_key: a.public_key,
                fee_recipient: a.common.fee_recipient.clone(),
                gas_limit,
                min_value,
                reset_relays: a.reset_relays,
            };
            let page = store.list_proposers(&f, paging(&a.common.paging)?).await?;
            super::fees_named::print_page(
                out,
                "proposers",
                page,
                &[
                    "public_key",
                    "fee_recipient",
                    "gas_limit",
                    "min_value",
                    "reset_relays",
                    "updated_at",
                ],
                proposer_row,
            )
        }
        ProposersCommand::Get(a) => {
            let key = validate::pubkey_shape("public_key", &a.public_key)?;
            let p = store
                .get_proposer(&key)
                .await?
                .ok_or_else(|| FeesError::NotFound(format!("Proposer '{key}' not found")))?;
            show_proposer(out, &p)
        }
        ProposersCommand::Set(a) => {
            let key = validate::pubkey_shape("public_key", &a.public_key)?;
            let mut input = match store.get_proposer(&key).await? {
                Some(p) => ProposerInput::from(&p.item),
                None => ProposerInput::default(),
            };
            if let Some(r) = a.reset_relays {
                input.reset_relays = Some(r);
            }
            overlay_settings(
                &a.settings,
                &mut input.fee_recipient,
                &mut input.gas_limit,
                &mut input.grace,
                &mut input.min_value,
                &mut input.relays,
            )?;
            let p = input.validate(Some(&key), "")?;
            let (rec, _) = store.put_proposer(&p).await?;
            show_proposer(out, &rec)
        }
        ProposersCommand::Delete(a) => {
            let key = validate::pubkey_shape("public_key", &a.public_key)?;
            if !store.delete_proposer(&key).await? {
                return Err(FeesError::NotFound(format!("Proposer '{key}' not found")));
            }
            super::fees_named::deleted(out, &key)
        }
    }
}

fn show_proposer(out: OutputFormat, p: &Record<Proposer>) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(p);
    }
    let s = &p.item.settings;
    println!(
        "{}",
        kv_table([
            ("public_key", p.item.public_key.clone()),
            ("fee_recipient", opt(&s.fee_recipient)),
            ("gas_limit", opt(&s.gas_limit)),
            ("grace", opt(&s.grace)),
            ("min_value", opt(&s.min_value)),
            ("reset_relays", p.item.reset_relays.to_string()),
            (
                "created_at",
                p.stamps
                    .created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            (
                "updated_at",
                p.stamps
                    .updated_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ])
    );
    println!(
        "{}",
        relays_table(p.item.relays.as_deref().unwrap_or_default())
    );
    Ok(())
}
