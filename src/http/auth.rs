//! Bearer-token guards: `Authorization: Bearer <token>` (scheme in any case), checked by comparing SHA-256
//! digests in constant time, so neither the token's content nor its length leaks through timing.
//!
//! Every guard answers the same way: 401 with a JSON error when the header is missing, malformed or
//! wrong; 503 with a JSON error naming the config key when the route needs a token and none is
//! configured (never open by accident). A guard built with [`Bearer::open_unless`] lets everything
//! through while no token is configured.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::HttpError;
use crate::config::Secret;

/// A token kept only as its SHA-256 digest.
#[derive(Clone)]
pub struct Token([u8; 32]);

impl Token {
    pub fn new(secret: &Secret) -> Token {
        Token(Sha256::digest(secret.expose().as_bytes()).into())
    }

    /// Whether `presented` is this token (constant time over the digests).
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.0).into()
    }
}

/// The messages of a guard's 401 answers.
#[derive(Debug, Clone, Copy)]
pub struct Wording {
    /// No `authorization` header.
    pub missing: &'static str,
    /// A header that is not `Bearer <token>`.
    pub malformed: &'static str,
    /// A token that is not an accepted one.
    pub wrong: &'static str,
}

impl Default for Wording {
    fn default() -> Self {
        Wording {
            missing: "missing header `authorization` (expected `Bearer <token>`)",
            malformed: "header `authorization`: expected `Bearer <token>`",
            wrong: "header `authorization`: wrong token",
        }
    }
}

#[derive(Clone)]
enum Unset {
    /// No token configured: everything passes.
    Open,
    /// No token configured: 503 with this message (it names the config key).
    Closed(String),
}

#[derive(Clone)]
struct Inner {
    accepted: Vec<Token>,
    unset: Unset,
    wording: Wording,
}

/// A bearer-token guard, used as a route layer through [`require`]. Cheap to clone.
#[derive(Clone)]
pub struct Bearer(Arc<Inner>);

impl Bearer {
    fn build(token: Option<&Secret>, unset: Unset) -> Bearer {
        Bearer(Arc::new(Inner {
            accepted: token.map(Token::new).into_iter().collect(),
            unset,
            wording: Wording::default(),
        }))
    }

    /// Needs `token`; without one every request is answered 503 `disabled`, which should name the config
    /// key and env var that set it.
    pub fn closed_unless(token: Option<&Secret>, disabled: impl Into<String>) -> Bearer {
        Bearer::build(token, Unset::Closed(disabled.into()))
    }

    /// Needs `token` when one is configured; without one the routes are open.
    pub fn open_unless(token: Option<&Secret>) -> Bearer {
        Bearer::build(token, Unset::Open)
    }

    /// Also accepts `other` wherever this guard asks for a token.
    pub fn or(self, other: Option<&Secret>) -> Bearer {
        let mut inner = Arc::unwrap_or_clone(self.0);
        if !inner.accepted.is_empty() {
            inner.accepted.extend(other.map(Token::new));
        }
        Bearer(Arc::new(inner))
    }

    /// Answers 401 with these messages.
    pub fn wording(self, wording: Wording) -> Bearer {
        let mut inner = Arc::unwrap_or_clone(self.0);
        inner.wording = wording;
        Bearer(Arc::new(inner))
    }

    /// Whether the request's headers pass this guard.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), HttpError> {
        let inner = &*self.0;
        if inner.accepted.is_empty() {
            return match &inner.unset {
                Unset::Open => Ok(()),
                Unset::Closed(message) => Err(HttpError::unavailable(message.clone())),
            };
        }
        let w = inner.wording;
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| HttpError::unauthorized(w.missing))?;
        let text = value
            .to_str()
            .map_err(|_| HttpError::unauthorized(w.malformed))?;
        let presented = bearer(text).ok_or_else(|| HttpError::unauthorized(w.malformed))?;
        // every accepted token is compared, so the answer's timing does not say which one matched
        let matched = inner
            .accepted
            .iter()
            .fold(false, |ok, t| t.matches(presented) | ok);
        if matched {
            Ok(())
        } else {
            Err(HttpError::unauthorized(w.wrong))
        }
    }
}

/// The token of an `Authorization` value `Bearer <token>` (scheme in any case).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Middleware: the request passes `guard` or is answered with its error.
pub async fn require(
    State(guard): State<Bearer>,
    req: Request,
    next: Next,
) -> Result<Response, HttpError> {
    guard.check(req.headers())?;
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    fn status(guard: &Bearer, auth: Option<&str>) -> Option<StatusCode> {
        guard.check(&headers(auth)).err().map(|e| e.status)
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("BEARER abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn a_closed_guard_without_a_token_answers_503_naming_the_key() {
        let g = Bearer::closed_unless(None, "disabled: set [x] token_file");
        let err = g.check(&headers(Some("Bearer t"))).unwrap_err();
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(err.message.contains("[x] token_file"), "{err}");
    }

    #[test]
    fn missing_malformed_and_wrong_tokens_are_401_and_the_right_one_passes() {
        let secret = Secret::new("s3cret");
        let g = Bearer::closed_unless(Some(&secret), "off");
        assert_eq!(status(&g, None), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(
            status(&g, Some("Basic s3cret")),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(&g, Some("Bearer s3cre")),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(&g, Some("Bearer s3cretx")),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(status(&g, Some("Bearer s3cret")), None);
        assert_eq!(status(&g, Some("bearer s3cret")), None);
    }

    #[test]
    fn an_open_guard_passes_everything_until_a_token_is_set_and_or_adds_one() {
        assert_eq!(status(&Bearer::open_unless(None), None), None);
        let admin = Secret::new("admin");
        assert_eq!(
            status(&Bearer::open_unless(None).or(Some(&admin)), None),
            None,
            "a second token does not close an open guard"
        );
        let ingest = Secret::new("ingest");
        let g = Bearer::open_unless(Some(&ingest)).or(Some(&admin));
        assert_eq!(status(&g, Some("Bearer ingest")), None);
        assert_eq!(status(&g, Some("Bearer admin")), None);
        assert_eq!(
            status(&g, Some("Bearer other")),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
}
