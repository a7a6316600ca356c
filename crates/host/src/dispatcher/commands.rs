//! Commands between plugins (`commands.invoke`): the dispatcher's side.
//!
//! The caller's store checks the grant, the dependency and the chain
//! ([`crate::abi::since_2_2`]); here the provider is found, the arguments
//! are checked against the parameters it declares, and the command runs
//! as a task of its own on the host's workers, in the provider's own
//! instance, under the provider's limits and within the caller's deadline,
//! with its own transaction: what it commits stays committed whatever the
//! caller does next.
//!
//! Waiting for the provider: the caller holds its own plugin's lock while
//! it waits for the provider's, so the wait is bounded: at most half of
//! what is left of the caller's deadline. Two plugins invoking each other
//! at the same moment therefore both get `invalid` ("stayed busy") instead
//! of waiting on each other until their deadlines; a chain that comes back
//! to a plugin already in it is refused before any lock is taken.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard_contract::PluginError;

use super::Shared;
use super::report::CommandError;
use super::slot::{Slot, SlotState};
use crate::context::{Invocation, Neighbours};
use crate::locale::Translations;

/// Checks `args` against the parameters `command` declares in the
/// provider's `[commands]`. A command the manifest does not declare is
/// refused for a plugin caller and passed to the plugin for the
/// application (which may run any command the plugin answers).
pub(crate) fn check_arguments(
    slot: &Slot,
    command: &str,
    args: &[String],
    from_plugin: bool,
) -> Result<(), CommandError> {
    match slot.plugin.manifest.commands.get(command) {
        Some(info) => info.check_args(args).map_err(|why| CommandError::BadArguments {
            plugin: slot.id.to_string(),
            command: command.to_string(),
            why,
        }),
        None if from_plugin => Err(CommandError::UnknownCommand {
            plugin: slot.id.to_string(),
            command: command.to_string(),
        }),
        None => Ok(()),
    }
}

/// Takes the provider's lock for a plugin caller, waiting at most half of
/// what is left before `ends`.
pub(crate) async fn lock_within<'a>(
    slot: &'a Slot,
    command: &str,
    ends: Instant,
) -> Result<tokio::sync::MutexGuard<'a, SlotState>, CommandError> {
    let wait = ends.saturating_duration_since(Instant::now()) / 2;
    match tokio::time::timeout(wait, slot.state.lock()).await {
        Ok(guard) => Ok(guard),
        Err(_) => Err(CommandError::Busy {
            plugin: slot.id.to_string(),
            command: command.to_string(),
            waited_ms: wait.max(Duration::ZERO).as_millis(),
        }),
    }
}

/// What the calling plugin receives for a command that did not give text.
fn for_caller(error: CommandError) -> PluginError {
    match error {
        CommandError::UnknownPlugin(_) | CommandError::UnknownCommand { .. } => {
            PluginError::NotFound(error.to_string())
        }
        other => PluginError::Invalid(other.to_string()),
    }
}

impl Neighbours for Shared {
    fn invoke(
        self: Arc<Self>,
        request: Invocation,
    ) -> futures::future::BoxFuture<'static, Result<String, PluginError>> {
        Box::pin(async move {
            // A task of its own: the provider's store runs on its own task,
            // never inside the caller's, and goes on to its end (at most the
            // caller's deadline) if the caller is stopped meanwhile.
            let shared = self.clone();
            let task = self.runtime.executor().spawn(async move {
                shared
                    .run_command(&request.plugin, &request.command, &request.args, Some(&request))
                    .await
            });
            match task.await {
                Ok(Ok(output)) => Ok(output.text),
                Ok(Err(error)) => Err(for_caller(error)),
                Err(e) => Err(PluginError::Invalid(format!(
                    "the host failed while running the command (a bug in plugboard): {e}"
                ))),
            }
        })
    }

    fn translations_for(&self, plugin: &str) -> Vec<Arc<Translations>> {
        self.snapshot().translators.get(plugin).cloned().unwrap_or_default()
    }
}

impl Shared {
    /// This dispatcher as the plugins' stores see it.
    pub(crate) fn neighbours(&self) -> std::sync::Weak<dyn Neighbours> {
        self.me.clone()
    }
}
