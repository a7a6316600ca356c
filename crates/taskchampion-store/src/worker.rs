//! The thread that owns the replica and its runtime, and the jobs it runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use plugboard_contract::TaskStoreError;
use taskchampion::storage::AccessMode;
use taskchampion::{Replica, SqliteStorage};
use tokio::runtime::Runtime;

/// The replica as the worker thread holds it.
pub type Tasks = Replica<SqliteStorage>;

/// One piece of work for the thread: it runs with the replica and the
/// thread's runtime, and answers on its own channel.
type Job = Box<dyn FnOnce(&mut Tasks, &Runtime) + Send>;

/// A handle on the worker thread; dropping it lets the thread finish its
/// queued jobs, close the replica and end, and waits for that.
pub struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the thread and opens the replica in `dir` on it.
    pub fn start(dir: PathBuf) -> Result<Worker, String> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, open_result) = mpsc::sync_channel::<Result<(), String>>(1);
        let thread = std::thread::Builder::new()
            .name("taskchampion-store".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().build() {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = opened.send(Err(format!("cannot start its runtime: {error}")));
                        return;
                    }
                };
                let storage = runtime.block_on(SqliteStorage::new(&dir, AccessMode::ReadWrite, true));
                let mut replica = match storage {
                    Ok(storage) => Replica::new(storage),
                    Err(error) => {
                        let _ = opened.send(Err(error.to_string()));
                        return;
                    }
                };
                let _ = opened.send(Ok(()));
                for job in queue {
                    // A job that panics loses its answer (its caller gets
                    // an error) but not the thread: the replica's storage
                    // transaction it had open is rolled back when dropped.
                    let _ = catch_unwind(AssertUnwindSafe(|| job(&mut replica, &runtime)));
                }
            })
            .map_err(|error| format!("cannot start its thread: {error}"))?;
        let worker = Worker {
            jobs: Some(jobs),
            thread: Some(thread),
        };
        match open_result.recv() {
            Ok(Ok(())) => Ok(worker),
            Ok(Err(error)) => Err(error),
            Err(_) => Err("its thread stopped while opening it".into()),
        }
    }

    /// Runs `job` on the thread and waits for its answer. Safe to call from
    /// any thread, including a tokio worker: it only waits on a channel.
    pub fn call<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Tasks, &Runtime) -> Result<R, TaskStoreError> + Send + 'static,
    ) -> Result<R, TaskStoreError> {
        let stopped = || TaskStoreError::Unavailable("the task store's thread has stopped".into());
        let (reply, answer) = mpsc::sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(Box::new(move |tasks, runtime| {
            let _ = reply.send(job(tasks, runtime));
        }))
        .map_err(|_| stopped())?;
        answer
            .recv()
            .map_err(|_| TaskStoreError::Unavailable("the task store failed while handling the request".into()))?
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
