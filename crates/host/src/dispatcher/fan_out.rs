//! One event to many plugins at once: the subscribers share the host's
//! worker threads (the caller's thread takes its part too), each plugin
//! still handling its own events one at a time, and the results come back
//! in the subscribers' order whatever order the calls finished in.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use plugboard_contract::Event;

use super::Shared;
use super::event_forms::EventForms;
use super::invoke;
use super::slot::Slot;
use crate::context::CallEffects;
use crate::dispatcher::report::Outcome;

/// What one plugin did with the event, and how long it took; `None` when
/// it was not offered it after all (it was retired or became unavailable
/// meanwhile).
pub(crate) type Result = Option<(Outcome, CallEffects, Duration)>;

/// The shared work list of one fan-out.
struct Job {
    shared: Arc<Shared>,
    event: Arc<Event>,
    forms: EventForms,
    targets: Arc<[Arc<Slot>]>,
    next: AtomicUsize,
    ends: Instant,
}

impl Job {
    /// Takes subscribers off the list until none is left.
    async fn work(self: Arc<Self>) -> Vec<(usize, Result)> {
        let mut done = Vec::new();
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.targets.get(index) else {
                return done;
            };
            done.push((
                index,
                deliver(&self.shared, slot, &self.event, &self.forms, self.ends).await,
            ));
        }
    }
}

/// Delivers `event` to every one of `targets`, in parallel up to the number
/// of worker threads; returns one result per target, in their order.
/// `shared_event` is the same event when the caller already holds it in an
/// `Arc`; otherwise it is copied once, and only if the calls run in
/// parallel. Either way it is converted to each world's form once, by the
/// first plugin of that world, not once per plugin.
pub(crate) async fn fan_out(
    shared: &Arc<Shared>,
    event: &Event,
    shared_event: Option<&Arc<Event>>,
    targets: Arc<[Arc<Slot>]>,
    ends: Instant,
    parallel: usize,
) -> Vec<Result> {
    let workers = parallel.min(targets.len());
    if workers <= 1 {
        let forms = EventForms::default();
        let mut results = Vec::with_capacity(targets.len());
        for slot in targets.iter() {
            results.push(deliver(shared, slot, event, &forms, ends).await);
        }
        return results;
    }
    let count = targets.len();
    let job = Arc::new(Job {
        shared: shared.clone(),
        event: shared_event.cloned().unwrap_or_else(|| Arc::new(event.clone())),
        forms: EventForms::default(),
        targets,
        next: AtomicUsize::new(0),
        ends,
    });
    let helpers: Vec<_> = (1..workers)
        .map(|_| shared.runtime.executor().spawn(job.clone().work()))
        .collect();
    let mut done = job.clone().work().await;
    let mut failure = None;
    for helper in helpers {
        match helper.await {
            Ok(part) => done.extend(part),
            Err(e) => {
                tracing::error!("a delivery task failed inside the host: {e}");
                failure = Some(e.to_string());
            }
        }
    }
    let mut results: Vec<Result> = (0..count).map(|_| None).collect();
    for (index, result) in done {
        results[index] = result;
    }
    // A delivery task that panicked is a host bug, not the plugin's doing:
    // the deliveries it had taken are reported as unavailable, never lost.
    if let Some(failure) = failure {
        for (result, slot) in results.iter_mut().zip(job.targets.iter()) {
            if result.is_none() && !slot.is_retired() {
                let why = format!("the host failed while delivering to it: {failure}");
                *result = Some((Outcome::Unavailable(why), CallEffects::default(), Duration::ZERO));
            }
        }
    }
    results
}

/// Delivers one event to one plugin, waiting for its earlier events first.
async fn deliver(shared: &Shared, slot: &Slot, event: &Event, forms: &EventForms, ends: Instant) -> Result {
    if !slot.wants(event) {
        return None;
    }
    let mut state = slot.state.lock().await;
    // It may have been retired, or its `init` may have refused, while this
    // event waited for the lock.
    if slot.is_retired() || slot.unavailable.get().is_some() {
        return None;
    }
    if slot.accepts(event, forms) && state.live.is_none() {
        shared.make_room_for(slot);
    }
    let started = Instant::now();
    let (outcome, effects) = invoke::handle_event(shared, slot, &mut state, event, forms, ends, started).await;
    let finished = Instant::now();
    slot.touch_at(shared.started, finished);
    Some((outcome, effects, finished.saturating_duration_since(started)))
}
