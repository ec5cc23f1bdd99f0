//! The top-up cron runs: for each paymaster, under its lock, wait for a transaction in flight, read the
//! EntryPoint deposit, and when it is under the threshold send `EntryPoint.depositTo(paymaster)` with
//! `to − deposit` (capped by `max`) from the funder, wait for the receipt and confirmations, re-read the
//! deposit and append the decision to the audit file. The exit code of a run says what happened
//! ([`exit_code`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use tokio_util::sync::CancellationToken;

use super::OpsError;
use super::audit::{self, Action, TopupRecord};
use super::lock::{LockOutcome, PaymasterLock};
use super::session::{Mined, POLL, Session};
use crate::backoff;
use crate::chain::bindings::IEntryPoint;
use crate::chain::units::format_ether;

/// One paymaster to keep topped up, with its thresholds in wei.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopupTarget {
    pub name: String,
    pub address: Address,
    pub entrypoint: Address,
    /// Top up when the deposit is under this.
    pub below: U256,
    /// ... to this deposit.
    pub to: U256,
    /// ... sending at most this much.
    pub max: Option<U256>,
}

/// How a run gets its go-ahead before it sends.
#[derive(Clone)]
pub enum Confirm {
    /// `--yes` (and the watcher's action).
    Yes,
    /// No `--yes` and no terminal to ask: refuse.
    NoTty,
    /// Show the plan and ask; `true` goes ahead.
    Ask(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

/// Everything a run needs besides the session.
#[derive(Clone)]
pub struct TopupSettings {
    pub data_dir: PathBuf,
    pub targets: Vec<TopupTarget>,
    pub dry_run: bool,
    pub confirm: Confirm,
    /// Bound on each wait: the lock, a transaction in flight, the receipt with its confirmations.
    pub wait: Duration,
    pub confirmations: u64,
    /// `--max-fee-gwei`, in wei per gas.
    pub max_fee_per_gas: Option<u128>,
}

/// The exit code of a whole run: 1 when any paymaster failed, else 3 when any was refused or is still
/// under its threshold, else 0.
pub fn exit_code(records: &[TopupRecord]) -> u8 {
    if records.iter().any(|r| r.exit_code == 1) {
        1
    } else if records.iter().any(|r| r.exit_code == 3) {
        3
    } else {
        0
    }
}

/// Runs the top-up of every target, one after the other, and returns one record per target (each also
/// appended to the audit file).
pub async fn run(
    session: &Session,
    settings: &TopupSettings,
    cancel: &CancellationToken,
) -> Vec<TopupRecord> {
    let mut out = Vec::with_capacity(settings.targets.len());
    for t in &settings.targets {
        out.push(run_one(session, settings, t, cancel).await);
    }
    out
}

/// Records a run that could not start (the node unreachable before anything was read): one `failed`
/// record per target, appended to the audit file so the failure shows in its history and metrics.
/// `chain_id` is the configured one (0 when none is configured).
pub fn fail_all(
    settings: &TopupSettings,
    chain_id: u64,
    funder: Address,
    reason: &str,
) -> Vec<TopupRecord> {
    let path = audit::audit_path(&settings.data_dir);
    settings
        .targets
        .iter()
        .map(|t| {
            let mut rec = TopupRecord::start(chain_id, funder, settings, t);
            rec.set(Action::Failed, 1, format!("{reason}; nothing sent"));
            rec.stamp();
            if let Err(e) = audit::append(&path, &rec) {
                rec.reason = format!("{}; the audit record was not written: {e}", rec.reason);
            }
            rec
        })
        .collect()
}

fn eth(wei: U256) -> String {
    format!("{} ETH", format_ether(wei))
}

fn gwei(wei: u128) -> String {
    crate::chain::units::format_units(U256::from(wei), 9)
}

impl TopupRecord {
    fn start(
        chain_id: u64,
        funder: Address,
        settings: &TopupSettings,
        t: &TopupTarget,
    ) -> TopupRecord {
        TopupRecord {
            time: String::new(),
            timestamp: 0,
            paymaster: t.name.clone(),
            address: t.address,
            entrypoint: t.entrypoint,
            chain_id,
            action: Action::Failed,
            dry_run: settings.dry_run,
            exit_code: 1,
            reason: String::new(),
            deposit_before_wei: None,
            deposit_after_wei: None,
            amount_wei: None,
            below_wei: t.below.to_string(),
            to_wei: t.to.to_string(),
            max_wei: t.max.map(|m| m.to_string()),
            funder: Some(funder),
            funder_balance_wei: None,
            funder_nonce: None,
            funder_pending_nonce: None,
            gas_limit: None,
            max_fee_per_gas_wei: None,
            max_priority_fee_per_gas_wei: None,
            tx_hash: None,
            tx_nonce: None,
            block_number: None,
        }
    }

    fn set(&mut self, action: Action, exit_code: u8, reason: impl Into<String>) {
        self.action = action;
        self.exit_code = exit_code;
        self.reason = reason.into();
    }

    fn stamp(&mut self) {
        let now = chrono::Utc::now();
        self.time = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.timestamp = now.timestamp();
    }
}

async fn run_one(
    session: &Session,
    s: &TopupSettings,
    t: &TopupTarget,
    cancel: &CancellationToken,
) -> TopupRecord {
    let mut rec = TopupRecord::start(session.chain_id, session.from, s, t);
    let audit_path = audit::audit_path(&s.data_dir);
    let lock = match PaymasterLock::acquire(&s.data_dir, t.address, s.wait, cancel).await {
        Ok(LockOutcome::Held(l)) => Some(l),
        Ok(LockOutcome::TimedOut { path, waited }) => {
            rec.set(
                Action::Failed,
                1,
                format!(
                    "another run held the lock {} for {} s (--wait-secs); nothing sent",
                    path.display(),
                    waited.as_secs()
                ),
            );
            None
        }
        Ok(LockOutcome::Cancelled) => {
            rec.set(
                Action::Failed,
                1,
                "interrupted while waiting for the lock; nothing sent",
            );
            None
        }
        Err(e) => {
            rec.set(
                Action::Failed,
                1,
                format!("cannot take the lock: {e}; nothing sent"),
            );
            None
        }
    };
    if let Some(lock) = &lock {
        if !lock.waited.is_zero() {
            tracing::info!(paymaster = %t.name, waited_ms = lock.waited.as_millis() as u64, "lock obtained after waiting; re-reading the deposit");
        }
        if let Err(e) = decide(session, s, t, &mut rec, &audit_path, cancel).await {
            rec.set(Action::Failed, 1, e.to_string());
        }
    }
    rec.stamp();
    if let Err(e) = audit::append(&audit_path, &rec) {
        rec.reason = format!("{}; the audit record was not written: {e}", rec.reason);
        rec.set(Action::Failed, 1, rec.reason.clone());
    }
    drop(lock);
    rec
}

/// What a wait for transactions in flight found.
enum InFlight {
    /// Nothing in flight (any more): the funder's next nonce, and what was waited for, if anything.
    Clear {
        nonce: u64,
        waited: Option<String>,
    },
    /// Still in flight after the wait.
    Pending(String),
    Cancelled(String),
}

/// Waits while the funder has a transaction in flight (pending nonce above the latest one) or the audit
/// file holds a top-up of this paymaster that was sent and not yet mined.
async fn wait_in_flight(
    session: &Session,
    s: &TopupSettings,
    t: &TopupTarget,
    rec: &mut TopupRecord,
    audit_path: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<InFlight, OpsError> {
    let unresolved = audit::unresolved_tx(&audit::read_all(audit_path)?, t.address);
    let deadline = tokio::time::Instant::now() + s.wait;
    let mut delays = POLL.delays();
    let mut waited: Option<String> = None;
    loop {
        let (latest, pending) = session.nonces().await?;
        rec.funder_nonce = Some(latest);
        rec.funder_pending_nonce = Some(pending);
        let mut what = Vec::new();
        if pending > latest {
            what.push(format!(
                "{} transaction(s) of the funder {} in flight (nonces {latest}..{})",
                pending - latest,
                session.from,
                pending - 1
            ));
        }
        if let Some((hash, nonce)) = unresolved
            && session.receipt(hash).await?.is_none()
            && session.known(hash).await?
        {
            let n = nonce.map(|n| format!(" (nonce {n})")).unwrap_or_default();
            what.push(format!(
                "the top-up {hash}{n} of an earlier run, not mined yet"
            ));
            rec.tx_hash = Some(hash);
            rec.tx_nonce = nonce;
        }
        if what.is_empty() {
            return Ok(InFlight::Clear {
                nonce: latest,
                waited,
            });
        }
        let what = what.join(" and ");
        if waited.is_none() {
            tracing::info!(paymaster = %t.name, "waiting for {what} (at most {} s)", s.wait.as_secs());
        }
        waited = Some(what.clone());
        if tokio::time::Instant::now() >= deadline {
            return Ok(InFlight::Pending(what));
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !backoff::sleep(delays.next_delay().min(left), cancel).await {
            return Ok(InFlight::Cancelled(what));
        }
    }
}

/// The decision and, when it says so, the send. Fills `rec`; an `Err` is recorded as `failed`.
async fn decide(
    session: &Session,
    s: &TopupSettings,
    t: &TopupTarget,
    rec: &mut TopupRecord,
    audit_path: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<(), OpsError> {
    let (nonce, waited) = match wait_in_flight(session, s, t, rec, audit_path, cancel).await? {
        InFlight::Clear { nonce, waited } => (nonce, waited),
        InFlight::Pending(what) => {
            rec.set(
                Action::Failed,
                1,
                format!(
                    "{what}, still after {} s (--wait-secs); nothing sent, nothing replaced",
                    s.wait.as_secs()
                ),
            );
            return Ok(());
        }
        InFlight::Cancelled(what) => {
            rec.set(
                Action::Failed,
                1,
                format!("interrupted while waiting for {what}; nothing sent"),
            );
            return Ok(());
        }
    };
    let deposit = session.deposit(t.entrypoint, t.address).await?;
    rec.deposit_before_wei = Some(deposit.to_string());
    if deposit >= t.below {
        rec.deposit_after_wei = Some(deposit.to_string());
        match waited {
            Some(what) => rec.set(
                Action::WaitedPending,
                0,
                format!(
                    "waited for {what}; the deposit {} is at or above {}",
                    eth(deposit),
                    eth(t.below)
                ),
            ),
            None => rec.set(
                Action::None,
                0,
                format!(
                    "the deposit {} is at or above {}",
                    eth(deposit),
                    eth(t.below)
                ),
            ),
        }
        return Ok(());
    }
    let need = t.to.saturating_sub(deposit);
    let (amount, capped) = match t.max {
        Some(m) if m < need => (m, true),
        _ => (need, false),
    };
    rec.amount_wei = Some(amount.to_string());
    let expected = deposit + amount;
    let code_after = |after: U256| if after >= t.below { 0 } else { 3 };
    let cap_note = if capped {
        format!(
            " (capped by --max {}; {} was needed)",
            eth(amount),
            eth(need)
        )
    } else {
        String::new()
    };

    let fees = match session.fees(s.max_fee_per_gas).await? {
        Ok(f) => f,
        Err(f) => {
            rec.max_fee_per_gas_wei = Some(f.max_fee_per_gas.to_string());
            rec.max_priority_fee_per_gas_wei = Some(f.max_priority_fee_per_gas.to_string());
            rec.set(
                Action::Refused,
                3,
                format!(
                    "the network asks {} gwei per gas (base fee + priority fee), over --max-fee-gwei {}; nothing sent",
                    gwei(f.required),
                    gwei(s.max_fee_per_gas.unwrap_or_default())
                ),
            );
            return Ok(());
        }
    };
    rec.max_fee_per_gas_wei = Some(fees.max_fee_per_gas.to_string());
    rec.max_priority_fee_per_gas_wei = Some(fees.max_priority_fee_per_gas.to_string());
    let balance = session.balance(session.from).await?;
    rec.funder_balance_wei = Some(balance.to_string());
    let input = IEntryPoint::depositToCall { account: t.address }.abi_encode();
    let tx = session.tx(t.entrypoint, amount, input.into());
    let gas = session.estimate_gas(&tx, balance).await?;
    rec.gas_limit = Some(gas);
    let gas_cost = U256::from(gas) * U256::from(fees.max_fee_per_gas);
    let cost = amount + gas_cost;
    if balance < cost {
        let short = cost - balance;
        rec.set(
            Action::Refused,
            3,
            format!(
                "the funder {} has {} but the top-up needs {} ({} + gas {gas} × {} gwei): short by {} ({short} wei); nothing sent",
                session.from,
                eth(balance),
                eth(cost),
                eth(amount),
                gwei(fees.max_fee_per_gas),
                eth(short),
            ),
        );
        return Ok(());
    }
    let plan = format!(
        "top up paymaster {} ({}): its deposit {} is under {}; send {}{cap_note} from {} to EntryPoint {} depositTo({}), \
         gas {gas} at most {} gwei, chain id {}",
        t.name,
        t.address,
        eth(deposit),
        eth(t.below),
        eth(amount),
        session.from,
        t.entrypoint,
        t.address,
        gwei(fees.max_fee_per_gas),
        session.chain_id,
    );
    if s.dry_run {
        rec.deposit_after_wei = Some(expected.to_string());
        rec.set(
            Action::Planned,
            code_after(expected),
            format!("dry run: would {plan}"),
        );
        return Ok(());
    }
    match &s.confirm {
        Confirm::Yes => {}
        Confirm::NoTty => {
            rec.set(
                Action::Refused,
                3,
                "no --yes and no terminal to confirm on; nothing sent (cron runs pass --yes)",
            );
            return Ok(());
        }
        Confirm::Ask(ask) => {
            if !ask(&plan) {
                rec.set(Action::Refused, 3, "not confirmed; nothing sent");
                return Ok(());
            }
        }
    }
    let signed = session.sign(tx, nonce, gas, fees).await?;
    rec.tx_hash = Some(signed.hash);
    rec.tx_nonce = Some(nonce);
    let mut sent = rec.clone();
    sent.set(Action::Sent, 1, format!("signed; sending: {plan}"));
    sent.stamp();
    audit::append(audit_path, &sent)?;
    if let Err(e) = session.send(&signed).await {
        rec.set(
            Action::Failed,
            1,
            format!("sending {} (nonce {nonce}) failed: {e}; a later run waits for it if the node has it", signed.hash),
        );
        return Ok(());
    }
    match session
        .wait_mined(&signed, s.confirmations, s.wait, cancel)
        .await?
    {
        Mined::No => {
            rec.set(
                Action::Failed,
                1,
                format!(
                    "transaction {} (nonce {nonce}) not mined with {} confirmation(s) within {} s (--wait-secs); \
                     not replaced: a later run waits for it",
                    signed.hash,
                    s.confirmations.max(1),
                    s.wait.as_secs()
                ),
            );
            return Ok(());
        }
        Mined::NonceUsed => {
            rec.set(
                Action::Failed,
                1,
                format!(
                    "transaction {} will not be mined: another transaction of the funder used nonce {nonce}",
                    signed.hash
                ),
            );
            return Ok(());
        }
        Mined::Cancelled => {
            rec.set(
                Action::Failed,
                1,
                format!(
                    "interrupted while waiting for {} (nonce {nonce}); a later run waits for it",
                    signed.hash
                ),
            );
            return Ok(());
        }
        Mined::Yes(r) => {
            rec.block_number = r.block_number;
            if !r.status() {
                rec.set(
                    Action::Failed,
                    1,
                    format!(
                        "transaction {} (nonce {nonce}) reverted in block {}",
                        signed.hash,
                        r.block_number.unwrap_or_default()
                    ),
                );
                return Ok(());
            }
        }
    }
    let after = session.deposit(t.entrypoint, t.address).await?;
    rec.deposit_after_wei = Some(after.to_string());
    let action = if capped {
        Action::Capped
    } else {
        Action::ToppedUp
    };
    let still = if after < t.below {
        format!("; still under {}", eth(t.below))
    } else {
        String::new()
    };
    rec.set(
        action,
        code_after(after),
        format!(
            "sent {}{cap_note} in {} (block {}); deposit {} → {}{still}",
            eth(amount),
            signed.hash,
            rec.block_number.unwrap_or_default(),
            eth(deposit),
            eth(after)
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_wins_over_refused_which_wins_over_ok() {
        let codes = |cs: &[u8]| {
            let session_free = TopupSettings {
                data_dir: PathBuf::new(),
                targets: Vec::new(),
                dry_run: false,
                confirm: Confirm::Yes,
                wait: Duration::ZERO,
                confirmations: 1,
                max_fee_per_gas: None,
            };
            let t = TopupTarget {
                name: "p".into(),
                address: Address::ZERO,
                entrypoint: Address::ZERO,
                below: U256::ZERO,
                to: U256::ZERO,
                max: None,
            };
            let recs: Vec<TopupRecord> = cs
                .iter()
                .map(|c| {
                    let mut r = TopupRecord::start(1, Address::ZERO, &session_free, &t);
                    r.exit_code = *c;
                    r
                })
                .collect();
            exit_code(&recs)
        };
        assert_eq!(codes(&[]), 0);
        assert_eq!(codes(&[0, 0]), 0);
        assert_eq!(codes(&[0, 3]), 3);
        assert_eq!(codes(&[3, 1, 0]), 1);
    }
}
