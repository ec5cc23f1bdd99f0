//! `getDepositInfo`, `balanceOf`-free status of a paymaster: works against EntryPoint v0.6, v0.7 and v0.8.

use alloy::primitives::{Address, U256};
use serde::Serialize;

use crate::chain::bindings::{IEntryPoint, IOwnable};
use crate::chain::{ChainClient, ChainError, ser};

/// One paymaster's state. Wei amounts are exact; JSON writes them as decimal strings.
#[derive(Debug, Clone, Serialize)]
pub struct PaymasterStatus {
    pub name: String,
    #[serde(serialize_with = "ser::address")]
    pub address: Address,
    #[serde(serialize_with = "ser::address")]
    pub entrypoint: Address,
    #[serde(serialize_with = "ser::decimal")]
    pub deposit_wei: U256,
    pub staked: bool,
    #[serde(serialize_with = "ser::decimal")]
    pub stake_wei: U256,
    pub unstake_delay_secs: u32,
    /// Unix time the stake can be withdrawn (0 when no unlock is pending).
    pub withdraw_time: u64,
    #[serde(serialize_with = "ser::decimal")]
    pub balance_wei: U256,
    /// `owner()`, where the contract has one.
    #[serde(serialize_with = "ser::opt_address")]
    pub owner: Option<Address>,
}

/// Reads a paymaster's deposit, stake, balance and owner.
pub async fn paymaster_status(
    client: &ChainClient,
    name: &str,
    address: Address,
    entrypoint: Address,
) -> Result<PaymasterStatus, ChainError> {
    let ep = IEntryPoint::new(entrypoint, client.provider());
    let owner_call = IOwnable::new(address, client.provider());
    let (info, balance, owner, code) = tokio::join!(
        async { ep.getDepositInfo(address).call().await },
        client.balance(address),
        async { owner_call.owner().call().await },
        async { client.provider().get_code_at(entrypoint).await },
    );
    use alloy::providers::Provider as _;
    let code = code.map_err(client.rpc_err("eth_getCode"))?;
    if code.is_empty() {
        return Err(client.call_err(
            format!("EntryPoint {entrypoint}"),
            "no contract at this address on this chain",
        ));
    }
    let info = info.map_err(|e| {
        client.call_err(
            format!("EntryPoint {entrypoint} getDepositInfo({address})"),
            e,
        )
    })?;
    Ok(PaymasterStatus {
        name: name.to_string(),
        address,
        entrypoint,
        deposit_wei: info.deposit,
        staked: info.staked,
        stake_wei: U256::from(info.stake),
        unstake_delay_secs: info.unstakeDelaySec,
        withdraw_time: info.withdrawTime.to::<u64>(),
        balance_wei: balance?,
        owner: owner.ok(),
    })
}
