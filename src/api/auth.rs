//! Bearer-token checks: constant-time comparison of digests (so neither content nor length leaks through
//! timing), the admin token for `/api/admin/*` and log reads, the optional ingest token for ingest and
//! telemetry (the admin token is accepted there too).

use alloy::primitives::keccak256;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::state::ApiState;
use crate::config::Secret;

/// A token kept only as its digest.
#[derive(Clone)]
pub struct Token([u8; 32]);

impl Token {
    pub fn new(secret: &Secret) -> Token {
        Token(keccak256(secret.expose().as_bytes()).0)
    }

    fn matches(&self, presented: &str) -> bool {
        keccak256(presented.as_bytes()).0.ct_eq(&self.0).into()
    }
}

fn bearer(req: &Request) -> Result<&str, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("missing header `authorization` (expected `Bearer <token>`)")
    })?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("header `authorization` is not valid text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(ApiError::unauthorized(
            "header `authorization`: expected `Bearer <token>`",
        )),
    }
}

/// Whether `req` carries `token` as its bearer token (the metrics token of `GET /metrics`).
pub fn check(token: &Token, req: &Request) -> Result<(), ApiError> {
    if token.matches(bearer(req)?) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "header `authorization`: wrong token",
        ))
    }
}

/// Middleware: the admin token is required.
pub async fn require_admin(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(admin) = state.admin_token() else {
        return Err(ApiError::unauthorized(
            "admin endpoints are disabled: no admin token is configured ([api] admin_token_file or BUTLER_API__ADMIN_TOKEN)",
        ));
    };
    if !admin.matches(bearer(&req)?) {
        return Err(ApiError::unauthorized(
            "header `authorization`: wrong token",
        ));
    }
    Ok(next.run(req).await)
}

/// Middleware: when an ingest token is configured, it (or the admin token) is required.
pub async fn require_ingest(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(ingest) = state.ingest_token() {
        let presented = bearer(&req)?;
        let admin_ok = state.admin_token().is_some_and(|a| a.matches(presented));
        if !(ingest.matches(presented) || admin_ok) {
            return Err(ApiError::unauthorized(
                "header `authorization`: wrong token",
            ));
        }
    }
    Ok(next.run(req).await)
}
