//! One event to many plugins at once: the subscribers share the host's
//! worker threads (the caller's thread takes its part too), each plugin
//! still handling its own events one at a time, and the results come back
//! in the subscribers' order whatever order the calls finished in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plugboard_contract::Event;
use tokio::sync::Notify;

use super::Shared;
use super::event_forms::EventForms;
use super::invoke;
use super::slot::Slot;
use crate::context::CallEffects;
use crate::dispatcher::report::Outcome;

/// What one plugin did with the event, and how long it took.
pub(crate) struct Delivered {
    pub(crate) outcome: Outcome,
    pub(crate) effects: CallEffects,
    pub(crate) elapsed: Duration,
    /// When it finished, as read for `elapsed`.
    pub(crate) finished: Instant,
}

/// One delivery's result; `None` when the plugin was not offered the event
/// after all (it was retired or became unavailable meanwhile).
pub(crate) type Result = Option<Delivered>;

/// The shared work list of one fan-out. Whoever is free takes the next
/// subscriber; the caller waits only for the deliveries someone took, never
/// for a helper thread that has not woken up yet (a helper that wakes late
/// finds the list empty and ends).
struct Job {
    shared: Arc<Shared>,
    event: Arc<Event>,
    forms: EventForms,
    targets: Arc<[Arc<Slot>]>,
    next: AtomicUsize,
    /// How many threads share the list (the caller and its helpers).
    workers: usize,
    ends: Instant,
    /// Results by subscriber index, as they come.
    results: Mutex<Vec<(usize, Result)>>,
    /// Deliveries finished, of `targets.len()`.
    finished: AtomicUsize,
    /// Told when the last delivery finished.
    all_finished: Notify,
}

/// A run of consecutive subscribers someone took: their results are
/// recorded together when it is dropped, even by a panic, so that the
/// caller never waits for a delivery that will not finish. Taking several
/// at once keeps the job's shared counters and its result list (written by
/// every thread of the fan-out) to one update per run instead of one per
/// delivery.
struct Claim<'a> {
    job: &'a Job,
    /// The first subscriber's index.
    first: usize,
    /// How many subscribers, from `first`.
    len: usize,
    /// The results so far, in order from `first`.
    results: Vec<Result>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let done = self.results.len();
        let mut list = self.job.results.lock().unwrap_or_else(|e| e.into_inner());
        list.extend(self.results.drain(..).enumerate().map(|(i, r)| (self.first + i, r)));
        // Only a panic in a delivery leaves some without a result: a host
        // bug, not the plugin's doing, reported rather than lost.
        list.extend((done..self.len).map(|i| {
            let why = "the host failed while delivering to it".to_string();
            let failed = Delivered {
                outcome: Outcome::Unavailable(why),
                effects: CallEffects::default(),
                elapsed: Duration::ZERO,
                finished: Instant::now(),
            };
            (self.first + i, Some(failed))
        }));
        drop(list);
        if self.job.finished.fetch_add(self.len, Ordering::AcqRel) + self.len == self.job.targets.len() {
            self.job.all_finished.notify_one();
        }
    }
}

/// The most subscribers one thread takes at once. Larger runs touch the
/// shared counters less often; smaller ones leave less work queued behind
/// a slow plugin while another thread is free.
const MAX_RUN: usize = 8;

/// A fan-out to this many subscribers or more starts its helpers at once.
const EAGER_FAN_OUT: usize = 8;

/// A smaller one starts them only once its deliveries have taken this
/// long: waking a helper thread costs more than a few quick deliveries, so
/// events to a handful of quick plugins are delivered by the caller alone.
const HELPERS_AFTER: Duration = Duration::from_micros(50);

impl Job {
    /// Takes subscribers off the list until none is left. `helpers`, when
    /// given, is how many helpers to start once the caller's deliveries
    /// have taken [`HELPERS_AFTER`] and work is left.
    async fn work(self: Arc<Self>, mut helpers: Option<usize>) {
        let started = Instant::now();
        let count = self.targets.len();
        loop {
            // Runs shrink as the list empties (a share of what is left per
            // thread), so that the threads finish close together.
            let left = count.saturating_sub(self.next.load(Ordering::Relaxed));
            let run = (left / (2 * self.workers)).clamp(1, MAX_RUN);
            let first = self.next.fetch_add(run, Ordering::Relaxed);
            if first >= count {
                return;
            }
            let len = run.min(count - first);
            let mut claim = Claim {
                job: &self,
                first,
                len,
                results: Vec::with_capacity(len),
            };
            for index in first..first + len {
                if let Some(count) = helpers
                    && index + 1 < self.targets.len()
                    && started.elapsed() >= HELPERS_AFTER
                {
                    self.start_helpers(count);
                    helpers = None;
                }
                let slot = &self.targets[index];
                let result = deliver(&self.shared, slot, &self.event, &self.forms, self.ends, None).await;
                claim.results.push(result);
            }
        }
    }

    /// Starts `count` helpers on the host's worker threads.
    fn start_helpers(self: &Arc<Self>, count: usize) {
        for _ in 0..count {
            // Not awaited: the results come through the job.
            drop(self.shared.runtime.executor().spawn(self.clone().work(None)));
        }
    }
}

/// Delivers `event` to every one of `targets`, `parallel` at a time at most
/// (at least two: the caller's thread and helpers on the host's worker
/// threads); returns one result per target, in their order. `shared_event`
/// is the same event when the caller already holds it in an `Arc`;
/// otherwise it is copied once. Either way it is converted to each world's
/// form once, by the first plugin of that world, not once per plugin.
pub(crate) async fn fan_out(
    shared: &Arc<Shared>,
    event: &Event,
    shared_event: Option<&Arc<Event>>,
    targets: Arc<[Arc<Slot>]>,
    ends: Instant,
    parallel: usize,
) -> Vec<Result> {
    let workers = parallel.min(targets.len()).max(2);
    let count = targets.len();
    let job = Arc::new(Job {
        shared: shared.clone(),
        event: shared_event.cloned().unwrap_or_else(|| Arc::new(event.clone())),
        forms: EventForms::default(),
        targets,
        next: AtomicUsize::new(0),
        workers,
        ends,
        results: Mutex::new(Vec::with_capacity(count)),
        finished: AtomicUsize::new(0),
        all_finished: Notify::new(),
    });
    let helpers = workers - 1;
    let later = if count >= EAGER_FAN_OUT {
        job.start_helpers(helpers);
        None
    } else {
        Some(helpers)
    };
    job.clone().work(later).await;
    if job.finished.load(Ordering::Acquire) < count {
        // A permit is kept if the last delivery finished in between.
        job.all_finished.notified().await;
    }
    let mut results: Vec<Result> = (0..count).map(|_| None).collect();
    for (index, result) in std::mem::take(&mut *job.results.lock().unwrap_or_else(|e| e.into_inner())) {
        results[index] = result;
    }
    results
}

/// Delivers one event to one plugin, waiting for its earlier events first.
/// `now` is a clock reading the caller just took, if it has one: when the
/// plugin is free at once, the delivery starts at it, and the clock is not
/// read again; when it has to wait for the plugin's earlier events, its
/// time starts when it got its turn.
pub(crate) async fn deliver(
    shared: &Shared,
    slot: &Slot,
    event: &Event,
    forms: &EventForms,
    ends: Instant,
    now: Option<Instant>,
) -> Result {
    if !slot.wants(event) {
        return None;
    }
    let (mut state, started) = match slot.state.try_lock() {
        Ok(state) => (state, now.unwrap_or_else(Instant::now)),
        Err(_) => {
            let state = slot.state.lock().await;
            (state, Instant::now())
        }
    };
    // It may have been retired, or its `init` may have refused, while this
    // event waited for the lock.
    if slot.is_retired() || slot.unavailable.get().is_some() {
        return None;
    }
    if slot.accepts(event, forms) && state.live.is_none() {
        shared.make_room_for(slot);
    }
    let (outcome, effects) = invoke::handle_event(shared, slot, &mut state, event, forms, ends, started).await;
    let finished = Instant::now();
    slot.touch_at(shared.started, finished);
    Some(Delivered {
        outcome,
        effects,
        elapsed: finished.saturating_duration_since(started),
        finished,
    })
}
