//! `GET /ui/workflows` (the list of `GET /workflows`, paged) and `GET /ui/workflows/{id}` (its decisions,
//! settlements and timeline, from `GET /workflows/{id}`).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::Console;
use super::layout::{self, PageQuery, short};
use super::session::Signed;
use crate::api::workflows::{self, WorkflowsQuery};

/// Workflows per console page.
const PAGE: u64 = 50;

/// The list's page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub offset: Option<u64>,
}

/// `GET /ui/workflows`.
pub async fn list(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    PageQuery(q): PageQuery<ListQuery>,
) -> Response {
    let offset = q.offset.unwrap_or(0);
    let answer = workflows::list(
        State(console.api.clone()),
        crate::http::Query(WorkflowsQuery {
            limit: Some(PAGE.to_string()),
            offset: Some(offset.to_string()),
        }),
    )
    .await;
    let items = match answer {
        Ok(Json(items)) => items,
        Err(e) => return layout::error(e.status, &e.message),
    };
    let time = |t: Option<u64>| t.map_or_else(|| "-".to_string(), layout::time);
    let content = html! {
        table.workflows {
            thead { tr { th { "Workflow" } th { "Status" } th { "Initiator" } th { "Started (UTC)" } th { "Completed" } th { "Failure" } } }
            tbody {
                @for w in &items {
                    tr {
                        td.hash { a href=(format!("/ui/workflows/{}", w.workflow_id)) title=(w.workflow_id) { (short(&w.workflow_id)) } }
                        td { span class=(format!("status {}", w.status)) { (w.status) } }
                        td.hash { (w.initiator.as_deref().unwrap_or("-")) }
                        td { (time(w.started_at)) }
                        td { (time(w.completed_at)) }
                        td.muted { (w.failure_reason.as_deref().unwrap_or("")) }
                    }
                }
                @if items.is_empty() { tr { td colspan="6" .muted { "No workflows indexed." } } }
            }
        }
        nav.pages {
            @if offset > 0 { a href=(format!("/ui/workflows?offset={}", offset.saturating_sub(PAGE))) { "← Newer" } " " }
            @if items.len() as u64 == PAGE { a href=(format!("/ui/workflows?offset={}", offset + PAGE)) { "Older →" } }
        }
    };
    layout::page("Workflows", "/ui/workflows", &signed, content)
}

/// `GET /ui/workflows/{id}`.
pub async fn detail(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let d = match workflows::detail(State(console.api.clone()), Path(id)).await {
        Ok(Json(d)) => d,
        Err(e) => return layout::error(e.status, &e.message),
    };
    let w = &d.workflow;
    let content = html! {
        p.hash { (w.workflow_id) }
        section.cards {
            (layout::figure("Status", html! { (w.status) }))
            (layout::figure("Initiator", html! { (w.initiator.as_deref().unwrap_or("-")) }))
            (layout::figure("Decisions", html! { (d.decisions.len()) }))
            (layout::figure("Settlements", html! { (d.settlements.len()) }))
        }
        @if let Some(r) = &w.failure_reason { (layout::notice(false, r)) }
        h2 { "Timeline" }
        ol.timeline {
            @for t in &d.timeline {
                li {
                    span.when { (layout::time(t.timestamp)) " · block " (t.block_number) }
                    " " strong { (t.event) }
                    @if !t.detail.is_empty() { " — " (t.detail) }
                    " " small.hash title=(t.tx_hash) { (short(&t.tx_hash)) }
                }
            }
        }
        @if !d.settlements.is_empty() {
            h2 { "Settlements" }
            table { thead { tr { th { "From" } th { "To" } th { "Amount" } th { "Block" } } }
                tbody { @for s in &d.settlements { tr { td.hash { (s.from) } td.hash { (s.to) } td { (s.amount) } td { (s.block_number) } } } } }
        }
        p { a href="/ui/workflows" { "All workflows" } }
    };
    layout::page("Workflow", "/ui/workflows", &signed, content)
}
