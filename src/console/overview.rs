//! `GET /`: the chain head and its age, the indexer's lag, each paymaster's deposit, runway and 24 h
//! spend, each bundler's status and restarts, the banners of `/api/public/status` and the reorgs; and
//! `GET /ui/status/stream`, the figures the page's script keeps live (SSE `event: status`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use alloy::primitives::U256;
use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use maud::{Markup, html};
use serde::Serialize;

use super::Console;
use super::chart::{self, Bar};
use super::layout::{self, duration, eth, figure, time};
use super::session::Signed;
use crate::api::ApiState;
use crate::api::admin::{self, AdminBundlers};
use crate::api::bundlers::AdminBundler;
use crate::api::health::{self, Banner};
use crate::telemetry::now_ms;
use crate::watcher::checkpoint::ReorgRecord;
use crate::watcher::reduce::totals::BUCKET_SECS;

/// A bundler's row: configured (probed) or supervised.
#[derive(Debug, Serialize)]
pub struct BundlerRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// `UP`, `DOWN` or `STOPPED`.
    pub status: String,
    /// Restarts of a spawned instance.
    pub restarts: Option<u64>,
    pub reason: Option<String>,
}

/// Every bundler as `GET /api/admin/bundlers` lists it.
pub async fn bundler_rows(api: &ApiState) -> Vec<BundlerRow> {
    let AdminBundlers { bundlers } = admin::bundlers(State(api.clone())).await.0;
    bundlers
        .into_iter()
        .map(|b| match b {
            AdminBundler::Configured(c) => BundlerRow {
                id: c.probe.id,
                name: c.probe.name,
                kind: c.kind.to_string(),
                status: c.probe.status,
                restarts: None,
                reason: c.probe.error,
            },
            AdminBundler::Supervised(i) => BundlerRow {
                kind: format!("{:?}", i.kind).to_lowercase(),
                status: i.status.as_str().to_string(),
                restarts: (i.kind == crate::bundlers::Kind::Spawned).then_some(i.restarts),
                reason: i.reason,
                id: i.id,
                name: i.name,
            },
        })
        .collect()
}

/// The figures the status stream sends.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Live {
    pub head: Option<u64>,
    pub indexed: Option<u64>,
    pub lag: Option<u64>,
    pub reorgs: Option<u64>,
    pub status: String,
    pub banners: Vec<Banner>,
    pub bundlers: Vec<BundlerRow>,
}

/// The live figures, from the monitor's snapshot and the indexer (no RPC call).
pub async fn live(api: &ApiState) -> Live {
    let snap = api.snapshot();
    let head = snap.chain.as_ref().and_then(|c| c.head_block);
    let progress = api.watcher().map(|w| w.progress.borrow().clone());
    let indexed = progress.as_ref().and_then(|p| p.indexed_block);
    let status = health::public_status(State(api.clone())).await.0;
    Live {
        head,
        indexed,
        lag: head.zip(indexed).map(|(h, i)| h.saturating_sub(i)),
        reorgs: progress.as_ref().map(|p| p.reorgs),
        status: format!("{:?}", status.status).to_lowercase(),
        banners: status.banners,
        bundlers: bundler_rows(api).await,
    }
}

/// A paymaster's line: deposit (monitor), spend of the last 24 h of indexed operations and the runway
/// at that rate.
struct PaymasterLine {
    name: String,
    address: String,
    deposit: Option<U256>,
    low: bool,
    error: Option<String>,
    spend_24h: U256,
    hourly: Vec<Bar>,
}

fn paymaster_lines(api: &ApiState) -> Vec<PaymasterLine> {
    let snap = api.snapshot();
    let indexed = api.indexed();
    let now = now_ms() / 1000;
    let first = (now - now % BUCKET_SECS).saturating_sub(23 * BUCKET_SECS);
    api.settings()
        .paymasters
        .iter()
        .map(|p| {
            let probe = snap
                .paymasters
                .iter()
                .find(|s| s.target.address == p.address);
            let mut hours: BTreeMap<u64, U256> = (0..24)
                .map(|i| (first + i * BUCKET_SECS, U256::ZERO))
                .collect();
            for op in indexed.userops.iter().rev() {
                if op.ts < first {
                    break;
                }
                if op.paymaster == p.address
                    && let Some(v) = hours.get_mut(&(op.ts - op.ts % BUCKET_SECS))
                {
                    *v += op.actual_gas_cost_wei;
                }
            }
            let spend_24h = hours.values().fold(U256::ZERO, |a, b| a + *b);
            let hourly = hours
                .iter()
                .map(|(ts, wei)| Bar {
                    label: if (ts / BUCKET_SECS).is_multiple_of(6) {
                        layout::time(*ts)[11..16].to_string()
                    } else {
                        String::new()
                    },
                    value: f64::from(*wei),
                    title: format!("{} from {} UTC", eth(*wei), layout::time(*ts)),
                })
                .collect();
            PaymasterLine {
                name: p.name.clone(),
                address: p.address.to_checksum(None),
                deposit: probe.and_then(|s| s.deposit()),
                low: probe.is_some_and(|s| s.deposit_low()),
                error: probe.and_then(|s| s.status.as_ref().err().cloned()),
                spend_24h,
                hourly,
            }
        })
        .collect()
}

fn banners(list: &[Banner]) -> Markup {
    html! {
        div #banners {
            @for b in list {
                p class=(format!("banner {}", b.severity)) { (b.message) }
            }
        }
    }
}

/// The bundlers table (shared with the bundlers page); `live` cells update from the status stream.
pub fn bundler_table(rows: &[BundlerRow], link: bool) -> Markup {
    html! {
        table.bundlers {
            thead { tr { th { "Bundler" } th { "Kind" } th { "Status" } th { "Restarts" } th { "Reason" } } }
            tbody {
                @for b in rows {
                    tr {
                        td {
                            @if link && b.kind == "spawned" {
                                a href=(format!("/ui/bundlers/{}", b.id)) { (b.name) }
                            } @else { (b.name) }
                            " " small.muted { (b.id) }
                        }
                        td { (b.kind) }
                        td { span class=(format!("status {}", b.status.to_lowercase())) data-bundler-status=(b.id) { (b.status) } }
                        td data-bundler-restarts=(b.id) { (b.restarts.map_or("-".to_string(), |r| r.to_string())) }
                        td.muted { (b.reason.as_deref().unwrap_or("")) }
                    }
                }
                @if rows.is_empty() {
                    tr { td colspan="5" .muted { "No bundlers configured or supervised." } }
                }
            }
        }
    }
}

/// `GET /`.
pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
) -> Response {
    let api = &console.api;
    let live = live(api).await;
    let head_age = match api.chain() {
        Some(c) => tokio::time::timeout(Duration::from_secs(2), c.status())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|s| s.head_age_secs),
        None => None,
    };
    let lines = paymaster_lines(api);
    let reorgs = api
        .watcher()
        .map(|w| w.progress.borrow().recent_reorgs.clone())
        .unwrap_or_default();
    let dash = || "-".to_string();
    let content = html! {
        div data-live-status="/ui/status/stream" {
            (banners(&live.banners))
            section.cards {
                (figure("Chain head", html! { span data-live="head" { (live.head.map_or_else(dash, |h| h.to_string())) } }))
                (figure("Head age", html! { (head_age.map_or_else(dash, |a| duration(a as f64))) }))
                (figure("Indexed block", html! { span data-live="indexed" { (live.indexed.map_or_else(dash, |h| h.to_string())) } }))
                (figure("Indexer lag (blocks)", html! { span data-live="lag" { (live.lag.map_or_else(dash, |h| h.to_string())) } }))
                (figure("Reorgs (all time)", html! { span data-live="reorgs" { (live.reorgs.map_or_else(dash, |h| h.to_string())) } }))
                (figure("Status", html! { span data-live="status" { (live.status) } }))
            }
            h2 { "Paymasters" }
            @if lines.is_empty() { p.muted { "No [[paymasters]] configured." } }
            @for p in &lines {
                section.paymaster {
                    h3 { (p.name) " " small.muted { (p.address) } }
                    div.cards {
                        (figure("Deposit", html! {
                            span class=[p.low.then_some("low")] data-paymaster-deposit=(p.address) {
                                (p.deposit.map_or_else(|| "unknown".to_string(), eth))
                            }
                        }))
                        (figure("Spent, last 24 h", html! { (eth(p.spend_24h)) }))
                        (figure("Runway", html! { (runway(p.deposit, p.spend_24h)) }))
                    }
                    @if let Some(e) = &p.error { p.muted { (e) } }
                    (chart::bars(&format!("Gas spent per hour, last 24 h (UTC): {}", p.name), &p.hourly, |m| eth(U256::from(m as u128))))
                }
            }
            h2 { "Bundlers" }
            (bundler_table(&live.bundlers, true))
            h2 { "Recent reorgs" }
            (reorg_table(&reorgs))
        }
    };
    layout::page("Overview", "/", &signed, content)
}

/// The reorganisations the indexer rolled back most recently, newest first.
fn reorg_table(reorgs: &[ReorgRecord]) -> Markup {
    html! {
        @if reorgs.is_empty() {
            p.muted { "No reorganisation rolled back." }
        } @else {
            table {
                thead { tr { th { "Rolled back at (UTC)" } th { "Last valid block" } th { "Depth (blocks)" } } }
                tbody {
                    @for r in reorgs.iter().rev() {
                        tr {
                            td { (time(r.at_ms / 1000)) }
                            td { (r.fork_block.map_or_else(|| "none (log restarted)".to_string(), |b| b.to_string())) }
                            td { (r.depth) }
                        }
                    }
                }
            }
        }
    }
}

fn runway(deposit: Option<U256>, spend_24h: U256) -> String {
    match deposit {
        None => "-".to_string(),
        Some(d) => duration(crate::exporter::paymaster::runway_secs(
            d, spend_24h, 86_400,
        )),
    }
}

/// `GET /ui/status/stream`: the live figures every `[api] monitor_interval_secs`; each stream holds
/// one of the `[api] sse_max_clients` slots, as a log stream does.
pub async fn stream(State(console): State<Console>) -> Response {
    let api = console.api.clone();
    let Ok(permit) = api.sse_permits().clone().try_acquire_owned() else {
        return layout::error(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "too many stream clients ([api] sse_max_clients); retry later",
        );
    };
    let every = api.settings().monitor.interval;
    let cancel = api.cancel().clone();
    // the slot travels with the stream's state and is freed when the client goes away
    let events = futures::stream::unfold((api, true, permit), move |(api, first, slot)| {
        let cancel = cancel.clone();
        async move {
            if !first {
                tokio::select! {
                    _ = cancel.cancelled() => return None,
                    _ = tokio::time::sleep(every) => {}
                }
            }
            let data = serde_json::to_string(&live(&api).await).unwrap_or_else(|_| "{}".into());
            Some((
                Ok::<_, Infallible>(Event::default().event("status").data(data)),
                (api, false, slot),
            ))
        }
    });
    status_sse(events, console.api.settings().sse_keepalive).into_response()
}

fn status_sse(
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
    keepalive: Duration,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + Send + 'static> {
    Sse::new(events).keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_reorgs_are_listed_newest_first() {
        let r = |at_ms, fork_block, depth| ReorgRecord {
            at_ms,
            fork_block,
            depth,
        };
        let html = reorg_table(&[r(1_000, Some(41), 2), r(2_000, None, 9)]).into_string();
        let newest = html.find("none (log restarted)").unwrap();
        let older = html.find(">41<").unwrap();
        assert!(newest < older, "{html}");
        assert!(html.contains("1970-01-01 00:00:02"), "{html}");
        assert!(reorg_table(&[]).into_string().contains("No reorganisation"));
    }
}
