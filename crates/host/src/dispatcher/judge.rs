//! What the dispatcher does about a plugin's conduct: counting strikes,
//! quarantining past the threshold (persisted, told to the application's
//! listeners), and writing each plugin's log and audit lines. It keeps them
//! through the stores the application gave the dispatcher (the contract's
//! traits), never in files of its own.

use std::collections::HashMap;
use std::sync::Arc;

use plugboard_contract::Clock;

use super::log_writer::{Entry, LogWriter};
use crate::abuse::{Abuse, StrikePolicy, Strikes};
use crate::context::CallEffects;
use crate::quarantine::{InMemoryQuarantine, QuarantineRecord, QuarantineStore};

/// A callback the embedding app registers to hear of quarantines.
pub type QuarantineListener = Box<dyn FnMut(&QuarantineRecord) + Send>;

/// The dispatcher's record of conduct, behind one lock.
pub(crate) struct Judge {
    pub(crate) policy: StrikePolicy,
    pub(crate) quarantine: Box<dyn QuarantineStore>,
    /// Quarantine records and log lines that could not be written.
    pub(crate) persist_errors: Vec<String>,
    /// Where log and audit lines go, off the dispatch path.
    pub(crate) logs: Option<LogWriter>,
    pub(crate) strikes: HashMap<Arc<str>, Strikes>,
    clock: Clock,
}

impl Judge {
    pub(crate) fn new(clock: Clock) -> Judge {
        Judge {
            policy: StrikePolicy::default(),
            quarantine: Box::new(InMemoryQuarantine::new()),
            persist_errors: Vec::new(),
            logs: None,
            strikes: HashMap::new(),
            clock,
        }
    }

    /// Whether anything would be written for these effects and audit lines;
    /// lets the caller skip the lock for a quiet, successful call.
    pub(crate) fn has_log_work(effects: Option<&CallEffects>, audit: &[String]) -> bool {
        !audit.is_empty() || effects.is_some_and(|e| !e.logs.is_empty() || !e.denied.is_empty())
    }

    /// Writes a plugin's log lines, denied calls and audit lines to its log.
    pub(crate) fn write_log(&mut self, plugin: &str, effects: Option<&CallEffects>, audit: &[String]) {
        let Some(logs) = &self.logs else {
            return;
        };
        let mut entries: Vec<Entry> = Vec::new();
        if let Some(effects) = effects {
            entries.extend(effects.logs.iter().cloned().map(Entry::Plugin));
            entries.extend(
                effects
                    .denied
                    .iter()
                    .map(|p| Entry::Audit(format!("denied: not granted `{p}`"))),
            );
        }
        entries.extend(audit.iter().cloned().map(Entry::Audit));
        if entries.is_empty() {
            return;
        }
        logs.append(plugin, (self.clock)(), entries);
    }

    /// The log writes and quarantine records that failed, oldest first.
    pub(crate) fn persist_errors(&mut self) -> Vec<String> {
        if let Some(logs) = &self.logs {
            self.persist_errors.extend(logs.take_errors());
        }
        self.persist_errors.clone()
    }

    /// Counts `n` strikes of `abuse` against a plugin and persists them;
    /// past the threshold the plugin is quarantined (persisted, logged,
    /// logged) and its record returned: the caller then unloads it and
    /// tells the listeners, outside this lock.
    pub(crate) fn strike(&mut self, id: &Arc<str>, version: &str, abuse: &Abuse, n: u32) -> Option<QuarantineRecord> {
        let strikes = self.strikes.entry(id.clone()).or_default();
        let count = strikes.add(abuse.kind, n);
        let snapshot = strikes.clone();
        if let Err(e) = self.quarantine.record_strikes(id, &snapshot) {
            self.persist_errors.push(e.to_string());
        }
        tracing::warn!(plugin = %id, kind = %abuse.kind, strikes = count, "plugin misbehaved: {}", abuse.detail);
        let threshold = self.policy.threshold(abuse.kind);
        if threshold == 0 || count < threshold {
            return None;
        }
        let record = QuarantineRecord {
            plugin: id.to_string(),
            version: version.to_string(),
            kind: abuse.kind,
            reason: abuse.detail.clone(),
            strikes: count,
            at: (self.clock)(),
        };
        tracing::error!(plugin = %record.plugin, kind = %record.kind, "plugin quarantined: {}", record.reason);
        let message = format!(
            "quarantined after {} {} strike(s): {}",
            record.strikes, record.kind, record.reason
        );
        self.write_log(&record.plugin, None, &[message]);
        // The quarantine is reported once this returns: its log is complete
        // by then.
        if let Some(logs) = &self.logs {
            logs.flush();
        }
        if let Err(e) = self.quarantine.add(record.clone()) {
            self.persist_errors.push(e.to_string());
        }
        Some(record)
    }
}
