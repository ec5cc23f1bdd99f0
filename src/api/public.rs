//! Public endpoints for the user app: `GET /api/public/bundlers` (configured bundlers as last probed) and
//! `GET /api/public/deployments` (contract addresses from the config, optional minimal ABIs).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::input;
use super::state::ApiState;

/// A bundler the user app may send operations to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicBundler {
    pub id: String,
    pub name: String,
    pub rpc_url: String,
    /// `UP` or `DOWN`.
    pub status: String,
    pub supported_entry_points: Vec<String>,
    /// Fee policy, when the bundler is supervised with one (configured bundlers have none).
    #[schema(value_type = Object)]
    pub policy: Option<serde_json::Value>,
    pub last_seen_ms: Option<u64>,
}

/// `GET /api/public/bundlers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicBundlers {
    pub bundlers: Vec<PublicBundler>,
}

/// Configured bundlers with their last probed status, then the supervised ones with their policy.
#[utoipa::path(get, path = "/api/public/bundlers", tag = "public",
    responses((status = 200, description = "Configured bundlers", body = PublicBundlers)))]
pub async fn bundlers(State(state): State<ApiState>) -> Json<PublicBundlers> {
    let snap = state.snapshot();
    let mut bundlers: Vec<PublicBundler> = state
        .settings()
        .bundlers
        .iter()
        .map(|b| {
            let probe = snap.bundlers.iter().find(|p| p.id == b.name);
            PublicBundler {
                id: b.name.clone(),
                name: b.name.clone(),
                rpc_url: b.rpc_url.to_string(),
                status: probe.map_or("DOWN", |p| p.status.as_str()).to_string(),
                supported_entry_points: probe
                    .map(|p| p.supported_entry_points.clone())
                    .unwrap_or_default(),
                policy: None,
                last_seen_ms: probe.and_then(|p| p.last_seen_ms),
            }
        })
        .collect();
    bundlers.extend(super::bundlers::public_entries(&state));
    Json(PublicBundlers { bundlers })
}

/// A configured paymaster.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymasterDeployment {
    pub name: String,
    pub address: String,
    pub entrypoint: String,
}

/// A watched contract.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceDeployment {
    pub name: String,
    pub preset: Option<String>,
    pub addresses: Vec<String>,
    pub start_block: Option<u64>,
}

/// `GET /api/public/deployments`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deployments {
    /// `[chain] chain_id`, else the id the RPC reported.
    pub chain_id: Option<u64>,
    pub entry_points: Vec<String>,
    pub paymasters: Vec<PaymasterDeployment>,
    /// `[probe] factory` (SimpleAccountFactory).
    pub factory: Option<String>,
    pub sources: Vec<SourceDeployment>,
    /// Minimal human-readable ABIs by contract kind, with `?abi=true`.
    pub abis: Option<BTreeMap<String, Vec<String>>>,
}

/// Query of `GET /api/public/deployments`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentsQuery {
    /// Include minimal ABIs (`true` or `false`, default false).
    #[param(value_type = Option<bool>)]
    pub abi: Option<String>,
}

/// Contract addresses from the configuration.
#[utoipa::path(get, path = "/api/public/deployments", tag = "public", params(DeploymentsQuery),
    responses(
        (status = 200, description = "Addresses (and ABIs on request)", body = Deployments),
        (status = 400, description = "Unknown parameter", body = ErrorBody),
        (status = 422, description = "Invalid parameter value", body = ErrorBody),
    ))]
pub async fn deployments(
    State(state): State<ApiState>,
    q: Result<Query<DeploymentsQuery>, QueryRejection>,
) -> Result<Json<Deployments>, ApiError> {
    let q = input::query(q)?;
    let abi = match q.abi.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "parameter `abi`: `{other}` is not true or false"
            )));
        }
    };
    let s = state.settings();
    let mut entry_points: Vec<String> = s
        .paymasters
        .iter()
        .map(|p| p.entrypoint.to_checksum(None))
        .collect();
    for src in &s.sources {
        if src.preset.as_deref() == Some("entrypoint") {
            entry_points.extend(
                src.address
                    .iter()
                    .chain(&src.addresses)
                    .map(|a| a.to_checksum(None)),
            );
        }
    }
    entry_points.sort();
    entry_points.dedup();
    let chain_id = s
        .chain
        .as_ref()
        .and_then(|c| c.chain_id)
        .or_else(|| state.snapshot().chain.and_then(|c| c.chain_id));
    Ok(Json(Deployments {
        chain_id,
        entry_points,
        paymasters: s
            .paymasters
            .iter()
            .map(|p| PaymasterDeployment {
                name: p.name.clone(),
                address: p.address.to_checksum(None),
                entrypoint: p.entrypoint.to_checksum(None),
            })
            .collect(),
        factory: s.factory.map(|f| f.to_checksum(None)),
        sources: s
            .sources
            .iter()
            .map(|src| SourceDeployment {
                name: src.name.clone(),
                preset: src.preset.clone(),
                addresses: src
                    .address
                    .iter()
                    .chain(&src.addresses)
                    .map(|a| a.to_checksum(None))
                    .collect(),
                start_block: src.start_block,
            })
            .collect(),
        abis: abi.then(minimal_abis),
    }))
}

fn minimal_abis() -> BTreeMap<String, Vec<String>> {
    let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    BTreeMap::from([
        (
            "entryPoint".to_string(),
            v(&[
                "function getNonce(address sender, uint192 key) view returns (uint256)",
                "function balanceOf(address account) view returns (uint256)",
                "function getDepositInfo(address account) view returns ((uint256 deposit, bool staked, uint112 stake, uint32 unstakeDelaySec, uint48 withdrawTime))",
                "event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed)",
            ]),
        ),
        (
            "simpleAccountFactory".to_string(),
            v(&[
                "function createAccount(address owner, uint256 salt) returns (address)",
                "function getAddress(address owner, uint256 salt) view returns (address)",
            ]),
        ),
        (
            "paymaster".to_string(),
            v(&[
                "function owner() view returns (address)",
                "event PostOpHandled(bytes32 indexed userOpHash, address indexed sender, address indexed token, uint256 actualGasCost, uint256 feeAmount, uint8 mode)",
            ]),
        ),
    ])
}
