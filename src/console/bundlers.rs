//! `GET /ui/bundlers`: every bundler (configured, spawned, registered) with its policy (the fee
//! metadata the public list offers), a spawn form, and stop / start / unregister, each behind a
//! confirmation step; `GET /ui/bundlers/{id}`: one instance and the tail of its log. The actions call the
//! supervisor as `POST /api/admin/bundlers/...` does.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::Deserialize;

use super::Console;
use super::layout::{self, csrf};
use super::overview::{bundler_rows, bundler_table};
use super::session::Signed;
use crate::api::bundlers::{api_error, supervisor};
use crate::bundlers::{BundlerInstance, Kind, Policy, SpawnRequest};
use crate::logs::LogFilter;

/// Log lines shown on an instance's page.
const TAIL: usize = 100;

fn policy_text(p: &Policy) -> String {
    format!(
        "min priority fee {} gwei · {} · delay {} ms · failure rate {}",
        p.min_priority_fee_gwei,
        if p.strict { "strict" } else { "not strict" },
        p.delay_ms,
        p.failure_rate
    )
}

fn actions(signed: &Signed, i: &BundlerInstance) -> Markup {
    let mut list: Vec<&str> = Vec::new();
    if i.kind == Kind::Spawned {
        list.push(if i.desired == crate::bundlers::Desired::Running {
            "stop"
        } else {
            "start"
        });
    }
    list.push("unregister");
    html! {
        @for a in list {
            form.inline method="post" action=(format!("/ui/bundlers/{}/{a}", i.id)) {
                (csrf(signed))
                button type="submit" class=[(a != "start").then_some("danger")] { (a) }
            }
        }
    }
}

fn supervised_table(signed: &Signed, list: &[BundlerInstance]) -> Markup {
    html! {
        table.supervised {
            thead { tr { th { "Instance" } th { "Base" } th { "RPC URL" } th { "Status" } th { "Policy (fee metadata)" } th { "Actions" } } }
            tbody {
                @for i in list {
                    tr {
                        td { a href=(format!("/ui/bundlers/{}", i.id)) { (i.name) } " " small.muted { (i.id) } }
                        td { (i.base.as_deref().unwrap_or("-")) }
                        td.hash { (i.rpc_url) }
                        td { span class=(format!("status {}", i.status.as_str().to_lowercase())) data-bundler-status=(i.id) { (i.status.as_str()) } }
                        td { (policy_text(&i.policy)) }
                        td { (actions(signed, i)) }
                    }
                }
                @if list.is_empty() { tr { td colspan="6" .muted { "No supervised instances yet." } } }
            }
        }
    }
}

fn spawn_form(signed: &Signed, bases: &[String]) -> Markup {
    html! {
        form.spawn method="post" action="/ui/bundlers/spawn" {
            (csrf(signed))
            label { "Base " select name="base" required { @for b in bases { option value=(b) { (b) } } } }
            label { "Name " input name="name" required maxlength="100"; }
            label { "Min priority fee (gwei) " input name="minPriorityFeeGwei" value="0" inputmode="decimal" size="6"; }
            label { "Strict " input type="checkbox" name="strict" value="true"; }
            label { "Delay (ms) " input name="delayMs" value="0" inputmode="numeric" size="6"; }
            label { "Failure rate (0–1) " input name="failureRate" value="0" inputmode="decimal" size="5"; }
            button type="submit" { "Spawn…" }
        }
    }
}

/// `GET /ui/bundlers`.
pub async fn page(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
) -> Response {
    let api = &console.api;
    let rows = bundler_rows(api).await;
    let sup = api.supervisor();
    let list = sup.map(|s| s.list()).unwrap_or_default();
    let bases: Vec<String> = sup
        .map(|s| {
            s.settings()
                .templates
                .iter()
                .map(|t| t.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let content = html! {
        div data-live-status="/ui/status/stream" {
            h2 { "Status" }
            (bundler_table(&rows, true))
            @match sup {
                None => p.muted { "Bundler supervision is off: the configuration has no [supervisor] section." },
                Some(_) => {
                    h2 { "Supervised instances" }
                    (supervised_table(&signed, &list))
                    h2 { "Spawn an instance" }
                    (spawn_form(&signed, &bases))
                }
            }
        }
    };
    layout::page("Bundlers", "/ui/bundlers", &signed, content)
}

/// The spawn form.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpawnForm {
    pub base: String,
    pub name: String,
    #[serde(default)]
    pub min_priority_fee_gwei: String,
    #[serde(default)]
    pub strict: Option<String>,
    #[serde(default)]
    pub delay_ms: String,
    #[serde(default)]
    pub failure_rate: String,
    #[serde(default)]
    pub confirm: Option<String>,
}

fn number<T: std::str::FromStr + Default>(field: &str, raw: &str) -> Result<T, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(T::default());
    }
    raw.parse()
        .map_err(|_| format!("{field}: `{raw}` is not a number"))
}

impl SpawnForm {
    fn request(&self) -> Result<SpawnRequest, String> {
        Ok(SpawnRequest {
            base: self.base.clone(),
            name: self.name.trim().to_string(),
            policy: Policy {
                min_priority_fee_gwei: number("min priority fee", &self.min_priority_fee_gwei)?,
                strict: self.strict.as_deref() == Some("true"),
                delay_ms: number("delay", &self.delay_ms)?,
                failure_rate: number("failure rate", &self.failure_rate)?,
            },
        })
    }
}

/// `POST /ui/bundlers/spawn`: the confirmation step, then the spawn.
pub async fn spawn(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    form: Result<Form<SpawnForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return layout::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the form needs `base` and `name`",
        );
    };
    let sup = match supervisor(&console.api) {
        Ok(s) => s,
        Err(e) => return layout::error(e.status, &e.message),
    };
    let req = match form.request() {
        Ok(r) => r,
        Err(e) => return layout::error(StatusCode::UNPROCESSABLE_ENTITY, &e),
    };
    if form.confirm.as_deref() != Some("yes") {
        let fields = [
            ("base", req.base.clone()),
            ("name", req.name.clone()),
            (
                "minPriorityFeeGwei",
                req.policy.min_priority_fee_gwei.to_string(),
            ),
            ("strict", req.policy.strict.to_string()),
            ("delayMs", req.policy.delay_ms.to_string()),
            ("failureRate", req.policy.failure_rate.to_string()),
        ];
        let what = html! {
            p { "Spawn a bundler from template " strong { (req.base) } " named " strong { (req.name) } "?" }
            p { (policy_text(&req.policy)) }
        };
        return layout::confirm(
            &signed,
            "Spawn a bundler",
            "/ui/bundlers",
            what,
            "/ui/bundlers/spawn",
            &fields,
        );
    }
    match sup.spawn(req).await {
        Ok(i) => Redirect::to(&format!("/ui/bundlers/{}", i.id)).into_response(),
        Err(e) => {
            let e = api_error(e);
            layout::error(e.status, &e.message)
        }
    }
}

/// The action form (only the confirmation matters; the CSRF token is checked before).
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub confirm: Option<String>,
}

/// `POST /ui/bundlers/{id}/{stop|start|unregister}`: the confirmation step, then the action.
pub async fn act(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path((id, action)): Path<(String, String)>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let confirmed = form.is_ok_and(|Form(f)| f.confirm.as_deref() == Some("yes"));
    let sup = match supervisor(&console.api) {
        Ok(s) => s,
        Err(e) => return layout::error(e.status, &e.message),
    };
    let Some(instance) = sup.get(&id) else {
        return layout::error(StatusCode::NOT_FOUND, "no such bundler instance");
    };
    if !matches!(action.as_str(), "stop" | "start" | "unregister") {
        return layout::error(
            StatusCode::NOT_FOUND,
            "actions are stop, start and unregister",
        );
    }
    if !confirmed {
        let what = html! {
            p { (action) " " strong { (instance.name) } " (" (instance.id) ")?" }
            @if action == "unregister" { p { "It is stopped if it runs and removed from the registry; its keys and ports are freed." } }
        };
        let url = format!("/ui/bundlers/{id}/{action}");
        return layout::confirm(
            &signed,
            &format!("{action} a bundler"),
            "/ui/bundlers",
            what,
            &url,
            &[],
        );
    }
    let done = match action.as_str() {
        "stop" => sup.stop(&id).await,
        "start" => sup.start_instance(&id).await,
        _ => sup.unregister(&id).await,
    };
    match done {
        Ok(_) => Redirect::to("/ui/bundlers").into_response(),
        Err(e) => {
            let e = api_error(e);
            layout::error(e.status, &e.message)
        }
    }
}

/// `GET /ui/bundlers/{id}`.
pub async fn detail(
    State(console): State<Console>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let Some(i) = console.api.supervisor().and_then(|s| s.get(&id)) else {
        return layout::error(StatusCode::NOT_FOUND, "no such bundler instance");
    };
    let filter = LogFilter {
        service: Some(i.id.clone()),
        ..LogFilter::default()
    };
    let tail = console.api.logs().query(&filter, TAIL);
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    let content = html! {
        div data-live-status="/ui/status/stream" {
            table.fields { tbody {
                tr { th { "Id" } td { (i.id) } }
                tr { th { "Kind" } td { (format!("{:?}", i.kind).to_lowercase()) } }
                tr { th { "Status" } td { span class=(format!("status {}", i.status.as_str().to_lowercase())) data-bundler-status=(i.id) { (i.status.as_str()) } } }
                tr { th { "Reason" } td { (dash(i.reason.clone())) } }
                tr { th { "RPC URL" } td.hash { (i.rpc_url) } }
                tr { th { "Policy" } td { (policy_text(&i.policy)) } }
                tr { th { "Restarts" } td data-bundler-restarts=(i.id) { (i.restarts) } }
                tr { th { "PID" } td { (dash(i.pid.map(|p| p.to_string()))) } }
                tr { th { "Executors" } td.hash { (i.executor_addresses.join(", ")) } }
            } }
            p { (actions(&signed, &i)) }
            h2 { "Log tail" }
            p { a href=(format!("/ui/logs?service={}", i.id)) { "Follow live in Logs" } }
            table.logs {
                thead { tr { th { "Time (UTC)" } th { "Level" } th { "Service" } th { "Message" } th { "Meta" } } }
                tbody { @for e in &tail { (super::logs::row(e)) } }
            }
        }
    };
    layout::page(
        &format!("Bundler {}", i.name),
        "/ui/bundlers",
        &signed,
        content,
    )
}
