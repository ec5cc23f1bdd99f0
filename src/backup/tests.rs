//! Tests of the archive: path safety, the manifest round trip, torn-tail repair, modes and refusals.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::archive::safe_path;
use super::{BackupError, BackupSettings, backup, restore};
use crate::fees::Database;

#[test]
fn only_plain_relative_paths_are_unpacked() {
    assert_eq!(
        safe_path(Path::new("./logs/a.ndjson")),
        Some(PathBuf::from("logs/a.ndjson"))
    );
    assert_eq!(safe_path(Path::new("../etc/passwd")), None);
    assert_eq!(safe_path(Path::new("/etc/passwd")), None);
    assert_eq!(safe_path(Path::new("a/../../b")), None);
    assert_eq!(safe_path(Path::new(".")), None);
}

#[tokio::test]
async fn round_trip_checks_the_manifest_and_refuses_a_non_empty_target() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir_all(data.join("logs")).unwrap();
    fs::create_dir_all(data.join("bundlers/b1")).unwrap();
    fs::write(data.join("logs/2026-01-01.ndjson"), "{\"id\":1}\n{\"id\":2").unwrap();
    fs::write(data.join("bundlers/b1/key"), "k").unwrap();
    fs::set_permissions(
        data.join("bundlers/b1/key"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::write(data.join("bundlers/b1/run.lock"), "").unwrap();
    let settings = BackupSettings {
        data_dir: data.clone(),
        fees: Database::Sqlite {
            path: data.join("fees.db"),
        },
    };
    let out = dir.path().join("b.tar.gz");
    let m = backup(&settings, &out, &CancellationToken::new())
        .await
        .unwrap();
    let cancelled = CancellationToken::new();
    cancelled.cancel();
    let other = dir.path().join("c.tar.gz");
    assert!(matches!(
        backup(&settings, &other, &cancelled).await,
        Err(BackupError::Cancelled)
    ));
    assert!(!other.exists());
    assert_eq!(m.fees, "absent");
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, vec!["logs/2026-01-01.ndjson", "bundlers/b1/key"]);
    assert_eq!(
        fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let target = dir.path().join("restored");
    let r = restore(&out, &target).unwrap();
    assert_eq!(r.files, 2);
    assert_eq!(
        fs::read_to_string(target.join("logs/2026-01-01.ndjson")).unwrap(),
        "{\"id\":1}\n",
        "the torn last line is dropped, as the journal's start-up does"
    );
    assert_eq!(
        fs::metadata(target.join("bundlers/b1/key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(matches!(
        restore(&out, &target),
        Err(BackupError::NotEmpty { .. })
    ));
    let garbage = dir.path().join("not-a-backup.tar.gz");
    fs::write(&garbage, "nope").unwrap();
    let empty = dir.path().join("empty");
    assert!(matches!(
        restore(&garbage, &empty),
        Err(BackupError::Archive { .. })
    ));
    assert!(!empty.exists(), "nothing is left behind");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
