//! `butler aztec deposit`.

use std::process::ExitCode;

use alloy::primitives::Address;
use clap::Args;

use super::keys::{queued_deposits, select, taken};
use super::{Ctx, TxArgs, connect, deliver};
use crate::aztec::AztecError;
use crate::aztec::keystore::Keystore;
use crate::aztec::rollup::{activation_threshold, deposit_txs};

#[derive(Debug, Args)]
#[command(
    after_help = "The signer pays the activation threshold per attester in the staking asset. Each \
proof of possession is verified locally first (the rollup would only drop a bad deposit at flush).\n\n\
Examples:\n  butler aztec deposit --withdrawer 0x7099...79C8\n  butler aztec deposit --attester 0x1234...abcd \
--withdrawer 0x7099...79C8 --send --yes\n  butler aztec deposit --withdrawer 0x7099...79C8 --safe-json deposit.json"
)]
pub struct DepositArgs {
    /// Who may withdraw the stake.
    #[arg(long)]
    pub withdrawer: Address,
    /// Only these keystore attesters (default: every attester without a coinbase not registered or queued yet).
    #[arg(long = "attester")]
    pub attesters: Vec<Address>,
    /// Follow the canonical rollup when governance moves to a new one.
    #[arg(long)]
    pub move_with_latest_rollup: bool,
    #[command(flatten)]
    pub tx: TxArgs,
}

pub async fn run(ctx: &Ctx, a: DepositArgs) -> anyhow::Result<ExitCode> {
    let (settings, l1) = connect(ctx).await?;
    let ks = Keystore::load(settings.require_keys_file()?)?;
    let rollup = l1.rollup();
    let queue = queued_deposits(&l1).await?;
    let mut entries = Vec::new();
    for e in select(&ks, &a.attesters)? {
        match (taken(&l1, e, &queue).await?, a.attesters.is_empty()) {
            (Some(why), false) => {
                return Err(AztecError::Refused(format!("attester {}: {why}", e.address)).into());
            }
            (Some(_), true) => {}
            (None, _) => entries.push(e),
        }
    }
    if entries.is_empty() {
        return Err(anyhow::anyhow!(
            "no attester to deposit: every keystore attester without a coinbase is registered or queued already"
        ));
    }
    let threshold = activation_threshold(&l1.client, rollup).await?;
    let asset = l1.info.l1_contract_addresses.staking_asset_address;
    let txs = deposit_txs(
        rollup,
        asset,
        threshold,
        &entries,
        a.withdrawer,
        a.move_with_latest_rollup,
    )?;
    deliver(ctx, &settings, &l1, &a.tx, "deposit attesters", &txs).await
}
