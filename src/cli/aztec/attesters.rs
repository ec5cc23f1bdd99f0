//! `butler aztec attesters`.

use std::process::ExitCode;

use clap::Args;

use super::{Ctx, connect};
use crate::aztec::keystore::Keystore;
use crate::aztec::registry;
use crate::aztec::status::attester_statuses;
use crate::chain::units::format_ether_short;
use crate::output::{OutputFormat, print_json, table};

#[derive(Debug, Args)]
#[command(
    after_help = "States: NEW, IN_STAKING_PROVIDER_QUEUE, ROLLUP_ENTRY_QUEUE, ACTIVE (rollup status \
VALIDATING), NO_LONGER_ACTIVE (ZOMBIE or EXITING).\n\nExamples:\n  butler aztec attesters\n  butler aztec \
attesters --output json"
)]
pub struct AttestersArgs {
    /// The provider id (overrides [aztec] provider_id) whose key queue counts as IN_STAKING_PROVIDER_QUEUE.
    #[arg(long)]
    pub provider_id: Option<u64>,
}

pub async fn run(ctx: &Ctx, a: AttestersArgs) -> anyhow::Result<ExitCode> {
    let (settings, l1) = connect(ctx).await?;
    let ks = Keystore::load(settings.require_keys_file()?)?;
    let provider_queue = match (
        settings.staking_registry,
        a.provider_id.or(settings.provider_id),
    ) {
        (Some(reg), Some(id)) => registry::provider_queue(&l1.client, reg, id).await?,
        _ => Vec::new(),
    };
    let attesters: Vec<_> = ks
        .file
        .attesters
        .iter()
        .map(|e| (e.address, e.coinbase))
        .collect();
    let statuses = attester_statuses(&l1.client, l1.rollup(), &attesters, &provider_queue).await?;
    match ctx.output() {
        OutputFormat::Json => print_json(&statuses)?,
        OutputFormat::Table => {
            let mut t = table([
                "attester",
                "state",
                "rollup status",
                "effective balance",
                "coinbase",
            ]);
            for s in &statuses {
                t.add_row(vec![
                    s.address.to_string(),
                    s.state.as_str().to_string(),
                    s.rollup_status.to_string(),
                    format_ether_short(s.effective_balance, 4),
                    s.coinbase
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
