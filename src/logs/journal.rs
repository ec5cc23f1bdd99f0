//! An append-only journal of daily NDJSON files (`<dir>/YYYY-MM-DD.ndjson`, UTC date of the write) with one
//! writer task and group commit.
//!
//! Durability promise: [`Journal::append`] returns `Ok` only after the records' lines were written and the
//! file was fsynced (`fdatasync`). Concurrent appends queued while a write is in flight are batched into the
//! next single write + fsync. The writer stamps every record with the next sequence number, so file order is
//! sequence order. A failed write is truncated away again (nothing half-written stays behind); a process
//! killed mid-write can leave a torn last line, which [`repair_tail`] cuts off before anything is read.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::fs::{self, FsError, Segment, Segments};

/// Records the journal stores: JSON lines with a sequence number the writer assigns.
pub trait Entry: Serialize + DeserializeOwned + Send + 'static {
    /// The sequence number (0 until stamped).
    fn seq(&self) -> u64;
    /// Stamps the sequence number.
    fn set_seq(&mut self, seq: u64);
}

/// Why the journal failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}:{line}: not a valid record: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("the log writer has stopped (shutting down)")]
    Closed,
}

impl From<FsError> for JournalError {
    fn from(e: FsError) -> Self {
        JournalError::Io {
            path: e.path,
            message: e.source.to_string(),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |e| FsError::at(path)(e).into()
}

/// Largest number of records one group commit takes.
const MAX_BATCH: usize = 65_536;

struct Request<T> {
    items: Vec<T>,
    done: oneshot::Sender<Result<(u64, u64), JournalError>>,
}

/// The handle appenders use.
pub struct Journal<T> {
    tx: mpsc::UnboundedSender<Request<T>>,
}

impl<T> Clone for Journal<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

/// Called by the writer, after the fsync, with each committed batch in sequence order.
pub type OnCommit<T> = Box<dyn FnMut(Vec<T>) + Send>;

/// The single writer; run it with [`Writer::run`].
pub struct Writer<T> {
    rx: mpsc::UnboundedReceiver<Request<T>>,
    segments: Segments,
    next_seq: u64,
    file: Option<Segment>,
    on_commit: OnCommit<T>,
}

impl<T: Entry> Journal<T> {
    /// Creates `dir` if needed and returns the handle and the writer, which continues after `last_seq`.
    /// Repair and read the existing records first ([`repair_tail`], then [`read_tail`] or [`read_all`]).
    pub fn open(
        dir: &Path,
        last_seq: u64,
        on_commit: OnCommit<T>,
    ) -> Result<(Journal<T>, Writer<T>), JournalError> {
        fs::create_dir_synced(dir)?;
        let (tx, rx) = mpsc::unbounded_channel();
        Ok((
            Journal { tx },
            Writer {
                rx,
                segments: Segments::new(dir),
                next_seq: last_seq + 1,
                file: None,
                on_commit,
            },
        ))
    }

    /// Appends records; `Ok((first, last))` sequence numbers once they are on disk (written and fsynced).
    pub async fn append(&self, items: Vec<T>) -> Result<(u64, u64), JournalError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Request { items, done })
            .map_err(|_| JournalError::Closed)?;
        rx.await.map_err(|_| JournalError::Closed)?
    }
}

impl<T: Entry> Writer<T> {
    /// Writes batches until `cancel` fires (what is already queued is still written) or every handle is gone.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<(), JournalError> {
        loop {
            let first = tokio::select! {
                biased;
                r = self.rx.recv() => match r {
                    Some(r) => r,
                    None => return Ok(()),
                },
                _ = cancel.cancelled() => {
                    self.rx.close();
                    match self.rx.recv().await {
                        Some(r) => r,
                        None => return Ok(()),
                    }
                }
            };
            let mut batch = vec![first];
            let mut count = batch[0].items.len();
            while count < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(r) => {
                        count += r.items.len();
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
            self.commit(batch).await?;
        }
    }

    async fn commit(&mut self, mut batch: Vec<Request<T>>) -> Result<(), JournalError> {
        let start = self.next_seq;
        let mut buf = Vec::with_capacity(256 * batch.len());
        let mut ranges = Vec::with_capacity(batch.len());
        let mut seq = start;
        let mut encoded = Ok(());
        for req in &mut batch {
            let first = seq;
            for item in &mut req.items {
                item.set_seq(seq);
                seq += 1;
                if let Err(e) = serde_json::to_writer(&mut buf, item) {
                    encoded = Err(e);
                }
                buf.push(b'\n');
            }
            ranges.push((first, seq.saturating_sub(1)));
        }
        if let Err(e) = encoded {
            let err = JournalError::Io {
                path: self.segments.dir().to_path_buf(),
                message: format!("cannot encode a record: {e}"),
            };
            for req in batch {
                let _ = req.done.send(Err(err.clone()));
            }
            return Ok(());
        }
        let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
        let current = self.file.take();
        let segments = self.segments.clone();
        let (file, written) =
            tokio::task::spawn_blocking(move || write_synced(&segments, current, &date, &buf))
                .await
                .map_err(|e| JournalError::Io {
                    path: self.segments.dir().to_path_buf(),
                    message: format!("writer thread failed: {e}"),
                })?;
        self.file = file;
        match written {
            Ok(()) => {
                self.next_seq = seq;
                let mut items = Vec::with_capacity(seq.saturating_sub(start) as usize);
                let mut dones = Vec::with_capacity(batch.len());
                for (req, range) in batch.into_iter().zip(ranges) {
                    items.extend(req.items);
                    dones.push((req.done, range));
                }
                (self.on_commit)(items);
                for (done, range) in dones {
                    let _ = done.send(Ok(range));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "log write failed; the batch was rolled back");
                for req in batch {
                    let _ = req.done.send(Err(e.clone()));
                }
            }
        }
        Ok(())
    }
}

/// Appends `buf` to the day's segment and fsyncs it (a failed write is rolled back, see [`Segment`]);
/// returns the segment to keep open, if any.
fn write_synced(
    segments: &Segments,
    current: Option<Segment>,
    date: &str,
    buf: &[u8],
) -> (Option<Segment>, Result<(), JournalError>) {
    let mut seg = match current {
        Some(s) if s.day() == date => s,
        _ => {
            let opened = segments.open(date).and_then(|s| {
                if s.created() {
                    fs::sync_dir(segments.dir())?;
                }
                Ok(s)
            });
            match opened {
                Ok(s) => s,
                Err(e) => return (None, Err(e.into())),
            }
        }
    };
    let result = seg.append_synced(buf).map_err(JournalError::from);
    (Some(seg).filter(Segment::intact), result)
}

/// The journal's files, oldest first.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, JournalError> {
    Ok(Segments::new(dir).list()?)
}

/// Cuts a torn (unterminated) last line off the newest file, as a kill during a write can leave one.
pub fn repair_tail(dir: &Path) -> Result<(), JournalError> {
    let dropped = Segments::new(dir).repair_tail()?;
    if dropped > 0 {
        tracing::warn!(dir = %dir.display(), dropped_bytes = dropped, "dropping a torn last line");
    }
    Ok(())
}

fn parse_line<T: Entry>(path: &Path, line_no: usize, line: &[u8]) -> Result<T, JournalError> {
    serde_json::from_slice(line).map_err(|e| JournalError::Corrupt {
        path: path.to_path_buf(),
        line: line_no,
        message: e.to_string(),
    })
}

/// The last `max` records (oldest first) and the highest sequence number stored.
pub fn read_tail<T: Entry>(dir: &Path, max: usize) -> Result<(Vec<T>, u64), JournalError> {
    let mut newest_first = Vec::new();
    let mut last_seq = 0;
    for path in files(dir)?.iter().rev() {
        let data = std::fs::read(path).map_err(io_err(path))?;
        let lines: Vec<&[u8]> = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        for (idx, line) in lines.iter().enumerate().rev() {
            if newest_first.len() >= max && last_seq > 0 {
                break;
            }
            let rec: T = parse_line(path, idx + 1, line)?;
            last_seq = last_seq.max(rec.seq());
            if newest_first.len() < max {
                newest_first.push(rec);
            }
        }
        if newest_first.len() >= max && last_seq > 0 {
            break;
        }
    }
    newest_first.reverse();
    Ok((newest_first, last_seq))
}

/// Every record, oldest first, fed to `f`; returns the highest sequence number.
pub fn read_all<T: Entry>(dir: &Path, mut f: impl FnMut(T)) -> Result<u64, JournalError> {
    let mut last_seq = 0;
    for path in files(dir)? {
        let data = std::fs::read(&path).map_err(io_err(&path))?;
        for (idx, line) in data.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let rec: T = parse_line(&path, idx + 1, line)?;
            last_seq = last_seq.max(rec.seq());
            f(rec);
        }
    }
    Ok(last_seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::io::Write;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Rec {
        id: u64,
        v: String,
    }
    impl Entry for Rec {
        fn seq(&self) -> u64 {
            self.id
        }
        fn set_seq(&mut self, seq: u64) {
            self.id = seq;
        }
    }

    #[tokio::test]
    async fn group_commit_stamps_in_order_and_survives_reopen_with_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        // one call per commit, i.e. per write + fsync
        let commits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, c) = (seen.clone(), commits.clone());
        let (j, w) = Journal::<Rec>::open(
            dir.path(),
            0,
            Box::new(move |items: Vec<Rec>| {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                s.lock().unwrap().extend(items.into_iter().map(|r| r.id))
            }),
        )
        .unwrap();
        let cancel = CancellationToken::new();
        let mut handles = Vec::new();
        for i in 0..20 {
            let j = j.clone();
            handles.push(tokio::spawn(async move {
                j.append(vec![
                    Rec {
                        id: 0,
                        v: format!("a{i}"),
                    },
                    Rec {
                        id: 0,
                        v: format!("b{i}"),
                    },
                ])
                .await
                .unwrap()
            }));
        }
        // all 20 appends are queued while no write is in flight: they must share one write and fsync
        while w.rx.len() < 20 {
            tokio::task::yield_now().await;
        }
        let task = tokio::spawn(w.run(cancel.clone()));
        for h in handles {
            let (a, b) = h.await.unwrap();
            assert_eq!(b, a + 1);
        }
        assert_eq!(
            commits.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "concurrent appends were not group-committed"
        );
        cancel.cancel();
        task.await.unwrap().unwrap();
        assert_eq!(*seen.lock().unwrap(), (1..=40).collect::<Vec<_>>());
        let newest = files(dir.path()).unwrap().pop().unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&newest)
            .unwrap()
            .write_all(b"{\"id\":41,\"v\":")
            .unwrap();
        repair_tail(dir.path()).unwrap();
        let (tail, last) = read_tail::<Rec>(dir.path(), 5).unwrap();
        assert_eq!(last, 40);
        assert_eq!(
            tail.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![36, 37, 38, 39, 40]
        );
        let mut n = 0;
        assert_eq!(read_all::<Rec>(dir.path(), |_| n += 1).unwrap(), 40);
        assert_eq!(n, 40);
    }
}
