//! Compiling the plugins a host opens with, several at once, off the thread
//! that opens the host and off every thread that dispatches.
//!
//! Each plugin that may load is a [`Job`]; a few loader threads take the
//! jobs in load order and load them (read, check the compile bounds,
//! compile or take from the code cache, link). What they load is added to
//! the dispatcher by one [`Settler`], a plugin only once every dependency
//! it has among the jobs has been settled, so a plugin never runs before a
//! plugin it depends on is loaded (or known not to load).
//!
//! When the host waits for its plugins (the default), every job is settled
//! in load order once all have loaded, so the dispatcher's order is the
//! load order. When it loads them in the background
//! ([`crate::HostConfig::load_in_background`]), each is settled as soon as
//! it and its dependencies are: a plugin still compiling is not in the
//! dispatcher yet, so events dispatched meanwhile are delivered to the
//! others and never wait for it, nor are they kept for it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};

use plugboard_host::runtime::MAX_CONCURRENT_COMPILES;
use plugboard_host::{AddError, Dispatcher, LoadError, LoadOptions, LoadedPlugin, Runtime};
use plugboard_manifest::Manifest;

use crate::lifecycle::LifecycleBus;
use crate::reload::{Reload, ReloadFailure, ReloadListener};
use crate::report::{PluginReport, PluginStatus};

/// Called on a loader thread with a plugin's id just before it is loaded;
/// its load waits for the hook to return.
pub(crate) type CompileHook = Arc<dyn Fn(&str) + Send + Sync>;

/// One plugin to load.
#[derive(Clone)]
pub(crate) struct Job {
    /// Where its report goes in the open report.
    pub slot: usize,
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub options: LoadOptions,
}

/// What a loader thread tells the settler.
pub(crate) enum Note {
    /// Job `index` started loading.
    Started(usize),
    /// Job `index` loaded, or why not.
    Done(usize, Box<Result<LoadedPlugin, LoadError>>),
}

/// Starts the loader threads; they end when the jobs are done or `stop` is
/// set. Returns the notes' receiver.
pub(crate) fn start(
    runtime: &Runtime,
    jobs: &[Job],
    hook: Option<CompileHook>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<Receiver<Note>> {
    let (notes, received) = mpsc::channel();
    let queue: Arc<Queue> = Arc::new(Mutex::new(
        jobs.iter().cloned().enumerate().collect::<Vec<_>>().into_iter(),
    ));
    for _ in 0..MAX_CONCURRENT_COMPILES.min(jobs.len()) {
        let (runtime, queue, notes, hook, stop) = (
            runtime.clone(),
            queue.clone(),
            notes.clone(),
            hook.clone(),
            stop.clone(),
        );
        std::thread::Builder::new()
            .name("plugboard-loader".to_string())
            .spawn(move || load_jobs(&runtime, &queue, &notes, hook.as_ref(), &stop))?;
    }
    Ok(received)
}

/// The jobs not taken yet, each with its index.
type Queue = Mutex<std::vec::IntoIter<(usize, Job)>>;

fn load_jobs(runtime: &Runtime, queue: &Queue, notes: &Sender<Note>, hook: Option<&CompileHook>, stop: &AtomicBool) {
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
        let Some((index, job)) = next else {
            return;
        };
        let _ = notes.send(Note::Started(index));
        if let Some(hook) = hook {
            hook(job.manifest.plugin.id.as_str());
        }
        let result = runtime.load(job.manifest, &job.dir, &job.options);
        if notes.send(Note::Done(index, Box::new(result))).is_err() {
            // Nobody settles any more: the host was dropped.
            return;
        }
    }
}

/// Adds what the loader threads loaded to the dispatcher, each plugin after
/// the dependencies it has among the jobs.
pub(crate) struct Settler {
    dispatcher: Dispatcher,
    /// Per job: its id, and the jobs it depends on.
    ids: Vec<String>,
    after: Vec<Vec<usize>>,
    loaded: Vec<Option<Box<Result<LoadedPlugin, LoadError>>>>,
    settled: Vec<bool>,
}

impl Settler {
    pub fn new(dispatcher: &Dispatcher, jobs: &[Job]) -> Settler {
        let index: BTreeMap<&str, usize> = jobs
            .iter()
            .enumerate()
            .map(|(i, job)| (job.manifest.plugin.id.as_str(), i))
            .collect();
        let after = jobs
            .iter()
            .map(|job| {
                job.manifest
                    .dependencies
                    .keys()
                    .filter_map(|dep| index.get(dep.as_str()).copied())
                    .collect()
            })
            .collect();
        Settler {
            dispatcher: dispatcher.clone(),
            ids: jobs.iter().map(|j| j.manifest.plugin.id.as_str().to_string()).collect(),
            after,
            loaded: jobs.iter().map(|_| None).collect(),
            settled: vec![false; jobs.len()],
        }
    }

    /// Keeps what job `index` loaded until it can be settled.
    pub fn done(&mut self, index: usize, result: Box<Result<LoadedPlugin, LoadError>>) {
        self.loaded[index] = Some(result);
    }

    /// The id of job `index`.
    pub fn id(&self, index: usize) -> &str {
        &self.ids[index]
    }

    /// Settles every job that can be now, in load order, and returns each
    /// with its status.
    pub fn settle_ready(&mut self) -> Vec<(usize, PluginStatus)> {
        let mut settled = Vec::new();
        loop {
            let ready = (0..self.ids.len()).find(|&i| {
                !self.settled[i] && self.loaded[i].is_some() && self.after[i].iter().all(|&dep| self.settled[dep])
            });
            let Some(index) = ready else {
                return settled;
            };
            self.settled[index] = true;
            let result = self.loaded[index].take().map(|result| *result);
            let status = match result {
                Some(Ok(loaded)) => match self.dispatcher.add(loaded.clone()) {
                    Ok(()) => PluginStatus::Loaded(Box::new(loaded)),
                    Err(AddError::Quarantined(record)) => PluginStatus::Quarantined(record),
                    Err(AddError::Duplicate(_)) => PluginStatus::Duplicate,
                },
                Some(Err(error)) => PluginStatus::LoadFailed(Box::new(error)),
                None => continue,
            };
            settled.push((index, status));
        }
    }
}

/// The plugins a host is still loading in the background, and what became
/// of those it finished.
#[derive(Default)]
pub(crate) struct BackgroundLoading {
    state: Mutex<LoadingState>,
    changed: Condvar,
    /// Set when the host shuts down: no further plugin starts loading.
    pub stop: Arc<AtomicBool>,
}

#[derive(Default)]
struct LoadingState {
    /// Plugins not settled yet.
    pending: usize,
    /// The reports of those settled, in the order they were.
    finished: Vec<PluginReport>,
}

impl BackgroundLoading {
    /// Loading that stops when `stop` is set.
    pub fn new(stop: Arc<AtomicBool>) -> BackgroundLoading {
        BackgroundLoading {
            stop,
            ..BackgroundLoading::default()
        }
    }

    /// Stops loading: no further plugin starts loading or is added, and
    /// [`BackgroundLoading::wait`] returns.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.stopped();
    }

    /// Plugins still loading.
    pub fn pending(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).pending
    }

    /// Waits until every plugin has been settled (or the host stopped
    /// loading them) and hands over the reports of those settled since the
    /// last call.
    pub fn wait(&self) -> Vec<PluginReport> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.pending > 0 && !self.stop.load(Ordering::Relaxed) {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        std::mem::take(&mut state.finished)
    }

    fn settled(&self, report: PluginReport) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.pending = state.pending.saturating_sub(1);
        state.finished.push(report);
        self.changed.notify_all();
    }

    fn stopped(&self) {
        let _state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.changed.notify_all();
    }
}

/// Settles the jobs on a thread of their own as they load, telling the
/// reload listener of each (`Reload::Added`, or `Reload::Failed` with why).
pub(crate) fn settle_in_background(
    mut settler: Settler,
    notes: Receiver<Note>,
    mut pending: Vec<PluginReport>,
    loading: Arc<BackgroundLoading>,
    listener: Option<ReloadListener>,
    lifecycle: Arc<LifecycleBus>,
) -> std::io::Result<()> {
    loading.state.lock().unwrap_or_else(|e| e.into_inner()).pending = pending.len();
    std::thread::Builder::new()
        .name("plugboard-settler".to_string())
        .spawn(move || {
            while let Ok(note) = notes.recv() {
                let Note::Done(index, result) = note else {
                    continue;
                };
                if loading.stop.load(Ordering::Relaxed) {
                    break;
                }
                settler.done(index, result);
                for (index, status) in settler.settle_ready() {
                    let entry = &mut pending[index];
                    let reload = match &status {
                        PluginStatus::Loaded(plugin) => Reload::Added {
                            id: plugin.id().to_string(),
                            version: plugin.manifest.plugin.version.to_string(),
                        },
                        other => Reload::Failed {
                            dir: entry.dir.clone(),
                            error: ReloadFailure::Loading {
                                id: entry.id.clone(),
                                status: other.to_string(),
                            },
                        },
                    };
                    tracing::info!(%reload, "background load");
                    if let Some(listener) = &listener {
                        listener(&reload);
                    }
                    let report = PluginReport {
                        id: entry.id.clone(),
                        version: entry.version.clone(),
                        dir: entry.dir.clone(),
                        optional_missing: std::mem::take(&mut entry.optional_missing),
                        status,
                    };
                    lifecycle.settled(&report);
                    loading.settled(report);
                }
            }
            loading.stopped();
        })?;
    Ok(())
}
