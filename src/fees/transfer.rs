//! The whole fee configuration as one document (`butler fees export` / `import`), in JSON or TOML, so
//! operators can keep it in git and review changes. Import validates the whole document before writing
//! anything, computes a plan against the store (create / update / delete / unchanged) and applies it in one
//! transaction; importing the same document twice changes nothing the second time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::FeesError;
use super::model::*;

/// The document format version written by export and accepted by import.
pub const DOCUMENT_VERSION: u32 = 1;

/// The whole configuration (what export writes; what a validated import holds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Configuration {
    pub version: u32,
    pub default_configs: Vec<DefaultConfig>,
    pub proposers: Vec<Proposer>,
    pub proposer_patterns: Vec<Pattern>,
    pub mux_configs: Vec<Mux>,
}

/// An import document as written by people (every section optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub version: Option<u32>,
    #[serde(default)]
    pub default_configs: Vec<DefaultConfigInput>,
    #[serde(default)]
    pub proposers: Vec<ProposerInput>,
    #[serde(default)]
    pub proposer_patterns: Vec<PatternInput>,
    #[serde(default)]
    pub mux_configs: Vec<MuxInput>,
}

/// Document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Toml,
}

impl Format {
    /// TOML for `*.toml`, JSON otherwise.
    pub fn for_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
            _ => Format::Json,
        }
    }
}

/// Serialises a configuration (JSON pretty-printed, or TOML).
pub fn render(config: &Configuration, format: Format) -> Result<String, FeesError> {
    match format {
        Format::Json => serde_json::to_string_pretty(config)
            .map(|s| s + "\n")
            .map_err(|e| FeesError::Invalid(format!("cannot write JSON: {e}"))),
        Format::Toml => toml::to_string_pretty(config)
            .map_err(|e| FeesError::Invalid(format!("cannot write TOML: {e}"))),
    }
}

/// Parses and validates a document; every error names the file and the place in it.
pub fn parse(text: &str, format: Format, origin: &Path) -> Result<Configuration, FeesError> {
    let doc: Document = match format {
        Format::Json => {
            let de = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                FeesError::Invalid(format!("{}: {}: {}", origin.display(), e.path(), e.inner()))
            })?
        }
        Format::Toml => toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    format!(
                        ":{}",
                        text[..s.start.min(text.len())].matches('\n').count() + 1
                    )
                })
                .unwrap_or_default();
            FeesError::Invalid(format!("{}{at}: {}", origin.display(), e.message().trim()))
        })?,
    };
    validate(&doc).map_err(|e| FeesError::Invalid(format!("{}: {e}", origin.display())))
}

/// Validates every entry, then the rules across entries (unique names and keys, a key in one mux only).
pub fn validate(doc: &Document) -> Result<Configuration, FeesError> {
    if let Some(v) = doc.version
        && v != DOCUMENT_VERSION
    {
        return Err(FeesError::field(
            "version",
            format!("unsupported document version {v} (expected {DOCUMENT_VERSION})"),
        ));
    }
    let mut out = Configuration {
        version: DOCUMENT_VERSION,
        ..Configuration::default()
    };
    for (i, d) in doc.default_configs.iter().enumerate() {
        out.default_configs
            .push(d.validate(None, &format!("default_configs[{i}]."))?);
    }
    for (i, p) in doc.proposers.iter().enumerate() {
        out.proposers
            .push(p.validate(None, &format!("proposers[{i}]."))?);
    }
    for (i, p) in doc.proposer_patterns.iter().enumerate() {
        out.proposer_patterns
            .push(p.validate(None, &format!("proposer_patterns[{i}]."))?);
    }
    for (i, m) in doc.mux_configs.iter().enumerate() {
        let m = m.validate(None, &format!("mux_configs[{i}]."))?;
        if m.keys.is_empty() {
            return Err(FeesError::field(
                format!("mux_configs[{i}].keys"),
                "a mux needs at least one key (Commit-Boost refuses a mux without keys)",
            ));
        }
        out.mux_configs.push(m);
    }
    unique(
        "default_configs",
        "name",
        out.default_configs.iter().map(|d| d.name.as_str()),
    )?;
    unique(
        "proposers",
        "public_key",
        out.proposers.iter().map(|p| p.public_key.as_str()),
    )?;
    unique(
        "proposer_patterns",
        "name",
        out.proposer_patterns.iter().map(|p| p.name.as_str()),
    )?;
    unique(
        "mux_configs",
        "name",
        out.mux_configs.iter().map(|m| m.name.as_str()),
    )?;
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for (i, m) in out.mux_configs.iter().enumerate() {
        for (j, k) in m.keys.iter().enumerate() {
            if let Some(other) = owner.insert(k, &m.name) {
                return Err(FeesError::field(
                    format!("mux_configs[{i}].keys[{j}]"),
                    format!(
                        "{k} is also in mux '{other}' (Commit-Boost refuses a key in two muxes)"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn unique<'a>(
    section: &str,
    field: &str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), FeesError> {
    let mut seen = HashSet::new();
    for (i, n) in names.enumerate() {
        if !seen.insert(n) {
            return Err(FeesError::field(
                format!("{section}[{i}].{field}"),
                format!("'{n}' appears twice"),
            ));
        }
    }
    Ok(())
}

/// What an import changes in one section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changes<T> {
    pub create: Vec<T>,
    pub update: Vec<T>,
    pub delete: Vec<String>,
    pub unchanged: usize,
}

/// What an import changes, section by section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub default_configs: Changes<DefaultConfig>,
    pub proposers: Changes<Proposer>,
    pub proposer_patterns: Changes<Pattern>,
    pub mux_configs: Changes<Mux>,
}

impl Plan {
    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        fn none<T>(c: &Changes<T>) -> bool {
            c.create.is_empty() && c.update.is_empty() && c.delete.is_empty()
        }
        none(&self.default_configs)
            && none(&self.proposers)
            && none(&self.proposer_patterns)
            && none(&self.mux_configs)
    }

    /// Counts per section: (section, created, updated, deleted, unchanged).
    pub fn summary(&self) -> Vec<(&'static str, usize, usize, usize, usize)> {
        fn row<T>(
            name: &'static str,
            c: &Changes<T>,
        ) -> (&'static str, usize, usize, usize, usize) {
            (
                name,
                c.create.len(),
                c.update.len(),
                c.delete.len(),
                c.unchanged,
            )
        }
        vec![
            row("default_configs", &self.default_configs),
            row("proposers", &self.proposers),
            row("proposer_patterns", &self.proposer_patterns),
            row("mux_configs", &self.mux_configs),
        ]
    }
}

fn diff<T: Clone + PartialEq>(current: &[T], wanted: &[T], key: impl Fn(&T) -> &str) -> Changes<T> {
    let have: BTreeMap<&str, &T> = current.iter().map(|t| (key(t), t)).collect();
    let want: HashSet<&str> = wanted.iter().map(&key).collect();
    let mut c = Changes {
        create: Vec::new(),
        update: Vec::new(),
        delete: have
            .keys()
            .filter(|k| !want.contains(*k))
            .map(|k| k.to_string())
            .collect(),
        unchanged: 0,
    };
    for w in wanted {
        match have.get(key(w)) {
            None => c.create.push(w.clone()),
            Some(h) if *h == w => c.unchanged += 1,
            Some(_) => c.update.push(w.clone()),
        }
    }
    c
}

/// The changes that make the store (`current`) equal to the document (`wanted`).
pub fn plan(current: &Configuration, wanted: &Configuration) -> Plan {
    Plan {
        default_configs: diff(&current.default_configs, &wanted.default_configs, |d| {
            &d.name
        }),
        proposers: diff(&current.proposers, &wanted.proposers, |p| &p.public_key),
        proposer_patterns: diff(&current.proposer_patterns, &wanted.proposer_patterns, |p| {
            &p.name
        }),
        mux_configs: diff(&current.mux_configs, &wanted.mux_configs, |m| &m.name),
    }
}
