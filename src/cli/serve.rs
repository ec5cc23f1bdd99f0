//! `butler serve`: runs the selected modes in one process until SIGINT/SIGTERM. A thin mapper from flags
//! to each mode's constructor; the modes share listeners when their addresses are equal.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::{Ctx, UsageError};
use crate::api::{self, ApiSettings, WatcherView};
use crate::serve::{self, ServeOptions};
use crate::watcher::{Indexer, WatcherSettings};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler serve --watcher\n  BUTLER_API__ADMIN_TOKEN=secret butler serve --watcher --api-listen 127.0.0.1:8080"
)]
pub struct ServeArgs {
    /// Run the watcher: index [[watcher.sources]] continuously (the single writer of DATA_DIR/chain) and
    /// serve its HTTP API (logs, telemetry, user operations, workflows, metrics). Without a [watcher]
    /// section only the API runs (logs and telemetry; the data endpoints are empty).
    #[arg(long)]
    pub watcher: bool,
    /// Where the watcher's HTTP API listens; overrides [api] listen (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub api_listen: Option<SocketAddr>,
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.watcher {
        return Err(UsageError("choose at least one mode to serve: --watcher".into()).into());
    }
    let cancel = crate::shutdown::on_signals().context("cannot install signal handlers")?;
    let config = ctx.config()?;
    let mut modes = Vec::new();
    let mut options = ServeOptions::default();
    if args.watcher {
        let chain = config
            .chain
            .as_ref()
            .map(|_| ctx.chain_config())
            .transpose()?;
        let api_settings = ApiSettings::from_config(config, args.api_listen, chain)?;
        options.header_read_timeout = api_settings.header_read_timeout();
        let mut view = None;
        if config.watcher.is_some() {
            let settings = WatcherSettings::from_config(config)?;
            let (client, chain_id) = ctx.chain().await?;
            let indexer = Indexer::open(settings, client, chain_id).await?;
            view = Some(WatcherView::of(&indexer));
            let mut watcher = crate::watcher::mode(indexer, api_settings.listen, cancel.clone());
            // the API serves /health (with the indexer's progress) on the same listener
            watcher.router = axum::Router::new();
            modes.push(watcher);
        } else {
            tracing::warn!(
                "no [watcher] section: the indexer is off; the API serves logs and telemetry"
            );
        }
        modes.push(api::mode(api_settings, view, cancel.clone())?);
    }
    serve::run_with(modes, cancel, options).await?;
    Ok(ExitCode::SUCCESS)
}
