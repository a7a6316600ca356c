//! Per-plugin metrics, recorded through the [`metrics`] facade: what the
//! application installs as its recorder (a Prometheus exporter, its own
//! telemetry) receives them; with none installed every recording is a
//! no-op.
//!
//! Every metric carries the label `plugin` (the plugin id); the traps
//! counter also `kind` (an [`AbuseKind`] name). The handles are obtained
//! once, when a plugin is added to the dispatcher (that allocates the
//! label), and kept with it, so that a dispatch only increments and records
//! through handles it already holds: no lookup, no lock, no allocation on
//! the dispatch path by this module (what the recorder does inside
//! `increment` and `record` is the recorder's; the Prometheus one uses
//! atomics). A recorder installed after a plugin was added does not see
//! that plugin until it is added again (reloaded): install it before
//! opening the host.
//!
//! The set of series is bounded: one per metric and plugin added since the
//! recorder was installed, and one per abuse kind and plugin for traps; a
//! plugin reloaded under the same id registers the same series again, so
//! its counters go on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram};

use crate::abuse::AbuseKind;
use crate::dispatcher::Outcome;

/// Events (application events and emitted ones) a plugin's handler
/// returned Ok for, its changes committed.
pub const EVENTS_HANDLED: &str = "plugboard_events_handled_total";
/// Commands a plugin ran to the end, its changes committed.
pub const COMMANDS_RUN: &str = "plugboard_commands_run_total";
/// Calls that failed without a trap: the handler returned an error, its
/// changes were refused, it ran out of the dispatch's budget, it could not
/// start, or the application's stores failed.
pub const ERRORS: &str = "plugboard_errors_total";
/// Calls stopped by a trap, by kind of abuse (`kind` label).
pub const TRAPS: &str = "plugboard_traps_total";
/// Host calls refused for lack of a permission.
pub const DENIED_CALLS: &str = "plugboard_denied_calls_total";
/// Fuel the plugin's calls consumed (only when the host meters fuel).
pub const FUEL_USED: &str = "plugboard_fuel_used_total";
/// The most linear memory any instance of the plugin had, in bytes.
pub const MEMORY_HIGH_WATER: &str = "plugboard_memory_high_water_bytes";
/// Instances created (each runs `init`).
pub const INSTANTIATIONS: &str = "plugboard_instantiations_total";
/// Time in the plugin per delivery or command, in seconds: starting its
/// instance when it had none, and the call.
pub const CALL_SECONDS: &str = "plugboard_call_seconds";

/// Every metric name, in the order `plugboard stats` shows them.
pub const ALL: [&str; 9] = [
    EVENTS_HANDLED,
    COMMANDS_RUN,
    ERRORS,
    TRAPS,
    DENIED_CALLS,
    FUEL_USED,
    MEMORY_HIGH_WATER,
    INSTANTIATIONS,
    CALL_SECONDS,
];

/// Describes every metric to the installed recorder (the `# HELP` lines of
/// a Prometheus endpoint). Call once, after installing the recorder.
pub fn describe() {
    ::metrics::describe_counter!(EVENTS_HANDLED, "Events the plugin's handler returned Ok for");
    ::metrics::describe_counter!(COMMANDS_RUN, "Commands the plugin ran to the end");
    ::metrics::describe_counter!(ERRORS, "Calls that failed without a trap");
    ::metrics::describe_counter!(TRAPS, "Calls stopped by a trap, by kind of abuse");
    ::metrics::describe_counter!(DENIED_CALLS, "Host calls refused for lack of a permission");
    ::metrics::describe_counter!(FUEL_USED, "Fuel the plugin's calls consumed");
    ::metrics::describe_gauge!(
        MEMORY_HIGH_WATER,
        ::metrics::Unit::Bytes,
        "The most linear memory an instance of the plugin had"
    );
    ::metrics::describe_counter!(INSTANTIATIONS, "Instances created");
    ::metrics::describe_histogram!(
        CALL_SECONDS,
        ::metrics::Unit::Seconds,
        "Time in the plugin per delivery or command"
    );
}

/// One plugin's metric handles, registered when it is added.
pub(crate) struct PluginMetrics {
    events_handled: Counter,
    commands_run: Counter,
    errors: Counter,
    /// By `AbuseKind as usize`.
    traps: [Counter; AbuseKind::ALL.len()],
    denied_calls: Counter,
    fuel_used: Counter,
    memory_high_water: Gauge,
    instantiations: Counter,
    call_seconds: Histogram,
    /// The high-water mark so far, so the gauge is set only when it rises.
    memory_peak: AtomicU64,
}

impl PluginMetrics {
    /// Registers the handles of plugin `id` with the installed recorder.
    pub(crate) fn register(id: &str) -> PluginMetrics {
        let plugin = id.to_string();
        let counter = |name: &'static str| ::metrics::counter!(name, "plugin" => plugin.clone());
        PluginMetrics {
            events_handled: counter(EVENTS_HANDLED),
            commands_run: counter(COMMANDS_RUN),
            errors: counter(ERRORS),
            traps: AbuseKind::ALL
                .map(|kind| ::metrics::counter!(TRAPS, "plugin" => plugin.clone(), "kind" => kind.name())),
            denied_calls: counter(DENIED_CALLS),
            fuel_used: counter(FUEL_USED),
            memory_high_water: ::metrics::gauge!(MEMORY_HIGH_WATER, "plugin" => plugin.clone()),
            instantiations: counter(INSTANTIATIONS),
            call_seconds: ::metrics::histogram!(CALL_SECONDS, "plugin" => plugin.clone()),
            memory_peak: AtomicU64::new(0),
        }
    }

    /// Records what one delivery or command came to, and how long it took.
    /// A call that was not made (not delivered to this world) records
    /// nothing.
    pub(crate) fn outcome(&self, outcome: &Outcome, command: bool, denied: usize, elapsed: Duration) {
        match outcome {
            Outcome::Handled if command => self.commands_run.increment(1),
            Outcome::Handled => self.events_handled.increment(1),
            Outcome::Trapped(abuse) => self.traps[abuse.kind as usize].increment(1),
            Outcome::NotDelivered(_) => return,
            Outcome::Rejected(_)
            | Outcome::CommitFailed(_)
            | Outcome::Unavailable(_)
            | Outcome::OutOfBudget(_)
            | Outcome::HostFailed(_) => self.errors.increment(1),
        }
        if denied > 0 {
            self.denied_calls.increment(denied as u64);
        }
        self.call_seconds.record(elapsed.as_secs_f64());
    }

    /// Records a trap outside a delivery (a plugin's `init` when it is
    /// started ahead of its first event).
    pub(crate) fn trapped(&self, kind: AbuseKind) {
        self.traps[kind as usize].increment(1);
    }

    /// Records a new instance.
    pub(crate) fn instantiated(&self) {
        self.instantiations.increment(1);
    }

    /// Records what one call used: fuel (when metered) and the instance's
    /// linear memory after it.
    pub(crate) fn used(&self, fuel: Option<u64>, memory: usize) {
        if let Some(fuel) = fuel
            && fuel > 0
        {
            self.fuel_used.increment(fuel);
        }
        let memory = memory as u64;
        if self.memory_peak.fetch_max(memory, Ordering::Relaxed) < memory {
            self.memory_high_water.set(memory as f64);
        }
    }
}
