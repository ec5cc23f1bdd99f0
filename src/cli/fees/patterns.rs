//! `butler fees patterns`: proposer patterns (regexes in Go's syntax over account names, selected by tags).

use clap::{Args, Subcommand};

use super::{
    CommonFilters, NameArg, SettingsArgs, deleted, emit_json, opt, paging, print_entry, print_page,
    print_pattern_warnings, stamp,
};
use crate::fees::model::*;
use crate::fees::validate;
use crate::fees::{FeesError, Kind, Store};
use crate::output::OutputFormat;

/// Proposer patterns: regexes over account names (`wallet/account`), in Go's syntax, selected by tags.
#[derive(Debug, Subcommand)]
pub enum PatternsCommand {
    /// List patterns (filters AND-combined).
    #[command(after_help = "Examples:\n  butler fees patterns list --tag pool-1 --output json")]
    List(PatternListArgs),
    /// Show one, with its relays and any warnings about its regex.
    #[command(after_help = "Examples:\n  butler fees patterns get pool1-mainnet")]
    Get(NameArg),
    /// Create one; the regex must be one Go's regexp (Vouch) accepts.
    #[command(
        after_help = "Examples:\n  butler fees patterns create pool1-mainnet --pattern 'Pool1/.*' --tag pool-1 --fee-recipient 0x7777...2222 --reset-relays true"
    )]
    Create(PatternSetArgs),
    /// Change one (flags not given keep their value; `none` unsets).
    #[command(
        after_help = "Examples:\n  butler fees patterns update pool1-mainnet --tag pool-1 --tag backup"
    )]
    Update(PatternSetArgs),
    /// Delete one.
    #[command(after_help = "Examples:\n  butler fees patterns delete pool1-mainnet")]
    Delete(NameArg),
}

#[derive(Debug, Args)]
pub struct PatternListArgs {
    /// Name (exact or prefix).
    #[arg(long)]
    pub name: Option<String>,
    /// Substring of the regex.
    #[arg(long)]
    pub pattern: Option<String>,
    /// Carrying this tag.
    #[arg(long)]
    pub tag: Option<String>,
    #[arg(long)]
    pub reset_relays: Option<bool>,
    #[command(flatten)]
    pub common: CommonFilters,
}

#[derive(Debug, Args)]
pub struct PatternSetArgs {
    pub name: String,
    /// Regex over account names (`wallet/account`) in Go's syntax; served to Vouch anchored as a whole
    /// (`^(?:...)$`).
    #[arg(long)]
    pub pattern: Option<String>,
    /// A tag (repeatable; replaces the tag list).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Replace the default's relays instead of merging with them.
    #[arg(long)]
    pub reset_relays: Option<bool>,
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Prints a pattern; its warnings (constructs Go and Rust read differently) go in a `warnings` field of
/// the JSON, or on stderr.
fn show_pattern(out: OutputFormat, p: &Record<Pattern>) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        let warnings = validate::pattern_warnings(&p.item.pattern);
        let mut value = serde_json::to_value(p)?;
        if let (false, Some(obj)) = (warnings.is_empty(), value.as_object_mut()) {
            obj.insert("warnings".into(), warnings.into());
        }
        return emit_json(&value);
    }
    print_pattern_warnings(&p.item.name, &p.item.pattern);
    print_entry(
        vec![
            ("name", p.item.name.clone()),
            ("pattern", p.item.pattern.clone()),
            ("tags", p.item.tags.join(", ")),
        ],
        &p.item.settings,
        ("reset_relays", p.item.reset_relays.to_string()),
        &p.stamps,
        p.item.relays.as_deref(),
    );
    Ok(())
}

fn pattern_missing(name: &str) -> FeesError {
    FeesError::not_found(Kind::Pattern, name)
}

pub(super) async fn run(
    store: &Store,
    out: OutputFormat,
    cmd: PatternsCommand,
) -> Result<(), FeesError> {
    match cmd {
        PatternsCommand::List(a) => {
            let f = PatternFilter {
                name: a.name,
                pattern: a.pattern,
                tag: a.tag,
                settings: a.common.settings_filter()?,
                reset_relays: a.reset_relays,
            };
            let page = store.list::<Pattern>(&f, paging(&a.common.paging)?).await?;
            print_page(
                out,
                "configs",
                page,
                &[
                    "name",
                    "pattern",
                    "tags",
                    "fee_recipient",
                    "min_value",
                    "reset_relays",
                    "updated_at",
                ],
                |p: &Record<Pattern>| {
                    vec![
                        p.item.name.clone(),
                        p.item.pattern.clone(),
                        p.item.tags.join(","),
                        opt(&p.item.settings.fee_recipient),
                        opt(&p.item.settings.min_value),
                        p.item.reset_relays.to_string(),
                        stamp(&p.stamps.updated_at),
                    ]
                },
            )
        }
        PatternsCommand::Get(a) => {
            let p = store
                .get::<Pattern>(&a.name)
                .await?
                .ok_or_else(|| pattern_missing(&a.name))?;
            show_pattern(out, &p)
        }
        PatternsCommand::Create(a) => {
            let mut input = PatternInput {
                name: Some(a.name.clone()),
                pattern: a.pattern.clone(),
                tags: Some(a.tags.clone()),
                reset_relays: a.reset_relays,
                ..PatternInput::default()
            };
            a.settings.overlay(input.settings_mut());
            a.settings.overlay_relays(&mut input.relays)?;
            let rec = store.create_pattern(&input.validate(None, "")?).await?;
            show_pattern(out, &rec)
        }
        PatternsCommand::Update(a) => {
            let cur = store
                .get::<Pattern>(&a.name)
                .await?
                .ok_or_else(|| pattern_missing(&a.name))?;
            let mut input = PatternInput::from(&cur.item);
            if a.pattern.is_some() {
                input.pattern = a.pattern.clone();
            }
            if !a.tags.is_empty() {
                input.tags = Some(a.tags.clone());
            }
            if let Some(v) = a.reset_relays {
                input.reset_relays = Some(v);
            }
            a.settings.overlay(input.settings_mut());
            a.settings.overlay_relays(&mut input.relays)?;
            let rec = store
                .update_pattern(&input.validate(Some(&a.name), "")?)
                .await?;
            show_pattern(out, &rec)
        }
        PatternsCommand::Delete(a) => {
            if !store.delete::<Pattern>(&a.name).await? {
                return Err(pattern_missing(&a.name));
            }
            deleted(out, &a.name)
        }
    }
}
