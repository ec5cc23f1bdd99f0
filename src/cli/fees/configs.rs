//! `butler fees configs`: named default configs (the top level of a Vouch execution config).

use clap::{Args, Subcommand};

use super::{
    CommonFilters, NameArg, SettingsArgs, deleted, emit_json, opt, paging, print_entry, print_page,
    stamp,
};
use crate::fees::model::*;
use crate::fees::{FeesError, Kind, Store};
use crate::output::OutputFormat;

/// Default configs: the top level of a Vouch execution config.
#[derive(Debug, Subcommand)]
pub enum ConfigsCommand {
    /// List default configs (filters AND-combined).
    #[command(after_help = "Examples:\n  butler fees configs list --active true --output json")]
    List(ConfigListArgs),
    /// Show one, with its relays.
    #[command(after_help = "Examples:\n  butler fees configs get main")]
    Get(NameArg),
    /// Create one.
    #[command(
        after_help = "Examples:\n  butler fees configs create main --fee-recipient 0x1234...5678 --gas-limit 30000000 --min-value 0.1 --relay https://relay1.example.com/,public_key=0xac6e..."
    )]
    Create(ConfigSetArgs),
    /// Change one (flags not given keep their value; `none` unsets).
    #[command(after_help = "Examples:\n  butler fees configs update main --min-value 0.2")]
    Update(ConfigSetArgs),
    /// Delete one.
    #[command(after_help = "Examples:\n  butler fees configs delete testnet")]
    Delete(NameArg),
}

#[derive(Debug, Args)]
pub struct ConfigListArgs {
    /// Name (exact or prefix).
    #[arg(long)]
    pub name: Option<String>,
    /// Active or not.
    #[arg(long)]
    pub active: Option<bool>,
    #[command(flatten)]
    pub common: CommonFilters,
}

#[derive(Debug, Args)]
pub struct ConfigSetArgs {
    pub name: String,
    /// Served to Vouch only when active.
    #[arg(long)]
    pub active: Option<bool>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

fn show_default(out: OutputFormat, d: &Record<DefaultConfig>) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(d);
    }
    print_entry(
        vec![("name", d.item.name.clone())],
        &d.item.settings,
        ("active", d.item.active.to_string()),
        &d.stamps,
        d.item.relays.as_deref(),
    );
    Ok(())
}

fn default_missing(name: &str) -> FeesError {
    FeesError::not_found(Kind::DefaultConfig, name)
}

pub(super) async fn run(
    store: &Store,
    out: OutputFormat,
    cmd: ConfigsCommand,
) -> Result<(), FeesError> {
    match cmd {
        ConfigsCommand::List(a) => {
            let f = DefaultConfigFilter {
                name: a.name,
                settings: a.common.settings_filter()?,
                active: a.active,
            };
            let page = store
                .list::<DefaultConfig>(&f, paging(&a.common.paging)?)
                .await?;
            print_page(
                out,
                "configs",
                page,
                &[
                    "name",
                    "fee_recipient",
                    "gas_limit",
                    "min_value",
                    "active",
                    "updated_at",
                ],
                |d: &Record<DefaultConfig>| {
                    let s = &d.item.settings;
                    vec![
                        d.item.name.clone(),
                        opt(&s.fee_recipient),
                        opt(&s.gas_limit),
                        opt(&s.min_value),
                        d.item.active.to_string(),
                        stamp(&d.stamps.updated_at),
                    ]
                },
            )
        }
        ConfigsCommand::Get(a) => {
            let d = store
                .get::<DefaultConfig>(&a.name)
                .await?
                .ok_or_else(|| default_missing(&a.name))?;
            show_default(out, &d)
        }
        ConfigsCommand::Create(a) => {
            let mut input = DefaultConfigInput {
                name: Some(a.name.clone()),
                active: a.active,
                ..DefaultConfigInput::default()
            };
            a.settings.overlay(input.settings_mut());
            a.settings.overlay_relays(&mut input.relays)?;
            let rec = store.create_default(&input.validate(None, "")?).await?;
            show_default(out, &rec)
        }
        ConfigsCommand::Update(a) => {
            let cur = store
                .get::<DefaultConfig>(&a.name)
                .await?
                .ok_or_else(|| default_missing(&a.name))?;
            let mut input = DefaultConfigInput::from(&cur.item);
            if let Some(v) = a.active {
                input.active = Some(v);
            }
            a.settings.overlay(input.settings_mut());
            a.settings.overlay_relays(&mut input.relays)?;
            let rec = store
                .update_default(&input.validate(Some(&a.name), "")?)
                .await?;
            show_default(out, &rec)
        }
        ConfigsCommand::Delete(a) => {
            if !store.delete::<DefaultConfig>(&a.name).await? {
                return Err(default_missing(&a.name));
            }
            deleted(out, &a.name)
        }
    }
}
