//! Request accounting of the chain client: `butler_rpc_requests_total{url,method,outcome}`,
//! `butler_rpc_request_duration_seconds{url,method}` and `butler_rpc_url_healthy{url}`, kept process-wide
//! (every client of the process counts into them) and registered on the exporter's and the watcher's
//! `/metrics`. The `url` label is always the redacted URL.

use std::sync::OnceLock;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};

use crate::exporter::catalog::{MetricDef, counter, gauge, histogram};

pub const RPC_REQUESTS: MetricDef = counter(
    "butler_rpc_requests_total",
    &["url", "method", "outcome"],
    "JSON-RPC attempts sent to each chain RPC URL, by method (batch for a mixed batch) and outcome: ok, rpc_error (an error answer such as a revert), range_refused, rate_limited, server_error, timeout, transport_error.",
);
pub const RPC_REQUEST_DURATION: MetricDef = histogram(
    "butler_rpc_request_duration_seconds",
    &["url", "method"],
    "Time of each JSON-RPC attempt to a chain RPC URL, by method, in seconds.",
);
pub const RPC_URL_HEALTHY: MetricDef = gauge(
    "butler_rpc_url_healthy",
    &["url"],
    "1 while the chain RPC URL answers (its last attempt did not fail with a transport error, timeout, 429 or 5xx, and it serves the configured chain), else 0 (benched, probed back).",
);

/// The three families, in documentation order.
pub const ALL: &[MetricDef] = &[RPC_REQUESTS, RPC_REQUEST_DURATION, RPC_URL_HEALTHY];

/// The process-wide series; clones share their values.
#[derive(Clone)]
pub struct RpcMetrics {
    pub requests: IntCounterVec,
    pub duration: HistogramVec,
    pub healthy: IntGaugeVec,
}

/// The series of this process.
pub fn rpc_metrics() -> &'static RpcMetrics {
    static METRICS: OnceLock<RpcMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let opts = |d: &MetricDef| Opts::new(d.name, d.help);
        RpcMetrics {
            requests: IntCounterVec::new(opts(&RPC_REQUESTS), RPC_REQUESTS.labels)
                .unwrap_or_else(|e| unreachable!("static metric definition: {e}")),
            duration: HistogramVec::new(
                HistogramOpts::new(RPC_REQUEST_DURATION.name, RPC_REQUEST_DURATION.help).buckets(
                    vec![
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ],
                ),
                RPC_REQUEST_DURATION.labels,
            )
            .unwrap_or_else(|e| unreachable!("static metric definition: {e}")),
            healthy: IntGaugeVec::new(opts(&RPC_URL_HEALTHY), RPC_URL_HEALTHY.labels)
                .unwrap_or_else(|e| unreachable!("static metric definition: {e}")),
        }
    })
}

impl Collector for RpcMetrics {
    fn desc(&self) -> Vec<&Desc> {
        let mut d = self.requests.desc();
        d.extend(self.duration.desc());
        d.extend(self.healthy.desc());
        d
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut f = self.requests.collect();
        f.extend(self.duration.collect());
        f.extend(self.healthy.collect());
        f
    }
}
