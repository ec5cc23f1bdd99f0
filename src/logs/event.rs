//! The log event of the monitor plan (§2.4): `ts`, `service`, `level`, `msg` mandatory, the correlation ids
//! (`requestId`, `quoteId`, `userOpHash`, `txHash`, `sender`) and free-form `meta`; plus the `id` the store
//! assigns. [`parse_event`] turns untrusted JSON into an event or an error that names the field.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::chain::ser;

/// Severity, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// The level's name as written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown level `{s}` (expected one of trace, debug, info, warn, error, fatal)"
                )
            })
    }
}

/// A stored log event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogEvent {
    /// Assigned by the server at ingest: strictly increasing, the SSE event id.
    pub id: u64,
    /// Unix time in seconds (fractions allowed), as sent.
    #[schema(value_type = f64, example = 1730000000)]
    pub ts: serde_json::Number,
    pub service: String,
    pub level: Level,
    pub msg: String,
    pub request_id: Option<String>,
    pub quote_id: Option<String>,
    #[schema(value_type = Option<String>, pattern = "^0x[0-9a-f]{64}$")]
    pub user_op_hash: Option<B256>,
    #[schema(value_type = Option<String>, pattern = "^0x[0-9a-f]{64}$")]
    pub tx_hash: Option<B256>,
    #[serde(serialize_with = "ser::opt_address")]
    #[schema(value_type = Option<String>, pattern = "^0x[0-9a-fA-F]{40}$")]
    pub sender: Option<Address>,
    /// Free-form JSON object.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<Value>,
}

impl LogEvent {
    /// `ts` as a float, for time filters.
    pub fn ts_secs(&self) -> f64 {
        self.ts.as_f64().unwrap_or(0.0)
    }
}

/// The fields an ingest request may carry (every [`LogEvent`] field but `id`).
pub const INGEST_FIELDS: &[&str] = &[
    "ts",
    "service",
    "level",
    "msg",
    "requestId",
    "quoteId",
    "userOpHash",
    "txHash",
    "sender",
    "meta",
];

/// Largest `ts` accepted: above it the value is almost certainly milliseconds.
pub const MAX_TS_SECS: f64 = 1e11;
/// Longest `service`, `requestId` and `quoteId`, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Validates one ingest object into an event with `id` 0. The error names the field and what is wrong.
pub fn parse_event(value: Value) -> Result<LogEvent, String> {
    let Value::Object(mut obj) = value else {
        return Err(format!(
            "expected a JSON object for a log event, got {}",
            kind(&value)
        ));
    };
    if let Some(unknown) = obj.keys().find(|k| !INGEST_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field `{unknown}` (expected one of {})",
            INGEST_FIELDS.join(", ")
        ));
    }
    let ts = match take(&mut obj, "ts") {
        None => return Err("missing field `ts` (Unix time in seconds)".to_string()),
        Some(Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if !(0.0..MAX_TS_SECS).contains(&f) {
                return Err(format!(
                    "field `ts`: {n} is not a Unix time in seconds (0 to {MAX_TS_SECS:e}; milliseconds are not accepted)"
                ));
            }
            n
        }
        Some(v) => {
            return Err(format!(
                "field `ts`: expected a number (Unix seconds), got {}",
                kind(&v)
            ));
        }
    };
    let service = required_string(&mut obj, "service")?;
    if service.is_empty() || service.len() > MAX_ID_LEN {
        return Err(format!(
            "field `service`: must be 1 to {MAX_ID_LEN} bytes long"
        ));
    }
    let level = required_string(&mut obj, "level")?
        .parse::<Level>()
        .map_err(|e| format!("field `level`: {e}"))?;
    let msg = required_string(&mut obj, "msg")?;
    let request_id = optional_id(&mut obj, "requestId")?;
    let quote_id = optional_id(&mut obj, "quoteId")?;
    let user_op_hash = optional_parsed(&mut obj, "userOpHash", parse_hash)?;
    let tx_hash = optional_parsed(&mut obj, "txHash", parse_hash)?;
    let sender = optional_parsed(&mut obj, "sender", parse_address)?;
    let meta = match take(&mut obj, "meta") {
        None => None,
        Some(m @ Value::Object(_)) => Some(m),
        Some(v) => {
            return Err(format!(
                "field `meta`: expected a JSON object, got {}",
                kind(&v)
            ));
        }
    };
    Ok(LogEvent {
        id: 0,
        ts,
        service,
        level,
        msg,
        request_id,
        quote_id,
        user_op_hash,
        tx_hash,
        sender,
        meta,
    })
}

/// A 32-byte hash written as `0x` and 64 hex digits.
pub fn parse_hash(s: &str) -> Result<B256, String> {
    let hex = s.strip_prefix("0x").unwrap_or("");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{s}` is not a 32-byte hash (0x and 64 hex digits)"
        ));
    }
    B256::from_str(s).map_err(|e| format!("`{s}`: {e}"))
}

/// An address written as `0x` and 40 hex digits; mixed case must be a valid EIP-55 checksum.
pub fn parse_address(s: &str) -> Result<Address, String> {
    let hex = s.strip_prefix("0x").unwrap_or("");
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{s}` is not an address (0x and 40 hex digits)"));
    }
    let mixed =
        hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    if mixed {
        Address::parse_checksummed(s, None)
            .map_err(|_| format!("`{s}` has an invalid EIP-55 checksum"))
    } else {
        Address::from_str(s).map_err(|e| format!("`{s}`: {e}"))
    }
}

/// The JSON type of a value, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn take(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    obj.remove(key).filter(|v| !v.is_null())
}

fn required_string(obj: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match take(obj, key) {
        None => Err(format!("missing field `{key}`")),
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(format!(
            "field `{key}`: expected a string, got {}",
            kind(&v)
        )),
    }
}

fn optional_id(obj: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_ID_LEN => Ok(Some(s)),
        Some(Value::String(_)) => Err(format!("field `{key}`: longer than {MAX_ID_LEN} bytes")),
        Some(v) => Err(format!(
            "field `{key}`: expected a string, got {}",
            kind(&v)
        )),
    }
}

fn optional_parsed<T>(
    obj: &mut Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match take(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => parse(&s)
            .map(Some)
            .map_err(|e| format!("field `{key}`: {e}")),
        Some(v) => Err(format!(
            "field `{key}`: expected a string, got {}",
            kind(&v)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_seed_example() {
        let e = parse_event(json!({
            "ts": 1730000000, "service": "bundler1", "level": "info", "msg": "userOp accepted",
            "requestId": "req_1", "userOpHash": format!("0x{}", "ab".repeat(32)),
            "sender": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "txHash": null,
            "meta": {"reasonCode": null}
        }))
        .unwrap();
        assert_eq!(e.level, Level::Info);
        assert!(e.tx_hash.is_none());
        let line = serde_json::to_string(&e).unwrap();
        assert!(line.contains("\"ts\":1730000000,"), "{line}");
        assert!(
            line.contains("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            "{line}"
        );
        let back: LogEvent = serde_json::from_str(&line).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn errors_name_the_field() {
        let base = || json!({"ts": 1, "service": "s", "level": "info", "msg": "m"});
        let cases = [
            (
                "level",
                json!("verbose"),
                "field `level`: unknown level `verbose`",
            ),
            ("ts", json!("now"), "field `ts`: expected a number"),
            ("ts", json!(1730000000000u64), "field `ts`"),
            ("sender", json!("0x12"), "field `sender`"),
            (
                "userOpHash",
                json!(5),
                "field `userOpHash`: expected a string",
            ),
            ("requestID", json!("x"), "unknown field `requestID`"),
            ("service", json!(""), "field `service`"),
            ("meta", json!([1]), "field `meta`: expected a JSON object"),
        ];
        for (k, v, want) in cases {
            let mut b = base();
            b[k] = v;
            let err = parse_event(b).unwrap_err();
            assert!(err.contains(want), "{k}: {err}");
        }
        let mut b = base();
        b.as_object_mut().unwrap().remove("msg");
        assert_eq!(parse_event(b).unwrap_err(), "missing field `msg`");
        assert!(parse_event(json!([1])).unwrap_err().contains("an array"));
    }
}
