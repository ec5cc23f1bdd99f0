//! `butler userops`: user operations from the event store (joined with their paymaster's `PostOpHandled`),
//! newest first. Reads the store directly; no daemon needed.

use std::process::ExitCode;

use alloy::primitives::Address;
use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::chain::units::format_ether_short;
use crate::output::{OutputFormat, print_json, table};
use crate::watcher::backend::{StoreReader, StoreSettings};
use crate::watcher::reduce::userops::{UserOpFilter, query};

#[derive(Debug, Args)]
#[command(
    after_help = "Reads the event store ([watcher] store: DATA_DIR/chain, or PostgreSQL) up to its checkpoint (run `butler index` or `butler serve --watcher` to fill it).\n\nExamples:\n  butler userops --limit 20\n  butler userops --sender 0x8464135c8F25Da09e49BC8782676a84730C318bC --success false --output json\n  butler userops --paymaster 0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"
)]
pub struct UseropsArgs {
    /// Only operations of this smart account.
    #[arg(long)]
    pub sender: Option<Address>,
    /// Only operations sponsored by this paymaster.
    #[arg(long)]
    pub paymaster: Option<Address>,
    /// Only operations that succeeded (true) or reverted (false).
    #[arg(long, value_name = "true|false")]
    pub success: Option<bool>,
    /// At most this many (the newest).
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

pub async fn run(ctx: &Ctx, args: UseropsArgs) -> anyhow::Result<ExitCode> {
    let store: StoreSettings = ctx.settings()?;
    let reader = StoreReader::open(&store).await?;
    let filter = UserOpFilter {
        sender: args.sender,
        paymaster: args.paymaster,
        success: args.success,
        ..UserOpFilter::default()
    };
    let ops = query(reader.records()?, &filter, args.limit)?;
    match ctx.output() {
        OutputFormat::Json => print_json(&json!({ "userops": ops }))?,
        OutputFormat::Table => {
            let mut t = table([
                "block",
                "userOpHash",
                "sender",
                "paymaster",
                "bundler",
                "success",
                "gas cost (ETH)",
                "gas used",
                "fee",
                "post-op",
            ]);
            for op in &ops {
                t.add_row(vec![
                    op.block_number.to_string(),
                    op.user_op_hash.to_string(),
                    op.sender.to_string(),
                    if op.paymaster == Address::ZERO {
                        "-".to_string()
                    } else {
                        op.paymaster.to_string()
                    },
                    op.bundler.map_or("-".to_string(), |b| b.to_string()),
                    op.success.to_string(),
                    format_ether_short(op.actual_gas_cost_wei, 8),
                    op.actual_gas_used.to_string(),
                    op.fee_amount.map_or("-".to_string(), |f| f.to_string()),
                    op.post_op_mode
                        .map_or("-".to_string(), |m| m.as_str().to_string()),
                ]);
            }
            println!("{t}");
            println!(
                "{} user operation(s); store indexed up to block {}",
                ops.len(),
                reader
                    .checkpoint()
                    .last_block
                    .map_or("-".to_string(), |b| b.to_string())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
