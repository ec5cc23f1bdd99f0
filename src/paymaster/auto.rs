//! The watcher's automatic top-up (`[paymaster_ops] auto_topup = true` with `serve --watcher`): every
//! `auto_topup_interval_secs`, the same top-up as `butler paymaster topup --yes` for each `[[paymasters]]`
//! entry with `topup_below_eth` and `topup_to_eth`: same lock, same audit file, same thresholds.

use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use tokio_util::sync::CancellationToken;

use super::OpsError;
use super::audit::Action;
use super::session::Session;
use super::topup::{self, Confirm, TopupSettings, TopupTarget};
use crate::backoff;
use crate::chain::{ChainClient, ChainError};
use crate::config::{ChainConfig, Config, ConfigError};
use crate::serve::{Mode, TaskError};

/// What the automatic top-up needs.
pub struct AutoTopup {
    pub chain: ChainConfig,
    pub signer: PrivateKeySigner,
    pub settings: TopupSettings,
    pub interval: Duration,
}

impl TryFrom<&Config> for AutoTopup {
    type Error = ConfigError;

    /// From `[paymaster_ops]`, `[chain]` and `[[paymasters]]` (built when `auto_topup` is on). The funder
    /// key is required; paymasters without both thresholds are left out (with a warning).
    fn try_from(config: &Config) -> Result<AutoTopup, ConfigError> {
        let ops = config.paymaster_ops.as_ref().ok_or_else(|| {
            ConfigError::Missing("auto_topup needs a [paymaster_ops] section".to_string())
        })?;
        let chain = config.require_chain()?.clone();
        let key = ops.funder_key()?.ok_or_else(|| {
            ConfigError::Missing(
                "[paymaster_ops] auto_topup needs the funder key: funder_key_file or BUTLER_PAYMASTER_OPS__FUNDER_KEY"
                    .to_string(),
            )
        })?;
        let signer: PrivateKeySigner = key.expose().parse().map_err(|_| {
            ConfigError::Invalid("[paymaster_ops] funder_key is not a private key".to_string())
        })?;
        let mut targets = Vec::new();
        for p in &config.paymasters {
            match (p.topup_below_eth, p.topup_to_eth) {
                (Some(below), Some(to)) if to.0 >= below.0 => targets.push(TopupTarget {
                    name: p.name.clone(),
                    address: p.address,
                    entrypoint: p.entrypoint,
                    below: below.0,
                    to: to.0,
                    max: p.topup_max_eth.map(|m| m.0),
                }),
                (Some(_), Some(_)) => {
                    return Err(ConfigError::Invalid(format!(
                        "[[paymasters]] {}: topup_to_eth is under topup_below_eth",
                        p.name
                    )));
                }
                _ => {
                    tracing::warn!(paymaster = %p.name, "auto_topup: no topup_below_eth and topup_to_eth; not topped up")
                }
            }
        }
        Ok(AutoTopup {
            chain,
            signer,
            settings: TopupSettings {
                data_dir: config.data_dir()?,
                targets,
                dry_run: false,
                confirm: Confirm::Yes,
                wait: Duration::from_secs(120),
                confirmations: 1,
                max_fee_per_gas: None,
            },
            interval: Duration::from_secs(ops.auto_topup_interval_secs),
        })
    }
}

impl AutoTopup {
    /// Runs rounds until `cancel`. A wrong chain id stops it (and the process); RPC failures are recorded
    /// in the audit file and retried at the next round.
    pub async fn run(self, cancel: CancellationToken) -> Result<(), OpsError> {
        let client = ChainClient::from_config(&self.chain);
        loop {
            match Session::open(&client, self.signer.clone(), self.chain.chain_id).await {
                Ok(session) => {
                    for r in topup::run(&session, &self.settings, &cancel).await {
                        match r.action {
                            Action::Failed | Action::Refused => {
                                tracing::warn!(paymaster = %r.paymaster, action = r.action.as_str(), "auto top-up: {}", r.reason)
                            }
                            _ => {
                                tracing::info!(paymaster = %r.paymaster, action = r.action.as_str(), "auto top-up: {}", r.reason)
                            }
                        }
                    }
                }
                Err(OpsError::Chain(
                    e @ (ChainError::ChainIdMismatch { .. } | ChainError::UrlsDisagree { .. }),
                )) => {
                    return Err(OpsError::Chain(e));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "auto top-up: node not reachable; next round in {} s", self.interval.as_secs());
                    topup::fail_all(
                        &self.settings,
                        self.chain.chain_id.unwrap_or_default(),
                        self.signer.address(),
                        &e.to_string(),
                    );
                }
            }
            if !backoff::sleep(self.interval, &cancel).await {
                return Ok(());
            }
        }
    }

    /// As a serve mode: no listener, one tracked task.
    pub fn mode(self, cancel: CancellationToken) -> Mode {
        let task = Box::pin(async move {
            self.run(cancel).await.map_err(|e| match e {
                OpsError::Chain(c) => Box::new(c) as TaskError,
                other => Box::new(other) as TaskError,
            })
        });
        Mode::new("paymaster-auto-topup").task("paymaster-auto-topup", task)
    }
}
