//! Sign-in and sign-out: `GET /ui/login` (the form), `POST /ui/login` (form field `token`, checked by the
//! admin routes' own bearer guard, so the comparison is theirs: SHA-256 digests in constant time) and
//! `POST /ui/logout`.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::Console;
use super::layout;
use super::session::{self, closed, cookie, set_cookie};

fn form_page(status: StatusCode, message: Option<&str>) -> Response {
    layout::bare(
        status,
        "Sign in",
        html! {
            @if let Some(m) = message { (layout::notice(false, m)) }
            form.login method="post" action="/ui/login" {
                label for="token" { "Admin token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button type="submit" { "Sign in" }
            }
            p.hint { "The token of " code { "[api] admin_token_file" } " (or " code { "BUTLER_API__ADMIN_TOKEN" } ")." }
        },
    )
}

/// `GET /ui/login`.
pub async fn form(State(console): State<Console>) -> Response {
    if let Some(answer) = closed(&console) {
        return answer;
    }
    form_page(StatusCode::OK, None)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct Login {
    pub token: String,
}

/// `POST /ui/login`: a session cookie and a redirect to the overview, or the form again with 401.
pub async fn login(
    State(console): State<Console>,
    headers: HeaderMap,
    form: Result<Form<Login>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Some(answer) = closed(&console) {
        return answer;
    }
    if session::foreign_origin(&headers) {
        return layout::error(StatusCode::FORBIDDEN, "request from another origin refused");
    }
    let Ok(Form(login)) = form else {
        return form_page(
            StatusCode::BAD_REQUEST,
            Some("the form needs the field `token`"),
        );
    };
    let mut presented = HeaderMap::new();
    let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", login.token.trim())) else {
        return form_page(StatusCode::UNAUTHORIZED, Some("wrong token"));
    };
    presented.insert(header::AUTHORIZATION, value);
    if console.api.admin_guard().check(&presented).is_err() {
        return form_page(StatusCode::UNAUTHORIZED, Some("wrong token"));
    }
    let id = console.sessions.create();
    let secure = console.api.settings().secure_cookies;
    (
        [(header::SET_COOKIE, set_cookie(Some(&id), secure))],
        Redirect::to("/"),
    )
        .into_response()
}

/// `POST /ui/logout`: ends the session and clears the cookie.
pub async fn logout(State(console): State<Console>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers) {
        console.sessions.remove(&id);
    }
    let secure = console.api.settings().secure_cookies;
    (
        [(header::SET_COOKIE, set_cookie(None, secure))],
        Redirect::to("/ui/login"),
    )
        .into_response()
}
