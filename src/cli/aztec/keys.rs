//! `butler aztec keys generate|add`.

use std::process::ExitCode;

use alloy::primitives::Address;
use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Ctx, TxArgs, UsageError, connect, deliver, provider_id};
use crate::aztec::AztecError;
use crate::aztec::keystore::{AttesterEntry, G1Json, Keystore};
use crate::aztec::node::AztecL1;
use crate::aztec::registry;
use crate::aztec::rollup::{attester_view, entry_queue_attesters, entry_queue_head};
use crate::output::{OutputFormat, print_json, table};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate attesters (secp256k1 address key and BN254 key, proof of possession verified) into the keystore.
    #[command(
        after_help = "The keystore is [aztec] keys_file (created with mode 0600). With [aztec] \
keystore_passphrase_file or BUTLER_AZTEC__KEYSTORE_PASSPHRASE the private keys are sealed; without, they are \
stored in clear in the 0600 file (a warning says so). Private keys are never printed.\n\nExamples:\n  \
butler aztec keys generate --count 4\n  butler aztec keys generate --count 1 --output json"
    )]
    Generate(GenerateArgs),
    /// addKeysToProvider calldata for keystore attesters (PoP verified, duplicates refused, 50 keys a transaction).
    #[command(
        after_help = "Examples:\n  butler aztec keys add\n  butler aztec keys add --attester 0x1234...abcd --send --yes\n  butler aztec keys add --safe-json add-keys.json"
    )]
    Add(AddArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many attesters to generate.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Only these attesters of the keystore (default: every attester neither queued nor registered yet).
    #[arg(long = "attester")]
    pub attesters: Vec<Address>,
    /// The provider id (overrides [aztec] provider_id).
    #[arg(long)]
    pub provider_id: Option<u64>,
    #[command(flatten)]
    pub tx: TxArgs,
}

/// What `keys generate` prints for each new attester (public parts only).
#[derive(Debug, Serialize)]
struct Generated {
    #[serde(serialize_with = "crate::chain::ser::address")]
    address: Address,
    public_key_g1: G1Json,
    encrypted: bool,
}

pub async fn run(ctx: &Ctx, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let (settings, l1) = connect(ctx).await?;
    let path = settings.require_keys_file()?.to_path_buf();
    match cmd {
        KeysCommand::Generate(a) => {
            if a.count == 0 {
                return Err(UsageError("--count must be at least 1".into()).into());
            }
            let mut ks = Keystore::load_or_new(&path)?;
            let pass = settings.keystore_passphrase();
            if pass.is_none() {
                tracing::warn!(
                    keystore = %path.display(),
                    "no keystore passphrase (keystore_passphrase_file or BUTLER_AZTEC__KEYSTORE_PASSPHRASE): private keys are stored unencrypted in the 0600 keystore"
                );
            }
            let added = ks.generate(a.count, pass)?;
            ks.save()?;
            let out: Vec<Generated> = added
                .iter()
                .filter_map(|addr| ks.find(*addr))
                .map(|e| Generated {
                    address: e.address,
                    public_key_g1: e.public_key_g1,
                    encrypted: e.encrypted_private_keys.is_some(),
                })
                .collect();
            match ctx.output() {
                OutputFormat::Json => print_json(&out)?,
                OutputFormat::Table => {
                    let mut t = table(["attester", "BN254 public key (G1 x)", "encrypted"]);
                    for g in &out {
                        t.add_row(vec![
                            g.address.to_string(),
                            g.public_key_g1.x.to_string(),
                            g.encrypted.to_string(),
                        ]);
                    }
                    println!("{t}");
                    eprintln!(
                        "{} attester(s) added to {} (now {})",
                        out.len(),
                        path.display(),
                        ks.file.attesters.len()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Add(a) => {
            let reg = settings.require_registry()?;
            let id = provider_id(&settings, a.provider_id)?;
            let ks = Keystore::load(&path)?;
            let queued = registry::provider_queue_keys(&l1.client, reg, id).await?;
            let entry_queue = queued_deposits(&l1).await?;
            let mut entries = Vec::new();
            for e in select(&ks, &a.attesters)? {
                let in_queue = queued.iter().any(|q| {
                    q.attester == e.address
                        || (q.publicKeyG1.x, q.publicKeyG1.y)
                            == (e.public_key_g1.x, e.public_key_g1.y)
                });
                match (taken(&l1, e, &entry_queue).await?, a.attesters.is_empty()) {
                    (Some(why), false) => {
                        return Err(
                            AztecError::Refused(format!("attester {}: {why}", e.address)).into(),
                        );
                    }
                    (Some(_), true) => {}
                    (None, true) if in_queue => {}
                    (None, _) => entries.push(e),
                }
            }
            if entries.is_empty() {
                return Err(anyhow::anyhow!(
                    "no new attester to add: every keystore attester without a coinbase is queued or registered already"
                ));
            }
            let txs = registry::add_keys_txs(reg, id, &entries, &queued)?;
            deliver(ctx, &settings, &l1, &a.tx, "add keys to provider", &txs).await
        }
    }
}

/// The attesters waiting in the rollup's entry queue.
pub(crate) async fn queued_deposits(l1: &AztecL1) -> anyhow::Result<Vec<Address>> {
    let (length, _) = entry_queue_head(&l1.client, l1.rollup()).await?;
    Ok(entry_queue_attesters(&l1.client, l1.rollup(), length).await?)
}

/// Why an attester cannot be registered again: it is known to the rollup or waits in its entry queue.
pub(crate) async fn taken(
    l1: &AztecL1,
    entry: &AttesterEntry,
    entry_queue: &[Address],
) -> anyhow::Result<Option<String>> {
    if entry_queue.contains(&entry.address) {
        return Ok(Some("already waiting in the rollup's entry queue".into()));
    }
    let view = attester_view(&l1.client, l1.rollup(), entry.address).await?;
    if view.status != 0 || !view.effective_balance.is_zero() {
        return Ok(Some(format!(
            "already registered with the rollup (status {})",
            crate::aztec::rollup::status_name(view.status)
        )));
    }
    Ok(None)
}

/// The keystore entries named by `--attester`, or those without a coinbase.
pub(crate) fn select<'a>(
    ks: &'a Keystore,
    wanted: &[Address],
) -> anyhow::Result<Vec<&'a AttesterEntry>> {
    if wanted.is_empty() {
        return Ok(ks
            .file
            .attesters
            .iter()
            .filter(|e| e.coinbase.is_none())
            .collect());
    }
    wanted
        .iter()
        .map(|w| {
            ks.find(*w).ok_or_else(|| {
                UsageError(format!(
                    "--attester {w} is not in the keystore {}",
                    ks.path.display()
                ))
                .into()
            })
        })
        .collect()
}
