//! `GET /ui/userops` (the table of `GET /api/admin/userops`, with its filters and pages) and
//! `GET /ui/senders/{address}` (a sender's totals and its operations).

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::Console;
use super::layout::{self, PageQuery, eth_str, short};
use super::session::Signed;
use crate::api::users::{UserOpItem, UserOpsQuery, select_userops};
use crate::logs::event::parse_address;
use crate::telemetry::now_ms;

/// Operations per console page.
const PAGE: u64 = 50;

fn blank(v: &mut Option<String>) {
    if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
        *v = None;
    }
}

/// The query with empty form fields dropped and the console's page size.
fn normalize(mut q: UserOpsQuery) -> UserOpsQuery {
    for v in [
        &mut q.limit,
        &mut q.offset,
        &mut q.sender,
        &mut q.paymaster,
        &mut q.success,
        &mut q.from_block,
        &mut q.to_block,
    ] {
        blank(v);
    }
    q.limit.get_or_insert_with(|| PAGE.to_string());
    q
}

/// The query string of `q` with `offset` replaced.
fn href(q: &UserOpsQuery, offset: u64) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("sender", &q.sender),
        ("paymaster", &q.paymaster),
        ("success", &q.success),
        ("fromBlock", &q.from_block),
        ("toBlock", &q.to_block),
        ("limit", &q.limit),
    ] {
        if let Some(v) = v {
            out.append_pair(k, v);
        }
    }
    out.append_pair("offset", &offset.to_string());
    format!("/ui/userops?{}", out.finish())
}

/// The operations table (also on the sender page).
pub fn table(ops: &[UserOpItem]) -> Markup {
    html! {
        table.userops {
            thead { tr {
                th { "Block" } th { "Time (UTC)" } th { "UserOp hash" } th { "Sender" } th { "Paymaster" }
                th { "Result" } th { "Gas cost" } th { "Transaction" }
            } }
            tbody {
                @for op in ops {
                    tr {
                        td { (op.block_number) }
                        td { (layout::time(op.ts)) }
                        td.hash { a href=(format!("/ui/logs?userOpHash={}", op.user_op_hash)) title=(op.user_op_hash) data-hash=(op.user_op_hash) { (short(&op.user_op_hash)) } }
                        td.hash { a href=(format!("/ui/senders/{}", op.sender)) title=(op.sender) { (short(&op.sender)) } }
                        td.hash title=(op.paymaster) { (short(&op.paymaster)) }
                        td { span class=(if op.success { "status up" } else { "status down" }) { (if op.success { "ok" } else { "failed" }) } }
                        td { (eth_str(&op.actual_gas_cost_wei)) }
                        td.hash { a href=(format!("/ui/logs?txHash={}", op.tx_hash)) title=(op.tx_hash) { (short(&op.tx_hash)) } }
                    }
                }
                @if ops.is_empty() { tr { td colspan="8" .muted { "No indexed user operations match." } } }
            }
        }
    }
}

fn filters(q: &UserOpsQuery) -> Markup {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    html! {
        form.filters method="get" action="/ui/userops" {
            label { "Sender " input name="sender" value=(v(&q.sender)) placeholder="0x…" size="44"; }
            label { "Paymaster " input name="paymaster" value=(v(&q.paymaster)) placeholder="0x…" size="44"; }
            label { "Result "
                select name="success" {
                    option value="" selected[q.success.is_none()] { "any" }
                    option value="true" selected[q.success.as_deref() == Some("true")] { "succeeded" }
                    option value="false" selected[q.success.as_deref() == Some("false")] { "failed" }
                }
            }
            label { "From block " input name="fromBlock" value=(v(&q.from_block)) size="10" inputmode="numeric"; }
            label { "to block " input name="toBlock" value=(v(&q.to_block)) size="10" inputmode="numeric"; }
            button type="submit" { "Filter" }
            " " a href="/ui/userops" { "Clear" }
        }
    }
}

/// `GET /ui/userops`.
pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    PageQuery(q): PageQuery<UserOpsQuery>,
) -> Response {
    let q = normalize(q);
    let (ops, problem) = match select_userops(&console.api, &q) {
        Ok(ops) => (ops, None),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let limit = q
        .limit
        .as_deref()
        .and_then(|l| l.parse().ok())
        .unwrap_or(PAGE);
    let offset = q
        .offset
        .as_deref()
        .and_then(|o| o.parse().ok())
        .unwrap_or(0u64);
    let content = html! {
        (filters(&q))
        @if let Some(p) = &problem { (layout::notice(false, p)) }
        (table(&ops))
        nav.pages {
            @if offset > 0 { a href=(href(&q, offset.saturating_sub(limit))) { "← Newer" } " " }
            span.muted { "operations " (offset + 1) "–" (offset + ops.len() as u64) }
            @if ops.len() as u64 == limit { " " a href=(href(&q, offset + limit)) { "Older →" } }
        }
    };
    layout::page("User operations", "/ui/userops", &signed, content)
}

/// `GET /ui/senders/{address}`.
pub async fn sender(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(address): Path<String>,
) -> Response {
    let Ok(addr) = parse_address(&address) else {
        return layout::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not an address (0x and 40 hex digits)",
        );
    };
    let api = &console.api;
    let indexed = api.indexed();
    let totals = indexed
        .totals
        .senders
        .get(&addr)
        .cloned()
        .unwrap_or_default();
    let owner = api
        .telemetry()
        .snapshot()
        .senders
        .get(&addr)
        .map(|s| s.owner.to_checksum(None));
    let checksum = addr.to_checksum(None);
    let recent = select_userops(
        api,
        &UserOpsQuery {
            sender: Some(checksum.clone()),
            limit: Some(PAGE.to_string()),
            ..UserOpsQuery::default()
        },
    )
    .unwrap_or_default();
    let now = now_ms() / 1000;
    let content = html! {
        p.hash { (checksum) }
        section.cards {
            (layout::figure("Operations", html! { (totals.total) }))
            (layout::figure("Succeeded", html! { (totals.succeeded) }))
            (layout::figure("Failed", html! { (totals.failed) }))
            (layout::figure("Gas cost", html! { (layout::eth(totals.total_actual_gas_cost_wei)) }))
            (layout::figure("Fees paid", html! { (totals.total_fee_amount) }))
            (layout::figure("Last operation", html! {
                @if totals.total > 0 { (layout::duration(now.saturating_sub(totals.last_op_ts) as f64)) " ago" } @else { "-" }
            }))
            (layout::figure("Owner (telemetry)", html! { (owner.as_deref().unwrap_or("-")) }))
        }
        h2 { "Newest operations" }
        (table(&recent))
        p { a href=(format!("/ui/userops?sender={checksum}")) { "All of this sender's operations" } }
    };
    layout::page("Sender", "/ui/userops", &signed, content)
}
