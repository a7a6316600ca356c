//! What a plugin may do: the permissions its manifest requests. The user's
//! grants narrow this further once grants exist; nothing outside it is ever
//! reachable.

use plugboard_manifest::{Manifest, TaskAccess};

/// The state quota when a manifest asks for `state` without naming one:
/// enough for settings and a few thousand small records.
pub const DEFAULT_STATE_QUOTA: u64 = 1 << 20;

/// The permissions in force for one plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// May read tasks (`tasks.read`).
    pub tasks_read: bool,
    /// May create and update tasks (`tasks.write`).
    pub tasks_write: bool,
    /// May delete tasks (`tasks.delete`).
    pub tasks_delete: bool,
    /// May use its key/value state, up to this many bytes (`state`).
    pub state_quota: Option<u64>,
    /// Topics it may emit (`events.emit`).
    pub emit_topics: Vec<String>,
}

/// A permission a host call needs, named as the user grants it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `tasks.read`
    TasksRead,
    /// `tasks.write`
    TasksWrite,
    /// `tasks.delete`
    TasksDelete,
    /// `state`
    State,
    /// `events.emit`
    EventsEmit,
}

impl Permission {
    /// The name a user writes in a grant.
    pub fn name(self) -> &'static str {
        match self {
            Permission::TasksRead => "tasks.read",
            Permission::TasksWrite => "tasks.write",
            Permission::TasksDelete => "tasks.delete",
            Permission::State => "state",
            Permission::EventsEmit => "events.emit",
        }
    }
}

impl Policy {
    /// Nothing at all: the default for a plugin nobody granted anything.
    pub fn deny_all() -> Policy {
        Policy::default()
    }

    /// Everything the manifest requests.
    pub fn requested_by(manifest: &Manifest) -> Policy {
        let tasks = &manifest.permissions.tasks;
        Policy {
            tasks_read: tasks.contains(&TaskAccess::Read),
            tasks_write: tasks.contains(&TaskAccess::Write),
            tasks_delete: tasks.contains(&TaskAccess::Delete),
            state_quota: manifest
                .permissions
                .state
                .as_ref()
                .map(|s| s.quota.unwrap_or(DEFAULT_STATE_QUOTA)),
            emit_topics: manifest.events.emits.clone(),
        }
    }

    /// Whether the permission is held (for `events.emit`: any topic).
    pub fn allows(&self, permission: Permission) -> bool {
        match permission {
            Permission::TasksRead => self.tasks_read,
            Permission::TasksWrite => self.tasks_write,
            Permission::TasksDelete => self.tasks_delete,
            Permission::State => self.state_quota.is_some(),
            Permission::EventsEmit => !self.emit_topics.is_empty(),
        }
    }

    /// Whether the plugin may emit this topic.
    pub fn allows_topic(&self, topic: &str) -> bool {
        self.emit_topics.iter().any(|t| t == topic)
    }
}
