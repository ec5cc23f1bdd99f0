//! The command line: global flags, the command tree, configuration loading for commands, and exit codes
//! (0 ok, 1 runtime failure, 2 usage or configuration error). One file per command group.

mod aztec;
mod backup;
mod bundlers;
mod chain;
mod config;
mod context;
mod fees;
mod health;
mod index;
mod logs;
mod logs_export;
mod paymaster;
mod paymaster_admin;
mod paymaster_common;
mod paymaster_revenue;
mod paymaster_topup;
mod probe;
mod replay;
mod restore;
mod serve;
mod stats;
mod store;
mod userops;
mod workflows;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

pub use context::Ctx;

use crate::chain::ChainError;
use crate::config::ConfigError;
use crate::output::OutputFormat;

/// butler: run and watch ERC-4337 paymasters and bundlers, validator fee configuration and Aztec staking.
#[derive(Debug, Parser)]
#[command(
    name = "butler",
    version,
    about = "Operate ERC-4337 paymasters and bundlers from one binary",
    long_about = "butler checks chains, paymasters and bundlers from the command line, and serves what \
operators run continuously.\n\nConfiguration is read from --config, $BUTLER_CONFIG, ./butler.toml or \
~/.config/butler/butler.toml (see `butler config init`).\n\nExit codes: 0 ok, 1 runtime failure \
(RPC unreachable, a failed check), 2 usage or configuration error (including a chain id mismatch).",
    after_help = "Examples:\n  butler config init --path butler.toml\n  butler --rpc-url http://127.0.0.1:8545 chain status\n  butler paymaster status --output json\n  butler health\n  butler probe userop --count 3"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file (default lookup: $BUTLER_CONFIG, ./butler.toml, ~/.config/butler/butler.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Output format of read commands.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less log output on stderr (-q errors only, -qq nothing).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// JSON-RPC endpoint; repeat for several (healthiest first, failing over). Replaces the [chain] URLs.
    #[arg(long, global = true, value_name = "URL", action = clap::ArgAction::Append)]
    pub rpc_url: Vec<Url>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The command tree.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write, check and show the configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Inspect the chain behind the RPC endpoint.
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// Paymaster deposit, stake and balance.
    #[command(subcommand)]
    Paymaster(paymaster::PaymasterCommand),
    /// Check every configured part (RPC, paymasters, bundlers, watcher, fee manager, probes); exit 1 if any fails.
    Health(health::HealthArgs),
    /// Backfill the event store from [[watcher.sources]] up to the (confirmed) head, then exit.
    Index(index::IndexArgs),
    /// User operations from the event store, joined with their paymaster's PostOpHandled.
    Userops(userops::UseropsArgs),
    /// Workflow states and timelines from the event store.
    Workflows(workflows::WorkflowsArgs),
    /// What the event store holds: events, user operations, paymasters, workflows.
    Stats(stats::StatsArgs),
    /// Rebuild the state from the event log; --verify compares it with the checkpoint.
    Replay(replay::ReplayArgs),
    /// The watcher's event store: copy it into PostgreSQL or into another data dir.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Query and follow the log events stored by the watcher's API; export them from its journal files.
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// End-to-end probes: real UserOperations through a bundler.
    #[command(subcommand)]
    Probe(probe::ProbeCommand),
    /// Validator fee configuration (Vouch execution configs, Commit-Boost muxes): the fee manager's store.
    #[command(subcommand)]
    Fees(fees::FeesCommand),
    /// Write a consistent archive of the data dir (safe while `serve` runs).
    Backup(backup::BackupArgs),
    /// Restore a `butler backup` archive into a new or empty data dir.
    Restore(restore::RestoreArgs),
    /// Aztec staking: provider, attester keys, deposits, publishers, entry queue, attester states, coinbases.
    #[command(subcommand)]
    Aztec(aztec::AztecCommand),
    /// Bundlers supervised by `serve --watcher`: list, spawn, register, stop, start, unregister, logs.
    #[command(
        subcommand,
        long_about = "Bundlers supervised by `butler serve --watcher` (a [supervisor] section with \
[[supervisor.templates]]): real bundler processes with their own ports, keys and fee policy, restarted with \
backoff, their output in the log store. Every subcommand calls the watcher's admin API at [api] url (or \
--api-url) with the admin token ([api] admin_token_file or BUTLER_API__ADMIN_TOKEN). See docs/bundlers.md."
    )]
    Bundlers(bundlers::BundlersCommand),
    /// Run long-lived modes in one process (--prometheus: the metrics exporter; --fee-manager: the fee
    /// manager; --watcher: the event indexer and its HTTP API) until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ctx = Ctx::new(cli.global);
    match cli.command {
        Command::Config(cmd) => config::run(&ctx, cmd),
        Command::Chain(cmd) => chain::run(&ctx, cmd).await,
        Command::Paymaster(cmd) => paymaster::run(&ctx, cmd).await,
        Command::Health(args) => health::run(&ctx, args).await,
        Command::Index(args) => index::run(&ctx, args).await,
        Command::Userops(args) => userops::run(&ctx, args).await,
        Command::Workflows(args) => workflows::run(&ctx, args).await,
        Command::Stats(args) => stats::run(&ctx, args).await,
        Command::Replay(args) => replay::run(&ctx, args).await,
        Command::Store(cmd) => store::run(&ctx, cmd).await,
        Command::Logs(cmd) => logs::run(&ctx, cmd).await,
        Command::Probe(cmd) => probe::run(&ctx, cmd).await,
        Command::Fees(cmd) => fees::run(&ctx, cmd).await,
        Command::Backup(args) => backup::run(&ctx, args).await,
        Command::Restore(args) => restore::run(&ctx, args).await,
        Command::Aztec(cmd) => aztec::run(&ctx, cmd).await,
        Command::Bundlers(cmd) => bundlers::run(&ctx, cmd).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
    }
}

/// A usage error found after parsing (a missing flag that config could have supplied): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Maps an error to its exit code: 2 for usage and configuration errors (chain id mismatch included), else 1.
pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    let usage = err.chain().any(|e| {
        e.is::<ConfigError>()
            || e.is::<UsageError>()
            || matches!(
                e.downcast_ref::<ChainError>(),
                Some(ChainError::ChainIdMismatch { .. } | ChainError::UrlsDisagree { .. })
            )
            || matches!(
                e.downcast_ref::<crate::aztec::AztecError>(),
                Some(
                    crate::aztec::AztecError::Chain(
                        ChainError::ChainIdMismatch { .. } | ChainError::UrlsDisagree { .. }
                    ) | crate::aztec::AztecError::L1ChainMismatch { .. }
                )
            )
    });
    ExitCode::from(if usage { 2 } else { 1 })
}

/// The error and its causes on one line, skipping causes whose text the previous message already contains
/// (HTTP client errors repeat their inner error in their own message).
pub fn error_message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Sets up logging on stderr from `-v`/`-q`, `--log-format` and `RUST_LOG`.
pub fn init_tracing(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let level = match (global.verbose, global.quiet) {
        (0, 0) => "info",
        (1, _) => "debug",
        (v, _) if v >= 2 => "trace",
        (_, 1) => "error",
        _ => "off",
    };
    let default = format!("butler={level},warn");
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() && global.verbose == 0 && global.quiet == 0 => EnvFilter::new(v),
        _ => EnvFilter::new(default),
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match global.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_target(false).try_init(),
    };
}
