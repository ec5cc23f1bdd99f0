//! Errors of the exporter: why one target of a scrape failed, or why a scrape could not be rendered.

use crate::chain::ChainError;

/// A failed target or scrape.
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    #[error("{target}: no answer within {secs} s")]
    Timeout { target: String, secs: f64 },
    #[error("{0}")]
    Chain(#[from] ChainError),
    #[error("{target}: {message}")]
    Invalid { target: String, message: String },
    #[error("rendering the metrics failed: {0}")]
    Render(#[from] prometheus::Error),
}
