//! [`SqliteStateStore`]: the host's [`StateStore`] on one SQLite file.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use plugboard_contract::StateStore;
use plugboard_contract::state_store::StateStoreError;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::error::StateError;
use crate::schema;

/// How long a call waits for another process (the CLI while the app runs)
/// to finish its write. Writes are single small transactions, so a longer
/// wait means something is stuck, and the plugin's call should fail rather
/// than hang its handler past the epoch deadline.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One change in a batch given to [`SqliteStateStore::apply`] (the
/// contract's type, which the host stages a call's state writes in).
pub use plugboard_contract::StateChange;

/// Per-plugin key/value state in one SQLite file, safe to share between
/// threads and between processes.
#[derive(Debug)]
pub struct SqliteStateStore {
    path: PathBuf,
    /// One connection behind a mutex: `rusqlite::Connection` is `Send` but
    /// not `Sync`, SQLite lets one writer in at a time anyway, and every call
    /// is a short indexed statement, so a pool would add connections and
    /// file handles without adding throughput.
    conn: Mutex<Connection>,
}

impl SqliteStateStore {
    /// Opens the state database at `path`, creating it, its parent folders
    /// and its tables if needed.
    ///
    /// A file that is not SQLite, is damaged, belongs to another program or
    /// was written by a newer plugboard is refused with an error naming it.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|source| StateError::Create {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        create_private_file(path)?;

        let open_failed = |source| StateError::opening(path, source);
        // No SQLITE_OPEN_URI: the path is a file name, never a `file:` URI
        // whose query string could change how SQLite opens it. No SQLite
        // mutex either: the `Mutex` around the connection serializes it.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_failed)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_failed)?;
        // WAL: readers do not block the writer, and a commit appends to one
        // file instead of rewriting pages in place. This is also the first
        // statement that reads the file, so a non-SQLite file fails here.
        // A file system that cannot do WAL keeps the rollback journal, which
        // is as durable and only makes readers wait for writers.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(open_failed)?;
        // FULL, not NORMAL: with NORMAL a WAL commit is safe against the
        // process dying but the last commits can vanish if the machine loses
        // power, and a plugin that was told its write succeeded may act on
        // it (send a reminder once, advance a sync cursor). FULL syncs the
        // WAL on every commit, and the fsync is the whole cost: on the
        // development VM (benches/state.rs) a `set` took 0.2 ms with FULL
        // against 0.02 ms with NORMAL on an idle disk, 3.4 ms against 0.05 ms
        // while other builds were writing, and a 10-key `set_many` costs about
        // one `set`. That is affordable for state (settings and small
        // records, within a 1 s call deadline), and a handler's writes
        // committed as one batch pay it once. On macOS, fsync does not flush
        // the drive's cache; that would take `PRAGMA fullfsync`, not set here.
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_failed)?;
        schema::prepare(&mut conn, path)?;

        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes every key of `plugin` (for `plugboard remove --purge`) and
    /// returns how many there were.
    pub fn purge(&self, plugin: &str) -> Result<usize, StateError> {
        let conn = self.lock()?;
        conn.execute("DELETE FROM state WHERE plugin = ?1", [plugin])
            .map_err(|e| self.query_failed(plugin, "purge the state", e))
    }

    /// The ids of the plugins that have at least one key, in byte order.
    pub fn plugins(&self) -> Result<Vec<String>, StateError> {
        let conn = self.lock()?;
        let failed = |e| self.database_failed("list the plugins with state", e);
        let mut stmt = conn
            .prepare_cached("SELECT plugin FROM plugin_usage ORDER BY plugin")
            .map_err(failed)?;
        let rows = stmt.query_map([], |row| row.get(0)).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    /// Writes all `entries` for `plugin` in one transaction: after a crash
    /// either every entry is stored or none is.
    pub fn set_many<K: AsRef<str>, V: AsRef<[u8]>>(&self, plugin: &str, entries: &[(K, V)]) -> Result<(), StateError> {
        self.write_batch(plugin, entries.iter().map(|(k, v)| (k.as_ref(), Some(v.as_ref()))))
    }

    /// Applies `changes` for `plugin` in order, in one transaction: after a
    /// crash either every change is stored or none is. This is what commits a
    /// handler's staged state writes.
    pub fn apply(&self, plugin: &str, changes: &[StateChange]) -> Result<(), StateError> {
        self.write_batch(
            plugin,
            changes.iter().map(|change| match change {
                StateChange::Set { key, value } => (key.as_str(), Some(value.as_slice())),
                StateChange::Delete { key } => (key.as_str(), None),
            }),
        )
    }

    /// Writes (`Some`) or deletes (`None`) each key in one transaction.
    fn write_batch<'a>(
        &self,
        plugin: &str,
        changes: impl Iterator<Item = (&'a str, Option<&'a [u8]>)>,
    ) -> Result<(), StateError> {
        let mut conn = self.lock()?;
        let failed = |e| self.query_failed(plugin, "write a batch of changes", e);
        // IMMEDIATE takes the write lock up front, so a second process
        // waits in the busy handler instead of failing halfway through.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        {
            let mut upsert = tx.prepare_cached(UPSERT).map_err(failed)?;
            let mut delete = tx.prepare_cached(DELETE).map_err(failed)?;
            for (key, value) in changes {
                match value {
                    Some(value) => upsert.execute(params![plugin, key, value]),
                    None => delete.execute(params![plugin, key]),
                }
                .map_err(failed)?;
            }
        }
        // Dropping `tx` on an error above rolls the whole batch back.
        tx.commit().map_err(failed)
    }

    /// Locks the connection. A thread that panicked while holding it cannot
    /// have left a half-written change behind once any open transaction is
    /// rolled back, so the lock is recovered instead of failing every later
    /// call.
    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StateError> {
        match self.conn.lock() {
            Ok(conn) => Ok(conn),
            Err(poisoned) => {
                let conn = poisoned.into_inner();
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK")
                        .map_err(|e| self.database_failed("roll back the transaction of a thread that panicked", e))?;
                }
                self.conn.clear_poison();
                Ok(conn)
            }
        }
    }

    fn query_failed(&self, plugin: &str, action: &'static str, source: rusqlite::Error) -> StateError {
        StateError::Query {
            path: self.path.clone(),
            plugin: plugin.to_string(),
            action,
            source: Box::new(source),
        }
    }

    fn database_failed(&self, action: &'static str, source: rusqlite::Error) -> StateError {
        StateError::Database {
            path: self.path.clone(),
            action,
            source: Box::new(source),
        }
    }
}

/// Upsert rather than `INSERT OR REPLACE`: a replace deletes the old row
/// without firing the delete trigger, and the plugin's usage would drift.
const UPSERT: &str = "INSERT INTO state (plugin, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value";
const DELETE: &str = "DELETE FROM state WHERE plugin = ?1 AND key = ?2";

/// Creates the database file readable by its owner only, before SQLite
/// creates it with the umask's default: plugin state may hold tokens.
/// SQLite gives the `-wal` and `-shm` files the same permissions.
fn create_private_file(path: &Path) -> Result<(), StateError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StateError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl StateStore for SqliteStateStore {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StateStoreError> {
        let conn = self.lock()?;
        let failed = |e| self.query_failed(plugin, "read a key", e);
        let mut stmt = conn
            .prepare_cached("SELECT value FROM state WHERE plugin = ?1 AND key = ?2")
            .map_err(failed)?;
        Ok(stmt
            .query_row([plugin, key], |row| row.get(0))
            .optional()
            .map_err(failed)?)
    }

    fn set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StateStoreError> {
        let conn = self.lock()?;
        // One statement outside a transaction commits on its own, together
        // with the usage trigger it fires.
        conn.prepare_cached(UPSERT)
            .and_then(|mut stmt| stmt.execute(params![plugin, key, value]))
            .map_err(|e| self.query_failed(plugin, "write a key", e))?;
        Ok(())
    }

    /// One IMMEDIATE transaction: the usage read, the check and the write
    /// cannot interleave with another writer, in this process or another.
    fn set_within_quota(&self, plugin: &str, key: &str, value: &[u8], quota: u64) -> Result<bool, StateStoreError> {
        let mut conn = self.lock()?;
        let failed = |e| self.query_failed(plugin, "write a key within the quota", e);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        let used: i64 = tx
            .query_row("SELECT bytes FROM plugin_usage WHERE plugin = ?1", [plugin], |row| {
                row.get(0)
            })
            .optional()
            .map_err(failed)?
            .unwrap_or(0);
        let replaced: i64 = tx
            .query_row(
                "SELECT length(CAST(key AS BLOB)) + length(value) FROM state WHERE plugin = ?1 AND key = ?2",
                [plugin, key],
                |row| row.get(0),
            )
            .optional()
            .map_err(failed)?
            .unwrap_or(0);
        let after = u64::try_from(used - replaced).unwrap_or(0) + (key.len() + value.len()) as u64;
        if after > quota {
            // Dropping the transaction rolls it back; nothing was written.
            return Ok(false);
        }
        tx.prepare_cached(UPSERT)
            .and_then(|mut stmt| stmt.execute(params![plugin, key, value]))
            .map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(true)
    }

    /// One IMMEDIATE transaction: the batch is written, the usage the
    /// triggers keep is read back, and the transaction is committed only
    /// if it is within the quota, so a call's state writes cost one fsync
    /// and land all together or not at all.
    fn apply_within_quota(&self, plugin: &str, changes: &[StateChange], quota: u64) -> Result<bool, StateStoreError> {
        let mut conn = self.lock()?;
        let failed = |e| self.query_failed(plugin, "write a batch of changes within the quota", e);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        {
            let mut upsert = tx.prepare_cached(UPSERT).map_err(failed)?;
            let mut delete = tx.prepare_cached(DELETE).map_err(failed)?;
            for change in changes {
                match change {
                    StateChange::Set { key, value } => upsert.execute(params![plugin, key, value]),
                    StateChange::Delete { key } => delete.execute(params![plugin, key]),
                }
                .map_err(failed)?;
            }
        }
        let used: i64 = tx
            .query_row("SELECT bytes FROM plugin_usage WHERE plugin = ?1", [plugin], |row| {
                row.get(0)
            })
            .optional()
            .map_err(failed)?
            .unwrap_or(0);
        if u64::try_from(used).unwrap_or(0) > quota {
            // Dropping the transaction rolls the whole batch back.
            return Ok(false);
        }
        tx.commit().map_err(failed)?;
        Ok(true)
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), StateStoreError> {
        let conn = self.lock()?;
        conn.prepare_cached(DELETE)
            .and_then(|mut stmt| stmt.execute([plugin, key]))
            .map_err(|e| self.query_failed(plugin, "delete a key", e))?;
        Ok(())
    }

    fn list_keys(&self, plugin: &str) -> Result<Vec<String>, StateStoreError> {
        let conn = self.lock()?;
        let failed = |e| self.query_failed(plugin, "list the keys", e);
        // The default BINARY collation compares with memcmp, which on UTF-8
        // is the byte order the trait promises (and `str`'s `Ord`).
        let mut stmt = conn
            .prepare_cached("SELECT key FROM state WHERE plugin = ?1 ORDER BY key")
            .map_err(failed)?;
        let rows = stmt.query_map([plugin], |row| row.get(0)).map_err(failed)?;
        Ok(rows.collect::<Result<_, _>>().map_err(failed)?)
    }

    fn usage(&self, plugin: &str) -> Result<u64, StateStoreError> {
        let conn = self.lock()?;
        let failed = |e| self.query_failed(plugin, "measure the usage", e);
        let mut stmt = conn
            .prepare_cached("SELECT bytes FROM plugin_usage WHERE plugin = ?1")
            .map_err(failed)?;
        let bytes: Option<i64> = stmt.query_row([plugin], |row| row.get(0)).optional().map_err(failed)?;
        // SQLite integers are signed; the triggers never take a count below 0.
        Ok(bytes.map_or(0, |b| u64::try_from(b).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_temp() -> (tempfile::TempDir, SqliteStateStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStateStore::open(&dir.path().join("state.db")).unwrap();
        (dir, store)
    }

    /// The usage table the triggers keep must equal a full recount.
    fn assert_usage_matches_recount(store: &SqliteStateStore) {
        let conn = store.lock().unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT plugin, count(*), sum(length(CAST(key AS BLOB)) + length(value)) FROM state \
                 GROUP BY plugin ORDER BY plugin",
            )
            .unwrap();
        let recount: Vec<(String, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut stmt = conn
            .prepare("SELECT plugin, keys, bytes FROM plugin_usage ORDER BY plugin")
            .unwrap();
        let kept: Vec<(String, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kept, recount);
    }

    #[test]
    fn usage_table_follows_every_kind_of_write() {
        let (_dir, store) = open_temp();
        store.set("a", "k1", b"12345").unwrap();
        store.set("a", "k1", b"1").unwrap();
        store.set("a", "kéy", b"").unwrap();
        store.set("b", "x", &[0; 300]).unwrap();
        assert_usage_matches_recount(&store);
        assert_eq!(store.usage("a").unwrap(), 2 + 1 + 4);

        store
            .apply(
                "a",
                &[
                    StateChange::Set {
                        key: "k2".into(),
                        value: vec![1; 10],
                    },
                    StateChange::Delete { key: "k1".into() },
                    StateChange::Delete { key: "absent".into() },
                ],
            )
            .unwrap();
        assert_usage_matches_recount(&store);
        store.delete("a", "kéy").unwrap();
        store.delete("a", "k2").unwrap();
        assert_usage_matches_recount(&store);
        assert_eq!(store.plugins().unwrap(), vec!["b".to_string()]);

        // An UPDATE that moves a row to another plugin is not something the
        // store issues, but the triggers must still keep count.
        store
            .lock()
            .unwrap()
            .execute("UPDATE state SET plugin = 'c'", [])
            .unwrap();
        assert_usage_matches_recount(&store);
        assert_eq!(store.plugins().unwrap(), vec!["c".to_string()]);
        assert_eq!(store.usage("c").unwrap(), 301);
    }

    #[test]
    fn a_panic_while_holding_the_lock_rolls_back_and_does_not_poison_the_store() {
        let (_dir, store) = open_temp();
        store.set("p", "kept", b"1").unwrap();
        let store = std::sync::Arc::new(store);
        let panicking = std::sync::Arc::clone(&store);
        let result = std::thread::spawn(move || {
            let conn = panicking.conn.lock().unwrap();
            conn.execute_batch("BEGIN; INSERT INTO state VALUES ('p', 'half', x'00');")
                .unwrap();
            // Unwinds like a panic without printing one.
            std::panic::resume_unwind(Box::new("handler thread died mid-transaction"));
        })
        .join();
        assert!(result.is_err());
        assert!(store.conn.is_poisoned());

        assert_eq!(store.get("p", "half").unwrap(), None);
        assert_eq!(store.list_keys("p").unwrap(), vec!["kept".to_string()]);
        store.set("p", "after", b"2").unwrap();
        assert!(!store.conn.is_poisoned());
        assert_usage_matches_recount(&store);
    }

    #[test]
    fn a_failing_batch_leaves_nothing_behind() {
        let (_dir, store) = open_temp();
        store.set("p", "before", b"1").unwrap();
        // Make the third write fail inside the transaction.
        store
            .lock()
            .unwrap()
            .execute_batch(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.state WHEN NEW.key = 'bad' \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .unwrap();
        let err = store
            .set_many("p", &[("one", b"1".as_slice()), ("two", b"2"), ("bad", b"3")])
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(store.list_keys("p").unwrap(), vec!["before".to_string()]);
        assert_usage_matches_recount(&store);
    }
}
