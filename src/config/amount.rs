//! ETH amounts in the configuration: decimal strings (`"1.5"`) held exactly in wei.

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};

use crate::chain::units::{format_ether, parse_ether};

/// An ETH amount written as a decimal string (`"1.5"`), held exactly in wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthAmount(pub U256);

impl Serialize for EthAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ether(self.0))
    }
}

impl<'de> Deserialize<'de> for EthAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
            F(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::I(i) => i.to_string(),
            Raw::F(f) => f.to_string(),
        };
        parse_ether(&text)
            .map(EthAmount)
            .map_err(serde::de::Error::custom)
    }
}
