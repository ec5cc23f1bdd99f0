//! Paymasters: on-chain status (EntryPoint deposit and stake, own balance, owner), the top-up that cron
//! runs (lock, in-flight detection, audit), revenue from the indexed log and the owner's admin writes.

pub mod admin;
pub mod audit;
pub mod auto;
mod error;
pub mod lock;
pub mod revenue;
pub mod safe;
pub mod session;
mod status;
pub mod topup;

pub use error::OpsError;
pub use status::{PaymasterStatus, paymaster_status};
