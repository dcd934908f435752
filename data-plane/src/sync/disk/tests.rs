use super::*;

fn meta(version: u64, base: &str, hash: &str) -> DeltaMeta {
    DeltaMeta {
        version,
        content_hash: hash.to_string(),
        base_version: version - 1,
        base_hash: base.to_string(),
        format: 2,
    }
}

#[test]
fn a_full_snapshot_then_deltas_load_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(load(dir.path()).expect("nothing saved is fine").is_none());
    let mut disk = Disk::open(dir.path(), None);
    disk.save_full(1, "h1", b"base").expect("base");
    disk.append(&meta(2, "h1", "h2"), b"d2").expect("append");
    disk.append(&meta(3, "h2", "h3"), b"d3").expect("append");
    assert_eq!(disk.saved_hash(), Some("h3"));
    let saved = load(dir.path()).expect("load").expect("saved");
    assert_eq!(
        (saved.base.version, saved.base.payload.as_slice()),
        (1, &b"base"[..])
    );
    let versions: Vec<u64> = saved.deltas.iter().map(|d| d.meta.version).collect();
    assert_eq!(versions, [2, 3]);
    assert_eq!(saved.deltas[1].payload, b"d3");
}

#[test]
fn a_new_base_empties_the_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut disk = Disk::open(dir.path(), None);
    disk.save_full(1, "h1", b"base").expect("base");
    disk.append(&meta(2, "h1", "h2"), b"d2").expect("append");
    disk.save_full(5, "h5", b"newer").expect("base");
    disk.append(&meta(6, "h5", "h6"), b"d6").expect("append");
    let saved = load(dir.path()).expect("load").expect("saved");
    assert_eq!(saved.base.version, 5);
    let versions: Vec<u64> = saved.deltas.iter().map(|d| d.meta.version).collect();
    assert_eq!(versions, [6]);
}

#[test]
fn a_delta_that_does_not_follow_the_journal_is_not_appended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut disk = Disk::open(dir.path(), None);
    disk.save_full(1, "h1", b"base").expect("base");
    disk.append(&meta(3, "h2", "h3"), b"d3")
        .expect("a gap is no error");
    assert_eq!(
        disk.saved_hash(),
        None,
        "the next compaction writes what is served"
    );
    let saved = load(dir.path()).expect("load").expect("saved");
    assert!(saved.deltas.is_empty());
}

#[test]
fn a_journal_from_an_earlier_run_is_never_appended_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut disk = Disk::open(dir.path(), None);
    disk.save_full(1, "h1", b"base").expect("base");
    disk.append(&meta(2, "h1", "h2"), b"d2").expect("append");
    drop(disk);
    let reopened = Disk::open(dir.path(), Some("h2"));
    assert_eq!(reopened.saved_hash(), None);
}

#[test]
fn files_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut disk = Disk::open(dir.path(), None);
    disk.save_full(1, "h1", b"base").expect("base");
    disk.append(&meta(2, "h1", "h2"), b"d2").expect("append");
    #[cfg(unix)]
    for name in ["snapshot.bin", JOURNAL] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(name))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}
