//! `butler serve`: runs the selected modes in one process until SIGINT/SIGTERM. A thin mapper from flags
//! to each mode's constructor; the modes share listeners when their addresses are equal.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;

use super::{Ctx, UsageError};
use crate::watcher::{Indexer, WatcherSettings};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler serve --watcher\n  butler serve --watcher --api-listen 127.0.0.1:8080"
)]
pub struct ServeArgs {
    /// Run the watcher: index [[watcher.sources]] continuously (the single writer of DATA_DIR/chain).
    #[arg(long)]
    pub watcher: bool,
    /// Where the watcher's HTTP API listens; overrides [api] listen.
    #[arg(long, value_name = "ADDR")]
    pub api_listen: Option<SocketAddr>,
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.watcher {
        return Err(UsageError("choose at least one mode to serve: --watcher".into()).into());
    }
    let cancel = crate::shutdown::on_signals()?;
    let config = ctx.config()?;
    let mut modes = Vec::new();
    if args.watcher {
        let settings = WatcherSettings::from_config(config)?;
        let (client, chain_id) = ctx.chain().await?;
        let indexer = Indexer::open(settings, client, chain_id).await?;
        let listen = args
            .api_listen
            .unwrap_or_else(|| config.api.clone().unwrap_or_default().listen);
        modes.push(crate::watcher::mode(indexer, listen, cancel.clone()));
    }
    crate::serve::run(modes, cancel).await?;
    Ok(ExitCode::SUCCESS)
}
