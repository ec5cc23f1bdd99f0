//! The file layer every store uses: I/O errors that name their path, directory fsync, atomic file
//! replacement, locked appends to a file several processes share (the top-up audit), lock files, and the daily NDJSON
//! segments ([`segments`]) behind the logs journal, the telemetry store and the chain-event log.

pub mod segments;

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

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
    replace(path, bytes, |tmp| File::create(tmp))
}

/// [`atomic_write`] for a file only its owner may read (keystores, signing state): the temp file is created
/// anew with mode 0600, so the content is never readable by group or others, not even for a moment.
pub fn atomic_write_private(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    use std::os::unix::fs::OpenOptionsExt;
    replace(path, bytes, |tmp| {
        match std::fs::remove_file(tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
    })
}

fn replace(
    path: &Path,
    bytes: &[u8],
    create: impl FnOnce(&Path) -> std::io::Result<File>,
) -> Result<(), FsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = dir.join(name);
    let mut f = create(&tmp).map_err(FsError::at(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(FsError::at(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(FsError::at(path))?;
    sync_dir(dir)
}

/// Appends `buf` (whole lines) to a file that several processes append to: creates the file and its
/// directory when missing (both durable), holds an exclusive lock of the file while it cuts a torn last
/// line another writer left, writes and fsyncs. On failure the file is cut back to where it ended, so
/// nothing half-written stays.
pub fn append_locked(path: &Path, buf: &[u8]) -> Result<(), FsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir_synced(dir)?;
    let created = !path.exists();
    let mut f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(FsError::at(path))?;
    if created {
        sync_dir(dir)?;
    }
    f.lock_exclusive().map_err(FsError::at(path))?;
    let appended = append_whole(&mut f, buf);
    let _ = FileExt::unlock(&f);
    appended.map_err(FsError::at(path))
}

fn append_whole(f: &mut File, buf: &[u8]) -> std::io::Result<()> {
    let len = f.metadata()?.len();
    let keep = segments::complete_len(f, len)?;
    if keep < len {
        f.set_len(keep)?;
    }
    let written = f.write_all(buf).and_then(|()| f.sync_data());
    if written.is_err() {
        f.set_len(keep).and_then(|()| f.sync_data())?;
    }
    written
}

/// Opens (creating it when missing) a file to take an `flock` on. It is not truncated: until the lock is
/// held, the note in it is the current holder's.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Replaces the contents of a lock file this process holds with `note` (who holds it).
pub fn write_lock_note(file: &mut File, note: &str) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(note.as_bytes())
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
    fn atomic_write_private_is_owner_only_even_over_a_stale_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let stale = dir.path().join("keys.json.tmp");
        std::fs::write(&stale, b"old").unwrap();
        std::fs::set_permissions(&stale, std::fs::Permissions::from_mode(0o644)).unwrap();
        atomic_write_private(&path, b"secret").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:03o}");
        assert!(!stale.exists());
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
    fn append_locked_creates_appends_and_cuts_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit/trail.ndjson");
        append_locked(&path, b"{\"a\":1}\n").unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn\":")
            .unwrap();
        append_locked(&path, b"{\"b\":2}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n"
        );
        let e = append_locked(&path.join("under-a-file"), b"x").unwrap_err();
        assert!(e.to_string().contains("trail.ndjson"), "{e}");
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
