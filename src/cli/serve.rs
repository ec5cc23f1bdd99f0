//! `butler serve`: maps the mode flags to each mode's settings and runs them together until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;

use super::{Ctx, UsageError};
use crate::exporter::{self, ExporterSettings};
use crate::fees::FeesSettings;
use crate::{serve, shutdown};

/// `butler serve` flags: one per mode, and each mode's own listen address.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler serve --prometheus\n  butler serve --prometheus --exporter-listen 127.0.0.1:9464\n  curl -s http://127.0.0.1:9464/metrics | grep butler_chain_head_block\n  butler serve --fee-manager --fees-listen 127.0.0.1:8081\n  butler serve --prometheus --fee-manager"
)]
pub struct ServeArgs {
    /// Serve Prometheus metrics for the chain, the [[paymasters]] and [[bundlers]] at /metrics (and /healthz).
    #[arg(long)]
    pub prometheus: bool,
    /// Listen address of the exporter (default: [exporter] listen, else 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR", requires = "prometheus")]
    pub exporter_listen: Option<SocketAddr>,
    /// Serve the fee manager: Vouch execution configs, Commit-Boost mux keys and the admin API ([fees]).
    #[arg(long)]
    pub fee_manager: bool,
    /// Listen address of the fee manager (default: [fees] listen, else 127.0.0.1:8081).
    #[arg(long, value_name = "ADDR", requires = "fee_manager")]
    pub fees_listen: Option<SocketAddr>,
}

pub async fn run(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut modes = Vec::new();
    if args.prometheus {
        let mut settings = ExporterSettings::from_config(ctx.config()?, &ctx.chain_config()?)?;
        if let Some(addr) = args.exporter_listen {
            settings.listen = addr;
        }
        modes.push(exporter::mode(settings));
    }
    if args.fee_manager {
        let settings = FeesSettings::from_config(ctx.config()?)?;
        let listen = args.fees_listen.unwrap_or(settings.listen);
        modes.push(crate::fees::http::mode(&settings, listen).await?);
    }
    if modes.is_empty() {
        return Err(UsageError(
            "choose at least one mode to serve: --prometheus, --fee-manager".into(),
        )
        .into());
    }
    serve::run(modes, shutdown::on_signals()?).await?;
    Ok(ExitCode::SUCCESS)
}
