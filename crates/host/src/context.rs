//! The host-side state of one plugin instance (the data of its wasmtime
//! `Store`), and what a single handler call did.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A plugin's log lines are the contract's, since a [`plugboard_contract::PluginLogSink`] keeps them.
pub use plugboard_contract::plugin_log::{LogLevel, LogLine};
use plugboard_contract::{HostServices, PluginError, TaskChange};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::abuse::{self, Abuse, AbuseKind, LimitExceeded};
use crate::limits::{CallLimits, LOG_BYTES_PER_CALL, LOG_LINES_PER_CALL, OUTPUT_BYTES_PER_CALL};
use crate::network::NetworkHooks;
use crate::output::CapturedOutput;
use crate::policy::{Permission, Policy};
use crate::transaction::Transaction;

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
    /// Task changes staged and then dropped because the call failed.
    pub discarded_changes: usize,
    /// Log lines or output bytes dropped because the call wrote too much.
    pub dropped_output: u64,
}

/// Caps linear memory and tables, and remembers which cap a plugin hit so
/// that the trap that follows is reported as what it is.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    memory: usize,
    tables: usize,
    hit: Option<Abuse>,
}

impl MemoryLimiter {
    fn new(limits: &CallLimits) -> MemoryLimiter {
        MemoryLimiter {
            memory: usize::try_from(limits.memory).unwrap_or(usize::MAX),
            tables: limits.table_elements as usize,
            hit: None,
        }
    }

    /// The cap the current call ran into, if any.
    pub(crate) fn hit(&self) -> Option<Abuse> {
        self.hit.clone()
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired <= self.memory {
            return Ok(true);
        }
        self.hit = Some(Abuse {
            kind: AbuseKind::Memory,
            detail: format!(
                "tried to grow its memory to {} MiB; its cap is {} MiB",
                desired >> 20,
                self.memory >> 20
            ),
        });
        Ok(false)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired <= self.tables {
            return Ok(true);
        }
        self.hit = Some(Abuse {
            kind: AbuseKind::Memory,
            detail: format!(
                "tried to grow a table to {desired} elements; its cap is {}",
                self.tables
            ),
        });
        Ok(false)
    }
}

/// What the current event has used so far.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    host_calls: u64,
    log_lines: u32,
    log_bytes: usize,
}

/// The data of one plugin's `Store`.
pub struct PluginContext {
    pub(crate) plugin_id: Arc<str>,
    pub(crate) policy: Arc<Policy>,
    pub(crate) limits: Arc<CallLimits>,
    pub(crate) services: HostServices,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) effects: CallEffects,
    pub(crate) tx: Transaction,
    pub(crate) limiter: MemoryLimiter,
    usage: Usage,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    network: NetworkHooks,
    table: ResourceTable,
}

impl PluginContext {
    /// A context with an empty WASI environment: no preopened directories, no
    /// environment variables, no arguments, no network; stdout and stderr go
    /// to the plugin's log.
    pub(crate) fn new(
        plugin_id: Arc<str>,
        policy: Arc<Policy>,
        limits: Arc<CallLimits>,
        services: HostServices,
        config: Arc<BTreeMap<String, String>>,
    ) -> PluginContext {
        let stdout = CapturedOutput::new(OUTPUT_BYTES_PER_CALL);
        let stderr = CapturedOutput::new(OUTPUT_BYTES_PER_CALL);
        let wasi = WasiCtx::builder().stdout(stdout.clone()).stderr(stderr.clone()).build();
        let network = NetworkHooks::new(policy.network.clone().into(), limits.deadline);
        PluginContext {
            plugin_id,
            policy,
            limiter: MemoryLimiter::new(&limits),
            limits,
            services,
            config,
            effects: CallEffects::default(),
            tx: Transaction::default(),
            usage: Usage::default(),
            stdout,
            stderr,
            wasi,
            http: WasiHttpCtx::new(),
            network,
            table: ResourceTable::new(),
        }
    }

    /// Says what a failed call of this plugin did wrong.
    pub(crate) fn classify(&self, error: &wasmtime::Error) -> Abuse {
        abuse::classify(error, self.limiter.hit(), self.limits.deadline)
    }

    /// The id of the plugin this context belongs to.
    pub fn plugin_id(&self) -> &str {
        &self.plugin_id
    }

    /// Counts a host call against the event's allowance; past it, the call
    /// traps.
    pub(crate) fn enter(&mut self) -> wasmtime::Result<()> {
        self.usage.host_calls += 1;
        if self.usage.host_calls > self.limits.host_calls {
            return Err(LimitExceeded::trap(
                AbuseKind::HostCalls,
                format!(
                    "made more than {} host calls while handling one event",
                    self.limits.host_calls
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a value larger than the plugin's `max-value`, by trapping.
    pub(crate) fn check_size(&self, what: &str, bytes: usize) -> wasmtime::Result<()> {
        if bytes as u64 > self.limits.max_value {
            return Err(LimitExceeded::trap(
                AbuseKind::LargeValue,
                format!(
                    "passed a {what} of {bytes} bytes; the most is {}",
                    self.limits.max_value
                ),
            ));
        }
        Ok(())
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

    /// Resets the per-call state before a call.
    pub(crate) fn begin_call(&mut self) {
        self.usage = Usage::default();
        self.limiter.hit = None;
        self.tx.discard();
        self.effects = CallEffects::default();
    }

    /// Takes what the call did, leaving the buffers empty for the next; the
    /// plugin's stdout and stderr become log lines.
    pub(crate) fn take_effects(&mut self) -> CallEffects {
        // Only a plugin granted network hosts has HTTP linked at all.
        if !self.policy.network.is_empty() {
            let refused = std::mem::take(&mut *self.network.refused.lock().unwrap_or_else(|e| e.into_inner()));
            for host in refused {
                tracing::warn!(plugin = %self.plugin_id, permission = %host, "request to a host not granted");
                self.effects.denied.push(host);
            }
        }
        let drained = [
            (self.stdout.drain(), LogLevel::Info),
            (self.stderr.drain(), LogLevel::Warn),
        ];
        for ((bytes, dropped), level) in drained {
            if !bytes.is_empty() {
                for line in String::from_utf8_lossy(&bytes).lines().filter(|l| !l.is_empty()) {
                    self.effects.logs.push(LogLine {
                        level,
                        message: line.to_string(),
                    });
                }
            }
            self.effects.dropped_output += dropped;
        }
        std::mem::take(&mut self.effects)
    }

    /// Records a log line; past the per-call allowance of lines the call
    /// traps as a log flood, past the allowance of bytes lines are cut.
    pub(crate) fn push_log(&mut self, level: LogLevel, mut message: String) -> wasmtime::Result<()> {
        self.usage.log_lines += 1;
        if self.usage.log_lines > LOG_LINES_PER_CALL {
            return Err(LimitExceeded::trap(
                AbuseKind::LogFlood,
                format!("wrote more than {LOG_LINES_PER_CALL} log lines in one call"),
            ));
        }
        let room = LOG_BYTES_PER_CALL.saturating_sub(self.usage.log_bytes);
        if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            self.effects.dropped_output += (message.len() - cut) as u64;
            message.truncate(cut);
        }
        self.usage.log_bytes += message.len();
        tracing::event!(target: "plugboard::plugin", tracing::Level::DEBUG, plugin = %self.plugin_id, %level, "{message}");
        self.effects.logs.push(LogLine { level, message });
        Ok(())
    }
}

impl WasiHttpView for PluginContext {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.network,
        }
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
