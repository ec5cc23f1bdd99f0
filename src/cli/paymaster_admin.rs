//! `butler paymaster deposit|withdraw|stake add|stake unlock|stake withdraw`: the owner's writes, shown
//! (`--dry-run`), written as a Safe Transaction Builder batch (`--safe-json FILE`) or sent with the
//! `[paymaster_ops]` admin key after checking it is the paymaster's `owner()`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use serde_json::json;

use super::paymaster_common::{OpsKey, ops_err, ops_signer, pick_paymaster};
use super::{Ctx, UsageError};
use crate::chain::units::{format_ether, parse_ether};
use crate::output::{OutputFormat, kv_table, print_json};
use crate::paymaster::admin::{self, AdminAction, AdminCall};
use crate::paymaster::safe;
use crate::paymaster::session::Session;

pub const ADMIN_HELP: &str = "\
Shows the target, value and calldata of the write. --dry-run stops there; --safe-json FILE writes a Safe
Transaction Builder batch (version, chainId, meta, transactions[{to, value, data}]) for an owner that is a
Safe, and sends nothing; otherwise the write is sent from [paymaster_ops] admin_key_file (or
BUTLER_PAYMASTER_OPS__ADMIN_KEY), which must be the paymaster's owner() (checked before anything is signed),
after confirmation (--yes, or a y at the terminal; without a terminal and without --yes: exit 3).

Exit codes: 0 done (or shown / written), 1 RPC failure or revert, 2 usage or configuration error (wrong
chain id, a key that is not the owner), 3 not confirmed.";

/// Flags every admin write takes.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The paymaster: a configured name or an address (default: the only [[paymasters]] entry).
    #[arg(long, value_name = "NAME|ADDR")]
    pub paymaster: Option<String>,
    /// EntryPoint of a --paymaster address that is not in [[paymasters]].
    #[arg(long, value_name = "ADDR")]
    pub entrypoint: Option<Address>,
    /// Show the transaction, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Send without asking.
    #[arg(long)]
    pub yes: bool,
    /// Write a Safe Transaction Builder batch to FILE instead of sending.
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub safe_json: Option<PathBuf>,
    /// How long to wait for the receipt.
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub wait_secs: u64,
}

#[derive(Debug, Args)]
#[command(after_help = format!("{ADMIN_HELP}\n\nExamples:\n  butler paymaster deposit --paymaster verifying --amount 2 --yes\n  butler paymaster deposit --amount 2 --dry-run --output json"))]
pub struct DepositArgs {
    #[command(flatten)]
    pub common: AdminArgs,
    /// ETH to add to the paymaster's EntryPoint deposit (EntryPoint.depositTo).
    #[arg(long, value_name = "ETH")]
    pub amount: String,
}

#[derive(Debug, Args)]
#[command(after_help = format!("{ADMIN_HELP}\n\nExamples:\n  butler paymaster withdraw --paymaster verifying --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --amount 1 --yes\n  butler paymaster withdraw --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --amount 1 --safe-json withdraw.json"))]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub common: AdminArgs,
    /// Where the withdrawn deposit goes (BasePaymaster.withdrawTo).
    #[arg(long, value_name = "ADDR")]
    pub to: Address,
    /// ETH to withdraw from the deposit.
    #[arg(long, value_name = "ETH")]
    pub amount: String,
}

/// `butler paymaster stake ...`.
#[derive(Debug, Subcommand)]
pub enum StakeCommand {
    /// Add stake and set the unstake delay (BasePaymaster.addStake).
    #[command(after_help = format!("{ADMIN_HELP}\n\nExample:\n  butler paymaster stake add --amount 1 --unstake-delay 86400 --yes"))]
    Add(StakeAddArgs),
    /// Start the unstake delay (BasePaymaster.unlockStake).
    #[command(after_help = format!("{ADMIN_HELP}\n\nExample:\n  butler paymaster stake unlock --yes"))]
    Unlock(StakeUnlockArgs),
    /// Withdraw the unlocked stake once the delay has passed (BasePaymaster.withdrawStake).
    #[command(after_help = format!("{ADMIN_HELP}\n\nExample:\n  butler paymaster stake withdraw --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --yes"))]
    Withdraw(StakeWithdrawArgs),
}

#[derive(Debug, Args)]
pub struct StakeAddArgs {
    #[command(flatten)]
    pub common: AdminArgs,
    /// ETH to add to the stake.
    #[arg(long, value_name = "ETH")]
    pub amount: String,
    /// Seconds between unlockStake and withdrawStake (at least the current delay).
    #[arg(long, value_name = "SECS")]
    pub unstake_delay: u32,
}

#[derive(Debug, Args)]
pub struct StakeUnlockArgs {
    #[command(flatten)]
    pub common: AdminArgs,
}

#[derive(Debug, Args)]
pub struct StakeWithdrawArgs {
    #[command(flatten)]
    pub common: AdminArgs,
    /// Where the stake goes.
    #[arg(long, value_name = "ADDR")]
    pub to: Address,
}

fn amount(v: &str) -> anyhow::Result<U256> {
    parse_ether(v).map_err(|e| UsageError(format!("--amount: {e}")).into())
}

pub async fn deposit(ctx: &Ctx, a: DepositArgs) -> anyhow::Result<ExitCode> {
    let action = AdminAction::Deposit {
        amount: amount(&a.amount)?,
    };
    run(ctx, &a.common, action).await
}

pub async fn withdraw(ctx: &Ctx, a: WithdrawArgs) -> anyhow::Result<ExitCode> {
    let action = AdminAction::Withdraw {
        to: a.to,
        amount: amount(&a.amount)?,
    };
    run(ctx, &a.common, action).await
}

pub async fn stake(ctx: &Ctx, cmd: StakeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StakeCommand::Add(a) => {
            let action = AdminAction::StakeAdd {
                amount: amount(&a.amount)?,
                unstake_delay_sec: a.unstake_delay,
            };
            run(ctx, &a.common, action).await
        }
        StakeCommand::Unlock(a) => run(ctx, &a.common, AdminAction::StakeUnlock).await,
        StakeCommand::Withdraw(a) => {
            run(ctx, &a.common, AdminAction::StakeWithdraw { to: a.to }).await
        }
    }
}

fn the_paymaster(ctx: &Ctx, a: &AdminArgs) -> anyhow::Result<crate::config::PaymasterConfig> {
    match &a.paymaster {
        Some(p) => pick_paymaster(ctx, p, a.entrypoint),
        None => match ctx.config()?.paymasters.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(UsageError(
                "--paymaster NAME|ADDR is needed (the config has none or several [[paymasters]])"
                    .into(),
            )
            .into()),
        },
    }
}

fn print_call(ctx: &Ctx, call: &AdminCall, extra: serde_json::Value) -> anyhow::Result<()> {
    match ctx.output() {
        OutputFormat::Json => {
            let mut v = serde_json::to_value(call)?;
            if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
                o.extend(e);
            }
            print_json(&v)
        }
        OutputFormat::Table => {
            let mut rows = vec![
                ("action", call.action.to_string()),
                ("call", call.function.clone()),
                ("to", call.to.to_string()),
                ("value", format!("{} ETH", format_ether(call.value_wei))),
                ("data", call.data.to_string()),
            ];
            if let serde_json::Value::Object(e) = &extra {
                for (k, v) in e {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    rows.push((k.as_str(), text));
                }
            }
            println!("{}", kv_table(rows));
            Ok(())
        }
    }
}

async fn run(ctx: &Ctx, a: &AdminArgs, action: AdminAction) -> anyhow::Result<ExitCode> {
    let pm = the_paymaster(ctx, a)?;
    let call = admin::admin_call(&action, pm.address, pm.entrypoint);
    if a.dry_run {
        print_call(ctx, &call, json!({"dry_run": true, "sent": false}))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (client, chain_id) = ctx.chain().await?;
    if let Some(path) = &a.safe_json {
        let batch = safe::batch_for_owner(&client, chain_id, pm.address, &call).await;
        crate::fs::atomic_write(path, serde_json::to_string_pretty(&batch)?.as_bytes())?;
        print_call(
            ctx,
            &call,
            json!({"safe_json": path.display().to_string(), "sent": false}),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let signer = ops_signer(ctx, OpsKey::Admin)?;
    let chain = ctx.chain_config()?;
    let session = Session::open(&client, signer, chain.chain_id)
        .await
        .map_err(ops_err)?;
    admin::check_owner(&session, pm.address)
        .await
        .map_err(ops_err)?;
    if !a.yes {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            eprintln!("error: no --yes and no terminal to confirm on; nothing sent");
            return Ok(ExitCode::from(3));
        }
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "{} on paymaster {} ({}): to {}, value {} ETH, data {}\nSend this transaction? [y/N] ",
            call.function,
            pm.name,
            pm.address,
            call.to,
            format_ether(call.value_wei),
            call.data
        );
        let _ = err.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            eprintln!("not confirmed; nothing sent");
            return Ok(ExitCode::from(3));
        }
    }
    let cancel = crate::shutdown::on_signals()?;
    let outcome = admin::execute(&session, &call, Duration::from_secs(a.wait_secs), &cancel)
        .await
        .map_err(ops_err)?;
    match ctx.output() {
        OutputFormat::Json => print_json(&outcome)?,
        OutputFormat::Table => print_call(
            ctx,
            &call,
            json!({
                "tx hash": outcome.tx_hash.to_string(),
                "block": outcome.block_number.map_or("-".into(), |b| b.to_string()),
                "deposit": format!("{} → {} ETH", format_ether(outcome.before.deposit_wei), format_ether(outcome.after.deposit_wei)),
                "stake": format!("{} → {} ETH", format_ether(outcome.before.stake_wei), format_ether(outcome.after.stake_wei)),
                "withdraw time": format!("{} → {}", outcome.before.withdraw_time, outcome.after.withdraw_time),
            }),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
