//! Build script: records the source commit for `butler_build_info{commit}`: `$BUTLER_BUILD_COMMIT` when set
//! (builds from a source archive), else `git rev-parse --short=12 HEAD`, else `unknown`.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=BUTLER_BUILD_COMMIT");
    // Rebuild when HEAD moves: the HEAD file, the branch it points to, and packed refs.
    // A path that does not exist would make the script run on every build, so only existing ones are named.
    let mut watched: Vec<PathBuf> = Vec::new();
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        watched.push(git_dir.join("HEAD"));
        if let Some(common) = git(&["rev-parse", "--git-common-dir"]).map(PathBuf::from) {
            watched.push(common.join("packed-refs"));
            if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                watched.push(common.join(branch));
            }
        }
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let commit = std::env::var("BUTLER_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=BUTLER_BUILD_COMMIT={commit}");
}
