//! The console's stylesheet and script, compiled into the binary (`include_str!`): no build step, no
//! third-party code.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `console.css`.
pub const CSS: &str = include_str!("assets/console.css");
/// `console.js`: the live parts (log tail, status figures), written against the DOM with `textContent`
/// only, so nothing it shows is parsed as markup.
pub const JS: &str = include_str!("assets/console.js");

/// `GET /ui/assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return super::layout::error(StatusCode::NOT_FOUND, "no such asset"),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}
