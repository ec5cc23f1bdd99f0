//! The policy gateway: a JSON-RPC front on a spawned instance's public port, the bundler behind it on its
//! internal port. It applies `delayMs` and `failureRate` to every call and `minPriorityFeeGwei` to
//! `eth_sendUserOperation`; a refused or failed call gets a JSON-RPC error whose message names the policy.
//! Batches are split and each call is judged on its own. Other requests (`GET /health`, `/metrics`) pass
//! through unchanged.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::registry::Policy;

/// JSON-RPC error code of a call refused by policy (invalid params: the fee is too low).
pub const REFUSED: i64 = -32602;
/// JSON-RPC error code of a call failed by `failureRate`.
pub const FAILED: i64 = -32603;

#[derive(Clone)]
struct Gateway {
    id: String,
    policy: Policy,
    upstream: String,
    http: reqwest::Client,
}

/// Serves the gateway on `listener` until `cancel`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    id: String,
    policy: Policy,
    internal: SocketAddr,
    cancel: CancellationToken,
) {
    let gw = Gateway {
        id,
        policy,
        upstream: format!("http://{internal}"),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default(),
    };
    let app = Router::new().fallback(handle).with_state(gw);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "policy gateway stopped");
    }
}

async fn handle(
    State(gw): State<Gateway>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    if method == Method::POST
        && let Ok(value) = serde_json::from_slice::<Value>(&body)
    {
        let answer = match value {
            Value::Array(calls) if !calls.is_empty() => {
                let all = calls.into_iter().map(|c| gw.call(&path, c));
                Value::Array(futures::future::join_all(all).await)
            }
            call @ Value::Object(_) => gw.call(&path, call).await,
            other => gw.forward_value(&path, other).await,
        };
        return (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            answer.to_string(),
        )
            .into_response();
    }
    gw.pass(method, &path, headers, body).await
}

impl Gateway {
    /// One JSON-RPC call: delay, failure rate, fee floor, then the bundler.
    async fn call(&self, path: &str, call: Value) -> Value {
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        if self.policy.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.policy.delay_ms)).await;
        }
        if self.policy.failure_rate > 0.0 && rand::random::<f64>() < self.policy.failure_rate {
            return error(
                id,
                FAILED,
                format!(
                    "failed by policy failureRate = {} of bundler {} (a simulated failure)",
                    self.policy.failure_rate, self.id
                ),
            );
        }
        if call.get("method").and_then(Value::as_str) == Some("eth_sendUserOperation")
            && self.policy.min_priority_fee_gwei > 0.0
            && let Err(message) = self.check_fee(&call)
        {
            return error(id, REFUSED, message);
        }
        self.forward_value(path, call).await
    }

    fn check_fee(&self, call: &Value) -> Result<(), String> {
        let min = self.policy.min_priority_fee_gwei;
        let fee = call
            .pointer("/params/0/maxPriorityFeePerGas")
            .and_then(Value::as_str)
            .and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok());
        let Some(fee) = fee else {
            return Err(format!(
                "refused by policy minPriorityFeeGwei = {min} of bundler {}: the operation has no readable maxPriorityFeePerGas",
                self.id
            ));
        };
        let gwei = fee as f64 / 1e9;
        if gwei < min {
            return Err(format!(
                "refused by policy minPriorityFeeGwei = {min} of bundler {}: maxPriorityFeePerGas is {gwei} gwei",
                self.id
            ));
        }
        Ok(())
    }

    async fn forward_value(&self, path: &str, value: Value) -> Value {
        let id = value.get("id").cloned().unwrap_or(Value::Null);
        let sent = self
            .http
            .post(format!("{}{path}", self.upstream))
            .json(&value)
            .send()
            .await;
        let answer = match sent {
            Ok(res) => res.json::<Value>().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        answer.unwrap_or_else(|e| {
            error(
                id,
                FAILED,
                format!("bundler {} is not answering: {e}", self.id),
            )
        })
    }

    async fn pass(&self, method: Method, path: &str, headers: HeaderMap, body: Bytes) -> Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.upstream))
            .body(body);
        if let Some(ct) = headers.get(header::CONTENT_TYPE) {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status();
                let ct = res.headers().get(header::CONTENT_TYPE).cloned();
                let bytes = res.bytes().await.unwrap_or_default();
                let mut out = (status, bytes).into_response();
                if let Some(ct) = ct {
                    out.headers_mut().insert(header::CONTENT_TYPE, ct);
                }
                out
            }
            Err(e) => (
                StatusCode::BAD_GATEWAY,
                format!("bundler {} is not answering: {e}", self.id),
            )
                .into_response(),
        }
    }
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}
