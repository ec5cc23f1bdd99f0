//! `butler restore FILE --data-dir DIR`: unpacks a `butler backup` archive into a new or empty directory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{Ctx, UsageError};
use crate::backup::{self, BackupError};
use crate::output::{OutputFormat, print_json};

#[derive(Debug, Args)]
#[command(
    long_about = "Restores an archive written by `butler backup` into DIR, which must not exist or be empty \
(a restore never mixes with existing data). Every file is checked against the archive's manifest; then, as \
the stores do on start, event records past the watcher's checkpoint and torn last lines are dropped. Point \
data_dir at DIR and start `butler serve`: the watcher resumes from the checkpoint with its state hash.",
    after_help = "Examples:\n  butler restore backup.tar.gz --data-dir /var/lib/butler\n  butler restore backup.tar.gz --data-dir /tmp/butler-check && butler --config check.toml replay --verify"
)]
pub struct RestoreArgs {
    /// The archive written by `butler backup`.
    #[arg(value_name = "FILE")]
    pub archive: PathBuf,
    /// Where to restore (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
}

pub async fn run(ctx: &Ctx, args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let (archive, target) = (args.archive.clone(), args.data_dir.clone());
    let restored = tokio::task::spawn_blocking(move || backup::restore(&archive, &target))
        .await?
        .map_err(|e| match e {
            BackupError::NotEmpty { .. } => anyhow::Error::new(UsageError(e.to_string())),
            other => anyhow::Error::new(other),
        })?;
    match ctx.output() {
        OutputFormat::Json => print_json(&restored)?,
        OutputFormat::Table => {
            println!(
                "restored {} files ({} bytes) into {}",
                restored.files, restored.bytes, restored.data_dir
            );
            if let Some(c) = &restored.chain {
                println!(
                    "watcher checkpoint: block {}, {} events, state hash {}; dropped {} records past it",
                    c.last_block.map_or("none".to_string(), |b| b.to_string()),
                    c.events,
                    c.state_hash,
                    restored.dropped_records
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
