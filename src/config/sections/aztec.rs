//! `[aztec]`: the Aztec node, the StakingRegistry and provider, the attester keystore, the publishers and the
//! secrets that sign (`signer_key_file`) and unlock the keystore (`keystore_passphrase_file`).

use std::path::PathBuf;

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{EthAmount, Secret};

/// `[aztec]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AztecConfig {
    /// The Aztec node's JSON-RPC (`node_getNodeInfo` gives the L1 chain id and contract addresses).
    pub node_url: Url,
    /// The StakingRegistry contract on L1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staking_registry: Option<Address>,
    /// This operator's provider id in the StakingRegistry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<u64>,
    /// The attester keystore (JSON, mode 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_file: Option<PathBuf>,
    /// Publisher (L1 transaction sender) addresses whose ETH balance is watched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publishers: Vec<Address>,
    /// ETH each publisher should hold per attester it publishes for (decimal string).
    #[serde(default = "default_min_eth_per_attester")]
    pub min_eth_per_attester: EthAmount,
    /// Key that signs with `--send` (a hex private key in a 0600 file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key_file: Option<PathBuf>,
    /// Only from env: `BUTLER_AZTEC__SIGNER_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer_key: Option<Secret>,
    /// Passphrase that encrypts the keystore's private keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_passphrase_file: Option<PathBuf>,
    /// Only from env: `BUTLER_AZTEC__KEYSTORE_PASSPHRASE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_passphrase: Option<Secret>,
}

/// 0.1 ETH.
pub fn default_min_eth_per_attester() -> EthAmount {
    EthAmount(U256::from(100_000_000_000_000_000u64))
}
