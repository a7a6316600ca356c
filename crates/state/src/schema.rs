//! The tables in the state file and the version that names their layout.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::StateError;

/// The layout this build reads and writes. A change to the tables bumps it
/// and adds a migration in [`prepare`]; a file with a higher number is
/// refused rather than misread.
pub const SCHEMA_VERSION: i64 = 1;

/// Version 1. `plugin_usage` keeps each plugin's byte count (keys plus
/// values, as the quota counts them) so that `usage` is one row read instead
/// of a scan; the triggers update it inside the same transaction as the write,
/// so it cannot drift from `state`, even across a crash. A plugin's row
/// disappears with its last key, which makes the table the list of plugins
/// that have state. `CAST(key AS BLOB)` counts a key's bytes, where `length`
/// would count its characters.
const CREATE_V1: &str = "
CREATE TABLE meta (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE state (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;

CREATE TABLE plugin_usage (
    plugin TEXT PRIMARY KEY NOT NULL,
    keys INTEGER NOT NULL,
    bytes INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER state_insert AFTER INSERT ON state BEGIN
    INSERT INTO plugin_usage (plugin, keys, bytes)
        VALUES (NEW.plugin, 1, length(CAST(NEW.key AS BLOB)) + length(NEW.value))
        ON CONFLICT (plugin) DO UPDATE SET keys = keys + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER state_delete AFTER DELETE ON state BEGIN
    UPDATE plugin_usage
        SET keys = keys - 1, bytes = bytes - (length(CAST(OLD.key AS BLOB)) + length(OLD.value))
        WHERE plugin = OLD.plugin;
    DELETE FROM plugin_usage WHERE plugin = OLD.plugin AND keys = 0;
END;

CREATE TRIGGER state_update AFTER UPDATE ON state BEGIN
    UPDATE plugin_usage
        SET keys = keys - 1, bytes = bytes - (length(CAST(OLD.key AS BLOB)) + length(OLD.value))
        WHERE plugin = OLD.plugin;
    INSERT INTO plugin_usage (plugin, keys, bytes)
        VALUES (NEW.plugin, 1, length(CAST(NEW.key AS BLOB)) + length(NEW.value))
        ON CONFLICT (plugin) DO UPDATE SET keys = keys + 1, bytes = bytes + excluded.bytes;
    DELETE FROM plugin_usage WHERE plugin = OLD.plugin AND keys = 0;
END;
";

/// Creates the tables in an empty file, or checks that an existing file is
/// plugboard state in a version this build understands.
///
/// It runs in one write transaction so that two processes opening a new file
/// at once (the app and the CLI) do not both create the tables.
pub(crate) fn prepare(conn: &mut Connection, path: &Path) -> Result<(), StateError> {
    let fail = |source| StateError::opening(path, source);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let has_meta: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
            [],
            |row| row.get(0),
        )
        .map_err(fail)?;
    if has_meta {
        let version: Option<i64> = tx
            .query_row("SELECT value FROM meta WHERE name = 'schema_version'", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(fail)?;
        match version {
            Some(SCHEMA_VERSION) => {}
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StateError::NewerSchema {
                    path: path.to_path_buf(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(found) => {
                return Err(StateError::NotPlugboard {
                    path: path.to_path_buf(),
                    reason: format!("its schema version {found} was never written by plugboard"),
                });
            }
            None => {
                return Err(StateError::NotPlugboard {
                    path: path.to_path_buf(),
                    reason: "its meta table has no schema_version".to_string(),
                });
            }
        }
    } else {
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |row| {
                row.get(0)
            })
            .map_err(fail)?;
        if tables > 0 {
            return Err(StateError::NotPlugboard {
                path: path.to_path_buf(),
                reason: format!("it has {tables} tables but no meta table"),
            });
        }
        tx.execute_batch(CREATE_V1).map_err(fail)?;
        tx.execute(
            "INSERT INTO meta (name, value) VALUES ('schema_version', ?1)",
            [SCHEMA_VERSION],
        )
        .map_err(fail)?;
    }
    tx.commit().map_err(fail)
}
