//! `butler fees check` and the start-up lint of `serve --fee-manager`: the whole stored configuration
//! checked against what the real clients accept. Vouch refuses a whole execution config when one value
//! does not decode (it then keeps its previous configuration); Commit-Boost's PBS module does not start when
//! a mux has no keys or a key is in two muxes. Every value is checked again with butler's own rules (which
//! are what the clients decode, or stricter), across entries too, so a store written by an older butler or
//! edited by hand is caught before a client sees it.

use std::collections::HashMap;

use serde::Serialize;

use super::model::{DefaultConfigInput, MuxInput, PatternInput, ProposerInput};
use super::transfer::Configuration;
use super::{goregex, validate, vouch};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A client refuses it (or misreads it): `butler fees check` exits non-zero.
    Error,
    /// Accepted, but probably not what was meant (a construct Go and Rust read differently).
    Warning,
    /// How butler serves it, for information.
    Note,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// `vouch` or `commit-boost`: the client concerned.
    pub client: &'static str,
    /// Where: `proposer_patterns[pool1]`, `mux_configs[pool-1].keys[3]`.
    pub place: String,
    pub message: String,
}

fn push(
    out: &mut Vec<Finding>,
    level: Level,
    client: &'static str,
    place: String,
    message: String,
) {
    out.push(Finding {
        level,
        client,
        place,
        message,
    });
}

/// Lints `config`; findings in order (errors, warnings, notes, each by place).
pub fn lint(config: &Configuration) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in &config.default_configs {
        let place = format!("default_configs[{}]", d.name);
        if let Err(e) = DefaultConfigInput::from(d).validate(None, "") {
            push(&mut out, Level::Error, "vouch", place, e.to_string());
        }
    }
    let mut keys: HashMap<[u8; 48], &str> = HashMap::new();
    for p in &config.proposers {
        let place = format!("proposers[{}]", validate::short(&p.public_key));
        match ProposerInput::from(p).validate(None, "") {
            Err(e) => push(
                &mut out,
                Level::Error,
                "vouch",
                place.clone(),
                e.to_string(),
            ),
            Ok(v) if v.public_key != p.public_key => push(
                &mut out,
                Level::Error,
                "vouch",
                place.clone(),
                format!("key stored as '{}', not in lowercase 0x hex", p.public_key),
            ),
            Ok(_) => {}
        }
        if let Some(bytes) = validate::pubkey_bytes(&p.public_key)
            && let Some(other) = keys.insert(bytes, &p.public_key)
        {
            push(
                &mut out,
                Level::Error,
                "vouch",
                place.clone(),
                format!("the same key as '{other}': one of the entries would shadow the other"),
            );
        }
        if vouch::key_entry(p, &Default::default()).is_empty()
            && !vouch::depends_on_base(p.relays.as_deref(), p.reset_relays)
        {
            push(
                &mut out,
                Level::Note,
                "vouch",
                place,
                "overrides nothing: left out of the Vouch answer, so patterns apply to this key"
                    .to_string(),
            );
        }
    }
    for p in &config.proposer_patterns {
        let place = format!("proposer_patterns[{}]", p.name);
        if let Err(e) = PatternInput::from(p).validate(None, "") {
            push(
                &mut out,
                Level::Error,
                "vouch",
                place.clone(),
                e.to_string(),
            );
        } else if let Err(e) = goregex::check(&goregex::served(&p.pattern)) {
            push(
                &mut out,
                Level::Error,
                "vouch",
                place.clone(),
                format!(
                    "served as '{}', which Go refuses: {e}",
                    goregex::served(&p.pattern)
                ),
            );
        }
        for w in validate::pattern_warnings(&p.pattern) {
            push(
                &mut out,
                Level::Warning,
                "vouch",
                place.clone(),
                format!("pattern: {w}"),
            );
        }
        if vouch::pattern_entry(p, &Default::default()).is_empty()
            && !vouch::depends_on_base(p.relays.as_deref(), p.reset_relays)
        {
            push(
                &mut out,
                Level::Note,
                "vouch",
                place.clone(),
                "overrides nothing: left out of the Vouch answer, so later patterns apply"
                    .to_string(),
            );
        }
        if p.tags.is_empty() {
            push(
                &mut out,
                Level::Note,
                "vouch",
                place,
                "has no tags: no request selects it".to_string(),
            );
        }
    }
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for m in &config.mux_configs {
        let place = format!("mux_configs[{}]", m.name);
        if let Err(e) = MuxInput::from(m).validate(None, "") {
            push(
                &mut out,
                Level::Error,
                "commit-boost",
                place.clone(),
                e.to_string(),
            );
        }
        if m.keys.is_empty() {
            push(
                &mut out,
                Level::Error,
                "commit-boost",
                place.clone(),
                "has no keys: Commit-Boost refuses a mux without keys (its PBS module does not start)".to_string(),
            );
        }
        for (i, k) in m.keys.iter().enumerate() {
            if let Some(other) = owner.insert(k, &m.name) {
                let message = if other == m.name {
                    format!("{k} is listed twice in this mux")
                } else {
                    format!("{k} is also in mux '{other}': Commit-Boost refuses a key in two muxes")
                };
                push(
                    &mut out,
                    Level::Error,
                    "commit-boost",
                    format!("{place}.keys[{i}]"),
                    message,
                );
            }
        }
    }
    out.sort_by(|a, b| (a.level, &a.place).cmp(&(b.level, &b.place)));
    out
}

/// Whether any finding is an error (something a client refuses).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.level == Level::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fees::model::{Mux, Pattern, Proposer, Settings};

    fn key(seed: u8) -> String {
        let sk = blst::min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
        format!("0x{}", hex::encode(sk.sk_to_pk().compress()))
    }

    fn found(config: &Configuration) -> Vec<(Level, &'static str, String)> {
        lint(config)
            .into_iter()
            .map(|f| (f.level, f.client, f.place))
            .collect()
    }

    #[test]
    fn cross_entry_rules_of_both_clients() {
        let (a, b) = (key(1), key(2));
        let proposer = |k: &str, min: Option<&str>| Proposer {
            public_key: k.to_string(),
            settings: Settings {
                min_value: min.map(str::to_string),
                ..Settings::default()
            },
            reset_relays: false,
            relays: Some(Vec::new()),
        };
        let config = Configuration {
            version: 1,
            default_configs: Vec::new(),
            proposers: vec![
                proposer(&a, Some("0.1")),
                proposer(&a.to_uppercase().replace("0X", "0x"), Some("0.2")),
                proposer(&b, None),
            ],
            proposer_patterns: vec![Pattern {
                name: "p".into(),
                pattern: "Pool1/\\d+".into(),
                tags: vec!["t".into()],
                settings: Settings {
                    min_value: Some("1".into()),
                    ..Settings::default()
                },
                reset_relays: false,
                relays: Some(Vec::new()),
            }],
            mux_configs: vec![
                Mux {
                    name: "m1".into(),
                    keys: vec![a.clone(), b.clone()],
                },
                Mux {
                    name: "m2".into(),
                    keys: vec![b.clone()],
                },
                Mux {
                    name: "m3".into(),
                    keys: Vec::new(),
                },
            ],
        };
        let short = |k: &str| format!("proposers[{}]", validate::short(k));
        let upper = a.to_uppercase().replace("0X", "0x");
        assert_eq!(
            found(&config),
            [
                (
                    Level::Error,
                    "commit-boost",
                    "mux_configs[m2].keys[0]".to_string()
                ),
                (Level::Error, "commit-boost", "mux_configs[m3]".to_string()),
                (Level::Error, "vouch", short(&upper)),
                (Level::Error, "vouch", short(&upper)),
                (Level::Warning, "vouch", "proposer_patterns[p]".to_string()),
                (Level::Note, "vouch", short(&b)),
            ]
        );
        assert!(has_errors(&lint(&config)));
        let clean = Configuration {
            proposers: vec![proposer(&a, Some("0.1"))],
            mux_configs: vec![Mux {
                name: "m1".into(),
                keys: vec![a.clone()],
            }],
            ..config
        };
        assert!(!has_errors(&lint(&clean)), "{:?}", lint(&clean));
    }
}
