//! `[[bundlers]]`: the registered bundlers butler watches.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use url::Url;

/// `[[bundlers]]`: bundlers butler watches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundlerConfig {
    pub name: String,
    pub rpc_url: Url,
    /// Executor (bundle-signing) addresses whose ETH balance is exported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executors: Vec<Address>,
}
