//! The single-writer lock on `DATA_DIR/chain`: an exclusive `flock` (fs4) on `DATA_DIR/chain/writer.lock`,
//! held for the life of the writer and released by the kernel when it exits (even on SIGKILL). The file
//! holds the holder's pid, command line and start time, so a second writer can name it.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use fs4::fs_std::FileExt;

use super::WatcherError;
use crate::fs::{open_lock_file, write_lock_note};

/// The lock file's name inside `DATA_DIR/chain`.
pub const LOCK_FILE: &str = "writer.lock";

/// A held writer lock; dropping it releases the lock.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
}

impl WriterLock {
    /// Takes the lock on `chain_dir` (created if needed) or fails naming the current holder.
    pub fn acquire(chain_dir: &Path) -> Result<WriterLock, WatcherError> {
        std::fs::create_dir_all(chain_dir).map_err(WatcherError::io(chain_dir))?;
        let path = chain_dir.join(LOCK_FILE);
        let mut file = open_lock_file(&path).map_err(WatcherError::io(&path))?;
        let locked = file.try_lock_exclusive().map_err(WatcherError::io(&path))?;
        if !locked {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(WatcherError::Locked {
                path: chain_dir.to_path_buf(),
                holder: if holder.is_empty() {
                    "an unknown process".to_string()
                } else {
                    holder.replace('\n', ", ")
                },
            });
        }
        let command: Vec<String> = std::env::args().collect();
        let info = format!(
            "pid {}\ncommand {}\nsince {}\n",
            std::process::id(),
            command.join(" "),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        write_lock_note(&mut file, &info)
            .and_then(|_| file.sync_data())
            .map_err(WatcherError::io(&path))?;
        Ok(WriterLock { file })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(dir.path()).unwrap();
        let err = WriterLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        WriterLock::acquire(dir.path()).unwrap();
    }
}
