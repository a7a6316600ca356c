//! What a plugin may do: what its manifest requests, narrowed to what the
//! user granted. Nothing outside it is reachable; with no grant, a plugin
//! receives no event and may call nothing.

use plugboard_manifest::{Manifest, Subscription, TaskAccess};

use crate::grants::{EVERYTHING_REQUESTED, Grants};

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
    /// Events it receives.
    pub subscriptions: Vec<Subscription>,
    /// Hosts it may reach over outgoing HTTP (`network`).
    pub network: Vec<String>,
    /// Commands of other plugins it may invoke (`commands.invoke`).
    pub commands: Vec<String>,
    /// Its own folder and the host folders it may read or write (`files`).
    pub files: crate::files::FilesPolicy,
    /// The application's own interfaces it may call, by the permission
    /// the application gives each (`app:<permission>`).
    pub app: Vec<String>,
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
}

impl Permission {
    /// The name a user writes in a grant.
    pub fn name(self) -> &'static str {
        match self {
            Permission::TasksRead => "tasks.read",
            Permission::TasksWrite => "tasks.write",
            Permission::TasksDelete => "tasks.delete",
            Permission::State => "state",
        }
    }
}

/// Whether a granted list covers a requested item.
fn covers(granted: &Option<Vec<String>>, requested: &str) -> bool {
    granted
        .iter()
        .flatten()
        .any(|g| g == EVERYTHING_REQUESTED || g == requested)
}

impl Policy {
    /// Nothing at all: the policy of a plugin nobody granted anything.
    pub fn deny_all() -> Policy {
        Policy::default()
    }

    /// What the manifest requests, narrowed to what is granted.
    pub fn new(manifest: &Manifest, grants: &Grants) -> Policy {
        let requested = &manifest.permissions;
        let task = |access: TaskAccess, name: &str| requested.tasks.contains(&access) && covers(&grants.tasks, name);
        let state_quota = requested.state.as_ref().and_then(|asked| {
            let asked = asked.quota.unwrap_or(DEFAULT_STATE_QUOTA);
            match grants.state.as_deref() {
                None | Some("") => None,
                Some(EVERYTHING_REQUESTED) => Some(asked),
                Some(size) => plugboard_manifest::parse_byte_size(size)
                    .ok()
                    .map(|granted| granted.min(asked)),
            }
        });
        let subscriptions = manifest
            .events
            .subscribe
            .iter()
            .filter(|s| {
                let name = s.to_string();
                covers(&grants.subscribe, &name)
                    || (matches!(s, Subscription::Custom(_)) && covers(&grants.subscribe, "custom:*"))
            })
            .cloned()
            .collect();
        Policy {
            tasks_read: task(TaskAccess::Read, "read"),
            tasks_write: task(TaskAccess::Write, "write"),
            tasks_delete: task(TaskAccess::Delete, "delete"),
            state_quota,
            emit_topics: manifest
                .events
                .emits
                .iter()
                .filter(|t| covers(&grants.emit, t))
                .cloned()
                .collect(),
            subscriptions,
            network: requested
                .network
                .iter()
                .map(|h| h.as_str().to_string())
                .filter(|h| covers(&grants.network, h))
                .collect(),
            commands: requested
                .commands
                .iter()
                .map(|c| c.to_string())
                .filter(|c| covers(&grants.commands, c))
                .collect(),
            files: crate::files::FilesPolicy::new(requested.files.as_ref(), |what| covers(&grants.files, what)),
            app: requested
                .app
                .iter()
                .map(|p| p.as_str().to_string())
                .filter(|p| covers(&grants.app, p))
                .collect(),
        }
    }

    /// Whether the permission is held.
    pub fn allows(&self, permission: Permission) -> bool {
        match permission {
            Permission::TasksRead => self.tasks_read,
            Permission::TasksWrite => self.tasks_write,
            Permission::TasksDelete => self.tasks_delete,
            Permission::State => self.state_quota.is_some(),
        }
    }

    /// Whether the plugin holds the application's permission `name`.
    pub fn allows_app(&self, name: &str) -> bool {
        self.app.iter().any(|p| p == name)
    }

    /// Whether the plugin may emit this topic.
    pub fn allows_topic(&self, topic: &str) -> bool {
        self.emit_topics.iter().any(|t| t == topic)
    }

    /// Whether the plugin receives events of this kind.
    pub fn receives(&self, subscription: &Subscription) -> bool {
        self.subscriptions.contains(subscription)
    }

    /// Whether the plugin receives custom events of some topic.
    pub fn receives_any_custom(&self) -> bool {
        self.subscriptions.iter().any(|s| matches!(s, Subscription::Custom(_)))
    }

    /// Whether the plugin receives custom events of this topic.
    pub fn receives_custom(&self, topic: &str) -> bool {
        self.subscriptions.iter().any(|s| match s {
            Subscription::Custom(t) => t == topic || t == Subscription::ANY_TOPIC,
            _ => false,
        })
    }

    /// The granted permissions, as a user would type them.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (held, name) in [
            (self.tasks_read, "tasks.read"),
            (self.tasks_write, "tasks.write"),
            (self.tasks_delete, "tasks.delete"),
        ] {
            if held {
                out.push(name.to_string());
            }
        }
        if let Some(quota) = self.state_quota {
            out.push(format!("state:{}", plugboard_manifest::format_byte_size(quota)));
        }
        out.extend(self.emit_topics.iter().map(|t| format!("events.emit:{t}")));
        out.extend(self.subscriptions.iter().map(|s| format!("subscribe:{s}")));
        out.extend(self.network.iter().map(|h| format!("network:{h}")));
        out.extend(self.commands.iter().map(|c| format!("commands.invoke:{c}")));
        out.extend(self.files.describe());
        out.extend(self.app.iter().map(|p| format!("app:{p}")));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
[plugin]
id = "p"
name = "p"
version = "1.0.0"
api = "task-events@2"
[events]
subscribe = ["task-created", "task-deleted", "custom:news"]
emits = ["a", "b"]
[permissions]
tasks = ["read", "write"]
state = { quota = "64KiB" }
"#,
            Path::new("plugin.toml"),
        )
        .unwrap()
    }

    #[test]
    fn no_grant_means_nothing_not_even_events() {
        let policy = Policy::new(&manifest(), &Grants::none());
        assert_eq!(policy, Policy::deny_all());
    }

    #[test]
    fn grants_narrow_the_request_and_never_widen_it() {
        let grants = Grants {
            tasks: Some(vec!["read".into(), "delete".into()]),
            state: Some("1MiB".into()),
            emit: Some(vec!["b".into(), "c".into()]),
            subscribe: Some(vec!["task-created".into(), "custom:*".into()]),
            ..Grants::none()
        };
        let policy = Policy::new(&manifest(), &grants);
        assert!(policy.tasks_read);
        assert!(!policy.tasks_write, "not granted");
        assert!(!policy.tasks_delete, "granted but never requested");
        assert_eq!(policy.state_quota, Some(64 << 10), "the smaller of request and grant");
        assert_eq!(policy.emit_topics, ["b"]);
        assert!(policy.receives(&Subscription::TaskCreated));
        assert!(!policy.receives(&Subscription::TaskDeleted));
        assert!(policy.receives_custom("news"));
        assert!(!policy.receives_custom("other"));
    }

    #[test]
    fn app_permissions_are_held_only_when_requested_and_granted() {
        let manifest = Manifest::parse(
            "[plugin]\nid = \"p\"\nname = \"p\"\nversion = \"1.0.0\"\napi = \"task-events@2\"\n\
             [permissions]\napp = [\"app.notify\", \"app.open-url\"]\n",
            Path::new("plugin.toml"),
        )
        .unwrap();
        let grants = Grants {
            app: Some(vec!["app.notify".into(), "app.settings".into()]),
            ..Grants::none()
        };
        let policy = Policy::new(&manifest, &grants);
        assert!(policy.allows_app("app.notify"));
        assert!(!policy.allows_app("app.open-url"), "requested, not granted");
        assert!(!policy.allows_app("app.settings"), "granted, never requested");
        assert_eq!(policy.describe(), ["app:app.notify"]);
        assert!(!Policy::new(&manifest, &Grants::none()).allows_app("app.notify"));
        assert_eq!(Policy::new(&manifest, &Grants::everything_requested()).app.len(), 2);
    }

    #[test]
    fn everything_requested_is_exactly_the_request() {
        let policy = Policy::new(&manifest(), &Grants::everything_requested());
        assert!(policy.tasks_read && policy.tasks_write && !policy.tasks_delete);
        assert_eq!(policy.state_quota, Some(64 << 10));
        assert_eq!(policy.emit_topics, ["a", "b"]);
        assert_eq!(policy.subscriptions.len(), 3);
    }
}
