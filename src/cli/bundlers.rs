//! `butler bundlers list|spawn|register|stop|start|unregister|logs`: clients of the watcher's bundler
//! admin API (docs/bundlers.md), with the admin token from the config (`[api] admin_token_file` or
//! `BUTLER_API__ADMIN_TOKEN`) and the URL from `[api] url` or `--api-url`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::Ctx;
use super::logs::{ApiArgs, FilterArgs, TailArgs};
use crate::bundlers::client::BundlersClient;
use crate::logs::client::ClientSettings;
use crate::output::{OutputFormat, kv_table, print_json, table};

#[derive(Debug, Subcommand)]
pub enum BundlersCommand {
    /// Configured, registered and spawned bundlers with their status, PID, restarts and last exit.
    #[command(
        after_help = "Examples:\n  butler bundlers list\n  butler bundlers list --output json"
    )]
    List(ListArgs),
    /// Spawn a bundler from a [[supervisor.templates]] entry, with its own ports, keys and policy.
    #[command(
        after_help = "Examples:\n  butler bundlers spawn --base alto --name \"cheap fees\" --min-priority-fee-gwei 0.2\n  butler bundlers spawn --base alto --name flaky --failure-rate 0.05 --delay-ms 200"
    )]
    Spawn(SpawnArgs),
    /// Register an existing bundler URL (no process): listed, probed and offered with its policy.
    #[command(
        after_help = "Examples:\n  butler bundlers register --name \"partner bundler\" --rpc-url https://bundler.example/rpc --strict"
    )]
    Register(RegisterArgs),
    /// Stop a spawned bundler (SIGTERM to its process group, then SIGKILL) and keep it stopped.
    #[command(after_help = "Examples:\n  butler bundlers stop alto_abc123")]
    Stop(IdArgs),
    /// Start a stopped or crash-looped spawned bundler.
    #[command(after_help = "Examples:\n  butler bundlers start alto_abc123")]
    Start(IdArgs),
    /// Stop a bundler if it runs and remove it from the registry (its keys and ports are freed).
    #[command(after_help = "Examples:\n  butler bundlers unregister alto_abc123")]
    Unregister(IdArgs),
    /// A bundler's log lines (its stdout and stderr, and the supervisor's events about it).
    #[command(
        after_help = "Examples:\n  butler bundlers logs alto_abc123\n  butler bundlers logs alto_abc123 -f --level warn"
    )]
    Logs(LogsArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub api: ApiArgs,
}

/// The policy flags of spawn and register (the seed's policy fields).
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Refuse eth_sendUserOperation with a lower maxPriorityFeePerGas (gwei).
    #[arg(long, value_name = "GWEI", default_value_t = 0.0)]
    pub min_priority_fee_gwei: f64,
    /// Strict validation (the template's strict_args; for alto --safe-mode true).
    #[arg(long)]
    pub strict: bool,
    /// Delay added to every call through the gateway, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay_ms: u64,
    /// Share of calls the gateway fails, 0 to 1.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub failure_rate: f64,
}

impl PolicyArgs {
    fn json(&self) -> Value {
        json!({
            "minPriorityFeeGwei": self.min_priority_fee_gwei,
            "strict": self.strict,
            "delayMs": self.delay_ms,
            "failureRate": self.failure_rate,
        })
    }
}

#[derive(Debug, Args)]
pub struct SpawnArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The template ([[supervisor.templates]] name).
    #[arg(long, value_name = "TEMPLATE")]
    pub base: String,
    /// Display name (unique).
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Display name (unique).
    #[arg(long)]
    pub name: String,
    /// The bundler's JSON-RPC URL.
    #[arg(long, value_name = "URL")]
    pub rpc_url: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Instance id, e.g. alto_abc123 (see `butler bundlers list`).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Instance id.
    pub id: String,
    /// Keep following new lines until Ctrl-C.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// How many of the newest lines to show first.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub lines: u64,
    /// Minimum level: trace, debug, info, warn, error, fatal.
    #[arg(long, value_name = "L")]
    pub level: Option<String>,
}

pub async fn run(ctx: &Ctx, cmd: BundlersCommand) -> anyhow::Result<ExitCode> {
    let out = ctx.output();
    match cmd {
        BundlersCommand::List(a) => {
            let v = client(ctx, &a.api)?.list().await?;
            match out {
                OutputFormat::Json => print_json(&v)?,
                OutputFormat::Table => print_list(&v),
            }
        }
        BundlersCommand::Spawn(a) => {
            let body = json!({"base": a.base, "name": a.name, "policy": a.policy.json()});
            let v = client(ctx, &a.api)?.spawn(&body).await?;
            print_answer(&v, out)?;
        }
        BundlersCommand::Register(a) => {
            let body = json!({"name": a.name, "rpcUrl": a.rpc_url, "policy": a.policy.json()});
            let v = client(ctx, &a.api)?.register(&body).await?;
            print_answer(&v, out)?;
        }
        BundlersCommand::Stop(a) => action(ctx, a, "stop").await?,
        BundlersCommand::Start(a) => action(ctx, a, "start").await?,
        BundlersCommand::Unregister(a) => action(ctx, a, "unregister").await?,
        BundlersCommand::Logs(a) => {
            return super::logs::tail(
                ctx,
                TailArgs {
                    api: a.api,
                    filter: FilterArgs {
                        service: Some(a.id),
                        level: a.level,
                    },
                    follow: a.follow,
                    lines: a.lines,
                },
            )
            .await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn client(ctx: &Ctx, api: &ApiArgs) -> anyhow::Result<BundlersClient> {
    let mut settings: ClientSettings = ctx.settings()?;
    if let Some(u) = &api.api_url {
        settings.base_url = u.clone();
    }
    // a spawn answers once the instance is registered and starting; stop waits for the process to go
    settings.timeout = Duration::from_secs(60);
    Ok(BundlersClient::new(settings)?)
}

async fn action(ctx: &Ctx, a: IdArgs, what: &str) -> anyhow::Result<()> {
    let v = client(ctx, &a.api)?.action(&a.id, what).await?;
    print_answer(&v, ctx.output())
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn last_exit(v: &Value) -> String {
    let Some(e) = v.get("lastExit").filter(|e| !e.is_null()) else {
        return "-".to_string();
    };
    let how = match (
        e.get("code").and_then(Value::as_i64),
        e.get("signal").and_then(Value::as_str),
    ) {
        (Some(c), _) => format!("code {c}"),
        (None, Some(s)) => s.to_string(),
        _ => "?".to_string(),
    };
    if e.get("requested").and_then(Value::as_bool) == Some(true) {
        format!("{how} (asked)")
    } else {
        how
    }
}

fn print_list(v: &Value) {
    let mut t = table([
        "ID",
        "NAME",
        "KIND",
        "STATUS",
        "DESIRED",
        "RPC URL",
        "PID",
        "RESTARTS",
        "LAST EXIT",
        "REASON",
    ]);
    for b in v["bundlers"].as_array().into_iter().flatten() {
        t.add_row(vec![
            text(b, "id"),
            text(b, "name"),
            text(b, "kind"),
            text(b, "status"),
            text(b, "desired"),
            text(b, "rpcUrl"),
            text(b, "pid"),
            text(b, "restarts"),
            last_exit(b),
            if b.get("kind").and_then(Value::as_str) == Some("configured") {
                text(b, "error")
            } else {
                text(b, "reason")
            },
        ]);
    }
    println!("{t}");
}

fn print_answer(v: &Value, out: OutputFormat) -> anyhow::Result<()> {
    if out == OutputFormat::Json {
        return print_json(v);
    }
    let rows: Vec<(&str, String)> = [
        "id", "name", "kind", "status", "desired", "rpcUrl", "pid", "restarts", "reason",
    ]
    .into_iter()
    .filter(|k| v.get(*k).is_some())
    .map(|k| (k, text(v, k)))
    .collect();
    println!("{}", kv_table(rows));
    Ok(())
}
