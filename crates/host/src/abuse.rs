//! What a plugin did wrong, how many times that is tolerated, and how a trap
//! is told apart from a crash. The kinds of abuse and the strike counts are
//! the contract's ([`plugboard_contract::conduct`]), re-exported here, since
//! the quarantine an application keeps stores them.

use std::fmt;

pub use plugboard_contract::conduct::{AbuseKind, Strikes};

use crate::limits::CallLimits;

/// One offence: its kind and what exactly happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abuse {
    /// The kind.
    pub kind: AbuseKind,
    /// What happened, for the user.
    pub detail: String,
}

impl fmt::Display for Abuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

/// A limit a host call found exceeded; returned as the error that traps the
/// call, and recognised again when the trap is classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LimitExceeded(pub Abuse);

impl LimitExceeded {
    /// A trap of this kind with this detail.
    pub fn trap(kind: AbuseKind, detail: impl Into<String>) -> wasmtime::Error {
        wasmtime::Error::new(LimitExceeded(Abuse {
            kind,
            detail: detail.into(),
        }))
    }
}

/// A failure of the application's own stores (a busy database, a full
/// disk) during a host call: it stops the call, as the plugin cannot go on
/// without the answer, but it is not the plugin's doing, so it counts no
/// strike and is reported as a host failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostFailure(pub String);

impl HostFailure {
    /// The error that stops the call.
    pub fn trap(why: impl Into<String>) -> wasmtime::Error {
        wasmtime::Error::new(HostFailure(why.into()))
    }
}

/// What wasmtime says when copying a call's arguments or results out of a
/// plugin's memory would allocate more than the store's hostcall fuel.
const LIFT_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";
/// What `wasi:random` says when asked for more than its most bytes.
const RANDOM_TOO_LARGE: &str = "requested len";

/// How many strikes of each kind put a plugin in quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrikePolicy {
    thresholds: [u32; AbuseKind::ALL.len()],
}

impl Default for StrikePolicy {
    /// One strike for what can only be deliberate or disastrous (deadline,
    /// memory, stack, fuel, floods, storms); three for denied calls and
    /// crashes, which an honest plugin with a bug can also cause.
    fn default() -> Self {
        let mut policy = StrikePolicy {
            thresholds: [1; AbuseKind::ALL.len()],
        };
        policy.set(AbuseKind::Denied, 3);
        policy.set(AbuseKind::Crash, 3);
        policy
    }
}

impl StrikePolicy {
    /// Strikes of `kind` that put a plugin in quarantine (0 never does).
    pub fn threshold(&self, kind: AbuseKind) -> u32 {
        self.thresholds[kind as usize]
    }

    /// Changes the threshold for one kind; 0 means never quarantine for it.
    pub fn set(&mut self, kind: AbuseKind, strikes: u32) -> &mut Self {
        self.thresholds[kind as usize] = strikes;
        self
    }
}

/// Says what a failed call did wrong: a limit the host enforced, or a
/// crash. `limiter_hit` is the memory or table cap the call ran into, if
/// any; `limits` the call's limits, for the message.
pub(crate) fn classify(error: &wasmtime::Error, limiter_hit: Option<Abuse>, limits: &CallLimits) -> Abuse {
    let deadline = limits.deadline;
    if let Some(LimitExceeded(abuse)) = error.downcast_ref::<LimitExceeded>() {
        return abuse.clone();
    }
    if let Some(hit) = limiter_hit {
        return hit;
    }
    let abuse = |kind, detail: String| Abuse { kind, detail };
    // wasmtime and WASI report these two bounds as plain errors; their
    // text is the only sign (a test in tests/sandbox.rs holds it to it).
    let text = format!("{error:#}");
    if text.contains(LIFT_EXHAUSTED) {
        return abuse(
            AbuseKind::LargeValue,
            format!(
                "passed the host (or returned) a value that takes more than {} bytes of host memory to copy; \
                 its `max-value` is {} bytes",
                limits.lift_bytes(),
                limits.max_value
            ),
        );
    }
    if text.contains(RANDOM_TOO_LARGE) && text.contains("exceeds limit") {
        return abuse(
            AbuseKind::LargeValue,
            format!("asked wasi:random for more bytes than one call may have: {text}"),
        );
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => abuse(
            AbuseKind::Deadline,
            format!(
                "the call ran past its {} ms deadline and was stopped",
                deadline.as_millis()
            ),
        ),
        Some(wasmtime::Trap::StackOverflow) => abuse(AbuseKind::Stack, "the call overflowed the wasm stack".into()),
        Some(wasmtime::Trap::OutOfFuel) => abuse(AbuseKind::Fuel, "the call ran out of fuel".into()),
        Some(trap) => abuse(AbuseKind::Crash, format!("the plugin trapped: {trap}")),
        None => abuse(AbuseKind::Crash, format!("the call failed: {error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_thresholds_follow_the_security_model() {
        let policy = StrikePolicy::default();
        for kind in [
            AbuseKind::Deadline,
            AbuseKind::Memory,
            AbuseKind::Stack,
            AbuseKind::EventStorm,
        ] {
            assert_eq!(policy.threshold(kind), 1, "{kind}");
        }
        assert_eq!(policy.threshold(AbuseKind::Denied), 3);
        assert_eq!(policy.threshold(AbuseKind::Crash), 3);
        let mut policy = policy;
        policy.set(AbuseKind::Crash, 0);
        assert_eq!(policy.threshold(AbuseKind::Crash), 0);
    }
}
