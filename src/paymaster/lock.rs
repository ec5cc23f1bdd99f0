//! The per-paymaster lock: an exclusive `flock` (fs4) on `DATA_DIR/locks/paymaster-<address>.lock`, held
//! while a top-up decides, sends and records. A second run waits for it (bounded) and then re-reads the
//! deposit, so two overlapping runs send one transaction. The kernel releases it when the holder exits.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use fs4::fs_std::FileExt;
use tokio_util::sync::CancellationToken;

use super::OpsError;
use crate::backoff::{self, Backoff};
use crate::fs::{FsError, create_dir_synced, open_lock_file, write_lock_note};

/// How often a waiting run tries the lock again: soon at first, then at most every half second.
const RETRY: Backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(500));

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct PaymasterLock {
    file: File,
    path: PathBuf,
    /// How long this run waited for it (zero when it was free at once).
    pub waited: Duration,
}

/// Why the lock was not obtained.
#[derive(Debug)]
pub enum LockOutcome {
    Held(PaymasterLock),
    /// Another run held it for the whole wait.
    TimedOut {
        path: PathBuf,
        waited: Duration,
    },
    /// The run was cancelled while waiting.
    Cancelled,
}

/// The lock file of a paymaster.
pub fn lock_path(data_dir: &Path, paymaster: Address) -> PathBuf {
    data_dir
        .join("locks")
        .join(format!("paymaster-{}.lock", hex::encode(paymaster)))
}

impl PaymasterLock {
    /// Takes the lock of `paymaster`, waiting at most `wait` for another holder to release it.
    pub async fn acquire(
        data_dir: &Path,
        paymaster: Address,
        wait: Duration,
        cancel: &CancellationToken,
    ) -> Result<LockOutcome, OpsError> {
        let path = lock_path(data_dir, paymaster);
        if let Some(dir) = path.parent() {
            create_dir_synced(dir)?;
        }
        let mut file = open_lock_file(&path).map_err(FsError::at(&path))?;
        let started = Instant::now();
        let mut delays = RETRY.delays();
        let mut first = true;
        loop {
            if file.try_lock_exclusive().map_err(FsError::at(&path))? {
                let info = format!("pid {}\n", std::process::id());
                write_lock_note(&mut file, &info).map_err(FsError::at(&path))?;
                let waited = if first {
                    Duration::ZERO
                } else {
                    started.elapsed()
                };
                return Ok(LockOutcome::Held(PaymasterLock { file, path, waited }));
            }
            if started.elapsed() >= wait {
                return Ok(LockOutcome::TimedOut {
                    path,
                    waited: started.elapsed(),
                });
            }
            first = false;
            let left = wait.saturating_sub(started.elapsed());
            if !backoff::sleep(delays.next_delay().min(left), cancel).await {
                return Ok(LockOutcome::Cancelled);
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PaymasterLock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let pm = Address::repeat_byte(7);
        let cancel = CancellationToken::new();
        let LockOutcome::Held(first) =
            PaymasterLock::acquire(dir.path(), pm, Duration::ZERO, &cancel)
                .await
                .unwrap()
        else {
            panic!("first lock")
        };
        let second = PaymasterLock::acquire(dir.path(), pm, Duration::from_millis(300), &cancel)
            .await
            .unwrap();
        assert!(matches!(second, LockOutcome::TimedOut { .. }));
        let other =
            PaymasterLock::acquire(dir.path(), Address::repeat_byte(8), Duration::ZERO, &cancel)
                .await
                .unwrap();
        assert!(
            matches!(other, LockOutcome::Held(_)),
            "another paymaster has its own lock"
        );
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(first);
        });
        let third = PaymasterLock::acquire(dir.path(), pm, Duration::from_secs(10), &cancel)
            .await
            .unwrap();
        assert!(matches!(third, LockOutcome::Held(_)));
        release.await.unwrap();
    }
}
