//! The operator console: server-rendered pages (maud) on the watcher's API listener, `GET /` and `/ui/...`,
//! on when `[api] console = true` (the default).
//!
//! Every page calls the same functions as the JSON API behind it (userops, bundlers, paymasters, logs,
//! workflows, health); charts are SVG drawn on the server; the only script is the project's own
//! `console.js` (served from the binary), used by the live parts (the log tail and the status figures),
//! so every page works without JavaScript except those. Access needs the admin token once, at sign-in:
//! after that a random server-side session ([`session`]) and a CSRF token on every state-changing request.
//! Every answer carries a strict `Content-Security-Policy` ([`headers`]).

pub mod assets;
pub mod auth;
pub mod bundlers;
pub mod chart;
pub mod headers;
pub mod layout;
pub mod logs;
pub mod overview;
pub mod paymasters;
pub mod session;
pub mod userops;
pub mod workflows;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};

use crate::api::ApiState;
use crate::http::Routes;
use session::Sessions;

/// The console's state: the API's state and the sign-in sessions.
#[derive(Clone)]
pub struct Console {
    pub api: ApiState,
    pub sessions: Sessions,
}

/// The console's routes, ready to merge into the API's router, and the paths they answer.
pub fn router(api: ApiState) -> (Router<ApiState>, Vec<String>) {
    let console = Console {
        api,
        sessions: Sessions::default(),
    };
    let signed_in = Routes::new()
        .route("/", get(overview::page))
        .route("/ui/status/stream", get(overview::stream))
        .route("/ui/userops", get(userops::page))
        .route("/ui/senders/{address}", get(userops::sender))
        .route("/ui/bundlers", get(bundlers::page))
        .route("/ui/bundlers/spawn", post(bundlers::spawn))
        .route("/ui/bundlers/{id}", get(bundlers::detail))
        .route("/ui/bundlers/{id}/{action}", post(bundlers::act))
        .route("/ui/paymasters", get(paymasters::page))
        .route("/ui/paymasters/action", post(paymasters::action))
        .route("/ui/workflows", get(workflows::list))
        .route("/ui/workflows/{id}", get(workflows::detail))
        .route("/ui/logs", get(logs::page))
        .route("/ui/logs/stream", get(logs::stream))
        .route("/ui/logout", post(auth::logout))
        .map(|r| r.route_layer(from_fn_with_state(console.clone(), session::require)));
    let open = Routes::new()
        .route("/ui/login", get(auth::form).post(auth::login))
        .route("/ui/assets/{file}", get(assets::serve));
    let (router, paths) = open
        .merge(signed_in)
        .map(|r| r.layer(from_fn(headers::secure)))
        .into_parts();
    (router.with_state(console), paths)
}
