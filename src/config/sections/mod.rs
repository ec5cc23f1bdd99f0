//! Configuration sections, one file each.

pub mod paymaster_ops;
