//! The watcher's own `GET /metrics` on the API listener: gathers the [`prometheus::Registry`] of the API
//! state, on which subsystems register their collectors at start-up (the bundler supervisor's series).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder as _, TextEncoder};

use super::error::ApiError;
use super::state::ApiState;

/// `GET /metrics` in the Prometheus text format.
pub async fn metrics(State(state): State<ApiState>) -> Response {
    let families = state.registry().gather();
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    if let Err(e) = encoder.encode(&families, &mut body) {
        return ApiError::unavailable(format!("metrics could not be encoded: {e}")).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
