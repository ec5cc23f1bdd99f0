//! Sign-in sessions: a random id (256 bits from the OS-seeded CSPRNG) in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` when `[api] url` is `https://`), kept server-side with its CSRF token and expiry; the
//! admin token itself never leaves the sign-in request.
//!
//! [`require`] guards every console route but sign-in and the assets: without a valid session a `GET`
//! is redirected to `/ui/login` (the log and status streams answer 401) and anything else answers 401;
//! a state-changing request must carry the session's CSRF token (form field `csrf_token` or header
//! `X-CSRF-Token`) and, when the browser sends one, an `Origin` of this host, or it is refused with 403.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use super::Console;
use super::layout;

/// The session cookie's name.
pub const COOKIE: &str = "butler_console";

/// How long a session lasts after sign-in.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// The form field and the header that carry the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in session, as handlers see it (request extension).
#[derive(Debug, Clone)]
pub struct Signed {
    pub csrf: String,
}

struct Entry {
    csrf: String,
    expires: Instant,
}

/// The sessions of this process (signing in again after a restart is expected).
#[derive(Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Entry>>>);

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session; returns its id (for the cookie). Expired sessions are dropped on the way.
    pub fn create(&self) -> String {
        let id = random_hex();
        let now = Instant::now();
        let mut all = self.lock();
        all.retain(|_, e| e.expires > now);
        all.insert(
            id.clone(),
            Entry {
                csrf: random_hex(),
                expires: now + LIFETIME,
            },
        );
        id
    }

    /// The live session with this id.
    pub fn get(&self, id: &str) -> Option<Signed> {
        let all = self.lock();
        let e = all.get(id)?;
        (e.expires > Instant::now()).then(|| Signed {
            csrf: e.csrf.clone(),
        })
    }

    /// Ends the session with this id.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The session id the request's cookies carry.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The `Set-Cookie` value of a session (`id`), or of its removal (`None`).
pub fn set_cookie(id: Option<&str>, secure: bool) -> HeaderValue {
    let (value, age) = match id {
        Some(id) => (id, LIFETIME.as_secs()),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether `presented` is `expected` (constant time).
pub fn same_token(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// 503 naming the key while no admin token is configured (the admin API's answer), else `None`.
pub fn closed(console: &Console) -> Option<Response> {
    if console.api.settings().admin_token.is_some() {
        return None;
    }
    console
        .api
        .admin_guard()
        .check(&HeaderMap::new())
        .err()
        .map(IntoResponse::into_response)
}

/// Whether a browser-sent `Origin` names another site than the request's `Host`.
pub fn foreign_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    origin_host.is_none() || origin_host != host
}

fn safe(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Middleware of the signed-in routes (see the module doc).
pub async fn require(State(console): State<Console>, req: Request, next: Next) -> Response {
    if let Some(answer) = closed(&console) {
        return answer;
    }
    let Some(signed) = cookie(req.headers()).and_then(|id| console.sessions.get(&id)) else {
        let stream = req.uri().path().ends_with("/stream");
        if safe(req.method()) && !stream {
            return Redirect::to("/ui/login").into_response();
        }
        return layout::error(
            StatusCode::UNAUTHORIZED,
            "sign in first: no console session",
        );
    };
    let mut req = req;
    if !safe(req.method()) {
        if foreign_origin(req.headers()) {
            return layout::error(StatusCode::FORBIDDEN, "request from another origin refused");
        }
        let (parts, body) = req.into_parts();
        let limit = console.api.settings().body_limit_bytes;
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return layout::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is larger than [api] body_limit_bytes",
            );
        };
        let from_header = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let presented = from_header.or_else(|| {
            url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned())
        });
        if !presented.is_some_and(|p| same_token(&p, &signed.csrf)) {
            return layout::error(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token (form field `csrf_token` or header `X-CSRF-Token`)",
            );
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(signed);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_expire_and_end_on_removal() {
        let s = Sessions::default();
        let a = s.create();
        let b = s.create();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        let signed = s.get(&a).expect("live session");
        assert_ne!(signed.csrf, s.get(&b).unwrap().csrf);
        s.remove(&a);
        assert!(s.get(&a).is_none());
        s.lock().get_mut(&b).unwrap().expires = Instant::now();
        assert!(s.get(&b).is_none(), "an expired session is refused");
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_when_asked() {
        let c = set_cookie(Some("abc"), true);
        let text = c.to_str().unwrap();
        for part in [
            "butler_console=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
        ] {
            assert!(text.contains(part), "{text}");
        }
        assert!(
            !set_cookie(Some("abc"), false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        assert!(
            set_cookie(None, false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; butler_console=xyz; b=2"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("xyz"));
    }

    #[test]
    fn an_origin_of_another_host_is_foreign() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!foreign_origin(&h), "no Origin header: not foreign");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(!foreign_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(foreign_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(foreign_origin(&h));
    }
}
