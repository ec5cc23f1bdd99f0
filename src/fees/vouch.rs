//! The Vouch execution config (version 2): its top and entries (serialised by [`super::snapshot`], which
//! assembles answers), and the request body Vouch sends.
//!
//! Vouch POSTs a bare JSON array of 0x public keys; the spec's `{"keys": [...]}` is accepted too. The answer
//! is the hierarchical config Vouch resolves itself: the default config at the top, then proposer entries.
//! Vouch uses the first entry that matches a validator, so the order is part of the contract: entries for
//! the requested keys come first (in request order), then the patterns selected by `?tags=` (any tag
//! matches) ordered by pattern name. Numbers are JSON strings (`gas_limit`, `grace` in ms, `min_value` in
//! ETH), unset values are omitted (Vouch then inherits), and a disabled relay is sent as
//! `{"disabled": true}` so the proposer does not use the default's relay of that URL (see
//! [`proposer_relays`] for when it is left out instead). Entries that override nothing are left out
//! ([`ProposerEntry::is_empty`]); patterns are sent anchored as a whole ([`pattern_entry`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FeesError;
use super::model::{DefaultConfig, Pattern, Proposer, Relay, Settings};
use super::{goregex, validate};

/// The version Vouch expects; the answer carries it as the integer 2.
pub const VERSION: u8 = 2;

/// The settings of any level as Vouch reads them; unset ones are omitted (Vouch then inherits).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VouchSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_recipient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gas_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_value: Option<String>,
}

impl VouchSettings {
    /// Whether no setting is given.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl From<&Settings> for VouchSettings {
    fn from(s: &Settings) -> Self {
        VouchSettings {
            fee_recipient: s.fee_recipient.clone(),
            gas_limit: s.gas_limit.clone(),
            grace: s.grace.clone(),
            min_value: s.min_value.clone(),
        }
    }
}

/// A relay at the top level (the default config's relays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseRelay {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(flatten)]
    pub settings: VouchSettings,
}

/// A relay in a proposer entry: either overrides or `{"disabled": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposerRelay {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    #[serde(flatten)]
    pub relay: BaseRelay,
}

/// One entry of `proposers`: a 0x public key or a regex over account names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposerEntry {
    pub proposer: String,
    #[serde(flatten)]
    pub settings: VouchSettings,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reset_relays: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub relays: BTreeMap<String, ProposerRelay>,
}

impl ProposerEntry {
    /// Whether the entry overrides nothing. Vouch stops at the first matching entry even when it is empty,
    /// so an empty key entry would keep every pattern from applying to that key: empty entries are left out
    /// of the answer ("nothing to override").
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty() && !self.reset_relays && self.relays.is_empty()
    }
}

/// The execution config answered to Vouch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionConfig {
    pub version: u8,
    #[serde(flatten)]
    pub settings: VouchSettings,
    pub relays: BTreeMap<String, BaseRelay>,
    pub proposers: Vec<ProposerEntry>,
}

fn base_relay(r: &Relay) -> BaseRelay {
    BaseRelay {
        public_key: r.public_key.clone(),
        settings: VouchSettings::from(&r.settings),
    }
}

/// A proposer's relays. Vouch adds every relay of a proposer entry that is not already in the proposer's
/// relay set, disabled or not (`setProposerConfigOptions` in Vouch's `services/blockrelay/v2`), so
/// `{"disabled": true}` is only sent where it removes something: for a relay of the default config when
/// `reset_relays` is false. Anywhere else a disabled relay is left out, which is what it means.
fn proposer_relays(
    relays: Option<&[Relay]>,
    base: &BTreeMap<String, BaseRelay>,
    reset_relays: bool,
) -> BTreeMap<String, ProposerRelay> {
    relays
        .unwrap_or_default()
        .iter()
        .filter(|r| !r.disabled || (!reset_relays && base.contains_key(&r.url)))
        .map(|r| {
            let entry = if r.disabled {
                ProposerRelay {
                    disabled: true,
                    relay: base_relay(&Relay {
                        settings: Settings::default(),
                        public_key: None,
                        ..r.clone()
                    }),
                }
            } else {
                ProposerRelay {
                    disabled: false,
                    relay: base_relay(r),
                }
            };
            (r.url.clone(), entry)
        })
        .collect()
}

fn entry(
    proposer: &str,
    s: &Settings,
    reset_relays: bool,
    relays: Option<&[Relay]>,
    base: &BTreeMap<String, BaseRelay>,
) -> ProposerEntry {
    ProposerEntry {
        proposer: proposer.to_string(),
        settings: VouchSettings::from(s),
        reset_relays,
        relays: proposer_relays(relays, base, reset_relays),
    }
}

/// The top of the answer for a default config: its values and its relays (disabled ones left out), with no
/// proposer entries yet.
pub fn head(default: &DefaultConfig) -> ExecutionConfig {
    ExecutionConfig {
        version: VERSION,
        settings: VouchSettings::from(&default.settings),
        relays: default
            .relays
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|r| !r.disabled)
            .map(|r| (r.url.clone(), base_relay(r)))
            .collect(),
        proposers: Vec::new(),
    }
}

/// The entry of a known proposer under the default config's relays `base`.
pub fn key_entry(p: &Proposer, base: &BTreeMap<String, BaseRelay>) -> ProposerEntry {
    entry(
        &p.public_key,
        &p.settings,
        p.reset_relays,
        p.relays.as_deref(),
        base,
    )
}

/// The entry of a pattern under the default config's relays `base`. The pattern is sent anchored as a whole
/// (`^(?:...)$`, see [`goregex::served`]): Vouch only adds a missing `^` or `$`, which anchors just the
/// outer alternatives of `a|b`.
pub fn pattern_entry(p: &Pattern, base: &BTreeMap<String, BaseRelay>) -> ProposerEntry {
    entry(
        &goregex::served(&p.pattern),
        &p.settings,
        p.reset_relays,
        p.relays.as_deref(),
        base,
    )
}

/// Whether an entry depends on the default config's relays: only a disabled relay without `reset_relays`
/// does (it is sent when the default has that relay, left out otherwise; see [`proposer_relays`]).
pub fn depends_on_base(relays: Option<&[Relay]>, reset_relays: bool) -> bool {
    !reset_relays && relays.unwrap_or_default().iter().any(|r| r.disabled)
}

/// A request key as it appears in the body: borrowed from the body unless it holds JSON escapes.
struct RawKey<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for RawKey<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawKey<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<RawKey<'de>, E> {
                Ok(RawKey(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<RawKey<'de>, E> {
                Ok(RawKey(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<RawKey<'de>, E> {
                Ok(RawKey(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads the request body: a bare JSON array of keys (what Vouch sends) or `{"keys": [...]}`. Keys are
/// checked for shape only (0x and 96 hex digits, either case) and returned as bytes, in request order with
/// repeats kept (the answer lists each known key once). The curve check belongs to admin writes: a key that
/// is not configured is simply not answered.
pub fn parse_keys(body: &[u8]) -> Result<Vec<[u8; 48]>, FeesError> {
    #[derive(Deserialize)]
    struct Object<'a> {
        #[serde(borrow)]
        keys: Option<Vec<RawKey<'a>>>,
    }
    let invalid = |m: &str| FeesError::Invalid(format!("Invalid request body: {m}"));
    let expected = "expected a JSON array of public keys or {\"keys\": [...]}";
    let (raw, field) = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(invalid(&format!("empty; {expected}"))),
        Some(b'[') => match serde_json::from_slice::<Vec<RawKey>>(body) {
            Ok(v) => (v, ""),
            Err(e) => return Err(detailed(body, "", e)),
        },
        Some(b'{') => match serde_json::from_slice::<Object>(body) {
            Ok(Object { keys: Some(v) }) => (v, "keys"),
            Ok(Object { keys: None }) => return Err(invalid("missing 'keys' field")),
            Err(e) => return Err(detailed(body, "keys", e)),
        },
        Some(_) => {
            return Err(match serde_json::from_slice::<serde_json::Value>(body) {
                Err(e) => invalid(&format!("not JSON ({e})")),
                Ok(_) => invalid(expected),
            });
        }
    };
    let mut keys = Vec::with_capacity(raw.len());
    for (i, text) in raw.iter().enumerate() {
        match validate::pubkey_bytes(&text.0) {
            Some(k) => keys.push(k),
            None => return Err(validate::not_a_pubkey(&format!("{field}[{i}]"), &text.0)),
        }
    }
    Ok(keys)
}

/// Says what is wrong with a body that did not decode: not JSON, `keys` not an array, or which item is
/// not a string.
fn detailed(body: &[u8], field: &str, err: serde_json::Error) -> FeesError {
    let invalid = |m: String| FeesError::Invalid(format!("Invalid request body: {m}"));
    let value = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => v,
        Err(e) => return invalid(format!("not JSON ({e})")),
    };
    let items = if field.is_empty() {
        value.as_array()
    } else {
        match value.get(field) {
            Some(serde_json::Value::Null) => {
                return invalid(format!("missing '{field}' field"));
            }
            Some(v) => v.as_array(),
            None => None,
        }
    };
    let Some(items) = items else {
        return invalid(format!("'{field}' must be an array of public keys"));
    };
    match items.iter().position(|v| !v.is_string()) {
        Some(i) => FeesError::field(format!("{field}[{i}]"), "expected a public key string"),
        None => invalid(err.to_string()),
    }
}

/// Reads `?tags=a,b`: trimmed, empty items dropped, repeats dropped.
pub fn parse_tags(raw: Option<&str>) -> Result<Vec<String>, FeesError> {
    let mut tags: Vec<String> = Vec::new();
    for t in raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let t = validate::tag("tags", t)?;
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    Ok(tags)
}
