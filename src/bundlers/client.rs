//! A client of the bundler admin endpoints (`/api/admin/bundlers*`) for `butler bundlers`, with the
//! admin token; answers are returned as JSON for the CLI to print.

use serde_json::Value;
use url::Url;

use crate::logs::client::{ClientError, ClientSettings};

/// The bundler admin API.
pub struct BundlersClient {
    settings: ClientSettings,
    http: reqwest::Client,
}

impl BundlersClient {
    pub fn new(settings: ClientSettings) -> Result<BundlersClient, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| ClientError::Transport {
                url: settings.base_url.to_string(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(BundlersClient { settings, http })
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.settings.base_url.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }

    /// `GET /api/admin/bundlers`.
    pub async fn list(&self) -> Result<Value, ClientError> {
        self.send(reqwest::Method::GET, "/api/admin/bundlers", None)
            .await
    }

    /// `POST /api/admin/bundlers/spawn`.
    pub async fn spawn(&self, body: &Value) -> Result<Value, ClientError> {
        self.send(
            reqwest::Method::POST,
            "/api/admin/bundlers/spawn",
            Some(body),
        )
        .await
    }

    /// `POST /api/admin/bundlers/register`.
    pub async fn register(&self, body: &Value) -> Result<Value, ClientError> {
        self.send(
            reqwest::Method::POST,
            "/api/admin/bundlers/register",
            Some(body),
        )
        .await
    }

    /// `POST /api/admin/bundlers/<id>/<action>` (stop, start, unregister).
    pub async fn action(&self, id: &str, action: &str) -> Result<Value, ClientError> {
        let mut url = self.url("/api/admin/bundlers");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(id).push(action);
        }
        self.send_url(reqwest::Method::POST, url, Some(&Value::Null))
            .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        self.send_url(method, self.url(path), body).await
    }

    async fn send_url(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let shown = url.to_string();
        let mut req = self.http.request(method, url);
        if let Some(t) = &self.settings.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body.filter(|b| !b.is_null()) {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| ClientError::Transport {
            url: shown.clone(),
            message: e.to_string(),
        })?;
        let status = res.status();
        let text = res.text().await.map_err(|e| ClientError::Transport {
            url: shown.clone(),
            message: e.to_string(),
        })?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
            return Err(ClientError::Status {
                url: shown,
                status: status.as_u16(),
                message,
            });
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Decode {
            url: shown,
            message: e.to_string(),
        })
    }
}
