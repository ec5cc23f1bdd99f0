//! Paymasters: on-chain status (EntryPoint deposit and stake, own balance, owner).

mod status;

pub use status::{PaymasterStatus, paymaster_status};
