//! `butler aztec coinbases`.

use std::process::ExitCode;

use alloy::providers::Provider;
use clap::Args;

use super::{Ctx, UsageError, connect, provider_id};
use crate::aztec::coinbases::{apply, scrape};
use crate::aztec::keystore::Keystore;
use crate::output::{OutputFormat, print_json, table};

#[derive(Debug, Args)]
#[command(
    after_help = "Reads the provider's StakedWithProvider logs from the StakingRegistry and records each \
keystore attester's coinbase (the split contract) in the keystore.\n\nExamples:\n  butler aztec coinbases \
--from-block 0\n  butler aztec coinbases --from-block 21000000 --dry-run --output json"
)]
pub struct CoinbasesArgs {
    /// First block to scan.
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// Last block to scan (default: the head).
    #[arg(long)]
    pub to_block: Option<u64>,
    /// Show the changes without writing the keystore.
    #[arg(long)]
    pub dry_run: bool,
    /// The provider id (overrides [aztec] provider_id).
    #[arg(long)]
    pub provider_id: Option<u64>,
}

pub async fn run(ctx: &Ctx, a: CoinbasesArgs) -> anyhow::Result<ExitCode> {
    let (settings, l1) = connect(ctx).await?;
    let reg = settings.require_registry()?;
    let id = provider_id(&settings, a.provider_id)?;
    let mut ks = Keystore::load(settings.require_keys_file()?)?;
    let to = match a.to_block {
        Some(b) => b,
        None => l1
            .client
            .provider()
            .get_block_number()
            .await
            .map_err(l1.client.rpc_err("eth_blockNumber"))?,
    };
    if a.from_block > to {
        return Err(UsageError(format!(
            "--from-block {} is after the last block {to}",
            a.from_block
        ))
        .into());
    }
    let staked = scrape(&l1.client, reg, id, a.from_block, to).await?;
    let changes = apply(&mut ks, &staked);
    if !a.dry_run && !changes.is_empty() {
        ks.save()?;
    }
    match ctx.output() {
        OutputFormat::Json => print_json(&changes)?,
        OutputFormat::Table => {
            let mut t = table(["attester", "previous coinbase", "coinbase"]);
            for c in &changes {
                t.add_row(vec![
                    c.attester.to_string(),
                    c.previous
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "-".into()),
                    c.coinbase.to_string(),
                ]);
            }
            println!("{t}");
            eprintln!(
                "{} StakedWithProvider log(s) in blocks {}..={to}; {} coinbase(s) {}",
                staked.len(),
                a.from_block,
                changes.len(),
                if a.dry_run {
                    "would change (dry run)"
                } else {
                    "recorded"
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
