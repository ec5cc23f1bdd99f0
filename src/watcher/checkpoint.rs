//! The checkpoint `DATA_DIR/chain/indexer_state.json`: how far the log is complete, the recent block hashes
//! that detect reorgs, and the state hash of the reduced log.
//!
//! It is written only after the log it covers is fsynced, atomically: a temp file, fsync, rename, fsync of
//! the directory. Records past `lastBlock` are not committed and are dropped on the next start. A
//! checkpoint is used only for the chain and the sources it was written for ([`check_matches`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};

use super::sources::SourceFingerprint;
use super::{WatcherError, WatcherSettings};
use crate::chain::range_caps::RangeCapRecord;

/// The checkpoint file's name inside `DATA_DIR/chain`.
pub const CHECKPOINT_FILE: &str = "indexer_state.json";

/// The format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A block number and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    pub number: u64,
    pub hash: B256,
}

/// A reorganisation the indexer rolled back (the checkpoint keeps the newest few, for the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReorgRecord {
    /// When it was rolled back, Unix milliseconds.
    pub at_ms: u64,
    /// The last block still valid (`None`: none was, the log restarted).
    pub fork_block: Option<u64>,
    /// Blocks rolled back.
    pub depth: u64,
}

/// The checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub format_version: u32,
    pub chain_id: u64,
    /// The first block indexed (the lowest start of any source).
    pub start_block: u64,
    /// The last block whose events are all in the log; `None` before the first batch.
    pub last_block: Option<u64>,
    pub last_block_hash: Option<B256>,
    /// Recent indexed blocks and their hashes, oldest first (the reorg window).
    pub recent: Vec<BlockRef>,
    /// Hash of the canonical serialisation of the state reduced from the log up to `last_block`.
    pub state_hash: B256,
    /// Records in the log up to `last_block`.
    pub events: u64,
    /// Reorgs detected and rolled back so far.
    pub reorgs: u64,
    /// The reducer setting the state hash depends on.
    pub retention_max: usize,
    pub sources: Vec<SourceFingerprint>,
    /// The `eth_getLogs` range caps learned per RPC URL (keyed by the redacted URL), so a restart does not
    /// rediscover them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub range_caps: BTreeMap<String, RangeCapRecord>,
    /// The newest reorganisations rolled back, oldest first (at most [`super::reorg::RECENT_REORGS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_reorgs: Vec<ReorgRecord>,
}

impl Checkpoint {
    /// The next block to index.
    pub fn next_block(&self) -> u64 {
        self.last_block.map_or(self.start_block, |b| b + 1)
    }

    /// The path of the checkpoint in a chain directory.
    pub fn path(chain_dir: &Path) -> PathBuf {
        chain_dir.join(CHECKPOINT_FILE)
    }

    /// Reads the checkpoint; `None` when there is none yet.
    pub fn load(chain_dir: &Path) -> Result<Option<Checkpoint>, WatcherError> {
        let path = Self::path(chain_dir);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(WatcherError::io(&path)(e)),
        };
        let cp: Checkpoint =
            serde_json::from_slice(&bytes).map_err(|e| WatcherError::Checkpoint {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if cp.format_version != FORMAT_VERSION {
            return Err(WatcherError::Checkpoint {
                path,
                message: format!(
                    "format version {} (this butler reads version {FORMAT_VERSION})",
                    cp.format_version
                ),
            });
        }
        Ok(Some(cp))
    }

    /// Writes the checkpoint atomically: temp file, fsync, rename, fsync of the directory.
    pub fn save(&self, chain_dir: &Path) -> Result<(), WatcherError> {
        let path = Self::path(chain_dir);
        let mut body = serde_json::to_vec_pretty(self).map_err(|e| WatcherError::Checkpoint {
            path: path.clone(),
            message: e.to_string(),
        })?;
        body.push(b'\n');
        Ok(crate::fs::atomic_write(&path, &body)?)
    }
}

/// The checkpoint must belong to this chain and these sources.
pub(super) fn check_matches(
    settings: &WatcherSettings,
    cp: &Checkpoint,
    chain_id: u64,
) -> Result<(), WatcherError> {
    let (path, per_chain) = match &settings.store {
        super::backend::StoreSettings::Ndjson { .. } => (
            Checkpoint::path(&settings.chain_dir),
            "use a data_dir per chain",
        ),
        super::backend::StoreSettings::Postgres(db) => (
            PathBuf::from(format!("{} (watcher_checkpoint)", db.url)),
            "use a database per chain",
        ),
    };
    if cp.chain_id != chain_id {
        return Err(WatcherError::Mismatch {
            path,
            found: format!("chain id {}", cp.chain_id),
            configured: format!("an RPC endpoint on chain id {chain_id}"),
            hint: per_chain.into(),
        });
    }
    let same = cp.sources.len() == settings.sources.len()
        && cp
            .sources
            .iter()
            .zip(&settings.sources)
            .all(|(a, s)| a.same_source(&s.fingerprint(a.start_block)));
    if !same {
        let describe = |names: Vec<String>| names.join(", ");
        return Err(WatcherError::Mismatch {
            path,
            found: format!(
                "sources [{}]",
                describe(cp.sources.iter().map(|s| s.name.clone()).collect())
            ),
            configured: format!(
                "[{}] (or different addresses or events)",
                describe(settings.sources.iter().map(|s| s.name.clone()).collect())
            ),
            hint: "restore the previous [[watcher.sources]], or move the data dir's chain directory aside to re-index"
                .into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_and_version_check() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Checkpoint::load(dir.path()).unwrap().is_none());
        let cp = Checkpoint {
            format_version: FORMAT_VERSION,
            chain_id: 31337,
            start_block: 5,
            last_block: Some(9),
            last_block_hash: Some(B256::repeat_byte(9)),
            recent: vec![BlockRef {
                number: 9,
                hash: B256::repeat_byte(9),
            }],
            state_hash: B256::repeat_byte(1),
            events: 3,
            reorgs: 0,
            retention_max: 10,
            sources: vec![],
            range_caps: BTreeMap::from([(
                "http://127.0.0.1:8545/".to_string(),
                RangeCapRecord {
                    accepted: 100,
                    announced: Some(100),
                    refused: None,
                },
            )]),
            recent_reorgs: vec![ReorgRecord {
                at_ms: 1,
                fork_block: Some(8),
                depth: 1,
            }],
        };
        cp.save(dir.path()).unwrap();
        assert_eq!(Checkpoint::load(dir.path()).unwrap(), Some(cp.clone()));
        assert_eq!(cp.next_block(), 10);
        assert!(!dir.path().join("indexer_state.json.tmp").exists());
        let text = fs::read_to_string(Checkpoint::path(dir.path()))
            .unwrap()
            .replace("\"formatVersion\": 1", "\"formatVersion\": 99");
        fs::write(Checkpoint::path(dir.path()), text).unwrap();
        let e = Checkpoint::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("indexer_state.json") && e.contains("99"), "{e}");
    }
}
