//! The fee manager's data: validated entities (what is stored, served and exported), the raw inputs they are
//! validated from (HTTP bodies, CLI flags, import documents), and list filters.
//!
//! Numbers are canonical decimal strings (`gas_limit` `"30000000"`, `grace` milliseconds, `min_value` ETH),
//! addresses are EIP-55 checksummed, public keys are lowercase `0x` hex. `None` means "inherit".

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize, Serializer};

use super::FeesError;
use super::validate::{self, Loose};

/// The values every level (default config, proposer, pattern, relay) may set; `None` inherits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub fee_recipient: Option<String>,
    pub gas_limit: Option<String>,
    pub grace: Option<String>,
    pub min_value: Option<String>,
}

/// A relay of a default config, proposer or pattern, keyed by its URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relay {
    /// Row id; present in admin answers, absent in exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub url: String,
    pub public_key: Option<String>,
    #[serde(flatten)]
    pub settings: Settings,
    /// Sent to Vouch as `{"disabled": true}`: the relay is not used for this proposer even if the default has it.
    pub disabled: bool,
}

/// A named default config: the top level of a Vouch execution config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefaultConfig {
    pub name: String,
    #[serde(flatten)]
    pub settings: Settings,
    pub active: bool,
    /// `None` in list answers (not loaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relays: Option<Vec<Relay>>,
}

/// A proposer (validator) entry keyed by its BLS public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposer {
    pub public_key: String,
    #[serde(flatten)]
    pub settings: Settings,
    pub reset_relays: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relays: Option<Vec<Relay>>,
}

/// A proposer pattern: a regex over account names, selected by tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pattern {
    pub name: String,
    pub pattern: String,
    pub tags: Vec<String>,
    #[serde(flatten)]
    pub settings: Settings,
    pub reset_relays: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relays: Option<Vec<Relay>>,
}

/// A Commit-Boost mux: a named set of validator keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mux {
    pub name: String,
    pub keys: Vec<String>,
}

/// A mux in list answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MuxSummary {
    pub name: String,
    pub key_count: i64,
}

/// Creation and update times (ISO 8601, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stamps {
    #[serde(serialize_with = "iso8601")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "iso8601")]
    pub updated_at: DateTime<Utc>,
}

/// A stored entity with its timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record<T> {
    #[serde(flatten)]
    pub item: T,
    #[serde(flatten)]
    pub stamps: Stamps,
}

fn iso8601<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T: Serialize> Page<T> {
    /// The list answer (HTTP and `--output json`): `{"<key>": [...], "total", "limit", "offset"}`.
    pub fn json(&self, key: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert(
            key.to_string(),
            serde_json::to_value(&self.items).unwrap_or_default(),
        );
        m.insert("total".into(), self.total.into());
        m.insert("limit".into(), self.limit.into());
        m.insert("offset".into(), self.offset.into());
        m
    }
}

/// `limit` and `offset` of a list (default 100 and 0; at most 1000 a page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            limit: 100,
            offset: 0,
        }
    }
}

/// The largest page a list returns.
pub const MAX_LIMIT: i64 = 1000;

/// The settings filters every list takes (`fee_recipient`, `gas_limit`, `min_value`); numbers canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsFilter {
    /// Exact address or prefix (case-insensitive).
    pub fee_recipient: Option<String>,
    pub gas_limit: Option<String>,
    pub min_value: Option<String>,
}

/// Filters of `GET /api/admin/vouch/proposers`; every one optional, all AND-combined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProposerFilter {
    /// Exact key or prefix (case-insensitive).
    pub public_key: Option<String>,
    pub settings: SettingsFilter,
    pub reset_relays: Option<bool>,
}

/// Filters of `GET /api/admin/vouch/configs/default`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultConfigFilter {
    /// Exact name or prefix.
    pub name: Option<String>,
    pub settings: SettingsFilter,
    pub active: Option<bool>,
}

/// Filters of `GET /api/admin/vouch/proposer-patterns`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatternFilter {
    /// Exact name or prefix.
    pub name: Option<String>,
    /// Substring of the regex.
    pub pattern: Option<String>,
    /// Patterns carrying this tag.
    pub tag: Option<String>,
    pub settings: SettingsFilter,
    pub reset_relays: Option<bool>,
}

/// The settings fields of an input, borrowed to change in place.
pub struct SettingsMut<'a> {
    pub fee_recipient: &'a mut Option<String>,
    pub gas_limit: &'a mut Option<Loose>,
    pub grace: &'a mut Option<Loose>,
    pub min_value: &'a mut Option<Loose>,
}

/// Declares an input type (request body, CLI flags, import document) with the settings fields, as given (`Loose`
/// numbers), at the `..Settings` mark among its own fields, plus the conversions between them and [`Settings`]: a new
/// setting is added here and in [`Settings`] only. The fields stay plain fields (no `serde(flatten)`), so
/// `deny_unknown_fields` and serde's error messages are those of an ordinary struct.
macro_rules! input_with_settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$hm:meta])* pub $head:ident: $ht:ty,)*
            ..Settings,
            $($(#[$tm:meta])* pub $tail:ident: $tt:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$hm])* pub $head: $ht,)*
            pub fee_recipient: Option<String>,
            pub gas_limit: Option<Loose>,
            pub grace: Option<Loose>,
            pub min_value: Option<Loose>,
            $($(#[$tm])* pub $tail: $tt,)*
        }

        impl $name {
            /// Validates the settings; `prefix` names the place in a document.
            fn settings(&self, prefix: &str) -> Result<Settings, FeesError> {
                Ok(Settings {
                    fee_recipient: self
                        .fee_recipient
                        .as_deref()
                        .map(|v| validate::address(&format!("{prefix}fee_recipient"), v))
                        .transpose()?,
                    gas_limit: self
                        .gas_limit
                        .as_ref()
                        .map(|v| validate::gas_limit(&format!("{prefix}gas_limit"), v))
                        .transpose()?,
                    grace: self
                        .grace
                        .as_ref()
                        .map(|v| validate::grace(&format!("{prefix}grace"), v))
                        .transpose()?,
                    min_value: self
                        .min_value
                        .as_ref()
                        .map(|v| validate::min_value(&format!("{prefix}min_value"), v))
                        .transpose()?,
                })
            }

            /// The same input with the settings of a validated entity.
            fn with_settings(mut self, s: &Settings) -> Self {
                self.fee_recipient = s.fee_recipient.clone();
                self.gas_limit = s.gas_limit.as_deref().map(Loose::from);
                self.grace = s.grace.as_deref().map(Loose::from);
                self.min_value = s.min_value.as_deref().map(Loose::from);
                self
            }

            /// The settings fields, to change in place.
            pub fn settings_mut(&mut self) -> SettingsMut<'_> {
                SettingsMut {
                    fee_recipient: &mut self.fee_recipient,
                    gas_limit: &mut self.gas_limit,
                    grace: &mut self.grace,
                    min_value: &mut self.min_value,
                }
            }
        }
    };
}

input_with_settings! {
/// A relay as given in a request body, CLI flag or import document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayInput {
    pub url: Option<String>,
    pub public_key: Option<String>,
    ..Settings,
    pub disabled: Option<bool>,
    /// Accepted (and ignored) so an admin answer can be sent back as is.
    #[serde(default)]
    pub id: Option<IgnoredAny>,
}
}

input_with_settings! {
/// A default config as given (`POST`/`PUT /api/admin/vouch/configs/default`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultConfigInput {
    pub name: Option<String>,
    ..Settings,
    pub active: Option<bool>,
    pub relays: Option<Vec<RelayInput>>,
    #[serde(default)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    pub updated_at: Option<IgnoredAny>,
}
}

input_with_settings! {
/// A proposer as given (`PUT /api/admin/vouch/proposers/:public_key`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposerInput {
    pub public_key: Option<String>,
    ..Settings,
    pub reset_relays: Option<bool>,
    pub relays: Option<Vec<RelayInput>>,
    #[serde(default)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    pub updated_at: Option<IgnoredAny>,
}
}

input_with_settings! {
/// A proposer pattern as given (`POST`/`PUT /api/admin/vouch/proposer-patterns`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternInput {
    pub name: Option<String>,
    pub pattern: Option<String>,
    pub tags: Option<Vec<String>>,
    ..Settings,
    pub reset_relays: Option<bool>,
    pub relays: Option<Vec<RelayInput>>,
    #[serde(default)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    pub updated_at: Option<IgnoredAny>,
    /// The warnings of an admin answer, accepted (and ignored) so it can be sent back as is.
    #[serde(default)]
    pub warnings: Option<IgnoredAny>,
}
}

/// A mux as given (`POST`/`PUT /api/admin/commit-boost/mux`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuxInput {
    pub name: Option<String>,
    pub keys: Option<Vec<String>>,
    #[serde(default)]
    pub created_at: Option<IgnoredAny>,
    #[serde(default)]
    pub updated_at: Option<IgnoredAny>,
}

/// `{"keys": [...]}` of the mux add/remove endpoints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysInput {
    pub keys: Option<Vec<String>>,
}

fn relays(prefix: &str, input: Option<&[RelayInput]>) -> Result<Vec<Relay>, FeesError> {
    let mut out: Vec<Relay> = Vec::new();
    for (i, r) in input.unwrap_or_default().iter().enumerate() {
        let p = format!("{prefix}relays[{i}].");
        let url = match &r.url {
            Some(u) => validate::relay_url(&format!("{p}url"), u)?,
            None => return Err(FeesError::field(format!("{p}url"), "missing")),
        };
        if out.iter().any(|o| o.url == url) {
            return Err(FeesError::field(
                format!("{p}url"),
                format!("relay '{url}' is listed twice"),
            ));
        }
        out.push(Relay {
            id: None,
            public_key: r
                .public_key
                .as_deref()
                .map(|k| validate::bls_pubkey(&format!("{p}public_key"), k))
                .transpose()?,
            settings: r.settings(&p)?,
            disabled: r.disabled.unwrap_or(false),
            url,
        });
    }
    Ok(out)
}

/// The name from the path and/or the body: they must agree when both are given.
fn name_from(prefix: &str, path: Option<&str>, body: Option<&str>) -> Result<String, FeesError> {
    let field = format!("{prefix}name");
    match (path, body) {
        (Some(p), Some(b)) if p != b => Err(FeesError::field(
            field,
            format!("'{b}' does not match the name in the URL ('{p}'); renaming is not supported"),
        )),
        (Some(n), _) | (None, Some(n)) => validate::name(&field, n),
        (None, None) => Err(FeesError::field(field, "missing")),
    }
}

impl DefaultConfigInput {
    /// Validates; `path_name` is the name in the URL (update) and `prefix` names the place in a document.
    pub fn validate(
        &self,
        path_name: Option<&str>,
        prefix: &str,
    ) -> Result<DefaultConfig, FeesError> {
        Ok(DefaultConfig {
            name: name_from(prefix, path_name, self.name.as_deref())?,
            settings: self.settings(prefix)?,
            active: self.active.unwrap_or(true),
            relays: Some(relays(prefix, self.relays.as_deref())?),
        })
    }
}

impl ProposerInput {
    /// Validates; `path_key` is the key in the URL.
    pub fn validate(&self, path_key: Option<&str>, prefix: &str) -> Result<Proposer, FeesError> {
        let field = format!("{prefix}public_key");
        let public_key = match (path_key, self.public_key.as_deref()) {
            (Some(p), Some(b)) if !p.eq_ignore_ascii_case(b) => {
                return Err(FeesError::field(
                    field,
                    format!("'{}' does not match the key in the URL", validate::short(b)),
                ));
            }
            (Some(k), _) | (None, Some(k)) => validate::bls_pubkey(&field, k)?,
            (None, None) => return Err(FeesError::field(field, "missing")),
        };
        Ok(Proposer {
            public_key,
            settings: self.settings(prefix)?,
            reset_relays: self.reset_relays.unwrap_or(false),
            relays: Some(relays(prefix, self.relays.as_deref())?),
        })
    }
}

impl PatternInput {
    /// Validates; `path_name` is the name in the URL (update).
    pub fn validate(&self, path_name: Option<&str>, prefix: &str) -> Result<Pattern, FeesError> {
        let name = name_from(prefix, path_name, self.name.as_deref())?;
        let pattern = match &self.pattern {
            Some(p) => validate::pattern(&format!("{prefix}pattern"), p)?,
            None => return Err(FeesError::field(format!("{prefix}pattern"), "missing")),
        };
        let mut tags: Vec<String> = Vec::new();
        for (i, t) in self.tags.as_deref().unwrap_or_default().iter().enumerate() {
            let t = validate::tag(&format!("{prefix}tags[{i}]"), t)?;
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        tags.sort();
        Ok(Pattern {
            name,
            pattern,
            tags,
            settings: self.settings(prefix)?,
            reset_relays: self.reset_relays.unwrap_or(false),
            relays: Some(relays(prefix, self.relays.as_deref())?),
        })
    }
}

impl MuxInput {
    /// Validates; `path_name` is the name in the URL (update). Duplicate keys collapse to one.
    pub fn validate(&self, path_name: Option<&str>, prefix: &str) -> Result<Mux, FeesError> {
        Ok(Mux {
            name: name_from(prefix, path_name, self.name.as_deref())?,
            keys: keys(prefix, self.keys.as_deref())?,
        })
    }
}

impl KeysInput {
    /// Validates the keys of an add/remove request.
    pub fn validate(&self) -> Result<Vec<String>, FeesError> {
        match &self.keys {
            Some(k) => keys("", Some(k)),
            None => Err(FeesError::Invalid(
                "Invalid request body: missing 'keys' field".to_string(),
            )),
        }
    }
}

/// Validates a list of BLS keys (`keys[i]`), dropping repeats and keeping the first occurrence's order.
pub fn keys(prefix: &str, input: Option<&[String]>) -> Result<Vec<String>, FeesError> {
    let input = input.unwrap_or_default();
    let mut seen = std::collections::HashSet::with_capacity(input.len());
    let mut out = Vec::with_capacity(input.len());
    for (i, k) in input.iter().enumerate() {
        let k = validate::bls_pubkey(&format!("{prefix}keys[{i}]"), k)?;
        if seen.insert(k.clone()) {
            out.push(k);
        }
    }
    Ok(out)
}

impl From<&Relay> for RelayInput {
    fn from(r: &Relay) -> Self {
        RelayInput {
            url: Some(r.url.clone()),
            public_key: r.public_key.clone(),
            disabled: Some(r.disabled),
            ..Default::default()
        }
        .with_settings(&r.settings)
    }
}

fn relay_inputs(relays: Option<&[Relay]>) -> Option<Vec<RelayInput>> {
    Some(
        relays
            .unwrap_or_default()
            .iter()
            .map(RelayInput::from)
            .collect(),
    )
}

impl From<&DefaultConfig> for DefaultConfigInput {
    fn from(d: &DefaultConfig) -> Self {
        DefaultConfigInput {
            name: Some(d.name.clone()),
            active: Some(d.active),
            relays: relay_inputs(d.relays.as_deref()),
            ..Default::default()
        }
        .with_settings(&d.settings)
    }
}

impl From<&Proposer> for ProposerInput {
    fn from(p: &Proposer) -> Self {
        ProposerInput {
            public_key: Some(p.public_key.clone()),
            reset_relays: Some(p.reset_relays),
            relays: relay_inputs(p.relays.as_deref()),
            ..Default::default()
        }
        .with_settings(&p.settings)
    }
}

impl From<&Pattern> for PatternInput {
    fn from(p: &Pattern) -> Self {
        PatternInput {
            name: Some(p.name.clone()),
            pattern: Some(p.pattern.clone()),
            tags: Some(p.tags.clone()),
            reset_relays: Some(p.reset_relays),
            relays: relay_inputs(p.relays.as_deref()),
            ..Default::default()
        }
        .with_settings(&p.settings)
    }
}

impl From<&Mux> for MuxInput {
    fn from(m: &Mux) -> Self {
        MuxInput {
            name: Some(m.name.clone()),
            keys: Some(m.keys.clone()),
            ..Default::default()
        }
    }
}
