//! `GET /ui/paymasters`: each paymaster's status (`GET /api/admin/paymaster/status`), its revenue
//! totals (`GET /api/admin/paymaster/revenue`) and revenue by day
//! (chart and table, from the indexed hourly buckets as `GET /api/admin/metrics/timeseries` serves them),
//! the top-up history from the audit file, and the owner's admin actions as a dry run
//! (`POST /ui/paymasters/action`: the calldata, or the Safe Transaction Builder JSON to download, as
//! `POST /api/admin/paymaster/config` answers them). Sending stays in the CLI.

use alloy::primitives::U256;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use maud::{Markup, html};
use serde::Deserialize;

use super::Console;
use super::chart::{self, Bar};
use super::layout::{self, csrf, eth, eth_str};
use super::session::Signed;
use crate::api::admin::{self, PaymasterMetrics};
use crate::api::metrics::{self, TimeseriesQuery};
use crate::api::paymaster_config::{self, PaymasterConfigRequest};
use crate::http::JsonBody;
use crate::paymaster::audit;
use crate::telemetry::now_ms;

/// Days of revenue shown.
const DAYS: u64 = 30;
/// Top-up records shown (the newest).
const TOPUPS: usize = 50;

fn status_table(list: &[PaymasterMetrics]) -> Markup {
    let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "-".to_string(), eth_str);
    html! {
        table.paymasters {
            thead { tr {
                th { "Paymaster" } th { "Deposit" } th { "Minimum" } th { "Own balance" } th { "Stake" }
                th { "Unstake delay" } th { "Owner" } th { "Sponsored ops" } th { "Gas used" }
            } }
            tbody {
                @for p in list {
                    tr {
                        td { (p.name) br; small.hash { (p.address) } }
                        td class=[p.deposit_low.then_some("low")] { (opt(&p.deposit_wei)) }
                        td { (opt(&p.min_deposit_wei)) }
                        td { (opt(&p.eth_balance_wei)) }
                        td { (opt(&p.stake_wei)) @if p.staked == Some(true) { " (staked)" } }
                        td { (p.unstake_delay_secs.map_or_else(|| "-".to_string(), |s| layout::duration(f64::from(s)))) }
                        td.hash { (p.owner.as_deref().unwrap_or("-")) }
                        td { (p.sponsored_ops_count) }
                        td { (p.sponsored_gas_total) }
                    }
                    @if let Some(e) = &p.error { tr { td colspan="9" .muted { (e) } } }
                }
                @if list.is_empty() { tr { td colspan="9" .muted { "No [[paymasters]] configured." } } }
            }
        }
    }
}

async fn revenue(console: &Console) -> Markup {
    let now = now_ms() / 1000;
    let day = 86_400;
    let from = (now - now % day).saturating_sub((DAYS - 1) * day);
    let q = TimeseriesQuery {
        bucket: Some(day.to_string()),
        from: Some(from.to_string()),
        to: Some(now.to_string()),
    };
    let points = match metrics::timeseries(State(console.api.clone()), crate::http::Query(q)).await
    {
        Ok(Json(s)) => s.points,
        Err(e) => return layout::notice(false, &e.message),
    };
    let bars: Vec<Bar> = points
        .iter()
        .map(|p| {
            let cost = U256::from_str_radix(&p.actual_gas_cost_wei, 10).unwrap_or_default();
            Bar {
                label: if (p.ts / day).is_multiple_of(7) {
                    layout::time(p.ts)[5..10].to_string()
                } else {
                    String::new()
                },
                value: f64::from(cost),
                title: format!(
                    "{}: {} ops, {}",
                    &layout::time(p.ts)[..10],
                    p.ops,
                    eth(cost)
                ),
            }
        })
        .collect();
    html! {
        (chart::bars(&format!("Sponsored gas cost per day, last {DAYS} days (UTC)"), &bars, |m| eth(U256::from(m as u128))))
        table.revenue {
            thead { tr { th { "Day (UTC)" } th { "Operations" } th { "Failed" } th { "Gas cost" } th { "Fees by token" } } }
            tbody {
                @for p in points.iter().rev().filter(|p| p.ops > 0) {
                    tr {
                        td { (&layout::time(p.ts)[..10]) }
                        td { (p.ops) }
                        td { (p.failed) }
                        td { (eth_str(&p.actual_gas_cost_wei)) }
                        td { @for (token, amount) in &p.fees_by_token { span.hash { (amount) " of " (token) } br; } }
                    }
                }
                @if points.iter().all(|p| p.ops == 0) { tr { td colspan="5" .muted { "No sponsored operations in these days." } } }
            }
        }
    }
}

/// Totals per paymaster address, as `GET /api/admin/paymaster/revenue` answers them.
async fn totals(console: &Console) -> Markup {
    let Json(r) = admin::revenue(State(console.api.clone())).await;
    let tokens = |m: &std::collections::BTreeMap<String, String>| {
        html! { @for (token, amount) in m { span.hash { (amount) " of " (token) } br; } }
    };
    html! {
        table.totals {
            thead { tr {
                th { "Paymaster" } th { "Sponsored ops" } th { "Failed" } th { "Gas cost" } th { "Fees by token" }
                th { "Net by token" }
            } }
            tbody {
                @for p in &r.paymasters {
                    tr {
                        td { (p.name.as_deref().unwrap_or("")) br; small.hash { (p.address) } }
                        td { (p.sponsored_ops) }
                        td { (p.failed) }
                        td { (eth_str(&p.sponsored_gas_cost_wei)) }
                        td { (tokens(&p.fees_by_token)) }
                        td { (tokens(&p.net_by_token)) }
                    }
                }
                @if r.paymasters.is_empty() { tr { td colspan="6" .muted { "No sponsored operations indexed." } } }
            }
        }
    }
}

fn topups(console: &Console) -> Markup {
    let path = audit::audit_path(&console.api.settings().data_dir);
    let records = match audit::read_all(&path) {
        Ok(r) => r,
        Err(e) => return layout::notice(false, &e.to_string()),
    };
    html! {
        table.topups {
            thead { tr { th { "Time" } th { "Paymaster" } th { "Action" } th { "Amount" } th { "Deposit before → after" } th { "Transaction" } th { "Reason" } } }
            tbody {
                @for r in records.iter().rev().take(TOPUPS) {
                    tr {
                        td { (r.time) }
                        td { (r.paymaster) }
                        td { (r.action.as_str()) @if r.dry_run { " (dry run)" } }
                        td { (r.amount_wei.as_deref().map_or_else(|| "-".to_string(), eth_str)) }
                        td { (r.deposit_before_wei.as_deref().map_or_else(|| "-".to_string(), eth_str)) " → " (r.deposit_after_wei.as_deref().map_or_else(|| "-".to_string(), eth_str)) }
                        td.hash { (r.tx_hash.map(|h| h.to_string()).unwrap_or_default()) }
                        td.muted { (r.reason) }
                    }
                }
                @if records.is_empty() { tr { td colspan="7" .muted { "No top-ups recorded (" code { "butler paymaster topup" } ", auto_topup)." } } }
            }
        }
    }
}

fn action_form(signed: &Signed, names: &[String]) -> Markup {
    html! {
        form.action method="post" action="/ui/paymasters/action" {
            (csrf(signed))
            label { "Paymaster " select name="paymaster" { @for n in names { option value=(n) { (n) } } } }
            label { "Action "
                select name="action" {
                    @for a in ["deposit", "withdraw", "stake_add", "stake_unlock", "stake_withdraw"] { option value=(a) { (a) } }
                }
            }
            label { "Amount (wei) " input name="amountWei" inputmode="numeric" size="24"; }
            label { "To " input name="to" placeholder="0x…" size="44"; }
            label { "Unstake delay (s) " input name="unstakeDelaySec" inputmode="numeric" size="8"; }
            button type="submit" name="format" value="calldata" { "Show calldata" }
            button type="submit" name="format" value="safe" { "Download Safe JSON" }
        }
        p.muted { "Dry run only: nothing is sent. Send with " code { "butler paymaster deposit|withdraw|stake …" } "." }
    }
}

/// `GET /ui/paymasters`.
pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
) -> Response {
    let status = admin::paymaster_status_handler(State(console.api.clone()))
        .await
        .0;
    let names: Vec<String> = console
        .api
        .settings()
        .paymasters
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let content = html! {
        h2 { "Status" }
        (status_table(&status.paymasters))
        h2 { "Revenue" }
        (totals(&console).await)
        h3 { "By day" }
        (revenue(&console).await)
        h2 { "Top-ups" }
        (topups(&console))
        h2 { "Admin actions (dry run)" }
        @if names.is_empty() { p.muted { "No [[paymasters]] configured." } } @else { (action_form(&signed, &names)) }
    };
    layout::page("Paymasters", "/ui/paymasters", &signed, content)
}

/// The action form.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionForm {
    pub paymaster: String,
    pub action: String,
    #[serde(default)]
    pub amount_wei: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub unstake_delay_sec: String,
    #[serde(default)]
    pub format: String,
}

fn given(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `POST /ui/paymasters/action`: the call as a dry run, or the Safe batch as a download.
pub async fn action(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return layout::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the form needs `paymaster` and `action`",
        );
    };
    let safe = f.format == "safe";
    let delay = match given(&f.unstake_delay_sec)
        .map(|s| s.parse::<u32>())
        .transpose()
    {
        Ok(d) => d,
        Err(_) => {
            return layout::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unstake delay: not a number of seconds",
            );
        }
    };
    let req = PaymasterConfigRequest {
        paymaster: f.paymaster.clone(),
        action: f.action.clone(),
        amount_wei: given(&f.amount_wei),
        to: given(&f.to),
        unstake_delay_sec: delay,
        dry_run: Some(true),
        format: safe.then(|| "safe".to_string()),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let answer = paymaster_config::config(State(console.api.clone()), headers, JsonBody(req)).await;
    let value = match answer {
        Ok(Json(v)) => v,
        Err(e) => return layout::error(e.status, &e.message),
    };
    if safe {
        let name = format!(
            "safe-{}-{}.json",
            f.paymaster
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            f.action
        );
        let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
        let body = serde_json::to_string_pretty(&value).unwrap_or_default();
        return (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response();
    }
    let call = &value["call"];
    let field = |k: &str| call[k].as_str().unwrap_or_default().to_string();
    let content = html! {
        table.fields { tbody {
            tr { th { "Paymaster" } td { (f.paymaster) } }
            tr { th { "Function" } td { code { (field("function")) } } }
            tr { th { "To" } td.hash { (field("to")) } }
            tr { th { "Value" } td { (eth_str(&field("valueWei"))) } }
            tr { th { "Calldata" } td { textarea.calldata readonly rows="4" cols="80" { (field("data")) } } }
        } }
        p.muted { "Nothing was sent." }
        p { a href="/ui/paymasters" { "Back" } }
    };
    layout::page("Admin action (dry run)", "/ui/paymasters", &signed, content)
}
