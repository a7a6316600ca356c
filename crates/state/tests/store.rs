//! What a host and a user see of the durable state store: per-plugin round
//! trips, isolation, ordering, usage, purge, reopening, and clear errors for
//! files that are not plugboard state.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plugboard_contract::StateStore;
use plugboard_state::{SCHEMA_VERSION, SqliteStateStore, StateChange, StateError};

fn temp_store() -> (tempfile::TempDir, PathBuf, SqliteStateStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("state.db");
    let store = SqliteStateStore::open(&path).unwrap();
    (dir, path, store)
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| k.to_string()).collect()
}

/// Every path below `dir`, relative to it.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.insert(path.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    found
}

#[test]
fn open_creates_parent_folders_and_round_trips_values() {
    let (_dir, path, store) = temp_store();
    assert!(path.is_file());
    assert_eq!(store.path(), path);

    assert_eq!(store.get("p", "missing").unwrap(), None);
    store.set("p", "greeting", b"hello").unwrap();
    store.set("p", "empty", b"").unwrap();
    store.set("p", "binary", &[0, 255, 0, 1]).unwrap();
    assert_eq!(store.get("p", "greeting").unwrap().as_deref(), Some(&b"hello"[..]));
    assert_eq!(store.get("p", "empty").unwrap().as_deref(), Some(&b""[..]));
    assert_eq!(store.get("p", "binary").unwrap().as_deref(), Some(&[0, 255, 0, 1][..]));

    store.set("p", "greeting", b"bye").unwrap();
    assert_eq!(store.get("p", "greeting").unwrap().as_deref(), Some(&b"bye"[..]));

    store.delete("p", "greeting").unwrap();
    store.delete("p", "greeting").unwrap();
    store.delete("nobody", "nothing").unwrap();
    assert_eq!(store.get("p", "greeting").unwrap(), None);
}

#[test]
fn a_plugin_never_sees_another_plugins_keys() {
    let (_dir, _path, store) = temp_store();
    store.set("a", "shared-name", b"from a").unwrap();
    store.set("a", "only-a", b"1").unwrap();
    store.set("b", "shared-name", b"from b").unwrap();

    assert_eq!(store.get("a", "shared-name").unwrap().as_deref(), Some(&b"from a"[..]));
    assert_eq!(store.get("b", "shared-name").unwrap().as_deref(), Some(&b"from b"[..]));
    assert_eq!(store.get("b", "only-a").unwrap(), None);
    assert_eq!(store.list_keys("b").unwrap(), keys(&["shared-name"]));

    store.delete("b", "only-a").unwrap();
    assert_eq!(store.get("a", "only-a").unwrap().as_deref(), Some(&b"1"[..]));
    store.delete("b", "shared-name").unwrap();
    assert_eq!(store.get("a", "shared-name").unwrap().as_deref(), Some(&b"from a"[..]));

    // Ids that look like prefixes or patterns of each other stay apart.
    store.set("a%", "k", b"x").unwrap();
    store.set("a_", "k", b"y").unwrap();
    assert_eq!(store.list_keys("a").unwrap(), keys(&["only-a", "shared-name"]));
    assert_eq!(
        store.usage("a").unwrap(),
        ("only-a".len() + 1 + "shared-name".len() + 6) as u64
    );
}

#[test]
fn keys_are_listed_in_byte_order() {
    let (_dir, _path, store) = temp_store();
    let mut written = vec![
        "b",
        "a",
        "B",
        "A",
        "aa",
        "a b",
        "é",
        "z",
        "10",
        "9",
        "ä",
        "\u{1F600}",
        "a\0b",
        "a\0",
    ];
    for key in &written {
        store.set("p", key, b"v").unwrap();
    }
    written.sort_unstable_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    assert_eq!(store.list_keys("p").unwrap(), keys(&written));
    assert_eq!(store.list_keys("nobody").unwrap(), Vec::<String>::new());
}

#[test]
fn usage_counts_key_and_value_bytes_of_one_plugin() {
    let (_dir, _path, store) = temp_store();
    assert_eq!(store.usage("p").unwrap(), 0);
    store.set("p", "abc", &[7; 10]).unwrap();
    assert_eq!(store.usage("p").unwrap(), 13);
    // Bytes, not characters: "é" is two bytes in UTF-8.
    store.set("p", "é", b"xyz").unwrap();
    assert_eq!(store.usage("p").unwrap(), 13 + 2 + 3);
    store.set("p", "abc", &[7; 4]).unwrap();
    assert_eq!(store.usage("p").unwrap(), 7 + 5);
    store.set("other", "abc", &[0; 1000]).unwrap();
    assert_eq!(store.usage("p").unwrap(), 12);
    store.delete("p", "abc").unwrap();
    assert_eq!(store.usage("p").unwrap(), 5);
    store.delete("p", "é").unwrap();
    assert_eq!(store.usage("p").unwrap(), 0);
    assert_eq!(store.usage("other").unwrap(), 1003);
}

#[test]
fn purge_removes_one_plugin_and_plugins_lists_the_rest() {
    let (_dir, _path, store) = temp_store();
    assert_eq!(store.plugins().unwrap(), Vec::<String>::new());
    for key in ["x", "y", "z"] {
        store.set("doomed", key, b"1").unwrap();
    }
    store.set("kept", "x", b"1").unwrap();
    store.set("also-kept", "x", b"1").unwrap();
    assert_eq!(store.plugins().unwrap(), keys(&["also-kept", "doomed", "kept"]));

    assert_eq!(store.purge("doomed").unwrap(), 3);
    assert_eq!(store.purge("doomed").unwrap(), 0);
    assert_eq!(store.list_keys("doomed").unwrap(), Vec::<String>::new());
    assert_eq!(store.usage("doomed").unwrap(), 0);
    assert_eq!(store.plugins().unwrap(), keys(&["also-kept", "kept"]));
    assert_eq!(store.get("kept", "x").unwrap().as_deref(), Some(&b"1"[..]));

    store.delete("kept", "x").unwrap();
    assert_eq!(store.plugins().unwrap(), keys(&["also-kept"]));
}

#[test]
fn set_many_and_apply_write_whole_batches() {
    let (_dir, _path, store) = temp_store();
    store
        .set_many("p", &[("a", b"1".to_vec()), ("b", b"2".to_vec())])
        .unwrap();
    store.set_many::<&str, &[u8]>("p", &[]).unwrap();
    store.set_many("p", &[("a", b"one".as_slice())]).unwrap();
    assert_eq!(store.get("p", "a").unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(store.list_keys("p").unwrap(), keys(&["a", "b"]));

    store
        .apply(
            "p",
            &[
                StateChange::Delete { key: "a".into() },
                StateChange::Set {
                    key: "c".into(),
                    value: b"3".to_vec(),
                },
                // Later changes win, as they would if made one by one.
                StateChange::Set {
                    key: "b".into(),
                    value: b"first".to_vec(),
                },
                StateChange::Set {
                    key: "b".into(),
                    value: b"second".to_vec(),
                },
                StateChange::Set {
                    key: "d".into(),
                    value: b"gone".to_vec(),
                },
                StateChange::Delete { key: "d".into() },
            ],
        )
        .unwrap();
    assert_eq!(store.list_keys("p").unwrap(), keys(&["b", "c"]));
    assert_eq!(store.get("p", "b").unwrap().as_deref(), Some(&b"second"[..]));
    assert_eq!(store.usage("p").unwrap(), 1 + 6 + 1 + 1);
}

#[test]
fn a_batch_within_the_quota_is_applied_whole_and_one_past_it_not_at_all() {
    let (_dir, _path, store) = temp_store();
    store.set("p", "old", &[0; 6]).unwrap();
    let batch = [
        StateChange::Set {
            key: "a".into(),
            value: vec![1; 4],
        },
        StateChange::Delete { key: "old".into() },
        StateChange::Set {
            key: "b".into(),
            value: vec![2; 2],
        },
    ];
    // After the batch: "a" + 4 and "b" + 2 = 8 bytes.
    assert!(!store.apply_within_quota("p", &batch, 7).unwrap());
    assert_eq!(store.list_keys("p").unwrap(), keys(&["old"]), "nothing applied");
    assert_eq!(store.usage("p").unwrap(), 9);
    assert!(store.apply_within_quota("p", &batch, 8).unwrap());
    assert_eq!(store.list_keys("p").unwrap(), keys(&["a", "b"]));
    assert_eq!(store.usage("p").unwrap(), 8);
}

#[test]
fn data_survives_reopening() {
    let (_dir, path, store) = temp_store();
    store.set("p", "k", b"v").unwrap();
    store.set_many("q", &[("a", b"1"), ("b", b"2")]).unwrap();
    drop(store);

    let store = SqliteStateStore::open(&path).unwrap();
    assert_eq!(store.get("p", "k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(store.list_keys("q").unwrap(), keys(&["a", "b"]));
    assert_eq!(store.usage("q").unwrap(), 4);
    assert_eq!(store.plugins().unwrap(), keys(&["p", "q"]));
}

#[test]
fn two_handles_on_one_file_see_each_others_writes() {
    let (_dir, path, first) = temp_store();
    let second = SqliteStateStore::open(&path).unwrap();
    first.set("p", "k", b"from first").unwrap();
    assert_eq!(second.get("p", "k").unwrap().as_deref(), Some(&b"from first"[..]));
    second.set_many("p", &[("k", b"from second")]).unwrap();
    assert_eq!(first.get("p", "k").unwrap().as_deref(), Some(&b"from second"[..]));
}

#[test]
fn keys_and_plugin_ids_are_data_never_paths() {
    let (dir, path, store) = temp_store();
    let before = tree(dir.path());

    let hostile = [
        "../../etc/passwd",
        "/etc/passwd",
        "..\\..\\windows\\system32",
        "a\0b",
        "file:x?mode=memory",
        "'; DROP TABLE state; --",
    ];
    for key in hostile {
        store.set("p", key, key.as_bytes()).unwrap();
        store.set(key, key, b"as plugin id").unwrap();
    }
    for key in hostile {
        assert_eq!(store.get("p", key).unwrap().as_deref(), Some(key.as_bytes()));
        assert_eq!(store.get(key, key).unwrap().as_deref(), Some(&b"as plugin id"[..]));
    }
    let mut sorted = hostile.to_vec();
    sorted.sort_unstable();
    assert_eq!(store.list_keys("p").unwrap(), keys(&sorted));
    // The NUL is part of the key, not its end.
    assert_eq!(store.get("p", "a").unwrap(), None);
    assert_eq!(
        store.usage("p").unwrap(),
        hostile.iter().map(|k| 2 * k.len() as u64).sum::<u64>()
    );

    // Only SQLite's own files appear beside the database.
    let name = path.file_name().unwrap().to_str().unwrap();
    let allowed: BTreeSet<PathBuf> = [name.to_string(), format!("{name}-wal"), format!("{name}-shm")]
        .iter()
        .map(|f| Path::new("data").join(f))
        .collect();
    let after = tree(dir.path());
    let created: Vec<_> = after.difference(&before).filter(|p| !allowed.contains(*p)).collect();
    assert!(created.is_empty(), "unexpected files: {created:?}");
    assert!(!dir.path().join("etc").exists());
}

#[cfg(unix)]
#[test]
fn the_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path, store) = temp_store();
    store.set("p", "token", b"secret").unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let wal = path.with_file_name("state.db-wal");
    assert_eq!(std::fs::metadata(wal).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();

    let err = SqliteStateStore::open(&path).unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("move it aside"), "{message}");
    // Refusing the file must not have changed it.
    assert_eq!(std::fs::read(&path).unwrap(), garbage);

    // A short text file is not a database either.
    std::fs::write(&path, "just some notes\n").unwrap();
    let err = SqliteStateStore::open(&path).unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_directory_in_place_of_the_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::create_dir(&path).unwrap();
    let err = SqliteStateStore::open(&path).unwrap_err();
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn a_newer_schema_version_is_refused_naming_the_file() {
    let (_dir, path, store) = temp_store();
    store.set("p", "k", b"v").unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'schema_version'",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(conn);

    let err = SqliteStateStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StateError::NewerSchema { found, supported, .. } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("upgrade plugboard"), "{message}");
}

#[test]
fn another_programs_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');")
        .unwrap();
    drop(conn);

    let err = SqliteStateStore::open(&path).unwrap_err();
    assert!(matches!(err, StateError::NotPlugboard { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn errors_reach_the_host_as_unavailable_with_the_file_name() {
    use plugboard_contract::state_store::StateStoreError;
    let (_dir, path, store) = temp_store();
    // Break the file under the open store: the next write fails, naming
    // the plugin and the file, without a panic.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE state").unwrap();
    drop(conn);
    let err = store.set("some.plugin", "k", b"v").unwrap_err();
    let StateStoreError::Unavailable(message) = err;
    assert!(message.contains("some.plugin"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn damaged_pages_give_errors_naming_the_file_not_panics() {
    let (_dir, path, store) = temp_store();
    for i in 0..500 {
        store.set("p", &format!("key{i:04}"), &[i as u8; 100]).unwrap();
    }
    // Closing the last connection checkpoints the WAL into the main file.
    drop(store);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() > 4 * 4096,
        "expected several pages, got {} bytes",
        bytes.len()
    );
    // Keep the header page, scramble every page after it.
    for (i, byte) in bytes.iter_mut().enumerate().skip(4096) {
        *byte = (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[1];
    }
    std::fs::write(&path, &bytes).unwrap();

    let path_text = path.display().to_string();
    match SqliteStateStore::open(&path) {
        Err(err) => {
            assert!(matches!(err, StateError::Corrupt { .. }), "{err:?}");
            assert!(err.to_string().contains(&path_text), "{err}");
        }
        Ok(store) => {
            let err = store.list_keys("p").unwrap_err();
            let plugboard_contract::state_store::StateStoreError::Unavailable(message) = err;
            assert!(message.contains(&path_text), "{message}");
        }
    }
}

#[test]
fn the_store_is_shared_between_threads() {
    let (_dir, _path, store) = temp_store();
    let store = std::sync::Arc::new(store);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    store
                        .set(&format!("plugin{t}"), &format!("k{i:02}"), &[t as u8; 8])
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    for t in 0..4 {
        assert_eq!(store.list_keys(&format!("plugin{t}")).unwrap().len(), 25);
        assert_eq!(store.usage(&format!("plugin{t}")).unwrap(), 25 * (3 + 8));
    }
}

#[test]
fn set_within_quota_refuses_past_the_quota_even_with_writers_racing() {
    use plugboard_contract::StateStore;
    let dir = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(plugboard_state::SqliteStateStore::open(&dir.path().join("state.sqlite3")).unwrap());
    // Replacing a value counts only the difference.
    assert!(store.set_within_quota("p", "k", &[0; 90], 100).unwrap());
    assert!(store.set_within_quota("p", "k", &[0; 99], 100).unwrap());
    assert!(!store.set_within_quota("p", "k2", &[0; 1], 100).unwrap());
    assert_eq!(store.get("p", "k2").unwrap(), None, "a refused write leaves nothing");

    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let _ = store.set_within_quota("racer", &format!("{t}-{i:02}"), &[1; 60], 1_000);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let used = store.usage("racer").unwrap();
    assert!(used <= 1_000, "{used} bytes stored past a 1000-byte quota");
    assert!(used > 900, "the quota was filled, not refused early: {used}");
}
