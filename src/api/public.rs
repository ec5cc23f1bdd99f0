//! Public endpoints for the user app: `GET /api/public/bundlers` (configured bundlers as last probed) and
//! `GET /api/public/deployments` (contract addresses from the config, optional minimal ABIs).

use std::collections::BTreeMap;

use alloy::json_abi::JsonAbi;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::input::Query;
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
    Query(q): Query<DeploymentsQuery>,
) -> Result<Json<Deployments>, ApiError> {
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
            entry_points.extend(src.addresses.iter().map(|a| a.to_checksum(None)));
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
                addresses: src.addresses.iter().map(|a| a.to_checksum(None)).collect(),
                start_block: src.start_block,
            })
            .collect(),
        abis: abi.then(minimal_abis),
    }))
}

/// The human-readable ABIs of the `sol!` bindings butler itself uses, by contract kind.
fn minimal_abis() -> BTreeMap<String, Vec<String>> {
    use crate::chain::bindings::{IEntryPoint, IOwnable, IPostOpHandled, ISimpleAccountFactory};
    let readable = |abis: &[JsonAbi]| {
        abis.iter()
            .flat_map(|abi| {
                abi.functions()
                    .map(|f| f.full_signature())
                    .chain(abi.events().map(|e| e.full_signature()))
            })
            .collect::<Vec<_>>()
    };
    BTreeMap::from([
        (
            "entryPoint".to_string(),
            readable(&[IEntryPoint::abi::contract()]),
        ),
        (
            "simpleAccountFactory".to_string(),
            readable(&[ISimpleAccountFactory::abi::contract()]),
        ),
        (
            "paymaster".to_string(),
            readable(&[IOwnable::abi::contract(), IPostOpHandled::abi::contract()]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watcher::sources::{ENTRYPOINT_EVENTS, PAYMASTER_EVENTS};

    #[test]
    fn abis_are_the_bindings_and_agree_with_the_watcher_presets() {
        let abis = minimal_abis();
        let entry_point = &abis["entryPoint"];
        assert!(
            entry_point.contains(
                &"function getNonce(address sender, uint192 key) view returns (uint256 nonce)"
                    .to_string()
            )
        );
        for event in ENTRYPOINT_EVENTS.iter().chain(PAYMASTER_EVENTS) {
            let all: Vec<&String> = abis.values().flatten().collect();
            assert!(all.iter().any(|s| s == event), "{event} is not in {all:#?}");
        }
        assert!(
            abis["simpleAccountFactory"]
                .iter()
                .any(|s| s.starts_with("function createAccount("))
        );
        assert!(
            abis["paymaster"]
                .iter()
                .any(|s| s.starts_with("function owner()"))
        );
    }
}
