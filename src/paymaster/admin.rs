//! The owner's admin writes: EntryPoint `depositTo`, and through BasePaymaster `withdrawTo`,
//! `addStake(unstakeDelaySec)`, `unlockStake`, `withdrawStake`. [`AdminCall`] is the transaction (target,
//! value, calldata) that `--dry-run` shows, `--safe-json` writes as a Safe batch and [`execute`] sends
//! after checking that the key is the paymaster's `owner()`.

use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::OpsError;
use super::session::{Mined, Session};
use crate::chain::bindings::{IBasePaymaster, IEntryPoint};
use crate::chain::ser;

/// One admin write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    Deposit {
        amount: U256,
    },
    Withdraw {
        to: Address,
        amount: U256,
    },
    StakeAdd {
        amount: U256,
        unstake_delay_sec: u32,
    },
    StakeUnlock,
    StakeWithdraw {
        to: Address,
    },
}

impl AdminAction {
    /// The action's name (as the API spells it).
    pub fn name(&self) -> &'static str {
        match self {
            AdminAction::Deposit { .. } => "deposit",
            AdminAction::Withdraw { .. } => "withdraw",
            AdminAction::StakeAdd { .. } => "stake_add",
            AdminAction::StakeUnlock => "stake_unlock",
            AdminAction::StakeWithdraw { .. } => "stake_withdraw",
        }
    }
}

/// The transaction of an admin write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminCall {
    pub action: &'static str,
    #[serde(serialize_with = "ser::address")]
    pub paymaster: Address,
    #[serde(serialize_with = "ser::address")]
    pub entrypoint: Address,
    /// The contract called.
    #[serde(serialize_with = "ser::address")]
    pub to: Address,
    #[serde(serialize_with = "ser::decimal")]
    pub value_wei: U256,
    /// The calldata, 0x-hex.
    pub data: Bytes,
    /// The Solidity call, for people.
    pub function: String,
}

/// Builds the call of `action` for `paymaster` (deposited in `entrypoint`).
pub fn admin_call(action: &AdminAction, paymaster: Address, entrypoint: Address) -> AdminCall {
    let (to, value, data, function) = match action {
        AdminAction::Deposit { amount } => (
            entrypoint,
            *amount,
            IEntryPoint::depositToCall { account: paymaster }.abi_encode(),
            format!("EntryPoint.depositTo({paymaster})"),
        ),
        AdminAction::Withdraw { to, amount } => (
            paymaster,
            U256::ZERO,
            IBasePaymaster::withdrawToCall {
                withdrawAddress: *to,
                amount: *amount,
            }
            .abi_encode(),
            format!("BasePaymaster.withdrawTo({to}, {amount})"),
        ),
        AdminAction::StakeAdd {
            amount,
            unstake_delay_sec,
        } => (
            paymaster,
            *amount,
            IBasePaymaster::addStakeCall {
                unstakeDelaySec: *unstake_delay_sec,
            }
            .abi_encode(),
            format!("BasePaymaster.addStake({unstake_delay_sec})"),
        ),
        AdminAction::StakeUnlock => (
            paymaster,
            U256::ZERO,
            IBasePaymaster::unlockStakeCall {}.abi_encode(),
            "BasePaymaster.unlockStake()".to_string(),
        ),
        AdminAction::StakeWithdraw { to } => (
            paymaster,
            U256::ZERO,
            IBasePaymaster::withdrawStakeCall {
                withdrawAddress: *to,
            }
            .abi_encode(),
            format!("BasePaymaster.withdrawStake({to})"),
        ),
    };
    AdminCall {
        action: action.name(),
        paymaster,
        entrypoint,
        to,
        value_wei: value,
        data: data.into(),
        function,
    }
}

/// The EntryPoint's view of a paymaster (`getDepositInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositInfo {
    #[serde(serialize_with = "ser::decimal")]
    pub deposit_wei: U256,
    pub staked: bool,
    #[serde(serialize_with = "ser::decimal")]
    pub stake_wei: U256,
    pub unstake_delay_sec: u32,
    pub withdraw_time: u64,
}

/// What a sent admin write did.
#[derive(Debug, Clone, Serialize)]
pub struct AdminOutcome {
    #[serde(flatten)]
    pub call: AdminCall,
    #[serde(serialize_with = "ser::address")]
    pub from: Address,
    pub tx_hash: alloy::primitives::B256,
    pub nonce: u64,
    pub block_number: Option<u64>,
    pub before: DepositInfo,
    pub after: DepositInfo,
}

/// Reads `getDepositInfo(paymaster)`.
pub async fn deposit_info(
    session: &Session,
    entrypoint: Address,
    paymaster: Address,
) -> Result<DepositInfo, OpsError> {
    let info = IEntryPoint::new(entrypoint, session.provider())
        .getDepositInfo(paymaster)
        .call()
        .await
        .map_err(|e| {
            session.call_err(
                format!("EntryPoint {entrypoint} getDepositInfo({paymaster})"),
                e,
            )
        })?;
    Ok(DepositInfo {
        deposit_wei: info.deposit,
        staked: info.staked,
        stake_wei: U256::from(info.stake),
        unstake_delay_sec: info.unstakeDelaySec,
        withdraw_time: info.withdrawTime.to::<u64>(),
    })
}

/// The paymaster's `owner()`.
pub async fn owner(session: &Session, paymaster: Address) -> Result<Address, OpsError> {
    IBasePaymaster::new(paymaster, session.provider())
        .owner()
        .call()
        .await
        .map_err(|e| session.call_err(format!("paymaster {paymaster} owner()"), e))
}

/// Refuses (before anything is signed) when the session's key is not the paymaster's `owner()`.
pub async fn check_owner(session: &Session, paymaster: Address) -> Result<(), OpsError> {
    let owner = owner(session, paymaster).await?;
    if owner != session.from {
        return Err(OpsError::Refused(format!(
            "the admin key's address {} is not the owner() {owner} of paymaster {paymaster}; nothing sent \
             (use the owner's key, or --safe-json when the owner is a Safe)",
            session.from
        )));
    }
    Ok(())
}

/// Sends `call` from the session's key (which must be the owner), waits at most `wait` for the receipt
/// and reads `getDepositInfo` before and after.
pub async fn execute(
    session: &Session,
    call: &AdminCall,
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<AdminOutcome, OpsError> {
    check_owner(session, call.paymaster).await?;
    let before = deposit_info(session, call.entrypoint, call.paymaster).await?;
    let fees = match session.fees(None).await? {
        Ok(f) | Err(f) => f,
    };
    let (_, nonce) = session.nonces().await?;
    let tx = session.tx(call.to, call.value_wei, call.data.clone());
    let balance = session.balance(session.from).await?;
    let gas = session.estimate_gas(&tx, balance).await?;
    let signed = session.sign(tx, nonce, gas, fees).await?;
    session.send(&signed).await?;
    let receipt = match session.wait_mined(&signed, 1, wait, cancel).await? {
        Mined::Yes(r) => r,
        Mined::NonceUsed => {
            return Err(session.call_err(
                call.function.clone(),
                format!(
                    "transaction {} will not be mined: another transaction of {} used nonce {nonce}",
                    signed.hash, session.from
                ),
            ));
        }
        Mined::No | Mined::Cancelled => {
            return Err(session.call_err(
                call.function.clone(),
                format!(
                    "transaction {} (nonce {nonce}) not mined within {} s",
                    signed.hash,
                    wait.as_secs()
                ),
            ));
        }
    };
    if !receipt.status() {
        return Err(session.call_err(
            call.function.clone(),
            format!("transaction {} reverted", signed.hash),
        ));
    }
    let after = deposit_info(session, call.entrypoint, call.paymaster).await?;
    Ok(AdminOutcome {
        call: call.clone(),
        from: session.from,
        tx_hash: signed.hash,
        nonce,
        block_number: receipt.block_number,
        before,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_have_the_right_target_value_and_selector() {
        let pm = Address::repeat_byte(1);
        let ep = Address::repeat_byte(2);
        let to = Address::repeat_byte(3);
        let c = admin_call(
            &AdminAction::Deposit {
                amount: U256::from(5),
            },
            pm,
            ep,
        );
        assert_eq!((c.to, c.value_wei), (ep, U256::from(5)));
        assert_eq!(&c.data[..4], &IEntryPoint::depositToCall::SELECTOR);
        let c = admin_call(
            &AdminAction::Withdraw {
                to,
                amount: U256::from(7),
            },
            pm,
            ep,
        );
        assert_eq!((c.to, c.value_wei), (pm, U256::ZERO));
        let decoded = IBasePaymaster::withdrawToCall::abi_decode(&c.data).unwrap();
        assert_eq!(
            (decoded.withdrawAddress, decoded.amount),
            (to, U256::from(7))
        );
        let c = admin_call(
            &AdminAction::StakeAdd {
                amount: U256::from(9),
                unstake_delay_sec: 60,
            },
            pm,
            ep,
        );
        assert_eq!(
            IBasePaymaster::addStakeCall::abi_decode(&c.data)
                .unwrap()
                .unstakeDelaySec,
            60
        );
        assert_eq!(c.value_wei, U256::from(9));
        let c = admin_call(&AdminAction::StakeUnlock, pm, ep);
        assert_eq!(&c.data[..], &IBasePaymaster::unlockStakeCall::SELECTOR);
        let c = admin_call(&AdminAction::StakeWithdraw { to }, pm, ep);
        assert_eq!(
            IBasePaymaster::withdrawStakeCall::abi_decode(&c.data)
                .unwrap()
                .withdrawAddress,
            to
        );
    }
}
