//! The indexer's store and checkpoint I/O, run on the blocking pool so fsyncs never stall the async executor.

use super::checkpoint::Checkpoint;
use super::error::WatcherError;
use super::store::StoreWriter;

/// Runs store and checkpoint I/O on the blocking pool, off the async executor.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WatcherError> + Send + 'static,
) -> Result<T, WatcherError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WatcherError::Task(e.to_string()))?
}

/// Writes a checkpoint on the blocking pool.
pub(super) async fn save(dir: &std::path::Path, cp: &Checkpoint) -> Result<(), WatcherError> {
    let (dir, cp) = (dir.to_path_buf(), cp.clone());
    blocking(move || cp.save(&dir)).await
}

/// Locks the store writer (held by one blocking task at a time).
pub(super) fn lock(
    store: &std::sync::Mutex<StoreWriter>,
) -> std::sync::MutexGuard<'_, StoreWriter> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}
