//! The page shell (navigation, sign-out, stylesheet and script links), error pages, confirmation steps
//! and small formatting helpers. Every value goes through maud's escaping; nothing here writes
//! unescaped text.

use alloy::primitives::U256;
use axum::extract::{FromRequestParts, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::de::DeserializeOwned;

use super::session::{CSRF_FIELD, Signed};
use crate::chain::units::format_ether_short;

/// A page's query string: one the page does not take answers the console's error page (400), naming
/// the parameter.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| PageQuery(q))
            .map_err(|e| error(StatusCode::BAD_REQUEST, &e.body_text()))
    }
}

/// The sections of the navigation: path and label.
const NAV: [(&str, &str); 6] = [
    ("/", "Overview"),
    ("/ui/userops", "User operations"),
    ("/ui/bundlers", "Bundlers"),
    ("/ui/paymasters", "Paymasters"),
    ("/ui/workflows", "Workflows"),
    ("/ui/logs", "Logs"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · butler" }
            link rel="stylesheet" href="/ui/assets/console.css";
            script src="/ui/assets/console.js" defer {}
        }
    }
}

/// A signed-in page: `active` is the path of its navigation entry.
pub fn page(title: &str, active: &str, signed: &Signed, content: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-csrf=(signed.csrf) {
                header.top {
                    span.brand { "butler" }
                    nav {
                        @for (path, label) in NAV {
                            a href=(path) class=[(path == active).then_some("active")] { (label) }
                        }
                    }
                    form.signout method="post" action="/ui/logout" {
                        (csrf(signed))
                        button type="submit" { "Sign out" }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    };
    Html(doc.into_string()).into_response()
}

/// A page without navigation (sign-in, errors).
pub fn bare(status: StatusCode, title: &str, content: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare { main { h1 { (title) } (content) } }
        }
    };
    (status, Html(doc.into_string())).into_response()
}

/// An error page with `status`.
pub fn error(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    bare(
        status,
        title,
        html! {
            p.error { (message) }
            p { a href="/" { "Back to the console" } }
        },
    )
}

/// The hidden CSRF field of a form.
pub fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(signed.csrf); }
}

/// A confirmation step: what will happen, and a form that posts `fields` (plus `confirm=yes`) to `action`.
pub fn confirm(
    signed: &Signed,
    title: &str,
    active: &str,
    what: Markup,
    action: &str,
    fields: &[(&str, String)],
) -> Response {
    page(
        title,
        active,
        signed,
        html! {
            div.confirm {
                (what)
                form method="post" action=(action) {
                    (csrf(signed))
                    @for (name, value) in fields {
                        input type="hidden" name=(name) value=(value);
                    }
                    input type="hidden" name="confirm" value="yes";
                    button.danger type="submit" { "Confirm" }
                    " "
                    a href=(active) { "Cancel" }
                }
            }
        },
    )
}

/// A message box (`ok` or `error`) above a page's content.
pub fn notice(ok: bool, text: &str) -> Markup {
    html! { p class=(if ok { "notice ok" } else { "notice error" }) { (text) } }
}

/// Wei as ETH for tables.
pub fn eth(wei: U256) -> String {
    format!("{} ETH", format_ether_short(wei, 6))
}

/// A decimal wei string as ETH (the text itself when it is not a number).
pub fn eth_str(wei: &str) -> String {
    U256::from_str_radix(wei, 10).map_or_else(|_| wei.to_string(), eth)
}

/// A hash or address shortened for a table cell (`0x1234…abcd`); the full value goes in `title`.
pub fn short(hex: &str) -> String {
    if hex.len() > 14 {
        format!("{}…{}", &hex[..8], &hex[hex.len() - 4..])
    } else {
        hex.to_string()
    }
}

/// Seconds as a short duration (`42 s`, `5 min`, `3.2 h`, `4.1 d`).
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "∞".to_string();
    }
    let s = secs.abs();
    let text = if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    };
    if secs < 0.0 { format!("-{text}") } else { text }
}

/// Unix seconds as UTC date and time.
pub fn time(ts: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(ts).unwrap_or(i64::MAX), 0).map_or_else(
        || ts.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A labelled figure for the overview's cards.
pub fn figure(label: &str, value: Markup) -> Markup {
    html! { div.figure { span.label { (label) } span.value { (value) } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_format_for_tables() {
        assert_eq!(short("0x1234567890abcdef1234"), "0x123456…1234");
        assert_eq!(short("0x12"), "0x12");
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(7200.0), "2.0 h");
        assert_eq!(duration(f64::INFINITY), "∞");
        assert_eq!(eth_str("1500000000000000000"), "1.5 ETH");
        assert_eq!(time(0), "1970-01-01 00:00:00");
    }

    #[test]
    fn markup_in_values_is_escaped() {
        let m = notice(false, "<img src=x onerror=alert(1)>").into_string();
        assert!(m.contains("&lt;img"), "{m}");
        assert!(!m.contains("<img"), "{m}");
    }
}
