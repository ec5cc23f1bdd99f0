//! Learned `eth_getLogs` range caps: a backfill through a proxy that refuses ranges over 100 blocks, in each
//! of the three error styles of the big hosted providers, indexes exactly the chain's events with a request
//! count near the minimum (1.2× where the error announces the cap, 1.5× where it does not), and a later run
//! after more blocks, starting from the caps kept in the checkpoint, sends no refused request at all.

use crate::chain_support::{Behaviour, CapStyle, Proxy};
use crate::support::Sandbox;
use crate::watcher_support::*;

/// The proxy's cap, in blocks.
const CAP: u64 = 100;

fn ops_source(emitter: &str) -> String {
    format!(
        "[[watcher.sources]]\nname = \"ops\"\npreset = \"entrypoint\"\naddress = \"{emitter}\"\nstart_block = 0\n"
    )
}

fn capped_backfill(style: CapStyle, bound: f64) {
    let Some(anvil) = Anvil::start() else { return };
    let emitter = deploy(&anvil.rpc, "TestEmitter", "");
    for _ in 0..5 {
        transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["4"]));
        anvil.mine(500);
    }
    let proxy = Proxy::start(
        &anvil.rpc,
        Behaviour {
            cap: Some((CAP, style)),
            lag: 0,
        },
    );
    let sb = Sandbox::new();
    let data = sb.path().join("data");
    let config = write_config(
        &sb,
        &proxy.url,
        &data,
        &format!(
            "max_block_range = 2000\nconfirmations = 0\n{}",
            ops_source(&emitter)
        ),
    );
    let done = butler_json(&sb, &config, &["index"]);
    assert_eq!(done["caughtUp"], true, "{done}");
    let head = anvil.head();
    assert_eq!(
        keys_of_records(&records(&data)),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter)),
        "{style:?}: every event exactly once"
    );
    let seen = proxy.take();
    let minimum = (head + 1).div_ceil(CAP);
    let ratio = seen.get_logs() as f64 / minimum as f64;
    println!(
        "{style:?}: {} eth_getLogs for {} blocks (minimum {minimum}, {ratio:.2}x), {} refused",
        seen.get_logs(),
        head + 1,
        seen.refused
    );
    assert!(
        ratio <= bound,
        "{style:?}: {} eth_getLogs requests, {ratio:.2}x the minimum {minimum} (bound {bound}x), {} refused",
        seen.get_logs(),
        seen.refused
    );
    let caps = &checkpoint(&data)["rangeCaps"];
    assert!(
        caps.get(format!("{}/", proxy.url)).is_some(),
        "the checkpoint keeps the cap per URL: {caps}"
    );

    for _ in 0..2 {
        transact(&anvil.rpc, &emitter, &calldata("emitMany(uint256)", &["3"]));
        anvil.mine(400);
    }
    let done = butler_json(&sb, &config, &["index"]);
    assert_eq!(done["caughtUp"], true, "{done}");
    let later = proxy.take();
    println!(
        "{style:?}: later run: {} eth_getLogs for {} new blocks, {} refused",
        later.get_logs(),
        anvil.head() - head,
        later.refused
    );
    assert_eq!(
        later.refused, 0,
        "{style:?}: the later run starts from the learned cap: {later:?}"
    );
    let minimum = (anvil.head() - head).div_ceil(CAP);
    assert!(
        later.get_logs() <= minimum + 4,
        "{style:?}: the later run sent {} eth_getLogs for a minimum of {minimum}",
        later.get_logs()
    );
    assert_eq!(
        keys_of_records(&records(&data)),
        keys_of_logs(&chain_logs(&anvil.rpc, &emitter)),
        "{style:?}: every event exactly once after the later run"
    );
}

#[test]
fn a_suggested_range_is_learned_at_once_and_never_refused_again() {
    capped_backfill(CapStyle::Suggest, 1.2);
}

#[test]
fn an_announced_range_limit_is_learned_at_once_and_never_refused_again() {
    capped_backfill(CapStyle::Limit, 1.2);
}

#[test]
fn an_unannounced_cap_is_searched_for_and_never_refused_again() {
    capped_backfill(CapStyle::Results, 1.5);
}
