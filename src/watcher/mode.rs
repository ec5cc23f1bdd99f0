//! The `watcher` serve mode: the indexer as a background task. It adds no routes of its own: the HTTP API
//! (served on the same listener by `butler serve --watcher`) answers `/health` with the indexer's progress.

use std::net::SocketAddr;

use axum::Router;
use tokio_util::sync::CancellationToken;

use super::Indexer;
use crate::serve::{Mode, TaskError};

/// Builds the mode from an opened indexer (which holds the writer lock).
pub fn mode(indexer: Indexer, listen: SocketAddr, cancel: CancellationToken) -> Mode {
    let task = Box::pin(async move {
        indexer
            .run(cancel)
            .await
            .map_err(|e| Box::new(e) as TaskError)
    });
    Mode {
        name: "watcher",
        listen,
        router: Router::new(),
        tasks: vec![("watcher-indexer".to_string(), task)],
    }
}
