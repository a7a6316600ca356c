//! The host-side state of one plugin instance (the data of its wasmtime
//! `Store`), and what a single handler call did.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Instant;

/// A plugin's log lines are the contract's, since a [`plugboard_contract::PluginLogSink`] keeps them.
pub use plugboard_contract::plugin_log::{LogLevel, LogLine};
use plugboard_contract::{HostServices, PluginError, TaskChange};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::abuse::{self, Abuse, AbuseKind, LimitExceeded};
use crate::limits::{
    CallLimits, LOG_BYTES_PER_CALL, LOG_LINES_PER_CALL, MAX_INSTANCES_PER_STORE, MAX_MEMORIES_PER_STORE,
    MAX_RANDOM_BYTES, MAX_TABLES_PER_STORE, MAX_WASI_RESOURCES, OUTPUT_BYTES_PER_CALL,
};
use crate::locale::Translations;
use crate::network::NetworkHooks;
use crate::network::host_allowed;
use crate::output::CapturedOutput;
use crate::policy::{Permission, Policy};
use crate::resources::Resources;
use crate::transaction::Transaction;

/// One plugin's request to run another plugin's command
/// (`commands.invoke`), as the dispatcher receives it.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    /// The plugins the request passed through, the caller last: a command
    /// of any of them may not be invoked again down the chain.
    pub(crate) chain: Vec<Arc<str>>,
    /// The provider's id.
    pub(crate) plugin: String,
    /// Its command.
    pub(crate) command: String,
    /// The arguments.
    pub(crate) args: Vec<String>,
    /// When the caller's call ends: the command ends then too.
    pub(crate) ends: Instant,
}

/// What a plugin's host calls may ask of the other plugins loaded beside
/// it: the dispatcher, seen from one plugin's store.
pub(crate) trait Neighbours: Send + Sync {
    /// Runs another plugin's command; the error is what the caller sees.
    fn invoke(self: Arc<Self>, request: Invocation)
    -> futures::future::BoxFuture<'static, Result<String, PluginError>>;

    /// The translations of the locale plugins that translate `plugin`.
    fn translations_for(&self, plugin: &str) -> Vec<Arc<Translations>>;
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
    /// How many of `denied` asked for something the plugin's manifest never
    /// requested: each counts a `denied` strike. A call to a permission the
    /// manifest requests but the user did not grant is reported in
    /// `denied` and not punished.
    pub denied_unrequested: usize,
    /// Task changes and state writes staged and then dropped because the
    /// call failed.
    pub discarded_changes: usize,
    /// Log lines or output bytes dropped because the call wrote too much.
    pub dropped_output: u64,
}

/// Caps linear memory and tables, and remembers which cap a plugin hit so
/// that the trap that follows is reported as what it is. The caps are for
/// the whole store, all its memories (and all its tables) together: a
/// component of several core modules gets one cap, not one per memory.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    memory: usize,
    tables: usize,
    /// Bytes of linear memory across the store's memories.
    memory_used: usize,
    /// Elements across the store's tables.
    tables_used: usize,
    hit: Option<Abuse>,
}

impl MemoryLimiter {
    pub(crate) fn new(limits: &CallLimits) -> MemoryLimiter {
        MemoryLimiter {
            memory: usize::try_from(limits.memory).unwrap_or(usize::MAX),
            tables: limits.table_elements as usize,
            memory_used: 0,
            tables_used: 0,
            hit: None,
        }
    }

    /// Bytes of linear memory the store's memories have now.
    pub(crate) fn memory_used(&self) -> usize {
        self.memory_used
    }

    /// The cap the current call ran into, if any.
    pub(crate) fn hit(&self) -> Option<Abuse> {
        self.hit.clone()
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.memory_used.saturating_sub(current).saturating_add(desired);
        if total <= self.memory {
            self.memory_used = total;
            return Ok(true);
        }
        self.hit = Some(Abuse {
            kind: AbuseKind::Memory,
            detail: format!(
                "tried to grow its memories to {} MiB in all; its cap is {} MiB",
                total >> 20,
                self.memory >> 20
            ),
        });
        Ok(false)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.tables_used.saturating_sub(current).saturating_add(desired);
        if total <= self.tables {
            self.tables_used = total;
            return Ok(true);
        }
        self.hit = Some(Abuse {
            kind: AbuseKind::Memory,
            detail: format!(
                "tried to grow its tables to {total} elements in all; its cap is {}",
                self.tables
            ),
        });
        Ok(false)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES_PER_STORE
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES_PER_STORE
    }

    fn tables(&self) -> usize {
        MAX_TABLES_PER_STORE
    }
}

/// What the current event has used so far.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    host_calls: u64,
    log_lines: u32,
    log_bytes: usize,
    /// Bytes handed to the host in this call, by [`crate::weight`].
    handed: u64,
}

/// The data of one plugin's `Store`.
pub struct PluginContext {
    pub(crate) plugin_id: Arc<str>,
    pub(crate) policy: Arc<Policy>,
    /// Everything the manifest requests, granted or not: a denial of
    /// something in it is reported, of anything else also struck.
    pub(crate) requested: Arc<Policy>,
    /// Ids of the tasks the event being handled carries: a plugin without
    /// `tasks.read` may update or delete these (and the tasks it created in
    /// the call), and no other, so that it cannot probe which ids exist.
    pub(crate) given: Vec<String>,
    pub(crate) limits: Arc<CallLimits>,
    pub(crate) services: HostServices,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) effects: CallEffects,
    pub(crate) tx: Transaction,
    pub(crate) limiter: MemoryLimiter,
    /// The plugin's manifest (its `[dependencies]` and `[commands]`).
    pub(crate) manifest: Option<Arc<plugboard_manifest::Manifest>>,
    /// Its `resources/` folder.
    pub(crate) resources: Arc<Resources>,
    /// Its translations.
    pub(crate) translations: Arc<Translations>,
    /// The other plugins, for `commands.invoke` and locale plugins; `None`
    /// outside a dispatcher.
    pub(crate) neighbours: Option<Weak<dyn Neighbours>>,
    /// The plugins whose invocations led to this call, when another plugin
    /// invoked its command; empty otherwise.
    pub(crate) chain: Vec<Arc<str>>,
    /// When the current call's deadline ends.
    pub(crate) call_ends: Option<Instant>,
    /// The states of the application's own interfaces.
    pub(crate) app: Arc<crate::app_interfaces::AppStates>,
    /// The host-call allowance, when a call of an application interface
    /// went past it in this call (`None` otherwise): the call fails then.
    pub(crate) app_over_budget: Option<u64>,
    usage: Usage,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    network: NetworkHooks,
    table: ResourceTable,
    /// Its folders' descriptors, for the counts of [`crate::files`].
    files: crate::files::FilesState,
}

impl PluginContext {
    /// A context with an empty WASI environment: no preopened directories, no
    /// environment variables, no arguments, every socket refused; stdout and
    /// stderr go to the plugin's log.
    pub(crate) fn new(
        plugin_id: Arc<str>,
        policy: Arc<Policy>,
        requested: Arc<Policy>,
        limits: Arc<CallLimits>,
        services: HostServices,
        config: Arc<BTreeMap<String, String>>,
    ) -> PluginContext {
        let stdout = CapturedOutput::new(OUTPUT_BYTES_PER_CALL);
        let stderr = CapturedOutput::new(OUTPUT_BYTES_PER_CALL);
        // Spelled out, not left to the builder's defaults: the file system
        // and sockets are linked (a toolchain's default build imports them)
        // and must stay inert. No folder is preopened, so no file can be
        // opened; TCP, UDP and name lookup are off, so creating a socket
        // fails with `access-denied` before any OS socket exists, and no
        // address passes the check.
        let wasi = wasi_builder(&stdout, &stderr).build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_WASI_RESOURCES);
        let network = NetworkHooks::new(policy.network.clone().into(), limits.deadline);
        PluginContext {
            plugin_id,
            policy,
            requested,
            given: Vec::new(),
            limiter: MemoryLimiter::new(&limits),
            manifest: None,
            resources: Arc::default(),
            translations: Arc::default(),
            neighbours: None,
            chain: Vec::new(),
            call_ends: None,
            app: Arc::default(),
            app_over_budget: None,
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
            table,
            files: crate::files::FilesState::default(),
        }
    }

    /// The same context with the plugin's own files and manifest, and the
    /// plugins beside it.
    pub(crate) fn with_plugin(
        mut self,
        plugin: &crate::loader::LoadedPlugin,
        neighbours: Option<Weak<dyn Neighbours>>,
    ) -> PluginContext {
        self.manifest = Some(plugin.manifest.clone());
        self.resources = plugin.resources.clone();
        self.translations = plugin.translations.clone();
        self.neighbours = neighbours;
        if !plugin.files.is_empty() {
            // The same empty environment, with the folders granted.
            let mut builder = wasi_builder(&self.stdout, &self.stderr);
            plugin.files.preopen(&self.plugin_id, &mut builder);
            self.wasi = builder.build();
            self.files = crate::files::FilesState::new(plugin.files.clone());
        }
        self
    }

    /// `wasi:filesystem` as plugins get it ([`crate::files::FilesView`]).
    pub(crate) fn files_view(&mut self) -> crate::files::FilesView<'_> {
        let fs = wasmtime_wasi::filesystem::WasiFilesystemCtxView {
            ctx: self.wasi.filesystem(),
            table: &mut self.table,
        };
        crate::files::FilesView::new(fs, &mut self.files)
    }

    /// The same context with the states of the application's interfaces.
    pub(crate) fn with_app_states(mut self, app: Arc<crate::app_interfaces::AppStates>) -> PluginContext {
        self.app = app;
        self
    }

    /// Says what a failed call of this plugin did wrong.
    pub(crate) fn classify(&self, error: &wasmtime::Error) -> Abuse {
        abuse::classify(error, self.limiter.hit(), &self.limits)
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

    /// Counts a call of an application interface against the event's
    /// allowance, as [`PluginContext::enter`] does; past it, returns the
    /// allowance (the getter cannot trap: [`crate::app_interfaces::AppCall::state`]
    /// traps, and the plugin's call fails when it returns).
    pub(crate) fn count_app_call(&mut self) -> Option<u64> {
        self.usage.host_calls += 1;
        if self.usage.host_calls > self.limits.host_calls {
            self.app_over_budget = Some(self.limits.host_calls);
        }
        self.app_over_budget
    }

    /// The trap of a call that went past its host-call allowance through
    /// application interfaces, if it did.
    pub(crate) fn take_app_overrun(&mut self) -> Option<wasmtime::Error> {
        self.app_over_budget.take().map(|limit| {
            LimitExceeded::trap(
                AbuseKind::HostCalls,
                format!("made more than {limit} host calls while handling one event"),
            )
        })
    }

    /// Refuses a value larger than the plugin's `max-value`, by trapping;
    /// `bytes` is its weight ([`crate::weight`]).
    pub(crate) fn check_size(&self, what: &str, bytes: u64) -> wasmtime::Result<()> {
        if bytes > self.limits.max_value {
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

    /// Counts `bytes` (a weight, [`crate::weight`]) against what the call
    /// may hand the host in all; past it the call traps, and everything it
    /// staged is dropped.
    pub(crate) fn charge(&mut self, what: &str, bytes: u64) -> wasmtime::Result<()> {
        self.usage.handed = self.usage.handed.saturating_add(bytes);
        if self.usage.handed > self.limits.call_bytes {
            return Err(LimitExceeded::trap(
                AbuseKind::LargeValue,
                format!(
                    "handed the host more than {} bytes in one call (staged task changes and state writes, \
                     emitted events and log lines together), the last a {what}",
                    self.limits.call_bytes
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
        let requested = self.requested.allows(permission);
        Err(self.deny(permission.name(), requested))
    }

    /// Records a refused call and builds the error the plugin receives;
    /// `requested` says whether the manifest asks for what was missing.
    pub(crate) fn deny(&mut self, what: &str, requested: bool) -> PluginError {
        tracing::warn!(plugin = %self.plugin_id, permission = what, requested, "host call denied");
        self.effects.denied.push(what.to_string());
        if !requested {
            self.effects.denied_unrequested += 1;
        }
        PluginError::Denied(format!("plugin `{}` was not granted `{what}`", self.plugin_id))
    }

    /// Whether a plugin may address the task `id` in an update or delete:
    /// with `tasks.read` any task, without it only the tasks its event
    /// carries and those it created in this call. Refused otherwise, with
    /// the same answer whether the id exists or not.
    pub(crate) fn may_address(&mut self, id: &str) -> Result<(), PluginError> {
        if self.policy.tasks_read || self.given.iter().any(|g| g == id) || self.tx.created(id) {
            return Ok(());
        }
        let requested = self.requested.tasks_read;
        Err(self.deny(Permission::TasksRead.name(), requested))
    }

    /// Remembers the tasks `event` carries, for [`PluginContext::may_address`].
    /// Only a plugin that may change tasks without reading them needs this,
    /// so no other pays for it.
    pub(crate) fn receive(&mut self, event: &plugboard_contract::Event) {
        use plugboard_contract::Event;
        self.given.clear();
        let policy = &self.policy;
        if policy.tasks_read || !(policy.tasks_write || policy.tasks_delete) {
            return;
        }
        match event {
            Event::TaskCreated(task) | Event::TaskDeleted(task) => self.given.push(task.id.clone()),
            Event::TaskModified(change) => self.given.push(change.after.id.clone()),
            Event::SyncCompleted(_) | Event::Timer(_) | Event::Custom(_) => {}
        }
    }

    /// Resets the per-call state before a call.
    pub(crate) fn begin_call(&mut self) {
        self.usage = Usage::default();
        self.chain.clear();
        self.given.clear();
        self.limiter.hit = None;
        self.app_over_budget = None;
        self.tx.discard();
        self.effects = CallEffects::default();
    }

    /// Takes what the call did, leaving the buffers empty for the next; the
    /// plugin's stdout and stderr become log lines.
    pub(crate) fn take_effects(&mut self) -> CallEffects {
        if self
            .network
            .any_refused
            .swap(false, std::sync::atomic::Ordering::Acquire)
        {
            let refused = std::mem::take(&mut *self.network.refused.lock().unwrap_or_else(|e| e.into_inner()));
            for host in refused {
                tracing::warn!(plugin = %self.plugin_id, permission = %host, "request to a host not granted");
                let name = host.strip_prefix("network:").unwrap_or(&host);
                if !host_allowed(&self.requested.network, name) {
                    self.effects.denied_unrequested += 1;
                }
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
    /// traps as a log flood, past the allowance of bytes lines are cut (and
    /// what is cut is given back, not kept in the line's allocation). The
    /// whole line counts against the call's byte budget.
    pub(crate) fn push_log(&mut self, level: LogLevel, mut message: String) -> wasmtime::Result<()> {
        self.charge("log line", crate::weight::text(&message))?;
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
            message = message[..cut].to_string();
        }
        self.usage.log_bytes += message.len();
        tracing::event!(target: "plugboard::plugin", tracing::Level::DEBUG, plugin = %self.plugin_id, %level, "{message}");
        self.effects.logs.push(LogLine { level, message });
        Ok(())
    }
}

/// A WASI context builder for a plugin: stdout and stderr captured, no
/// folder, sockets refused (see [`PluginContext::new`]).
fn wasi_builder(stdout: &CapturedOutput, stderr: &CapturedOutput) -> wasmtime_wasi::WasiCtxBuilder {
    let mut builder = WasiCtx::builder();
    builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .max_random_size(MAX_RANDOM_BYTES)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    builder
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_memories_and_tables_share_one_cap() {
        // What the limiter sees of a component whose core modules each have
        // a memory (its code, libc's adapter, ...): each growing to 40 MiB
        // is within a 64 MiB cap alone, not together.
        let mut limiter = MemoryLimiter::new(&CallLimits::default());
        assert!(limiter.memory_growing(0, 40 << 20, None).unwrap());
        assert!(!limiter.memory_growing(0, 40 << 20, None).unwrap());
        assert_eq!(limiter.hit().map(|h| h.kind), Some(AbuseKind::Memory));
        assert!(limiter.memory_growing(0, 24 << 20, None).unwrap());
        assert!(limiter.memory_growing(40 << 20, 40 << 20, None).unwrap(), "no growth");
        assert!(!limiter.memory_growing(40 << 20, (40 << 20) + 1, None).unwrap());
        assert!(limiter.table_growing(0, 15_000, None).unwrap());
        assert!(!limiter.table_growing(0, 15_000, None).unwrap());
        assert_eq!(
            (limiter.instances(), limiter.memories(), limiter.tables()),
            (MAX_INSTANCES_PER_STORE, MAX_MEMORIES_PER_STORE, MAX_TABLES_PER_STORE)
        );
    }

    /// A component of `copies` core instances of one module whose start
    /// function grows its own memory by `pages` (64 KiB each).
    fn many_memories(copies: usize, pages: i32) -> Vec<u8> {
        use wasm_encoder::{
            CodeSection, ComponentBuilder, Function, FunctionSection, Instruction, MemorySection, MemoryType, Module,
            StartSection, TypeSection,
        };
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let mut memories = MemorySection::new();
        memories.memory(MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        module.section(&memories);
        module.section(&StartSection { function_index: 0 });
        let mut code = CodeSection::new();
        let mut grow = Function::new([]);
        grow.instruction(&Instruction::I32Const(pages))
            .instruction(&Instruction::MemoryGrow(0))
            .instruction(&Instruction::Drop)
            .instruction(&Instruction::End);
        code.function(&grow);
        module.section(&code);
        let mut component = ComponentBuilder::default();
        let index = component.core_module(None, &module);
        for _ in 0..copies {
            component.core_instantiate(None, index, []);
        }
        component.finish()
    }

    /// Instantiates `bytes` in a store limited as a plugin's is; returns
    /// the cap it hit, or the instantiation error.
    fn instantiate(bytes: &[u8]) -> Result<Option<Abuse>, String> {
        let runtime = crate::runtime::Runtime::new().expect("the runtime starts");
        let engine = runtime.engine();
        let component = wasmtime::component::Component::new(engine, bytes).map_err(|e| e.to_string())?;
        let (services, _) = HostServices::in_memory();
        let context = PluginContext::new(
            Arc::from("many-memories"),
            Arc::new(Policy::deny_all()),
            Arc::new(Policy::deny_all()),
            Arc::new(CallLimits::default()),
            services,
            Arc::default(),
        );
        let mut store = wasmtime::Store::new(engine, context);
        store.limiter(|context| &mut context.limiter);
        store.set_epoch_deadline(crate::limits::ticks(std::time::Duration::from_secs(30)));
        let linker = wasmtime::component::Linker::<PluginContext>::new(engine);
        futures::executor::block_on(linker.instantiate_async(&mut store, &component)).map_err(|e| format!("{e:#}"))?;
        Ok(store.data().limiter.hit())
    }

    #[test]
    fn a_component_of_several_memories_gets_one_memory_cap() {
        // Two memories of 40 MiB and a page: each under the 64 MiB cap.
        let hit = instantiate(&many_memories(2, 640)).unwrap();
        let hit = hit.expect("the second memory's growth is refused");
        assert_eq!(hit.kind, AbuseKind::Memory);
        assert!(hit.detail.contains("in all; its cap is 64 MiB"), "{}", hit.detail);
        assert_eq!(instantiate(&many_memories(1, 640)).unwrap(), None);
    }

    #[test]
    fn a_component_of_more_memories_than_a_store_may_have_does_not_instantiate() {
        let err = instantiate(&many_memories(MAX_MEMORIES_PER_STORE + 1, 0)).unwrap_err();
        assert!(err.contains("memor"), "{err}");
    }
}
