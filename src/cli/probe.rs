//! `butler probe userop`: flags and `[probe]` config mapped into [`ProbeSettings`], the report printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Subcommand};
use url::Url;

use super::{Ctx, UsageError};
use crate::chain::units::format_ether_short;
use crate::config::{Secret, resolve_secret};
use crate::output::{OutputFormat, print_json, table};
use crate::probe::userop::ENTRYPOINT_V07;
use crate::probe::{Funding, ProbeReport, ProbeSettings, run_probe};

#[derive(Debug, Subcommand)]
pub enum ProbeCommand {
    /// Send real UserOperations from fresh SimpleAccounts through a bundler and report latency to inclusion.
    #[command(
        long_about = "Send real ERC-4337 UserOperations through a bundler and wait for their inclusion.\n\n\
Each operation comes from a fresh SimpleAccount (random owner key and salt) that the operation itself deploys \
through the SimpleAccountFactory at --factory, and calls execute(owner, 0, 0x). Gas is either sponsored by a \
VerifyingPaymaster (--paymaster with its signer key) or paid from the account's EntryPoint deposit, which the \
funder key tops up first (without a paymaster, or with --self-funded).\n\n\
Defaults come from the [probe] config section; keys only from *_file paths or BUTLER_PROBE__PAYMASTER_SIGNER_KEY / \
BUTLER_PROBE__FUNDER_KEY. The chain RPC is [chain] rpc_url or --rpc-url.\n\n\
Exit codes: 0 every operation included and successful, 1 any failed or timed out, 2 usage or configuration error.",
        after_help = "Examples:\n  butler --rpc-url http://127.0.0.1:8545 probe userop --bundler http://127.0.0.1:4337 \\\n    --factory 0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0 \\\n    --paymaster 0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9 --paymaster-signer-key-file pm-signer.key --count 5\n  butler probe userop --self-funded --funder-key-file funder.key --output json"
    )]
    Userop(UseropArgs),
}

#[derive(Debug, Args)]
pub struct UseropArgs {
    /// Bundler JSON-RPC endpoint (default: [probe] bundler).
    #[arg(long, value_name = "URL")]
    pub bundler: Option<Url>,
    /// EntryPoint v0.7 or v0.8 (default: [probe] entrypoint, else the canonical v0.7 address).
    #[arg(long, value_name = "ADDR")]
    pub entrypoint: Option<Address>,
    /// SimpleAccountFactory that creates the fresh accounts (default: [probe] factory).
    #[arg(long, value_name = "ADDR")]
    pub factory: Option<Address>,
    /// VerifyingPaymaster that sponsors the operations (default: [probe] paymaster).
    #[arg(long, value_name = "ADDR", conflicts_with = "self_funded")]
    pub paymaster: Option<Address>,
    /// File with the paymaster's signer key (default: [probe] paymaster_signer_key_file or its env var).
    #[arg(long, value_name = "FILE")]
    pub paymaster_signer_key_file: Option<PathBuf>,
    /// Pay from the accounts' own EntryPoint deposits even when [probe] names a paymaster.
    #[arg(long)]
    pub self_funded: bool,
    /// File with the key that funds each account's EntryPoint deposit (default: [probe] funder_key_file or its env var).
    #[arg(long, value_name = "FILE")]
    pub funder_key_file: Option<PathBuf>,
    /// Operations to send.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Seconds to wait for each operation's inclusion after sending it.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Take gas limits from eth_estimateUserOperationGas (falls back to the fixed limits when it fails).
    #[arg(long)]
    pub estimate_gas: bool,
}

pub async fn run(ctx: &Ctx, cmd: ProbeCommand) -> anyhow::Result<ExitCode> {
    let ProbeCommand::Userop(args) = cmd;
    let settings = settings(ctx, args)?;
    let (client, chain_id) = ctx.chain().await?;
    let cancel = crate::shutdown::on_signals()?;
    let report = match run_probe(client, chain_id, settings, cancel).await {
        Ok(r) => r,
        Err(e) if e.is_settings_error() => return Err(UsageError(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    match ctx.output() {
        OutputFormat::Json => print_json(&report)?,
        OutputFormat::Table => print_table(&report),
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn settings(ctx: &Ctx, args: UseropArgs) -> anyhow::Result<ProbeSettings> {
    let probe = ctx.config()?.probe.clone().unwrap_or_default();
    let bundler = args.bundler.or(probe.bundler.clone()).ok_or_else(|| {
        UsageError("no bundler: pass --bundler URL or set [probe] bundler".into())
    })?;
    let factory = args.factory.or(probe.factory).ok_or_else(|| {
        UsageError("no SimpleAccountFactory: pass --factory ADDR or set [probe] factory".into())
    })?;
    let entrypoint = args
        .entrypoint
        .or(probe.entrypoint)
        .unwrap_or(ENTRYPOINT_V07);
    let paymaster = if args.self_funded {
        None
    } else {
        args.paymaster.or(probe.paymaster)
    };
    let funding = match paymaster {
        Some(paymaster) => {
            let signer = key(
                "paymaster_signer_key",
                args.paymaster_signer_key_file.as_deref(),
                probe.paymaster_signer_key.as_ref(),
                probe.paymaster_signer_key_file.as_deref(),
                "BUTLER_PROBE__PAYMASTER_SIGNER_KEY",
            )?
            .ok_or_else(|| {
                UsageError(format!(
                    "paymaster {paymaster} needs its signer key: pass --paymaster-signer-key-file FILE, set [probe] \
paymaster_signer_key_file or BUTLER_PROBE__PAYMASTER_SIGNER_KEY (or use --self-funded)"
                ))
            })?;
            Funding::Sponsored { paymaster, signer }
        }
        None => {
            let funder = key(
                "funder_key",
                args.funder_key_file.as_deref(),
                probe.funder_key.as_ref(),
                probe.funder_key_file.as_deref(),
                "BUTLER_PROBE__FUNDER_KEY",
            )?
            .ok_or_else(|| {
                UsageError(
                    "without a paymaster, a funder key pays the accounts' deposits: pass --funder-key-file FILE, set \
[probe] funder_key_file or BUTLER_PROBE__FUNDER_KEY (or sponsor with --paymaster)"
                        .into(),
                )
            })?;
            Funding::SelfFunded { funder }
        }
    };
    Ok(ProbeSettings {
        bundler,
        entrypoint,
        factory,
        funding,
        count: args.count as usize,
        concurrency: args.concurrency as usize,
        inclusion_timeout: Duration::from_secs(args.timeout),
        poll_interval: Duration::from_millis(100),
        estimate_gas: args.estimate_gas,
        bundler_timeout: Duration::from_secs(10),
        bundler_retries: 2,
    })
}

/// A private key from the flag's file, else from the environment, else from the config's `*_file`.
/// Errors name where the key came from, never the key.
fn key(
    what: &str,
    flag_file: Option<&Path>,
    env_value: Option<&Secret>,
    config_file: Option<&Path>,
    env_name: &str,
) -> anyhow::Result<Option<PrivateKeySigner>> {
    let (secret, origin) = match (flag_file, env_value) {
        (Some(path), _) => (
            resolve_secret(what, None, Some(path))?,
            path.display().to_string(),
        ),
        (None, Some(value)) => (resolve_secret(what, Some(value), None)?, env_name.into()),
        (None, None) => (
            resolve_secret(what, None, config_file)?,
            config_file
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
    };
    let Some(secret) = secret else {
        return Ok(None);
    };
    let signer = secret.expose().parse::<PrivateKeySigner>().map_err(|_| {
        UsageError(format!(
            "{what} from {origin} is not a private key (expected 32 bytes of hex, optionally 0x-prefixed)"
        ))
    })?;
    Ok(Some(signer))
}

fn print_table(report: &ProbeReport) {
    let mut t = table([
        "#",
        "userOpHash",
        "sender",
        "tx hash",
        "block",
        "success",
        "gas cost (ETH)",
        "latency",
        "error",
    ]);
    let dash = || "-".to_string();
    for op in &report.ops {
        t.add_row(vec![
            op.index.to_string(),
            op.user_op_hash.map(|h| h.to_string()).unwrap_or_else(dash),
            op.sender.map(|a| a.to_string()).unwrap_or_else(dash),
            op.tx_hash.map(|h| h.to_string()).unwrap_or_else(dash),
            op.block.map(|b| b.to_string()).unwrap_or_else(dash),
            op.success.map(|s| s.to_string()).unwrap_or_else(dash),
            op.actual_gas_cost_wei
                .map(|w| format_ether_short(w, 9))
                .unwrap_or_else(dash),
            op.latency_ms
                .map(|l| format!("{l} ms"))
                .unwrap_or_else(dash),
            op.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    let mut latencies: Vec<u64> = report.ops.iter().filter_map(|o| o.latency_ms).collect();
    latencies.sort_unstable();
    let good = report.ops.iter().filter(|o| o.ok()).count();
    let spread = match (latencies.first(), latencies.last()) {
        (Some(min), Some(max)) => format!(
            "; latency min {min} ms, median {} ms, max {max} ms",
            latencies[latencies.len() / 2]
        ),
        _ => String::new(),
    };
    println!(
        "{good}/{} operations included and successful ({}, EntryPoint v{} {}, bundler {}){spread}",
        report.ops.len(),
        report.mode,
        report.entrypoint_version,
        report.entrypoint,
        report.bundler,
    );
}
