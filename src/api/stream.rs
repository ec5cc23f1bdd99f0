//! `GET /api/logs/stream`: Server-Sent Events (`event: log`, `id: <event id>`, `data: <event JSON>`) with
//! keep-alive comments and `Last-Event-ID` resume.
//!
//! Each client gets a forwarding task reading the store's broadcast of committed batches, a bounded queue
//! of `[api] sse_client_queue` batches per client. Ingest never waits on a client: when a client falls more
//! than that many batches behind (it reads too slowly, or not at all), its task sends a last
//! `event: dropped` if there is room, stops, and frees the client's slot (`[api] sse_max_clients`); the
//! client reconnects with `Last-Event-ID` to resume from the ring.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::error::{ApiError, ErrorBody};
use super::input::Query;
use super::logs::LogsQuery;
use super::state::ApiState;
use crate::logs::store::Batch;
use crate::logs::{LogEvent, LogFilter};

/// Streams matching events as they are stored; resumes after `Last-Event-ID` from the in-memory ring.
#[utoipa::path(
    get,
    path = "/api/logs/stream",
    tag = "logs",
    params(
        LogsQuery,
        ("last-event-id" = Option<u64>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "An SSE stream of `event: log` messages", content_type = "text/event-stream", body = String),
        (status = 400, description = "Unknown parameter or bad Last-Event-ID", body = ErrorBody),
        (status = 422, description = "Invalid parameter value", body = ErrorBody),
        (status = 503, description = "Too many stream clients", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stream(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<LogsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let filter = q.filter()?;
    let after = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "header `last-event-id`: expected an event id (an integer)",
                    )
                })?,
        ),
    };
    let max = state.settings().sse_max_clients;
    let permit = state
        .sse_permits()
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::unavailable(format!(
                "too many stream clients (at most {max}, [api] sse_max_clients); retry later"
            ))
        })?;
    let queue = state.settings().sse_client_queue;
    let (tx, rx) = mpsc::channel::<Event>(WIRE_QUEUE);
    let sub = state.logs().subscribe(after);
    let cancel = state.cancel().clone();
    tokio::spawn(async move {
        let _permit = permit;
        let mut last = after.unwrap_or(0);
        for e in sub.backlog {
            if !filter.matches(&e) {
                continue;
            }
            last = e.id;
            tokio::select! {
                _ = cancel.cancelled() => return,
                sent = tx.send(log_event(&e)) => if sent.is_err() { return },
            }
        }
        forward(sub.live, tx, filter, last, queue, cancel).await;
    });
    let stream =
        futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    let keepalive = state.settings().sse_keepalive;
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive")))
}

/// Events buffered between a client's forwarding task and its connection.
const WIRE_QUEUE: usize = 64;
/// How often a blocked forwarding task checks how far behind its client is.
const LAG_CHECK: Duration = Duration::from_millis(100);

async fn forward(
    mut live: tokio::sync::broadcast::Receiver<Batch>,
    tx: mpsc::Sender<Event>,
    filter: LogFilter,
    mut last: u64,
    queue: usize,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tx.closed() => return,
            r = live.recv() => r,
        };
        let batch = match next {
            Ok(b) => b,
            Err(RecvError::Closed) => return,
            Err(RecvError::Lagged(_)) => return drop_slow(&tx, queue),
        };
        for c in batch.iter() {
            let e = &c.event;
            if e.id <= last || !filter.matches(e) {
                continue;
            }
            last = e.id;
            let slot = loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    slot = tx.reserve() => match slot {
                        Ok(slot) => break slot,
                        Err(_) => return,
                    },
                    _ = tokio::time::sleep(LAG_CHECK) => {
                        if live.len() > queue {
                            return drop_slow(&tx, queue);
                        }
                    }
                }
            };
            slot.send(
                Event::default()
                    .event("log")
                    .id(e.id.to_string())
                    .data(&c.json),
            );
        }
    }
}

fn drop_slow(tx: &mpsc::Sender<Event>, queue: usize) {
    tracing::warn!(
        queue,
        "dropping a log stream client that fell too far behind"
    );
    let _ = tx.try_send(Event::default().event("dropped").data(format!(
        "this client fell more than {queue} events behind; reconnect with Last-Event-ID"
    )));
}

fn log_event(e: &LogEvent) -> Event {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".to_string());
    Event::default()
        .event("log")
        .id(e.id.to_string())
        .data(data)
}
