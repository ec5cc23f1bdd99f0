//! The append-only event log: `DATA_DIR/chain/<source>/YYYY-MM-DD.ndjson`, one JSON record per line in
//! canonical order, dated by the block timestamp (UTC).
//!
//! The writer appends in batches and fsyncs once per batch ([`StoreWriter::sync`]) before the checkpoint
//! moves. On open, and on a reorg rollback, [`trim_source`] truncates a torn last line and drops every
//! record past the checkpoint's last block. Appending a record at or before the last stored position of
//! its source is a no-op: the log is gapless in canonical order up to the checkpoint, so such a record
//! (same transaction hash and log index) is already there.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::WatcherError;
use super::record::{Position, Record};
use crate::fs::{Segment, Segments};

/// The day (UTC) of a block timestamp, as used in file names.
pub fn day_of(timestamp: u64) -> String {
    chrono::DateTime::from_timestamp(timestamp as i64, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_string())
}

/// The log files of a source directory, oldest first.
pub fn log_files(dir: &Path) -> Result<Vec<PathBuf>, WatcherError> {
    Ok(Segments::new(dir).list()?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pos {
    block_number: u64,
    tx_index: u64,
    log_index: u64,
}

/// Parses only the position of a record line.
pub fn line_position(line: &[u8]) -> Result<Position, serde_json::Error> {
    let p: Pos = serde_json::from_slice(line)?;
    Ok((p.block_number, p.tx_index, p.log_index))
}

/// What [`trim_source`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    /// Bytes of a torn (unterminated) last line.
    pub torn_bytes: u64,
    /// Complete records past the kept block.
    pub dropped_records: u64,
}

/// Makes a source's log end at `keep_upto` (inclusive; `None` keeps nothing): cuts a torn last line,
/// drops later records (removing files that hold only such records). Returns the last kept position.
pub fn trim_source(
    dir: &Path,
    keep_upto: Option<u64>,
) -> Result<(Option<Position>, Trimmed), WatcherError> {
    let segments = Segments::new(dir);
    let mut trimmed = Trimmed {
        torn_bytes: segments.repair_tail()?,
        dropped_records: 0,
    };
    for path in segments.list()?.iter().rev() {
        let (last, dropped, emptied) = trim_file(path, keep_upto)?;
        trimmed.dropped_records += dropped;
        if emptied {
            fs::remove_file(path).map_err(WatcherError::io(path))?;
            crate::fs::sync_dir(dir)?;
        }
        if last.is_some() {
            return Ok((last, trimmed));
        }
    }
    Ok((None, trimmed))
}

/// Drops the records of one file past `keep_upto`; returns its last kept position, the records dropped,
/// and whether nothing is left.
fn trim_file(
    path: &Path,
    keep_upto: Option<u64>,
) -> Result<(Option<Position>, u64, bool), WatcherError> {
    const TAIL: u64 = 4 << 20;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(WatcherError::io(path))?;
    let len = file.metadata().map_err(WatcherError::io(path))?.len();
    let mut offset = len.saturating_sub(TAIL);
    loop {
        file.seek(SeekFrom::Start(offset))
            .map_err(WatcherError::io(path))?;
        let mut buf = Vec::with_capacity((len - offset) as usize);
        file.read_to_end(&mut buf).map_err(WatcherError::io(path))?;
        // a window that starts mid-file begins inside a line: skip to after the first newline
        let start = if offset == 0 {
            0
        } else {
            match buf.iter().position(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => buf.len(),
            }
        };
        let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let mut end = complete.max(start.min(buf.len()));
        let mut cut = end;
        let mut dropped = 0;
        let mut last = None;
        while end > start {
            let line_start = buf[start..end - 1]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(start, |i| start + i + 1);
            let line = &buf[line_start..end - 1];
            let pos = line_position(line).map_err(|e| WatcherError::Record {
                path: path.to_path_buf(),
                line: line_number(path, offset + line_start as u64),
                message: e.to_string(),
            })?;
            if keep_upto.is_some_and(|k| pos.0 <= k) {
                last = Some(pos);
                break;
            }
            cut = line_start;
            dropped += 1;
            end = line_start;
        }
        if last.is_none() && offset > 0 {
            // everything in the window goes: look further back
            offset = offset.saturating_sub(TAIL * 4);
            continue;
        }
        let new_len = offset + cut as u64;
        if new_len < len {
            file.set_len(new_len).map_err(WatcherError::io(path))?;
            file.sync_all().map_err(WatcherError::io(path))?;
        }
        return Ok((last, dropped, new_len == 0));
    }
}

/// The 1-based line number at a byte offset (for error messages only).
fn line_number(path: &Path, offset: u64) -> usize {
    fs::read(path)
        .map(|b| {
            b[..(offset as usize).min(b.len())]
                .iter()
                .filter(|c| **c == b'\n')
                .count()
                + 1
        })
        .unwrap_or(0)
}

struct OpenLog {
    /// `[start, end)` of the day in block-timestamp seconds.
    span: (u64, u64),
    segment: Segment,
}

struct SourceLog {
    segments: Segments,
    last: Option<Position>,
    open: Option<OpenLog>,
    buf: Vec<u8>,
    dir_dirty: bool,
}

/// The single writer of the log.
pub struct StoreWriter {
    chain_dir: PathBuf,
    sources: HashMap<String, SourceLog>,
    chain_dir_dirty: bool,
}

/// What [`StoreWriter::append`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub written: u64,
    /// Records already in the log (no-ops).
    pub skipped: u64,
}

impl StoreWriter {
    /// Opens the log of these sources and trims each to `keep_upto` (the checkpoint's last block).
    pub fn open(
        chain_dir: &Path,
        sources: &[String],
        keep_upto: Option<u64>,
    ) -> Result<StoreWriter, WatcherError> {
        let mut map = HashMap::new();
        for name in sources {
            let dir = chain_dir.join(name);
            let (last, trimmed) = trim_source(&dir, keep_upto)?;
            report_trim(name, trimmed);
            map.insert(
                name.clone(),
                SourceLog {
                    segments: Segments::new(dir),
                    last,
                    open: None,
                    buf: Vec::new(),
                    dir_dirty: false,
                },
            );
        }
        Ok(StoreWriter {
            chain_dir: chain_dir.to_path_buf(),
            sources: map,
            chain_dir_dirty: false,
        })
    }

    /// Appends records (in canonical order) to their sources' files; not durable until [`Self::sync`].
    pub fn append(&mut self, records: &[Record]) -> Result<Appended, WatcherError> {
        let mut done = Appended::default();
        for r in records {
            let log = self
                .sources
                .get_mut(&r.source)
                .ok_or_else(|| WatcherError::Record {
                    path: self.chain_dir.join(&r.source),
                    line: 0,
                    message: format!("record for unknown source `{}`", r.source),
                })?;
            let pos = r.position();
            if log.last.is_some_and(|last| pos <= last) {
                done.skipped += 1;
                continue;
            }
            let same_day = log
                .open
                .as_ref()
                .is_some_and(|o| r.block_timestamp >= o.span.0 && r.block_timestamp < o.span.1);
            if !same_day {
                flush(log)?;
                let created = switch_day(log, r.block_timestamp)?;
                self.chain_dir_dirty |= created;
            }
            serde_json::to_writer(&mut log.buf, r).map_err(|e| WatcherError::Record {
                path: log.segments.dir().to_path_buf(),
                line: 0,
                message: e.to_string(),
            })?;
            log.buf.push(b'\n');
            log.last = Some(pos);
            done.written += 1;
            if log.buf.len() >= 1 << 20 {
                flush(log)?;
            }
        }
        for log in self.sources.values_mut() {
            flush(log)?;
        }
        Ok(done)
    }

    /// Makes everything appended so far durable: fsync of each written file and of new directory entries.
    pub fn sync(&mut self) -> Result<(), WatcherError> {
        for log in self.sources.values_mut() {
            if let Some(o) = log.open.as_mut() {
                o.segment.sync()?;
            }
            if log.dir_dirty {
                crate::fs::sync_dir(log.segments.dir())?;
                log.dir_dirty = false;
            }
        }
        if self.chain_dir_dirty {
            crate::fs::sync_dir(&self.chain_dir)?;
            self.chain_dir_dirty = false;
        }
        Ok(())
    }

    /// Rolls the log back to `keep_upto` (inclusive): used after a reorg, once the checkpoint says so.
    pub fn truncate_after(&mut self, keep_upto: Option<u64>) -> Result<u64, WatcherError> {
        let mut dropped = 0;
        for log in self.sources.values_mut() {
            log.open = None;
            log.buf.clear();
            let (last, trimmed) = trim_source(log.segments.dir(), keep_upto)?;
            log.last = last;
            dropped += trimmed.dropped_records;
        }
        Ok(dropped)
    }
}

fn report_trim(source: &str, t: Trimmed) {
    if t.torn_bytes > 0 {
        tracing::warn!(
            source,
            bytes = t.torn_bytes,
            "dropped a torn last line (interrupted write)"
        );
    }
    if t.dropped_records > 0 {
        tracing::info!(
            source,
            records = t.dropped_records,
            "dropped records past the checkpoint (not committed)"
        );
    }
}

fn flush(log: &mut SourceLog) -> Result<(), WatcherError> {
    if log.buf.is_empty() {
        return Ok(());
    }
    if let Some(o) = log.open.as_mut() {
        o.segment.write(&log.buf)?;
    }
    log.buf.clear();
    Ok(())
}

/// Opens (creating if needed) the file of the day of `timestamp`; returns whether the source dir was created.
fn switch_day(log: &mut SourceLog, timestamp: u64) -> Result<bool, WatcherError> {
    let dir = log.segments.dir();
    let mut created_dir = false;
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(WatcherError::io(dir))?;
        created_dir = true;
    }
    if let Some(mut o) = log.open.take() {
        o.segment.sync()?;
    }
    let segment = log.segments.open(&day_of(timestamp))?;
    log.dir_dirty |= segment.created();
    let start = timestamp - timestamp % 86_400;
    log.open = Some(OpenLog {
        span: (start, start + 86_400),
        segment,
    });
    Ok(created_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, B256};
    use std::io::Write;

    pub(crate) fn rec(block: u64, log_index: u64, ts: u64) -> Record {
        Record {
            chain_id: 1,
            block_number: block,
            block_hash: B256::repeat_byte(block as u8),
            block_timestamp: ts,
            tx_hash: B256::repeat_byte(7),
            tx_index: 0,
            log_index,
            address: Address::ZERO,
            source: "s".into(),
            event: "E".into(),
            args: Default::default(),
            tx_from: None,
        }
    }

    fn lines(dir: &Path) -> Vec<Position> {
        log_files(dir)
            .unwrap()
            .iter()
            .flat_map(|p| {
                fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(|l| line_position(l.as_bytes()).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn appends_by_day_skips_duplicates_and_trims() {
        let tmp = tempfile::tempdir().unwrap();
        let names = vec!["s".to_string()];
        let mut w = StoreWriter::open(tmp.path(), &names, None).unwrap();
        let day = 86_400;
        let batch = vec![rec(1, 0, day - 1), rec(1, 1, day - 1), rec(2, 0, day + 5)];
        assert_eq!(w.append(&batch).unwrap().written, 3);
        w.sync().unwrap();
        // the same batch again is a no-op
        assert_eq!(
            w.append(&batch).unwrap(),
            Appended {
                written: 0,
                skipped: 3
            }
        );
        let dir = tmp.path().join("s");
        let files = log_files(&dir).unwrap();
        assert_eq!(files.len(), 2);
        assert!(files[0].ends_with("1970-01-01.ndjson"));
        assert!(files[1].ends_with("1970-01-02.ndjson"));
        // torn line in the newest file, then reopen keeping block 1 only
        let mut f = OpenOptions::new().append(true).open(&files[1]).unwrap();
        f.write_all(b"{\"chainId\":1,\"blockNum").unwrap();
        drop(f);
        drop(w);
        let w = StoreWriter::open(tmp.path(), &names, Some(1)).unwrap();
        assert_eq!(lines(&dir), vec![(1, 0, 0), (1, 0, 1)]);
        assert_eq!(log_files(&dir).unwrap().len(), 1);
        drop(w);
        // a torn line alone is dropped without losing complete records
        let mut f = OpenOptions::new().append(true).open(&files[0]).unwrap();
        f.write_all(b"{\"chainId\":1,\"bl").unwrap();
        drop(f);
        let (last, t) = trim_source(&dir, Some(1)).unwrap();
        assert_eq!(last, Some((1, 0, 1)));
        assert_eq!(t.dropped_records, 0);
        assert!(t.torn_bytes > 0);
        assert_eq!(lines(&dir).len(), 2);
    }

    #[test]
    fn truncate_after_rolls_back() {
        let tmp = tempfile::tempdir().unwrap();
        let names = vec!["s".to_string()];
        let mut w = StoreWriter::open(tmp.path(), &names, None).unwrap();
        let batch: Vec<Record> = (1..=10).map(|b| rec(b, 0, 100 + b)).collect();
        w.append(&batch).unwrap();
        w.sync().unwrap();
        assert_eq!(w.truncate_after(Some(6)).unwrap(), 4);
        assert_eq!(w.append(&batch).unwrap().written, 4);
        w.sync().unwrap();
        assert_eq!(lines(&tmp.path().join("s")).len(), 10);
        assert_eq!(w.truncate_after(None).unwrap(), 10);
        assert!(log_files(&tmp.path().join("s")).unwrap().is_empty());
    }
}
