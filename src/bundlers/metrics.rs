//! The supervisor's series on the watcher's `GET /metrics`: `butler_bundler_up{bundler}`,
//! `butler_bundler_restarts_total{bundler}` and `butler_bundler_uptime_seconds{bundler}`, one of each per
//! supervised instance (label value = instance id), read from the supervisor at every scrape. Their
//! definitions ([`ALL`]) are part of the watcher's catalog ([`crate::api::prom::catalog`]).

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts};

use super::Supervisor;
use super::registry::Status;
use crate::exporter::catalog::{MetricDef, counter, gauge};

const BUNDLER: &[&str] = &["bundler"];

pub const UP: MetricDef = gauge(
    "butler_bundler_up",
    BUNDLER,
    "1 when the supervised bundler answers its health probe, else 0.",
);
pub const RESTARTS: MetricDef = counter(
    "butler_bundler_restarts_total",
    BUNDLER,
    "Restarts of the supervised bundler after exits that were not asked for.",
);
pub const UPTIME: MetricDef = gauge(
    "butler_bundler_uptime_seconds",
    BUNDLER,
    "Seconds since the supervised bundler's current process became ready (0 when not running).",
);

/// The supervisor's families, in documentation order.
pub const ALL: [MetricDef; 3] = [UP, RESTARTS, UPTIME];

/// A [`Collector`] over the supervisor's instances.
pub struct BundlerCollector {
    supervisor: Supervisor,
    descs: Vec<Desc>,
}

impl BundlerCollector {
    pub fn new(supervisor: Supervisor) -> BundlerCollector {
        let descs = vecs()
            .map(|(up, restarts, uptime)| {
                up.desc()
                    .into_iter()
                    .chain(restarts.desc())
                    .chain(uptime.desc())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        BundlerCollector { supervisor, descs }
    }
}

fn opts(def: &MetricDef) -> Opts {
    Opts::new(def.name, def.help)
}

fn vecs() -> prometheus::Result<(IntGaugeVec, IntCounterVec, GaugeVec)> {
    Ok((
        IntGaugeVec::new(opts(&UP), UP.labels)?,
        IntCounterVec::new(opts(&RESTARTS), RESTARTS.labels)?,
        GaugeVec::new(opts(&UPTIME), UPTIME.labels)?,
    ))
}

impl Collector for BundlerCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Ok((up, restarts, uptime)) = vecs() else {
            return Vec::new();
        };
        for (record, secs) in self.supervisor.uptimes() {
            let label = [record.id.as_str()];
            up.with_label_values(&label)
                .set(i64::from(record.status == Status::Up));
            restarts.with_label_values(&label).inc_by(record.restarts);
            uptime.with_label_values(&label).set(secs);
        }
        let mut out = up.collect();
        out.extend(restarts.collect());
        out.extend(uptime.collect());
        out
    }
}
