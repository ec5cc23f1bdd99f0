//! `GET /ui/logs`: the newest log events with service, level and text filters (from `GET /api/logs`)
//! and a live tail (`GET /ui/logs/stream`, the SSE stream of `GET /api/logs/stream` behind the console's
//! session) that the page's script appends to without a reload; after a reconnect the browser's
//! `Last-Event-ID` resumes the stream where it stopped.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::Console;
use super::layout::{self, PageQuery};
use super::session::Signed;
use crate::api::logs::{LogsQuery, LogsResponse};
use crate::logs::{Level, LogEvent};

/// Events the page shows before the live tail takes over.
const SHOWN: u64 = 200;

/// The page's filters (empty fields are no filter); `after` is where the live tail starts.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogsPageQuery {
    pub service: Option<String>,
    pub level: Option<String>,
    pub q: Option<String>,
    pub user_op_hash: Option<String>,
    pub tx_hash: Option<String>,
    pub sender: Option<String>,
    pub after: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl LogsPageQuery {
    fn api(&self, limit: Option<u64>) -> LogsQuery {
        LogsQuery {
            service: given(&self.service),
            level: given(&self.level),
            q: given(&self.q),
            user_op_hash: given(&self.user_op_hash),
            tx_hash: given(&self.tx_hash),
            sender: given(&self.sender),
            limit: limit.map(|l| l.to_string()),
            ..LogsQuery::default()
        }
    }

    /// The filters as a query string (for the stream's URL).
    fn filters(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("service", &self.service),
            ("level", &self.level),
            ("q", &self.q),
            ("userOpHash", &self.user_op_hash),
            ("txHash", &self.tx_hash),
            ("sender", &self.sender),
        ] {
            if let Some(v) = given(v) {
                out.append_pair(k, &v);
            }
        }
        out.finish()
    }
}

/// One event as a table row (every field escaped; `meta` as its JSON text).
pub fn row(e: &LogEvent) -> Markup {
    let ts = e.ts_secs();
    html! {
        tr data-id=(e.id) {
            td { (layout::time(ts as u64)) }
            td { span class=(format!("level {}", e.level)) { (e.level) } }
            td { (e.service) }
            td.msg { (e.msg) }
            td.meta { (e.meta.as_ref().map(|m| m.to_string()).unwrap_or_default()) }
        }
    }
}

fn filters(q: &LogsPageQuery) -> Markup {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    html! {
        form.filters method="get" action="/ui/logs" {
            label { "Service " input name="service" value=(v(&q.service)); }
            label { "Level ≥ "
                select name="level" {
                    option value="" selected[given(&q.level).is_none()] { "any" }
                    @for l in Level::ALL {
                        option value=(l) selected[q.level.as_deref() == Some(l.as_str())] { (l) }
                    }
                }
            }
            label { "Text " input name="q" value=(v(&q.q)) type="search"; }
            @for (name, value) in [("userOpHash", &q.user_op_hash), ("txHash", &q.tx_hash), ("sender", &q.sender)] {
                @if let Some(value) = given(value) { input type="hidden" name=(name) value=(value); }
            }
            button type="submit" { "Filter" }
            " " a href="/ui/logs" { "Clear" }
        }
    }
}

/// `GET /ui/logs`.
pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    PageQuery(q): PageQuery<LogsPageQuery>,
) -> Response {
    let answer = crate::api::logs::query(
        State(console.api.clone()),
        crate::http::Query(q.api(Some(SHOWN))),
    )
    .await;
    let (events, problem) = match answer {
        Ok(axum::Json(LogsResponse { logs })) => (logs, None),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let after = events
        .last()
        .map(|e| e.id)
        .or_else(|| console.api.logs().stats().newest_id);
    let mut stream = format!("/ui/logs/stream?{}", q.filters());
    if let Some(after) = after {
        stream.push_str(&format!("&after={after}"));
    }
    let content = html! {
        (filters(&q))
        @if let Some(p) = &problem { (layout::notice(false, p)) }
        p.muted { "Live: " span #live-state { "off (needs JavaScript)" } }
        table.logs {
            thead { tr { th { "Time (UTC)" } th { "Level" } th { "Service" } th { "Message" } th { "Meta" } } }
            tbody #log-rows data-stream=(stream) {
                @for e in &events { (row(e)) }
            }
        }
    };
    layout::page("Logs", "/ui/logs", &signed, content)
}

/// `GET /ui/logs/stream`: `GET /api/logs/stream` with the page's filters; `after` stands in for
/// `Last-Event-ID` on the first connection (a reconnecting browser sends the header itself).
pub async fn stream(
    State(console): State<Console>,
    mut headers: HeaderMap,
    PageQuery(q): PageQuery<LogsPageQuery>,
) -> Response {
    if !headers.contains_key("last-event-id")
        && let Some(after) = given(&q.after)
        && let Ok(v) = HeaderValue::from_str(&after)
    {
        headers.insert("last-event-id", v);
    }
    crate::api::stream::stream(
        State(console.api.clone()),
        headers,
        crate::http::Query(q.api(None)),
    )
    .await
    .into_response()
}
