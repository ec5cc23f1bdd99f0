//! `butler fees proposers`: per-validator entries keyed by BLS public key (upsert with `set`).

use clap::{Args, Subcommand};

use super::{
    CommonFilters, KeyArg, SettingsArgs, deleted, emit_json, opt, paging, print_entry, print_page,
    stamp,
};
use crate::fees::model::*;
use crate::fees::validate;
use crate::fees::{FeesError, Kind, Store};
use crate::output::OutputFormat;

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
pub struct ProposerSetArgs {
    pub public_key: String,
    /// Replace the default's relays instead of merging with them.
    #[arg(long)]
    pub reset_relays: Option<bool>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

fn proposer_row(p: &Record<Proposer>) -> Vec<String> {
    let s = &p.item.settings;
    vec![
        p.item.public_key.clone(),
        opt(&s.fee_recipient),
        opt(&s.gas_limit),
        opt(&s.min_value),
        p.item.reset_relays.to_string(),
        stamp(&p.stamps.updated_at),
    ]
}

pub(super) async fn run(
    store: &Store,
    out: OutputFormat,
    cmd: ProposersCommand,
) -> Result<(), FeesError> {
    match cmd {
        ProposersCommand::List(a) => {
            let f = ProposerFilter {
                public_key: a.public_key,
                settings: a.common.settings_filter()?,
                reset_relays: a.reset_relays,
            };
            let page = store
                .list::<Proposer>(&f, paging(&a.common.paging)?)
                .await?;
            print_page(
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
                .get::<Proposer>(&key)
                .await?
                .ok_or_else(|| FeesError::not_found(Kind::Proposer, key))?;
            show_proposer(out, &p)
        }
        ProposersCommand::Set(a) => {
            let key = validate::pubkey_shape("public_key", &a.public_key)?;
            let mut input = match store.get::<Proposer>(&key).await? {
                Some(p) => ProposerInput::from(&p.item),
                None => ProposerInput::default(),
            };
            if let Some(r) = a.reset_relays {
                input.reset_relays = Some(r);
            }
            a.settings.overlay(input.settings_mut());
            a.settings.overlay_relays(&mut input.relays)?;
            let p = input.validate(Some(&key), "")?;
            let (rec, _) = store.put_proposer(&p).await?;
            show_proposer(out, &rec)
        }
        ProposersCommand::Delete(a) => {
            let key = validate::pubkey_shape("public_key", &a.public_key)?;
            if !store.delete::<Proposer>(&key).await? {
                return Err(FeesError::not_found(Kind::Proposer, key));
            }
            deleted(out, &key)
        }
    }
}

fn show_proposer(out: OutputFormat, p: &Record<Proposer>) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(p);
    }
    print_entry(
        vec![("public_key", p.item.public_key.clone())],
        &p.item.settings,
        ("reset_relays", p.item.reset_relays.to_string()),
        &p.stamps,
        p.item.relays.as_deref(),
    );
    Ok(())
}
