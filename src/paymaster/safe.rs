//! Safe Transaction Builder batches: the JSON file the Safe{Wallet} Transaction Builder app imports
//! (`version`, `chainId`, `createdAt`, `meta`, `transactions[{to, value, data}]`), for paymasters whose
//! owner is a Safe.

use alloy::primitives::Address;
use serde_json::{Value, json};

use super::admin::AdminCall;
use crate::chain::ChainClient;
use crate::chain::bindings::IOwnable;

/// The batch of one `call` to `paymaster`, made now, for the paymaster's owner as the chain reports it
/// (left out when the owner cannot be read).
pub async fn batch_for_owner(
    client: &ChainClient,
    chain_id: u64,
    paymaster: Address,
    call: &AdminCall,
) -> Value {
    let owner = IOwnable::new(paymaster, client.provider())
        .owner()
        .call()
        .await
        .ok();
    batch(
        chain_id,
        std::slice::from_ref(call),
        owner,
        chrono::Utc::now().timestamp_millis(),
    )
}

/// The batch of `calls` for chain `chain_id`; `safe` is the owner the batch is meant for, when known.
pub fn batch(
    chain_id: u64,
    calls: &[AdminCall],
    safe: Option<Address>,
    created_at_ms: i64,
) -> Value {
    let description = calls
        .iter()
        .map(|c| c.function.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut meta = json!({
        "name": format!("butler paymaster {}", calls.first().map_or("batch", |c| c.action)),
        "description": description,
        "txBuilderVersion": "1.16.5",
    });
    if let Some(safe) = safe {
        meta["createdFromSafeAddress"] = json!(safe.to_checksum(None));
    }
    json!({
        "version": "1.0",
        "chainId": chain_id.to_string(),
        "createdAt": created_at_ms,
        "meta": meta,
        "transactions": calls
            .iter()
            .map(|c| json!({
                "to": c.to.to_checksum(None),
                "value": c.value_wei.to_string(),
                "data": c.data.to_string(),
            }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;
    use crate::paymaster::admin::{AdminAction, admin_call};

    #[test]
    fn the_batch_carries_the_calls_exactly() {
        let call = admin_call(
            &AdminAction::StakeAdd {
                amount: U256::from(10),
                unstake_delay_sec: 86400,
            },
            Address::repeat_byte(1),
            Address::repeat_byte(2),
        );
        let b = batch(31337, std::slice::from_ref(&call), None, 1);
        assert_eq!(b["version"], "1.0");
        assert_eq!(b["chainId"], "31337");
        let t = &b["transactions"][0];
        assert_eq!(t["to"], call.to.to_checksum(None));
        assert_eq!(t["value"], "10");
        assert_eq!(t["data"], call.data.to_string());
    }
}
