//! Generic JSON-RPC probes (`[[exporter.probes]]`): call one method on a chain-adjacent service and read one
//! number from the result, so a Celestia node's head height or a sequencer's status needs no new code.
//!
//! The value is the result itself, or what `path` (keys and array indices joined by dots) points at in it;
//! a JSON number, a decimal string, a `0x` hex quantity and a boolean (1 or 0) all count. An endpoint read
//! from `url_file` is never shown: messages name the probe and say `<url_file>` instead.

use std::time::Duration;

use alloy::rpc::client::RpcClient;
use alloy::transports::http::Http;
use alloy::transports::http::reqwest;
use serde_json::Value;
use url::Url;

use crate::config::{ConfigError, RpcProbeConfig};

/// Why a probe has no value.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("probe {probe}: {message}")]
    Call { probe: String, message: String },
    #[error("probe {probe}: no answer within {secs} s")]
    Timeout { probe: String, secs: f64 },
    #[error("probe {probe}: {message}")]
    Value { probe: String, message: String },
}

/// A probe ready to run.
#[derive(Debug, Clone)]
pub struct RpcProbe {
    pub name: String,
    pub method: String,
    /// What messages show for the endpoint (`<url_file>` when it came from a file).
    pub shown_url: String,
    url: Url,
    redact: bool,
    params: Value,
    path: Vec<String>,
    client: RpcClient,
}

impl TryFrom<&RpcProbeConfig> for RpcProbe {
    type Error = ConfigError;

    /// Resolves the endpoint and token of one `[[exporter.probes]]` entry (no request is made here).
    fn try_from(c: &RpcProbeConfig) -> Result<RpcProbe, ConfigError> {
        c.validate()?;
        let url = c.endpoint()?;
        let redact = c.url.is_none();
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = c.bearer_token()? {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| {
                        ConfigError::Invalid(format!(
                            "[[exporter.probes]] `{}`: bearer_token is not a valid header value",
                            c.name
                        ))
                    })?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http_client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .map_err(|e| {
                ConfigError::Invalid(format!(
                    "[[exporter.probes]] `{}`: HTTP client: {e}",
                    c.name
                ))
            })?;
        let local = url
            .host_str()
            .is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]");
        let client = RpcClient::new(Http::with_client(http_client, url.clone()), local);
        Ok(RpcProbe {
            name: c.name.clone(),
            method: c.method.clone(),
            shown_url: if redact {
                "<url_file>".to_string()
            } else {
                url.to_string()
            },
            url,
            redact,
            params: c.params.clone(),
            path: c
                .path
                .as_deref()
                .map(|p| p.split('.').map(str::to_string).collect())
                .unwrap_or_default(),
            client,
        })
    }
}

impl RpcProbe {
    /// Calls the method within `timeout` and reads the value.
    pub async fn read(&self, timeout: Duration) -> Result<f64, ProbeError> {
        let call = self
            .client
            .request::<_, Value>(self.method.clone(), self.params.clone());
        let result = match tokio::time::timeout(timeout, call).await {
            Err(_) => {
                return Err(ProbeError::Timeout {
                    probe: self.name.clone(),
                    secs: timeout.as_secs_f64(),
                });
            }
            Ok(Err(e)) => {
                return Err(ProbeError::Call {
                    probe: self.name.clone(),
                    message: format!("{}: {}", self.method, self.hide_url(&e.to_string())),
                });
            }
            Ok(Ok(v)) => v,
        };
        extract(&result, &self.path).map_err(|message| ProbeError::Value {
            probe: self.name.clone(),
            message,
        })
    }

    /// `text` without the endpoint when it came from `url_file`.
    fn hide_url(&self, text: &str) -> String {
        if !self.redact {
            return text.to_string();
        }
        let full = self.url.as_str();
        text.replace(full, "<url_file>")
            .replace(full.trim_end_matches('/'), "<url_file>")
    }
}

/// The number at `path` in `result`.
pub fn extract(result: &Value, path: &[String]) -> Result<f64, String> {
    let mut at = result;
    for (i, key) in path.iter().enumerate() {
        let next = match at {
            Value::Object(map) => map.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|idx| items.get(idx)),
            _ => None,
        };
        at = next.ok_or_else(|| {
            format!(
                "path `{}`: the result has nothing at `{key}`",
                path[..=i].join(".")
            )
        })?;
    }
    number(at).ok_or_else(|| {
        let mut shown = at.to_string();
        if shown.len() > 80 {
            shown.truncate(80);
            shown.push_str("...");
        }
        format!("the value {shown} is not a number, a decimal string, a 0x quantity or a boolean")
    })
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) if !hex.is_empty() => alloy::primitives::U256::from_str_radix(hex, 16)
                    .ok()
                    .map(f64::from),
                Some(_) => None,
                None => s.parse::<f64>().ok().filter(|f| f.is_finite()),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn values_and_paths() {
        assert_eq!(extract(&json!("0x1a"), &[]), Ok(26.0));
        assert_eq!(extract(&json!(7), &[]), Ok(7.0));
        assert_eq!(extract(&json!(true), &[]), Ok(1.0));
        let celestia = json!({"header": {"height": "123456", "chain_id": "mocha-4"}});
        assert_eq!(extract(&celestia, &path("header.height")), Ok(123456.0));
        assert!(
            extract(&celestia, &path("header.chain_id"))
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            extract(&celestia, &path("header.nope"))
                .unwrap_err()
                .contains("`header.nope`")
        );
        assert_eq!(extract(&json!([{"n": "0x10"}]), &path("0.n")), Ok(16.0));
        assert!(extract(&json!("0x"), &[]).is_err());
        assert!(extract(&json!(null), &[]).is_err());
    }
}
