//! `butler aztec`: Aztec staking helpers (provider management, attester keys, deposits, publishers, the entry
//! queue, attester states, coinbases). Every command first reads the node's `node_getNodeInfo` and checks the
//! L1 chain id against it. Signing commands print their transactions unless `--send` is given.

mod actions;
mod attesters;
mod coinbases;
mod deposit;
mod keys;
mod provider;
mod publishers;
mod queue;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::{Args, Subcommand};

use super::{Ctx, UsageError};
use crate::aztec::node::AztecL1;
use crate::aztec::settings::AztecSettings;
use crate::aztec::tx::{PlannedTx, send_all, write_safe_json};
use crate::chain::ChainClient;
use crate::chain::units::format_ether;
use crate::output::{OutputFormat, print_json, table};

/// `butler aztec ...`.
#[derive(Debug, Subcommand)]
pub enum AztecCommand {
    /// StakingRegistry provider: find its id, create it, change its admin or commission.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Attester keys: generate them into the keystore, add them to the provider's queue.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Deposit attesters straight into the rollup (staking-asset approval, then one deposit each).
    Deposit(deposit::DepositArgs),
    /// ETH balance and top-up need of each publisher.
    Publishers(publishers::PublishersArgs),
    /// The rollup's entry queue: length, flush schedule and when the keystore's attesters get in.
    Queue(queue::QueueArgs),
    /// The state of each attester in the keystore.
    Attesters(attesters::AttestersArgs),
    /// Record each attester's coinbase from the provider's StakedWithProvider logs into the keystore.
    Coinbases(coinbases::CoinbasesArgs),
    /// Actions the watcher proposed (coinbases to record, publishers to top up): list, approve, reject.
    #[command(subcommand)]
    Actions(actions::ActionsCommand),
}

/// Runs `butler aztec ...`.
pub async fn run(ctx: &Ctx, cmd: AztecCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AztecCommand::Provider(c) => provider::run(ctx, c).await,
        AztecCommand::Keys(c) => keys::run(ctx, c).await,
        AztecCommand::Deposit(a) => deposit::run(ctx, a).await,
        AztecCommand::Publishers(a) => publishers::run(ctx, a).await,
        AztecCommand::Queue(a) => queue::run(ctx, a).await,
        AztecCommand::Attesters(a) => attesters::run(ctx, a).await,
        AztecCommand::Coinbases(a) => coinbases::run(ctx, a).await,
        AztecCommand::Actions(c) => actions::run(ctx, c).await,
    }
}

/// How a signing command delivers its transactions.
#[derive(Debug, Clone, Args)]
pub struct TxArgs {
    /// Sign and send the transactions (with the signer key) instead of printing them.
    #[arg(long)]
    pub send: bool,
    /// With --send: do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, requires = "send")]
    pub yes: bool,
    /// Also write the transactions as a Safe Transaction Builder batch to FILE.
    #[arg(long, value_name = "FILE")]
    pub safe_json: Option<PathBuf>,
    /// The signer's private key file (overrides [aztec] signer_key_file and BUTLER_AZTEC__SIGNER_KEY).
    #[arg(long, value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
}

/// The settings and the node-checked L1 connection every command starts from.
pub(crate) async fn connect(ctx: &Ctx) -> anyhow::Result<(AztecSettings, AztecL1)> {
    let settings = AztecSettings::try_from(ctx.config()?)?;
    let chain = ctx.chain_config()?;
    let client = ChainClient::from_config(&chain);
    if let Some(expected) = chain.chain_id {
        client.check_chain_id(Some(expected)).await?;
    }
    let l1 = AztecL1::connect(&settings.node_url, client, settings.node_timeout).await?;
    Ok((settings, l1))
}

/// The provider id: `--provider-id`, else `[aztec] provider_id`.
pub(crate) fn provider_id(settings: &AztecSettings, flag: Option<u64>) -> anyhow::Result<u64> {
    flag.or(settings.provider_id).ok_or_else(|| {
        UsageError("no provider id: pass --provider-id N or set [aztec] provider_id".into()).into()
    })
}

/// The signer from `--private-key-file`, env or `[aztec] signer_key_file`.
pub(crate) fn signer(settings: &AztecSettings, args: &TxArgs) -> anyhow::Result<PrivateKeySigner> {
    let key = settings
        .signer_key(args.private_key_file.as_deref())?
        .ok_or_else(|| {
            UsageError(
                "--send needs a signer key: --private-key-file FILE, [aztec] signer_key_file or BUTLER_AZTEC__SIGNER_KEY"
                    .into(),
            )
        })?;
    key.expose()
        .parse::<PrivateKeySigner>()
        .map_err(|_| UsageError("the signer key is not a 32-byte hex private key".into()).into())
}

/// Prints, writes as Safe JSON, or (after confirmation) sends the transactions.
pub(crate) async fn deliver(
    ctx: &Ctx,
    settings: &AztecSettings,
    l1: &AztecL1,
    args: &TxArgs,
    name: &str,
    txs: &[PlannedTx],
) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.safe_json {
        write_safe_json(path, l1.chain_id, name, txs)?;
        eprintln!(
            "wrote a Safe Transaction Builder batch of {} transaction(s) to {}",
            txs.len(),
            path.display()
        );
    }
    if !args.send {
        print_txs(ctx.output(), txs)?;
        return Ok(ExitCode::SUCCESS);
    }
    let signer = signer(settings, args)?;
    let from = signer.address();
    if !args.yes {
        confirm(&format!(
            "send {} transaction(s) from {from} on chain {}?",
            txs.len(),
            l1.chain_id
        ))?;
    }
    let sent = send_all(&l1.client, signer, txs)
        .await
        .context(format!("{name} from {from}"))?;
    match ctx.output() {
        OutputFormat::Json => print_json(&sent)?,
        OutputFormat::Table => {
            let mut t = table(["transaction", "block", "gas used", "what"]);
            for s in &sent {
                t.add_row(vec![
                    s.hash.clone(),
                    s.block.map(|b| b.to_string()).unwrap_or_default(),
                    s.gas_used.to_string(),
                    s.description.clone(),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints transactions: JSON `[{"to", "value", "data"}]`, or a table with what each does.
pub(crate) fn print_txs(output: OutputFormat, txs: &[PlannedTx]) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => print_json(txs),
        OutputFormat::Table => {
            for (i, tx) in txs.iter().enumerate() {
                println!("# {}: {}", i + 1, tx.description);
                println!("to:    {}", tx.to);
                println!("value: {} ETH", format_ether(tx.value));
                println!("data:  {}", tx.data);
                println!();
            }
            eprintln!(
                "not sent: pass --send (with a signer key) to sign and send, or --safe-json FILE for a Safe batch"
            );
            Ok(())
        }
    }
}

/// Asks on the terminal; refuses (a usage error) when stdin is not a terminal.
pub(crate) fn confirm(question: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(UsageError(
            "--send without --yes needs a terminal to confirm; pass --yes".into(),
        )
        .into());
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the confirmation")?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(anyhow::anyhow!("not confirmed; nothing was sent"))
    }
}
