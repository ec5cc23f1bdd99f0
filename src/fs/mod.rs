//! The file layer every store uses: I/O errors that name their path, directory fsync, atomic file
//! replacement, and the daily NDJSON segments ([`segments`]) behind the logs journal, the telemetry store and
//! the chain-event log.

pub mod segments;

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

pub use segments::{Segment, Segments};

/// An I/O failure and the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FsError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FsError {
    /// Wraps an I/O error with its path (for `map_err`).
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
        move |source| FsError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// fsyncs a directory so a created, renamed or removed entry survives a crash.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(FsError::at(dir))
}

/// Creates `dir` (and its parents) when it is missing and fsyncs its parent, so the new entry is durable.
/// Returns whether it was created.
pub fn create_dir_synced(dir: &Path) -> Result<bool, FsError> {
    if dir.is_dir() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir).map_err(FsError::at(dir))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(true)
}

/// Replaces `path` with `bytes` atomically: a temp file next to it, fsync, rename over `path`, fsync of the
/// directory. A crash leaves either the old or the new content, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    replace(path, bytes, None)
}

/// [`atomic_write`] for a file that holds secrets: it is readable and writable by its owner only (0600),
/// set before any byte is written.
pub fn atomic_write_private(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    replace(path, bytes, Some(0o600))
}

fn replace(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), FsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = dir.join(name);
    let mut f = match mode {
        None => File::create(&tmp),
        Some(mode) => OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .and_then(|f| f.set_permissions(Permissions::from_mode(mode)).map(|()| f)),
    }
    .map_err(FsError::at(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(FsError::at(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(FsError::at(path))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        atomic_write(&path, b"one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(!dir.path().join("state.json.tmp").exists());
    }

    #[test]
    fn private_atomic_write_is_owner_only_even_over_a_leftover_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(dir.path().join("keys.json.tmp"), b"old").unwrap();
        std::fs::set_permissions(
            dir.path().join("keys.json.tmp"),
            Permissions::from_mode(0o644),
        )
        .unwrap();
        atomic_write_private(&path, b"secret").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/file");
        let e = atomic_write(&missing, b"x").unwrap_err().to_string();
        assert!(e.contains("no/such/dir/file.tmp"), "{e}");
        let e = sync_dir(&dir.path().join("gone")).unwrap_err().to_string();
        assert!(e.contains("gone"), "{e}");
    }

    #[test]
    fn create_dir_synced_says_whether_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        assert!(create_dir_synced(&sub).unwrap());
        assert!(!create_dir_synced(&sub).unwrap());
        assert!(sub.is_dir());
    }
}
