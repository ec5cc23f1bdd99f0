//! Turns a [`Scrape`] into the text exposition format through a fresh registry: the families of
//! [`catalog`](super::catalog), the self metrics and the standard process metrics.

use std::collections::HashMap;

use alloy::primitives::U256;
use prometheus::{CounterVec, Encoder, GaugeVec, Opts, Registry, TextEncoder};

use super::catalog::{self, MetricDef};
use super::{ExporterError, ExporterSettings, Scrape};

/// The running butler's version and source commit (`git rev-parse` at build time, or `unknown`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("BUTLER_BUILD_COMMIT");

/// A registry being filled: one gauge vector per family, created when its first sample is set.
struct Families {
    registry: Registry,
    vecs: HashMap<&'static str, GaugeVec>,
    counters: HashMap<&'static str, CounterVec>,
}

impl Families {
    fn new() -> Self {
        Self {
            registry: Registry::new(),
            vecs: HashMap::new(),
            counters: HashMap::new(),
        }
    }

    fn set(&mut self, def: &MetricDef, labels: &[&str], value: f64) -> Result<(), ExporterError> {
        if def.kind == catalog::Kind::Counter {
            return self.count(def, labels, value);
        }
        let vec = match self.vecs.get(def.name) {
            Some(v) => v,
            None => {
                let v = GaugeVec::new(Opts::new(def.name, def.help), def.labels)?;
                self.registry.register(Box::new(v.clone()))?;
                self.vecs.entry(def.name).or_insert(v)
            }
        };
        vec.get_metric_with_label_values(labels)?.set(value);
        Ok(())
    }
}

impl Families {
    /// A counter's value, read from a source that holds the total (each scrape's registry is fresh).
    fn count(&mut self, def: &MetricDef, labels: &[&str], total: f64) -> Result<(), ExporterError> {
        let vec = match self.counters.get(def.name) {
            Some(v) => v,
            None => {
                let v = CounterVec::new(Opts::new(def.name, def.help), def.labels)?;
                self.registry.register(Box::new(v.clone()))?;
                self.counters.entry(def.name).or_insert(v)
            }
        };
        vec.get_metric_with_label_values(labels)?.inc_by(total);
        Ok(())
    }
}

fn wei(v: U256) -> f64 {
    f64::from(v)
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Renders a scrape as text.
pub fn render(settings: &ExporterSettings, scrape: &Scrape) -> Result<String, ExporterError> {
    use catalog::*;
    let mut f = Families::new();

    f.set(&CHAIN_UP, &[], flag(scrape.chain.is_ok()))?;
    if let Ok(c) = &scrape.chain {
        f.set(&CHAIN_ID, &[], c.chain_id as f64)?;
        f.set(&CHAIN_HEAD_BLOCK, &[], c.head_block as f64)?;
        f.set(&CHAIN_HEAD_BLOCK_TIMESTAMP, &[], c.head_timestamp as f64)?;
        f.set(&CHAIN_GAS_PRICE, &[], c.gas_price_wei as f64)?;
        if let Some(b) = c.base_fee_wei {
            f.set(&CHAIN_BASE_FEE, &[], b as f64)?;
        }
        f.set(&CHAIN_SYNCING, &[], flag(c.syncing))?;
        if let Some(p) = c.peers {
            f.set(&CHAIN_PEERS, &[], p as f64)?;
        }
        f.set(&CHAIN_RPC_LATENCY, &[], c.rpc_latency_secs)?;
    }

    for (t, r) in settings.paymasters.iter().zip(&scrape.paymasters) {
        let (address, entrypoint) = (t.address.to_string(), t.entrypoint.to_string());
        let l = [t.name.as_str(), address.as_str(), entrypoint.as_str()];
        f.set(&PAYMASTER_UP, &l, flag(r.is_ok()))?;
        if let Some(min) = t.min_deposit_wei {
            f.set(&PAYMASTER_MIN_DEPOSIT, &l, wei(min))?;
        }
        let Ok(p) = r else { continue };
        let s = &p.status;
        f.set(&PAYMASTER_DEPOSIT, &l, wei(s.deposit_wei))?;
        f.set(&PAYMASTER_BALANCE, &l, wei(s.balance_wei))?;
        f.set(&PAYMASTER_STAKE, &l, wei(s.stake_wei))?;
        f.set(&PAYMASTER_STAKED, &l, flag(s.staked))?;
        f.set(
            &PAYMASTER_UNSTAKE_DELAY,
            &l,
            f64::from(s.unstake_delay_secs),
        )?;
        f.set(&PAYMASTER_WITHDRAW_TIME, &l, s.withdraw_time as f64)?;
        f.set(&PAYMASTER_SPONSORED_USEROPS, &l, p.spend.userops as f64)?;
        f.set(&PAYMASTER_SPEND, &l, wei(p.spend.wei))?;
        f.set(&PAYMASTER_RUNWAY, &l, p.runway_secs())?;
    }

    for (t, r) in settings.bundlers.iter().zip(&scrape.bundlers) {
        let name = t.name.as_str();
        f.set(&BUNDLER_UP, &[name], flag(r.is_ok()))?;
        let Ok(b) = r else { continue };
        f.set(&BUNDLER_RPC_LATENCY, &[name], b.rpc_latency_secs)?;
        f.set(
            &BUNDLER_SUPPORTED_ENTRYPOINTS,
            &[name],
            b.supported.len() as f64,
        )?;
        for ep in &settings.bundler_entrypoints {
            let supported = b.supported.contains(ep);
            f.set(
                &BUNDLER_ENTRYPOINT_SUPPORTED,
                &[name, ep.to_string().as_str()],
                flag(supported),
            )?;
        }
        if let Some(n) = b.mempool_userops {
            f.set(&BUNDLER_MEMPOOL_USEROPS, &[name], n as f64)?;
        }
        for (address, balance) in &b.executor_balances {
            f.set(
                &BUNDLER_EXECUTOR_BALANCE,
                &[name, address.to_string().as_str()],
                wei(*balance),
            )?;
        }
    }

    for (p, r) in settings.probes.iter().zip(&scrape.probes) {
        let name = p.name.as_str();
        f.set(&PROBE_UP, &[name], flag(r.is_ok()))?;
        if let Ok(v) = r {
            f.set(&PROBE_VALUE, &[name], *v)?;
        }
    }

    if let Some(r) = &scrape.aztec {
        f.set(&AZTEC_UP, &[], flag(r.is_ok()))?;
        if let Ok(a) = r {
            for p in &a.publishers {
                let publisher = p.publisher.to_string();
                f.set(&AZTEC_PUBLISHER_BALANCE, &[&publisher], wei(p.balance_wei))?;
                f.set(
                    &AZTEC_PUBLISHER_REQUIRED_TOPUP,
                    &[&publisher],
                    wei(p.required_topup_wei),
                )?;
            }
            for (state, n) in &a.states {
                f.set(&AZTEC_ATTESTERS, &[state], *n as f64)?;
            }
            f.set(
                &AZTEC_ATTESTERS_MISSING_COINBASE,
                &[],
                a.missing_coinbase as f64,
            )?;
            if let Some(n) = a.provider_queue_length {
                f.set(&AZTEC_PROVIDER_QUEUE_LENGTH, &[], n as f64)?;
            }
            f.set(&AZTEC_ENTRY_QUEUE_LENGTH, &[], a.entry_queue_length as f64)?;
            f.set(
                &AZTEC_NEXT_FLUSHABLE_EPOCH,
                &[],
                a.next_flushable_epoch as f64,
            )?;
        }
    }

    f.set(&BUILD_INFO, &[VERSION, COMMIT], 1.0)?;
    let successes = [
        ("chain", Some(scrape.chain.is_ok())),
        (
            "paymaster",
            Some(scrape.paymasters.iter().all(Result::is_ok)),
        ),
        ("bundler", Some(scrape.bundlers.iter().all(Result::is_ok))),
        ("aztec", scrape.aztec.as_ref().map(Result::is_ok)),
    ];
    for ((collector, secs), (_, ok)) in scrape.durations.iter().zip(successes) {
        let Some(ok) = ok else { continue };
        f.set(&SCRAPE_DURATION, &[collector], *secs)?;
        f.set(&SCRAPE_SUCCESS, &[collector], flag(ok))?;
    }

    for (name, t) in &scrape.topup {
        f.set(&TOPUP_LAST_RUN, &[name], t.last_run as f64)?;
        f.set(&TOPUP_FAILURES, &[name], t.failures as f64)?;
        f.set(&TOPUP_LAST_FAILED, &[name], flag(t.last_failed))?;
    }

    f.registry
        .register(Box::new(crate::chain::metrics::rpc_metrics().clone()))?;
    #[cfg(target_os = "linux")]
    f.registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;

    Ok(encode(&f.registry)?)
}

/// The text exposition of everything `registry` gathers (infinities spelled `+Inf`/`-Inf`); the
/// watcher's `/metrics` encodes its registry with it too.
pub fn encode(registry: &Registry) -> Result<String, prometheus::Error> {
    let mut buf = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    Ok(spell_infinities(&text))
}

/// The text encoder writes infinite values as Rust prints them (`inf`); the exposition format spells them
/// `+Inf` and `-Inf`. Values are the last field of a sample line (no timestamps are written).
fn spell_infinities(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let fixed = if line.starts_with('#') {
            None
        } else if let Some(head) = body.strip_suffix(" -inf") {
            Some((head, " -Inf"))
        } else {
            body.strip_suffix(" inf").map(|head| (head, " +Inf"))
        };
        match fixed {
            Some((head, value)) => {
                out.push_str(head);
                out.push_str(value);
                out.push('\n');
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinities_use_the_exposition_spelling() {
        let text = "# HELP a x inf\n# TYPE a gauge\na{n=\"inf\"} inf\nb -inf\nc 1\n";
        assert_eq!(
            spell_infinities(text),
            "# HELP a x inf\n# TYPE a gauge\na{n=\"inf\"} +Inf\nb -Inf\nc 1\n"
        );
    }
}
