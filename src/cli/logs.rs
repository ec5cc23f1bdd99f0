//! `butler logs tail [-f]` and `butler logs query`: clients of the watcher's log API, with the admin token
//! from the config (`[api] admin_token_file` or `BUTLER_API__ADMIN_TOKEN`) and the URL from `[api] url`
//! (default `http://<[api] listen>`) or `--api-url`.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use url::Url;

use super::{Ctx, UsageError};
use crate::logs::LogEvent;
use crate::logs::client::{ClientSettings, LogClient, Params};
use crate::logs::event::{Level, parse_address, parse_hash};
use crate::output::{OutputFormat, print_json};

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// The newest events, and with -f every new one as it is stored (SSE, resumes after reconnects).
    #[command(
        after_help = "Examples:\n  butler logs tail\n  butler logs tail -f --service bundler1 --level warn\n  butler logs tail -n 50 --output json"
    )]
    Tail(TailArgs),
    /// Events matching filters (no implicit time window; the newest --limit matches, oldest first).
    #[command(
        after_help = "Examples:\n  butler logs query --service bundler1 --level error --since 1730000000\n  butler logs query --user-op-hash 0x... --output json\n  butler logs query --text \"denied\" --limit 500"
    )]
    Query(Box<QueryArgs>),
    /// Writes the stored events matching filters to an NDJSON file, read from the journal files in
    /// DATA_DIR/logs (every event ever stored, not only the API's in-memory ring; the API need not run).
    #[command(
        after_help = "Examples:\n  butler logs export --out logs.ndjson\n  butler logs export --since 2026-01-01T00:00:00Z --until 1767312000 --service bundler1 --level warn --out warn.ndjson\n  butler logs export --since $(($(date +%s) - 86400)) --out last-day.ndjson"
    )]
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Events with ts >= this time: Unix seconds or RFC 3339 (2026-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Events with ts <= this time: Unix seconds or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// The NDJSON file to write (replaced atomically once complete).
    #[arg(long, value_name = "FILE")]
    pub out: std::path::PathBuf,
}

/// Where the API is.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Base URL of the API (default: [api] url, else http://<[api] listen>).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<Url>,
}

/// Filters shared by tail and query.
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Only this service.
    #[arg(long, value_name = "S")]
    pub service: Option<String>,
    /// Minimum level: trace, debug, info, warn, error, fatal.
    #[arg(long, value_name = "L")]
    pub level: Option<String>,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Keep following new events until Ctrl-C.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// How many of the newest events to show first.
    #[arg(short = 'n', long, default_value_t = 20)]
    pub lines: u64,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Events with ts >= this Unix time (seconds).
    #[arg(long, value_name = "SECS")]
    pub since: Option<f64>,
    /// Events with ts <= this Unix time (seconds).
    #[arg(long, value_name = "SECS")]
    pub until: Option<f64>,
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    #[arg(long, value_name = "ID")]
    pub quote_id: Option<String>,
    #[arg(long, value_name = "HASH")]
    pub user_op_hash: Option<String>,
    #[arg(long, value_name = "HASH")]
    pub tx_hash: Option<String>,
    #[arg(long, value_name = "ADDRESS")]
    pub sender: Option<String>,
    /// Case-insensitive text in msg or meta.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Most events shown (1 to 100000).
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
}

pub async fn run(ctx: &Ctx, cmd: LogsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LogsCommand::Tail(args) => tail(ctx, args).await,
        LogsCommand::Query(args) => query(ctx, *args).await,
        LogsCommand::Export(args) => super::logs_export::run(ctx, args).await,
    }
}

fn client(ctx: &Ctx, api: &ApiArgs) -> anyhow::Result<LogClient> {
    let mut settings: ClientSettings = ctx.settings()?;
    if let Some(u) = &api.api_url {
        settings.base_url = u.clone();
    }
    Ok(LogClient::new(settings)?)
}

fn filter_params(f: &FilterArgs) -> Result<Params, UsageError> {
    let mut p = Params::new();
    if let Some(s) = &f.service {
        p.push(("service", s.clone()));
    }
    if let Some(l) = &f.level {
        let level: Level = l.parse().map_err(|e| UsageError(format!("--level: {e}")))?;
        p.push(("level", level.to_string()));
    }
    Ok(p)
}

pub(super) async fn tail(ctx: &Ctx, args: TailArgs) -> anyhow::Result<ExitCode> {
    let client = client(ctx, &args.api)?;
    let params = filter_params(&args.filter)?;
    let output = ctx.output();
    let mut first = params.clone();
    first.push(("limit", args.lines.clamp(1, 100_000).to_string()));
    let events = if args.lines == 0 {
        Vec::new()
    } else {
        client.query(&first).await?
    };
    let mut last = None;
    for e in &events {
        print_event(e, output);
        last = Some(e.id);
    }
    if args.follow {
        let cancel = crate::shutdown::on_signals()?;
        let after = match last {
            Some(id) => Some(id),
            None => client
                .query(&vec![("limit", "1".to_string())])
                .await?
                .last()
                .map(|e| e.id),
        };
        client
            .follow(&params, after, cancel, |e| print_event(&e, output))
            .await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn query(ctx: &Ctx, args: QueryArgs) -> anyhow::Result<ExitCode> {
    let client = client(ctx, &args.api)?;
    let mut p = filter_params(&args.filter)?;
    if let Some(v) = args.since {
        p.push(("since", v.to_string()));
    }
    if let Some(v) = args.until {
        p.push(("until", v.to_string()));
    }
    if let Some(v) = args.request_id {
        p.push(("requestId", v));
    }
    if let Some(v) = args.quote_id {
        p.push(("quoteId", v));
    }
    if let Some(v) = args.user_op_hash {
        parse_hash(&v).map_err(|e| UsageError(format!("--user-op-hash: {e}")))?;
        p.push(("userOpHash", v));
    }
    if let Some(v) = args.tx_hash {
        parse_hash(&v).map_err(|e| UsageError(format!("--tx-hash: {e}")))?;
        p.push(("txHash", v));
    }
    if let Some(v) = args.sender {
        parse_address(&v).map_err(|e| UsageError(format!("--sender: {e}")))?;
        p.push(("sender", v));
    }
    if let Some(v) = args.text {
        p.push(("q", v));
    }
    if !(1..=100_000).contains(&args.limit) {
        return Err(UsageError("--limit: must be from 1 to 100000".to_string()).into());
    }
    p.push(("limit", args.limit.to_string()));
    let events = client.query(&p).await?;
    match ctx.output() {
        OutputFormat::Json => print_json(&serde_json::json!({ "logs": events }))?,
        OutputFormat::Table => {
            for e in &events {
                print_event(e, OutputFormat::Table);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One event: a JSON line, or `time LEVEL service msg key=value...`.
fn print_event(e: &LogEvent, output: OutputFormat) {
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string(e).unwrap_or_default());
        return;
    }
    let secs = e.ts_secs();
    let time = chrono::DateTime::from_timestamp(secs.trunc() as i64, (secs.fract() * 1e9) as u32)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| e.ts.to_string());
    let mut line = format!(
        "{time} {:<5} {} {}",
        e.level.as_str().to_uppercase(),
        e.service,
        e.msg
    );
    let ids = [
        ("requestId", e.request_id.clone()),
        ("quoteId", e.quote_id.clone()),
        ("userOpHash", e.user_op_hash.map(|h| h.to_string())),
        ("txHash", e.tx_hash.map(|h| h.to_string())),
        ("sender", e.sender.map(|a| a.to_checksum(None))),
    ];
    for (k, v) in ids {
        if let Some(v) = v {
            line.push_str(&format!(" {k}={v}"));
        }
    }
    if let Some(m) = &e.meta {
        line.push_str(&format!(" meta={m}"));
    }
    println!("{line}");
}
