//! The `lifecycle` export of plugins built against 2.2.0 or later:
//! `shutdown` before an instance is dropped, `health` when asked.
//!
//! A plugin built against 2.0 or 2.1 has no such export: it is unloaded as
//! before, and its health is not reported. `shutdown` runs when the host
//! unloads (removes, idles out, drops for the live cap), reloads (the old
//! build) or stops the plugin, under [`SHUTDOWN_DEADLINE`] (or the
//! plugin's own deadline when shorter), and what it stages is committed
//! like a handler's; an instance busy in a call at that moment is dropped
//! when the call ends, without `shutdown`. An instance taken out that
//! owes a `shutdown` stays in its slot (as the closing instance) until the
//! `shutdown` has run, under the slot's lock: the plugin's next event, and
//! a new build replacing it, run it first if it is still owed and start
//! their own instance only after it, so the new `init` sees what the old
//! `shutdown` wrote. Instances idle at the end of a dispatch shut down
//! within that dispatch while its budget has [`SHUTDOWN_DEADLINE`] left
//! (on the dispatching thread, so that dropping them never contends with
//! the next event on another core); every other unload shuts down on a
//! task of its own. A `shutdown` that fails or runs
//! out of time is logged and counts no strike. `health` runs under
//! [`HEALTH_DEADLINE`]; its text is cut to [`MAX_HEALTH_CHARS`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Shared;
use super::invoke::{self, CallClock};
use super::slot::{Handler, LiveInstance, Slot, SlotState};
use crate::limits::CallLimits;

/// The longest a `shutdown` runs.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(500);

/// The longest a `health` call runs.
pub const HEALTH_DEADLINE: Duration = Duration::from_millis(500);

/// The most characters of a health answer kept.
pub const MAX_HEALTH_CHARS: usize = 200;

/// What a plugin said about its health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// `health` returned this text.
    Healthy(String),
    /// `health` returned an error, trapped, or the plugin could not start.
    Unhealthy(String),
    /// The plugin has no `lifecycle` export (built before 2.2.0), or no code.
    NotReported,
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Health::Healthy(text) => write!(f, "healthy: {text}"),
            Health::Unhealthy(why) => write!(f, "UNHEALTHY: {why}"),
            Health::NotReported => f.write_str("health not reported"),
        }
    }
}

fn short(limits: &CallLimits, cap: Duration) -> CallLimits {
    CallLimits {
        deadline: limits.deadline.min(cap),
        ..limits.clone()
    }
}

fn cut(text: String) -> String {
    if text.chars().count() <= MAX_HEALTH_CHARS {
        return text;
    }
    text.chars().take(MAX_HEALTH_CHARS).collect::<String>() + "..."
}

impl Shared {
    /// Takes the slot's instance out (the lock is held). One that owes a
    /// `shutdown` stays in the slot as closing, and a task of its own runs
    /// it, so the caller never waits for it; should the plugin's next event
    /// take the lock first, that event runs it before starting a new
    /// instance.
    pub(crate) fn unload_instance(&self, slot: &Arc<Slot>, state: &mut SlotState) {
        if self.take_instance(slot, state) {
            self.spawn_closing(slot);
        }
    }

    /// Takes the slot's instance out (the lock is held), dropping it at once
    /// unless it owes a `shutdown`; then it is kept as the slot's closing
    /// instance and `true` returned: the caller sees that
    /// [`Shared::finish_closing`] runs.
    pub(crate) fn take_instance(&self, slot: &Slot, state: &mut SlotState) -> bool {
        let Some(live) = state.live.take() else {
            return false;
        };
        slot.set_live(state, None);
        if !matches!(&live.handler, Handler::V2(exports) if exports.lifecycle.is_some()) {
            return false;
        }
        // A new instance starts only after the closing one shut down (see
        // `invoke::start_instance`), so there is never a second one here.
        debug_assert!(state.closing.is_none());
        state.closing = Some(live);
        true
    }

    /// Runs the closing instance's `shutdown` on a task of its own, once it
    /// has the slot's lock.
    pub(crate) fn spawn_closing(&self, slot: &Arc<Slot>) {
        let Some(shared) = self.me.upgrade() else {
            return;
        };
        let slot = slot.clone();
        drop(self.runtime.executor().spawn(async move {
            let mut state = slot.state.lock().await;
            shared.finish_closing(&slot, &mut state).await;
        }));
    }

    /// Runs the `shutdown` the slot's closing instance owes, if it has one
    /// (the lock is held), and drops the instance.
    pub(crate) async fn finish_closing(&self, slot: &Slot, state: &mut SlotState) {
        if let Some(live) = state.closing.take() {
            self.shut_down(slot, live).await;
        }
    }

    /// Before the first instance of a plugin that replaced another build:
    /// the old build's instance shuts down first (waiting for its current
    /// call to end, if it is in one), so that two builds of one plugin never
    /// run at once and the new `init` finds what the old one flushed.
    pub(crate) async fn after_predecessor(&self, slot: &Slot) {
        let old = slot.predecessor.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(old) = old {
            let mut state = old.state.lock().await;
            self.finish_closing(&old, &mut state).await;
        }
    }

    /// Runs `shutdown` on an instance taken out of its slot, commits what it
    /// staged, and writes what it did to the plugin's log.
    pub(crate) async fn shut_down(&self, slot: &Slot, mut live: LiveInstance) {
        let Handler::V2(exports) = &live.handler else {
            return;
        };
        let Some(lifecycle) = &exports.lifecycle else {
            return;
        };
        let limits = short(&slot.plugin.limits, SHUTDOWN_DEADLINE);
        let clock = CallClock::new(&limits, Instant::now() + SHUTDOWN_DEADLINE);
        invoke::prepare(&mut live.store, &limits, &clock, self.fuel);
        let result = clock.bound(lifecycle.call_shutdown(&mut live.store)).await;
        let context = live.store.data_mut();
        let mut effects = context.take_effects();
        let audit = match result {
            Ok(()) if context.tx.is_empty() => Vec::new(),
            Ok(()) => {
                let quota = context.policy.state_quota.unwrap_or(0);
                match context.tx.commit(&self.services, &slot.id, quota) {
                    Ok(changes) => {
                        effects.changes = changes;
                        Vec::new()
                    }
                    Err(failure) => vec![format!("the changes of its shutdown were not committed: {failure:?}")],
                }
            }
            Err(trap) => {
                effects.discarded_changes = context.tx.discard();
                vec![format!(
                    "its shutdown failed and was not waited for: {}",
                    context.classify(&trap)
                )]
            }
        };
        self.log(&slot.id, Some(&effects), &audit);
    }

    /// Asks a loaded plugin how it is, starting its instance if it has none.
    pub(crate) async fn health(&self, slot: &Arc<Slot>) -> Health {
        if slot
            .plugin
            .world()
            .is_none_or(|w| w.version == crate::world::WorldVersion::V1)
        {
            return Health::NotReported;
        }
        let ends = Instant::now() + HEALTH_DEADLINE;
        let mut state = slot.state.lock().await;
        if state.live.is_none() {
            self.make_room_for(slot);
        }
        if let Err((outcome, _)) = invoke::start(self, slot, &mut state, ends).await {
            return Health::Unhealthy(format!("it could not start: {outcome}"));
        }
        let Some(live) = state.live.as_mut() else {
            return Health::Unhealthy("it has no live instance".into());
        };
        let Handler::V2(exports) = &live.handler else {
            return Health::NotReported;
        };
        let Some(lifecycle) = &exports.lifecycle else {
            return Health::NotReported;
        };
        let limits = short(&slot.plugin.limits, HEALTH_DEADLINE);
        let clock = CallClock::new(&limits, ends);
        invoke::prepare(&mut live.store, &limits, &clock, self.fuel);
        let answer = clock.bound(lifecycle.call_health(&mut live.store)).await;
        // `health` changes nothing: whatever it staged is dropped.
        live.store.data_mut().tx.discard();
        let _ = live.store.data_mut().take_effects();
        slot.touch(self.started);
        match answer {
            Ok(Ok(text)) => Health::Healthy(cut(text)),
            Ok(Err(error)) => Health::Unhealthy(cut(plugboard_contract::PluginError::from(error).to_string())),
            Err(trap) => {
                let why = live.store.data().classify(&trap).to_string();
                slot.set_live(&mut state, None);
                Health::Unhealthy(format!("its health call failed: {why}"))
            }
        }
    }
}
