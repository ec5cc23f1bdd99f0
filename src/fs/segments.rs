//! Daily NDJSON segments: a directory of `YYYY-MM-DD.ndjson` files, one JSON record per line, only ever
//! appended to. [`Segments`] lists them and repairs a torn tail (the unterminated last line a kill during a
//! write can leave); [`Segment`] appends to one of them and fsyncs.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::FsError;

/// The extension of segment files.
pub const EXT: &str = "ndjson";

/// A directory of daily segments.
#[derive(Debug, Clone)]
pub struct Segments {
    dir: PathBuf,
}

impl Segments {
    pub fn new(dir: impl Into<PathBuf>) -> Segments {
        Segments { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a day (`YYYY-MM-DD`).
    pub fn path(&self, day: &str) -> PathBuf {
        self.dir.join(format!("{day}.{EXT}"))
    }

    /// The segment files, oldest first; none when the directory does not exist.
    pub fn list(&self) -> Result<Vec<PathBuf>, FsError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(FsError::at(&self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(FsError::at(&self.dir))?.path();
            let is_day = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".ndjson"))
                .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok());
            if is_day {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Opens the segment of `day` for appending, creating it (not the directory) when missing.
    pub fn open(&self, day: &str) -> Result<Segment, FsError> {
        let path = self.path(day);
        let created = !path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(FsError::at(&path))?;
        let len = file.metadata().map_err(FsError::at(&path))?.len();
        Ok(Segment {
            day: day.to_string(),
            path,
            file,
            len,
            synced: len,
            created,
            intact: true,
        })
    }

    /// Cuts a torn (unterminated) last line off the newest segment and fsyncs it; returns the bytes cut.
    /// Reads only the end of the file.
    pub fn repair_tail(&self) -> Result<u64, FsError> {
        let Some(newest) = self.list()?.pop() else {
            return Ok(0);
        };
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&newest)
            .map_err(FsError::at(&newest))?;
        let len = f.metadata().map_err(FsError::at(&newest))?.len();
        let keep = complete_len(&mut f, len).map_err(FsError::at(&newest))?;
        if keep == len {
            return Ok(0);
        }
        f.set_len(keep)
            .and_then(|()| f.sync_all())
            .map_err(FsError::at(&newest))?;
        Ok(len - keep)
    }
}

/// The length of `f` up to and including its last newline (0 when it has none).
fn complete_len(f: &mut File, len: u64) -> std::io::Result<u64> {
    const WINDOW: u64 = 64 << 10;
    let mut end = len;
    let mut buf = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(WINDOW);
        buf.resize((end - start) as usize, 0);
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf)?;
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// One segment open for appending.
#[derive(Debug)]
pub struct Segment {
    day: String,
    path: PathBuf,
    file: File,
    /// Bytes written.
    len: u64,
    /// Bytes known to be on disk.
    synced: u64,
    created: bool,
    intact: bool,
}

impl Segment {
    /// The day (`YYYY-MM-DD`).
    pub fn day(&self) -> &str {
        &self.day
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether opening created the file: its directory entry is durable only once the directory is fsynced.
    pub fn created(&self) -> bool {
        self.created
    }

    /// Appends `buf`; durable after [`Segment::sync`].
    pub fn write(&mut self, buf: &[u8]) -> Result<(), FsError> {
        self.file.write_all(buf).map_err(FsError::at(&self.path))?;
        self.len += buf.len() as u64;
        Ok(())
    }

    /// fsyncs (`fdatasync`) what was written since the last sync.
    pub fn sync(&mut self) -> Result<(), FsError> {
        if self.synced != self.len {
            self.file.sync_data().map_err(FsError::at(&self.path))?;
            self.synced = self.len;
        }
        Ok(())
    }

    /// Appends `buf` and fsyncs. On failure the file is truncated back to its last synced length, so nothing
    /// half-written stays behind; when even that fails the segment is no longer [`Segment::intact`].
    pub fn append_synced(&mut self, buf: &[u8]) -> Result<(), FsError> {
        let result = self.write(buf).and_then(|()| self.sync());
        if result.is_err() {
            let restored = self
                .file
                .set_len(self.synced)
                .and_then(|()| self.file.sync_data());
            self.intact = restored.is_ok();
            self.len = self.synced;
        }
        result
    }

    /// Whether the file ends where this segment believes (false after a failed rollback: reopen it).
    pub fn intact(&self) -> bool {
        self.intact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_days_appends_and_repairs_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let segs = Segments::new(dir.path().join("missing"));
        assert!(segs.list().unwrap().is_empty());
        assert_eq!(segs.repair_tail().unwrap(), 0);
        let segs = Segments::new(dir.path());
        std::fs::write(dir.path().join("notes.ndjson"), "x").unwrap();
        let mut a = segs.open("2026-01-02").unwrap();
        assert!(a.created());
        a.append_synced(b"{\"a\":1}\n").unwrap();
        assert!(a.intact());
        let mut b = segs.open("2026-01-01").unwrap();
        b.write(b"{\"b\":1}\n").unwrap();
        b.sync().unwrap();
        assert!(!segs.open("2026-01-02").unwrap().created());
        assert_eq!(
            segs.list().unwrap(),
            vec![segs.path("2026-01-01"), segs.path("2026-01-02")]
        );
        drop(a);
        let mut torn = segs.open("2026-01-02").unwrap();
        torn.write(&vec![b'x'; 100_000]).unwrap();
        assert_eq!(segs.repair_tail().unwrap(), 100_000);
        assert_eq!(
            std::fs::read(segs.path("2026-01-02")).unwrap(),
            b"{\"a\":1}\n"
        );
        assert_eq!(segs.repair_tail().unwrap(), 0);
    }

    #[test]
    fn a_torn_only_line_is_cut_to_empty() {
        let dir = tempfile::tempdir().unwrap();
        let segs = Segments::new(dir.path());
        segs.open("2026-01-01").unwrap().write(b"{\"a\":").unwrap();
        assert_eq!(segs.repair_tail().unwrap(), 5);
        assert_eq!(std::fs::read(segs.path("2026-01-01")).unwrap(), b"");
    }
}
