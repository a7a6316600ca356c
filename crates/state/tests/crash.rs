//! A write the store reported as committed survives the writer being killed
//! with SIGKILL at an arbitrary moment, and a batch is all there or not at all.
//!
//! The writer is this test binary run again: the parent starts it with
//! `--exact crash_writer` and `STATE_WRITER_DB` set, so only
//! [`crash_writer`] runs in the child, and there it writes until killed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use plugboard_contract::StateStore;
use plugboard_state::SqliteStateStore;

/// Where the child writes; its presence is what makes [`crash_writer`] act.
const DB_VAR: &str = "STATE_WRITER_DB";
/// `single` for one `set` per key, `batch` for `set_many` of [`BATCH_LEN`].
const MODE_VAR: &str = "STATE_WRITER_MODE";
/// Where the child's numbering starts, so rounds on one file do not overlap.
const START_VAR: &str = "STATE_WRITER_START";
const BATCH_LEN: usize = 10;
/// Commits the parent waits for before killing the child.
const COMMITS_BEFORE_KILL: usize = 300;
/// Kill rounds on the same file: each one recovers what the last one left.
const ROUNDS: usize = 3;

/// Each value differs in length so pages split and fill unevenly.
fn value_for(index: usize) -> Vec<u8> {
    format!("value-{index}-").repeat(1 + index % 37).into_bytes()
}

fn batch_key(batch: usize, item: usize) -> String {
    format!("b{batch}-{item}")
}

/// The child's side. A no-op in an ordinary test run.
#[test]
fn crash_writer() {
    let Some(path) = std::env::var_os(DB_VAR) else {
        return;
    };
    let store = SqliteStateStore::open(Path::new(&path)).unwrap();
    let start: usize = std::env::var(START_VAR).unwrap().parse().unwrap();
    let batched = std::env::var(MODE_VAR).unwrap() == "batch";
    for index in start.. {
        if batched {
            let entries: Vec<_> = (0..BATCH_LEN)
                .map(|i| (batch_key(index, i), value_for(index)))
                .collect();
            store.set_many("writer", &entries).unwrap();
        } else {
            store.set("writer", &format!("k{index}"), &value_for(index)).unwrap();
        }
        // Stdout is line-buffered, so the parent sees this line only after
        // `set` has returned.
        println!("committed {index}");
    }
}

/// Kills the child if the test fails before it does.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a writer, waits for [`COMMITS_BEFORE_KILL`] commits, kills it with
/// SIGKILL and returns the indices it reported as committed.
fn run_writer_until_killed(path: &Path, mode: &str, start: usize) -> Vec<usize> {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_writer", "--nocapture", "--test-threads=1"])
        .env(DB_VAR, path)
        .env(MODE_VAR, mode)
        .env(START_VAR, start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut writer = Writer(child);
    let stdout = writer.0.stdout.take().unwrap();
    let mut committed = Vec::new();
    let mut lines = BufReader::new(stdout).lines();
    while committed.len() < COMMITS_BEFORE_KILL {
        let line = lines
            .next()
            .expect("the writer exited before committing enough keys")
            .unwrap();
        committed.extend(committed_index(&line));
    }
    let read_before_kill = committed.len();
    // Kill while it is writing: on unix `kill` sends SIGKILL, so no
    // destructor, no flush, no rollback runs in the child.
    writer.0.kill().unwrap();
    let status = writer.0.wait().unwrap();
    assert!(!status.success(), "the writer should have been killed, got {status}");
    // Lines the child printed between our last read and the kill were
    // committed too; count them.
    committed.extend(lines.map_while(Result::ok).filter_map(|line| committed_index(&line)));
    eprintln!(
        "{mode} writer: {} commits reported ({read_before_kill} read before SIGKILL, {} after)",
        committed.len(),
        committed.len() - read_before_kill
    );
    committed
}

/// The index in a "committed N" line. libtest prints `test crash_writer ... `
/// without a newline before the test's own output, so the marker may not
/// start the line.
fn committed_index(line: &str) -> Option<usize> {
    let (_, index) = line.split_once("committed ")?;
    Some(index.trim().parse().unwrap())
}

fn assert_integrity(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(result, "ok");
}

#[test]
fn every_reported_set_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut start = 0;
    for round in 0..ROUNDS {
        let committed = run_writer_until_killed(&path, "single", start);
        let last = *committed.last().unwrap();
        eprintln!("round {round}: keys k{start}..=k{last} reported committed");

        assert_integrity(&path);
        let store = SqliteStateStore::open(&path).unwrap();
        for &index in &committed {
            let value = store.get("writer", &format!("k{index}")).unwrap();
            assert_eq!(value, Some(value_for(index)), "k{index} was reported committed");
        }
        // The key being written at the kill may or may not be there, but if
        // it is, it is whole.
        let keys = store.list_keys("writer").unwrap();
        let mut expected_usage = 0;
        for key in &keys {
            let index: usize = key[1..].parse().unwrap();
            let value = store.get("writer", key).unwrap().unwrap();
            assert_eq!(value, value_for(index), "{key} is damaged");
            expected_usage += (key.len() + value.len()) as u64;
        }
        assert_eq!(
            committed,
            (start..=last).collect::<Vec<_>>(),
            "the writer skipped an index"
        );
        assert!(keys.len() <= last + 2, "more keys than the writer can have written");
        let in_flight = store.get("writer", &format!("k{}", last + 1)).unwrap().is_some();
        eprintln!(
            "round {round}: k{} (being written at the kill) present: {in_flight}",
            last + 1
        );
        assert_eq!(store.usage("writer").unwrap(), expected_usage);
        start = last + 2;
    }
}

#[test]
fn a_batch_is_all_there_or_absent_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let mut start = 0;
    for round in 0..ROUNDS {
        let committed = run_writer_until_killed(&path, "batch", start);
        let last = *committed.last().unwrap();
        eprintln!("round {round}: batches {start}..={last} of {BATCH_LEN} keys reported committed");

        assert_integrity(&path);
        let store = SqliteStateStore::open(&path).unwrap();
        let keys = store.list_keys("writer").unwrap();
        let mut present = std::collections::BTreeMap::<usize, usize>::new();
        for key in &keys {
            let (batch, _item) = key[1..].split_once('-').unwrap();
            *present.entry(batch.parse().unwrap()).or_default() += 1;
        }
        for (&batch, &count) in &present {
            assert_eq!(count, BATCH_LEN, "batch {batch} is only partly stored");
        }
        assert_eq!(
            committed,
            (start..=last).collect::<Vec<_>>(),
            "the writer skipped a batch"
        );
        for &batch in &committed {
            assert!(present.contains_key(&batch), "batch {batch} was reported committed");
            for item in 0..BATCH_LEN {
                assert_eq!(
                    store.get("writer", &batch_key(batch, item)).unwrap(),
                    Some(value_for(batch))
                );
            }
        }
        start = last + 2;
    }
}
