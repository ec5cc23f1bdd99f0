//! `butler serve --prometheus`: a Prometheus exporter for the chain, the configured paymasters and bundlers,
//! and butler itself.
//!
//! Values are collected when Prometheus scrapes (no background polling): every target runs in parallel within
//! a per-target timeout, and a target that fails yields its `*_up 0` while its other series are left out of
//! that scrape. Each scrape fills a fresh registry, so no stale series survive. The metric list is
//! [`catalog`]; `docs/metrics.md` documents it.

mod aztec;
pub mod bundler;
pub mod catalog;
mod chain;
mod error;
mod http;
pub mod paymaster;
mod render;
pub mod rpc_probe;
mod scrape;
mod settings;
mod topup;

use std::sync::Arc;

pub use aztec::AztecTarget;
pub use error::ExporterError;
pub use http::{CONTENT_TYPE, metrics_answer};
pub use render::{COMMIT, VERSION, encode};
pub use settings::{BundlerTarget, ExporterSettings, PaymasterTarget};

use http::Exporter;
use scrape::{Collectors, Scrape};

use crate::serve::{Listener, Mode};

/// Empty JSON-RPC params: `[]` (some servers, alto among them, refuse `null`).
const NO_PARAMS: [(); 0] = [];

/// The `exporter` serve mode: `/metrics` and `/healthz` on the configured address, no background tasks.
pub fn mode(settings: ExporterSettings) -> Mode {
    let listen = settings.listen;
    let exporter = Arc::new(Exporter::new(Collectors::new(settings)));
    Mode::new("exporter").listener(Listener::new(listen, http::router(exporter)))
}
