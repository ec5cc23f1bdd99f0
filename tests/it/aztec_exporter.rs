//! The exporter's Aztec collector on the staking test's deployment: every `butler_aztec_` series carries the
//! value the contracts hold, each family is emitted with the catalog's help and labels (the catalog is what
//! docs/metrics.md documents), and the collector runs with a signer key file that does not exist (it never
//! reads it). Its alert rules are part of the monitoring kit (config/prometheus/alerts/aztec.yml, tested there).

use butler::exporter::catalog;

use crate::exporter::Serve;
use crate::support::aztec::AztecNet;

/// Scrapes an exporter configured with `[aztec]` and checks the Aztec series: `states` are the expected
/// attester counts, `missing_coinbase`, the provider queue and the publishers' top-ups come from the chain.
pub fn check_aztec_metrics(
    net: &AztecNet,
    keys: &std::path::Path,
    publishers: &[&str],
    states: &[(&str, f64)],
    missing_coinbase: f64,
) {
    let config = format!(
        "[chain]\nrpc_url = \"{}\"\n\n[aztec]\nnode_url = \"{}\"\nstaking_registry = \"{}\"\nprovider_id = 1\nkeys_file = \"{}\"\npublishers = [{}]\nsigner_key_file = \"/nonexistent/signer.key\"\n",
        net.devnet.rpc(),
        net.node_url,
        net.staking_registry,
        keys.display(),
        publishers
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let serve = Serve::start(&config);
    let (m, text, _) = serve.scrape();
    assert_eq!(m.must("butler_aztec_up", &[]), 1.0, "{}", serve.log());
    for (state, n) in states {
        assert_eq!(
            m.must("butler_aztec_attesters", &[("state", state)]),
            *n,
            "{state}:\n{text}"
        );
    }
    assert_eq!(
        m.must("butler_aztec_attesters_missing_coinbase", &[]),
        missing_coinbase
    );
    let rollup = net.rollup();
    assert_eq!(
        m.must("butler_aztec_entry_queue_length", &[]) as u128,
        net.call_uint(&rollup, "getEntryQueueLength()(uint256)", &[])
    );
    assert_eq!(
        m.must("butler_aztec_next_flushable_epoch", &[]) as u128,
        net.call_uint(&rollup, "getNextFlushableEpoch()(uint256)", &[])
    );
    assert_eq!(
        m.must("butler_aztec_provider_queue_length", &[]) as u128,
        net.call_uint(
            &net.staking_registry,
            "getProviderQueueLength(uint256)(uint256)",
            &["1"]
        )
    );
    let attesters: f64 = states.iter().map(|(_, n)| n).sum();
    let required = (attesters / publishers.len() as f64).ceil() * 1e17;
    for p in publishers {
        let label = p
            .parse::<alloy::primitives::Address>()
            .unwrap()
            .to_checksum(None);
        let balance: f64 = net.devnet.cast(&["balance", p]).parse().unwrap();
        assert_eq!(
            m.must(
                "butler_aztec_publisher_balance_wei",
                &[("publisher", &label)]
            ),
            balance
        );
        assert_eq!(
            m.must(
                "butler_aztec_publisher_required_topup_wei",
                &[("publisher", &label)]
            ),
            (required - balance).max(0.0)
        );
    }
    for def in catalog::ALL
        .iter()
        .filter(|d| d.name.starts_with("butler_aztec_"))
    {
        assert!(
            text.contains(&format!("# HELP {} {}\n", def.name, def.help)),
            "{} not emitted as documented",
            def.name
        );
        let sample = m.0.iter().find(|s| s.name == def.name).unwrap();
        let mut labels: Vec<&str> = sample.labels.keys().map(String::as_str).collect();
        labels.sort();
        assert_eq!(labels, def.labels, "labels of {}", def.name);
    }
}
