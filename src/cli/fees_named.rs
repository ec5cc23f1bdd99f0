//! `butler fees configs|patterns|mux`: the named entries of the fee manager (default configs, proposer
//! patterns, Commit-Boost muxes), and the table helpers the fees commands share.

use serde::Serialize;

use super::fees::{MuxCommand, NamedCommand};
use super::fees_input::{
    emit_json, number_filters, opt, overlay_settings, paging, read_keys, relays_table,
};
use crate::fees::model::*;
use crate::fees::{FeesError, Store};
use crate::output::{OutputFormat, kv_table, table};

fn stamp(t: &chrono::DateTime<chrono::Utc>) -> String {
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
        let mut m = serde_json::Map::new();
        m.insert(
            key.to_string(),
            serde_json::to_value(&page.items).unwrap_or_default(),
        );
        m.insert("total".into(), page.total.into());
        m.insert("limit".into(), page.limit.into());
        m.insert("offset".into(), page.offset.into());
        return emit_json(&m);
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

fn show_default(out: OutputFormat, d: &Record<DefaultConfig>) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(d);
    }
    let s = &d.item.settings;
    println!(
        "{}",
        kv_table([
            ("name", d.item.name.clone()),
            ("fee_recipient", opt(&s.fee_recipient)),
            ("gas_limit", opt(&s.gas_limit)),
            ("grace", opt(&s.grace)),
            ("min_value", opt(&s.min_value)),
            ("active", d.item.active.to_string()),
            ("created_at", stamp(&d.stamps.created_at)),
            ("updated_at", stamp(&d.stamps.updated_at)),
        ])
    );
    println!(
        "{}",
        relays_table(d.item.relays.as_deref().unwrap_or_default())
    );
    Ok(())
}

fn show_pattern(out: OutputFormat, p: &Record<Pattern>) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(p);
    }
    let s = &p.item.settings;
    println!(
        "{}",
        kv_table([
            ("name", p.item.name.clone()),
            ("pattern", p.item.pattern.clone()),
            ("tags", p.item.tags.join(", ")),
            ("fee_recipient", opt(&s.fee_recipient)),
            ("gas_limit", opt(&s.gas_limit)),
            ("grace", opt(&s.grace)),
            ("min_value", opt(&s.min_value)),
            ("reset_relays", p.item.reset_relays.to_string()),
            ("created_at", stamp(&p.stamps.created_at)),
            ("updated_at", stamp(&p.stamps.updated_at)),
        ])
    );
    println!(
        "{}",
        relays_table(p.item.relays.as_deref().unwrap_or_default())
    );
    Ok(())
}

fn default_missing(name: &str) -> FeesError {
    FeesError::NotFound(format!("Default config '{name}' not found"))
}

fn pattern_missing(name: &str) -> FeesError {
    FeesError::NotFound(format!("Proposer pattern '{name}' not found"))
}

fn mux_missing(name: &str) -> FeesError {
    FeesError::NotFound(format!("Mux config '{name}' not found"))
}

pub(super) async fn configs(
    store: &Store,
    out: OutputFormat,
    cmd: NamedCommand,
) -> Result<(), FeesError> {
    match cmd {
        NamedCommand::List(a) => {
            if a.pattern.is_some() || a.tag.is_some() || a.reset_relays.is_some() {
                return Err(FeesError::Invalid(
                    "--pattern, --tag and --reset-relays filter patterns, not default configs"
                        .into(),
                ));
            }
            let (gas_limit, min_value) = number_filters(&a.common)?;
            let f = DefaultConfigFilter {
                name: a.name,
                fee_recipient: a.common.fee_recipient.clone(),
                gas_limit,
                min_value,
                active: a.active,
            };
            let page = store.list_defaults(&f, paging(&a.common.paging)?).await?;
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
        NamedCommand::Get(a) => {
            let d = store
                .get_default(&a.name)
                .await?
                .ok_or_else(|| default_missing(&a.name))?;
            show_default(out, &d)
        }
        NamedCommand::Create(a) | NamedCommand::Update(a)
            if a.pattern.is_some() || !a.tags.is_empty() || a.reset_relays.is_some() =>
        {
            Err(FeesError::Invalid(
                "--pattern, --tag and --reset-relays belong to patterns, not default configs"
                    .into(),
            ))
        }
        NamedCommand::Create(a) => {
            let mut input = DefaultConfigInput {
                name: Some(a.name.clone()),
                active: a.active,
                ..DefaultConfigInput::default()
            };
            overlay_settings(
                &a.settings,
                &mut input.fee_recipient,
                &mut input.gas_limit,
                &mut input.grace,
                &mut input.min_value,
                &mut input.relays,
            )?;
            let rec = store.create_default(&input.validate(None, "")?).await?;
            show_default(out, &rec)
        }
        NamedCommand::Update(a) => {
            let cur = store
                .get_default(&a.name)
                .await?
                .ok_or_else(|| default_missing(&a.name))?;
            let mut input = DefaultConfigInput::from(&cur.item);
            if let Some(v) = a.active {
                input.active = Some(v);
            }
            overlay_settings(
                &a.settings,
                &mut input.fee_recipient,
                &mut input.gas_limit,
                &mut input.grace,
                &mut input.min_value,
                &mut input.relays,
            )?;
            let rec = store
                .update_default(&input.validate(Some(&a.name), "")?)
                .await?;
            show_default(out, &rec)
        }
        NamedCommand::Delete(a) => {
            if !store.delete_default(&a.name).await? {
                return Err(default_missing(&a.name));
            }
            deleted(out, &a.name)
        }
    }
}

pub(super) async fn patterns(
    store: &Store,
    out: OutputFormat,
    cmd: NamedCommand,
) -> Result<(), FeesError> {
    match cmd {
        NamedCommand::List(a) => {
            if a.active.is_some() {
                return Err(FeesError::Invalid(
                    "--active filters default configs, not patterns".into(),
                ));
            }
            let (gas_limit, min_value) = number_filters(&a.common)?;
            let f = PatternFilter {
                name: a.name,
                pattern: a.pattern,
                tag: a.tag,
                fee_recipient: a.common.fee_recipient.clone(),
                gas_limit,
                min_value,
                reset_relays: a.reset_relays,
            };
            let page = store.list_patterns(&f, paging(&a.common.paging)?).await?;
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
        NamedCommand::Get(a) => {
            let p = store
                .get_pattern(&a.name)
                .await?
                .ok_or_else(|| pattern_missing(&a.name))?;
            show_pattern(out, &p)
        }
        NamedCommand::Create(a) | NamedCommand::Update(a) if a.active.is_some() => Err(
            FeesError::Invalid("--active belongs to default configs, not patterns".into()),
        ),
        NamedCommand::Create(a) => {
            let mut input = PatternInput {
                name: Some(a.name.clone()),
                pattern: a.pattern.clone(),
                tags: Some(a.tags.clone()),
                reset_relays: a.reset_relays,
                ..PatternInput::default()
            };
            overlay_settings(
                &a.settings,
                &mut input.fee_recipient,
                &mut input.gas_limit,
                &mut input.grace,
                &mut input.min_value,
                &mut input.relays,
            )?;
            let rec = store.create_pattern(&input.validate(None, "")?).await?;
            show_pattern(out, &rec)
        }
        NamedCommand::Update(a) => {
            let cur = store
                .get_pattern(&a.name)
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
            overlay_settings(
                &a.settings,
                &mut input.fee_recipient,
                &mut input.gas_limit,
                &mut input.grace,
                &mut input.min_value,
                &mut input.relays,
            )?;
            let rec = store
                .update_pattern(&input.validate(Some(&a.name), "")?)
                .await?;
            show_pattern(out, &rec)
        }
        NamedCommand::Delete(a) => {
            if !store.delete_pattern(&a.name).await? {
                return Err(pattern_missing(&a.name));
            }
            deleted(out, &a.name)
        }
    }
}

fn show_counts(out: OutputFormat, verb: &str, n: i64, total: i64) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(&serde_json::json!({ verb: n, "total_keys": total }));
    }
    println!("{verb} {n}; the mux now has {total} keys");
    Ok(())
}

fn show_summary(out: OutputFormat, m: &Record<MuxSummary>) -> Result<(), FeesError> {
    if out == OutputFormat::Json {
        return emit_json(m);
    }
    println!(
        "{}",
        kv_table([
            ("name", m.item.name.clone()),
            ("key_count", m.item.key_count.to_string()),
            ("created_at", stamp(&m.stamps.created_at)),
            ("updated_at", stamp(&m.stamps.updated_at)),
        ])
    );
    Ok(())
}

pub(super) async fn mux(
    store: &Store,
    out: OutputFormat,
    cmd: MuxCommand,
) -> Result<(), FeesError> {
    match cmd {
        MuxCommand::List(p) => {
            let page = store.list_mux(paging(&p)?).await?;
            print_page(
                out,
                "mux_configs",
                page,
                &["name", "key_count", "created_at", "updated_at"],
                |m: &Record<MuxSummary>| {
                    vec![
                        m.item.name.clone(),
                        m.item.key_count.to_string(),
                        stamp(&m.stamps.created_at),
                        stamp(&m.stamps.updated_at),
                    ]
                },
            )
        }
        MuxCommand::Get(a) => {
            let m = store
                .get_mux(&a.name)
                .await?
                .ok_or_else(|| mux_missing(&a.name))?;
            if out == OutputFormat::Json {
                return emit_json(&m);
            }
            let mut t = table(["#", "public_key"]);
            for (i, k) in m.item.keys.iter().enumerate() {
                t.add_row(vec![i.to_string(), k.clone()]);
            }
            println!("{t}");
            println!(
                "mux {}: {} keys, updated {}",
                m.item.name,
                m.item.keys.len(),
                stamp(&m.stamps.updated_at)
            );
            Ok(())
        }
        MuxCommand::AddKeys(a) | MuxCommand::RemoveKeys(a)
            if a.keys.is_empty() && a.keys_file.is_none() =>
        {
            Err(FeesError::Invalid(
                "give the keys with --key (repeatable) or --keys-file".into(),
            ))
        }
        MuxCommand::Create(a) => {
            let input = MuxInput {
                name: Some(a.name.clone()),
                keys: Some(read_keys(&a.keys, a.keys_file.as_deref())?),
                ..MuxInput::default()
            };
            show_summary(out, &store.create_mux(&input.validate(None, "")?).await?)
        }
        MuxCommand::Update(a) => {
            let input = MuxInput {
                name: Some(a.name.clone()),
                keys: Some(read_keys(&a.keys, a.keys_file.as_deref())?),
                ..MuxInput::default()
            };
            show_summary(
                out,
                &store
                    .update_mux(&input.validate(Some(&a.name), "")?)
                    .await?,
            )
        }
        MuxCommand::Delete(a) => {
            if !store.delete_mux(&a.name).await? {
                return Err(mux_missing(&a.name));
            }
            deleted(out, &a.name)
        }
        MuxCommand::AddKeys(a) => {
            let keys = keys("", Some(&read_keys(&a.keys, a.keys_file.as_deref())?))?;
            let (n, total) = store.add_mux_keys(&a.name, &keys).await?;
            show_counts(out, "added", n, total)
        }
        MuxCommand::RemoveKeys(a) => {
            let keys = keys("", Some(&read_keys(&a.keys, a.keys_file.as_deref())?))?;
            let (n, total) = store.remove_mux_keys(&a.name, &keys).await?;
            show_counts(out, "removed", n, total)
        }
    }
}
