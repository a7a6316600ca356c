//! The host's background thread: it applies what the folder watcher sees
//! (hot reload) and drops idle plugin instances, while the application
//! dispatches or does nothing at all. It stops when the host shuts down or
//! its last handle is dropped.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use plugboard_registry::Watcher;

use crate::reload::Reloader;

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

/// The running background thread.
pub(crate) struct Background {
    /// Dropping it wakes the thread and ends it.
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts the thread when there is something to do: a watcher to
    /// follow, or an idle timeout to enforce.
    pub fn start(
        reloader: Arc<Reloader>,
        watcher: Option<Watcher>,
        idle_timeout: Option<Duration>,
    ) -> std::io::Result<Option<Background>> {
        let sweep = idle_timeout.map(|timeout| (timeout / SWEEPS_PER_TIMEOUT).clamp(MIN_SWEEP, MAX_SWEEP));
        let tick = match (&watcher, sweep) {
            (Some(_), Some(sweep)) => sweep.min(WATCH_POLL),
            (Some(_), None) => WATCH_POLL,
            (None, Some(sweep)) => sweep,
            (None, None) => return Ok(None),
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("plugboard-host".to_owned())
            .spawn(move || {
                // Nothing is ever sent: the sender's drop disconnects the
                // channel, which ends the wait at once.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
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
            })?;
        Ok(Some(Background {
            stop: Some(stop),
            thread: Some(thread),
        }))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        drop(self.stop.take());
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
