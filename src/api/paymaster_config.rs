//! `POST /api/admin/paymaster/config`: the owner's admin writes over HTTP (the plan's "writes on-chain via
//! admin key"), the same actions as `butler paymaster deposit|withdraw|stake ...`. `dryRun` defaults to
//! true (the answer shows target, value and calldata); `"format": "safe"` answers a Safe Transaction
//! Builder batch; `"dryRun": false` sends from `[paymaster_ops] admin_key_file` after the `owner()` check.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::state::ApiState;
use crate::chain::ChainError;
use crate::http::body::body_kind;
use crate::http::{ErrorBody, HttpError, JsonBody};
use crate::paymaster::OpsError;
use crate::paymaster::admin::{self, AdminAction};
use crate::paymaster::safe;
use crate::paymaster::session::Session;

/// The request body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PaymasterConfigRequest {
    /// A configured `[[paymasters]]` name (or its address).
    pub paymaster: String,
    /// `deposit`, `withdraw`, `stake_add`, `stake_unlock` or `stake_withdraw`.
    pub action: String,
    /// Wei, decimal string (deposit, withdraw, stake_add).
    pub amount_wei: Option<String>,
    /// Recipient (withdraw, stake_withdraw).
    pub to: Option<String>,
    /// stake_add.
    pub unstake_delay_sec: Option<u32>,
    /// Default true: show the call, send nothing.
    pub dry_run: Option<bool>,
    /// `safe`: answer a Safe Transaction Builder batch instead of sending.
    pub format: Option<String>,
}

fn field<T>(name: &str, v: Option<T>, action: &str) -> Result<T, HttpError> {
    v.ok_or_else(|| HttpError::invalid(format!("field `{name}` is required for action `{action}`")))
}

fn action_of(r: &PaymasterConfigRequest) -> Result<AdminAction, HttpError> {
    let amount = || -> Result<U256, HttpError> {
        let raw = field("amountWei", r.amount_wei.as_deref(), &r.action)?;
        U256::from_str_radix(raw, 10).map_err(|_| {
            HttpError::invalid(format!(
                "field `amountWei`: `{raw}` is not a decimal wei amount"
            ))
        })
    };
    let to = || -> Result<Address, HttpError> {
        let raw = field("to", r.to.as_deref(), &r.action)?;
        raw.parse()
            .map_err(|_| HttpError::invalid(format!("field `to`: `{raw}` is not an address")))
    };
    Ok(match r.action.as_str() {
        "deposit" => AdminAction::Deposit { amount: amount()? },
        "withdraw" => AdminAction::Withdraw {
            to: to()?,
            amount: amount()?,
        },
        "stake_add" => AdminAction::StakeAdd {
            amount: amount()?,
            unstake_delay_sec: field("unstakeDelaySec", r.unstake_delay_sec, &r.action)?,
        },
        "stake_unlock" => AdminAction::StakeUnlock,
        "stake_withdraw" => AdminAction::StakeWithdraw { to: to()? },
        other => {
            return Err(HttpError::invalid(format!(
                "field `action`: `{other}` is not one of deposit, withdraw, stake_add, stake_unlock, stake_withdraw"
            )));
        }
    })
}

/// The call in the API's camelCase.
fn call_json(c: &admin::AdminCall) -> Value {
    json!({
        "action": c.action,
        "paymaster": c.paymaster.to_checksum(None),
        "entrypoint": c.entrypoint.to_checksum(None),
        "to": c.to.to_checksum(None),
        "valueWei": c.value_wei.to_string(),
        "data": c.data.to_string(),
        "function": c.function,
    })
}

fn info_json(i: &admin::DepositInfo) -> Value {
    json!({
        "depositWei": i.deposit_wei.to_string(),
        "staked": i.staked,
        "stakeWei": i.stake_wei.to_string(),
        "unstakeDelaySec": i.unstake_delay_sec,
        "withdrawTime": i.withdraw_time,
    })
}

fn ops_error(e: OpsError) -> HttpError {
    match e {
        OpsError::Refused(m) => HttpError::new(StatusCode::FORBIDDEN, m),
        OpsError::Chain(ChainError::ChainIdMismatch { .. } | ChainError::UrlsDisagree { .. }) => {
            HttpError::unavailable(e.to_string())
        }
        OpsError::Chain(ChainError::Call { .. }) => HttpError::invalid(e.to_string()),
        other => HttpError::unavailable(other.to_string()),
    }
}

/// Shows, exports (Safe batch) or sends an admin write of a configured paymaster.
#[utoipa::path(post, path = "/api/admin/paymaster/config", tag = "admin",
    request_body = PaymasterConfigRequest,
    responses(
        (status = 200, description = "The call (dry run), the Safe batch, or the mined transaction with getDepositInfo before and after", body = Object),
        (status = 400, description = "Malformed JSON, or a body that does not fit the request (unknown field, wrong type)", body = ErrorBody),
        (status = 413, description = "The body is over `[api] body_limit_bytes`", body = ErrorBody),
        (status = 415, description = "The content type is not application/json", body = ErrorBody),
        (status = 403, description = "The admin key is not the paymaster's owner()", body = ErrorBody),
        (status = 404, description = "No such paymaster", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid, or the call reverts", body = ErrorBody),
        (status = 503, description = "No chain or no admin key configured, or the node failed", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn config(
    State(state): State<ApiState>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<PaymasterConfigRequest>,
) -> Result<Json<Value>, HttpError> {
    body_kind(&headers, false)?;
    let pm = state
        .settings()
        .paymasters
        .iter()
        .find(|p| {
            p.name == req.paymaster
                || req
                    .paymaster
                    .parse::<Address>()
                    .is_ok_and(|a| a == p.address)
        })
        .cloned()
        .ok_or_else(|| {
            HttpError::not_found(format!(
                "field `paymaster`: no [[paymasters]] entry `{}`",
                req.paymaster
            ))
        })?;
    let action = action_of(&req)?;
    let call = admin::admin_call(&action, pm.address, pm.entrypoint);
    let safe_format = match req.format.as_deref() {
        None => false,
        Some("safe") => true,
        Some(other) => {
            return Err(HttpError::invalid(format!(
                "field `format`: `{other}` is not `safe`"
            )));
        }
    };
    let dry_run = req.dry_run.unwrap_or(true);
    if dry_run && !safe_format {
        return Ok(Json(
            json!({"dryRun": true, "sent": false, "paymaster": pm.name, "call": call_json(&call)}),
        ));
    }
    let client = state
        .chain()
        .ok_or_else(|| HttpError::unavailable("no [chain] configured"))?;
    let expected = state.settings().chain.as_ref().and_then(|c| c.chain_id);
    if safe_format {
        let chain_id = client
            .check_chain_id(expected)
            .await
            .map_err(|e| HttpError::unavailable(e.to_string()))?;
        return Ok(Json(
            safe::batch_for_owner(client, chain_id, pm.address, &call).await,
        ));
    }
    let key = state.settings().paymaster_admin_key.as_ref().ok_or_else(|| {
        HttpError::unavailable(
            "no admin key: set [paymaster_ops] admin_key_file or BUTLER_PAYMASTER_OPS__ADMIN_KEY",
        )
    })?;
    let signer: PrivateKeySigner = key
        .expose()
        .parse()
        .map_err(|_| HttpError::unavailable("[paymaster_ops] admin_key is not a private key"))?;
    let session = Session::open(client, signer, expected)
        .await
        .map_err(ops_error)?;
    let outcome = admin::execute(&session, &call, Duration::from_secs(60), state.cancel())
        .await
        .map_err(ops_error)?;
    Ok(Json(json!({
        "dryRun": false,
        "sent": true,
        "paymaster": pm.name,
        "call": call_json(&call),
        "from": outcome.from.to_checksum(None),
        "txHash": outcome.tx_hash.to_string(),
        "nonce": outcome.nonce,
        "blockNumber": outcome.block_number,
        "before": info_json(&outcome.before),
        "after": info_json(&outcome.after),
    })))
}
