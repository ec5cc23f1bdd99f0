//! `butler fees mux`: Commit-Boost muxes (named key sets; a key in one mux at most, a mux never empty).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{NameArg, PagingArgs, deleted, emit_json, paging, print_page, read_keys, stamp};
use crate::fees::model::*;
use crate::fees::{FeesError, Kind, Store};
use crate::output::{OutputFormat, kv_table, table};

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
pub struct MuxKeysArgs {
    pub name: String,
    /// A validator public key (repeatable).
    #[arg(long = "key")]
    pub keys: Vec<String>,
    /// A file of keys: a JSON array, or one key per line.
    #[arg(long)]
    pub keys_file: Option<PathBuf>,
}

fn mux_missing(name: &str) -> FeesError {
    FeesError::not_found(Kind::Mux, name)
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

pub(super) async fn run(
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
