//! `butler chain status`.

use std::process::ExitCode;

use clap::Subcommand;

use super::Ctx;
use crate::chain::units::format_units;
use crate::output::{OutputFormat, kv_table, print_json, table};

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Chain id, head block and its age, gas price, base fee, sync state, peers, client version, RPC latency
    /// (from the healthiest URL), then every configured RPC URL with its head, latency and health.
    #[command(
        after_help = "Examples:\n  butler chain status\n  butler --rpc-url http://127.0.0.1:8545 chain status --output json\n  butler --rpc-url http://a:8545 --rpc-url http://b:8545 chain status"
    )]
    Status,
}

pub async fn run(ctx: &Ctx, cmd: ChainCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ChainCommand::Status => {
            let (client, _) = ctx.chain().await?;
            let s = client.status().await?;
            match ctx.output() {
                OutputFormat::Json => print_json(&s)?,
                OutputFormat::Table => {
                    let gwei = |wei: &str| {
                        wei.parse::<alloy::primitives::U256>()
                            .map(|w| format!("{} gwei", format_units(w, 9)))
                            .unwrap_or_else(|_| wei.to_string())
                    };
                    let na = || "n/a".to_string();
                    println!(
                        "{}",
                        kv_table([
                            ("rpc url", s.rpc_url.clone()),
                            ("chain id", s.chain_id.to_string()),
                            ("head block", s.head_block.to_string()),
                            (
                                "head timestamp",
                                format!("{} ({}s ago)", s.head_timestamp, s.head_age_secs)
                            ),
                            ("gas price", gwei(&s.gas_price_wei)),
                            (
                                "base fee",
                                s.base_fee_wei.as_deref().map(gwei).unwrap_or_else(na)
                            ),
                            ("syncing", s.syncing.to_string()),
                            (
                                "peers",
                                s.peer_count.map(|p| p.to_string()).unwrap_or_else(na)
                            ),
                            ("client", s.client_version.clone().unwrap_or_else(na)),
                            (
                                "rpc latency",
                                format!("{:.1} ms", s.rpc_latency_secs * 1000.0)
                            ),
                        ])
                    );
                    let mut t = table(["rpc url", "health", "head", "latency", "error"]);
                    for u in &s.urls {
                        t.add_row(vec![
                            u.url.clone(),
                            if u.healthy { "healthy" } else { "unhealthy" }.to_string(),
                            u.head_block.map(|h| h.to_string()).unwrap_or_else(na),
                            u.latency_secs
                                .map(|l| format!("{:.1} ms", l * 1000.0))
                                .unwrap_or_else(na),
                            u.error.clone().unwrap_or_default(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
