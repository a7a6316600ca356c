//! The application services a plugin's host calls reach: what the embedder
//! hands the host.

use std::sync::Arc;

use crate::state_store::{InMemoryStateStore, StateStore};
use crate::task::Timestamp;
use crate::task_store::{InMemoryTaskStore, TaskStore};

/// A source of the current time, so tests and replays can fix it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock, in milliseconds since the Unix epoch.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Timestamp)
    })
}

/// What the embedding application provides to every plugin.
#[derive(Clone)]
pub struct HostServices {
    /// The application's tasks.
    pub tasks: Arc<dyn TaskStore>,
    /// Per-plugin key/value state.
    pub state: Arc<dyn StateStore>,
    /// The current time.
    pub clock: Clock,
}

impl HostServices {
    /// In-memory tasks and state and the system clock: for tests and demos.
    pub fn in_memory() -> (HostServices, Arc<InMemoryTaskStore>) {
        let tasks = Arc::new(InMemoryTaskStore::new());
        let services = HostServices {
            tasks: tasks.clone(),
            state: Arc::new(InMemoryStateStore::new()),
            clock: system_clock(),
        };
        (services, tasks)
    }
}
