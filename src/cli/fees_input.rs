//! Helpers of the `butler fees` commands: keys files, flag overlays (`none` unsets), `--relay` specs, paging
//! and filters, relay tables, and the `export` / `import` commands.

use serde::Serialize;

use super::fees::{CommonFilters, DocFormat, ExportArgs, ImportArgs, PagingArgs, SettingsArgs};
use crate::fees::model::*;
use crate::fees::transfer::{self, Format};
use crate::fees::validate::{self, Loose};
use crate::fees::{FeesError, Store};
use crate::output::{OutputFormat, print_json, table};

pub(super) async fn export(store: &Store, a: ExportArgs) -> Result<(), FeesError> {
    let format = match a.format {
        DocFormat::Json => Format::Json,
        DocFormat::Toml => Format::Toml,
    };
    let text = transfer::render(&store.export().await?, format)?;
    match a.out {
        Some(path) => {
            std::fs::write(&path, text).map_err(|source| FeesError::ReadFile { path, source })
        }
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub(super) async fn import(
    store: &Store,
    out: OutputFormat,
    a: ImportArgs,
) -> Result<(), FeesError> {
    let text = std::fs::read_to_string(&a.file).map_err(|source| FeesError::ReadFile {
        path: a.file.clone(),
        source,
    })?;
    let wanted = transfer::parse(&text, Format::for_path(&a.file), &a.file)?;
    let plan = transfer::plan(&store.export().await?, &wanted);
    let applied = !a.dry_run && !plan.is_empty();
    if applied {
        store.apply(&plan).await?;
    }
    let summary = plan.summary();
    match out {
        OutputFormat::Json => {
            #[derive(Serialize)]
            struct Row<'a> {
                section: &'a str,
                create: usize,
                update: usize,
                delete: usize,
                unchanged: usize,
            }
            let rows: Vec<Row> = summary
                .iter()
                .map(|&(section, create, update, delete, unchanged)| Row {
                    section,
                    create,
                    update,
                    delete,
                    unchanged,
                })
                .collect();
            emit_json(
                &serde_json::json!({ "applied": applied, "dry_run": a.dry_run, "changes": rows }),
            )
        }
        OutputFormat::Table => {
            let mut t = table(["section", "create", "update", "delete", "unchanged"]);
            for (s, c, u, d, n) in summary {
                t.add_row(vec![
                    s.to_string(),
                    c.to_string(),
                    u.to_string(),
                    d.to_string(),
                    n.to_string(),
                ]);
            }
            println!("{t}");
            let what = if a.dry_run {
                "dry run: nothing written"
            } else if applied {
                "applied"
            } else {
                "already up to date"
            };
            println!("{what}");
            Ok(())
        }
    }
}

pub(super) fn emit_json<T: Serialize + ?Sized>(v: &T) -> Result<(), FeesError> {
    print_json(v).map_err(|e| FeesError::Invalid(format!("cannot print JSON: {e}")))
}

/// Keys from `--key` flags and a keys file (JSON array or one per line).
pub(super) fn read_keys(
    flags: &[String],
    file: Option<&std::path::Path>,
) -> Result<Vec<String>, FeesError> {
    let mut keys = flags.to_vec();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| FeesError::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        if text.trim_start().starts_with('[') {
            let list: Vec<String> = serde_json::from_str(&text).map_err(|e| {
                FeesError::Invalid(format!("{}: not a JSON array of keys: {e}", path.display()))
            })?;
            keys.extend(list);
        } else {
            keys.extend(text.split_whitespace().map(str::to_string));
        }
    }
    Ok(keys)
}

/// `none` unsets; anything else is the new value; absent keeps the current one.
pub(super) fn overlay_str(current: &mut Option<String>, flag: &Option<String>) {
    if let Some(v) = flag {
        *current = (v != "none").then(|| v.clone());
    }
}

pub(super) fn overlay_num(current: &mut Option<Loose>, flag: &Option<String>) {
    if let Some(v) = flag {
        *current = (v != "none").then(|| Loose(v.clone()));
    }
}

/// Applies the shared flags onto an input's fields.
pub(super) fn overlay_settings(
    s: &SettingsArgs,
    fee_recipient: &mut Option<String>,
    gas_limit: &mut Option<Loose>,
    grace: &mut Option<Loose>,
    min_value: &mut Option<Loose>,
    relays: &mut Option<Vec<RelayInput>>,
) -> Result<(), FeesError> {
    overlay_str(fee_recipient, &s.fee_recipient);
    overlay_num(gas_limit, &s.gas_limit);
    overlay_num(grace, &s.grace);
    overlay_num(min_value, &s.min_value);
    if s.no_relays {
        *relays = Some(Vec::new());
    } else if !s.relays.is_empty() {
        *relays = Some(
            s.relays
                .iter()
                .map(|r| relay_spec(r))
                .collect::<Result<_, _>>()?,
        );
    }
    Ok(())
}

/// `URL[,key=value...][,disabled]`.
fn relay_spec(spec: &str) -> Result<RelayInput, FeesError> {
    let mut parts = spec.split(',');
    let mut r = RelayInput {
        url: parts.next().map(str::to_string),
        ..RelayInput::default()
    };
    for part in parts {
        let (k, v) = part.split_once('=').unwrap_or((part, "true"));
        match k.trim() {
            "public_key" => r.public_key = Some(v.to_string()),
            "fee_recipient" => r.fee_recipient = Some(v.to_string()),
            "gas_limit" => r.gas_limit = Some(Loose(v.to_string())),
            "grace" => r.grace = Some(Loose(v.to_string())),
            "min_value" => r.min_value = Some(Loose(v.to_string())),
            "disabled" => r.disabled = Some(v != "false"),
            other => {
                return Err(FeesError::field(
                    "--relay",
                    format!(
                        "unknown attribute '{other}' in '{spec}' (public_key, fee_recipient, gas_limit, grace, min_value, disabled)"
                    ),
                ));
            }
        }
    }
    Ok(r)
}

pub(super) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".to_string())
}

pub(super) fn relays_table(relays: &[Relay]) -> comfy_table::Table {
    let mut t = table([
        "relay",
        "public_key",
        "fee_recipient",
        "gas_limit",
        "grace",
        "min_value",
        "disabled",
    ]);
    for r in relays {
        t.add_row(vec![
            r.url.clone(),
            r.public_key
                .as_deref()
                .map(validate::short)
                .unwrap_or_else(|| "-".into()),
            opt(&r.settings.fee_recipient),
            opt(&r.settings.gas_limit),
            opt(&r.settings.grace),
            opt(&r.settings.min_value),
            r.disabled.to_string(),
        ]);
    }
    t
}

pub(super) fn paging(p: &PagingArgs) -> Result<Paging, FeesError> {
    if !(1..=MAX_LIMIT).contains(&p.limit) {
        return Err(FeesError::field(
            "--limit",
            format!("{} is not from 1 to {MAX_LIMIT}", p.limit),
        ));
    }
    if p.offset < 0 {
        return Err(FeesError::field("--offset", "must not be negative"));
    }
    Ok(Paging {
        limit: p.limit,
        offset: p.offset,
    })
}

pub(super) fn number_filters(
    c: &CommonFilters,
) -> Result<(Option<String>, Option<String>), FeesError> {
    Ok((
        c.gas_limit
            .as_ref()
            .map(|v| validate::gas_limit("--gas-limit", &Loose(v.clone())))
            .transpose()?,
        c.min_value
            .as_ref()
            .map(|v| validate::min_value("--min-value", &Loose(v.clone())))
            .transpose()?,
    ))
}
