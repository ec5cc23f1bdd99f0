//! Event sources: `[[watcher.sources]]` turned into contracts and parsed event signatures.
//!
//! A source names its addresses (none: any contract), its first block and its events, given as
//! human-readable Solidity signatures parsed with alloy's dynamic ABI. The presets `entrypoint`,
//! `paymaster`, `workflow` and `aztec` supply default signatures; `signatures = { Name = "event Name(...)" }`
//! replaces one of them and `events = [...]` adds more.

use std::collections::{BTreeMap, HashMap};

use alloy::json_abi::Event;
use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, WatcherConfig, WatcherSource};

/// The EntryPoint events (identical in v0.6, v0.7 and v0.8).
pub const ENTRYPOINT_EVENTS: &[&str] = &[
    "event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed)",
    "event AccountDeployed(bytes32 indexed userOpHash, address indexed sender, address factory, address paymaster)",
    "event Deposited(address indexed account, uint256 totalDeposit)",
    "event Withdrawn(address indexed account, address withdrawAddress, uint256 amount)",
    "event UserOperationRevertReason(bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason)",
];

/// The paymaster event of the seeds (mode 0 opSucceeded, 1 opReverted, 2 postOpReverted).
pub const PAYMASTER_EVENTS: &[&str] = &[
    "event PostOpHandled(bytes32 indexed userOpHash, address indexed sender, address indexed token, uint256 actualGasCost, uint256 feeAmount, uint8 mode)",
];

/// The workflow (x402-style) contract events.
pub const WORKFLOW_EVENTS: &[&str] = &[
    "event WorkflowStarted(bytes32 indexed workflowId, address indexed initiator)",
    "event DecisionRecorded(bytes32 indexed workflowId, bool approved, string reason)",
    "event SettlementRecorded(bytes32 indexed workflowId, address indexed from, address indexed to, uint256 amount)",
    "event WorkflowCompleted(bytes32 indexed workflowId)",
    "event WorkflowFailed(bytes32 indexed workflowId, string reason)",
];

/// The Aztec StakingRegistry events: stakes with a provider (the attester's coinbase) and the provider's key queue.
pub const AZTEC_EVENTS: &[&str] = &[
    "event StakedWithProvider(uint256 indexed providerIdentifier, address indexed rollupAddress, address indexed attester, address coinbaseSplitContractAddress, address stakerImplementation)",
    "event AttestersAddedToProvider(uint256 indexed providerIdentifier, address[] attesters)",
    "event ProviderQueueDripped(uint256 indexed providerIdentifier, address indexed attester)",
];

/// A built-in set of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Entrypoint,
    Paymaster,
    Workflow,
    Aztec,
}

impl Preset {
    fn parse(name: &str) -> Option<Preset> {
        match name {
            "entrypoint" => Some(Preset::Entrypoint),
            "paymaster" => Some(Preset::Paymaster),
            "workflow" => Some(Preset::Workflow),
            "aztec" => Some(Preset::Aztec),
            _ => None,
        }
    }

    fn signatures(self) -> &'static [&'static str] {
        match self {
            Preset::Entrypoint => ENTRYPOINT_EVENTS,
            Preset::Paymaster => PAYMASTER_EVENTS,
            Preset::Workflow => WORKFLOW_EVENTS,
            Preset::Aztec => AZTEC_EVENTS,
        }
    }
}

/// One event of a source, parsed.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub abi: Event,
    /// `topic0`.
    pub selector: B256,
    /// The full signature (with `indexed` and names), as stored in the checkpoint.
    pub signature: String,
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// Empty: logs of any contract with these events.
    pub addresses: Vec<Address>,
    pub start_block: Option<u64>,
    pub events: Vec<EventSpec>,
}

impl Source {
    /// What the checkpoint remembers of this source (with its resolved first block).
    pub fn fingerprint(&self, start_block: u64) -> SourceFingerprint {
        SourceFingerprint {
            name: self.name.clone(),
            addresses: self.addresses.clone(),
            events: self.events.iter().map(|e| e.signature.clone()).collect(),
            start_block,
        }
    }
}

/// A source as the checkpoint remembers it, to notice a changed configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceFingerprint {
    pub name: String,
    pub addresses: Vec<Address>,
    pub events: Vec<String>,
    /// The first block indexed for this source (its `start_block`, or head − `lookback_blocks`).
    pub start_block: u64,
}

impl SourceFingerprint {
    /// Same name, contracts and events (the first block may differ: it only matters before the first run).
    pub fn same_source(&self, other: &SourceFingerprint) -> bool {
        self.name == other.name && self.addresses == other.addresses && self.events == other.events
    }
}

/// Parses every `[[watcher.sources]]`; errors name the source and the signature.
pub fn sources_from_config(cfg: &WatcherConfig) -> Result<Vec<Source>, ConfigError> {
    if cfg.sources.is_empty() {
        return Err(ConfigError::Missing(
            "no event sources: add [[watcher.sources]] to the config (see config/butler.example.toml)"
                .to_string(),
        ));
    }
    let sources = cfg
        .sources
        .iter()
        .map(source_from_config)
        .collect::<Result<Vec<_>, _>>()?;
    check_overlaps(&sources)?;
    Ok(sources)
}

fn source_from_config(s: &WatcherSource) -> Result<Source, ConfigError> {
    let what = format!("[[watcher.sources]] `{}`", s.name);
    if s.name.is_empty()
        || s.name.starts_with('.')
        || !s
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ConfigError::Invalid(format!(
            "{what}: name must be letters, digits, '-', '_' or '.' (it names a directory), not starting with '.'"
        )));
    }
    let preset = match &s.preset {
        None => None,
        Some(p) => Some(Preset::parse(p).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{what}: unknown preset `{p}` (expected entrypoint, paymaster, workflow or aztec)"
            ))
        })?),
    };
    let mut signatures: Vec<String> = preset
        .map(|p| p.signatures().iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    let mut overrides: BTreeMap<&str, &str> = s
        .signatures
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if preset.is_none() && !overrides.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{what}: `signatures` replaces a preset's events; without `preset`, list them in `events`"
        )));
    }
    for sig in signatures.iter_mut() {
        let name = parse_event(&what, sig)?.name;
        if let Some(replacement) = overrides.remove(name.as_str()) {
            let parsed = parse_event(&what, replacement)?;
            if parsed.name != name {
                return Err(ConfigError::Invalid(format!(
                    "{what}: signatures.{name} declares event `{}`; the key must be the event's name",
                    parsed.name
                )));
            }
            *sig = replacement.to_string();
        }
    }
    if let Some((name, _)) = overrides.into_iter().next() {
        return Err(ConfigError::Invalid(format!(
            "{what}: signatures.{name}: the preset has no event `{name}` (add new events to `events`)"
        )));
    }
    signatures.extend(s.events.iter().cloned());
    if signatures.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{what}: no events: set `preset` or `events`"
        )));
    }
    let mut events: Vec<EventSpec> = Vec::with_capacity(signatures.len());
    for sig in &signatures {
        let abi = parse_event(&what, sig)?;
        if abi.anonymous {
            return Err(ConfigError::Invalid(format!(
                "{what}: event `{}` is anonymous; only events with a topic0 can be filtered",
                abi.name
            )));
        }
        let selector = abi.selector();
        if events.iter().any(|e| e.selector == selector) {
            return Err(ConfigError::Invalid(format!(
                "{what}: event `{}` is listed twice",
                abi.signature()
            )));
        }
        events.push(EventSpec {
            signature: abi.full_signature(),
            selector,
            abi,
        });
    }
    let mut addresses: Vec<Address> = s.address.into_iter().chain(s.addresses.clone()).collect();
    addresses.sort();
    addresses.dedup();
    Ok(Source {
        name: s.name.clone(),
        addresses,
        start_block: s.start_block,
        events,
    })
}

fn parse_event(what: &str, sig: &str) -> Result<Event, ConfigError> {
    Event::parse(sig.trim()).map_err(|e| {
        ConfigError::Invalid(format!("{what}: cannot parse event signature `{sig}`: {e}"))
    })
}

/// Each log must belong to exactly one source: no two sources may watch the same event on the same
/// contract (a source without addresses watches every contract).
fn check_overlaps(sources: &[Source]) -> Result<(), ConfigError> {
    let mut seen: HashMap<(Option<Address>, B256), &str> = HashMap::new();
    for s in sources {
        for e in &s.events {
            let keys: Vec<Option<Address>> = if s.addresses.is_empty() {
                vec![None]
            } else {
                s.addresses.iter().copied().map(Some).collect()
            };
            for k in keys {
                let clash = seen.get(&(k, e.selector)).copied().or_else(|| {
                    if k.is_some() {
                        seen.get(&(None, e.selector)).copied()
                    } else {
                        seen.iter()
                            .find(|((_, sel), _)| *sel == e.selector)
                            .map(|(_, n)| *n)
                    }
                });
                if let Some(other) = clash {
                    return Err(ConfigError::Invalid(format!(
                        "[[watcher.sources]] `{}` and `{other}` both watch `{}`{}; each log must belong to one source",
                        s.name,
                        e.abi.signature(),
                        k.map(|a| format!(" on {a}")).unwrap_or_default()
                    )));
                }
                seen.insert((k, e.selector), &s.name);
            }
        }
    }
    Ok(())
}

/// Finds the source and event of a log by its address and topic0.
#[derive(Debug, Clone)]
pub struct Router {
    by_address: HashMap<(Address, B256), (usize, usize)>,
    any_address: HashMap<B256, (usize, usize)>,
}

impl Router {
    pub fn new(sources: &[Source]) -> Self {
        let mut by_address = HashMap::new();
        let mut any_address = HashMap::new();
        for (si, s) in sources.iter().enumerate() {
            for (ei, e) in s.events.iter().enumerate() {
                if s.addresses.is_empty() {
                    any_address.insert(e.selector, (si, ei));
                }
                for a in &s.addresses {
                    by_address.insert((*a, e.selector), (si, ei));
                }
            }
        }
        Self {
            by_address,
            any_address,
        }
    }

    /// `(source index, event index)` of a log, if any source watches it.
    pub fn route(&self, address: Address, topic0: B256) -> Option<(usize, usize)> {
        self.by_address
            .get(&(address, topic0))
            .or_else(|| self.any_address.get(&topic0))
            .copied()
    }

    /// The addresses for the `eth_getLogs` filter; empty when some source watches every contract.
    pub fn filter_addresses(sources: &[Source]) -> Vec<Address> {
        if sources.iter().any(|s| s.addresses.is_empty()) {
            return Vec::new();
        }
        let mut all: Vec<Address> = sources
            .iter()
            .flat_map(|s| s.addresses.iter().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Every topic0 of every source, for the `eth_getLogs` filter.
    pub fn filter_topics(sources: &[Source]) -> Vec<B256> {
        let mut all: Vec<B256> = sources
            .iter()
            .flat_map(|s| s.events.iter().map(|e| e.selector))
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(toml_text: &str) -> Result<Vec<Source>, ConfigError> {
        let cfg: WatcherConfig = toml::from_str(toml_text).unwrap();
        sources_from_config(&cfg)
    }

    #[test]
    fn presets_parse_and_can_be_overridden() {
        let s = source(
            r#"
            [[sources]]
            name = "ep"
            preset = "entrypoint"
            address = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
            [[sources]]
            name = "pm"
            preset = "paymaster"
            signatures = { PostOpHandled = "event PostOpHandled(bytes32 indexed userOpHash, address indexed sender, address token, uint256 actualGasCost, uint256 feeAmount, uint8 mode)" }
            [[sources]]
            name = "wf"
            preset = "workflow"
            events = ["event Extra(uint256 a)"]
            "#,
        )
        .unwrap();
        assert_eq!(s[0].events.len(), 5);
        assert_eq!(
            s[0].events[0].selector.to_string(),
            "0x49628fd1471006c1482da88028e9ce4dbb080b815c9b0344d39e5a8e6ec1419f"
        );
        assert!(s[1].events[0].signature.contains("address token"));
        assert_eq!(s[2].events.len(), 6);
        assert!(s[1].addresses.is_empty());
    }

    #[test]
    fn bad_sources_are_named() {
        let e = source("[[sources]]\nname = \"x\"\nevents = [\"event Foo(uint256\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`x`") && e.contains("event Foo(uint256"), "{e}");
        let e = source("[[sources]]\nname = \"x\"\npreset = \"nope\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown preset"), "{e}");
        let e = source("[[sources]]\nname = \"x\"\npreset = \"paymaster\"\nsignatures = { Foo = \"event Foo()\" }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("signatures.Foo"), "{e}");
        let e = source("[[sources]]\nname = \"../x\"\npreset = \"paymaster\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("directory"), "{e}");
        let e = source("[[sources]]\nname = \"a\"\npreset = \"paymaster\"\n[[sources]]\nname = \"b\"\npreset = \"paymaster\"\naddress = \"0x0000000071727De22E5E9d8BAf0edAc6f37da032\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("both watch"), "{e}");
    }

    #[test]
    fn router_prefers_the_address_match() {
        let s = source(
            r#"
            [[sources]]
            name = "any"
            events = ["event A(uint256 x)"]
            [[sources]]
            name = "one"
            address = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
            events = ["event B(uint256 x)"]
            "#,
        )
        .unwrap();
        let r = Router::new(&s);
        let a = s[0].events[0].selector;
        let b = s[1].events[0].selector;
        let ep: Address = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
            .parse()
            .unwrap();
        assert_eq!(r.route(ep, b), Some((1, 0)));
        assert_eq!(r.route(Address::ZERO, a), Some((0, 0)));
        assert_eq!(r.route(Address::ZERO, b), None);
        assert!(Router::filter_addresses(&s).is_empty());
    }
}
