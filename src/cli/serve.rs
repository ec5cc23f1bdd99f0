//! `butler serve`: maps the mode flags to each mode's constructor and runs them until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;

use super::{Ctx, UsageError};
use crate::fees::FeesSettings;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler serve --fee-manager\n  butler serve --fee-manager --fees-listen 127.0.0.1:8081"
)]
pub struct ServeArgs {
    /// Serve the fee manager: Vouch execution configs, Commit-Boost mux keys and the admin API ([fees]).
    #[arg(long)]
    pub fee_manager: bool,
    /// Listen address of the fee manager; overrides [fees] listen (default 127.0.0.1:8081).
    #[arg(long, value_name = "ADDR", requires = "fee_manager")]
    pub fees_listen: Option<SocketAddr>,
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut modes = Vec::new();
    if args.fee_manager {
        let settings = FeesSettings::from_config(ctx.config()?)?;
        let listen = args.fees_listen.unwrap_or(settings.listen);
        modes.push(crate::fees::http::mode(&settings, listen).await?);
    }
    if modes.is_empty() {
        return Err(UsageError("choose at least one mode to serve: --fee-manager".into()).into());
    }
    crate::serve::run(modes, crate::shutdown::on_signals()?).await?;
    Ok(ExitCode::SUCCESS)
}
