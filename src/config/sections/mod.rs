//! Configuration sections, one file each.

pub mod supervisor;
