//! `butler health`: a table of checks for cron and health-check scripts.
//! Exit 0 when all pass, 1 when any fails, 2 when the chain id does not match the config.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use super::Ctx;
use crate::chain::units::format_ether_short;
use crate::chain::{ChainClient, ChainError};
use crate::output::{OutputFormat, print_json, table};
use crate::paymaster::paymaster_status;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  butler health\n  butler health --output json || alert \"butler health failed\""
)]
pub struct HealthArgs {}

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    ok: bool,
    detail: String,
}

impl Check {
    fn new(check: impl Into<String>, ok: bool, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            ok,
            detail: detail.into(),
        }
    }
}

pub async fn run(ctx: &Ctx, _args: HealthArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let chain = ctx.chain_config()?;
    let client = ChainClient::from_config(&chain);
    let mut checks = Vec::new();
    let mut mismatch = false;
    let reachable = match client.chain_id().await {
        Ok(actual) => {
            checks.push(Check::new(
                "rpc reachable",
                true,
                format!("{} answers", chain.rpc_url),
            ));
            match chain.chain_id {
                Some(expected) if expected != actual => {
                    mismatch = true;
                    let e = ChainError::ChainIdMismatch {
                        url: chain.rpc_url.to_string(),
                        expected,
                        actual,
                    };
                    checks.push(Check::new("chain id", false, e.to_string()));
                }
                Some(expected) => checks.push(Check::new(
                    "chain id",
                    true,
                    format!("{expected} as configured"),
                )),
                None => checks.push(Check::new(
                    "chain id",
                    true,
                    format!("{actual} (not pinned in config)"),
                )),
            }
            true
        }
        Err(e) => {
            checks.push(Check::new("rpc reachable", false, e.to_string()));
            false
        }
    };
    if reachable && !mismatch {
        for p in &config.paymasters {
            let name = format!("paymaster {} deposit", p.name);
            match paymaster_status(&client, &p.name, p.address, p.entrypoint).await {
                Ok(s) => {
                    let have = format_ether_short(s.deposit_wei, 6);
                    match p.min_deposit_eth {
                        Some(min) if s.deposit_wei < min.0 => checks.push(Check::new(
                            name,
                            false,
                            format!(
                                "{have} ETH is below min_deposit_eth {} ETH",
                                format_ether_short(min.0, 6)
                            ),
                        )),
                        Some(min) => checks.push(Check::new(
                            name,
                            true,
                            format!("{have} ETH (minimum {} ETH)", format_ether_short(min.0, 6)),
                        )),
                        None => checks.push(Check::new(
                            name,
                            true,
                            format!("{have} ETH (no minimum set)"),
                        )),
                    }
                }
                Err(e) => checks.push(Check::new(name, false, e.to_string())),
            }
        }
    }
    let all_ok = checks.iter().all(|c| c.ok);
    match ctx.output() {
        OutputFormat::Json => print_json(&serde_json::json!({ "ok": all_ok, "checks": checks }))?,
        OutputFormat::Table => {
            let mut t = table(["check", "result", "detail"]);
            for c in &checks {
                t.add_row(vec![
                    c.check.clone(),
                    if c.ok { "ok".into() } else { "FAIL".into() },
                    c.detail.clone(),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::from(if mismatch {
        2
    } else if all_ok {
        0
    } else {
        1
    }))
}
