//! Ports for spawned instances: taken from `[supervisor] port_range`, skipping those the registry holds
//! and those something else has bound on loopback.

use std::collections::BTreeSet;

use super::BundlerError;

/// Whether `port` can be bound on 127.0.0.1 right now.
pub fn is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Two free ports of `range` that `used` does not hold: the public (gateway) and the internal one.
pub fn allocate_pair(range: (u16, u16), used: &BTreeSet<u16>) -> Result<(u16, u16), BundlerError> {
    let mut found = (range.0..=range.1).filter(|p| !used.contains(p) && is_free(*p));
    match (found.next(), found.next()) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(BundlerError::Conflict(format!(
            "the port range {}-{} is exhausted: every instance takes two ports and {} are held or busy ([supervisor] port_range)",
            range.0,
            range.1,
            (range.0..=range.1)
                .filter(|p| used.contains(p) || !is_free(*p))
                .count()
        ))),
    }
}
