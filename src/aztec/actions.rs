//! Proposed actions (`DATA_DIR/aztec/actions.json`): what the watcher's Aztec handlers suggest (record a staked
//! attester's coinbase in the keystore, top up a publisher's ETH) until an operator approves or rejects it with
//! `butler aztec actions`. The file is rewritten atomically under an exclusive lock (`actions.lock`), so the
//! watcher and the CLI never lose each other's changes.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

use super::AztecError;

/// What an action does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionKind {
    /// Record `coinbase` for `attester` in the keystore (a local change).
    RecordCoinbase {
        attester: Address,
        coinbase: Address,
        /// The `StakedWithProvider` log it comes from.
        block: u64,
        transaction: String,
    },
    /// Send `value_wei` to `publisher`.
    TopUp {
        publisher: Address,
        #[serde(with = "decimal")]
        value_wei: U256,
    },
}

impl ActionKind {
    /// The address the action is about (one open action per kind and subject).
    pub fn subject(&self) -> Address {
        match self {
            Self::RecordCoinbase { attester, .. } => *attester,
            Self::TopUp { publisher, .. } => *publisher,
        }
    }

    fn same_target(&self, other: &ActionKind) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.subject() == other.subject()
    }

    /// One line saying what it does.
    pub fn describe(&self) -> String {
        match self {
            Self::RecordCoinbase {
                attester, coinbase, ..
            } => {
                format!("record coinbase {coinbase} for attester {attester}")
            }
            Self::TopUp {
                publisher,
                value_wei,
            } => {
                format!(
                    "send {} ETH to publisher {publisher}",
                    crate::chain::units::format_ether(*value_wei)
                )
            }
        }
    }
}

mod decimal {
    use alloy::primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Pending,
    Executed,
    Rejected,
}

/// One proposed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub id: u64,
    #[serde(flatten)]
    pub kind: ActionKind,
    pub status: ActionStatus,
    /// Unix seconds.
    pub proposed_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
    /// What executing it produced (transaction hashes, the Safe batch path, the keystore path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// The file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ActionsFile {
    pub next_id: u64,
    pub actions: Vec<Action>,
}

/// `DATA_DIR/aztec/actions.json`.
pub fn actions_path(data_dir: &Path) -> PathBuf {
    data_dir.join("aztec").join("actions.json")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The actions store at a path.
#[derive(Debug, Clone)]
pub struct ActionStore {
    path: PathBuf,
}

impl ActionStore {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the actions (none when the file does not exist yet).
    pub fn load(&self) -> Result<ActionsFile, AztecError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| AztecError::file(&self.path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ActionsFile {
                next_id: 1,
                actions: Vec::new(),
            }),
            Err(e) => Err(AztecError::file(&self.path, e)),
        }
    }

    /// Runs `f` on the actions under the exclusive lock and writes the result atomically when `f` changed it.
    pub fn update<T>(
        &self,
        f: impl FnOnce(&mut ActionsFile) -> Result<T, AztecError>,
    ) -> Result<T, AztecError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        crate::fs::create_dir_synced(dir)?;
        let lock_path = dir.join("actions.lock");
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| AztecError::file(&lock_path, e))?;
        lock.lock_exclusive()
            .map_err(|e| AztecError::file(&lock_path, e))?;
        let mut file = self.load()?;
        let before = serde_json::to_string(&file).map_err(|e| AztecError::file(&self.path, e))?;
        let out = f(&mut file)?;
        let after =
            serde_json::to_vec_pretty(&file).map_err(|e| AztecError::file(&self.path, e))?;
        if after != before.as_bytes() {
            let mut body = after;
            body.push(b'\n');
            crate::fs::atomic_write_private(&self.path, &body)?;
        }
        Ok(out)
    }

    /// Proposes `kind` unless an open action (pending; for coinbases also executed or rejected) already
    /// targets the same subject. Returns the new action's id.
    pub fn propose(&self, kind: ActionKind) -> Result<Option<u64>, AztecError> {
        self.update(|file| {
            let taken = file.actions.iter().any(|a| {
                a.kind.same_target(&kind)
                    && (a.status == ActionStatus::Pending
                        || matches!(kind, ActionKind::RecordCoinbase { .. }))
            });
            if taken {
                return Ok(None);
            }
            let id = file.next_id.max(1);
            file.next_id = id + 1;
            file.actions.push(Action {
                id,
                kind,
                status: ActionStatus::Pending,
                proposed_at: now(),
                decided_at: None,
                outcome: None,
            });
            Ok(Some(id))
        })
    }

    /// Marks a pending action decided (executed or rejected) with its outcome.
    pub fn decide(
        &self,
        id: u64,
        status: ActionStatus,
        outcome: Option<String>,
    ) -> Result<Action, AztecError> {
        self.update(|file| {
            let a = file
                .actions
                .iter_mut()
                .find(|a| a.id == id)
                .ok_or_else(|| AztecError::Refused(format!("no action {id}")))?;
            if a.status != ActionStatus::Pending {
                return Err(AztecError::Refused(
                    format!("action {id} is already {:?}", a.status).to_lowercase(),
                ));
            }
            a.status = status;
            a.decided_at = Some(now());
            a.outcome = outcome;
            Ok(a.clone())
        })
    }

    /// A pending action, or an error saying why it cannot be decided.
    pub fn pending(&self, id: u64) -> Result<Action, AztecError> {
        let file = self.load()?;
        let a = file
            .actions
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| {
                AztecError::Refused(format!("no action {id} in {}", self.path.display()))
            })?;
        if a.status != ActionStatus::Pending {
            return Err(AztecError::Refused(
                format!("action {id} is already {:?}", a.status).to_lowercase(),
            ));
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_are_not_duplicated_and_decisions_are_final() {
        let dir = tempfile::tempdir().unwrap();
        let store = ActionStore::new(actions_path(dir.path()));
        let a = Address::repeat_byte(1);
        let coinbase = ActionKind::RecordCoinbase {
            attester: a,
            coinbase: Address::repeat_byte(2),
            block: 7,
            transaction: "0x01".into(),
        };
        assert_eq!(store.propose(coinbase.clone()).unwrap(), Some(1));
        assert_eq!(store.propose(coinbase.clone()).unwrap(), None);
        let topup = ActionKind::TopUp {
            publisher: a,
            value_wei: U256::from(5),
        };
        assert_eq!(store.propose(topup.clone()).unwrap(), Some(2));
        assert_eq!(store.propose(topup.clone()).unwrap(), None);
        store
            .decide(2, ActionStatus::Executed, Some("0xabc".into()))
            .unwrap();
        assert_eq!(
            store.propose(topup).unwrap(),
            Some(3),
            "a new need after a top-up is proposed again"
        );
        store.decide(1, ActionStatus::Rejected, None).unwrap();
        assert!(store.decide(1, ActionStatus::Executed, None).is_err());
        assert_eq!(
            store.propose(coinbase).unwrap(),
            None,
            "a rejected coinbase is not proposed again"
        );
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(
            text.contains("\"kind\": \"top_up\"") && text.contains("\"value_wei\": \"5\""),
            "{text}"
        );
    }
}
