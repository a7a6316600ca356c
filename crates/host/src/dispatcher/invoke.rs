//! One call into one plugin: start its instance if it has none (instantiate
//! and `init`), make the call under its deadline, then commit or discard
//! what it staged.
//!
//! Every step runs as a future under a timer: a plugin computing is stopped
//! by the engine's epoch deadline, a plugin waiting inside a WASI call (a
//! clock pollable, a stream, an HTTP response) by the timer, which drops
//! the call. Either way the instance is dropped and its changes discarded.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use plugboard_contract::{Event, PluginError};
use wasmtime::{PoolConcurrencyLimitError, Store};

use super::Shared;
use super::event_forms::EventForms;
use super::report::Outcome;
use super::slot::{Handler, LiveInstance, Slot, SlotState, V2Exports};
use crate::abi::v1::V1Call;
use crate::abuse::{Abuse, AbuseKind, HostFailure, LimitExceeded};
use crate::bindings::v2::plugboard::task_events::types as wit;
use crate::context::{CallEffects, PluginContext};
use crate::grants::Grants;
use crate::limits::{CallLimits, ticks};
use crate::loader::{PluginPre, V2Pre};
use crate::policy::Policy;
use crate::transaction::CommitFailure;
use crate::world::WorldVersion;

/// The text the application reads for an error a plugin's handler returned.
fn rejection(error: wit::Error) -> String {
    PluginError::from(error).to_string()
}

/// How long one call may take: its own deadline, or less when the
/// dispatch it belongs to has less left (then it was `cut`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallClock {
    start: Instant,
    limit: Duration,
    cut: bool,
}

impl CallClock {
    /// The plugin's deadline from now, shortened to what is left before
    /// `ends`.
    pub(crate) fn new(limits: &CallLimits, ends: Instant) -> CallClock {
        CallClock::starting(limits, ends, Instant::now())
    }

    /// The same for a call that starts at `start` (the caller just read the
    /// clock).
    pub(crate) fn starting(limits: &CallLimits, ends: Instant, start: Instant) -> CallClock {
        let left = ends.saturating_duration_since(start);
        if left < limits.deadline {
            CallClock {
                start,
                limit: left,
                cut: true,
            }
        } else {
            CallClock {
                start,
                limit: limits.deadline,
                cut: false,
            }
        }
    }

    /// Runs `call` to its end or to the deadline, whichever comes first.
    /// The timer is made only when the call has to wait: most calls finish
    /// in their first poll, and then cost no timer at all.
    pub(crate) async fn bound<T>(&self, call: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
        let mut call = std::pin::pin!(call);
        let deadline = self.start.checked_add(self.limit).unwrap_or(self.start);
        let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
        let finished = std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = call.as_mut().poll(cx) {
                return Poll::Ready(Some(result));
            }
            let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
            timer.as_mut().poll(cx).map(|()| None)
        })
        .await;
        match finished {
            Some(result) => result,
            None => Err(LimitExceeded::trap(
                AbuseKind::Deadline,
                format!(
                    "the call was still waiting inside a host call at its {} ms deadline and was stopped",
                    self.limit.as_millis()
                ),
            )),
        }
    }

    /// What a failure means: a deadline hit only because the dispatch's
    /// budget shortened it is not the plugin's fault.
    fn outcome(&self, abuse: Abuse) -> Outcome {
        if self.cut && abuse.kind == AbuseKind::Deadline {
            return Outcome::OutOfBudget(format!(
                "the application event's budget had {} ms left for this call, and it needed more",
                self.limit.as_millis()
            ));
        }
        Outcome::Trapped(abuse)
    }
}

/// Why an instance could not be started.
pub(crate) enum Start {
    /// `init` returned an error, or the host had no room for the instance.
    Refused(String),
    /// Instantiation or `init` failed; the outcome says how, and the
    /// effects hold what it logged before it failed.
    Failed(Outcome, CallEffects),
}

/// Why a handler call did not return Ok.
enum CallFailure {
    Rejected(String),
    Trapped(wasmtime::Error),
}

/// Sets the per-call limits and clears the per-call state.
pub(crate) fn prepare(store: &mut Store<PluginContext>, limits: &CallLimits, clock: &CallClock, fuel: bool) {
    prepare_call(store, limits, clock, fuel);
}

fn prepare_call(store: &mut Store<PluginContext>, limits: &CallLimits, clock: &CallClock, fuel: bool) {
    store.data_mut().begin_call();
    store.data_mut().call_ends = clock.start.checked_add(clock.limit);
    store.set_epoch_deadline(ticks(clock.limit));
    if fuel {
        // Setting fuel only fails when fuel is off, which `fuel` rules out.
        let _ = store.set_fuel(limits.fuel);
    }
}

/// Instantiates a 2.x plugin and looks up its exports: the handler, and
/// the lifecycle interface when it has one.
async fn instantiate_v2(pre: &V2Pre, store: &mut Store<PluginContext>) -> wasmtime::Result<V2Exports> {
    let instance = pre.instance.instantiate_async(&mut *store).await?;
    let handler = pre.handler.load(&mut *store, &instance)?;
    let lifecycle = match &pre.lifecycle {
        Some(indices) => Some(indices.load(&mut *store, &instance)?),
        None => None,
    };
    Ok(V2Exports { handler, lifecycle })
}

/// Makes sure the slot has a live instance, creating it and running `init`
/// if needed; returns `init`'s effects when it ran.
pub(crate) async fn ensure_live(
    shared: &Shared,
    slot: &Slot,
    state: &mut SlotState,
    ends: Instant,
) -> Result<Option<CallEffects>, Start> {
    if state.live.is_some() {
        return Ok(None);
    }
    // Boxed: starting an instance is a large future, and without the box
    // every call's future would carry (and copy) its size even when the
    // instance is live, as it is for almost every event.
    Box::pin(start_instance(shared, slot, state, ends)).await
}

/// Instantiates the slot's plugin and runs its `init`.
async fn start_instance(
    shared: &Shared,
    slot: &Slot,
    state: &mut SlotState,
    ends: Instant,
) -> Result<Option<CallEffects>, Start> {
    let plugin = &slot.plugin;
    let Some(code) = &plugin.code else {
        return Err(Start::Refused("it is data only: it has no code to run".into()));
    };
    // The instance this one follows shuts down first: its last state writes
    // land before this `init` runs.
    shared.finish_closing(slot, state).await;
    shared.after_predecessor(slot).await;
    let context = PluginContext::new(
        slot.id.clone(),
        plugin.policy.clone(),
        Arc::new(Policy::new(&plugin.manifest, &Grants::everything_requested())),
        plugin.limits.clone(),
        shared.services.clone(),
        plugin.config.clone(),
    )
    .with_plugin(plugin, Some(shared.neighbours()))
    .with_app_states(shared.runtime.app_states());
    let mut store = Store::new(shared.runtime.engine(), context);
    store.limiter(|context| &mut context.limiter);
    // What wasmtime may allocate copying one host call's arguments (or an
    // export's results) out of the plugin, before the host sees them.
    store.set_hostcall_fuel(plugin.limits.lift_bytes());
    // Component start functions run during instantiation, under the same
    // limits as a call.
    let clock = CallClock::new(&plugin.limits, ends);
    prepare_call(&mut store, &plugin.limits, &clock, shared.fuel);
    let instantiated = match &code.pre {
        PluginPre::V1(pre) => clock.bound(pre.instantiate_async(&mut store)).await.map(Handler::V1),
        PluginPre::V2(pre) => clock.bound(instantiate_v2(pre, &mut store)).await.map(Handler::V2),
    };
    let handler = match instantiated {
        Ok(handler) => {
            slot.metrics.instantiated();
            handler
        }
        // The host's pool is full: not the plugin's doing, so no strike, and
        // the next event tries again.
        Err(e) if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
            return Err(Start::Refused(format!(
                "the host has no room for another live plugin instance ({e}); it is tried again on the next event"
            )));
        }
        Err(e) => {
            let outcome = failure_outcome(&clock, store.data(), &e);
            return Err(Start::Failed(outcome, discarded(store.data_mut())));
        }
    };
    let mut effects = None;
    if let Handler::V2(handler) = &handler {
        let settings: Vec<(String, String)> = plugin.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let clock = CallClock::new(&plugin.limits, ends);
        prepare_call(&mut store, &plugin.limits, &clock, shared.fuel);
        let result = clock.bound(handler.handler.call_init(&mut store, &settings)).await;
        record_use(shared, slot, &store);
        // As for a handler call: past the host-call allowance through the
        // application's interfaces, `init` fails whatever it returned.
        let result = match (result, store.data_mut().take_app_overrun()) {
            (Ok(_), Some(trap)) => Err(trap),
            (result, _) => result,
        };
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let why = format!("init failed: {}", rejection(e));
                let _ = slot.unavailable.set(why.clone());
                return Err(Start::Refused(why));
            }
            Err(trap) => {
                let outcome = failure_outcome(&clock, store.data(), &trap);
                return Err(Start::Failed(outcome, discarded(store.data_mut())));
            }
        }
        // Task changes and state writes in `init` are committed like a
        // handler's.
        let context = store.data_mut();
        let mut taken = context.take_effects();
        if !context.tx.is_empty() {
            let quota = context.policy.state_quota.unwrap_or(0);
            match context.tx.commit(&shared.services, &slot.id, quota) {
                Ok(changes) => taken.changes = changes,
                Err(CommitFailure::Refused { why, .. } | CommitFailure::StateLost { why, .. }) => {
                    return Err(Start::Refused(format!("init's changes were refused: {why}")));
                }
            }
        }
        effects = Some(taken);
    }
    slot.set_live(state, Some(LiveInstance { store, handler }));
    shared.instances.tell(super::InstanceEvent::Started {
        plugin: &slot.id,
        version: &plugin.manifest.plugin.version,
    });
    Ok(effects)
}

/// Commits or discards the call's task changes and gathers its effects.
fn finish_call<T>(
    shared: &Shared,
    slot: &Slot,
    state: &mut SlotState,
    clock: &CallClock,
    result: Result<T, CallFailure>,
) -> (Result<T, Outcome>, CallEffects) {
    let Some(live) = state.live.as_mut() else {
        return (
            Err(Outcome::Unavailable("no live instance".into())),
            CallEffects::default(),
        );
    };
    record_use(shared, slot, &live.store);
    let context = live.store.data_mut();
    // A call that went past its host-call allowance through the
    // application's interfaces fails, whatever it returned.
    let result = match (result, context.take_app_overrun()) {
        (Ok(_), Some(trap)) => Err(CallFailure::Trapped(trap)),
        (result, _) => result,
    };
    match result {
        Ok(value) => {
            let mut effects = context.take_effects();
            if context.tx.is_empty() {
                return (Ok(value), effects);
            }
            let quota = context.policy.state_quota.unwrap_or(0);
            match context.tx.commit(&shared.services, &slot.id, quota) {
                Ok(changes) => {
                    effects.changes = changes;
                    (Ok(value), effects)
                }
                Err(CommitFailure::Refused {
                    why,
                    host_failure,
                    discarded,
                }) => {
                    effects.discarded_changes = discarded;
                    effects.emitted.clear();
                    let outcome = match host_failure {
                        true => Outcome::HostFailed(format!("its changes could not be committed: {why}")),
                        false => Outcome::CommitFailed(why),
                    };
                    (Err(outcome), effects)
                }
                Err(CommitFailure::StateLost { committed, why }) => {
                    effects.changes = committed;
                    effects.emitted.clear();
                    let why = format!("its task changes were committed, its state writes were not: {why}");
                    (Err(Outcome::HostFailed(why)), effects)
                }
            }
        }
        Err(failure) => {
            let discarded = context.tx.discard();
            let outcome = match failure {
                CallFailure::Rejected(why) => Outcome::Rejected(why),
                CallFailure::Trapped(trap) => failure_outcome(clock, context, &trap),
            };
            let mut effects = context.take_effects();
            effects.discarded_changes = discarded;
            effects.emitted.clear();
            if matches!(
                outcome,
                Outcome::Trapped(_) | Outcome::OutOfBudget(_) | Outcome::HostFailed(_)
            ) {
                // A trapped or interrupted instance may be in any state:
                // never reuse it.
                slot.set_live(state, None);
            }
            (Err(outcome), effects)
        }
    }
}

/// Records the fuel a call consumed (its fuel was set to the plugin's
/// limit before it) and the instance's memory after it.
fn record_use(shared: &Shared, slot: &Slot, store: &Store<PluginContext>) {
    let fuel = match shared.fuel {
        true => store
            .get_fuel()
            .ok()
            .map(|left| slot.plugin.limits.fuel.saturating_sub(left)),
        false => None,
    };
    slot.metrics.used(fuel, store.data().limiter.memory_used());
}

/// What a trap or error that stopped a call means: a failure of the
/// application's stores is the host's, anything else is judged as the
/// plugin's.
fn failure_outcome(clock: &CallClock, context: &PluginContext, error: &wasmtime::Error) -> Outcome {
    if let Some(HostFailure(why)) = error.downcast_ref::<HostFailure>() {
        return Outcome::HostFailed(why.clone());
    }
    clock.outcome(context.classify(error))
}

/// What a failed call leaves to report: its logs (a panic message or a
/// traceback the plugin wrote to stderr before it trapped) and how many
/// changes were dropped; its staged changes and events are discarded.
fn discarded(context: &mut PluginContext) -> CallEffects {
    let dropped = context.tx.discard();
    let mut effects = context.take_effects();
    effects.discarded_changes = dropped;
    effects.emitted.clear();
    effects
}

/// Turns a failed start into the delivery's outcome, with what the failed
/// instantiation or `init` logged.
fn start_outcome(start: Start) -> (Outcome, CallEffects) {
    match start {
        Start::Refused(why) => (Outcome::Unavailable(why), CallEffects::default()),
        Start::Failed(outcome, effects) => (outcome, effects),
    }
}

/// Delivers one event to one plugin whose lock the caller holds; the
/// delivery started at `started`.
pub(crate) async fn handle_event(
    shared: &Shared,
    slot: &Slot,
    state: &mut SlotState,
    event: &Event,
    forms: &EventForms,
    ends: Instant,
    started: Instant,
) -> (Outcome, CallEffects) {
    let Some(world) = slot.plugin.world() else {
        return (Outcome::NotDelivered("it is data only".into()), CallEffects::default());
    };
    let read = slot.plugin.policy.tasks_read;
    let v1_call = match world.version {
        WorldVersion::V1 => match forms.v1_for(event, read) {
            Some(call) => Some(call),
            None => {
                let why = format!("{} has no task-events@1 form", event.kind());
                return (Outcome::NotDelivered(why), CallEffects::default());
            }
        },
        WorldVersion::V2 | WorldVersion::V3Dev => None,
    };
    let init = match ensure_live(shared, slot, state, ends).await {
        Ok(init) => init,
        Err(start) => return start_outcome(start),
    };
    let limits = &slot.plugin.limits;
    // A live instance's call starts when the delivery did; one just
    // started (instantiated and `init`) starts now.
    let clock = match init {
        None => CallClock::starting(limits, ends, started),
        Some(_) => CallClock::new(limits, ends),
    };
    let Some(live) = state.live.as_mut() else {
        return (Outcome::Unavailable("no live instance".into()), CallEffects::default());
    };
    prepare_call(&mut live.store, limits, &clock, shared.fuel);
    live.store.data_mut().receive(event);
    let store = &mut live.store;
    let result: wasmtime::Result<Result<(), String>> = match (&live.handler, v1_call) {
        (Handler::V2(h), _) => clock
            .bound(h.handler.call_on_event(&mut *store, forms.v2_for(event, read)))
            .await
            .map(|r| r.map_err(rejection)),
        (Handler::V1(h), Some(call)) => {
            let guest = h.plugboard_task_events_handler();
            match call {
                V1Call::Created(task) => clock.bound(guest.call_on_task_created(&mut *store, task)).await,
                V1Call::Modified(old, new) => clock.bound(guest.call_on_task_modified(&mut *store, old, new)).await,
                V1Call::Deleted(task) => clock.bound(guest.call_on_task_deleted(&mut *store, task)).await,
            }
        }
        (Handler::V1(_), None) => Ok(Ok(())),
    };
    let result = match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(why)) if why.len() as u64 > limits.max_value => Err(CallFailure::Trapped(LimitExceeded::trap(
            AbuseKind::LargeValue,
            format!("returned an error of {} bytes", why.len()),
        ))),
        Ok(Err(why)) => Err(CallFailure::Rejected(why)),
        Err(trap) => Err(CallFailure::Trapped(trap)),
    };
    match finish_call(shared, slot, state, &clock, result) {
        (Ok(()), effects) => (Outcome::Handled, after_init(init, effects)),
        (Err(outcome), effects) => (outcome, after_init(init, effects)),
    }
}

/// Runs one command of a v2 plugin whose lock the caller holds; returns its
/// text, or the outcome that stands for why it failed.
pub(crate) async fn run_command(
    shared: &Shared,
    slot: &Slot,
    state: &mut SlotState,
    command: &str,
    args: &[String],
    ends: Instant,
    chain: &[Arc<str>],
) -> (Result<String, Outcome>, CallEffects) {
    let init = match ensure_live(shared, slot, state, ends).await {
        Ok(init) => init,
        Err(start) => {
            let (outcome, effects) = start_outcome(start);
            return (Err(outcome), effects);
        }
    };
    let limits = &slot.plugin.limits;
    let clock = CallClock::new(limits, ends);
    let Some(live) = state.live.as_mut() else {
        return (
            Err(Outcome::Unavailable("no live instance".into())),
            CallEffects::default(),
        );
    };
    let Handler::V2(handler) = &live.handler else {
        return (
            Err(Outcome::NotDelivered("task-events@1 has no commands".into())),
            CallEffects::default(),
        );
    };
    prepare_call(&mut live.store, limits, &clock, shared.fuel);
    live.store.data_mut().chain = chain.to_vec();
    let called = clock
        .bound(handler.handler.call_run_command(&mut live.store, command, args))
        .await;
    let result = match called {
        Ok(Ok(text)) if text.len() as u64 > limits.max_value => Err(CallFailure::Trapped(LimitExceeded::trap(
            AbuseKind::LargeValue,
            format!(
                "returned {} bytes of text; the most is {}",
                text.len(),
                limits.max_value
            ),
        ))),
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) => Err(CallFailure::Rejected(rejection(e))),
        Err(trap) => Err(CallFailure::Trapped(trap)),
    };
    let (result, effects) = finish_call(shared, slot, state, &clock, result);
    (result, after_init(init, effects))
}

/// Starts the slot's instance (instantiate and `init`) if it has none.
pub(crate) async fn start(
    shared: &Shared,
    slot: &Slot,
    state: &mut SlotState,
    ends: Instant,
) -> Result<CallEffects, (Outcome, CallEffects)> {
    match ensure_live(shared, slot, state, ends).await {
        Ok(effects) => Ok(effects.unwrap_or_default()),
        Err(start) => Err(start_outcome(start)),
    }
}

/// The effects of a call, preceded by those of the `init` that started its
/// instance just before, if one did: a plugin (re-)started for an event
/// reports its `init` logs and changes with that event.
fn after_init(init: Option<CallEffects>, call: CallEffects) -> CallEffects {
    let Some(mut effects) = init else {
        return call;
    };
    effects.logs.extend(call.logs);
    effects.changes.extend(call.changes);
    effects.emitted.extend(call.emitted);
    effects.denied.extend(call.denied);
    effects.denied_unrequested += call.denied_unrequested;
    effects.discarded_changes += call.discarded_changes;
    effects.dropped_output += call.dropped_output;
    effects
}
