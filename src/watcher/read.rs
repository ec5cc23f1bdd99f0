//! Reading the log: every source's files in canonical order, merged by (block, tx index, log index), up to
//! the checkpoint's last block. Readers never see a half-written batch: records past the checkpoint and
//! an unterminated last line are not read.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::WatcherError;
use super::checkpoint::Checkpoint;
use super::record::Record;
use super::store::log_files;

/// The records of one source, in order, up to a block.
pub struct SourceRecords {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<(PathBuf, BufReader<File>, usize)>,
    upto: Option<u64>,
    line: Vec<u8>,
    done: bool,
}

impl SourceRecords {
    /// Reads `dir`'s records with block ≤ `upto` (none when `upto` is `None`).
    pub fn open(dir: &Path, upto: Option<u64>) -> Result<SourceRecords, WatcherError> {
        Ok(SourceRecords {
            files: log_files(dir)?.into_iter(),
            current: None,
            upto,
            line: Vec::with_capacity(1024),
            done: upto.is_none(),
        })
    }

    fn next_record(&mut self) -> Result<Option<Record>, WatcherError> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.current.is_none() {
                let Some(path) = self.files.next() else {
                    self.done = true;
                    return Ok(None);
                };
                let f = File::open(&path).map_err(WatcherError::io(&path))?;
                self.current = Some((path, BufReader::with_capacity(1 << 20, f), 0));
            }
            let Some((path, reader, line_no)) = self.current.as_mut() else {
                continue;
            };
            self.line.clear();
            let n = reader
                .read_until(b'\n', &mut self.line)
                .map_err(WatcherError::io(path.as_path()))?;
            if n == 0 || self.line.last() != Some(&b'\n') {
                // end of file, or an unterminated line being written right now
                self.current = None;
                continue;
            }
            *line_no += 1;
            let record: Record =
                serde_json::from_slice(&self.line[..n - 1]).map_err(|e| WatcherError::Record {
                    path: path.clone(),
                    line: *line_no,
                    message: e.to_string(),
                })?;
            if self.upto.is_some_and(|u| record.block_number > u) {
                self.done = true;
                return Ok(None);
            }
            return Ok(Some(record));
        }
    }
}

impl Iterator for SourceRecords {
    type Item = Result<Record, WatcherError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// All sources merged in canonical order.
pub struct MergedRecords {
    heads: Vec<(Option<Record>, SourceRecords)>,
}

impl MergedRecords {
    /// Merges the given sources of a chain directory, each read up to `upto`.
    pub fn open(
        chain_dir: &Path,
        sources: impl IntoIterator<Item = String>,
        upto: Option<u64>,
    ) -> Result<MergedRecords, WatcherError> {
        let mut heads = Vec::new();
        for name in sources {
            let mut it = SourceRecords::open(&chain_dir.join(name), upto)?;
            let first = it.next().transpose()?;
            heads.push((first, it));
        }
        Ok(MergedRecords { heads })
    }
}

impl Iterator for MergedRecords {
    type Item = Result<Record, WatcherError>;
    fn next(&mut self) -> Option<Self::Item> {
        let best = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(i, (h, _))| h.as_ref().map(|r| (r.position(), i)))
            .min()?
            .1;
        let (head, it) = &mut self.heads[best];
        let next = match it.next().transpose() {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        std::mem::replace(head, next).map(Ok)
    }
}

/// A read-only view of the store at its checkpoint (no lock: the writer may be running).
pub struct LogReader {
    pub chain_dir: PathBuf,
    pub checkpoint: Checkpoint,
}

impl LogReader {
    /// Opens the store in `chain_dir` (`DATA_DIR/chain`); fails when nothing was indexed yet.
    pub fn open(chain_dir: &Path) -> Result<LogReader, WatcherError> {
        let checkpoint = Checkpoint::load(chain_dir)?.ok_or_else(|| WatcherError::NoStore {
            path: chain_dir.to_path_buf(),
        })?;
        Ok(LogReader {
            chain_dir: chain_dir.to_path_buf(),
            checkpoint,
        })
    }

    /// Every committed record, in canonical order.
    pub fn records(&self) -> Result<MergedRecords, WatcherError> {
        MergedRecords::open(
            &self.chain_dir,
            self.checkpoint.sources.iter().map(|s| s.name.clone()),
            self.checkpoint.last_block,
        )
    }
}
