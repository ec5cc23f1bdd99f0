//! `butler store copy --to TARGET`: copies the configured watcher store ([watcher] store) into PostgreSQL
//! or into another data dir's NDJSON files, with the same state hash; an interrupted copy resumes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Ctx, UsageError};
use crate::config::resolve_secret;
use crate::output::{OutputFormat, kv_table, print_json};
use crate::pg::{PgDatabase, is_postgres_url};
use crate::watcher::backend::StoreSettings;
use crate::watcher::copy::copy;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy the watcher's event store into PostgreSQL or into another data dir (same state hash).
    #[command(
        after_help = "Reads the configured store ([watcher] store: DATA_DIR/chain, or PostgreSQL) at its \
checkpoint, also while the watcher runs, and writes every event in order into the target, committing in \
batches with a checkpoint of what is copied so far: run it again after an interruption and it resumes. \
The target is locked as its indexer would lock it. A target that holds anything but an earlier copy of \
this store is refused unless --force, which empties it first. The PostgreSQL password comes from \
--password-file, else from [watcher] database_password_file or BUTLER_WATCHER__DATABASE_PASSWORD (never \
from the URL).\n\nThen point [watcher] at the target (store = \"postgres\", database_url = ...) and start \
the watcher.\n\nExamples:\n  butler store copy --to postgres://butler@127.0.0.1:5432/butler\n  \
butler store copy --to /var/lib/butler-ndjson --output json\n  butler store copy --to \
postgres://butler@db/butler --password-file /etc/butler/db-password --force"
    )]
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The target: postgres://USER@HOST:PORT/DB, or a data dir (its `chain` directory receives the files).
    #[arg(long, value_name = "URL|DIR")]
    pub to: String,
    /// Empty a non-empty target first (its events, checkpoint and workflow_state are deleted).
    #[arg(long)]
    pub force: bool,
    /// File holding the target database's password.
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
}

pub async fn run(ctx: &Ctx, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StoreCommand::Copy(args) => run_copy(ctx, args).await,
    }
}

async fn run_copy(ctx: &Ctx, args: CopyArgs) -> anyhow::Result<ExitCode> {
    let from: StoreSettings = ctx.settings()?;
    let to = if is_postgres_url(args.to.trim()) {
        let password = match &args.password_file {
            Some(path) => resolve_secret("--password-file", None, Some(path))?,
            None => match ctx.config()?.watcher.as_ref() {
                Some(w) => w.database_password()?,
                None => None,
            },
        };
        StoreSettings::Postgres(PgDatabase::from_url("--to", &args.to, password)?)
    } else {
        StoreSettings::Ndjson {
            chain_dir: crate::watcher::chain_dir(&PathBuf::from(&args.to)),
        }
    };
    if same(&from, &to) {
        return Err(UsageError(format!(
            "--to {} is the configured store itself: choose another target",
            args.to
        ))
        .into());
    }
    let summary = copy(&from, &to, args.force).await?;
    match ctx.output() {
        OutputFormat::Json => print_json(&summary)?,
        OutputFormat::Table => println!(
            "{}",
            kv_table([
                ("from", summary.from.clone()),
                ("to", summary.to.clone()),
                ("copied now", summary.copied.to_string()),
                ("already in the target", summary.resumed_from.to_string()),
                ("events", summary.events.to_string()),
                (
                    "last block",
                    summary
                        .last_block
                        .map_or("-".to_string(), |b| b.to_string())
                ),
                ("state hash", summary.state_hash.clone()),
                ("seconds", format!("{:.2}", summary.seconds)),
            ])
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn same(a: &StoreSettings, b: &StoreSettings) -> bool {
    match (a, b) {
        (StoreSettings::Ndjson { chain_dir: x }, StoreSettings::Ndjson { chain_dir: y }) => {
            x == y
                || (x.canonicalize().ok().is_some()
                    && x.canonicalize().ok() == y.canonicalize().ok())
        }
        (StoreSettings::Postgres(x), StoreSettings::Postgres(y)) => x.url == y.url,
        _ => false,
    }
}
