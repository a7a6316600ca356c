//! Plugin log and audit lines written off the dispatch path: a dispatch
//! hands them to a writer thread through a bounded queue and goes on, and
//! the thread appends them to the application's `PluginLogSink` (files, for
//! `plugboard run`). The queue is drained before a quarantine is reported
//! and when the dispatcher is dropped, and on `Dispatcher::flush_logs`.
//!
//! Bound: at most [`QUEUE`] calls' worth of lines wait at once (each call's
//! own lines are bounded by its limits); when the thread falls that far
//! behind, a dispatch waits for room rather than dropping lines or growing
//! the queue.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use plugboard_contract::Timestamp;

use crate::plugin_log::{LogEntry, LogLine, PluginLogSink};

/// How many appends may wait for the writer thread.
pub(crate) const QUEUE: usize = 1024;

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

/// The writer thread and the queue to it.
pub(crate) struct LogWriter {
    sender: Option<SyncSender<Message>>,
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
        let (sender, receiver) = mpsc::sync_channel(QUEUE);
        let errors = Arc::new(Mutex::new(Vec::new()));
        let spawned = std::thread::Builder::new().name("plugboard-logs".into()).spawn({
            let errors = errors.clone();
            let sink = sink.clone();
            move || write_all(&*sink, &receiver, &errors)
        });
        match spawned {
            Ok(thread) => LogWriter {
                sender: Some(sender),
                inline: None,
                thread: Some(thread),
                errors,
            },
            Err(e) => {
                let writer = LogWriter {
                    sender: None,
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
            return;
        }
        let message = Message::Append {
            plugin: plugin.to_string(),
            at,
            entries,
        };
        if let Some(sender) = &self.sender
            && sender.send(message).is_err()
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
        Flusher(self.sender.clone())
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
pub(crate) struct Flusher(Option<SyncSender<Message>>);

impl Flusher {
    /// Waits until everything queued up to this call is written.
    pub(crate) fn wait(self) {
        let Some(sender) = self.0 else {
            return;
        };
        let (done, wait) = mpsc::sync_channel(1);
        if sender.send(Message::Flush(done)).is_ok() {
            // An error means the thread ended; nothing is left to wait for.
            let _ = wait.recv();
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has written the rest.
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_all(sink: &dyn PluginLogSink, queue: &Receiver<Message>, errors: &Mutex<Vec<String>>) {
    for message in queue {
        match message {
            Message::Append { plugin, at, entries } => write_one(sink, &plugin, at, &entries, errors),
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
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
