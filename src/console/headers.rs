//! The headers of every console answer: a strict `Content-Security-Policy` (scripts, styles and
//! connections only from this origin, nothing inline, no frames, forms post only here),
//! `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: same-origin` (so a
//! browser sends the real `Origin` on the console's own form posts, which [`super::session`] checks),
//! and `Cache-Control: no-store` on pages (assets may be cached).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The console's `Content-Security-Policy`.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Middleware: adds the security headers to every answer.
pub async fn secure(req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/ui/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    if !asset {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}
