//! `butler paymaster`: the command group, and `status`. The other commands have their own files
//! (`paymaster_topup`, `paymaster_admin`, `paymaster_revenue`).

use std::process::ExitCode;

use alloy::primitives::Address;
use clap::{Args, Subcommand};

use super::{Ctx, UsageError};
use crate::chain::units::format_ether_short;
use crate::output::{OutputFormat, print_json, table};
use crate::paymaster::paymaster_status;

#[derive(Debug, Subcommand)]
pub enum PaymasterCommand {
    /// EntryPoint deposit, stake, unstake delay, withdraw time, own balance and owner of each paymaster.
    #[command(
        after_help = "Examples:\n  butler paymaster status\n  butler paymaster status --paymaster 0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9 --entrypoint 0x0000000071727De22E5E9d8BAf0edAc6f37da032 --output json"
    )]
    Status(StatusArgs),
    /// Top up EntryPoint deposits from the funder key when under a threshold (safe for cron; exit 0/1/2/3).
    #[command(after_help = super::paymaster_topup::TOPUP_HELP)]
    Topup(super::paymaster_topup::TopupArgs),
    /// Revenue from the event store: sponsored operations, gas cost, fees and net by token, by day or week.
    Revenue(super::paymaster_revenue::RevenueArgs),
    /// Add to the paymaster's EntryPoint deposit (EntryPoint.depositTo), from the admin key.
    Deposit(super::paymaster_admin::DepositArgs),
    /// Withdraw from the EntryPoint deposit (BasePaymaster.withdrawTo; owner only).
    Withdraw(super::paymaster_admin::WithdrawArgs),
    /// Stake management: add, unlock, withdraw (BasePaymaster; owner only).
    #[command(subcommand)]
    Stake(super::paymaster_admin::StakeCommand),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A paymaster address (instead of the [[paymasters]] in config); needs --entrypoint.
    #[arg(long, requires = "entrypoint")]
    pub paymaster: Option<Address>,
    /// The EntryPoint the paymaster deposits in.
    #[arg(long, requires = "paymaster")]
    pub entrypoint: Option<Address>,
}

pub async fn run(ctx: &Ctx, cmd: PaymasterCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PaymasterCommand::Status(args) => status(ctx, args).await,
        PaymasterCommand::Topup(args) => super::paymaster_topup::run(ctx, args).await,
        PaymasterCommand::Revenue(args) => super::paymaster_revenue::run(ctx, args).await,
        PaymasterCommand::Deposit(args) => super::paymaster_admin::deposit(ctx, args).await,
        PaymasterCommand::Withdraw(args) => super::paymaster_admin::withdraw(ctx, args).await,
        PaymasterCommand::Stake(cmd) => super::paymaster_admin::stake(ctx, cmd).await,
    }
}

async fn status(ctx: &Ctx, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let targets: Vec<(String, Address, Address)> = match (args.paymaster, args.entrypoint) {
        (Some(p), Some(e)) => vec![(p.to_string(), p, e)],
        _ => ctx
            .config()?
            .paymasters
            .iter()
            .map(|p| (p.name.clone(), p.address, p.entrypoint))
            .collect(),
    };
    if targets.is_empty() {
        return Err(UsageError(
            "no paymaster to show: add [[paymasters]] to the config or pass --paymaster ADDR --entrypoint ADDR".into(),
        )
        .into());
    }
    let (client, _) = ctx.chain().await?;
    let results = futures::future::join_all(
        targets
            .iter()
            .map(|(name, p, e)| paymaster_status(&client, name, *p, *e)),
    )
    .await;
    let mut statuses = Vec::with_capacity(results.len());
    for r in results {
        statuses.push(r?);
    }
    match ctx.output() {
        OutputFormat::Json => print_json(&statuses)?,
        OutputFormat::Table => {
            let mut t = table([
                "name",
                "paymaster",
                "entrypoint",
                "deposit (ETH)",
                "staked",
                "stake (ETH)",
                "unstake delay",
                "withdraw time",
                "balance (ETH)",
                "owner",
            ]);
            for s in &statuses {
                t.add_row(vec![
                    s.name.clone(),
                    s.address.to_string(),
                    s.entrypoint.to_string(),
                    format_ether_short(s.deposit_wei, 6),
                    s.staked.to_string(),
                    format_ether_short(s.stake_wei, 6),
                    format!("{}s", s.unstake_delay_secs),
                    if s.withdraw_time == 0 {
                        "-".into()
                    } else {
                        s.withdraw_time.to_string()
                    },
                    format_ether_short(s.balance_wei, 6),
                    s.owner
                        .map(|o| o.to_string())
                        .unwrap_or_else(|| "n/a".into()),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
