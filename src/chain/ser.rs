//! Serde helpers for output: EIP-55 checksummed addresses and exact decimal-string wei.

use alloy::primitives::{Address, U256};
use serde::Serializer;

/// An address as its EIP-55 checksummed string.
pub fn address<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&a.to_checksum(None))
}

/// An optional address as its EIP-55 checksummed string, or null.
pub fn opt_address<S: Serializer>(a: &Option<Address>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_str(&a.to_checksum(None)),
        None => s.serialize_none(),
    }
}

/// A `U256` as a decimal string (exact; JSON numbers would lose precision).
pub fn decimal<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

/// An optional `U256` as a decimal string, or null.
pub fn opt_decimal<S: Serializer>(v: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}
