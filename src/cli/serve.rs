//! `butler serve`: maps the mode flags onto each mode's constructor and runs them in one process until
//! SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::{Ctx, UsageError};
use crate::api::{self, ApiSettings};
use crate::serve::{self, ServeOptions};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler serve --watcher\n  BUTLER_API__ADMIN_TOKEN=secret butler serve --watcher --api-listen 127.0.0.1:8080"
)]
pub struct ServeArgs {
    /// Run the watcher and its HTTP API (logs, telemetry, admin, workflows) on [api] listen.
    #[arg(long)]
    pub watcher: bool,
    /// Listen address of the watcher's HTTP API (overrides [api] listen; default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub api_listen: Option<SocketAddr>,
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.watcher {
        return Err(UsageError("choose at least one mode: --watcher".to_string()).into());
    }
    let config = ctx.config()?;
    let chain = config
        .chain
        .as_ref()
        .map(|_| ctx.chain_config())
        .transpose()?;
    let settings = ApiSettings::from_config(config, args.api_listen, chain)?;
    let options = ServeOptions {
        header_read_timeout: settings.header_read_timeout(),
        ..ServeOptions::default()
    };
    let cancel = crate::shutdown::on_signals().context("cannot install signal handlers")?;
    let modes = vec![api::mode(settings, cancel.clone())?];
    serve::run_with(modes, cancel, options).await?;
    Ok(ExitCode::SUCCESS)
}
