//! The API's error answer: the shared [`crate::http::HttpError`] (a status and `{"error": "..."}`) under
//! the name the handlers use.

pub use crate::http::error::{ErrorBody, HttpError as ApiError, no_route, wrong_method};
