//! The native implementation of the newest world's host interfaces.
//!
//! Every call checks the plugin's policy first; a refusal returns the WIT
//! `denied` error and is recorded. Storage failures that are not the
//! plugin's fault trap the call instead of blaming the plugin.

use crate::bindings::v2::plugboard::task_events::{clock, config, events, log, state, tasks, types};
use crate::context::{EmittedEvent, LogLevel, PluginContext, TaskChange};
use crate::policy::Permission;
use crate::state_store::StateStoreError;
use crate::task_store::TaskStoreError;
use crate::types::{Filter, NewTask, PluginError, Task, TaskPatch};

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

impl types::Host for PluginContext {}

impl tasks::Host for PluginContext {
    fn get(&mut self, id: String) -> wasmtime::Result<Result<Option<Task>, PluginError>> {
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        task_result(self.services.tasks.get(&id))
    }

    fn query(&mut self, filter: Filter) -> wasmtime::Result<Result<Vec<Task>, PluginError>> {
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        task_result(self.services.tasks.query(&capped(&filter)))
    }

    fn create(&mut self, task: NewTask) -> wasmtime::Result<Result<Task, PluginError>> {
        if let Err(e) = self.require(Permission::TasksWrite) {
            return Ok(Err(e));
        }
        let now = (self.services.clock)();
        let created = task_result(self.services.tasks.create(task, now))?;
        if let Ok(task) = &created {
            self.effects.changes.push(TaskChange::Created(task.clone()));
        }
        Ok(created)
    }

    fn update(&mut self, id: String, patch: TaskPatch) -> wasmtime::Result<Result<Task, PluginError>> {
        if let Err(e) = self.require(Permission::TasksWrite) {
            return Ok(Err(e));
        }
        let now = (self.services.clock)();
        Ok(
            task_result(self.services.tasks.update(&id, &patch, now))?.map(|(before, after)| {
                if before != after {
                    self.effects.changes.push(TaskChange::Updated {
                        before,
                        after: after.clone(),
                    });
                }
                after
            }),
        )
    }

    fn delete(&mut self, id: String) -> wasmtime::Result<Result<(), PluginError>> {
        if let Err(e) = self.require(Permission::TasksDelete) {
            return Ok(Err(e));
        }
        Ok(task_result(self.services.tasks.delete(&id))?.map(|task| {
            self.effects.changes.push(TaskChange::Deleted(task));
        }))
    }

    fn count(&mut self, filter: Filter) -> wasmtime::Result<Result<u32, PluginError>> {
        if let Err(e) = self.require(Permission::TasksRead) {
            return Ok(Err(e));
        }
        let mut all = filter;
        all.limit = None;
        Ok(task_result(self.services.tasks.query(&all))?.map(|list| list.len().min(u32::MAX as usize) as u32))
    }
}

impl state::Host for PluginContext {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, PluginError>> {
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(&key)) {
            return Ok(Err(e));
        }
        let value = self.services.state.get(&self.plugin_id, &key).map_err(state_failure)?;
        Ok(Ok(value))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), PluginError>> {
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(&key)) {
            return Ok(Err(e));
        }
        if value.len() > MAX_STATE_VALUE_BYTES {
            return Ok(Err(PluginError::Invalid(format!(
                "state value for {key:?} is {} bytes; the most is {MAX_STATE_VALUE_BYTES}",
                value.len()
            ))));
        }
        let quota = self.policy.state_quota.unwrap_or(0);
        let store = &self.services.state;
        let used = store.usage(&self.plugin_id).map_err(state_failure)?;
        let replaced = store
            .get(&self.plugin_id, &key)
            .map_err(state_failure)?
            .map_or(0, |old| (key.len() + old.len()) as u64);
        if used - replaced.min(used) + (key.len() + value.len()) as u64 > quota {
            return Ok(Err(PluginError::QuotaExceeded));
        }
        store.set(&self.plugin_id, &key, &value).map_err(state_failure)?;
        Ok(Ok(()))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), PluginError>> {
        if let Err(e) = self.require(Permission::State).and_then(|_| check_key(&key)) {
            return Ok(Err(e));
        }
        self.services
            .state
            .delete(&self.plugin_id, &key)
            .map_err(state_failure)?;
        Ok(Ok(()))
    }

    fn list_keys(&mut self) -> wasmtime::Result<Result<Vec<String>, PluginError>> {
        if let Err(e) = self.require(Permission::State) {
            return Ok(Err(e));
        }
        let keys = self.services.state.list_keys(&self.plugin_id).map_err(state_failure)?;
        Ok(Ok(keys))
    }
}

impl events::Host for PluginContext {
    fn emit(&mut self, topic: String, payload: Vec<u8>) -> wasmtime::Result<Result<(), PluginError>> {
        if !self.policy.allows_topic(&topic) {
            return Ok(Err(self.deny(&format!("events.emit:{topic}"))));
        }
        self.effects.emitted.push(EmittedEvent { topic, payload });
        Ok(Ok(()))
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
        self.push_log(level.into(), message);
        Ok(())
    }
}

impl clock::Host for PluginContext {
    fn now(&mut self) -> wasmtime::Result<i64> {
        Ok((self.services.clock)())
    }
}

impl config::Host for PluginContext {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.config.get(&key).cloned())
    }
}
