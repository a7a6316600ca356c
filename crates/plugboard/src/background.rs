//! The host's background thread: it applies what the folder watcher sees
//! (hot reload), drops idle plugin instances and fires the plugins' timers,
//! while the application dispatches or does nothing at all. It stops when the host shuts down or
//! its last handle is dropped.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plugboard_registry::Watcher;

use crate::reload::Reloader;
use crate::timers::{TimerListener, TimerSchedule};

/// How often the watcher's settled changes are taken: well under its
/// debounce time, so a reload follows a change promptly.
const WATCH_POLL: Duration = Duration::from_millis(50);

/// The sweeper runs this many times per idle timeout, so an instance is
/// dropped at most a quarter of the timeout late...
const SWEEPS_PER_TIMEOUT: u32 = 4;
/// ...but no more often than this, to cost nothing for tiny timeouts...
const MIN_SWEEP: Duration = Duration::from_millis(5);
/// ...and at least this often, for long ones.
const MAX_SWEEP: Duration = Duration::from_secs(1);

/// What wakes the background thread before its next tick.
pub(crate) enum Signal {
    /// The host is shutting down.
    Stop,
    /// A timer firing has progressed: poll it.
    Woken(usize),
}

/// The running background thread.
pub(crate) struct Background {
    stop: Sender<Signal>,
    thread: Option<JoinHandle<()>>,
}

/// What the background thread does besides waiting.
pub(crate) struct Duties {
    pub watcher: Option<Watcher>,
    pub idle_timeout: Option<Duration>,
    /// Fire the plugins' timers, telling this listener of each firing.
    pub timers: Option<Option<TimerListener>>,
}

impl Background {
    /// Starts the thread when there is something to do: a watcher to
    /// follow, an idle timeout to enforce, or timers to fire.
    pub fn start(reloader: Arc<Reloader>, duties: Duties) -> std::io::Result<Option<Background>> {
        let Duties {
            watcher,
            idle_timeout,
            timers,
        } = duties;
        let sweep = idle_timeout.map(|timeout| (timeout / SWEEPS_PER_TIMEOUT).clamp(MIN_SWEEP, MAX_SWEEP));
        let tick = match (&watcher, sweep) {
            (Some(_), Some(sweep)) => Some(sweep.min(WATCH_POLL)),
            (Some(_), None) => Some(WATCH_POLL),
            (None, Some(sweep)) => Some(sweep),
            (None, None) if timers.is_some() => None,
            (None, None) => return Ok(None),
        };
        let (stop, signals) = mpsc::channel::<Signal>();
        let mut schedule =
            timers.map(|listener| TimerSchedule::new(reloader.dispatcher.clone(), listener, stop.clone()));
        let thread = std::thread::Builder::new()
            .name("plugboard-host".to_owned())
            .spawn(move || {
                let mut next_tick = tick.map(|tick| Instant::now() + tick);
                if let Some(schedule) = &mut schedule {
                    schedule.tick(Instant::now());
                }
                loop {
                    let wake = match (next_tick, schedule.as_ref().and_then(TimerSchedule::next_wake)) {
                        (Some(a), Some(b)) => a.min(b),
                        (Some(a), None) | (None, Some(a)) => a,
                        (None, None) => Instant::now() + MAX_SWEEP,
                    };
                    match signals.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                        Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                        Ok(Signal::Woken(slot)) => {
                            if let Some(schedule) = &mut schedule {
                                schedule.poll(slot);
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                    let now = Instant::now();
                    if let (Some(at), Some(tick)) = (next_tick, tick)
                        && now >= at
                    {
                        next_tick = Some(now + tick);
                        if let Some(watcher) = &watcher {
                            while let Some(event) = watcher.try_recv() {
                                reloader.apply(event);
                            }
                        }
                        if sweep.is_some() {
                            let dropped = reloader.dispatcher.evict_idle();
                            if !dropped.is_empty() {
                                tracing::debug!(?dropped, "dropped idle plugin instances");
                            }
                        }
                    }
                    if let Some(schedule) = &mut schedule {
                        schedule.tick(now);
                    }
                }
                // No timer fires any more; those running finish (each within
                // its plugin's deadline), so what they commit is committed
                // and reported before the host is gone.
                if let Some(schedule) = &mut schedule {
                    schedule.stop();
                    while schedule.running_count() > 0 {
                        match signals.recv_timeout(MAX_SWEEP) {
                            Ok(Signal::Woken(slot)) => schedule.poll(slot),
                            Ok(Signal::Stop) | Err(RecvTimeoutError::Timeout) => {}
                            // Cannot happen: the schedule holds a sender.
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                }
            })?;
        Ok(Some(Background {
            stop,
            thread: Some(thread),
        }))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // The thread may have ended already (it only ends on this signal).
        let _ = self.stop.send(Signal::Stop);
        if let Some(thread) = self.thread.take() {
            // A reload listener that drops the last host handle, or shuts the
            // host down, runs on this very thread: it cannot wait for itself,
            // and it ends on its own once the listener returns.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}
