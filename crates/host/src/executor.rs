//! The threads plugin code runs on: a multi-threaded tokio runtime owned by
//! the host, so that every call can wait on the asynchronous WASI
//! implementations under a timer, whatever runtime (or none) the
//! application itself uses.
//!
//! Blocking callers run their share of the work on their own thread with
//! the host's runtime entered, never through `Runtime::block_on` (which
//! panics when called from inside another tokio runtime); async callers
//! hand the work to the host's threads.

use std::future::Future;
use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Handle};
use tokio::task::JoinHandle;

/// The host's worker threads.
pub(crate) struct Executor {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    handle: Handle,
    workers: usize,
}

impl Executor {
    /// Starts one worker thread per core.
    pub(crate) fn start() -> std::io::Result<Executor> {
        let workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let runtime = Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("plugboard-worker")
            // Time for every call's deadline; I/O for outgoing HTTP.
            .enable_all()
            .build()?;
        Ok(Executor {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            workers,
        })
    }

    /// How many worker threads there are: the most plugins that run at once
    /// for one event.
    pub(crate) fn workers(&self) -> usize {
        self.workers
    }

    /// Runs a future on the host's threads.
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a future to completion on the calling thread, with the host's
    /// runtime entered so that its timers and WASI futures work. Safe to
    /// call from inside any async runtime (it blocks that thread).
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _entered = self.handle.enter();
        futures::executor::block_on(future)
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Dropping a runtime the ordinary way panics inside an async
        // context; the last handle to a host may well be dropped in one.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
