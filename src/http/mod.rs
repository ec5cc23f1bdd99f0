//! The one HTTP layer every butler server builds on (the watcher API, the fee manager, the exporter):
//! the JSON error answer, bearer-token guards, body and query extractors, paging and the request timeout.
//!
//! Each rejection is an [`HttpError`]: a status and `{"error": "..."}` naming what was wrong (the header,
//! field, parameter or config key). Domain errors stay free of HTTP; each server maps its own errors
//! into an [`HttpError`] at its edge.

pub mod auth;
pub mod body;
pub mod error;
pub mod query;
pub mod routes;
pub mod timeout;

pub use auth::{Bearer, Token, Wording};
pub use body::{BodyKind, BodyLimit, JsonBody};
pub use error::{ErrorBody, HttpError};
pub use query::{PageBounds, Paging, Query};
pub use routes::Routes;
pub use timeout::RequestTimeout;
