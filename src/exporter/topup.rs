//! The top-up series: read at scrape time from the audit file of `butler paymaster topup` and the watcher's
//! automatic top-up (`DATA_DIR/topup/audit.ndjson`), one set per paymaster name found in it. Lines that are
//! not records (a torn last line) are skipped; a missing file yields no series.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// The top-up state of one paymaster, from its audit records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopupSample {
    /// Unix time of the latest record.
    pub last_run: i64,
    /// Records whose action is `failed`.
    pub failures: u64,
    /// Whether the latest decision (records other than `sent`) was `failed` or `refused`.
    pub last_failed: bool,
}

#[derive(Deserialize)]
struct Line {
    paymaster: String,
    timestamp: i64,
    action: String,
}

/// Reads the audit file into samples by paymaster name.
pub async fn collect(path: &Path) -> BTreeMap<String, TopupSample> {
    let text = match tokio::fs::read_to_string(path).await {
        Ok(t) => t,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the top-up audit file");
            }
            return BTreeMap::new();
        }
    };
    samples(&text)
}

fn samples(text: &str) -> BTreeMap<String, TopupSample> {
    let mut out: BTreeMap<String, TopupSample> = BTreeMap::new();
    for line in text.lines() {
        let Ok(l) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        let s = out.entry(l.paymaster).or_default();
        s.last_run = s.last_run.max(l.timestamp);
        if l.action == "failed" {
            s.failures += 1;
        }
        if l.action != "sent" {
            s.last_failed = matches!(l.action.as_str(), "failed" | "refused");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_failures_and_reads_the_latest_decision() {
        let text = concat!(
            "{\"paymaster\":\"a\",\"timestamp\":10,\"action\":\"failed\"}\n",
            "{\"paymaster\":\"b\",\"timestamp\":11,\"action\":\"refused\"}\n",
            "{\"paymaster\":\"a\",\"timestamp\":12,\"action\":\"sent\"}\n",
            "{\"paymaster\":\"a\",\"timestamp\":13,\"action\":\"topped_up\"}\n",
            "{\"paymaster\":\"a\",\"timestamp\":14,\"action\":\"sent\"}\n",
            "{\"paymaster\":\"a\",\"times",
        );
        let s = samples(text);
        assert_eq!(
            s["a"],
            TopupSample {
                last_run: 14,
                failures: 1,
                last_failed: false
            }
        );
        assert_eq!(
            s["b"],
            TopupSample {
                last_run: 11,
                failures: 0,
                last_failed: true
            }
        );
    }
}
