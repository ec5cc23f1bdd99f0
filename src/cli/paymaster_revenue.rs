//! `butler paymaster revenue`: sponsored operations, gas cost, fees by token and net per token from the
//! event store, the same reducer state as `GET /api/admin/paymaster/revenue`, bounded in block time and
//! split by day or week.

use std::process::ExitCode;

use alloy::primitives::{Address, U256};
use clap::{Args, ValueEnum};
use serde_json::json;

use super::paymaster_common::pick_paymaster;
use super::{Ctx, UsageError};
use crate::chain::units::format_ether_short;
use crate::output::{OutputFormat, print_json, table};
use crate::paymaster::revenue::{self, Period, RevenueFilter};
use crate::watcher::backend::{StoreReader, StoreSettings};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum By {
    Day,
    Week,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Dates are UTC days (2026-12-01) or RFC 3339 times; --since is inclusive, --until \
exclusive, both in block time. Weeks start on Monday. Net per token is the fees collected in that token, minus \
the gas cost paid from the deposit for the native token (address zero).\n\nExamples:\n  butler paymaster \
revenue\n  butler paymaster revenue --paymaster verifying --since 2026-11-01 --until 2026-12-01 --by week\n  \
butler paymaster revenue --by day --output json"
)]
pub struct RevenueArgs {
    /// A configured paymaster name or address (repeatable; default: every paymaster in the store).
    #[arg(long, value_name = "NAME|ADDR")]
    pub paymaster: Vec<String>,
    /// From this date or time (block time, inclusive).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Up to this date or time (block time, exclusive).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// One row per paymaster and period.
    #[arg(long, value_enum)]
    pub by: Option<By>,
}

fn parse_time(flag: &str, v: &str) -> anyhow::Result<u64> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp().max(0) as u64));
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp().max(0) as u64)
        .map_err(|_| {
            UsageError(format!(
                "--{flag} {v}: expected a date (2026-12-01) or an RFC 3339 time (2026-12-01T12:00:00Z)"
            ))
            .into()
        })
}

pub async fn run(ctx: &Ctx, args: RevenueArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let paymasters = args
        .paymaster
        .iter()
        .map(|p| match p.parse::<Address>() {
            Ok(a) => Ok(a),
            Err(_) => pick_paymaster(ctx, p, None).map(|c| c.address),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let filter = RevenueFilter {
        paymasters,
        since: args
            .since
            .as_deref()
            .map(|v| parse_time("since", v))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|v| parse_time("until", v))
            .transpose()?,
        by: args.by.map(|b| match b {
            By::Day => Period::Day,
            By::Week => Period::Week,
        }),
    };
    let store: StoreSettings = ctx.settings()?;
    let reader = StoreReader::open(&store).await?;
    let name_of = |a: Address| {
        config
            .paymasters
            .iter()
            .find(|p| p.address == a)
            .map(|p| p.name.clone())
    };
    let rows = revenue::report(reader.records()?, &filter, name_of)?;
    let (fees, cost) = revenue::sums(&rows);
    match ctx.output() {
        OutputFormat::Json => print_json(&json!({
            "paymasters": rows,
            "feesByToken": fees,
            "sponsoredGasCostWei": cost,
            "by": args.by.map(|b| format!("{b:?}").to_lowercase()),
            "since": filter.since,
            "until": filter.until,
        }))?,
        OutputFormat::Table => {
            let eth =
                |v: &str| format_ether_short(U256::from_str_radix(v, 10).unwrap_or_default(), 6);
            let tokens = |m: &std::collections::BTreeMap<String, String>| {
                m.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let mut t = table([
                "period",
                "paymaster",
                "ops (ok/failed)",
                "gas cost (ETH)",
                "post-ops",
                "fees by token",
                "net by token",
            ]);
            for r in &rows {
                t.add_row(vec![
                    r.period.clone().unwrap_or_else(|| "all".into()),
                    r.name.clone().unwrap_or_else(|| r.address.clone()),
                    format!("{} ({}/{})", r.sponsored_ops, r.succeeded, r.failed),
                    eth(&r.sponsored_gas_cost_wei),
                    r.post_ops.to_string(),
                    tokens(&r.fees_by_token),
                    tokens(&r.net_by_token),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
