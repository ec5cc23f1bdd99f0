//! `butler fees vouch-config`, `export` and `import`: what Vouch would receive, and the whole configuration
//! as one document.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{emit_json, print_pattern_warnings, read_keys};
use crate::fees::snapshot::Snapshot;
use crate::fees::transfer::{self, Format};
use crate::fees::{FeesError, Store, validate, vouch};
use crate::output::{OutputFormat, table};

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

pub(super) async fn vouch_config(store: &Store, a: VouchConfigArgs) -> Result<(), FeesError> {
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
    let answer =
        Snapshot::build(version, &config)?.execution_config(&a.config_name, &keys, &tags)?;
    // Field order is kept (serde_json's preserve_order), so this prints what the server answers.
    emit_json(&serde_json::from_slice::<serde_json::Value>(&answer)?)
}

pub(super) async fn export(store: &Store, a: ExportArgs) -> Result<(), FeesError> {
    let format = match a.format {
        DocFormat::Json => Format::Json,
        DocFormat::Toml => Format::Toml,
    };
    let text = transfer::render(&store.export().await?, format)?;
    match a.out {
        Some(path) => {
            std::fs::write(&path, text).map_err(|source| FeesError::WriteFile { path, source })
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub(super) async fn import(
    store: &Store,
    out: OutputFormat,
    a: ImportArgs,
) -> Result<(), FeesError> {
    let text = std::fs::read_to_string(&a.file).map_err(|source| FeesError::ReadFile {
        path: a.file.clone(),
        source,
    })?;
    let wanted = transfer::parse(&text, Format::for_path(&a.file), &a.file)?;
    for p in &wanted.proposer_patterns {
        print_pattern_warnings(&p.name, &p.pattern);
    }
    let plan = transfer::plan(&store.export().await?, &wanted);
    let applied = !a.dry_run && !plan.is_empty();
    if applied {
        store.apply(&plan).await?;
    }
    let summary = plan.summary();
    match out {
        OutputFormat::Json => {
            #[derive(Serialize)]
            struct Row<'a> {
                section: &'a str,
                create: usize,
                update: usize,
                delete: usize,
                unchanged: usize,
            }
            let rows: Vec<Row> = summary
                .iter()
                .map(|&(section, create, update, delete, unchanged)| Row {
                    section,
                    create,
                    update,
                    delete,
                    unchanged,
                })
                .collect();
            emit_json(
                &serde_json::json!({ "applied": applied, "dry_run": a.dry_run, "changes": rows }),
            )
        }
        OutputFormat::Table => {
            let mut t = table(["section", "create", "update", "delete", "unchanged"]);
            for (s, c, u, d, n) in summary {
                t.add_row(vec![
                    s.to_string(),
                    c.to_string(),
                    u.to_string(),
                    d.to_string(),
                    n.to_string(),
                ]);
            }
            println!("{t}");
            let what = if a.dry_run {
                "dry run: nothing written"
            } else if applied {
                "applied"
            } else {
                "already up to date"
            };
            println!("{what}");
            Ok(())
        }
    }
}
