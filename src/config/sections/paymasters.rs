//! `[[paymasters]]`: the paymasters butler reports on, each with the EntryPoint it deposits in.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::config::EthAmount;

/// `[[paymasters]]`: a paymaster and the EntryPoint it deposits in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymasterConfig {
    pub name: String,
    pub address: Address,
    pub entrypoint: Address,
    /// Health check and alert threshold, in ETH (decimal string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_deposit_eth: Option<EthAmount>,
    /// `butler paymaster topup` tops up when the deposit is under this (ETH); `--below` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topup_below_eth: Option<EthAmount>,
    /// ... up to this deposit (ETH); `--to` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topup_to_eth: Option<EthAmount>,
    /// ... sending at most this much in one top-up (ETH); `--max` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topup_max_eth: Option<EthAmount>,
}
