//! Reading the log journal's segment files themselves, beyond the in-memory ring: `GET /api/logs` with `since` or
//! `until`, and `butler logs export`. Safe while the writer appends: a last line without its newline (a
//! write in flight, or torn by a crash) is not read.

use std::collections::VecDeque;
use std::path::Path;

use super::event::LogEvent;
use super::filter::LogFilter;
use super::journal::JournalError;
use crate::fs::{FsError, Segments};

/// Feeds every stored event that matches `filter` to `f`, in storage (id) order; returns how many matched.
pub fn scan(
    dir: &Path,
    filter: &LogFilter,
    mut f: impl FnMut(LogEvent) -> Result<(), JournalError>,
) -> Result<u64, JournalError> {
    let mut matched = 0;
    for path in Segments::new(dir).list()? {
        let data = std::fs::read(&path).map_err(FsError::at(&path))?;
        let complete = data
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(&data[..0], |end| &data[..end]);
        for (idx, line) in complete.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let event: LogEvent =
                serde_json::from_slice(line).map_err(|e| JournalError::Corrupt {
                    path: path.clone(),
                    line: idx + 1,
                    message: e.to_string(),
                })?;
            if filter.matches(&event) {
                matched += 1;
                f(event)?;
            }
        }
    }
    Ok(matched)
}

/// The newest `limit` stored events matching `filter`, oldest first.
pub fn newest(dir: &Path, filter: &LogFilter, limit: usize) -> Result<Vec<LogEvent>, JournalError> {
    let mut kept: VecDeque<LogEvent> = VecDeque::with_capacity(limit.min(1024));
    scan(dir, filter, |e| {
        if kept.len() == limit {
            kept.pop_front();
        }
        if limit > 0 {
            kept.push_back(e);
        }
        Ok(())
    })?;
    Ok(kept.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_an_unterminated_tail_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let line = |id: u64, ts: u64| {
            format!(r#"{{"id":{id},"ts":{ts},"service":"s","level":"info","msg":"m{id}"}}"#)
        };
        std::fs::write(
            dir.path().join("2026-01-01.ndjson"),
            format!("{}\n{}\n", line(1, 10), line(2, 20)),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("2026-01-02.ndjson"),
            format!("{}\n{}", line(3, 30), &line(4, 40)[..20]),
        )
        .unwrap();
        let all = newest(dir.path(), &LogFilter::default(), 10).unwrap();
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1, 2, 3]);
        let since = LogFilter {
            since: Some(15.0),
            ..Default::default()
        };
        let two = newest(dir.path(), &since, 1).unwrap();
        assert_eq!(two.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3]);
    }
}
