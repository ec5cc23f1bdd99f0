//! `butler logs export`: the journal's events matching filters, as NDJSON in one file (written to a
//! temporary file beside it and renamed once complete, so a failed export leaves nothing half-written).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::logs::ExportArgs;
use super::{Ctx, UsageError};
use crate::logs::event::Level;
use crate::logs::{JournalError, LogFilter};
use crate::output::{OutputFormat, print_json};

/// Unix seconds or an RFC 3339 time, as Unix seconds.
fn parse_time(flag: &str, raw: &str) -> Result<f64, UsageError> {
    if let Ok(v) = raw.trim().parse::<f64>()
        && v.is_finite()
        && v >= 0.0
    {
        return Ok(v);
    }
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
        .map_err(|_| {
            UsageError(format!(
                "{flag}: `{raw}` is neither Unix seconds nor an RFC 3339 time (2026-01-01T00:00:00Z)"
            ))
        })
}

pub async fn run(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time("--since", s))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_time("--until", s))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && u < s
    {
        return Err(UsageError(format!("--until ({u}) is before --since ({s})")).into());
    }
    let level = args
        .filter
        .level
        .as_deref()
        .map(str::parse::<Level>)
        .transpose()
        .map_err(|e| UsageError(format!("--level: {e}")))?;
    let filter = LogFilter {
        service: args.filter.service.clone(),
        level,
        since,
        until,
        ..LogFilter::default()
    };
    let dir = ctx.config()?.data_dir()?.join("logs");
    let out = args.out.clone();
    let count = tokio::task::spawn_blocking(move || export(&dir, &filter, &out))
        .await
        .context("export thread failed")??;
    match ctx.output() {
        OutputFormat::Json => print_json(&serde_json::json!({
            "out": args.out.display().to_string(),
            "events": count,
        }))?,
        OutputFormat::Table => println!("exported {count} events to {}", args.out.display()),
    }
    Ok(ExitCode::SUCCESS)
}

fn export(dir: &Path, filter: &LogFilter, out: &Path) -> anyhow::Result<u64> {
    let name = out
        .file_name()
        .ok_or_else(|| UsageError(format!("--out {}: not a file name", out.display())))?;
    let tmp = out.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    let file = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let io = |e: std::io::Error| JournalError::Io {
        path: tmp.clone(),
        message: e.to_string(),
    };
    let written = crate::logs::scan::scan(dir, filter, |e| {
        serde_json::to_writer(&mut w, &e).map_err(|e| io(e.into()))?;
        w.write_all(b"\n").map_err(io)
    });
    let finished = written.and_then(|n| {
        w.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        Ok(n)
    });
    let n = match finished {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    std::fs::rename(&tmp, out)
        .with_context(|| format!("{} -> {}", tmp.display(), out.display()))?;
    crate::fs::sync_dir(out.parent().unwrap_or(Path::new("")))?;
    Ok(n)
}
