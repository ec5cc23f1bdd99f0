//! `butler fees explain PUBKEY [--default-config NAME] [--tags a,b] [--account wallet/account]`: what one
//! validator will use, resolved from the answer butler would serve as Vouch resolves it
//! ([`crate::fees::explain`]). The default config is `--default-config` because `--config` is butler's
//! global flag for its configuration file.

use clap::Args;

use super::{emit_json, opt};
use crate::fees::explain::{Decided, Explanation};
use crate::fees::snapshot::Snapshot;
use crate::fees::{FeesError, Store, vouch};
use crate::output::{OutputFormat, kv_table, table};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The validator's BLS public key.
    pub public_key: String,
    /// Default config name (the one in Vouch's URL; `config=` of the HTTP route); may be left out when only
    /// one is active.
    #[arg(long = "default-config", value_name = "NAME")]
    pub config_name: Option<String>,
    /// Comma-separated tags (the `?tags=` of Vouch's URL).
    #[arg(long)]
    pub tags: Option<String>,
    /// The validator's account name as Vouch sees it (`wallet/account`); patterns are matched against it.
    #[arg(long, value_name = "WALLET/ACCOUNT")]
    pub account: Option<String>,
}

fn shown(d: &Decided) -> String {
    format!("{} ({})", opt(&d.value), d.from)
}

pub(super) async fn run(store: &Store, out: OutputFormat, a: ExplainArgs) -> Result<(), FeesError> {
    let tags = vouch::parse_tags(a.tags.as_deref())?;
    let (version, config) = store.load().await?;
    let e = Snapshot::build(version, &config)?.explain(
        &a.public_key,
        a.config_name.as_deref(),
        &tags,
        a.account.as_deref(),
    )?;
    if out == OutputFormat::Json {
        return emit_json(&e);
    }
    print(&e);
    Ok(())
}

fn print(e: &Explanation) {
    let matched = match &e.matched {
        None => "none: the default config applies".to_string(),
        Some(m) => match &m.name {
            Some(n) => format!("#{} pattern '{n}' ({})", m.index, m.proposer),
            None => format!("#{} {} entry {}", m.index, m.kind, m.proposer),
        },
    };
    println!(
        "{}",
        kv_table([
            ("public_key", e.public_key.clone()),
            ("config", e.config.clone()),
            ("tags", e.tags.join(",")),
            ("account", e.account.clone().unwrap_or_else(|| "-".into())),
            ("matching entry", matched),
            ("fee_recipient", shown(&e.fee_recipient)),
            ("gas_limit", shown(&e.gas_limit)),
            ("grace", shown(&e.grace)),
            ("min_value", shown(&e.min_value)),
        ])
    );
    let mut t = table([
        "relay",
        "public_key",
        "fee_recipient",
        "gas_limit",
        "grace",
        "min_value",
    ]);
    for r in &e.relays {
        let url = if r.added_while_disabled {
            format!("{} (added although disabled)", r.url)
        } else {
            r.url.clone()
        };
        t.add_row(vec![
            url,
            r.public_key
                .as_ref()
                .map(shown)
                .unwrap_or_else(|| "-".into()),
            shown(&r.fee_recipient),
            shown(&r.gas_limit),
            shown(&r.grace),
            shown(&r.min_value),
        ]);
    }
    println!("{t}");
    for r in &e.removed_relays {
        println!("relay {} removed: {}", r.url, r.by);
    }
    for n in &e.notes {
        println!("note: {n}");
    }
}
