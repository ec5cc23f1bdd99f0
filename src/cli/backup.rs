//! `butler backup --out FILE`: a consistent archive of the data dir, safe while `serve` runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::Ctx;
use crate::backup::{self, BackupSettings};
use crate::output::{OutputFormat, print_json};

#[derive(Debug, Args)]
#[command(
    long_about = "Writes one archive (tar + gzip, mode 0600: it holds the supervised bundlers' keys) of the \
data dir: the watcher's event log and checkpoint, the log and telemetry journals, DATA_DIR/bundlers, \
DATA_DIR/topup and the fee manager's SQLite database (through SQLite's online backup), with a manifest of \
every file and its SHA-256. Safe while `butler serve` runs; restore with `butler restore`.",
    after_help = "Examples:\n  butler backup --out /var/backups/butler/butler-$(date +%F).tar.gz\n  butler backup --out backup.tar.gz --output json"
)]
pub struct BackupArgs {
    /// The archive to write (replaced atomically once complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub async fn run(ctx: &Ctx, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let settings = BackupSettings::try_from(ctx.config()?)?;
    let cancel = crate::shutdown::on_signals()?;
    let manifest = backup::backup(&settings, &args.out, &cancel).await?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    match ctx.output() {
        OutputFormat::Json => print_json(&serde_json::json!({
            "out": args.out.display().to_string(),
            "files": manifest.files.len(),
            "bytes": bytes,
            "chain": manifest.chain,
            "fees": manifest.fees,
        }))?,
        OutputFormat::Table => {
            println!(
                "wrote {}: {} files, {bytes} bytes from {}",
                args.out.display(),
                manifest.files.len(),
                manifest.data_dir
            );
            if let Some(c) = &manifest.chain {
                println!(
                    "watcher checkpoint: block {}, {} events, state hash {}",
                    c.last_block.map_or("none".to_string(), |b| b.to_string()),
                    c.events,
                    c.state_hash
                );
            }
            println!("fee manager database: {}", manifest.fees);
        }
    }
    Ok(ExitCode::SUCCESS)
}
