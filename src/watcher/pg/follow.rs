//! A read-only API process (`butler serve --watcher --read-only`): the state built from `chain_event` up to
//! the checkpoint row, then kept fresh without indexing. The writer notifies [`super::CHANNEL`] in every
//! committing transaction; the follower wakes on it (or every poll interval, should notifications be lost),
//! reads the new checkpoint and applies only the records after the block it has. A rollback (more reorgs,
//! or a lower last block) rebuilds the state from the table. Each read is one repeatable-read snapshot, so
//! the state always matches one committed checkpoint.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::backoff;
use crate::pg::PgDatabase;
use crate::watcher::checkpoint::Checkpoint;
use crate::watcher::reduce::State;
use crate::watcher::{Progress, WatcherError};

/// Follows the store for the API.
pub struct Follower {
    pool: PgPool,
    poll: Duration,
    known: Option<Checkpoint>,
    current: State,
    progress: watch::Sender<Progress>,
    state: watch::Sender<Arc<State>>,
}

impl Follower {
    /// Connects and builds the state as of the current checkpoint (empty before the first indexer ran).
    pub async fn open(
        db: &PgDatabase,
        poll: Duration,
        retention_max: usize,
    ) -> Result<Follower, WatcherError> {
        let pool = super::connect(db, 4).await?;
        let mut f = Follower {
            pool,
            poll,
            known: None,
            current: State::new(retention_max),
            progress: watch::Sender::new(Progress::default()),
            state: watch::Sender::new(Arc::new(State::new(retention_max))),
        };
        f.refresh().await?;
        Ok(f)
    }

    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    pub fn state(&self) -> watch::Receiver<Arc<State>> {
        self.state.subscribe()
    }

    pub fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// The chain id of the store's checkpoint (`None` before the first indexer ran).
    pub fn chain_id(&self) -> Option<u64> {
        self.known.as_ref().map(|c| c.chain_id)
    }

    /// Follows until cancelled; database outages are logged and retried.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<(), WatcherError> {
        let mut listener: Option<PgListener> = None;
        let mut delays = RETRY.delays();
        loop {
            if listener.is_none() {
                listener = listen(&self.pool).await;
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                n = next(&mut listener) => if n.is_err() { listener = None },
                _ = tokio::time::sleep(self.poll) => {}
            }
            match self.refresh().await {
                Ok(()) => delays.reset(),
                Err(e) if e.is_transient() => {
                    let wait = delays.next_delay();
                    tracing::warn!(error = %e, retry_in_secs = wait.as_secs_f64(), "reading the watcher store failed; retrying");
                    if !backoff::sleep(wait, &cancel).await {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Catches up with the stored checkpoint.
    async fn refresh(&mut self) -> Result<(), WatcherError> {
        let Some(cp) = super::load_checkpoint(&self.pool).await? else {
            return Ok(());
        };
        let Some(known) = self.known.as_ref() else {
            return self.reload().await;
        };
        if known.last_block == cp.last_block
            && known.events == cp.events
            && known.reorgs == cp.reorgs
        {
            return Ok(());
        }
        if cp.reorgs != known.reorgs || cp.last_block < known.last_block {
            return self.reload().await;
        }
        let after = known.last_block;
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(WatcherError::db("begin a read"))?;
        let Some(cp) = super::load_checkpoint(&mut *tx).await? else {
            return Ok(());
        };
        if cp.reorgs != known.reorgs || cp.last_block < after {
            drop(tx);
            return self.reload().await;
        }
        let mut next = self.current.clone();
        super::for_each_record(&mut *tx, after, cp.last_block, |r| next.apply(&r)).await?;
        tx.commit().await.map_err(WatcherError::db("end a read"))?;
        if next.events != cp.events {
            return self.reload().await;
        }
        self.current = next;
        self.publish(cp);
        Ok(())
    }

    /// Rebuilds the state from the table.
    async fn reload(&mut self) -> Result<(), WatcherError> {
        let Some((cp, records)) = crate::watcher::backend::snapshot(&self.pool).await? else {
            return Ok(());
        };
        let mut state = State::new(cp.retention_max);
        for r in &records {
            state.apply(r);
        }
        tracing::info!(
            last_block = ?cp.last_block,
            events = state.events,
            "built the state from the watcher store"
        );
        self.current = state;
        self.publish(cp);
        Ok(())
    }

    fn publish(&mut self, cp: Checkpoint) {
        self.state.send_replace(Arc::new(self.current.clone()));
        self.progress.send_replace(Progress {
            pass_target: cp.last_block.unwrap_or(0),
            indexed_block: cp.last_block,
            events: cp.events,
            reorgs: cp.reorgs,
            recent_reorgs: cp.recent_reorgs.clone(),
            caught_up: true,
            ..Progress::default()
        });
        self.known = Some(cp);
    }
}

async fn listen(pool: &PgPool) -> Option<PgListener> {
    let mut l = PgListener::connect_with(pool).await.ok()?;
    l.listen(super::CHANNEL).await.ok()?;
    Some(l)
}

/// The next notification; never resolves without a listener.
async fn next(listener: &mut Option<PgListener>) -> Result<(), sqlx::Error> {
    match listener {
        Some(l) => l.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

/// Backoff after consecutive failed reads: 1 s doubling up to 30 s.
const RETRY: backoff::Backoff =
    backoff::Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
