//! `butler fees explain` and `GET /api/admin/vouch/explain`: what one validator will use, resolved from
//! butler's answer exactly as Vouch resolves it (`ProposerConfig` in Vouch's
//! `services/blockrelay/v2/executionconfig.go`), with the place that decided each value.
//!
//! Vouch starts from the top level (the default config) and its fallbacks: each top-level relay gets the
//! top-level grace and min value (else 0), then its own values, else the fee recipient and gas limit of the
//! top level (else the fallbacks). The first matching entry (a key equal to the validator's, or a pattern
//! matching its `wallet/account` name) then overrides the fee recipient, gas limit, grace and min value of
//! every inherited relay, drops them all with `reset_relays`, updates or (with `disabled`) removes the
//! relays it lists that are inherited, and adds the others, each value taken from the entry's relay, else
//! the entry, else the top level, else the fallback.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FeesError;
use super::goregex::Matcher;

/// Vouch's own fallbacks, set in its configuration (butler does not know them).
const FALLBACK_FEE_RECIPIENT: &str = "Vouch's blockrelay.fallback-fee-recipient";
const FALLBACK_GAS_LIMIT: &str = "Vouch's blockrelay.fallback-gas-limit (default 36000000)";
const ZERO: &str = "unset: 0";

#[derive(Debug, Default, Deserialize)]
struct Values {
    public_key: Option<String>,
    fee_recipient: Option<String>,
    gas_limit: Option<String>,
    grace: Option<String>,
    min_value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EntryRelay {
    #[serde(default)]
    disabled: bool,
    #[serde(flatten)]
    values: Values,
}

#[derive(Debug, Deserialize)]
struct Entry {
    proposer: String,
    #[serde(flatten)]
    values: Values,
    #[serde(default)]
    reset_relays: bool,
    #[serde(default)]
    relays: BTreeMap<String, EntryRelay>,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(flatten)]
    values: Values,
    #[serde(default)]
    relays: BTreeMap<String, Values>,
    #[serde(default)]
    proposers: Vec<Entry>,
}

/// A value and the place that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decided {
    /// `None` when it is one of Vouch's own fallbacks (named in `from`).
    pub value: Option<String>,
    pub from: String,
}

fn decided(value: Option<&String>, from: &str) -> Option<Decided> {
    value.map(|v| Decided {
        value: Some(v.clone()),
        from: from.to_string(),
    })
}

fn fallback(from: &str) -> Decided {
    Decided {
        value: None,
        from: from.to_string(),
    }
}

fn zero() -> Decided {
    Decided {
        value: Some("0".into()),
        from: ZERO.into(),
    }
}

/// A relay the validator will use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayUse {
    pub url: String,
    pub public_key: Option<Decided>,
    pub fee_recipient: Decided,
    pub gas_limit: Decided,
    pub grace: Decided,
    pub min_value: Decided,
    /// Added by the matching entry although it is marked disabled (Vouch adds every relay of an entry that
    /// is not inherited).
    pub added_while_disabled: bool,
}

/// An inherited relay the matching entry removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    pub url: String,
    pub by: String,
}

/// The entry that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matched {
    /// Position in the answer's `proposers`.
    pub index: usize,
    /// `key` or `pattern`.
    pub kind: &'static str,
    /// The entry's `proposer` as sent (a key, or a pattern in its served form).
    pub proposer: String,
    /// The pattern's name in butler.
    pub name: Option<String>,
}

/// What one validator will use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub public_key: String,
    /// The default config and tags of the request (filled in by the caller).
    pub config: String,
    pub tags: Vec<String>,
    pub account: Option<String>,
    pub matched: Option<Matched>,
    pub fee_recipient: Decided,
    /// For the validator's relays unless a relay sets its own (what a relay added by the entry gets).
    pub gas_limit: Decided,
    pub grace: Decided,
    pub min_value: Decided,
    /// By URL.
    pub relays: Vec<RelayUse>,
    pub removed_relays: Vec<Removed>,
    pub notes: Vec<String>,
}

/// Resolves butler's answer `answer` (the execution config for a request holding `key`) for the validator
/// with key bytes `key` and account name `account` (`wallet/account`; without it no pattern can match);
/// `names` holds the butler name of each pattern entry of the answer, by position (`None` for a key entry).
pub fn explain(
    answer: &[u8],
    key: &[u8; 48],
    account: Option<&str>,
    names: &[Option<String>],
) -> Result<Explanation, FeesError> {
    let answer: Answer = serde_json::from_slice(answer)?;
    let top = &answer.values;
    let mut notes = Vec::new();
    let fee_recipient = decided(top.fee_recipient.as_ref(), "default config")
        .unwrap_or_else(|| fallback(FALLBACK_FEE_RECIPIENT));
    let top_gas = decided(top.gas_limit.as_ref(), "default config")
        .unwrap_or_else(|| fallback(FALLBACK_GAS_LIMIT));
    let top_grace = decided(top.grace.as_ref(), "default config").unwrap_or_else(zero);
    let top_min = decided(top.min_value.as_ref(), "default config").unwrap_or_else(zero);
    let mut relays: Vec<RelayUse> = answer
        .relays
        .iter()
        .map(|(url, r)| {
            let own = format!("default config relay {url}");
            RelayUse {
                url: url.clone(),
                public_key: decided(r.public_key.as_ref(), &own),
                fee_recipient: decided(r.fee_recipient.as_ref(), &own)
                    .unwrap_or_else(|| fee_recipient.clone()),
                gas_limit: decided(r.gas_limit.as_ref(), &own).unwrap_or_else(|| top_gas.clone()),
                grace: decided(r.grace.as_ref(), &own).unwrap_or_else(|| top_grace.clone()),
                min_value: decided(r.min_value.as_ref(), &own).unwrap_or_else(|| top_min.clone()),
                added_while_disabled: false,
            }
        })
        .collect();
    let key_text = format!("0x{}", hex::encode(key));
    if account.is_none()
        && answer
            .proposers
            .iter()
            .any(|e| !e.proposer.starts_with("0x"))
    {
        notes.push(
            "no account given: pattern entries were not evaluated (Vouch matches them against the validator's wallet/account name)"
                .to_string(),
        );
    }
    let mut matched = None;
    for (index, e) in answer.proposers.iter().enumerate() {
        let hit = if e.proposer.starts_with("0x") {
            e.proposer.eq_ignore_ascii_case(&key_text)
        } else {
            match account {
                None => false,
                Some(a) => Matcher::new(&e.proposer)
                    .map_err(|err| FeesError::Invalid(format!("entry {index}: {err}")))?
                    .is_match(a),
            }
        };
        if hit {
            matched = Some((index, e));
            break;
        }
    }
    let mut out = Explanation {
        public_key: key_text,
        config: String::new(),
        tags: Vec::new(),
        account: account.map(str::to_string),
        matched: None,
        fee_recipient: fee_recipient.clone(),
        gas_limit: top_gas.clone(),
        grace: top_grace.clone(),
        min_value: top_min.clone(),
        relays: Vec::new(),
        removed_relays: Vec::new(),
        notes,
    };
    let Some((index, e)) = matched else {
        out.relays = relays;
        return Ok(out);
    };
    let (kind, name) = if e.proposer.starts_with("0x") {
        ("key", None)
    } else {
        ("pattern", names.get(index).cloned().flatten())
    };
    let label = match &name {
        Some(n) => format!("pattern '{n}'"),
        None if kind == "key" => "proposer entry".to_string(),
        None => format!("pattern {}", e.proposer),
    };
    out.matched = Some(Matched {
        index,
        kind,
        proposer: e.proposer.clone(),
        name,
    });
    let v = &e.values;
    if let Some(d) = decided(v.fee_recipient.as_ref(), &label) {
        out.fee_recipient = d.clone();
        relays.iter_mut().for_each(|r| r.fee_recipient = d.clone());
    }
    if let Some(d) = decided(v.gas_limit.as_ref(), &label) {
        out.gas_limit = d.clone();
        relays.iter_mut().for_each(|r| r.gas_limit = d.clone());
    }
    if let Some(d) = decided(v.grace.as_ref(), &label) {
        out.grace = d.clone();
        relays.iter_mut().for_each(|r| r.grace = d.clone());
    }
    if let Some(d) = decided(v.min_value.as_ref(), &label) {
        out.min_value = d.clone();
        relays.iter_mut().for_each(|r| r.min_value = d.clone());
    }
    if e.reset_relays {
        for r in relays.drain(..) {
            out.removed_relays.push(Removed {
                url: r.url,
                by: format!("reset_relays of {label}"),
            });
        }
    }
    let inherited: Vec<String> = relays.iter().map(|r| r.url.clone()).collect();
    let mut kept = Vec::new();
    for mut r in relays {
        match e.relays.get(&r.url) {
            Some(pr) if pr.disabled => out.removed_relays.push(Removed {
                url: r.url,
                by: format!("disabled by {label}"),
            }),
            Some(pr) => {
                let own = format!("{label} relay {}", r.url);
                let p = &pr.values;
                if let Some(d) = decided(p.public_key.as_ref(), &own) {
                    r.public_key = Some(d);
                }
                if let Some(d) = decided(p.fee_recipient.as_ref(), &own) {
                    r.fee_recipient = d;
                }
                if let Some(d) = decided(p.gas_limit.as_ref(), &own) {
                    r.gas_limit = d;
                }
                if let Some(d) = decided(p.grace.as_ref(), &own) {
                    r.grace = d;
                }
                if let Some(d) = decided(p.min_value.as_ref(), &own) {
                    r.min_value = d;
                }
                kept.push(r);
            }
            None => kept.push(r),
        }
    }
    for (url, pr) in &e.relays {
        if inherited.contains(url) {
            continue;
        }
        let own = format!("{label} relay {url}");
        let p = &pr.values;
        let chain = |relay: Option<&String>, entry: Option<&String>, top: &Decided| {
            decided(relay, &own)
                .or_else(|| decided(entry, &label))
                .unwrap_or_else(|| top.clone())
        };
        kept.push(RelayUse {
            url: url.clone(),
            public_key: decided(p.public_key.as_ref(), &own),
            fee_recipient: chain(
                p.fee_recipient.as_ref(),
                v.fee_recipient.as_ref(),
                &fee_recipient,
            ),
            gas_limit: chain(p.gas_limit.as_ref(), v.gas_limit.as_ref(), &top_gas),
            grace: chain(p.grace.as_ref(), v.grace.as_ref(), &top_grace),
            min_value: chain(p.min_value.as_ref(), v.min_value.as_ref(), &top_min),
            added_while_disabled: pr.disabled,
        });
    }
    kept.sort_by(|a, b| a.url.cmp(&b.url));
    out.relays = kept;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: [u8; 48] = [0xab; 48];

    fn run(
        answer: serde_json::Value,
        account: Option<&str>,
        names: &[Option<String>],
    ) -> Explanation {
        explain(&serde_json::to_vec(&answer).unwrap(), &K, account, names).unwrap()
    }

    #[test]
    fn no_entry_uses_the_top_level_and_the_fallbacks() {
        let e = run(
            serde_json::json!({"version": 2, "min_value": "0.1",
                "relays": {"https://r1/": {"gas_limit": "40000000"}}, "proposers": []}),
            None,
            &[],
        );
        assert!(e.matched.is_none());
        assert_eq!(e.fee_recipient, fallback(FALLBACK_FEE_RECIPIENT));
        let r = &e.relays[0];
        assert_eq!(r.gas_limit.value.as_deref(), Some("40000000"));
        assert_eq!(r.gas_limit.from, "default config relay https://r1/");
        assert_eq!(r.fee_recipient.value, None);
        assert_eq!(
            (r.min_value.value.as_deref(), r.grace.value.as_deref()),
            (Some("0.1"), Some("0"))
        );
    }

    #[test]
    fn the_first_match_overrides_resets_and_adds_relays_as_vouch_does() {
        let key = format!("0x{}", hex::encode_upper(K));
        let answer = serde_json::json!({"version": 2, "fee_recipient": "0x01", "gas_limit": "30000000",
            "relays": {"https://r1/": {}, "https://r2/": {"min_value": "0.2"}},
            "proposers": [
                {"proposer": "^(?:Other/.*)$", "fee_recipient": "0x09"},
                {"proposer": key, "min_value": "0.5",
                 "relays": {"https://r1/": {"disabled": true}, "https://r2/": {"grace": "100"},
                            "https://r3/": {"public_key": "0xbeef"}, "https://r4/": {"disabled": true}}},
                {"proposer": "^(?:Pool/.*)$", "fee_recipient": "0x07"}]});
        let e = run(
            answer.clone(),
            Some("Pool/a"),
            &[Some("other".into()), None, Some("pool".into())],
        );
        let m = e.matched.as_ref().unwrap();
        assert_eq!((m.index, m.kind, m.name.as_deref()), (1, "key", None));
        assert_eq!(
            e.removed_relays,
            [Removed {
                url: "https://r1/".into(),
                by: "disabled by proposer entry".into()
            }]
        );
        let urls: Vec<&str> = e.relays.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["https://r2/", "https://r3/", "https://r4/"]);
        let (r2, r3, r4) = (&e.relays[0], &e.relays[1], &e.relays[2]);
        assert_eq!(
            r2.min_value.value.as_deref(),
            Some("0.5"),
            "the entry's min value on every inherited relay"
        );
        assert_eq!(r2.grace.from, "proposer entry relay https://r2/");
        assert_eq!(
            r3.public_key.as_ref().unwrap().value.as_deref(),
            Some("0xbeef")
        );
        assert_eq!(r3.fee_recipient.value.as_deref(), Some("0x01"));
        assert_eq!(r3.min_value.from, "proposer entry");
        assert!(
            r4.added_while_disabled,
            "Vouch adds a disabled relay it does not inherit"
        );

        // Without the key entry, the pattern matching the account decides; reset drops the inherited relays.
        let mut answer = answer;
        answer["proposers"][1] = serde_json::json!({"proposer": "^(?:Pool/.*)$", "reset_relays": true,
            "relays": {"https://r5/": {}}});
        let e = run(
            answer,
            Some("Pool/a"),
            &[
                Some("other".into()),
                Some("reset".into()),
                Some("pool".into()),
            ],
        );
        assert_eq!(e.matched.as_ref().unwrap().name.as_deref(), Some("reset"));
        assert_eq!(e.removed_relays.len(), 2);
        assert_eq!(e.relays.len(), 1);
        assert_eq!(e.relays[0].gas_limit.from, "default config");
    }

    #[test]
    fn without_an_account_patterns_are_not_evaluated() {
        let e = run(
            serde_json::json!({"version": 2, "relays": {}, "proposers": [{"proposer": "^(?:.*)$", "gas_limit": "1"}]}),
            None,
            &[Some("all".into())],
        );
        assert!(e.matched.is_none());
        assert!(e.notes[0].contains("no account given"));
    }
}
