//! The stored record: one line of NDJSON per event log, with its position on the chain and its decoded
//! arguments (big numbers as decimal strings, addresses checksummed, bytes as 0x hex).

use alloy::dyn_abi::{DynSolValue, EventExt};
use alloy::primitives::{Address, B256};
use alloy::rpc::types::Log;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::sources::EventSpec;

/// One event log as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub chain_id: u64,
    pub block_number: u64,
    pub block_hash: B256,
    pub block_timestamp: u64,
    pub tx_hash: B256,
    pub tx_index: u64,
    pub log_index: u64,
    #[serde(serialize_with = "checksummed")]
    pub address: Address,
    /// The `[[watcher.sources]]` name.
    pub source: String,
    /// The event name (`UserOperationEvent`, `PostOpHandled`, ...).
    pub event: String,
    /// Decoded arguments by name, in declaration order.
    pub args: Map<String, Value>,
    /// The transaction's sender, for events where it matters (the bundler of a `UserOperationEvent`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_checksummed"
    )]
    pub tx_from: Option<Address>,
}

/// EIP-55 form of an address, from a small per-thread cache (the same contracts, paymasters and bundlers
/// recur in almost every record, and each checksum costs a keccak).
pub fn checksum(a: &Address) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<Address, String>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(s) = c.get(a) {
            return s.clone();
        }
        if c.len() >= 4096 {
            c.clear();
        }
        let s = a.to_checksum(None);
        c.insert(*a, s.clone());
        s
    })
}

fn checksummed<S: serde::Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&checksum(a))
}

fn opt_checksummed<S: serde::Serializer>(a: &Option<Address>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_str(&checksum(a)),
        None => s.serialize_none(),
    }
}

/// The canonical order of records: block, transaction index, log index.
pub type Position = (u64, u64, u64);

impl Record {
    pub fn position(&self) -> Position {
        (self.block_number, self.tx_index, self.log_index)
    }

    /// A string argument (addresses, hashes, decimal numbers), if present.
    pub fn arg_str(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }
}

/// Why a log could not become a record.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the node returned a log without {0}")]
    Missing(&'static str),
    #[error("{0}")]
    Abi(String),
}

/// The parts of a log the record needs that the node may leave out (pending logs).
pub struct LogMeta {
    pub block_number: u64,
    pub block_hash: B256,
    pub tx_hash: B256,
    pub tx_index: u64,
    pub log_index: u64,
}

impl LogMeta {
    pub fn of(log: &Log) -> Result<LogMeta, DecodeError> {
        Ok(LogMeta {
            block_number: log
                .block_number
                .ok_or(DecodeError::Missing("blockNumber"))?,
            block_hash: log.block_hash.ok_or(DecodeError::Missing("blockHash"))?,
            tx_hash: log
                .transaction_hash
                .ok_or(DecodeError::Missing("transactionHash"))?,
            tx_index: log
                .transaction_index
                .ok_or(DecodeError::Missing("transactionIndex"))?,
            log_index: log.log_index.ok_or(DecodeError::Missing("logIndex"))?,
        })
    }
}

/// Decodes a log's arguments with its event's ABI, by name in declaration order (unnamed: `arg<i>`).
pub fn decode_args(spec: &EventSpec, log: &Log) -> Result<Map<String, Value>, DecodeError> {
    let decoded = spec
        .abi
        .decode_log(log.data())
        .map_err(|e| DecodeError::Abi(e.to_string()))?;
    let mut indexed = decoded.indexed.into_iter();
    let mut body = decoded.body.into_iter();
    let mut args = Map::with_capacity(spec.abi.inputs.len());
    for (i, p) in spec.abi.inputs.iter().enumerate() {
        let value = if p.indexed {
            indexed.next()
        } else {
            body.next()
        }
        .ok_or_else(|| DecodeError::Abi(format!("argument {i} missing")))?;
        let name = if p.name.is_empty() {
            format!("arg{i}")
        } else {
            p.name.clone()
        };
        args.insert(name, to_json(&value));
    }
    Ok(args)
}

/// A decoded ABI value as JSON: integers as decimal strings, addresses checksummed, bytes as 0x hex.
pub fn to_json(v: &DynSolValue) -> Value {
    match v {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Int(i, _) => Value::String(i.to_string()),
        DynSolValue::Uint(u, _) => Value::String(u.to_string()),
        DynSolValue::FixedBytes(w, n) => Value::String(format!("0x{}", hex::encode(&w[..*n]))),
        DynSolValue::Address(a) => Value::String(checksum(a)),
        DynSolValue::Function(f) => Value::String(format!("0x{}", hex::encode(f.as_slice()))),
        DynSolValue::Bytes(b) => Value::String(format!("0x{}", hex::encode(b))),
        DynSolValue::String(s) => Value::String(s.clone()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{I256, U256};

    #[test]
    fn values_become_exact_json() {
        let big = U256::MAX;
        assert_eq!(
            to_json(&DynSolValue::Uint(big, 256)),
            Value::String(big.to_string())
        );
        assert_eq!(
            to_json(&DynSolValue::Int(I256::MINUS_ONE, 256)),
            Value::String("-1".into())
        );
        let a: Address = "0x0000000071727de22e5e9d8baf0edac6f37da032"
            .parse()
            .unwrap();
        assert_eq!(
            to_json(&DynSolValue::Address(a)),
            Value::String("0x0000000071727De22E5E9d8BAf0edAc6f37da032".into())
        );
        assert_eq!(
            to_json(&DynSolValue::FixedBytes(B256::repeat_byte(0xab), 2)),
            Value::String("0xabab".into())
        );
    }

    #[test]
    fn record_round_trips_through_json() {
        let r = Record {
            chain_id: 31337,
            block_number: 7,
            block_hash: B256::repeat_byte(1),
            block_timestamp: 1_700_000_000,
            tx_hash: B256::repeat_byte(2),
            tx_index: 0,
            log_index: 3,
            address: "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
                .parse()
                .unwrap(),
            source: "ep".into(),
            event: "Deposited".into(),
            args: Map::from_iter([("totalDeposit".to_string(), Value::String("1".into()))]),
            tx_from: None,
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.contains("\"blockNumber\":7"), "{line}");
        assert!(line.contains("0x0000000071727De22E5E9d8BAf0edAc6f37da032"));
        assert!(!line.contains("txFrom"));
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
    }
}
