//! `[[exporter.probes]]` against the shared devnet: a probe of anvil's `eth_blockNumber` shows the chain's
//! head; a probe with a path into an object result, a failing probe and a probe whose URL comes from
//! `url_file` (never shown in the output) behave as documented.

use serde_json::json;

use crate::exporter::{Serve, devnet_config, quantity};

#[test]
fn a_probe_of_eth_block_number_equals_the_head() {
    let Some(dn) = crate::support::devnet::shared() else {
        return;
    };
    // the same node under another spelling, so the output can be searched for it
    let secret_url = format!("{}/", dn.rpc().replace("127.0.0.1", "localhost"));
    let url_file = dn.key_file("probe-url", &secret_url);
    let dead_file = dn.key_file("dead-url", "http://localhost:1/v1/secret-key-123");
    let extra = format!(
        "\n[[exporter.probes]]\nname = \"latest-number\"\nurl_file = \"{file}\"\nmethod = \"eth_getBlockByNumber\"\n\
params = [\"latest\", false]\npath = \"number\"\n\n[[exporter.probes]]\nname = \"broken\"\nurl = \"{rpc}\"\n\
method = \"no_suchMethod\"\n\n[[exporter.probes]]\nname = \"not-a-number\"\nurl = \"{rpc}\"\n\
method = \"eth_getBlockByNumber\"\nparams = [\"latest\", false]\npath = \"transactions\"\n\n[[exporter.probes]]\nname = \"dead\"\n\
url_file = \"{dead}\"\nmethod = \"eth_blockNumber\"\n",
        file = url_file.display(),
        dead = dead_file.display(),
        rpc = dn.rpc(),
    );
    let serve = Serve::start(&format!("{}{extra}", devnet_config(dn, "")));
    let before = quantity(&dn.rpc_call("eth_blockNumber", json!([]))) as f64;
    let (m, text, _) = serve.scrape();
    let after = quantity(&dn.rpc_call("eth_blockNumber", json!([]))) as f64;
    for probe in ["anvil-head", "latest-number"] {
        assert_eq!(
            m.must("butler_probe_up", &[("probe", probe)]),
            1.0,
            "{text}"
        );
        let v = m.must("butler_probe_value", &[("probe", probe)]);
        assert!(
            v >= before && v <= after,
            "probe {probe} says {v}, the head was {before}..{after}"
        );
    }
    for probe in ["broken", "not-a-number", "dead"] {
        assert_eq!(
            m.must("butler_probe_up", &[("probe", probe)]),
            0.0,
            "{text}"
        );
        assert!(m.get("butler_probe_value", &[("probe", probe)]).is_none());
    }
    let log = serve.log();
    assert!(
        log.contains("probe failed") && log.contains("broken"),
        "failures are logged: {log}"
    );
    assert!(
        log.contains("<url_file>"),
        "a failing url_file probe says <url_file>: {log}"
    );
    for shown in [&text, &log] {
        assert!(
            !shown.contains("secret-key-123") && !shown.contains("localhost:"),
            "a URL from url_file is never shown: {shown}"
        );
    }
}
