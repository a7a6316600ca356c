//! Plugin log and audit lines written off the dispatch path: a dispatch
//! hands them to a writer thread through a bounded queue and goes on, and
//! the thread appends them to the application's `PluginLogSink` (files, for
//! `plugboard run`). The queue is drained before a quarantine is reported
//! and when the dispatcher is dropped, and on `Dispatcher::flush_logs`.
//!
//! The thread works in batches: a dispatch wakes it only when the queue
//! was empty (or reaches [`WAKE_AT`]), and once awake it gathers for up to
//! [`GATHER`] before it writes everything queued and flushes the sink once.
//! So a stream of events costs one wake-up and one flush per batch, not one
//! per event; a line reaches the sink at most [`GATHER`] (plus the time to
//! write the batch before it) after its call, or at once on a flush.
//!
//! Bound: at most [`QUEUE`] calls' worth of lines wait at once (each call's
//! own lines are bounded by its limits); when the thread falls that far
//! behind, a dispatch waits for room rather than dropping lines or growing
//! the queue.

use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use plugboard_contract::Timestamp;

use crate::plugin_log::{LogEntry, LogLine, PluginLogSink};

/// How many appends may wait for the writer thread.
pub(crate) const QUEUE: usize = 1024;

/// How many waiting appends wake the writer before its gathering time is up.
pub(crate) const WAKE_AT: usize = QUEUE / 4;

/// How long the writer, once woken, gathers appends before writing them.
pub(crate) const GATHER: Duration = Duration::from_millis(5);

/// One entry, owned, for the trip to the writer thread.
pub(crate) enum Entry {
    Plugin(LogLine),
    Audit(String),
}

enum Message {
    Append {
        plugin: String,
        at: Timestamp,
        entries: Vec<Entry>,
    },
    /// Answered once everything queued before it is written.
    Flush(SyncSender<()>),
}

/// The queue between the dispatches and the writer thread.
#[derive(Default)]
struct Queue {
    messages: Vec<Message>,
    /// A flush waits: write now, do not gather.
    urgent: bool,
    /// The writer is dropped: write what is left and end.
    closed: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when there is work for the writer.
    work: Condvar,
    /// Signalled when the writer took the queue (there is room).
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every change to the queue is a push or a take of whole messages.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a message, waiting while the queue is full.
    fn push(&self, message: Message) -> Result<(), ()> {
        let mut queue = self.lock();
        while queue.messages.len() >= QUEUE && !queue.closed {
            queue = self.room.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        if queue.closed {
            return Err(());
        }
        let was_empty = queue.messages.is_empty();
        if matches!(message, Message::Flush(_)) {
            queue.urgent = true;
        }
        queue.messages.push(message);
        if was_empty || queue.urgent || queue.messages.len() == WAKE_AT {
            self.work.notify_one();
        }
        Ok(())
    }
}

/// The writer thread and the queue to it.
pub(crate) struct LogWriter {
    shared: Option<Arc<Shared>>,
    /// The sink itself, written on the caller's thread, when the writer
    /// thread could not be started.
    inline: Option<Arc<dyn PluginLogSink>>,
    thread: Option<JoinHandle<()>>,
    /// Appends the sink refused, for `Dispatcher::persist_errors`.
    errors: Arc<Mutex<Vec<String>>>,
}

impl LogWriter {
    /// Starts the thread writing to `sink`; when the system refuses a
    /// thread, the lines are written on the dispatching thread instead (as
    /// slowly as before, never lost), and that is reported once.
    pub(crate) fn start(sink: Arc<dyn PluginLogSink>) -> LogWriter {
        let shared = Arc::new(Shared::default());
        let errors = Arc::new(Mutex::new(Vec::new()));
        let spawned = std::thread::Builder::new().name("plugboard-logs".into()).spawn({
            let errors = errors.clone();
            let sink = sink.clone();
            let shared = shared.clone();
            move || write_all(&*sink, &shared, &errors)
        });
        match spawned {
            Ok(thread) => LogWriter {
                shared: Some(shared),
                inline: None,
                thread: Some(thread),
                errors,
            },
            Err(e) => {
                let writer = LogWriter {
                    shared: None,
                    inline: Some(sink),
                    thread: None,
                    errors,
                };
                writer.error(format!(
                    "plugin logs are written during dispatch: no log writer thread ({e})"
                ));
                writer
            }
        }
    }

    /// Queues `entries` for `plugin`'s log.
    pub(crate) fn append(&self, plugin: &str, at: Timestamp, entries: Vec<Entry>) {
        if let Some(sink) = &self.inline {
            write_one(&**sink, plugin, at, &entries, &self.errors);
            flush_sink(&**sink, &self.errors);
            return;
        }
        let message = Message::Append {
            plugin: plugin.to_string(),
            at,
            entries,
        };
        if let Some(shared) = &self.shared
            && shared.push(message).is_err()
        {
            self.error(format!("log of plugin `{plugin}`: the log writer stopped"));
        }
    }

    /// Waits until everything queued so far is written.
    pub(crate) fn flush(&self) {
        self.flusher().wait();
    }

    /// A handle that waits for what is queued now, usable without holding
    /// the writer (nor the lock around it).
    pub(crate) fn flusher(&self) -> Flusher {
        Flusher(self.shared.clone())
    }

    /// The appends the sink refused since the last call.
    pub(crate) fn take_errors(&self) -> Vec<String> {
        std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn error(&self, message: String) {
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).push(message);
    }
}

/// See [`LogWriter::flusher`].
pub(crate) struct Flusher(Option<Arc<Shared>>);

impl Flusher {
    /// Waits until everything queued up to this call is written.
    pub(crate) fn wait(self) {
        let Some(shared) = self.0 else {
            return;
        };
        let (done, wait) = mpsc::sync_channel(1);
        if shared.push(Message::Flush(done)).is_ok() {
            // An error means the thread ended; nothing is left to wait for.
            let _ = wait.recv();
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has written the rest.
        if let Some(shared) = self.shared.take() {
            shared.lock().closed = true;
            shared.work.notify_one();
            shared.room.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_all(sink: &dyn PluginLogSink, shared: &Shared, errors: &Mutex<Vec<String>>) {
    loop {
        let (batch, closed) = {
            let mut queue = shared.lock();
            while queue.messages.is_empty() && !queue.closed {
                queue = shared.work.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
            if !queue.urgent && !queue.closed {
                // Gather what the next few milliseconds bring, unless the
                // queue fills up or a flush arrives meanwhile.
                queue = shared
                    .work
                    .wait_timeout_while(queue, GATHER, |q| !q.urgent && !q.closed && q.messages.len() < WAKE_AT)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            queue.urgent = false;
            let batch = std::mem::take(&mut queue.messages);
            shared.room.notify_all();
            (batch, queue.closed)
        };
        let mut answered = Vec::new();
        for message in batch {
            match message {
                Message::Append { plugin, at, entries } => write_one(sink, &plugin, at, &entries, errors),
                Message::Flush(done) => answered.push(done),
            }
        }
        flush_sink(sink, errors);
        for done in answered {
            let _ = done.send(());
        }
        if closed && shared.lock().messages.is_empty() {
            return;
        }
    }
}

fn flush_sink(sink: &dyn PluginLogSink, errors: &Mutex<Vec<String>>) {
    if let Err(e) = sink.flush() {
        errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("plugin logs: {e}"));
    }
}

fn write_one(sink: &dyn PluginLogSink, plugin: &str, at: Timestamp, entries: &[Entry], errors: &Mutex<Vec<String>>) {
    let borrowed: Vec<LogEntry<'_>> = entries
        .iter()
        .map(|entry| match entry {
            Entry::Plugin(line) => LogEntry::Plugin(line),
            Entry::Audit(text) => LogEntry::Audit(text.clone()),
        })
        .collect();
    if let Err(e) = sink.append(plugin, at, &borrowed) {
        errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("log of plugin `{plugin}`: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use super::*;
    use crate::plugin_log::{LogLevel, PluginLogError};

    /// Counts what the writer does with the sink.
    #[derive(Default)]
    struct Counting {
        appends: AtomicUsize,
        flushes: AtomicUsize,
    }

    impl PluginLogSink for Counting {
        fn append(&self, _: &str, _: Timestamp, _: &[LogEntry<'_>]) -> Result<(), PluginLogError> {
            self.appends.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }

        fn flush(&self) -> Result<(), PluginLogError> {
            self.flushes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn line() -> Vec<Entry> {
        vec![Entry::Plugin(LogLine {
            level: LogLevel::Info,
            message: "hello".into(),
        })]
    }

    #[test]
    fn a_stream_of_appends_is_written_in_batches_with_one_flush_each() {
        let sink = Arc::new(Counting::default());
        let writer = LogWriter::start(sink.clone());
        for _ in 0..2000 {
            writer.append("p", 0, line());
        }
        writer.flush();
        assert_eq!(sink.appends.load(Ordering::SeqCst), 2000);
        let flushes = sink.flushes.load(Ordering::SeqCst);
        assert!(
            flushes * 20 <= 2000,
            "{flushes} flushes for 2000 appends: the writer woke for each"
        );
    }

    #[test]
    fn a_line_reaches_the_sink_without_a_flush_soon_after_its_call() {
        let sink = Arc::new(Counting::default());
        let writer = LogWriter::start(sink.clone());
        writer.append("p", 0, line());
        let start = Instant::now();
        while sink.flushes.load(Ordering::SeqCst) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the line still waits after 5 s (gathering is {GATHER:?})"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(sink.appends.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn dropping_the_writer_writes_what_is_queued() {
        let sink = Arc::new(Counting::default());
        let writer = LogWriter::start(sink.clone());
        for _ in 0..(QUEUE * 2) {
            writer.append("p", 0, line());
        }
        drop(writer);
        assert_eq!(sink.appends.load(Ordering::SeqCst), QUEUE * 2);
        assert!(sink.flushes.load(Ordering::SeqCst) >= 1);
    }
}
