//! The `watcher` serve mode: the indexer as a background task, and a minimal `/health` on the API
//! listener (the HTTP API over the data is served by the API module).

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{Indexer, Progress};
use crate::serve::{Mode, TaskError};

/// Builds the mode from an opened indexer (which holds the writer lock).
pub fn mode(indexer: Indexer, listen: SocketAddr, cancel: CancellationToken) -> Mode {
    let progress = indexer.progress();
    let router = Router::new().route("/health", get(move || health(progress.clone())));
    let task = Box::pin(async move {
        indexer
            .run(cancel)
            .await
            .map_err(|e| Box::new(e) as TaskError)
    });
    Mode {
        name: "watcher",
        listen,
        router,
        tasks: vec![("watcher-indexer".to_string(), task)],
    }
}

async fn health(progress: watch::Receiver<Progress>) -> Json<serde_json::Value> {
    let p = progress.borrow().clone();
    Json(json!({
        "status": "ok",
        "indexedBlock": p.indexed_block,
        "targetBlock": p.pass_target,
        "caughtUp": p.caught_up,
        "events": p.events,
        "reorgs": p.reorgs,
        "logRange": p.range,
        "logRangeRefusals": p.range_refusals,
    }))
}
