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
}
