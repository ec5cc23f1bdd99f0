//! Reading the configuration text once: the TOML document is parsed a single time with the position of
//! every key and value, the `BUTLER_SECTION__KEY` overrides are applied to that document, and the checks
//! run on the result, so every error says where its value came from: the file (line and column) or the
//! environment variable.
//!
//! An override's values carry a position past the end of the file text that stands for the variable, so
//! an error the schema reports on such a value names the variable instead of a line.

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::{Config, ConfigError};

/// Key names that hold secrets: they are refused in the file and accepted from env only.
const SECRET_KEYS: &[&str] = &[
    "admin_token",
    "ingest_token",
    "metrics_token",
    "bearer_token",
    "paymaster_signer_key",
    "funder_key",
    "private_key",
    "database_password",
    "signer_key",
    "keystore_passphrase",
    "admin_key",
    "executor_keys",
];

/// One `BUTLER_SECTION__KEY=value` override: the variable, the key path it sets and the raw value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Override {
    pub var: String,
    pub segments: Vec<String>,
    pub raw: String,
}

/// The file text (for positions) and the overrides applied to it.
struct Source<'a> {
    text: &'a str,
    path: &'a Path,
    overrides: &'a [Override],
}

impl<'a> Source<'a> {
    /// The position that stands for override `i`.
    fn env_span(&self, i: usize) -> Range<usize> {
        let at = self.text.len() + 1 + i;
        at..at + 1
    }

    /// The override a position stands for, if it is one.
    fn env_at(&self, span: &Range<usize>) -> Option<usize> {
        span.start
            .checked_sub(self.text.len() + 1)
            .filter(|i| *i < self.overrides.len())
    }

    /// An error about the value at `span`: in the file (line and column) or in an env var.
    fn error_at(&self, span: Option<Range<usize>>, message: String) -> ConfigError {
        match span {
            Some(s) => match self.env_at(&s) {
                Some(i) => ConfigError::Env {
                    var: self.overrides[i].var.clone(),
                    message,
                },
                None => {
                    let (line, column) = line_col(self.text, s.start);
                    ConfigError::Parse {
                        path: self.path.to_path_buf(),
                        line: Some(line),
                        column: Some(column),
                        message,
                    }
                }
            },
            None if !self.overrides.is_empty() => ConfigError::Env {
                var: self
                    .overrides
                    .iter()
                    .map(|o| o.var.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                message,
            },
            None => ConfigError::Parse {
                path: self.path.to_path_buf(),
                line: None,
                column: None,
                message,
            },
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let message = e.message().trim().to_string();
        let message = match did_you_mean(&message) {
            Some(hint) => format!("{message}; did you mean `{hint}`?"),
            None => message,
        };
        self.error_at(e.span(), message)
    }
}

/// Parses `text` (read from `path`), applies `overrides` and decodes the result into a [`Config`].
///
/// An override value that reads as a TOML number, boolean, date or array is tried typed first and as a
/// plain string when the typed form does not fit the schema (a numeric token, a hex address).
pub(super) fn parse(
    text: &str,
    path: &Path,
    overrides: &[Override],
) -> Result<Config, ConfigError> {
    let src = Source {
        text,
        path,
        overrides,
    };
    let root = DeTable::parse(text).map_err(|e| src.toml_error(&e))?;
    let span = root.span();
    let root = root.into_inner();
    reject_secrets(&src, &root)?;
    let typed: Vec<Option<DeValue<'_>>> = overrides
        .iter()
        .enumerate()
        .map(|(i, o)| typed_value(&o.raw, src.env_span(i)))
        .collect();
    let mut as_string = vec![false; overrides.len()];
    loop {
        let mut table = root.clone();
        for (i, o) in overrides.iter().enumerate() {
            let value = match (&typed[i], as_string[i]) {
                (Some(v), false) => v.clone(),
                _ => DeValue::String(Cow::Borrowed(o.raw.as_str())),
            };
            set_path(&mut table, &o.segments, value, src.env_span(i)).map_err(|message| {
                ConfigError::Env {
                    var: o.var.clone(),
                    message,
                }
            })?;
        }
        check_addresses(&src, &table)?;
        let de = toml::de::Deserializer::from(Spanned::new(span.clone(), table));
        match Config::deserialize(de) {
            Ok(config) => return Ok(config),
            Err(e) => {
                let retry = e
                    .span()
                    .and_then(|s| src.env_at(&s))
                    .filter(|&i| typed[i].is_some() && !as_string[i]);
                match retry {
                    Some(i) => as_string[i] = true,
                    None => return Err(src.toml_error(&e)),
                }
            }
        }
    }
}

/// `raw` as a typed TOML value (number, boolean, date, array), every part placed at `span`.
fn typed_value(raw: &str, span: Range<usize>) -> Option<DeValue<'_>> {
    let value = DeValue::parse(raw).ok()?.into_inner();
    match value {
        DeValue::String(_) | DeValue::Table(_) => None,
        v => Some(respan(v, &span)),
    }
}

fn respan<'a>(value: DeValue<'a>, span: &Range<usize>) -> DeValue<'a> {
    match value {
        DeValue::Array(items) => DeValue::Array(
            items
                .into_iter()
                .map(|v| Spanned::new(span.clone(), respan(v.into_inner(), span)))
                .collect(),
        ),
        DeValue::Table(t) => {
            let mut out = DeTable::new();
            for (k, v) in t {
                out.insert(
                    Spanned::new(span.clone(), k.into_inner()),
                    Spanned::new(span.clone(), respan(v.into_inner(), span)),
                );
            }
            DeValue::Table(out)
        }
        v => v,
    }
}

/// Sets `segments` (`paymasters`, `0`, `address`) to `value`, creating sections and list entries as needed.
fn set_path<'a>(
    table: &mut DeTable<'a>,
    segments: &'a [String],
    value: DeValue<'a>,
    span: Range<usize>,
) -> Result<(), String> {
    let (first, rest) = segments.split_first().ok_or("empty key")?;
    if rest.is_empty() {
        table.insert(
            Spanned::new(span.clone(), Cow::Borrowed(first.as_str())),
            Spanned::new(span, value),
        );
        return Ok(());
    }
    if !table.contains_key(first.as_str()) {
        let empty = if rest[0].parse::<usize>().is_ok() {
            DeValue::Array(DeArray::new())
        } else {
            DeValue::Table(DeTable::new())
        };
        table.insert(
            Spanned::new(span.clone(), Cow::Borrowed(first.as_str())),
            Spanned::new(span.clone(), empty),
        );
    }
    let Some(entry) = table.get_mut(first.as_str()) else {
        return Err(format!("`{first}` could not be created"));
    };
    match entry.get_mut() {
        DeValue::Table(t) => set_path(t, rest, value, span),
        DeValue::Array(items) => {
            let idx: usize = rest[0].parse().map_err(|_| {
                format!("`{first}` is a list: address an element as {first}__<index>__<key>")
            })?;
            if idx > items.len() {
                return Err(format!(
                    "`{first}` has {} entries; index {idx} would leave a gap",
                    items.len()
                ));
            }
            if rest.len() == 1 {
                // a list of values (`BUTLER_CHAIN__RPC_URLS__0`): set or append the element itself
                let element = Spanned::new(span, value);
                if idx == items.len() {
                    items.push(element);
                } else {
                    items.as_mut()[idx] = element;
                }
                return Ok(());
            }
            if idx == items.len() {
                items.push(Spanned::new(span.clone(), DeValue::Table(DeTable::new())));
            }
            match items.as_mut()[idx].get_mut() {
                DeValue::Table(t) => set_path(t, &rest[1..], value, span),
                _ => Err(format!("`{first}` entry {idx} is not a table")),
            }
        }
        _ => Err(format!("`{first}` is a value, not a section")),
    }
}

/// Mixed-case addresses must carry a valid EIP-55 checksum (a typo in one is otherwise silently accepted),
/// wherever the value came from; all-lowercase and all-uppercase addresses carry none.
fn check_addresses(src: &Source<'_>, table: &DeTable<'_>) -> Result<(), ConfigError> {
    fn walk(src: &Source<'_>, value: &Spanned<DeValue<'_>>) -> Result<(), ConfigError> {
        match value.get_ref() {
            DeValue::String(s) if !checksum_ok(s) => {
                let mut span = value.span();
                if src
                    .text
                    .as_bytes()
                    .get(span.start)
                    .is_some_and(|b| *b == b'"' || *b == b'\'')
                {
                    span.start += 1;
                }
                Err(src.error_at(
                    Some(span),
                    format!(
                        "address {s} has an invalid EIP-55 checksum (write it all-lowercase or with the correct checksum)"
                    ),
                ))
            }
            DeValue::Array(items) => items.iter().try_for_each(|v| walk(src, v)),
            DeValue::Table(t) => t.values().try_for_each(|v| walk(src, v)),
            _ => Ok(()),
        }
    }
    table.values().try_for_each(|v| walk(src, v))
}

/// False only for a mixed-case `0x` + 40 hex digits whose EIP-55 checksum is wrong.
fn checksum_ok(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("0x") else {
        return true;
    };
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return true;
    }
    let mixed =
        hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
    !mixed || alloy::primitives::Address::parse_checksummed(s, None).is_ok()
}

/// A secret key written in the file is refused, naming its line and the env var to use instead (a key in
/// a list entry names the entry's index: `BUTLER_EXPORTER__PROBES__0__BEARER_TOKEN`).
fn reject_secrets(src: &Source<'_>, root: &DeTable<'_>) -> Result<(), ConfigError> {
    fn find<'t>(
        table: &'t DeTable<'_>,
        path: &mut Vec<String>,
    ) -> Option<(Vec<String>, &'t Spanned<Cow<'t, str>>)> {
        for (k, v) in table {
            if SECRET_KEYS.contains(&k.get_ref().as_ref()) {
                return Some((path.clone(), k));
            }
            path.push(k.get_ref().to_string());
            let found = match v.get_ref() {
                DeValue::Table(t) => find(t, path),
                DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                    let DeValue::Table(t) = item.get_ref() else {
                        return None;
                    };
                    path.push(i.to_string());
                    let found = find(t, path);
                    path.pop();
                    found
                }),
                _ => None,
            };
            if found.is_some() {
                return found;
            }
            path.pop();
        }
        None
    }
    let Some((sections, key)) = find(root, &mut Vec::new()) else {
        return Ok(());
    };
    let name = key.get_ref().to_string();
    let env = sections
        .iter()
        .chain(std::iter::once(&name))
        .map(|s| s.to_uppercase())
        .collect::<Vec<_>>()
        .join("__");
    Err(ConfigError::SecretInFile {
        path: src.path.to_path_buf(),
        line: Some(line_col(src.text, key.span().start).0),
        env: format!("BUTLER_{env}"),
        key: name,
    })
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

/// For "unknown field `x`, expected one of `a`, `b`": the closest expected name, when close enough.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (strsim::jaro_winkler(unknown, cand), cand))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}
