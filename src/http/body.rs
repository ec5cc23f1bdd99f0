//! Request bodies: the size limit (413 naming the limit and its config key), the media type (415), JSON
//! that is malformed (400 with line and column) or does not fit the expected shape (400 naming the field).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::HttpError;

/// The largest body a router accepts, and the config key that sets it (named in the 413 answer).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub bytes: usize,
    pub key: Option<&'static str>,
}

impl BodyLimit {
    /// Applies the limit to every route of `router` and makes it known to the body extractors.
    pub fn apply<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        router
            .layer(DefaultBodyLimit::max(self.bytes))
            .layer(axum::Extension(self))
    }

    fn too_large(&self) -> HttpError {
        let key = self.key.map(|k| format!(" ({k})")).unwrap_or_default();
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body is larger than the limit of {} bytes{key}",
                self.bytes
            ),
        )
    }
}

/// The whole body, within the router's [`BodyLimit`]: 413 over it, 400 when it cannot be read.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req.extensions().get::<BodyLimit>().copied();
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|r| match limit {
                Some(l) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => l.too_large(),
                _ if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, r.body_text())
                }
                _ => HttpError::bad_request(format!(
                    "cannot read the request body: {}",
                    r.body_text()
                )),
            })
    }
}

/// A JSON body decoded into `T`; a body that does not fit is 400 naming the field
/// (`Invalid request body: relays[0].gas_limit: ...`). No media type is required.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Body(bytes) = Body::from_request(req, state).await?;
        decode(&bytes).map(JsonBody)
    }
}

/// Decodes `bytes` into `T`, or 400 naming the field that did not fit.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            HttpError::bad_request(format!("Invalid request body: {}", e.inner()))
        } else {
            HttpError::bad_request(format!("Invalid request body: {path}: {}", e.inner()))
        }
    })
}

/// Parses a JSON document, or 400 naming line and column.
pub fn parse_json(bytes: &[u8]) -> Result<Value, HttpError> {
    serde_json::from_slice(bytes).map_err(|e| {
        HttpError::bad_request(format!(
            "malformed JSON at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// What a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Ndjson,
}

/// The body's media type, or 415 naming the header; `ndjson` says whether `application/x-ndjson` is
/// accepted here.
pub fn body_kind(headers: &HeaderMap, ndjson: bool) -> Result<BodyKind, HttpError> {
    let expected = if ndjson {
        "application/json or application/x-ndjson"
    } else {
        "application/json"
    };
    let unsupported = |what: &str| {
        HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("header `content-type`: {what}; expected {expected}"),
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("missing"));
    };
    let text = value.to_str().map_err(|_| unsupported("not valid text"))?;
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(BodyKind::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" if ndjson => {
            Ok(BodyKind::Ndjson)
        }
        _ => Err(unsupported(&format!("`{text}` is not supported"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Config = std::collections::HashMap<String, Vec<std::collections::HashMap<String, bool>>>;

    #[test]
    fn a_body_that_does_not_fit_names_the_field() {
        let err = decode::<Config>(br#"{"relays": [{"disabled": "no"}]}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message
                .starts_with("Invalid request body: relays[0].disabled: "),
            "{err}"
        );
        let err = parse_json(b"{\n  x").unwrap_err();
        assert!(err.message.contains("line 2 column 3"), "{err}");
    }

    #[test]
    fn media_types() {
        let mut h = HeaderMap::new();
        assert_eq!(
            body_kind(&h, false).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        h.insert(
            header::CONTENT_TYPE,
            "application/x-ndjson".parse().unwrap(),
        );
        assert_eq!(body_kind(&h, true).unwrap(), BodyKind::Ndjson);
        assert!(body_kind(&h, false).is_err());
        h.insert(
            header::CONTENT_TYPE,
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(body_kind(&h, false).unwrap(), BodyKind::Json);
    }
}
