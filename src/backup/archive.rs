//! Writing and reading the archive: a tar stream through gzip, each file hashed while it is copied, the
//! manifest last; restore into a staging directory beside the target, renamed into place once checked
//! and repaired.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::{
    BackupError, BackupSettings, ChainSummary, FORMAT, FileEntry, MANIFEST, Manifest, Restored,
};
use crate::fees::Database;
use crate::watcher::checkpoint::{CHECKPOINT_FILE, Checkpoint};

/// Backups started over when the watcher rolls back while they copy.
const ATTEMPTS: u32 = 3;

/// The directories archived besides `chain/`, in order.
const DIRS: [&str; 4] = ["logs", "telemetry", "bundlers", "topup"];

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Why one attempt stopped.
enum Stop {
    /// The data changed under the copy (a rollback, a file that shrank): try again.
    Changed(String),
    Failed(BackupError),
}

impl From<BackupError> for Stop {
    fn from(e: BackupError) -> Self {
        Stop::Failed(e)
    }
}

struct Writer {
    tar: tar::Builder<GzEncoder<File>>,
    files: Vec<FileEntry>,
    path: PathBuf,
    cancel: CancellationToken,
}

impl Writer {
    fn create(path: &Path, cancel: CancellationToken) -> Result<Writer, BackupError> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(BackupError::io(path))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(BackupError::io(path))?;
        Ok(Writer {
            tar: tar::Builder::new(GzEncoder::new(file, Compression::default())),
            files: Vec::new(),
            path: path.to_path_buf(),
            cancel,
        })
    }

    fn header(rel: &str, size: u64, mode: u32) -> Result<tar::Header, BackupError> {
        let mut h = tar::Header::new_gnu();
        h.set_path(rel).map_err(|e| BackupError::Io {
            path: PathBuf::from(rel),
            message: e.to_string(),
        })?;
        h.set_size(size);
        h.set_mode(mode);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mtime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        h.set_cksum();
        Ok(h)
    }

    /// Copies `src` up to its length now; `false` when it vanished meanwhile.
    fn add(&mut self, rel: &str, src: &Path) -> Result<bool, Stop> {
        if self.cancel.is_cancelled() {
            return Err(BackupError::Cancelled.into());
        }
        let file = match File::open(src) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(BackupError::io(src)(e).into()),
        };
        let meta = file.metadata().map_err(BackupError::io(src))?;
        let (len, mode) = (meta.len(), meta.permissions().mode() & 0o777);
        let header = Self::header(rel, len, mode)?;
        let mut reader = Hashing {
            inner: file.take(len),
            hasher: Sha256::new(),
            count: 0,
        };
        self.tar
            .append(&header, &mut reader)
            .map_err(BackupError::io(&self.path))?;
        if reader.count != len {
            return Err(Stop::Changed(format!(
                "{} shrank while it was copied",
                src.display()
            )));
        }
        self.files.push(FileEntry {
            path: rel.to_string(),
            bytes: len,
            mode,
            sha256: hex::encode(reader.hasher.finalize()),
        });
        Ok(true)
    }

    fn add_bytes(&mut self, rel: &str, data: &[u8]) -> Result<(), BackupError> {
        let header = Self::header(rel, data.len() as u64, 0o600)?;
        self.tar
            .append(&header, data)
            .map_err(BackupError::io(&self.path))
    }

    fn finish(self) -> Result<(), BackupError> {
        let path = self.path;
        let file = self
            .tar
            .into_inner()
            .and_then(GzEncoder::finish)
            .map_err(BackupError::io(&path))?;
        file.sync_all().map_err(BackupError::io(&path))
    }
}

/// Regular files under `dir` (recursively, sorted), as (path relative to `base`, path); lock files,
/// temp files and hidden files are left out.
fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), BackupError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BackupError::io(dir)(e)),
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(BackupError::io(dir))?.path());
    }
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name.ends_with(".lock") || name.ends_with(".tmp") {
            continue;
        }
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(BackupError::io(&path)(e)),
        };
        if meta.is_dir() {
            walk(base, &path, out)?;
        } else if meta.is_file()
            && let Ok(rel) = path.strip_prefix(base)
        {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
    Ok(())
}

fn summary(cp: &Checkpoint) -> ChainSummary {
    ChainSummary {
        last_block: cp.last_block,
        state_hash: cp.state_hash.to_string(),
        events: cp.events,
        reorgs: cp.reorgs,
    }
}

fn load_checkpoint(chain: &Path) -> Result<Option<Checkpoint>, BackupError> {
    Checkpoint::load(chain).map_err(|e| BackupError::Io {
        path: Checkpoint::path(chain),
        message: e.to_string(),
    })
}

/// One attempt: the chain store, the other directories, the fee database copy, the manifest.
fn attempt(
    settings: &BackupSettings,
    tmp: &Path,
    fees_copy: Option<&Path>,
    fees_note: &str,
    cancel: &CancellationToken,
) -> Result<Manifest, Stop> {
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let data = &settings.data_dir;
    let mut w = Writer::create(tmp, cancel.clone())?;
    let chain = data.join("chain");
    let before = load_checkpoint(&chain)?;
    if before.is_some() {
        w.add(
            &format!("chain/{CHECKPOINT_FILE}"),
            &chain.join(CHECKPOINT_FILE),
        )?;
    }
    let mut files = Vec::new();
    walk(data, &chain, &mut files)?;
    for (rel, path) in files
        .iter()
        .filter(|(r, _)| *r != format!("chain/{CHECKPOINT_FILE}"))
    {
        w.add(rel, path)?;
    }
    let after = load_checkpoint(&chain)?;
    if let (Some(b), Some(a)) = (&before, &after)
        && a.reorgs != b.reorgs
    {
        return Err(Stop::Changed("the watcher rolled its log back".into()));
    }
    for dir in DIRS {
        let mut files = Vec::new();
        walk(data, &data.join(dir), &mut files)?;
        for (rel, path) in &files {
            w.add(rel, path)?;
        }
    }
    if let Some(copy) = fees_copy {
        w.add("fees.db", copy)?;
    }
    let manifest = Manifest {
        format: FORMAT,
        butler_version: env!("CARGO_PKG_VERSION").to_string(),
        created,
        data_dir: data.display().to_string(),
        chain: before.as_ref().map(summary),
        fees: fees_note.to_string(),
        files: w.files.clone(),
    };
    let body = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io {
        path: PathBuf::from(MANIFEST),
        message: e.to_string(),
    })?;
    w.add_bytes(MANIFEST, &body)?;
    w.finish()?;
    Ok(manifest)
}

/// SQLite's online backup of the fee manager's database into `dest` (`VACUUM INTO`).
async fn copy_sqlite(src: &Path, dest: &Path) -> Result<(), BackupError> {
    use sqlx::ConnectOptions;
    let err = |message: String| BackupError::Sqlite {
        path: src.to_path_buf(),
        message,
    };
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(src)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| err(e.to_string()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(dest.to_string_lossy().to_string())
        .execute(&mut conn)
        .await
        .map_err(|e| err(format!("VACUUM INTO {}: {e}", dest.display())))?;
    Ok(())
}

/// Writes the archive to `out` (through a temporary file beside it, renamed once complete); stops between
/// files when `cancel` fires, leaving nothing behind.
pub async fn backup(
    settings: &BackupSettings,
    out: &Path,
    cancel: &CancellationToken,
) -> Result<Manifest, BackupError> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| BackupError::Io {
            path: out.to_path_buf(),
            message: "not a file name".into(),
        })?;
    let tmp = out.with_file_name(format!(".{name}.partial"));
    let fees_tmp = out.with_file_name(format!(".{name}.fees.db"));
    let (fees_copy, fees_note) = match &settings.fees {
        Database::Sqlite { path } if path.exists() => {
            let _ = fs::remove_file(&fees_tmp);
            copy_sqlite(path, &fees_tmp).await?;
            (Some(fees_tmp.clone()), format!("sqlite {}", path.display()))
        }
        Database::Sqlite { .. } => (None, "absent".to_string()),
        Database::Postgres(pg) => (
            None,
            format!("{}: not included; back it up with pg_dump", pg.describe()),
        ),
    };
    let settings = settings.clone();
    let (tmp2, out2) = (tmp.clone(), out.to_path_buf());
    let cancel = cancel.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            match attempt(&settings, &tmp2, fees_copy.as_deref(), &fees_note, &cancel) {
                Ok(m) => {
                    fs::rename(&tmp2, &out2).map_err(BackupError::io(&out2))?;
                    crate::fs::sync_dir(out2.parent().unwrap_or(Path::new("")))?;
                    return Ok(m);
                }
                Err(Stop::Changed(why)) => {
                    tracing::warn!(reason = %why, "the data changed during the backup; starting over");
                    last = why;
                }
                Err(Stop::Failed(e)) => return Err(e),
            }
        }
        tracing::warn!(reason = %last, "giving up");
        Err(BackupError::Unsettled { attempts: ATTEMPTS })
    })
    .await
    .map_err(|e| BackupError::Io {
        path: out.to_path_buf(),
        message: format!("backup thread failed: {e}"),
    })
    .and_then(|r| r);
    let _ = fs::remove_file(&fees_tmp);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The entry's path, if it is a plain relative path.
pub(super) fn safe_path(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Unpacks `archive` into `staging`, checking every file against the manifest.
fn unpack(archive: &Path, staging: &Path) -> Result<(Manifest, u64), BackupError> {
    let bad = |message: String| BackupError::Archive {
        path: archive.to_path_buf(),
        message,
    };
    let file = File::open(archive).map_err(BackupError::io(archive))?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    let mut manifest: Option<Manifest> = None;
    let mut seen: Vec<FileEntry> = Vec::new();
    let entries = tar.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let raw = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let rel = safe_path(&raw)
            .ok_or_else(|| bad(format!("entry `{}` is not a relative path", raw.display())))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad(format!(
                "entry `{}` is not a regular file",
                raw.display()
            )));
        }
        let rel_str = rel.to_string_lossy().to_string();
        if rel_str == MANIFEST {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| bad(e.to_string()))?;
            manifest =
                Some(serde_json::from_str(&text).map_err(|e| bad(format!("{MANIFEST}: {e}")))?);
            continue;
        }
        let mode = entry.header().mode().map_err(|e| bad(e.to_string()))? & 0o777;
        let dest = staging.join(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
        }
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&dest)
            .map_err(BackupError::io(&dest))?;
        let mut reader = Hashing {
            inner: &mut entry,
            hasher: Sha256::new(),
            count: 0,
        };
        io::copy(&mut reader, &mut out).map_err(BackupError::io(&dest))?;
        out.sync_all().map_err(BackupError::io(&dest))?;
        seen.push(FileEntry {
            path: rel_str,
            bytes: reader.count,
            mode,
            sha256: hex::encode(reader.hasher.finalize()),
        });
    }
    let manifest = manifest.ok_or_else(|| bad(format!("no {MANIFEST}")))?;
    if manifest.format != FORMAT {
        return Err(bad(format!(
            "manifest format {} (this butler reads {FORMAT})",
            manifest.format
        )));
    }
    let mut want = manifest.files.clone();
    want.sort_by(|a, b| a.path.cmp(&b.path));
    seen.sort_by(|a, b| a.path.cmp(&b.path));
    if want != seen {
        let differs = want
            .iter()
            .find(|w| !seen.contains(w))
            .or_else(|| seen.iter().find(|s| !want.contains(s)))
            .map_or_else(String::new, |f| f.path.clone());
        return Err(bad(format!(
            "the files differ from the manifest (first: `{differs}`)"
        )));
    }
    let bytes = seen.iter().map(|f| f.bytes).sum();
    Ok((manifest, bytes))
}

/// What the stores' start-up does: the event log cut at the checkpoint, torn journal tails dropped.
fn repair(staging: &Path, restored: &mut Restored) -> Result<(), BackupError> {
    let chain = staging.join("chain");
    if let Some(cp) = load_checkpoint(&chain)? {
        for s in &cp.sources {
            let (_, trimmed) =
                crate::watcher::store::trim_source(&chain.join(&s.name), cp.last_block)
                    .map_err(|e| BackupError::Repair(e.to_string()))?;
            restored.dropped_records += trimmed.dropped_records;
            restored.torn_bytes += trimmed.torn_bytes;
        }
        restored.chain = Some(summary(&cp));
    }
    for dir in ["logs", "telemetry"] {
        crate::logs::journal::repair_tail(&staging.join(dir))
            .map_err(|e| BackupError::Repair(e.to_string()))?;
    }
    Ok(())
}

/// Restores `archive` into `target`, which must not exist or be empty.
pub fn restore(archive: &Path, target: &Path) -> Result<Restored, BackupError> {
    match fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty {
                    path: target.to_path_buf(),
                });
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(BackupError::io(target)(e)),
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| BackupError::Io {
            path: target.to_path_buf(),
            message: "not a directory name".into(),
        })?;
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    fs::create_dir_all(&parent).map_err(BackupError::io(&parent))?;
    let staging = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(BackupError::io(&staging))?;
    let result = (|| {
        let (manifest, bytes) = unpack(archive, &staging)?;
        let mut restored = Restored {
            data_dir: target.display().to_string(),
            files: manifest.files.len(),
            bytes,
            chain: None,
            dropped_records: 0,
            torn_bytes: 0,
        };
        repair(&staging, &mut restored)?;
        if target.exists() {
            fs::remove_dir(target).map_err(BackupError::io(target))?;
        }
        fs::rename(&staging, target).map_err(BackupError::io(target))?;
        crate::fs::sync_dir(&parent)?;
        Ok(restored)
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}
