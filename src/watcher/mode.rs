//! The `watcher` serve mode: the indexer as a background task (or, with `--read-only`, the follower of the
//! PostgreSQL store). It adds no routes of its own: the HTTP API (served on the same listener by
//! `butler serve --watcher`) answers `/health` with the indexer's progress.

use tokio_util::sync::CancellationToken;

use super::Indexer;
use super::pg::follow::Follower;
use crate::serve::{Mode, TaskError};

/// Builds the mode from an opened indexer (which holds the writer lock): one task, no listener.
pub fn mode(indexer: Indexer, cancel: CancellationToken) -> Mode {
    let task = Box::pin(async move {
        indexer
            .run(cancel)
            .await
            .map_err(|e| Box::new(e) as TaskError)
    });
    Mode::new("watcher").task("watcher-indexer", task)
}

/// The read-only mode: the follower as the one task, no indexer and no writer lock.
pub fn reader_mode(follower: Follower, cancel: CancellationToken) -> Mode {
    let task = Box::pin(async move {
        follower
            .run(cancel)
            .await
            .map_err(|e| Box::new(e) as TaskError)
    });
    Mode::new("watcher").task("watcher-follower", task)
}
