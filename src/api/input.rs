//! Reading untrusted input in the API's handlers: the shared body and query helpers of [`crate::http`]
//! (415 for a media type, 413 over `[api] body_limit_bytes`, 400 for malformed JSON or query strings,
//! 422 for out-of-range parameters, each naming the header, line or parameter).

pub use crate::http::body::{Body, BodyKind, body_kind, parse_json};
pub use crate::http::query::{Query, bool_param, int_param, secs_param};
