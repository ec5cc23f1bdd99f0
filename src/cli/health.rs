//! `butler health`: every configured part checked once, as a table or JSON, for cron and health-check
//! scripts. Exit 0 when all pass, 1 when any fails, 2 on a usage or configuration error (a chain id that
//! does not match the config included).

use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::Ctx;
use crate::health::{self, HealthSettings};
use crate::output::{OutputFormat, print_json, table};

#[derive(Debug, Args)]
#[command(
    long_about = "Checks every configured part once: the RPC and its chain id, each paymaster's deposit \
(min_deposit_eth) and runway ([health] min_runway_hours, default 24), the [[bundlers]], the supervised \
bundlers (DATA_DIR/bundlers/registry.json), the watcher's API ([api] listen, /health) and its indexer lag \
([health] max_indexer_lag_blocks, default 20), the fee manager ([fees] listen) and the [[exporter.probes]]. \
Parts that are not configured are not checked.\n\nExit codes: 0 every check passed, 1 at least one failed, \
2 usage or configuration error (including a chain id mismatch).",
    after_help = "Examples:\n  butler health\n  butler health --output json | jq '.checks[] | select(.ok | not)'\n  */5 * * * * butler health -q --output json > /var/lib/butler/health.json || alert \"butler health failed\""
)]
pub struct HealthArgs {}

fn shown(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn run(ctx: &Ctx, _args: HealthArgs) -> anyhow::Result<ExitCode> {
    let settings: HealthSettings = ctx.settings()?;
    let report = health::run(&settings).await;
    match ctx.output() {
        OutputFormat::Json => print_json(&report)?,
        OutputFormat::Table => {
            let mut t = table(["check", "result", "value", "threshold", "detail"]);
            for c in &report.checks {
                t.add_row(vec![
                    c.check.clone(),
                    if c.ok { "ok".into() } else { "FAIL".into() },
                    shown(&c.value),
                    shown(&c.threshold),
                    c.detail.clone(),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::from(if report.chain_id_mismatch {
        2
    } else if report.ok {
        0
    } else {
        1
    }))
}
