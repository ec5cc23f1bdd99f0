//! The top-up audit trail: `DATA_DIR/topup/audit.ndjson`, one JSON record per decision (including "nothing
//! to do"), appended under the paymaster's lock with the values the decision was based on. The same record
//! is what `butler paymaster topup --output json` prints, `--history` reads and the exporter's
//! `butler_topup_*` series are computed from.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::OpsError;
use crate::fs::{FsError, append_locked};

/// What a top-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The deposit was at or above the threshold.
    None,
    /// A deposit transaction was mined; the deposit reached the target.
    ToppedUp,
    /// A deposit transaction of `--max` (less than needed) was mined.
    Capped,
    /// `--dry-run`: what the real run would send.
    Planned,
    /// A transaction in flight was waited for, after which the deposit was at or above the threshold.
    WaitedPending,
    /// Not sent: funder short, fee over the cap, no confirmation.
    Refused,
    /// RPC failure, revert, not mined in time, lock not obtained.
    Failed,
    /// Audit only: signed and about to be sent (the record that lets a later run find it in flight).
    Sent,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::ToppedUp => "topped_up",
            Action::Capped => "capped",
            Action::Planned => "planned",
            Action::WaitedPending => "waited_pending",
            Action::Refused => "refused",
            Action::Failed => "failed",
            Action::Sent => "sent",
        }
    }
}

/// One decision. Wei amounts are decimal strings; optional values are `null` when they were not reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupRecord {
    /// RFC 3339 UTC time of the decision.
    pub time: String,
    /// Unix seconds of the decision.
    pub timestamp: i64,
    /// The paymaster's configured name (its address when it was named by address).
    pub paymaster: String,
    pub address: Address,
    pub entrypoint: Address,
    pub chain_id: u64,
    pub action: Action,
    pub dry_run: bool,
    /// The exit code this paymaster contributes (0 ok, 1 failed, 3 refused or still under the threshold).
    pub exit_code: u8,
    pub reason: String,
    pub deposit_before_wei: Option<String>,
    pub deposit_after_wei: Option<String>,
    pub amount_wei: Option<String>,
    pub below_wei: String,
    pub to_wei: String,
    pub max_wei: Option<String>,
    pub funder: Option<Address>,
    pub funder_balance_wei: Option<String>,
    /// The funder's latest and pending nonces when the decision was made.
    pub funder_nonce: Option<u64>,
    pub funder_pending_nonce: Option<u64>,
    pub gas_limit: Option<u64>,
    pub max_fee_per_gas_wei: Option<String>,
    pub max_priority_fee_per_gas_wei: Option<String>,
    pub tx_hash: Option<B256>,
    pub tx_nonce: Option<u64>,
    pub block_number: Option<u64>,
}

/// The audit file under a data dir.
pub fn audit_path(data_dir: &Path) -> PathBuf {
    data_dir.join("topup").join("audit.ndjson")
}

/// Appends one record (one line, under an exclusive lock of the file, then fsync; see
/// [`append_locked`]).
pub fn append(path: &Path, record: &TopupRecord) -> Result<(), OpsError> {
    let mut line =
        serde_json::to_vec(record).map_err(|e| FsError::at(path)(std::io::Error::other(e)))?;
    line.push(b'\n');
    Ok(append_locked(path, &line)?)
}

/// Every record, oldest first; a missing file is an empty history. An unterminated last line (a write
/// cut short) is skipped.
pub fn read_all(path: &Path) -> Result<Vec<TopupRecord>, OpsError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FsError::at(path)(e).into()),
    };
    let mut out = Vec::new();
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(FsError::at(path))?;
        if read == 0 || !line.ends_with('\n') {
            return Ok(out);
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|e| OpsError::Audit {
            path: path.to_path_buf(),
            line: n,
            message: e.to_string(),
        })?;
        out.push(record);
    }
}

/// The transaction of the latest record of `paymaster` when that record left it unresolved (signed and
/// sent, or reported as not mined in time), with its nonce.
pub fn unresolved_tx(records: &[TopupRecord], paymaster: Address) -> Option<(B256, Option<u64>)> {
    let last = records
        .iter()
        .rev()
        .find(|r| r.address == paymaster && !r.dry_run)?;
    match last.action {
        Action::Sent | Action::Failed => last.tx_hash.map(|h| (h, last.tx_nonce)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: Action, tx: Option<B256>) -> TopupRecord {
        TopupRecord {
            time: "2026-01-01T00:00:00Z".into(),
            timestamp: 1,
            paymaster: "pm".into(),
            address: Address::repeat_byte(1),
            entrypoint: Address::repeat_byte(2),
            chain_id: 31337,
            action,
            dry_run: false,
            exit_code: 0,
            reason: String::new(),
            deposit_before_wei: Some("1".into()),
            deposit_after_wei: None,
            amount_wei: None,
            below_wei: "2".into(),
            to_wei: "3".into(),
            max_wei: None,
            funder: None,
            funder_balance_wei: None,
            funder_nonce: None,
            funder_pending_nonce: None,
            gas_limit: None,
            max_fee_per_gas_wei: None,
            max_priority_fee_per_gas_wei: None,
            tx_hash: tx,
            tx_nonce: Some(4),
            block_number: None,
        }
    }

    #[test]
    fn appends_reads_back_and_finds_the_unresolved_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = audit_path(dir.path());
        assert!(read_all(&path).unwrap().is_empty());
        let tx = B256::repeat_byte(9);
        append(&path, &record(Action::None, None)).unwrap();
        append(&path, &record(Action::Sent, Some(tx))).unwrap();
        let all = read_all(&path).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1], record(Action::Sent, Some(tx)));
        assert_eq!(
            unresolved_tx(&all, Address::repeat_byte(1)),
            Some((tx, Some(4)))
        );
        assert_eq!(unresolved_tx(&all, Address::repeat_byte(5)), None);
        append(&path, &record(Action::ToppedUp, Some(tx))).unwrap();
        assert_eq!(
            unresolved_tx(&read_all(&path).unwrap(), Address::repeat_byte(1)),
            None
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"action\":\"topped_up\""), "{text}");
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_a_bad_line_is_named() {
        use std::io::Write;

        let dir = tempfile::tempdir().unwrap();
        let path = audit_path(dir.path());
        append(&path, &record(Action::None, None)).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"time\":").unwrap();
        assert_eq!(read_all(&path).unwrap().len(), 1);
        f.write_all(b"\n").unwrap();
        let err = read_all(&path).unwrap_err().to_string();
        assert!(err.contains("audit.ndjson:2"), "{err}");
    }
}
