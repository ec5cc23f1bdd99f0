//! `butler aztec provider id|create|set-admin|accept-admin|set-commission`.

use std::process::ExitCode;

use alloy::primitives::Address;
use clap::{Args, Subcommand};

use super::{Ctx, TxArgs, UsageError, connect, deliver, provider_id};
use crate::aztec::registry::{self, Provider};
use crate::output::{OutputFormat, print_json, table};

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Show the provider: [aztec] provider_id, --provider-id, or every provider whose admin is --admin.
    #[command(
        after_help = "Examples:\n  butler aztec provider id\n  butler aztec provider id --admin 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --output json"
    )]
    Id(IdArgs),
    /// Register a provider (admin, commission, rewards recipient).
    #[command(
        after_help = "Examples:\n  butler aztec provider create --admin 0x7099...79C8 --commission-bps 500 --rewards-recipient 0x3C44...93BC\n  butler aztec provider create --admin 0x7099...79C8 --commission-bps 500 --rewards-recipient 0x3C44...93BC --send --yes"
    )]
    Create(CreateArgs),
    /// Propose a new admin (the new admin then runs accept-admin).
    #[command(
        after_help = "Examples:\n  butler aztec provider set-admin --new-admin 0x90F7...b906 --safe-json admin.json"
    )]
    SetAdmin(SetAdminArgs),
    /// Accept the admin role proposed to the signer.
    #[command(
        after_help = "Examples:\n  butler aztec provider accept-admin --private-key-file new-admin.key --send --yes"
    )]
    AcceptAdmin(AcceptAdminArgs),
    /// Change the provider's commission (take rate), 0–10000 basis points.
    #[command(
        after_help = "Examples:\n  butler aztec provider set-commission --commission-bps 750 --output json"
    )]
    SetCommission(SetCommissionArgs),
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// Find the providers administered by this address (instead of the configured provider id).
    #[arg(long)]
    pub admin: Option<Address>,
    /// The provider id (overrides [aztec] provider_id).
    #[arg(long)]
    pub provider_id: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The provider's admin.
    #[arg(long)]
    pub admin: Address,
    /// Commission (take rate) in basis points, 0–10000.
    #[arg(long)]
    pub commission_bps: u16,
    /// Where the provider's share of rewards goes.
    #[arg(long)]
    pub rewards_recipient: Address,
    #[command(flatten)]
    pub tx: TxArgs,
}

#[derive(Debug, Args)]
pub struct SetAdminArgs {
    /// The proposed admin.
    #[arg(long)]
    pub new_admin: Address,
    /// The provider id (overrides [aztec] provider_id).
    #[arg(long)]
    pub provider_id: Option<u64>,
    #[command(flatten)]
    pub tx: TxArgs,
}

#[derive(Debug, Args)]
pub struct AcceptAdminArgs {
    /// The provider id (overrides [aztec] provider_id).
    #[arg(long)]
    pub provider_id: Option<u64>,
    #[command(flatten)]
    pub tx: TxArgs,
}

#[derive(Debug, Args)]
pub struct SetCommissionArgs {
    /// The new commission (take rate) in basis points, 0–10000.
    #[arg(long)]
    pub commission_bps: u16,
    /// The provider id (overrides [aztec] provider_id).
    #[arg(long)]
    pub provider_id: Option<u64>,
    #[command(flatten)]
    pub tx: TxArgs,
}

pub async fn run(ctx: &Ctx, cmd: ProviderCommand) -> anyhow::Result<ExitCode> {
    let (settings, l1) = connect(ctx).await?;
    let reg = settings.require_registry()?;
    match cmd {
        ProviderCommand::Id(a) => {
            let found: Vec<Provider> = match a.admin {
                Some(admin) => registry::providers(&l1.client, reg)
                    .await?
                    .into_iter()
                    .filter(|p| p.admin == admin)
                    .collect(),
                None => {
                    let id = provider_id(&settings, a.provider_id)?;
                    registry::provider(&l1.client, reg, id)
                        .await?
                        .into_iter()
                        .collect()
                }
            };
            if found.is_empty() {
                return Err(anyhow::anyhow!(
                    "no such provider in the StakingRegistry {reg}"
                ));
            }
            match ctx.output() {
                OutputFormat::Json => print_json(&found)?,
                OutputFormat::Table => {
                    let mut t = table(["id", "admin", "commission (bps)", "rewards recipient"]);
                    for p in &found {
                        t.add_row(vec![
                            p.id.to_string(),
                            p.admin.to_string(),
                            p.take_rate_bps.to_string(),
                            p.rewards_recipient.to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ProviderCommand::Create(a) => {
            let tx = registry::create_tx(reg, a.admin, a.commission_bps, a.rewards_recipient)
                .map_err(|e| UsageError(format!("--commission-bps: {e}")))?;
            deliver(ctx, &settings, &l1, &a.tx, "register provider", &[tx]).await
        }
        ProviderCommand::SetAdmin(a) => {
            let id = provider_id(&settings, a.provider_id)?;
            let tx = registry::set_admin_tx(reg, id, a.new_admin);
            deliver(ctx, &settings, &l1, &a.tx, "update provider admin", &[tx]).await
        }
        ProviderCommand::AcceptAdmin(a) => {
            let id = provider_id(&settings, a.provider_id)?;
            let tx = registry::accept_admin_tx(reg, id);
            deliver(ctx, &settings, &l1, &a.tx, "accept provider admin", &[tx]).await
        }
        ProviderCommand::SetCommission(a) => {
            let id = provider_id(&settings, a.provider_id)?;
            let tx = registry::set_commission_tx(reg, id, a.commission_bps)
                .map_err(|e| UsageError(format!("--commission-bps: {e}")))?;
            deliver(
                ctx,
                &settings,
                &l1,
                &a.tx,
                "update provider commission",
                &[tx],
            )
            .await
        }
    }
}
