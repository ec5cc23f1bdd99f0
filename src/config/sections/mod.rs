//! Configuration sections, one file each.

pub mod health;
pub mod probes;
