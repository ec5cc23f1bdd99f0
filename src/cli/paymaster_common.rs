//! What the `butler paymaster` write commands share: picking a paymaster by name or address, loading the
//! `[paymaster_ops]` keys (never printed) and mapping core errors to exit codes.

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;

use super::{Ctx, UsageError};
use crate::config::sections::paymaster_ops::PaymasterOpsConfig;
use crate::config::{ConfigError, PaymasterConfig};
use crate::paymaster::OpsError;

/// Which `[paymaster_ops]` key.
#[derive(Debug, Clone, Copy)]
pub enum OpsKey {
    Funder,
    Admin,
}

impl OpsKey {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            OpsKey::Funder => ("funder_key", "BUTLER_PAYMASTER_OPS__FUNDER_KEY"),
            OpsKey::Admin => ("admin_key", "BUTLER_PAYMASTER_OPS__ADMIN_KEY"),
        }
    }
}

/// The key from `[paymaster_ops] <key>_file` or its env var; a missing or malformed key is exit 2.
pub fn ops_signer(ctx: &Ctx, which: OpsKey) -> anyhow::Result<PrivateKeySigner> {
    let (what, env) = which.names();
    let default = PaymasterOpsConfig::default();
    let ops = ctx.config()?.paymaster_ops.as_ref().unwrap_or(&default);
    let secret = match which {
        OpsKey::Funder => ops.funder_key()?,
        OpsKey::Admin => ops.admin_key()?,
    };
    let secret = secret.ok_or_else(|| {
        ConfigError::Missing(format!(
            "no {what}: set [paymaster_ops] {what}_file = \"/path\" (mode 0600) or the env var {env}"
        ))
    })?;
    secret.expose().parse::<PrivateKeySigner>().map_err(|_| {
        ConfigError::Invalid(format!(
            "[paymaster_ops] {what} is not a private key (expected 32 bytes of hex, optionally 0x-prefixed)"
        ))
        .into()
    })
}

/// A paymaster given as a configured name or an address; an address that is not configured needs its
/// EntryPoint (`--entrypoint`).
pub fn pick_paymaster(
    ctx: &Ctx,
    given: &str,
    entrypoint: Option<Address>,
) -> anyhow::Result<PaymasterConfig> {
    let config = ctx.config()?;
    if let Some(p) = config.paymasters.iter().find(|p| p.name == given) {
        return Ok(p.clone());
    }
    let Ok(address) = given.parse::<Address>() else {
        let names: Vec<&str> = config.paymasters.iter().map(|p| p.name.as_str()).collect();
        return Err(UsageError(format!(
            "--paymaster {given}: no [[paymasters]] entry has this name (configured: {}) and it is not an address",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ))
        .into());
    };
    if let Some(p) = config.paymasters.iter().find(|p| p.address == address) {
        return Ok(p.clone());
    }
    let entrypoint = entrypoint.ok_or_else(|| {
        UsageError(format!(
            "--paymaster {address} is not in [[paymasters]]: pass --entrypoint ADDR too"
        ))
    })?;
    Ok(PaymasterConfig {
        name: address.to_checksum(None),
        address,
        entrypoint,
        min_deposit_eth: None,
        topup_below_eth: None,
        topup_to_eth: None,
        topup_max_eth: None,
    })
}

/// A core error as the CLI reports it: a chain id mismatch and a refusal keep their exit code 2.
pub fn ops_err(e: OpsError) -> anyhow::Error {
    match e {
        OpsError::Chain(c) => c.into(),
        OpsError::Refused(m) => UsageError(m).into(),
        other => other.into(),
    }
}
