//! What a plugin did wrong, how many times that is tolerated, and how a trap
//! is told apart from a crash. The kinds of abuse and the strike counts are
//! the contract's ([`plugboard_contract::conduct`]), re-exported here, since
//! the quarantine an application keeps stores them.

use std::fmt;
use std::time::Duration;

pub use plugboard_contract::conduct::{AbuseKind, Strikes};

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
/// any; `deadline` the call's deadline, for the message.
pub(crate) fn classify(error: &wasmtime::Error, limiter_hit: Option<Abuse>, deadline: Duration) -> Abuse {
    if let Some(LimitExceeded(abuse)) = error.downcast_ref::<LimitExceeded>() {
        return abuse.clone();
    }
    if let Some(hit) = limiter_hit {
        return hit;
    }
    let abuse = |kind, detail: String| Abuse { kind, detail };
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
