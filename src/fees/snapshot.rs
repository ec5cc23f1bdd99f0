//! The in-memory snapshot of the whole fee configuration that the public routes answer from, and the cache
//! that keeps it fresh.
//!
//! Vouch asks for thousands of keys at every epoch, so an answer is assembled from hash maps and JSON
//! fragments serialised when the snapshot is built, not from per-key queries: the top of each default
//! config's answer, and each proposer and pattern entry once (or once per default config when a disabled
//! relay makes the entry depend on the default's relays). The bytes are those of serialising the whole
//! [`ExecutionConfig`] at once.
//!
//! Freshness goes through the database, so changes made by another process (`butler fees`) count as much
//! as the admin API's: every write transaction bumps `config_version`, every public request reads it (one
//! primary-key lookup) and reloads the snapshot when it differs, so an answer never predates a write that
//! committed before the request arrived. Requests that find the snapshot stale at the same time share one
//! reload (a few queries returning all rows, read from one database snapshot).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;

use super::explain::{self, Explanation};
use super::model::Pattern;
use super::transfer::Configuration;
use super::vouch::{self, BaseRelay, ExecutionConfig, ProposerEntry};
use super::{FeesError, Kind, Store, validate};

/// A proposer or pattern entry, serialised.
enum Fragment {
    /// The same bytes under every default config.
    Shared(Box<[u8]>),
    /// One serialisation per default config (indexed like [`Head::slot`]).
    PerDefault(Box<[Box<[u8]>]>),
}

/// Serialises an entry; an empty entry is left out of answers, and is kept as no bytes.
fn entry_bytes(entry: &ProposerEntry) -> Result<Box<[u8]>, FeesError> {
    if entry.is_empty() {
        return Ok(Box::default());
    }
    Ok(serde_json::to_vec(entry)?.into_boxed_slice())
}

impl Fragment {
    fn new(
        depends: bool,
        bases: &[BTreeMap<String, BaseRelay>],
        entry: impl Fn(&BTreeMap<String, BaseRelay>) -> ProposerEntry,
    ) -> Result<Fragment, FeesError> {
        if depends {
            let each = bases
                .iter()
                .map(|b| entry_bytes(&entry(b)))
                .collect::<Result<Vec<_>, FeesError>>()?;
            Ok(Fragment::PerDefault(each.into_boxed_slice()))
        } else {
            Ok(Fragment::Shared(entry_bytes(&entry(&BTreeMap::new()))?))
        }
    }

    /// The size of one serialisation (for sizing answers).
    fn size(&self) -> usize {
        match self {
            Fragment::Shared(b) => b.len(),
            Fragment::PerDefault(each) => each.first().map_or(0, |b| b.len()),
        }
    }

    fn bytes(&self, slot: usize) -> &[u8] {
        match self {
            Fragment::Shared(b) => b,
            Fragment::PerDefault(each) => &each[slot],
        }
    }
}

/// A default config: the answer's bytes up to and including `"proposers":[`.
struct Head {
    slot: usize,
    active: bool,
    json: Box<[u8]>,
}

struct PatternEntry {
    name: String,
    tags: Vec<String>,
    fragment: Fragment,
}

/// The whole configuration, ready to answer Vouch and Commit-Boost.
pub struct Snapshot {
    version: i64,
    defaults: HashMap<String, Head>,
    /// Proposer key bytes to the index of its entry.
    keys: HashMap<[u8; 48], usize>,
    proposers: Vec<Fragment>,
    /// In name (byte) order.
    patterns: Vec<PatternEntry>,
    /// Mean size of a proposer entry, to size answers.
    entry_bytes: usize,
    /// Each mux's keys as the JSON array Commit-Boost reads.
    muxes: HashMap<String, Bytes>,
}

impl Snapshot {
    /// Builds the snapshot of `config`, read at configuration version `version`.
    pub fn build(version: i64, config: &Configuration) -> Result<Snapshot, FeesError> {
        let heads: Vec<ExecutionConfig> = config.default_configs.iter().map(vouch::head).collect();
        let bases: Vec<BTreeMap<String, BaseRelay>> =
            heads.iter().map(|h| h.relays.clone()).collect();
        let mut defaults = HashMap::with_capacity(heads.len());
        for (slot, (d, head)) in config.default_configs.iter().zip(&heads).enumerate() {
            let mut json = serde_json::to_vec(head)?;
            // `proposers` is the last field, an empty array: keep `"proposers":[`; each answer adds its
            // entries and the closing `]}`.
            json.truncate(json.len().saturating_sub(2));
            let head = Head {
                slot,
                active: d.active,
                json: json.into_boxed_slice(),
            };
            defaults.insert(d.name.clone(), head);
        }
        let mut keys = HashMap::with_capacity(config.proposers.len());
        let mut proposers = Vec::with_capacity(config.proposers.len());
        let mut total = 0;
        for p in &config.proposers {
            // A stored key that does not decode could never match a request key: nothing to answer.
            let Some(bytes) = validate::pubkey_bytes(&p.public_key) else {
                continue;
            };
            let depends = vouch::depends_on_base(p.relays.as_deref(), p.reset_relays);
            let fragment = Fragment::new(depends, &bases, |b| vouch::key_entry(p, b))?;
            total += fragment.size();
            if keys.insert(bytes, proposers.len()).is_none() {
                proposers.push(fragment);
            }
        }
        let mut sorted: Vec<&Pattern> = config.proposer_patterns.iter().collect();
        sorted.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let patterns = sorted
            .into_iter()
            .map(|p| {
                let depends = vouch::depends_on_base(p.relays.as_deref(), p.reset_relays);
                Ok(PatternEntry {
                    name: p.name.clone(),
                    tags: p.tags.clone(),
                    fragment: Fragment::new(depends, &bases, |b| vouch::pattern_entry(p, b))?,
                })
            })
            .collect::<Result<Vec<_>, FeesError>>()?;
        let muxes = config
            .mux_configs
            .iter()
            .map(|m| Ok((m.name.clone(), Bytes::from(serde_json::to_vec(&m.keys)?))))
            .collect::<Result<HashMap<_, _>, FeesError>>()?;
        Ok(Snapshot {
            version,
            defaults,
            entry_bytes: total / proposers.len().max(1) + 1,
            keys,
            proposers,
            patterns,
            muxes,
        })
    }

    /// What the validator `key` (with account name `account`) will use under default config `config` (the
    /// only active one when `None`) with the patterns of `tags`, resolved as Vouch resolves butler's answer.
    pub fn explain(
        &self,
        key: &str,
        config: Option<&str>,
        tags: &[String],
        account: Option<&str>,
    ) -> Result<Explanation, FeesError> {
        let bytes =
            validate::pubkey_bytes(key).ok_or_else(|| validate::not_a_pubkey("public_key", key))?;
        let config = match config {
            Some(c) => c.to_string(),
            None => {
                let mut active: Vec<&String> = self
                    .defaults
                    .iter()
                    .filter(|(_, h)| h.active)
                    .map(|(n, _)| n)
                    .collect();
                active.sort();
                match active.as_slice() {
                    [one] => (*one).clone(),
                    [] => {
                        return Err(FeesError::field(
                            "config",
                            "missing, and no default config is active",
                        ));
                    }
                    many => {
                        let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                        return Err(FeesError::field(
                            "config",
                            format!("missing: name the default config ({})", names.join(", ")),
                        ));
                    }
                }
            }
        };
        let answer = self.execution_config(&config, &[bytes], tags)?;
        // The name of each entry of the answer, in its order (see `execution_config`).
        let slot = self.defaults.get(&config).map_or(0, |h| h.slot);
        let mut names: Vec<Option<String>> = Vec::new();
        if let Some(&i) = self.keys.get(&bytes)
            && !self.proposers[i].bytes(slot).is_empty()
        {
            names.push(None);
        }
        for p in &self.patterns {
            if p.tags.iter().any(|t| tags.contains(t)) && !p.fragment.bytes(slot).is_empty() {
                names.push(Some(p.name.clone()));
            }
        }
        let mut out = explain::explain(&answer, &bytes, account, &names)?;
        out.config = config;
        out.tags = tags.to_vec();
        Ok(out)
    }

    /// The configuration version this snapshot was read at.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The Vouch execution config (JSON) under default config `config`: an entry for each known key of
    /// `keys` (request order, each once), then the patterns carrying any of `tags` (name order).
    pub fn execution_config(
        &self,
        config: &str,
        keys: &[[u8; 48]],
        tags: &[String],
    ) -> Result<Vec<u8>, FeesError> {
        let head = match self.defaults.get(config) {
            None => {
                return Err(FeesError::not_found(Kind::DefaultConfig, config));
            }
            Some(h) if !h.active => {
                return Err(FeesError::Inactive(config.to_string()));
            }
            Some(h) => h,
        };
        let known = keys.len().min(self.proposers.len());
        let mut out = Vec::with_capacity(head.json.len() + known * self.entry_bytes + 1024);
        out.extend_from_slice(&head.json);
        let mut first = true;
        let mut push = |out: &mut Vec<u8>, bytes: &[u8]| {
            if bytes.is_empty() {
                return;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(bytes);
        };
        let mut seen = vec![0u64; self.proposers.len().div_ceil(64)];
        for key in keys {
            if let Some(&i) = self.keys.get(key) {
                let (word, bit) = (i / 64, 1u64 << (i % 64));
                if seen[word] & bit == 0 {
                    seen[word] |= bit;
                    push(&mut out, self.proposers[i].bytes(head.slot));
                }
            }
        }
        for p in &self.patterns {
            if p.tags.iter().any(|t| tags.contains(t)) {
                push(&mut out, p.fragment.bytes(head.slot));
            }
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }

    /// The keys of mux `name` as a JSON array; `None` when there is no such mux.
    pub fn mux_keys(&self, name: &str) -> Option<Bytes> {
        self.muxes.get(name).cloned()
    }
}

/// The server's current snapshot, checked against the database's configuration version on every use.
pub struct Snapshots {
    store: Store,
    current: RwLock<Option<Arc<Snapshot>>>,
    reload: tokio::sync::Mutex<()>,
}

impl Snapshots {
    /// An empty cache: the first use loads the snapshot.
    pub fn new(store: Store) -> Snapshots {
        Snapshots {
            store,
            current: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    /// The snapshot at the database's current configuration version, reloaded when it changed.
    pub async fn get(&self) -> Result<Arc<Snapshot>, FeesError> {
        let version = self.store.config_version().await?;
        if let Some(s) = self.at(version) {
            return Ok(s);
        }
        let _one_reload = self.reload.lock().await;
        if let Some(s) = self.at(version) {
            return Ok(s);
        }
        let started = std::time::Instant::now();
        let (version, config) = self.store.load().await?;
        let snapshot = Arc::new(Snapshot::build(version, &config)?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(snapshot.clone());
        tracing::debug!(
            version,
            proposers = snapshot.proposers.len(),
            patterns = snapshot.patterns.len(),
            muxes = snapshot.muxes.len(),
            ms = started.elapsed().as_millis() as u64,
            "fee configuration loaded"
        );
        Ok(snapshot)
    }

    fn at(&self, version: i64) -> Option<Arc<Snapshot>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|s| s.version == version).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fees::model::{DefaultConfig, Mux, Proposer, Relay, Settings};

    fn key(seed: u8) -> String {
        let sk = blst::min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
        format!("0x{}", hex::encode(sk.sk_to_pk().compress()))
    }

    fn relay(url: &str, disabled: bool, min: Option<&str>) -> Relay {
        Relay {
            id: None,
            url: url.to_string(),
            public_key: None,
            settings: Settings {
                min_value: min.map(str::to_string),
                ..Settings::default()
            },
            disabled,
        }
    }

    /// The answer built the plain way (every entry serialised with the rest), to check the fragments against.
    fn whole(
        config: &Configuration,
        default: &str,
        keys: &[&Proposer],
        patterns: &[&Pattern],
    ) -> Vec<u8> {
        let d = config
            .default_configs
            .iter()
            .find(|d| d.name == default)
            .unwrap();
        let mut cfg = vouch::head(d);
        let entries: Vec<_> = keys
            .iter()
            .map(|p| vouch::key_entry(p, &cfg.relays))
            .chain(
                patterns
                    .iter()
                    .map(|p| vouch::pattern_entry(p, &cfg.relays)),
            )
            .filter(|e| !e.is_empty())
            .collect();
        cfg.proposers = entries;
        serde_json::to_vec(&cfg).unwrap()
    }

    const R1: &str = "https://r1.example/";
    const R2: &str = "https://r2.example/";

    fn config() -> Configuration {
        let default = |name: &str, relays: Vec<Relay>, active: bool| DefaultConfig {
            name: name.into(),
            settings: Settings {
                gas_limit: Some("30000000".into()),
                ..Settings::default()
            },
            active,
            relays: Some(relays),
        };
        let proposer = |seed: u8, reset: bool, relays: Vec<Relay>| Proposer {
            public_key: key(seed),
            settings: Settings {
                min_value: Some(format!("0.{seed}")),
                ..Settings::default()
            },
            reset_relays: reset,
            relays: Some(relays),
        };
        let pattern = |name: &str, tags: &[&str], relays: Vec<Relay>| Pattern {
            name: name.into(),
            pattern: format!("^{name}/.*$"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            settings: Settings::default(),
            reset_relays: false,
            relays: Some(relays),
        };
        Configuration {
            version: 1,
            default_configs: vec![
                default(
                    "a",
                    vec![relay(R1, false, Some("0.2")), relay(R2, true, None)],
                    true,
                ),
                default("b", vec![relay(R2, false, None)], true),
                default("off", vec![], false),
            ],
            proposers: vec![
                proposer(1, false, vec![]),
                proposer(
                    2,
                    false,
                    vec![relay(R1, true, None), relay(R2, false, Some("0.3"))],
                ),
                proposer(3, true, vec![relay(R1, true, None)]),
                proposer(4, false, vec![relay(R2, true, None)]),
            ],
            proposer_patterns: vec![
                pattern("b", &["x"], vec![relay(R2, true, None)]),
                pattern("B", &["y"], vec![]),
                pattern("a", &["x", "y"], vec![relay(R1, false, None)]),
            ],
            mux_configs: vec![Mux {
                name: "m".into(),
                keys: vec![key(2), key(1)],
            }],
        }
    }

    #[test]
    fn answers_equal_the_whole_serialisation() {
        let c = config();
        let s = Snapshot::build(7, &c).unwrap();
        assert_eq!(s.version(), 7);
        let bytes = |seed: u8| super::super::validate::pubkey_bytes(&key(seed)).unwrap();
        let p = |i: usize| &c.proposers[i];
        let pat = |name: &str| c.proposer_patterns.iter().find(|p| p.name == name).unwrap();
        for default in ["a", "b"] {
            let keys = [bytes(4), bytes(9), bytes(2), bytes(4), bytes(1), bytes(3)];
            assert_eq!(
                s.execution_config(default, &keys, &["x".into(), "y".into()])
                    .unwrap(),
                whole(
                    &c,
                    default,
                    &[p(3), p(1), p(0), p(2)],
                    &[pat("B"), pat("a"), pat("b")]
                ),
                "{default}"
            );
            assert_eq!(
                s.execution_config(default, &[], &["y".into()]).unwrap(),
                whole(&c, default, &[], &[pat("B"), pat("a")])
            );
            assert_eq!(
                s.execution_config(default, &[bytes(1)], &[]).unwrap(),
                whole(&c, default, &[p(0)], &[])
            );
        }
        let e = s.execution_config("off", &[], &[]).unwrap_err().to_string();
        assert_eq!(e, "Default config 'off' is not active");
        let e = s
            .execution_config("none", &[], &[])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Default config 'none' not found");
        assert_eq!(
            s.mux_keys("m").unwrap(),
            serde_json::to_vec(&[key(2), key(1)]).unwrap()
        );
        assert!(s.mux_keys("x").is_none());
    }
}
