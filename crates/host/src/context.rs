//! The host-side state of one plugin instance (the data of its wasmtime
//! `Store`), and what a single handler call did.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::policy::{Permission, Policy};
use crate::services::HostServices;
use crate::types::{PluginError, Task};

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Fine-grained detail.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Recovered from something unexpected.
    Warn,
    /// Something failed.
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        })
    }
}

/// One line a plugin wrote to its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// Its text.
    pub message: String,
}

/// A task change a plugin made during a call.
// Unboxed on purpose: a change is built once per host call and boxing both
// tasks would add two allocations to every update.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskChange {
    /// It created this task.
    Created(Task),
    /// It changed a task.
    Updated {
        /// The task before.
        before: Task,
        /// The task after.
        after: Task,
    },
    /// It deleted this task.
    Deleted(Task),
}

/// An event a plugin emitted during a call, delivered once the call succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedEvent {
    /// The topic.
    pub topic: String,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Everything one handler call did, collected for its report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CallEffects {
    /// Lines it logged.
    pub logs: Vec<LogLine>,
    /// Task changes it made.
    pub changes: Vec<TaskChange>,
    /// Events it emitted.
    pub emitted: Vec<EmittedEvent>,
    /// Host calls refused for lack of a permission, with the permission.
    pub denied: Vec<String>,
}

/// The data of one plugin's `Store`.
pub struct PluginContext {
    pub(crate) plugin_id: Arc<str>,
    pub(crate) policy: Arc<Policy>,
    pub(crate) services: HostServices,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) effects: CallEffects,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl PluginContext {
    /// A context with an empty WASI environment: no preopened directories, no
    /// environment variables, no arguments, no network; stdio goes nowhere.
    pub(crate) fn new(
        plugin_id: Arc<str>,
        policy: Arc<Policy>,
        services: HostServices,
        config: Arc<BTreeMap<String, String>>,
    ) -> PluginContext {
        PluginContext {
            plugin_id,
            policy,
            services,
            config,
            effects: CallEffects::default(),
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        }
    }

    /// The id of the plugin this context belongs to.
    pub fn plugin_id(&self) -> &str {
        &self.plugin_id
    }

    /// Checks a permission; a refusal is recorded and returned as the WIT
    /// `denied` error naming what is missing.
    pub(crate) fn require(&mut self, permission: Permission) -> Result<(), PluginError> {
        if self.policy.allows(permission) {
            return Ok(());
        }
        Err(self.deny(permission.name()))
    }

    /// Records a refused call and builds the error the plugin receives.
    pub(crate) fn deny(&mut self, what: &str) -> PluginError {
        tracing::warn!(plugin = %self.plugin_id, permission = what, "host call denied");
        self.effects.denied.push(what.to_string());
        PluginError::Denied(format!("plugin `{}` was not granted `{what}`", self.plugin_id))
    }

    /// Takes what the last call did, leaving the buffers empty for the next.
    pub(crate) fn take_effects(&mut self) -> CallEffects {
        std::mem::take(&mut self.effects)
    }

    pub(crate) fn push_log(&mut self, level: LogLevel, message: String) {
        tracing::event!(target: "plugboard::plugin", tracing::Level::INFO, plugin = %self.plugin_id, %level, "{message}");
        self.effects.logs.push(LogLine { level, message });
    }
}

impl WasiView for PluginContext {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
