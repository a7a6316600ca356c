//! Watching the plugin folders for hot reload: file-system events are gathered per
//! plugin folder and reported once the folder has been quiet for the debounce time, so
//! an install or a rebuild that writes many files is one event.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use plugboard_manifest::MANIFEST_FILE_NAME;

use crate::PluginDirs;
use crate::discover::{is_hidden, plugin_folders};

/// How many debounce times a folder that never stops changing waits at most before its
/// event is reported anyway.
const MAX_WAIT_IN_DEBOUNCES: u32 = 10;

/// A plugin folder that changed; the host reloads that plugin between events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReloadEvent {
    /// A plugin folder (one with a `plugin.toml`) appeared.
    Added(PathBuf),
    /// A file in a plugin folder changed, including the dependencies it bundles in
    /// `deps/`; the folder is still a plugin folder.
    Changed(PathBuf),
    /// A plugin folder disappeared, or lost its `plugin.toml`.
    Removed(PathBuf),
}

impl ReloadEvent {
    /// The plugin folder the event is about.
    pub fn dir(&self) -> &Path {
        match self {
            Self::Added(dir) | Self::Changed(dir) | Self::Removed(dir) => dir,
        }
    }
}

/// The watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A plugins folder to watch does not exist.
    #[error("{}: cannot watch this plugins folder: it does not exist; create it (or install a plugin) first", dir.display())]
    MissingDir {
        /// The folder.
        dir: PathBuf,
    },

    /// The operating system refused to watch a folder (on Linux, often too few inotify
    /// watches: raise `fs.inotify.max_user_watches`).
    #[error("{}: cannot watch this plugins folder: {source}", dir.display())]
    Notify {
        /// The folder.
        dir: PathBuf,
        /// What the file-system watcher reported.
        #[source]
        source: notify::Error,
    },

    /// The thread that gathers events could not be started.
    #[error("cannot start the thread that watches the plugin folders: {0}")]
    Thread(#[source] std::io::Error),
}

/// Watches the built-in and user plugin folders and reports, per plugin folder, that it
/// was added, changed or removed. It runs no async runtime: a background thread
/// gathers the file-system events and the caller takes [`ReloadEvent`]s with
/// [`Watcher::try_recv`] or [`Watcher::recv_timeout`]. Dropping it stops watching.
///
/// Events are hints to reload: the folder is reported as it is when its changes have
/// settled, and the caller reads it again (e.g. with [`crate::discover`]). When the
/// operating system drops events (a queue overflow), every plugin folder is reported
/// as changed, added or removed by comparing with what was there before.
pub struct Watcher {
    events: Receiver<ReloadEvent>,
    /// `None` only while dropping: dropping it ends the gathering thread.
    notify: Option<RecommendedWatcher>,
    gatherer: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching every plugin folder in `dirs` (each of which must exist). A
    /// folder's event is reported once no file in it has changed for `debounce`, or
    /// at the latest after ten times `debounce` of continuous changes.
    pub fn new(dirs: &PluginDirs, debounce: Duration) -> Result<Self, WatchError> {
        let mut roots = Vec::new();
        for (_, dir) in dirs.roots() {
            let canonical = dir
                .canonicalize()
                .map_err(|_| WatchError::MissingDir { dir: dir.clone() })?;
            roots.push(Root {
                given: dir.clone(),
                canonical,
            });
        }

        let (raw_sender, raw_events) = mpsc::channel();
        let mut notify = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let _ = raw_sender.send(RawEvent::from(event));
        })
        .map_err(|source| WatchError::Notify {
            dir: dirs.user.clone(),
            source,
        })?;
        // The plugin folders present now, before watching, so that a change made
        // after `new` returns is never mistaken for one that was already there.
        let known = roots.iter().flat_map(Root::plugin_folders).collect();
        for root in &roots {
            notify
                .watch(&root.canonical, RecursiveMode::Recursive)
                .map_err(|source| WatchError::Notify {
                    dir: root.given.clone(),
                    source,
                })?;
        }

        let (sender, events) = mpsc::channel();
        let gatherer = Gatherer {
            roots,
            known,
            pending: BTreeMap::new(),
            debounce,
            max_wait: debounce * MAX_WAIT_IN_DEBOUNCES,
            sender,
        };
        let gatherer = std::thread::Builder::new()
            .name("plugboard-watcher".to_owned())
            .spawn(move || gatherer.run(raw_events))
            .map_err(WatchError::Thread)?;
        Ok(Self {
            events,
            notify: Some(notify),
            gatherer: Some(gatherer),
        })
    }

    /// The next event, if one is ready; never waits.
    pub fn try_recv(&self) -> Option<ReloadEvent> {
        self.events.try_recv().ok()
    }

    /// The next event, waiting at most `timeout` for one.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<ReloadEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // Dropping the file-system watcher drops its sender, which ends the gatherer.
        drop(self.notify.take());
        if let Some(gatherer) = self.gatherer.take() {
            let _ = gatherer.join();
        }
    }
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

/// What the file-system watcher reported, reduced to what the gatherer needs.
enum RawEvent {
    /// These paths changed.
    Paths(Vec<PathBuf>),
    /// Events were lost: every folder must be compared again.
    Rescan,
    /// Nothing that changes a file (a file was opened or read).
    Nothing,
}

impl From<notify::Result<notify::Event>> for RawEvent {
    fn from(event: notify::Result<notify::Event>) -> Self {
        let Ok(event) = event else {
            return Self::Rescan;
        };
        if event.need_rescan() {
            return Self::Rescan;
        }
        match event.kind {
            // Reading a plugin (as the host does when it reloads) must not look like a
            // change, or every reload would trigger the next one.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Self::Paths(event.paths),
            EventKind::Access(_) => Self::Nothing,
            _ => Self::Paths(event.paths),
        }
    }
}

/// A watched plugins folder.
struct Root {
    /// As the caller named it: events name plugin folders under it, as
    /// [`crate::discover`] does.
    given: PathBuf,
    /// As the file-system watcher reports it.
    canonical: PathBuf,
}

impl Root {
    /// The plugin folder (under `given`) that `path` is in, if any: the first component
    /// below the root, unless it is hidden (an install's staging folder).
    fn plugin_folder_of(&self, path: &Path) -> Option<PathBuf> {
        let below = path
            .strip_prefix(&self.canonical)
            .or_else(|_| path.strip_prefix(&self.given))
            .ok()?;
        let name = below.components().next()?.as_os_str();
        (!is_hidden(name)).then(|| self.given.join(name))
    }

    /// Whether `path` is the root itself (renamed, removed or recreated).
    fn is_root(&self, path: &Path) -> bool {
        path == self.canonical || path == self.given
    }

    /// The plugin folders under the root now.
    fn plugin_folders(&self) -> Vec<PathBuf> {
        plugin_folders(&self.given)
            .unwrap_or_default()
            .into_iter()
            .filter(|dir| is_plugin_folder(dir))
            .collect()
    }
}

fn is_plugin_folder(dir: &Path) -> bool {
    dir.join(MANIFEST_FILE_NAME).is_file()
}

/// The background thread's state: the folders waiting to settle, and the plugin
/// folders last reported present.
struct Gatherer {
    roots: Vec<Root>,
    known: BTreeSet<PathBuf>,
    /// Folder → (first, last) time a change was seen since its last event.
    pending: BTreeMap<PathBuf, (Instant, Instant)>,
    debounce: Duration,
    max_wait: Duration,
    sender: Sender<ReloadEvent>,
}

impl Gatherer {
    fn run(mut self, raw_events: Receiver<RawEvent>) {
        loop {
            let received = match self.next_deadline() {
                Some(deadline) => raw_events.recv_timeout(deadline.saturating_duration_since(Instant::now())),
                None => raw_events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(RawEvent::Paths(paths)) => {
                    for path in paths {
                        self.saw(&path);
                    }
                }
                Ok(RawEvent::Rescan) => self.rescan(),
                Ok(RawEvent::Nothing) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if self.report_settled().is_err() {
                // The `Watcher` is gone: nobody reads events any more.
                return;
            }
        }
    }

    /// When the next pending folder settles.
    fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|&(first, last)| (last + self.debounce).min(first + self.max_wait))
            .min()
    }

    fn saw(&mut self, path: &Path) {
        if self.roots.iter().any(|root| root.is_root(path)) {
            self.rescan();
            return;
        }
        if let Some(folder) = self.roots.iter().find_map(|root| root.plugin_folder_of(path)) {
            self.touch(folder);
        }
    }

    /// Marks every folder known or present now as changed.
    fn rescan(&mut self) {
        let present: Vec<PathBuf> = self.roots.iter().flat_map(Root::plugin_folders).collect();
        let known: Vec<PathBuf> = self.known.iter().cloned().collect();
        for folder in present.into_iter().chain(known) {
            self.touch(folder);
        }
    }

    fn touch(&mut self, folder: PathBuf) {
        let now = Instant::now();
        self.pending
            .entry(folder)
            .and_modify(|(_, last)| *last = now)
            .or_insert((now, now));
    }

    /// Sends an event for every folder that has settled; an error once the receiver is
    /// gone.
    fn report_settled(&mut self) -> Result<(), mpsc::SendError<ReloadEvent>> {
        let now = Instant::now();
        let settled: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|&(_, &(first, last))| now >= last + self.debounce || now >= first + self.max_wait)
            .map(|(folder, _)| folder.clone())
            .collect();
        for folder in settled {
            self.pending.remove(&folder);
            let is_plugin = is_plugin_folder(&folder);
            let was_plugin = self.known.contains(&folder);
            let event = match (was_plugin, is_plugin) {
                (true, true) => ReloadEvent::Changed(folder),
                (false, true) => {
                    self.known.insert(folder.clone());
                    ReloadEvent::Added(folder)
                }
                (true, false) => {
                    self.known.remove(&folder);
                    ReloadEvent::Removed(folder)
                }
                (false, false) => continue,
            };
            self.sender.send(event)?;
        }
        Ok(())
    }
}
