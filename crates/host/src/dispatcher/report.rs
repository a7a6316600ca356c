//! What a dispatch, a command or a reload reports back to the application.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plugboard_contract::Event;

use crate::abuse::Abuse;
use crate::context::CallEffects;
use crate::loader::LoadError;
use crate::quarantine::QuarantineRecord;

/// The short name of an event's kind, as a manifest subscribes to it
/// ([`Event::kind`]).
pub fn event_kind(event: &Event) -> &'static str {
    event.kind()
}

/// What happened when an event was offered to one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned Ok and its task changes were committed.
    Handled,
    /// The handler returned an error; its task changes were discarded.
    Rejected(String),
    /// The call trapped (a crash, or a limit the host enforced); its task
    /// changes were discarded and the instance was dropped, so the next
    /// event gets a fresh one.
    Trapped(Abuse),
    /// The handler returned Ok but the application's store refused the
    /// batch of changes (a task changed meanwhile); nothing was applied.
    CommitFailed(String),
    /// The plugin is subscribed but its world has no form of this event.
    NotDelivered(String),
    /// The plugin could not be started: its `init` returned an error.
    Unavailable(String),
    /// The call was stopped, or not made, because everything the
    /// application's event caused ran out of the dispatch's budget (its
    /// wall-clock limit); not the plugin's fault, so no strike. Its
    /// changes were discarded.
    OutOfBudget(String),
    /// The application's own stores failed during the call or its commit
    /// (a busy database, a full disk): not the plugin's fault, so no
    /// strike. The call's changes were discarded, unless the text says the
    /// task changes were committed and only the state writes were lost.
    HostFailed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Handled => f.write_str("handled"),
            Outcome::Rejected(why) => write!(f, "rejected: {why}"),
            Outcome::Trapped(abuse) => write!(f, "trapped ({}): {}", abuse.kind, abuse.detail),
            Outcome::CommitFailed(why) => write!(f, "commit refused: {why}"),
            Outcome::NotDelivered(why) => write!(f, "not delivered ({why})"),
            Outcome::Unavailable(why) => write!(f, "unavailable: {why}"),
            Outcome::OutOfBudget(why) => write!(f, "out of budget: {why}"),
            Outcome::HostFailed(why) => write!(f, "host failure (not the plugin's fault): {why}"),
        }
    }
}

/// One event offered to one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The plugin id.
    pub plugin: Arc<str>,
    /// The event's kind (`task-created`, `custom`, ...).
    pub event: &'static str,
    /// 0 for the application's event, n for an event emitted n steps later.
    pub depth: u32,
    /// What happened.
    pub outcome: Outcome,
    /// How long the plugin took: starting its instance if it had none, and
    /// the call (not the time the event waited for the plugin's earlier
    /// events).
    pub elapsed: Duration,
    /// What the call did. `changes` lists only what was committed.
    pub effects: CallEffects,
}

/// Everything one `dispatch` caused, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// One entry per plugin the event (or an event it caused) was offered to.
    pub deliveries: Vec<Delivery>,
    /// Emitted events that were not delivered, by emitter and topic: cut
    /// off at the depth limit or past the dispatch's budget.
    pub dropped_emits: Vec<(Arc<str>, String)>,
    /// Plugins quarantined while handling this event.
    pub quarantined: Vec<QuarantineRecord>,
}

/// What a command returned and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// The text to show the user.
    pub text: String,
    /// What the call did; `changes` lists what was committed.
    pub effects: CallEffects,
}

/// Why a command could not be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No loaded plugin has this id.
    #[error("no plugin `{0}` is loaded")]
    UnknownPlugin(String),
    /// The plugin is data only: it has no code, so no commands.
    #[error("plugin `{0}` is data only (its manifest names no component), so it has no commands")]
    DataOnly(String),
    /// The plugin's world has no commands.
    #[error("plugin `{0}` speaks task-events@1, which has no commands (they exist since task-events@2)")]
    NotAvailable(String),
    /// The plugin's manifest offers no such command (asked by another
    /// plugin, which may only invoke declared commands).
    #[error("plugin `{plugin}` offers no command `{command}` in its manifest's [commands]")]
    UnknownCommand {
        /// The plugin id.
        plugin: String,
        /// The command.
        command: String,
    },
    /// The arguments do not match the parameters the command declares; it
    /// did not run.
    #[error("command `{plugin}.{command}`: {why}")]
    BadArguments {
        /// The plugin id.
        plugin: String,
        /// The command.
        command: String,
        /// Which argument and what is wrong.
        why: String,
    },
    /// Another plugin invoked it while it stayed busy with other work
    /// longer than the caller could wait; it did not run.
    #[error("plugin `{plugin}` stayed busy for {waited_ms} ms, so `{command}` did not run")]
    Busy {
        /// The plugin id.
        plugin: String,
        /// The command.
        command: String,
        /// How long the caller waited.
        waited_ms: u128,
    },
    /// The plugin returned an error.
    #[error("plugin `{plugin}` refused command `{command}`: {error}")]
    Rejected {
        /// The plugin id.
        plugin: String,
        /// The command.
        command: String,
        /// Its error.
        error: String,
    },
    /// The call trapped, its changes could not be committed, or the plugin
    /// could not start.
    #[error("plugin `{plugin}` failed while running `{command}`: {message}")]
    Failed {
        /// The plugin id.
        plugin: String,
        /// The command.
        command: String,
        /// What went wrong.
        message: String,
    },
}

/// What a hot reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new build replaced the running one.
    Replaced {
        /// The plugin id.
        id: String,
        /// The version that was running.
        from: String,
        /// The version now running.
        to: String,
    },
    /// A plugin that was not loaded before was added.
    Added {
        /// The plugin id.
        id: String,
        /// Its version.
        version: String,
    },
}

/// Why a hot reload did not happen; the old build, if any, keeps running.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new build does not load.
    #[error("{}: the new build does not load{}: {error}", dir.display(), kept.as_ref().map(|id| format!(", `{id}` keeps running the old one")).unwrap_or_default())]
    Load {
        /// The plugin folder.
        dir: PathBuf,
        /// The plugin still running from that folder, if any.
        kept: Option<String>,
        /// Why it does not load.
        error: Box<LoadError>,
    },
    /// The plugin may not be loaded (quarantined).
    #[error(transparent)]
    Refused(AddError),
}

/// Why a plugin could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// The plugin is quarantined; the user must re-enable it first.
    #[error("plugin `{}` is quarantined since {} for {}: {}; re-enable it (`plugboard enable`) to load it again", .0.plugin, crate::plugin_log::format_utc(.0.at), .0.kind, .0.reason)]
    Quarantined(QuarantineRecord),
    /// A plugin with this id is already loaded.
    #[error("a plugin with id `{0}` is already loaded")]
    Duplicate(String),
}
