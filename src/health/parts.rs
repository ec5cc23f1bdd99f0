//! The checks of each part: chain, paymasters, bundlers, supervised bundlers, the watcher's API and its
//! indexer, the fee manager and the probes. A part that is not configured yields no checks.

use std::net::SocketAddr;

use alloy::providers::Provider;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::{Check, HealthSettings, registry};
use crate::chain::retry::RetrySettings;
use crate::chain::units::format_ether_short;
use crate::chain::{ChainClient, ChainError};
use crate::exporter::{bundler, paymaster};

/// What the chain checks found, for the checks that build on them.
pub struct ChainOutcome {
    pub checks: Vec<Check>,
    /// A client for the configured chain, when it answers with the right chain id.
    pub client: Option<ChainClient>,
    pub chain_id: Option<u64>,
    pub head: Option<u64>,
    pub mismatch: bool,
}

/// `rpc reachable` and `chain id`.
pub async fn chain(s: &HealthSettings) -> ChainOutcome {
    let client = ChainClient::from_config(&s.chain);
    let url = client.url().to_string();
    let mut out = ChainOutcome {
        checks: Vec::new(),
        client: None,
        chain_id: None,
        head: None,
        mismatch: false,
    };
    let (id, head) = tokio::join!(client.chain_id(), client.provider().get_block_number());
    let actual = match id {
        Ok(a) => a,
        Err(e) => {
            out.checks
                .push(Check::new("rpc reachable", false, e.to_string()));
            return out;
        }
    };
    out.head = head.ok();
    let mut reachable = Check::new("rpc reachable", true, format!("{url} answers"));
    if let Some(h) = out.head {
        reachable = reachable.value(h);
        reachable.detail = format!("{url} answers at block {h}");
    }
    out.checks.push(reachable);
    out.chain_id = Some(actual);
    match s.chain.chain_id {
        Some(expected) if expected != actual => {
            out.mismatch = true;
            let e = ChainError::ChainIdMismatch {
                url,
                expected,
                actual,
            };
            out.checks.push(
                Check::new("chain id", false, e.to_string())
                    .value(actual)
                    .threshold(expected),
            );
        }
        Some(expected) => {
            out.checks.push(
                Check::new("chain id", true, format!("{expected} as configured"))
                    .value(actual)
                    .threshold(expected),
            );
            out.client = Some(client);
        }
        None => {
            out.checks.push(
                Check::new("chain id", true, format!("{actual} (not pinned in config)"))
                    .value(actual),
            );
            out.client = Some(client);
        }
    }
    out
}

/// `paymaster <name> deposit` and `paymaster <name> runway`; only when the chain answered correctly.
pub async fn paymasters(s: &HealthSettings, client: Option<&ChainClient>) -> Vec<Check> {
    let Some(client) = client else {
        return Vec::new();
    };
    let window = OnceCell::new();
    let samples = futures::future::join_all(
        s.paymasters
            .iter()
            .map(|p| paymaster::collect(client, p, s.scope, &window)),
    )
    .await;
    let min_runway_secs = s.min_runway_hours * 3600.0;
    let mut out = Vec::new();
    for (p, sample) in s.paymasters.iter().zip(samples) {
        let name = &p.name;
        let threshold = p
            .min_deposit_wei
            .map_or(Value::Null, |m| json!(format_ether_short(m, 6)));
        let sample = match sample {
            Ok(sample) => sample,
            Err(e) => {
                out.push(
                    Check::new(format!("paymaster {name} deposit"), false, e.to_string())
                        .threshold(threshold),
                );
                out.push(
                    Check::new(format!("paymaster {name} runway"), false, e.to_string())
                        .threshold(s.min_runway_hours),
                );
                continue;
            }
        };
        let deposit = sample.status.deposit_wei;
        let have = format_ether_short(deposit, 6);
        let (ok, detail) = match p.min_deposit_wei {
            Some(min) if deposit < min => (
                false,
                format!(
                    "{have} ETH is below min_deposit_eth {} ETH",
                    format_ether_short(min, 6)
                ),
            ),
            Some(min) => (
                true,
                format!("{have} ETH (minimum {} ETH)", format_ether_short(min, 6)),
            ),
            None => (true, format!("{have} ETH (no minimum set)")),
        };
        out.push(
            Check::new(format!("paymaster {name} deposit"), ok, detail)
                .value(have)
                .threshold(threshold),
        );
        let runway = sample.runway_secs();
        let hours = runway / 3600.0;
        let (ok, value, detail) = if runway.is_infinite() {
            (
                true,
                json!("+Inf"),
                format!(
                    "nothing spent in the last {} blocks",
                    sample.window.to + 1 - sample.window.from
                ),
            )
        } else {
            (
                runway >= min_runway_secs,
                json!((hours * 100.0).round() / 100.0),
                format!(
                    "{hours:.1} h at the spend rate of the last {} blocks (minimum {} h, [health] min_runway_hours)",
                    sample.window.to + 1 - sample.window.from,
                    s.min_runway_hours
                ),
            )
        };
        out.push(
            Check::new(format!("paymaster {name} runway"), ok, detail)
                .value(value)
                .threshold(s.min_runway_hours),
        );
    }
    out
}

/// `bundler <name>`: answers `eth_chainId` with the chain's id and `eth_supportedEntryPoints`.
pub async fn bundlers(s: &HealthSettings, chain_id: Option<u64>) -> Vec<Check> {
    let rpc = RetrySettings {
        timeout: s.timeout,
        max_retries: 0,
        ..RetrySettings::default()
    };
    let expected = s.chain.chain_id.or(chain_id);
    futures::future::join_all(s.bundlers.iter().map(|t| async move {
        let client = ChainClient::new(t.rpc_url.clone(), rpc);
        let name = format!("bundler {}", t.name);
        let read =
            tokio::time::timeout(s.timeout, bundler::collect(&client, &client, t, expected)).await;
        match read {
            Ok(Ok(b)) => Check::new(
                name,
                true,
                format!(
                    "{} answers; {} EntryPoint(s) supported",
                    t.rpc_url,
                    b.supported.len()
                ),
            )
            .value(b.supported.len()),
            Ok(Err(e)) => Check::new(name, false, e.to_string()),
            Err(_) => Check::new(
                name,
                false,
                format!(
                    "{}: no answer within {} s",
                    t.rpc_url,
                    s.timeout.as_secs_f64()
                ),
            ),
        }
    }))
    .await
}

/// `supervised bundler <id>`: an instance whose desired state is running must be UP.
pub fn supervised(s: &HealthSettings) -> Vec<Check> {
    let Some(path) = &s.supervisor_registry else {
        return Vec::new();
    };
    match registry::read(path) {
        Ok(None) => Vec::new(),
        Err(e) => vec![Check::new("supervised bundlers", false, e)],
        Ok(Some(r)) => r
            .instances
            .iter()
            .map(|i| {
                let threshold = if i.desired == "running" {
                    json!("UP")
                } else {
                    Value::Null
                };
                Check::new(
                    format!("supervised bundler {}", i.id),
                    i.healthy(),
                    format!(
                        "{}: desired {}, status {}",
                        i.name.as_deref().unwrap_or(&i.id),
                        i.desired,
                        i.status
                    ),
                )
                .value(i.status.clone())
                .threshold(threshold)
            })
            .collect(),
    }
}

/// `watcher api` (`GET /health` answers and is not `down`) and `indexer lag` (chain head minus the
/// indexed block, at most `[health] max_indexer_lag_blocks`).
pub async fn api(s: &HealthSettings, head: Option<u64>) -> Vec<Check> {
    let Some(api) = &s.api else {
        return Vec::new();
    };
    let url = format!("{}health", ensure_slash(api.base.as_str()));
    let answer = async {
        let res = http_client(s)?
            .get(&url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|e| e.to_string())?;
        Ok::<_, String>((status, body))
    }
    .await;
    let mut out = Vec::new();
    let body = match answer {
        Ok((status, body)) if status.is_success() => {
            let state = body["status"].as_str().unwrap_or("unknown").to_string();
            out.push(
                Check::new(
                    "watcher api",
                    state != "down",
                    format!("{url} answers; status {state}"),
                )
                .value(state)
                .threshold("ok or degraded"),
            );
            body
        }
        Ok((status, _)) => {
            out.push(Check::new(
                "watcher api",
                false,
                format!("{url} answered {status}"),
            ));
            return out;
        }
        Err(e) => {
            out.push(Check::new("watcher api", false, format!("{url}: {e}")));
            if api.indexer {
                out.push(
                    Check::new("indexer lag", false, "the watcher's API does not answer")
                        .threshold(s.max_indexer_lag_blocks),
                );
            }
            return out;
        }
    };
    if api.indexer {
        let indexed = body["indexedBlock"].as_u64();
        let check = match (head, indexed) {
            (Some(h), Some(i)) => {
                let lag = h.saturating_sub(i);
                Check::new(
                    "indexer lag",
                    lag <= s.max_indexer_lag_blocks,
                    format!(
                        "indexed block {i}, chain head {h} (at most {} behind, [health] max_indexer_lag_blocks)",
                        s.max_indexer_lag_blocks
                    ),
                )
                .value(lag)
            }
            (None, _) => Check::new(
                "indexer lag",
                false,
                "the chain head is unknown (the RPC does not answer)",
            ),
            (_, None) => Check::new(
                "indexer lag",
                false,
                "the indexer has not committed a block",
            ),
        };
        out.push(check.threshold(s.max_indexer_lag_blocks));
    }
    out
}

/// `fee manager`: its listener answers HTTP.
pub async fn fees(s: &HealthSettings) -> Vec<Check> {
    let Some(listen) = s.fees else {
        return Vec::new();
    };
    let addr = loopback_if_unspecified(listen);
    let url = format!("http://{addr}/");
    let answer = match http_client(s) {
        Ok(c) => c.get(&url).send().await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    vec![match answer {
        Ok(res) if !res.status().is_server_error() => Check::new(
            "fee manager",
            true,
            format!("{addr} answers HTTP ([fees] listen)"),
        )
        .value(res.status().as_u16()),
        Ok(res) => Check::new(
            "fee manager",
            false,
            format!("{addr} answered {}", res.status()),
        )
        .value(res.status().as_u16()),
        Err(e) => Check::new("fee manager", false, format!("{addr} ([fees] listen): {e}")),
    }]
}

/// `probe <name>`: the probe reads a number.
pub async fn probes(s: &HealthSettings) -> Vec<Check> {
    futures::future::join_all(s.probes.iter().map(|p| async move {
        let name = format!("probe {}", p.name);
        match p.read(s.timeout).await {
            Ok(v) => Check::new(name, true, format!("{} at {}", p.method, p.shown_url)).value(v),
            Err(e) => Check::new(name, false, e.to_string()),
        }
    }))
    .await
}

fn http_client(s: &HealthSettings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(s.timeout)
        .build()
        .map_err(|e| e.to_string())
}

fn ensure_slash(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        let ip = if addr.is_ipv4() {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        };
        SocketAddr::new(ip, addr.port())
    } else {
        addr
    }
}
