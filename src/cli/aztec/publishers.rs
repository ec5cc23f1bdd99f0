//! `butler aztec publishers`.

use std::process::ExitCode;

use clap::Args;

use super::{Ctx, TxArgs, connect, deliver};
use crate::aztec::keystore::Keystore;
use crate::aztec::status::publisher_statuses;
use crate::aztec::tx::PlannedTx;
use crate::chain::units::format_ether_short;
use crate::output::{OutputFormat, print_json, table};

#[derive(Debug, Args)]
#[command(
    after_help = "Each publisher should hold ceil(attesters / publishers) × [aztec] min_eth_per_attester \
(default 0.1 ETH); the attesters are the keystore's.\n\nExamples:\n  butler aztec publishers\n  butler aztec \
publishers --output json\n  butler aztec publishers --top-up --safe-json top-up.json"
)]
pub struct PublishersArgs {
    /// Prepare the ETH transfers that bring each publisher to its requirement (printed, or sent with --send).
    #[arg(long)]
    pub top_up: bool,
    #[command(flatten)]
    pub tx: TxArgs,
}

pub async fn run(ctx: &Ctx, a: PublishersArgs) -> anyhow::Result<ExitCode> {
    let (settings, l1) = connect(ctx).await?;
    let attesters = match &settings.keys_file {
        Some(p) => Keystore::load(p)?.file.attesters.len(),
        None => 0,
    };
    let statuses = publisher_statuses(
        &l1.client,
        &settings.publishers,
        attesters,
        settings.min_eth_per_attester,
    )
    .await?;
    if a.top_up {
        let txs: Vec<PlannedTx> = statuses
            .iter()
            .filter(|s| !s.required_topup_wei.is_zero())
            .map(|s| PlannedTx {
                to: s.publisher,
                value: s.required_topup_wei,
                data: Default::default(),
                description: format!("top up publisher {}", s.publisher),
            })
            .collect();
        if txs.is_empty() {
            eprintln!("every publisher holds its requirement; nothing to send");
        }
        return deliver(ctx, &settings, &l1, &a.tx, "publisher top-up", &txs).await;
    }
    match ctx.output() {
        OutputFormat::Json => print_json(&statuses)?,
        OutputFormat::Table => {
            let mut t = table([
                "publisher",
                "load",
                "balance (ETH)",
                "required (ETH)",
                "top-up (ETH)",
            ]);
            for s in &statuses {
                t.add_row(vec![
                    s.publisher.to_string(),
                    s.load.to_string(),
                    format_ether_short(s.balance_wei, 6),
                    format_ether_short(s.required_wei, 6),
                    format_ether_short(s.required_topup_wei, 6),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
