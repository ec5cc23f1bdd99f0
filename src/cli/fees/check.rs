//! `butler fees check`: the stored configuration linted against what Vouch and Commit-Boost accept
//! ([`crate::fees::check`]); exit 1 when a client would refuse something.

use std::process::ExitCode;

use super::emit_json;
use crate::fees::check::{self, Level};
use crate::fees::{FeesError, Store};
use crate::output::{OutputFormat, table};

pub(super) async fn run(store: &Store, out: OutputFormat) -> Result<ExitCode, FeesError> {
    let findings = check::lint(&store.export().await?);
    let failed = check::has_errors(&findings);
    if out == OutputFormat::Json {
        emit_json(&serde_json::json!({ "ok": !failed, "findings": findings }))?;
    } else if findings.is_empty() {
        println!("no problems found: Vouch and Commit-Boost accept the stored configuration");
    } else {
        let mut t = table(["level", "client", "place", "finding"]);
        for f in &findings {
            let level = match f.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Note => "note",
            };
            t.add_row(vec![
                level.to_string(),
                f.client.to_string(),
                f.place.clone(),
                f.message.clone(),
            ]);
        }
        println!("{t}");
        let errors = findings.iter().filter(|f| f.level == Level::Error).count();
        println!(
            "{errors} error(s): {}",
            if failed {
                "a client would refuse this configuration"
            } else {
                "none a client refuses"
            }
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
