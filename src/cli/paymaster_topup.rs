//! `butler paymaster topup`: the cron-safe top-up of EntryPoint deposits, and `--history` of its audit file.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use clap::Args;

use super::paymaster_common::{OpsKey, ops_err, ops_signer, pick_paymaster};
use super::{Ctx, UsageError};
use crate::chain::units::{format_ether_short, parse_ether, parse_units};
use crate::chain::{ChainClient, ChainError};
use crate::output::{OutputFormat, print_json, table};
use crate::paymaster::OpsError;
use crate::paymaster::audit::{self, TopupRecord};
use crate::paymaster::session::Session;
use crate::paymaster::topup::{self, Confirm, TopupSettings, TopupTarget};

pub const TOPUP_HELP: &str = "\
For each paymaster (all [[paymasters]], or the ones named), read its EntryPoint deposit (balanceOf); when it is
under --below, send EntryPoint.depositTo(paymaster) with `--to − deposit` (at most --max) from the
[paymaster_ops] funder key, wait for the receipt and --confirmations, re-read the deposit and print what it did.

Safe to run from cron: a per-paymaster lock (DATA_DIR/locks/) makes overlapping runs send one transaction;
a transaction in flight from the funder, or a top-up of an earlier run not mined yet, is waited for and never
doubled or replaced; the chain id is checked before signing; every decision is appended to
DATA_DIR/topup/audit.ndjson (see --history). --wait-secs bounds each wait (lock, transaction in flight,
receipt and confirmations).

Exit codes:
  0  every paymaster is at or above --below after the run (nothing needed, topped up, or a pending
     top-up confirmed)
  1  failed: RPC error, revert, a transaction not mined within --wait-secs, the lock not obtained
     within --wait-secs
  2  usage or configuration error (including a wrong chain id)
  3  refused (funder short, fee over --max-fee-gwei, no --yes without a TTY), or capped by --max and
     still under --below
--dry-run sends nothing and exits as the real run would (action `planned`).

JSON (--output json): one record per paymaster with action (none | topped_up | capped | planned |
waited_pending | refused | failed), deposit_before_wei, deposit_after_wei, amount_wei, tx_hash, reason
and the values the decision was based on.

Examples:
  butler paymaster topup --below 1 --to 5 --yes
  butler paymaster topup --paymaster verifying --below 1 --to 5 --max 2 --dry-run --output json
  butler paymaster topup --yes --max-fee-gwei 50 --confirmations 2 --wait-secs 300
  butler paymaster topup --history --output json";

#[derive(Debug, Args)]
pub struct TopupArgs {
    /// A configured paymaster name or address (repeatable; default: every [[paymasters]] entry).
    #[arg(long, value_name = "NAME|ADDR")]
    pub paymaster: Vec<String>,
    /// EntryPoint of a --paymaster address that is not in [[paymasters]].
    #[arg(long, value_name = "ADDR")]
    pub entrypoint: Option<Address>,
    /// Top up when the deposit is under this many ETH (default: topup_below_eth).
    #[arg(long, value_name = "ETH")]
    pub below: Option<String>,
    /// Top up to this deposit, in ETH (default: topup_to_eth).
    #[arg(long, value_name = "ETH")]
    pub to: Option<String>,
    /// Send at most this many ETH in one top-up (default: topup_max_eth; none: no cap).
    #[arg(long, value_name = "ETH")]
    pub max: Option<String>,
    /// Decide and print, send nothing (action `planned`); exits as the real run would.
    #[arg(long)]
    pub dry_run: bool,
    /// Send without asking (needed without a terminal, e.g. from cron).
    #[arg(long)]
    pub yes: bool,
    /// Bound on each wait: the lock, a transaction in flight, the receipt and confirmations.
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub wait_secs: u64,
    /// Blocks that must hold the deposit transaction before the deposit is re-read (1: mined).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub confirmations: u64,
    /// Refuse (exit 3) when the network asks more than this per gas (base fee + priority fee).
    #[arg(long, value_name = "GWEI")]
    pub max_fee_gwei: Option<String>,
    /// Print the audit file (DATA_DIR/topup/audit.ndjson) instead of topping up.
    #[arg(long)]
    pub history: bool,
}

fn eth_flag(flag: &str, v: &str) -> anyhow::Result<U256> {
    parse_ether(v).map_err(|e| UsageError(format!("--{flag}: {e}")).into())
}

fn targets(ctx: &Ctx, args: &TopupArgs) -> anyhow::Result<Vec<TopupTarget>> {
    let paymasters = if args.paymaster.is_empty() {
        ctx.config()?.paymasters.clone()
    } else {
        args.paymaster
            .iter()
            .map(|p| pick_paymaster(ctx, p, args.entrypoint))
            .collect::<anyhow::Result<_>>()?
    };
    if paymasters.is_empty() {
        return Err(UsageError(
            "no paymaster to top up: add [[paymasters]] to the config or pass --paymaster ADDR --entrypoint ADDR"
                .into(),
        )
        .into());
    }
    let below = args
        .below
        .as_deref()
        .map(|v| eth_flag("below", v))
        .transpose()?;
    let to = args.to.as_deref().map(|v| eth_flag("to", v)).transpose()?;
    let max = args
        .max
        .as_deref()
        .map(|v| eth_flag("max", v))
        .transpose()?;
    let mut out = Vec::new();
    for p in paymasters {
        let missing = |flag: &str, key: &str| {
            UsageError(format!(
                "paymaster {}: no --{flag} and no {key} in its [[paymasters]] entry",
                p.name
            ))
        };
        let below = below
            .or(p.topup_below_eth.map(|a| a.0))
            .ok_or_else(|| missing("below", "topup_below_eth"))?;
        let to = to
            .or(p.topup_to_eth.map(|a| a.0))
            .ok_or_else(|| missing("to", "topup_to_eth"))?;
        let max = max.or(p.topup_max_eth.map(|a| a.0));
        if to < below {
            return Err(UsageError(format!(
                "paymaster {}: the target {} ETH (--to / topup_to_eth) is under the threshold {} ETH (--below / topup_below_eth)",
                p.name,
                crate::chain::units::format_ether(to),
                crate::chain::units::format_ether(below)
            ))
            .into());
        }
        if max.is_some_and(|m| m.is_zero()) {
            return Err(UsageError(format!(
                "paymaster {}: --max / topup_max_eth must be above 0",
                p.name
            ))
            .into());
        }
        out.push(TopupTarget {
            name: p.name.clone(),
            address: p.address,
            entrypoint: p.entrypoint,
            below,
            to,
            max,
        });
    }
    Ok(out)
}

/// Asks on the terminal (stderr for the question, stdin for the answer).
fn ask(plan: &str) -> bool {
    let mut err = std::io::stderr();
    let _ = write!(err, "{plan}\nSend this transaction? [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}

pub async fn run(ctx: &Ctx, args: TopupArgs) -> anyhow::Result<ExitCode> {
    let data_dir = ctx.config()?.data_dir()?;
    if args.history {
        return history(ctx, &audit::audit_path(&data_dir), &args);
    }
    let targets = targets(ctx, &args)?;
    let max_fee_per_gas = args
        .max_fee_gwei
        .as_deref()
        .map(|v| {
            parse_units(v, 9)
                .map_err(|e| UsageError(format!("--max-fee-gwei: {e}")))
                .and_then(|w| {
                    u128::try_from(w)
                        .map_err(|_| UsageError(format!("--max-fee-gwei: `{v}` is too large")))
                })
        })
        .transpose()?;
    let signer = ops_signer(ctx, OpsKey::Funder)?;
    let confirm = if args.yes {
        Confirm::Yes
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Confirm::Ask(Arc::new(ask))
    } else {
        Confirm::NoTty
    };
    let settings = TopupSettings {
        data_dir,
        targets,
        dry_run: args.dry_run,
        confirm,
        wait: Duration::from_secs(args.wait_secs),
        confirmations: args.confirmations,
        max_fee_per_gas,
    };
    let chain = ctx.chain_config()?;
    let client = ChainClient::from_config(&chain);
    let funder = signer.address();
    let records = match Session::open(&client, signer, chain.chain_id).await {
        Ok(session) => {
            let cancel = crate::shutdown::on_signals()?;
            topup::run(&session, &settings, &cancel).await
        }
        Err(
            e @ OpsError::Chain(
                ChainError::ChainIdMismatch { .. } | ChainError::UrlsDisagree { .. },
            ),
        ) => return Err(ops_err(e)),
        Err(e) => topup::fail_all(
            &settings,
            chain.chain_id.unwrap_or_default(),
            funder,
            &e.to_string(),
        ),
    };
    print_records(ctx, &records)?;
    Ok(ExitCode::from(topup::exit_code(&records)))
}

fn print_records(ctx: &Ctx, records: &[TopupRecord]) -> anyhow::Result<()> {
    match ctx.output() {
        OutputFormat::Json => print_json(records),
        OutputFormat::Table => {
            let wei = |v: &Option<String>| {
                v.as_deref()
                    .and_then(|s| U256::from_str_radix(s, 10).ok())
                    .map_or("-".to_string(), |w| format_ether_short(w, 6))
            };
            let mut t = table([
                "time",
                "paymaster",
                "action",
                "before (ETH)",
                "after (ETH)",
                "amount (ETH)",
                "tx",
                "reason",
            ]);
            for r in records {
                t.add_row(vec![
                    r.time.clone(),
                    r.paymaster.clone(),
                    r.action.as_str().to_string(),
                    wei(&r.deposit_before_wei),
                    wei(&r.deposit_after_wei),
                    wei(&r.amount_wei),
                    r.tx_hash.map_or("-".to_string(), |h| h.to_string()),
                    r.reason.clone(),
                ]);
            }
            println!("{t}");
            Ok(())
        }
    }
}

fn history(ctx: &Ctx, path: &Path, args: &TopupArgs) -> anyhow::Result<ExitCode> {
    let mut records = audit::read_all(path).map_err(ops_err)?;
    if !args.paymaster.is_empty() {
        records.retain(|r| {
            args.paymaster
                .iter()
                .any(|p| *p == r.paymaster || p.parse::<Address>().is_ok_and(|a| a == r.address))
        });
    }
    print_records(ctx, &records)?;
    Ok(ExitCode::SUCCESS)
}
