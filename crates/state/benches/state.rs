//! Latency of the calls a plugin's handler makes, on a real file: `set`
//! (one fsync'd commit), `get`, `usage`, a 10-key `set_many`, and, for the
//! `synchronous` trade-off, the same upsert with `synchronous=NORMAL`.
//!
//! `cargo bench -p plugboard-state --bench state` builds no WebAssembly
//! runtime (this crate depends on `plugboard-contract` only); the costs
//! measured here are SQLite's and the disk's.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use plugboard_contract::StateStore;
use plugboard_state::SqliteStateStore;

/// A plugin state value of typical size: a small JSON record.
const VALUE: &[u8] = &[b'x'; 200];

fn state(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStateStore::open(&path).unwrap();
    for i in 0..1000 {
        store.set("bench", &format!("key{i}"), VALUE).unwrap();
    }

    let mut i = 0u64;
    c.bench_function("set (synchronous=FULL)", |b| {
        b.iter(|| {
            i += 1;
            store
                .set("bench", &format!("key{}", i % 1000), black_box(VALUE))
                .unwrap();
        })
    });
    c.bench_function("get", |b| b.iter(|| store.get("bench", black_box("key500")).unwrap()));
    c.bench_function("usage", |b| b.iter(|| store.usage(black_box("bench")).unwrap()));
    let batch: Vec<_> = (0..10).map(|i| (format!("batch{i}"), VALUE)).collect();
    c.bench_function("set_many of 10 (synchronous=FULL)", |b| {
        b.iter(|| store.set_many("bench", black_box(&batch)).unwrap())
    });

    // The same write through a second connection that syncs only at WAL
    // checkpoints, to show what FULL costs.
    let normal = rusqlite::Connection::open(&path).unwrap();
    normal.pragma_update(None, "synchronous", "NORMAL").unwrap();
    let mut upsert = normal
        .prepare(
            "INSERT INTO state (plugin, key, value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
        )
        .unwrap();
    c.bench_function("set (synchronous=NORMAL, for comparison)", |b| {
        b.iter(|| {
            i += 1;
            upsert
                .execute(rusqlite::params!["bench", format!("key{}", i % 1000), black_box(VALUE)])
                .unwrap();
        })
    });
}

criterion_group!(benches, state);
criterion_main!(benches);
