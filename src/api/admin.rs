//! Admin endpoints about infrastructure: `GET /api/admin/bundlers` (configured bundlers with their health
//! probe, then the supervised ones), `GET /api/admin/paymaster/status` (live EntryPoint deposit, stake and balance plus indexed
//! sponsorship, the plan's `PaymasterMetrics`) and `GET /api/admin/paymaster/revenue` (indexed totals).

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::U256;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::bundlers::{AdminBundler, ConfiguredBundler};
use super::monitor::BundlerProbe;
use super::state::ApiState;
use crate::paymaster::paymaster_status;
use crate::paymaster::revenue::{self, PaymasterRevenue};
use crate::watcher::reduce::totals::PaymasterTotals;

/// `GET /api/admin/bundlers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminBundlers {
    pub bundlers: Vec<AdminBundler>,
}

/// Configured `[[bundlers]]` with their last health probe (`eth_chainId`, `eth_supportedEntryPoints`),
/// then the supervised instances (spawned and registered) with their registry fields.
#[utoipa::path(get, path = "/api/admin/bundlers", tag = "admin",
    responses((status = 200, description = "Bundlers and their health", body = AdminBundlers)),
    security(("bearer" = [])))]
pub async fn bundlers(State(state): State<ApiState>) -> Json<AdminBundlers> {
    let snap = state.snapshot();
    let mut bundlers: Vec<AdminBundler> = state
        .settings()
        .bundlers
        .iter()
        .map(|b| {
            let probe = snap
                .bundlers
                .iter()
                .find(|p| p.id == b.name)
                .cloned()
                .unwrap_or_else(|| BundlerProbe {
                    id: b.name.clone(),
                    name: b.name.clone(),
                    rpc_url: b.rpc_url.to_string(),
                    status: "DOWN".to_string(),
                    chain_id: None,
                    supported_entry_points: Vec::new(),
                    latency_ms: None,
                    error: Some("not probed yet".to_string()),
                    last_seen_ms: None,
                    checked_ms: 0,
                });
            AdminBundler::Configured(ConfiguredBundler {
                kind: "configured",
                probe,
            })
        })
        .collect();
    bundlers.extend(super::bundlers::admin_entries(&state));
    Json(AdminBundlers { bundlers })
}

/// One paymaster: on-chain state (live) and indexed sponsorship (the plan's `PaymasterMetrics`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymasterMetrics {
    pub name: String,
    pub address: String,
    pub entrypoint: String,
    /// EntryPoint deposit, wei (decimal string); null when the chain could not be read.
    pub deposit_wei: Option<String>,
    /// The paymaster contract's own ETH balance, wei.
    pub eth_balance_wei: Option<String>,
    pub staked: Option<bool>,
    pub stake_wei: Option<String>,
    pub unstake_delay_secs: Option<u32>,
    pub withdraw_time: Option<u64>,
    pub owner: Option<String>,
    /// `min_deposit_eth` in wei, when configured.
    pub min_deposit_wei: Option<String>,
    pub deposit_low: bool,
    /// Indexed `UserOperationEvent`s naming this paymaster.
    pub sponsored_ops_count: u64,
    /// Gas used by them.
    pub sponsored_gas_total: String,
    /// Sum of `PostOpHandled.feeAmount` by token.
    pub fees_by_token: BTreeMap<String, String>,
    /// Denials by reason code (from bundler logs; empty until bundlers report them).
    pub denials_by_reason: BTreeMap<String, u64>,
    /// Why the on-chain part is missing, if it is.
    pub error: Option<String>,
}

/// `GET /api/admin/paymaster/status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymasterStatusResponse {
    pub paymasters: Vec<PaymasterMetrics>,
}

/// Live status of each configured paymaster (deposit, stake, balance, owner) with indexed sponsorship.
#[utoipa::path(get, path = "/api/admin/paymaster/status", tag = "admin",
    responses((status = 200, description = "Each configured paymaster", body = PaymasterStatusResponse)),
    security(("bearer" = [])))]
pub async fn paymaster_status_handler(
    State(state): State<ApiState>,
) -> Json<PaymasterStatusResponse> {
    let indexed = state.indexed();
    let timeout = (state.settings().request_timeout / 2).max(Duration::from_secs(1));
    let calls = state.settings().paymasters.iter().map(|p| {
        let state = state.clone();
        async move {
            let live = match state.chain() {
                None => Err("no [chain] configured".to_string()),
                Some(c) => {
                    match tokio::time::timeout(
                        timeout,
                        paymaster_status(c, &p.name, p.address, p.entrypoint),
                    )
                    .await
                    {
                        Ok(r) => r.map_err(|e| e.to_string()),
                        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
                    }
                }
            };
            (p.clone(), live)
        }
    });
    let results = futures::future::join_all(calls).await;
    let paymasters = results
        .into_iter()
        .map(|(p, live)| {
            let totals = indexed
                .totals
                .paymasters
                .get(&p.address)
                .cloned()
                .unwrap_or_default();
            let min = p.min_deposit_wei;
            let dec = |v: U256| v.to_string();
            let (s, error) = match live {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e)),
            };
            PaymasterMetrics {
                name: p.name.clone(),
                address: p.address.to_checksum(None),
                entrypoint: p.entrypoint.to_checksum(None),
                deposit_wei: s.as_ref().map(|s| dec(s.deposit_wei)),
                eth_balance_wei: s.as_ref().map(|s| dec(s.balance_wei)),
                staked: s.as_ref().map(|s| s.staked),
                stake_wei: s.as_ref().map(|s| dec(s.stake_wei)),
                unstake_delay_secs: s.as_ref().map(|s| s.unstake_delay_secs),
                withdraw_time: s.as_ref().map(|s| s.withdraw_time),
                owner: s
                    .as_ref()
                    .and_then(|s| s.owner)
                    .map(|o| o.to_checksum(None)),
                min_deposit_wei: min.map(dec),
                deposit_low: matches!((&s, min), (Some(s), Some(m)) if s.deposit_wei < m),
                sponsored_ops_count: totals.sponsored_ops,
                sponsored_gas_total: dec(totals.sponsored_gas_used),
                fees_by_token: fees(&totals),
                denials_by_reason: BTreeMap::new(),
                error,
            }
        })
        .collect();
    Json(PaymasterStatusResponse { paymasters })
}

fn fees(t: &PaymasterTotals) -> BTreeMap<String, String> {
    t.fees_by_token
        .iter()
        .map(|(k, v)| (k.to_checksum(None), v.to_string()))
        .collect()
}

/// `GET /api/admin/paymaster/revenue`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevenueResponse {
    pub paymasters: Vec<PaymasterRevenue>,
    /// Sum over all paymasters of the fees by token.
    pub fees_by_token: BTreeMap<String, String>,
    pub sponsored_gas_cost_wei: String,
}

/// Revenue from the indexed log: sponsored operations, gas and fees by token per paymaster.
#[utoipa::path(get, path = "/api/admin/paymaster/revenue", tag = "admin",
    responses((status = 200, description = "Per-paymaster revenue", body = RevenueResponse)),
    security(("bearer" = [])))]
pub async fn revenue(State(state): State<ApiState>) -> Json<RevenueResponse> {
    let indexed = state.indexed();
    let paymasters = revenue::rows(&indexed.totals.paymasters, |addr| {
        state
            .settings()
            .paymasters
            .iter()
            .find(|p| p.address == addr)
            .map(|p| p.name.clone())
    });
    let (fees_by_token, sponsored_gas_cost_wei) = revenue::sums(&paymasters);
    Json(RevenueResponse {
        paymasters,
        fees_by_token,
        sponsored_gas_cost_wei,
    })
}
