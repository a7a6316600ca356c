//! A plugin's conduct as the host keeps it: the kinds of misbehaviour it
//! counts ([`AbuseKind`]), the strikes a plugin has collected ([`Strikes`]),
//! the record of a quarantined plugin ([`QuarantineRecord`]), and the
//! [`QuarantineStore`] the host keeps them in, with an in-memory
//! implementation ([`InMemoryQuarantine`]; the file-backed one is
//! `plugboard-state`'s `QuarantineFile`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::task::Timestamp;

/// A kind of misbehaviour the host counts against a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AbuseKind {
    /// A call ran past its wall-clock deadline.
    Deadline,
    /// It tried to grow memory or a table past its cap.
    Memory,
    /// It overflowed the wasm stack.
    Stack,
    /// It ran out of fuel.
    Fuel,
    /// It made more host calls in one event than allowed.
    HostCalls,
    /// It logged more in one call than allowed.
    LogFlood,
    /// It passed or returned a value larger than allowed.
    LargeValue,
    /// It emitted more events than allowed, or kept an emit chain going past
    /// the depth limit.
    EventStorm,
    /// It called something it was not granted.
    Denied,
    /// It trapped on its own (a panic, `unreachable`, a bad memory access).
    Crash,
}

impl AbuseKind {
    /// Every kind.
    pub const ALL: [AbuseKind; 10] = [
        AbuseKind::Deadline,
        AbuseKind::Memory,
        AbuseKind::Stack,
        AbuseKind::Fuel,
        AbuseKind::HostCalls,
        AbuseKind::LogFlood,
        AbuseKind::LargeValue,
        AbuseKind::EventStorm,
        AbuseKind::Denied,
        AbuseKind::Crash,
    ];

    /// The name used in reports and in the quarantine file.
    pub fn name(self) -> &'static str {
        match self {
            AbuseKind::Deadline => "deadline",
            AbuseKind::Memory => "memory",
            AbuseKind::Stack => "stack",
            AbuseKind::Fuel => "fuel",
            AbuseKind::HostCalls => "host-calls",
            AbuseKind::LogFlood => "log-flood",
            AbuseKind::LargeValue => "large-value",
            AbuseKind::EventStorm => "event-storm",
            AbuseKind::Denied => "denied",
            AbuseKind::Crash => "crash",
        }
    }
}

impl fmt::Display for AbuseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Strikes a plugin has collected, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strikes {
    counts: [u32; AbuseKind::ALL.len()],
}

impl Strikes {
    /// Adds strikes; returns the new count for that kind.
    pub fn add(&mut self, kind: AbuseKind, n: u32) -> u32 {
        let count = &mut self.counts[kind as usize];
        *count = count.saturating_add(n);
        *count
    }

    /// The count for one kind.
    pub fn count(&self, kind: AbuseKind) -> u32 {
        self.counts[kind as usize]
    }

    /// Total strikes of every kind.
    pub fn total(&self) -> u32 {
        self.counts.iter().sum()
    }

    /// The kinds with at least one strike, with their counts, in the order
    /// of [`AbuseKind::ALL`].
    pub fn counted(&self) -> impl Iterator<Item = (AbuseKind, u32)> + '_ {
        AbuseKind::ALL
            .into_iter()
            .map(|kind| (kind, self.count(kind)))
            .filter(|(_, count)| *count > 0)
    }
}

/// Why and when a plugin was quarantined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct QuarantineRecord {
    /// The plugin id.
    pub plugin: String,
    /// The plugin version that misbehaved.
    pub version: String,
    /// The kind of abuse that crossed its threshold.
    pub kind: AbuseKind,
    /// What happened, for the user.
    pub reason: String,
    /// Strikes of that kind when it was quarantined.
    pub strikes: u32,
    /// When, in milliseconds since the Unix epoch.
    pub at: Timestamp,
}

/// Why a [`QuarantineStore`] could not keep a change. The change is applied
/// in memory all the same (the plugin stays quarantined for this run); only
/// keeping it across restarts failed.
#[derive(Debug, thiserror::Error)]
pub enum QuarantineStoreError {
    /// The storage failed; the message (and the source, which callers may
    /// downcast to the store's own error) names what and where.
    #[error(transparent)]
    Unavailable(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Where the host keeps quarantined plugins and the strikes of the others,
/// so that a plugin's record survives a restart.
///
/// Reads answer from what the store holds in memory and cannot fail: the
/// host asks on every load and after every strike, and a store reads its
/// storage once, when it is opened. Writes keep the change in memory first,
/// then in storage; an error means only the second step failed.
///
/// The host calls it under its own lock, so methods that change the store
/// take `&mut self` and an implementation needs no locking of its own.
pub trait QuarantineStore: Send {
    /// The record of a quarantined plugin: the host refuses to load a plugin
    /// that has one.
    fn get(&self, plugin: &str) -> Option<&QuarantineRecord>;

    /// Every record, by plugin id: what `plugboard list` and an app's
    /// settings screen show.
    fn list(&self) -> Vec<QuarantineRecord>;

    /// Quarantines a plugin (replacing any earlier record of it): the host
    /// calls it when a plugin's strikes of one kind reach the threshold.
    fn add(&mut self, record: QuarantineRecord) -> Result<(), QuarantineStoreError>;

    /// Lets a plugin load again, and forgives its strikes: the user
    /// re-enabled it, or removed it. Returns its record, if it had one.
    fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineStoreError>;

    /// The strikes a plugin collected in earlier runs: the host starts a
    /// loaded plugin's count from them, so a restart does not wipe them.
    fn strikes(&self, plugin: &str) -> Strikes;

    /// Replaces a plugin's strikes: the host calls it after every strike.
    fn record_strikes(&mut self, plugin: &str, strikes: &Strikes) -> Result<(), QuarantineStoreError>;
}

/// A quarantine kept in memory only: for tests, and for hosts that keep
/// nothing across runs. Its writes never fail. A clone is a copy, not a
/// second handle: read what a host recorded from the host
/// (`Dispatcher::quarantine_records`).
#[derive(Debug, Clone, Default)]
pub struct InMemoryQuarantine {
    records: BTreeMap<String, QuarantineRecord>,
    strikes: BTreeMap<String, Strikes>,
}

impl InMemoryQuarantine {
    /// An empty quarantine.
    pub fn new() -> InMemoryQuarantine {
        InMemoryQuarantine::default()
    }
}

impl QuarantineStore for InMemoryQuarantine {
    fn get(&self, plugin: &str) -> Option<&QuarantineRecord> {
        self.records.get(plugin)
    }

    fn list(&self) -> Vec<QuarantineRecord> {
        self.records.values().cloned().collect()
    }

    fn add(&mut self, record: QuarantineRecord) -> Result<(), QuarantineStoreError> {
        self.records.insert(record.plugin.clone(), record);
        Ok(())
    }

    fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineStoreError> {
        self.strikes.remove(plugin);
        Ok(self.records.remove(plugin))
    }

    fn strikes(&self, plugin: &str) -> Strikes {
        self.strikes.get(plugin).cloned().unwrap_or_default()
    }

    fn record_strikes(&mut self, plugin: &str, strikes: &Strikes) -> Result<(), QuarantineStoreError> {
        if strikes.total() == 0 {
            self.strikes.remove(plugin);
        } else {
            self.strikes.insert(plugin.to_string(), strikes.clone());
        }
        Ok(())
    }
}

/// Lets a store chosen at run time (a `Box<dyn QuarantineStore>`) be given
/// where a store is expected.
impl<T: QuarantineStore + ?Sized> QuarantineStore for Box<T> {
    fn get(&self, plugin: &str) -> Option<&QuarantineRecord> {
        (**self).get(plugin)
    }
    fn list(&self) -> Vec<QuarantineRecord> {
        (**self).list()
    }
    fn add(&mut self, record: QuarantineRecord) -> Result<(), QuarantineStoreError> {
        (**self).add(record)
    }
    fn release(&mut self, plugin: &str) -> Result<Option<QuarantineRecord>, QuarantineStoreError> {
        (**self).release(plugin)
    }
    fn strikes(&self, plugin: &str) -> Strikes {
        (**self).strikes(plugin)
    }
    fn record_strikes(&mut self, plugin: &str, strikes: &Strikes) -> Result<(), QuarantineStoreError> {
        (**self).record_strikes(plugin, strikes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(plugin: &str) -> QuarantineRecord {
        QuarantineRecord {
            plugin: plugin.into(),
            version: "1.0.0".into(),
            kind: AbuseKind::Deadline,
            reason: "the call ran past its 100 ms deadline and was stopped".into(),
            strikes: 1,
            at: 1_700_000_000_000,
        }
    }

    #[test]
    fn strikes_count_per_kind_and_list_only_the_kinds_struck() {
        let mut strikes = Strikes::default();
        assert_eq!(strikes.add(AbuseKind::Denied, 2), 2);
        assert_eq!(strikes.add(AbuseKind::Denied, 1), 3);
        assert_eq!(strikes.add(AbuseKind::Deadline, u32::MAX), u32::MAX);
        assert_eq!(strikes.add(AbuseKind::Deadline, 1), u32::MAX, "counts saturate");
        assert_eq!(
            strikes.counted().collect::<Vec<_>>(),
            [(AbuseKind::Deadline, u32::MAX), (AbuseKind::Denied, 3)]
        );
    }

    #[test]
    fn the_in_memory_quarantine_releases_records_and_forgives_strikes() {
        let mut q = InMemoryQuarantine::new();
        q.add(record("looper")).unwrap();
        q.add(record("other")).unwrap();
        let mut strikes = Strikes::default();
        strikes.add(AbuseKind::Denied, 2);
        q.record_strikes("looper", &strikes).unwrap();
        assert_eq!(q.get("looper"), Some(&record("looper")));
        assert_eq!(q.strikes("looper"), strikes);
        assert_eq!(
            q.list().iter().map(|r| r.plugin.as_str()).collect::<Vec<_>>(),
            ["looper", "other"]
        );

        assert_eq!(q.release("looper").unwrap(), Some(record("looper")));
        assert_eq!(q.get("looper"), None);
        assert_eq!(q.strikes("looper").total(), 0, "release forgives the strikes");
        assert_eq!(q.release("looper").unwrap(), None);
        assert!(q.get("other").is_some());
    }
}
