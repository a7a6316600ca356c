//! The limits every plugin call runs under: what a manifest may ask for,
//! capped by the host's maxima, with defaults for what it leaves out.

use std::time::Duration;

use plugboard_contract::grants::{GrantedLimit, Grants};
use plugboard_manifest::Limits;

/// How often the engine's epoch advances. A call's deadline is counted in
/// these ticks, so it is also the granularity of every deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Wall-clock time per call unless the manifest asks for less or more:
/// generous for real work, short enough that a stuck plugin does not freeze
/// the application for long.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(1);
/// The longest deadline a plugin gets, whatever it asks for.
pub const MAX_DEADLINE: Duration = Duration::from_secs(30);

/// Linear memory per instance unless asked otherwise: plenty for a plugin
/// that keeps durable data in its state store, as plugins should.
pub const DEFAULT_MEMORY: u64 = 64 << 20;
/// The most linear memory an instance may have.
pub const MAX_MEMORY: u64 = 1 << 30;

/// Table elements per instance unless asked otherwise.
pub const DEFAULT_TABLE_ELEMENTS: u32 = 20_000;
/// The most table elements an instance may have.
pub const MAX_TABLE_ELEMENTS: u32 = 200_000;

/// The wasm stack of every call. Wasmtime sets this per engine, not per
/// plugin, so a manifest's `stack` can only be honoured up to this value.
pub const WASM_STACK: usize = 512 << 10;

/// The largest single value (a string, a list, a payload) a plugin may pass
/// to the host or return, unless asked otherwise.
pub const DEFAULT_MAX_VALUE: u64 = 1 << 20;
/// The largest value any plugin may ask for.
pub const MAX_MAX_VALUE: u64 = 64 << 20;

/// Host calls per event unless asked otherwise: a plugin that needs more is
/// doing work the application should do.
pub const DEFAULT_HOST_CALLS: u64 = 10_000;
/// The most host calls per event any plugin may ask for.
pub const MAX_HOST_CALLS: u64 = 1_000_000;

/// Events a plugin may emit while handling one event, unless asked otherwise.
pub const DEFAULT_EMITS: u32 = 16;
/// The most events per event any plugin may ask for.
pub const MAX_EMITS: u32 = 1_000;

/// Log lines per call; one more is a log flood.
pub const LOG_LINES_PER_CALL: u32 = 1_000;
/// Log bytes per call; past this, lines are cut.
pub const LOG_BYTES_PER_CALL: usize = 256 << 10;
/// Bytes of stdout and stderr kept per call; the rest is dropped.
pub const OUTPUT_BYTES_PER_CALL: usize = 64 << 10;

/// Bytes one call may hand the host in all, unless its `max-value` asks
/// for more (then four values' worth): staged task changes, staged state
/// writes, emitted events and log lines together, each string, list
/// element and record counted with [`ELEMENT_BYTES`] besides its bytes.
/// Past it the call traps, and what it staged is dropped.
pub const DEFAULT_CALL_BYTES: u64 = 8 << 20;
/// The most bytes any call may hand the host.
pub const MAX_CALL_BYTES: u64 = 256 << 20;

/// What the host spends on each string, list element or record a plugin
/// hands it, besides the bytes of its text: a `String` or `Vec` header and
/// its allocation. A list of ten million empty strings is 320 MB, not 0.
pub const ELEMENT_BYTES: u64 = 32;

/// What the host spends on each task it stages for a call, besides its
/// strings: the record, its place in the batch and in the index.
pub const TASK_RECORD_BYTES: u64 = 256;

/// The longest task id, emitted topic or command name a plugin may pass:
/// ids are UUIDs, topics and names are short words.
pub const MAX_NAME_BYTES: usize = 256;

/// The most bytes one `wasi:random` call may ask for.
pub const MAX_RANDOM_BYTES: u64 = 1 << 20;

/// The most handles (streams, pollables, HTTP requests and bodies) a
/// plugin's WASI resource table may hold at once.
pub const MAX_WASI_RESOURCES: usize = 4_096;

/// Core instances, memories and tables one plugin's store may have: a
/// component is several core modules (its code, libc's adapter, shims),
/// but a handful, not thousands. Memory and table caps apply to the total
/// across all of them.
pub const MAX_INSTANCES_PER_STORE: usize = 100;
/// See [`MAX_INSTANCES_PER_STORE`].
pub const MAX_MEMORIES_PER_STORE: usize = 16;
/// See [`MAX_INSTANCES_PER_STORE`].
pub const MAX_TABLES_PER_STORE: usize = 64;

/// Fuel per call when the host counts fuel and the manifest names none.
pub const DEFAULT_FUEL: u64 = 10_000_000_000;

/// How long an emitted event may cause another: plugin A's event triggering
/// B triggering A ends at this depth.
pub const MAX_EMIT_DEPTH: u32 = 4;

/// The most plugins one chain of `commands.invoke` calls passes through,
/// the first caller included: A → B → C → D, and D may invoke no further.
/// A plugin already in the chain may not be invoked again in it.
pub const MAX_INVOKE_DEPTH: usize = 4;

/// Wall-clock time for everything one application event causes: every
/// delivery of it and of the events plugins emit because of it. Each call
/// gets the shorter of its own deadline and what is left of this.
pub const DISPATCH_WALL_CLOCK: Duration = Duration::from_secs(10);

/// Deliveries of emitted events one application event may cause, across
/// all plugins. The application's own event always reaches every
/// subscriber; this bounds what plugins make of it.
pub const DISPATCH_EMITTED_DELIVERIES: u32 = 1_000;

/// Bytes (topic plus payload) of events plugins may emit because of one
/// application event, across all plugins.
pub const DISPATCH_EMITTED_BYTES: u64 = 4 << 20;

/// The epoch ticks in `duration`, rounded up, at least one.
pub fn ticks(duration: Duration) -> u64 {
    let ticks = duration.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// The limits one plugin's calls run under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimits {
    /// Wall-clock time per call.
    pub deadline: Duration,
    /// Fuel per call, when the host counts fuel.
    pub fuel: u64,
    /// Linear memory cap in bytes.
    pub memory: u64,
    /// Table elements cap.
    pub table_elements: u32,
    /// Largest value passed or returned, in bytes.
    pub max_value: u64,
    /// Host calls per event.
    pub host_calls: u64,
    /// Events emitted per event.
    pub emits: u32,
    /// Bytes one call may hand the host in all ([`DEFAULT_CALL_BYTES`]).
    pub call_bytes: u64,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            deadline: DEFAULT_DEADLINE,
            fuel: DEFAULT_FUEL,
            memory: DEFAULT_MEMORY,
            table_elements: DEFAULT_TABLE_ELEMENTS,
            max_value: DEFAULT_MAX_VALUE,
            host_calls: DEFAULT_HOST_CALLS,
            emits: DEFAULT_EMITS,
            call_bytes: DEFAULT_CALL_BYTES,
        }
    }
}

impl CallLimits {
    /// The manifest's `[limits]`, each capped by the host's maximum.
    pub fn from_manifest(limits: &Limits) -> CallLimits {
        let defaults = CallLimits::default();
        let max_value = limits.max_value.unwrap_or(defaults.max_value).min(MAX_MAX_VALUE);
        CallLimits {
            call_bytes: DEFAULT_CALL_BYTES.max(max_value.saturating_mul(4)).min(MAX_CALL_BYTES),
            deadline: limits.deadline.unwrap_or(defaults.deadline).min(MAX_DEADLINE),
            fuel: limits.fuel.unwrap_or(defaults.fuel),
            memory: limits.memory.unwrap_or(defaults.memory).min(MAX_MEMORY),
            table_elements: limits.tables.unwrap_or(defaults.table_elements).min(MAX_TABLE_ELEMENTS),
            max_value,
            host_calls: limits.host_calls.unwrap_or(defaults.host_calls).min(MAX_HOST_CALLS),
            emits: limits.emits_per_event.unwrap_or(defaults.emits).min(MAX_EMITS),
        }
    }

    /// The manifest's `[limits]` as the user granted them: a value at or
    /// below the host's default is taken as asked (a plugin may always ask
    /// for less), one above it only up to what the grants allow
    /// (`limit:<name>`), else the default; then each is capped by the
    /// host's maximum.
    pub fn granted(limits: &Limits, grants: &Grants) -> CallLimits {
        let defaults = CallLimits::default();
        let allow = |name: &str, asked: Option<u64>, default: u64| -> Option<u64> {
            let asked = asked?;
            if asked <= default {
                return Some(asked);
            }
            Some(match grants.limit(name) {
                Some(GrantedLimit::AsRequested) => asked,
                Some(GrantedLimit::AtMost(most)) => asked.min(most.max(default)),
                None => default,
            })
        };
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let count32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let asked = Limits {
            deadline: allow("deadline", limits.deadline.map(millis), millis(defaults.deadline))
                .map(Duration::from_millis),
            fuel: allow("fuel", limits.fuel, defaults.fuel),
            memory: allow("memory", limits.memory, defaults.memory),
            tables: allow(
                "tables",
                limits.tables.map(u64::from),
                u64::from(defaults.table_elements),
            )
            .map(count32),
            max_value: allow("max-value", limits.max_value, defaults.max_value),
            host_calls: allow("host-calls", limits.host_calls, defaults.host_calls),
            emits_per_event: allow(
                "emits-per-event",
                limits.emits_per_event.map(u64::from),
                u64::from(defaults.emits),
            )
            .map(count32),
            ..*limits
        };
        CallLimits::from_manifest(&asked)
    }

    /// What wasmtime may allocate on the host while it copies one host
    /// call's arguments (or one export's results) out of the plugin's
    /// memory, before the host sees them (its "hostcall fuel", counted in
    /// host bytes: a string's bytes, a list's elements times their size).
    /// Twice the largest value, so the host's own size check, which names
    /// the value, comes first for anything of a sensible shape.
    pub fn lift_bytes(&self) -> usize {
        let bytes = self.max_value.saturating_mul(2).saturating_add(64 << 10);
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    /// The number of epoch ticks for the deadline, at least one.
    pub fn deadline_ticks(&self) -> u64 {
        ticks(self.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_limits_are_capped_by_the_host() {
        let asked = Limits {
            deadline: Some(Duration::from_secs(600)),
            memory: Some(4 << 30),
            host_calls: Some(5),
            ..Limits::default()
        };
        let limits = CallLimits::from_manifest(&asked);
        assert_eq!(limits.deadline, MAX_DEADLINE);
        assert_eq!(limits.memory, MAX_MEMORY);
        assert_eq!(limits.host_calls, 5);
        assert_eq!(limits.emits, DEFAULT_EMITS);
        assert_eq!(CallLimits::from_manifest(&Limits::default()), CallLimits::default());
    }

    #[test]
    fn limits_above_the_defaults_need_a_grant() {
        let asked = Limits {
            deadline: Some(Duration::from_secs(30)),
            memory: Some(512 << 20),
            host_calls: Some(5),
            emits_per_event: Some(1_000),
            ..Limits::default()
        };
        let none = CallLimits::granted(&asked, &Grants::none());
        assert_eq!(none.deadline, DEFAULT_DEADLINE, "clamped to the default");
        assert_eq!(none.memory, DEFAULT_MEMORY);
        assert_eq!(none.emits, DEFAULT_EMITS);
        assert_eq!(none.host_calls, 5, "less than the default needs no grant");

        let mut some = Grants::none();
        some.grant(&"limit:deadline=5s".parse().unwrap());
        some.grant(&"limit:memory".parse().unwrap());
        let granted = CallLimits::granted(&asked, &some);
        assert_eq!(granted.deadline, Duration::from_secs(5), "at most what was granted");
        assert_eq!(granted.memory, 512 << 20, "what was asked");
        assert_eq!(granted.emits, DEFAULT_EMITS, "not granted");
        assert_eq!(
            CallLimits::granted(&asked, &Grants::everything_requested()),
            CallLimits::from_manifest(&asked)
        );
    }

    #[test]
    fn deadline_ticks_round_up() {
        let limits = CallLimits {
            deadline: Duration::from_millis(12),
            ..CallLimits::default()
        };
        assert_eq!(limits.deadline_ticks(), 3);
    }
}
