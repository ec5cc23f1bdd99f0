//! The request timeout: a request (body included) whose response has not started within the limit is
//! answered 408 with a JSON error, and its work is dropped.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::HttpError;

/// How long a request may take, and the config key that sets it (named in the 408 answer).
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout {
    pub limit: Duration,
    pub key: Option<&'static str>,
}

impl RequestTimeout {
    /// The 408 answer.
    pub fn error(&self) -> HttpError {
        let key = self.key.map(|k| format!(" ({k})")).unwrap_or_default();
        HttpError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than {} s{key}",
                self.limit.as_secs_f64()
            ),
        )
    }

    /// Applies the timeout to every route of `router`.
    pub fn apply<S: Clone + Send + Sync + 'static>(
        self,
        router: axum::Router<S>,
    ) -> axum::Router<S> {
        router.layer(axum::middleware::from_fn_with_state(self, enforce))
    }
}

/// Middleware: answers 408 when the response has not started within the limit.
pub async fn enforce(State(t): State<RequestTimeout>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(t.limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => t.error().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_slow_request_is_answered_408_in_json() {
        let t = RequestTimeout {
            limit: Duration::from_millis(20),
            key: None,
        };
        let router = t.apply(axum::Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        ));
        let req = Request::builder()
            .uri("/slow")
            .body(axum::body::Body::empty())
            .unwrap();
        let resp = router.oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body,
            "{\"error\":\"the request took longer than 0.02 s\"}".as_bytes()
        );
        let fees = RequestTimeout {
            limit: Duration::from_secs(30),
            key: None,
        };
        assert_eq!(fees.error().message, "the request took longer than 30 s");
    }
}
