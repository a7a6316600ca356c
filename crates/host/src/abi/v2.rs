//! The native implementation of the newest world's host interfaces.
//!
//! Every call checks the plugin's policy first; a refusal returns the WIT
//! `denied` error and is recorded. Storage failures that are not the
//! plugin's fault trap the call instead of blaming the plugin.
//!
//! The calls are written once, as methods of [`PluginContext`] on the
//! contract's types; the bindings' `Host` traits below only convert their
//! arguments in and their results out (`abi::convert`), and the v1 adapter
//! calls the same methods.

use plugboard_contract::{Filter, NewTask, PluginError, StateStoreError, Task, TaskPatch, TaskStoreError};

use crate::abuse::{AbuseKind, LimitExceeded};
use crate::bindings::v2::plugboard::task_events::{clock, config, events, log, state, tasks, types};
use crate::context::{EmittedEvent, LogLevel, PluginContext};
use crate::policy::Permission;

/// Longest state key, in bytes.
pub const MAX_STATE_KEY_BYTES: usize = 256;

/// Largest single state value: state is for settings and small records, not
/// files.
pub const MAX_STATE_VALUE_BYTES: usize = 1 << 20;

/// Most tasks one query returns, whatever the filter's limit, so a plugin
/// cannot make the host copy the whole store into its memory at once.
pub const MAX_QUERY_RESULTS: u32 = 10_000;

/// Turns a store failure into what the plugin sees: its own mistakes as WIT
/// errors, the store's failures as a trap.
fn task_result<T>(result: Result<T, TaskStoreError>) -> wasmtime::Result<Result<T, PluginError>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(TaskStoreError::NotFound(id)) => Ok(Err(PluginError::NotFound(id))),
        Err(TaskStoreError::Invalid(why)) => Ok(Err(PluginError::Invalid(why))),
        Err(TaskStoreError::Conflict(_)) => Ok(Err(PluginError::Conflict)),
        Err(e @ TaskStoreError::Unavailable(_)) => Err(wasmtime::Error::msg(e.to_string())),
    }
}

fn state_failure(e: StateStoreError) -> wasmtime::Error {
    wasmtime::Error::msg(e.to_string())
}

fn check_key(key: &str) -> Result<(), PluginError> {
    if key.is_empty() || key.len() > MAX_STATE_KEY_BYTES {
        return Err(PluginError::Invalid(format!(
            "state key must be 1 to {MAX_STATE_KEY_BYTES} bytes, got {}",
            key.len()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(PluginError::Invalid(format!(
            "state key {key:?} contains a control character"
        )));
    }
    Ok(())
}

fn capped(filter: &Filter) -> Filter {
    let mut filter = filter.clone();
    filter.limit = Some(filter.limit.unwrap_or(MAX_QUERY_RESULTS).min(MAX_QUERY_RESULTS));
    filter
}

/// The total text size of a new task, for the value-size limit.
fn new_task_size(task: &NewTask) -> usize {
    task.title.len()
        + task.description.len()
        + task.project.as_ref().map_or(0, String::len)
        + task.tags.iter().map(String::len).sum::<usize>()
        + task
            .attributes
            .iter()
            .map(|a| a.key.len() + a.value.len())
            .sum::<usize>()
}

/// The total text size of a patch, for the value-size limit.
fn patch_size(patch: &TaskPatch) -> usize {
    let list = |l: &[String]| l.iter().map(String::len).sum::<usize>();
    patch.title.as_ref().map_or(0, String::len)
        + patch.description.as_ref().map_or(0, String::len)
        + patch.project.as_ref().and_then(|p| p.as_ref()).map_or(0, String::len)
        + list(&patch.add_tags)
        + list(&patch.remove_tags)
        + list(&patch.add_annotations)
        + patch
            .set_attributes
            .iter()
            .map(|a| a.key.len() + a.value.len())
            .sum::<usize>()
        + list(&patch.remove_attributes)
}

/// The host calls of the `tasks`, `state` and `events` interfaces, on the
/// contract's types.
impl PluginContext {
    /// `tasks.get`: one task as this call sees it.
    pub(crate) fn get_task(&mut self, id: &str) -> wasmtime::Result<Result<Option<Task>, PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        task_result(self.tx.get(&*self.services.tasks, id))
    }

    /// `tasks.query`: the matching tasks, at most [`MAX_QUERY_RESULTS`].
    pub(crate) fn query_tasks(&mut self, filter: &Filter) -> wasmtime::Result<Result<Vec<Task>, PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        task_result(self.tx.query(&*self.services.tasks, &capped(filter)))
    }

    /// `tasks.create`: stages a new task and returns it.
    pub(crate) fn create_task(&mut self, task: NewTask) -> wasmtime::Result<Result<Task, PluginError>> {
        self.enter()?;
        self.check_size("new task", new_task_size(&task))?;
        if let Err(e) = self.require(Permission::TasksWrite) {
            return Ok(Err(e));
        }
        let now = (self.services.clock)();
        task_result(self.tx.create(task, now))
    }

    /// `tasks.update`: stages a patch and returns the task as it is now.
    pub(crate) fn update_task(&mut self, id: &str, patch: &TaskPatch) -> wasmtime::Result<Result<Task, PluginError>> {
        self.enter()?;
        self.check_size("task patch", patch_size(patch))?;
        if let Err(e) = self.require(Permission::TasksWrite) {
            return Ok(Err(e));
        }
        let now = (self.services.clock)();
        task_result(self.tx.update(&*self.services.tasks, id, patch, now))
    }

    /// `tasks.delete`: stages a deletion.
    pub(crate) fn delete_task(&mut self, id: &str) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::TasksDelete) {
            return Ok(Err(e));
        }
        Ok(task_result(self.tx.delete(&*self.services.tasks, id))?.map(|_| ()))
    }

    /// `tasks.count`: how many tasks match, ignoring the filter's limit.
    pub(crate) fn count_tasks(&mut self, filter: &Filter) -> wasmtime::Result<Result<u32, PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        let mut all = filter.clone();
        all.limit = None;
        Ok(task_result(self.tx.query(&*self.services.tasks, &all))?
            .map(|list| list.len().min(u32::MAX as usize) as u32))
    }

    /// `state.get`: one of the plugin's values.
    pub(crate) fn get_state(&mut self, key: &str) -> wasmtime::Result<Result<Option<Vec<u8>>, PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(key)) {
            return Ok(Err(e));
        }
        let value = self.services.state.get(&self.plugin_id, key).map_err(state_failure)?;
        Ok(Ok(value))
    }

    /// `state.set`: stores a value within the plugin's quota.
    pub(crate) fn set_state(&mut self, key: &str, value: &[u8]) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        self.check_size("state value", value.len())?;
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(key)) {
            return Ok(Err(e));
        }
        if value.len() > MAX_STATE_VALUE_BYTES {
            return Ok(Err(PluginError::Invalid(format!(
                "state value for {key:?} is {} bytes; the most is {MAX_STATE_VALUE_BYTES}",
                value.len()
            ))));
        }
        let quota = self.policy.state_quota.unwrap_or(0);
        let stored = self
            .services
            .state
            .set_within_quota(&self.plugin_id, key, value, quota)
            .map_err(state_failure)?;
        if !stored {
            return Ok(Err(PluginError::QuotaExceeded));
        }
        Ok(Ok(()))
    }

    /// `state.delete`: removes one of the plugin's keys.
    pub(crate) fn delete_state(&mut self, key: &str) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(key)) {
            return Ok(Err(e));
        }
        self.services
            .state
            .delete(&self.plugin_id, key)
            .map_err(state_failure)?;
        Ok(Ok(()))
    }

    /// `state.list-keys`: the plugin's keys in byte order.
    pub(crate) fn list_state_keys(&mut self) -> wasmtime::Result<Result<Vec<String>, PluginError>> {
        self.enter()?;
        if let Err(e) = self.require(Permission::State) {
            return Ok(Err(e));
        }
        let keys = self.services.state.list_keys(&self.plugin_id).map_err(state_failure)?;
        Ok(Ok(keys))
    }

    /// `events.emit`: queues an event for after the call succeeds.
    pub(crate) fn emit_event(&mut self, topic: String, payload: Vec<u8>) -> wasmtime::Result<Result<(), PluginError>> {
        self.enter()?;
        self.check_size("event payload", payload.len())?;
        if !self.policy.allows_topic(&topic) {
            return Ok(Err(self.deny(&format!("events.emit:{topic}"))));
        }
        if self.effects.emitted.len() as u64 >= u64::from(self.limits.emits) {
            return Err(LimitExceeded::trap(
                AbuseKind::EventStorm,
                format!(
                    "emitted more than {} events while handling one event",
                    self.limits.emits
                ),
            ));
        }
        self.effects.emitted.push(EmittedEvent { topic, payload });
        Ok(Ok(()))
    }

    /// `log.log`: one line in the plugin's log.
    pub(crate) fn log_line(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.enter()?;
        self.check_size("log line", message.len())?;
        self.push_log(level, message)
    }
}

/// A call's result as the bindings return it: the value and the error
/// converted, a trap left as it is.
fn to_wit<T, W: From<T>>(
    result: wasmtime::Result<Result<T, PluginError>>,
) -> wasmtime::Result<Result<W, types::Error>> {
    result.map(|r| r.map(W::from).map_err(types::Error::from))
}

impl types::Host for PluginContext {}

impl tasks::Host for PluginContext {
    fn get(&mut self, id: String) -> wasmtime::Result<Result<Option<types::Task>, types::Error>> {
        to_wit(self.get_task(&id).map(|r| r.map(|found| found.map(types::Task::from))))
    }

    fn query(&mut self, filter: types::Filter) -> wasmtime::Result<Result<Vec<types::Task>, types::Error>> {
        let found = self.query_tasks(&filter.into());
        to_wit(found.map(|r| r.map(|list| list.into_iter().map(types::Task::from).collect::<Vec<_>>())))
    }

    fn create(&mut self, task: types::NewTask) -> wasmtime::Result<Result<types::Task, types::Error>> {
        to_wit(self.create_task(task.into()))
    }

    fn update(&mut self, id: String, patch: types::TaskPatch) -> wasmtime::Result<Result<types::Task, types::Error>> {
        to_wit(self.update_task(&id, &patch.into()))
    }

    fn delete(&mut self, id: String) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.delete_task(&id))
    }

    fn count(&mut self, filter: types::Filter) -> wasmtime::Result<Result<u32, types::Error>> {
        to_wit(self.count_tasks(&filter.into()))
    }
}

impl state::Host for PluginContext {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, types::Error>> {
        to_wit(self.get_state(&key))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.set_state(&key, &value))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.delete_state(&key))
    }

    fn list_keys(&mut self) -> wasmtime::Result<Result<Vec<String>, types::Error>> {
        to_wit(self.list_state_keys())
    }
}

impl events::Host for PluginContext {
    fn emit(&mut self, topic: String, payload: Vec<u8>) -> wasmtime::Result<Result<(), types::Error>> {
        to_wit(self.emit_event(topic, payload))
    }
}

impl From<log::Level> for LogLevel {
    fn from(level: log::Level) -> LogLevel {
        match level {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        }
    }
}

impl log::Host for PluginContext {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.log_line(level.into(), message)
    }
}

impl clock::Host for PluginContext {
    fn now(&mut self) -> wasmtime::Result<i64> {
        self.enter()?;
        Ok((self.services.clock)())
    }
}

impl config::Host for PluginContext {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.enter()?;
        Ok(self.config.get(&key).cloned())
    }
}
