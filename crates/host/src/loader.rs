//! From a plugin folder to a plugin ready to instantiate: read the manifest,
//! check the file is a component, check its imports (every refused one
//! named at once, before anything is compiled), check it against the
//! compile bounds, compile it (on a compile thread, within the compile
//! timeout), decide its world, check the manifest agrees, and link it once.
//! Only a component that passed every check is written to the code cache.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use plugboard_manifest::{ApiVersion, Manifest, ManifestError};
use semver::Version;
use wasmtime::component::Component;

use crate::bindings::v1;
use crate::code_cache::{CacheKey, Compiled, Lookup};
use crate::compile_bounds::{self, Bound, BoundsError};
use crate::context::PluginContext;
use crate::grants::Grants;
use crate::imports::{ForbiddenImport, ImportVerdict};
use crate::limits::CallLimits;
use crate::locale::{LocaleError, Translations};
use crate::policy::Policy;
use crate::resources::Resources;
use crate::runtime::Runtime;
use crate::shared_code::SharedCode;
use crate::world::{self, DetectedWorld, WorldError, WorldVersion};

/// Why a plugin could not be loaded. Every message names the plugin and the
/// file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The component file could not be read.
    #[error("plugin `{plugin}`: cannot read {}: {source}", path.display())]
    Read {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `.wat` component file is not valid WebAssembly text; the message
    /// names the file, the line and the column.
    #[error("plugin `{plugin}`: {message}")]
    Text {
        /// The plugin id.
        plugin: String,
        /// The `.wat` file.
        path: PathBuf,
        /// What the text parser said, starting with `FILE:LINE:COLUMN`.
        message: String,
    },
    /// The file is not WebAssembly.
    #[error("plugin `{plugin}`: {} is not a WebAssembly file (it does not start with the `\\0asm` header)", path.display())]
    NotWasm {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
    },
    /// The file is a core module, not a component.
    #[error(
        "plugin `{plugin}`: {} is a core WebAssembly module, not a component; build it for \
         wasm32-wasip2 or wrap it with `wasm-tools component new`", path.display()
    )]
    CoreModule {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
    },
    /// The component is malformed or cannot be compiled.
    #[error("plugin `{plugin}`: {} is not a valid component: {message}", path.display())]
    Compile {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// What the compiler said.
        message: String,
    },
    /// It asks more of the compiler than the host's compile bounds allow;
    /// it was not compiled.
    #[error("plugin `{plugin}`: {} is refused: {source}", path.display())]
    TooComplex {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// The bound, the value found and where.
        source: BoundsError,
    },
    /// Compiling it took longer than the compile timeout.
    #[error(
        "plugin `{plugin}`: compiling {} took longer than the compile timeout of {timeout:?}, so it was \
         abandoned and the plugin refused; a plugin this slow to compile is not run", path.display()
    )]
    CompileTimeout {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// The timeout it ran past.
        timeout: Duration,
    },
    /// Its world version could not be decided or is not spoken.
    #[error("plugin `{plugin}`: {}: {source}", path.display())]
    World {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// Why.
        source: Box<WorldError>,
    },
    /// The manifest's `api` disagrees with the component.
    #[error(
        "plugin `{plugin}`: plugin.toml says `api = \"{declared}\"` but {} is built for \
         plugboard:task-events@{found}; fix the manifest or rebuild the component", path.display()
    )]
    ApiMismatch {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// What the manifest declares.
        declared: ApiVersion,
        /// What the component exports.
        found: Box<Version>,
    },
    /// It imports something outside its world and the WASI subset the host
    /// links; found before compiling, every such import named.
    #[error("plugin `{plugin}`: {} is refused: {source}", path.display())]
    ForbiddenImport {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// Every refused import and why.
        source: crate::imports::ForbiddenImports,
    },
    /// Its `locales/*.json` cannot be read or are not flat objects of texts.
    #[error(transparent)]
    Locale(#[from] LocaleError),
    /// A files grant names a folder that cannot be granted, or its own
    /// folder cannot be made.
    #[error(transparent)]
    Files(#[from] crate::files::FilesError),
    /// An import cannot be satisfied or an export has the wrong shape.
    #[error("plugin `{plugin}`: {} cannot be linked: {message}", path.display())]
    Link {
        /// The plugin id.
        plugin: String,
        /// The component file.
        path: PathBuf,
        /// What the linker said, naming the import.
        message: String,
    },
}

/// The handler bindings, linked once, per world version.
#[derive(Clone)]
pub(crate) enum PluginPre {
    V1(v1::PluginPre<PluginContext>),
    V2(V2Pre),
}

/// A 2.x component linked once: its `handler` export, which every 2.x
/// plugin has, and its `lifecycle` export, which only plugins built against
/// 2.2.0 or later have (the host does without it otherwise). Looked up by
/// interface rather than as the whole world, so that an older plugin
/// without `lifecycle` links.
#[derive(Clone)]
pub(crate) struct V2Pre {
    pub(crate) instance: wasmtime::component::InstancePre<PluginContext>,
    pub(crate) handler: Arc<crate::abi::native::HandlerIndices>,
    pub(crate) lifecycle: Option<Arc<crate::abi::native::LifecycleIndices>>,
}

/// A plugin ready to be added to a dispatcher: its code compiled, checked
/// and linked (instantiating it costs no compilation and no name
/// resolution), or no code at all for a data-only plugin.
#[derive(Clone)]
pub struct LoadedPlugin {
    /// Its manifest.
    pub manifest: Arc<Manifest>,
    /// The folder it was loaded from.
    pub dir: PathBuf,
    /// What it may do. A data-only plugin runs nothing and is granted
    /// nothing.
    pub policy: Arc<Policy>,
    /// Its settings: the manifest's defaults with the user's overrides.
    pub config: Arc<BTreeMap<String, String>>,
    /// The limits each call runs under.
    pub limits: Arc<CallLimits>,
    /// Its code; `None` for a data-only plugin (a keyword list, a locale
    /// pack, data for the application), whose manifest names no component.
    pub code: Option<PluginCode>,
    /// Its `resources/` folder, for `resources.read` and `resources.list`.
    pub resources: Arc<Resources>,
    /// The folders preopened for it ([`crate::files`]); none without a
    /// files grant.
    pub files: Arc<crate::files::FilesPlan>,
    /// Its `locales/*.json`, read at load, for `locale.translate` (its own,
    /// or, for a locale plugin, the plugin's it translates).
    pub translations: Arc<Translations>,
}

/// The code of a plugin: its component, compiled and linked.
#[derive(Clone)]
pub struct PluginCode {
    /// Its component file.
    pub component_path: PathBuf,
    /// The world it speaks.
    pub world: DetectedWorld,
    /// Whether it was compiled now, taken from the code cache, or shared
    /// with another loaded plugin of the same component.
    pub compiled: Compiled,
    pub(crate) pre: PluginPre,
    /// Keeps the shared compiled code in the runtime's table while this
    /// plugin is loaded.
    _shared: Arc<SharedCode>,
}

impl LoadedPlugin {
    /// The plugin id.
    pub fn id(&self) -> &str {
        self.manifest.plugin.id.as_str()
    }

    /// The world it speaks; `None` for a data-only plugin.
    pub fn world(&self) -> Option<&DetectedWorld> {
        self.code.as_ref().map(|code| &code.world)
    }

    /// Its component file; `None` for a data-only plugin.
    pub fn component_path(&self) -> Option<&Path> {
        self.code.as_ref().map(|code| code.component_path.as_path())
    }

    /// Whether its code was compiled now or taken from the code cache;
    /// `None` for a data-only plugin.
    pub fn compiled(&self) -> Option<&Compiled> {
        self.code.as_ref().map(|code| &code.compiled)
    }

    /// Whether it has no code: it never runs and never receives events.
    pub fn is_data_only(&self) -> bool {
        self.code.is_none()
    }
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.id())
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PluginCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginCode")
            .field("component_path", &self.component_path)
            .field("world", &self.world)
            .field("compiled", &self.compiled)
            .finish_non_exhaustive()
    }
}

/// What `inspect` shows about a component file.
#[derive(Debug)]
pub struct ComponentInfo {
    /// The world it speaks, or why that could not be decided; `None` when
    /// it was not compiled because the host refuses some of its imports.
    pub world: Option<Result<DetectedWorld, WorldError>>,
    /// Its import names, in the component's order.
    pub imports: Vec<String>,
    /// What the host does with each import, in the same order.
    pub verdicts: Vec<ImportVerdict>,
    /// Its export names.
    pub exports: Vec<String>,
    /// Whether its code was compiled now or taken from the code cache;
    /// `None` when it was not compiled.
    pub compiled: Option<Compiled>,
}

impl ComponentInfo {
    /// The imports the host refuses, with why; empty when it links them all.
    pub fn refused_imports(&self) -> Vec<ForbiddenImport> {
        self.imports
            .iter()
            .zip(&self.verdicts)
            .filter_map(|(import, verdict)| match verdict {
                ImportVerdict::Refused(reason) => Some(ForbiddenImport {
                    import: import.clone(),
                    reason: reason.clone(),
                }),
                ImportVerdict::Linked(_) => None,
            })
            .collect()
    }
}

/// Options the embedder sets per plugin at load time.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Settings that override the manifest's `[config]` defaults.
    pub config_overrides: BTreeMap<String, String>,
    /// What the user granted; the default grants nothing.
    pub grants: Grants,
    /// The user's language for `locale.translate`; `None` takes it from
    /// the environment ([`crate::locale::user_language`]).
    pub language: Option<plugboard_manifest::Language>,
    /// The folder holding each plugin's own folder (`files.private`), as
    /// `<files_dir>/<id>`; `None`: a plugin granted `files.private` does
    /// not load.
    pub files_dir: Option<PathBuf>,
}

impl LoadOptions {
    /// Options that grant everything the manifest requests: for tests and
    /// for developers running their own plugins.
    pub fn trusting_manifest() -> LoadOptions {
        LoadOptions {
            grants: Grants::everything_requested(),
            ..LoadOptions::default()
        }
    }
}

/// One plugin for [`Runtime::compile_many`]: its manifest, its folder and
/// the options it is loaded with.
#[derive(Debug, Clone)]
pub struct PluginSource {
    /// Its manifest.
    pub manifest: Manifest,
    /// The folder it is loaded from.
    pub dir: PathBuf,
    /// The user's grants and settings for it.
    pub options: LoadOptions,
}

impl Runtime {
    /// Loads the plugin in `dir` (its `plugin.toml` and component).
    pub fn load_dir(&self, dir: &Path, options: &LoadOptions) -> Result<LoadedPlugin, LoadError> {
        let manifest = Manifest::from_dir(dir)?;
        self.load(manifest, dir, options)
    }

    /// Loads a plugin from a parsed manifest and the folder it came from. A
    /// manifest that names no component gives a data-only plugin.
    pub fn load(&self, manifest: Manifest, dir: &Path, options: &LoadOptions) -> Result<LoadedPlugin, LoadError> {
        let plugin = manifest.plugin.id.as_str().to_string();
        let Some(path) = manifest.component_path(dir) else {
            return data_only(manifest, dir, options);
        };
        let bytes = self.read_component(&plugin, &path)?;
        self.load_bytes(manifest, dir, &path, &bytes, options)
    }

    /// Loads a plugin whose component is already in memory; `path` is where
    /// it came from and only names it in messages.
    pub fn load_bytes(
        &self,
        manifest: Manifest,
        dir: &Path,
        path: &Path,
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<LoadedPlugin, LoadError> {
        let plugin = manifest.plugin.id.as_str().to_string();
        let path = path.to_path_buf();
        let policy = Policy::new(&manifest, &options.grants);
        check_is_component(&plugin, &path, bytes)?;
        let imports_http = self.check_imports(&plugin, &path, bytes, &policy)?;
        let (shared, compiled, uncached) = self.shared_or_compiled(&plugin, &path, bytes)?;
        let world = shared.world.clone();
        let declared = manifest.plugin.api;
        if declared.major != world.built_against.major {
            return Err(LoadError::ApiMismatch {
                plugin,
                path,
                declared,
                found: Box::new(world.built_against),
            });
        }
        let pre = shared.pre(imports_http, |component| -> Result<PluginPre, LoadError> {
            let link_error = |e: wasmtime::Error| LoadError::Link {
                plugin: plugin.clone(),
                path: path.clone(),
                message: format!("{e:#}"),
            };
            let instance_pre = self
                .linker(imports_http)
                .instantiate_pre(component)
                .map_err(link_error)?;
            Ok(match world.version {
                WorldVersion::V1 => PluginPre::V1(v1::PluginPre::new(instance_pre).map_err(link_error)?),
                WorldVersion::V2 | WorldVersion::V3Dev => {
                    use crate::abi::native::{HandlerIndices, LifecycleIndices};
                    let handler = HandlerIndices::new(world.version, &instance_pre).map_err(link_error)?;
                    // Only built against 2.2.0 or later; a plugin without it has no
                    // shutdown or health to call.
                    let lifecycle = LifecycleIndices::new(world.version, &instance_pre);
                    PluginPre::V2(V2Pre {
                        instance: instance_pre,
                        handler: Arc::new(handler),
                        lifecycle,
                    })
                }
            })
        })?;
        if let Some(key) = uncached {
            self.cache_store(&plugin, &key, &shared.component);
        }
        let code = PluginCode {
            component_path: path,
            world,
            compiled,
            pre,
            _shared: shared,
        };
        assemble(manifest, dir, options, policy, Some(code))
    }

    /// Loads several plugins, calling `progress(done, total, id)` after each
    /// (compiling is the slow part, seconds per plugin without the code
    /// cache); returns one result per source, in order.
    pub fn compile_many(
        &self,
        sources: &[PluginSource],
        mut progress: impl FnMut(usize, usize, &str),
    ) -> Vec<Result<LoadedPlugin, LoadError>> {
        let total = sources.len();
        let mut results = Vec::with_capacity(total);
        for (index, source) in sources.iter().enumerate() {
            results.push(self.load(source.manifest.clone(), &source.dir, &source.options));
            progress(index + 1, total, source.manifest.plugin.id.as_str());
        }
        results
    }

    /// Refuses a component any of whose imports the host refuses, naming
    /// them all; reads the names from the bytes, compiling nothing. Says
    /// whether it imports outgoing HTTP, which only the networked linker
    /// has (its requests are checked against the granted hosts).
    fn check_imports(&self, plugin: &str, path: &Path, bytes: &[u8], policy: &Policy) -> Result<bool, LoadError> {
        let names = crate::imports::read(bytes).map_err(|e| LoadError::Compile {
            plugin: plugin.to_string(),
            path: path.to_path_buf(),
            message: format!("{e}"),
        })?;
        // A plugin for the unreleased world is refused before anything is
        // compiled, unless the host was asked to speak it.
        if let Err(source @ world::WorldError::Unreleased { .. }) =
            world::detect_from_names_opting(&names.exports, &names.imports, self.options().unstable_world)
        {
            return Err(LoadError::World {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                source: Box::new(source),
            });
        }
        crate::imports::check_offering(names.imports.iter().map(String::as_str), policy, self.app_offer()).map_err(
            |source| LoadError::ForbiddenImport {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                source,
            },
        )?;
        Ok(names.imports.iter().any(|import| import.starts_with("wasi:http/")))
    }

    /// The compiled code of `bytes`: the one in memory when another loaded
    /// plugin uses the same component, else from the code cache or compiled
    /// now, its world detected once. A freshly compiled component comes
    /// with its cache key: the caller writes it to the cache
    /// ([`Runtime::cache_store`]) only once the component is accepted, so a
    /// refused one is never cached.
    fn shared_or_compiled(
        &self,
        plugin: &str,
        path: &Path,
        bytes: &[u8],
    ) -> Result<(Arc<SharedCode>, Compiled, Option<CacheKey>), LoadError> {
        let key = CacheKey::with_engine(self.engine_key(), bytes);
        if let Some(shared) = self.shared_code().get(&key) {
            return Ok((shared, Compiled::Shared, None));
        }
        let (component, compiled, uncached) = self.compile_cached(plugin, path, bytes, &key)?;
        let unstable = self.options().unstable_world;
        let world = world::detect_opting(self.engine(), &component, unstable).map_err(|source| LoadError::World {
            plugin: plugin.to_string(),
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        let shared = self.shared_code().insert(key, SharedCode::new(component, world));
        Ok((shared, compiled, uncached))
    }

    /// Takes the component's code from the code cache or compiles it; a
    /// component compiled now comes with the key to cache it under.
    fn compile_cached(
        &self,
        plugin: &str,
        path: &Path,
        bytes: &[u8],
        key: &CacheKey,
    ) -> Result<(Component, Compiled, Option<CacheKey>), LoadError> {
        let Some(cache) = self.code_cache() else {
            return Ok((self.compile(plugin, path, bytes)?, Compiled::Fresh, None));
        };
        let compiled = match cache.lookup(self.engine(), key) {
            Lookup::Hit(component) => return Ok((component, Compiled::FromCache, None)),
            Lookup::Miss => Compiled::Fresh,
            Lookup::Defect(defect) => Compiled::Replaced(defect),
        };
        let component = self.compile(plugin, path, bytes)?;
        Ok((component, compiled, Some(*key)))
    }

    /// Writes an accepted component to the code cache; a failure only means
    /// it is compiled again next time.
    fn cache_store(&self, plugin: &str, key: &CacheKey, component: &Component) {
        if let Some(cache) = self.code_cache()
            && let Err(e) = cache.store(key, component)
        {
            tracing::warn!(plugin, "{e}");
        }
    }

    /// Reads a component file, never more than the compile bounds'
    /// `file_bytes` (plus one, to tell a file over the bound). A `.wat`
    /// file (a plugin under development) is WebAssembly text, component or
    /// core: it is made binary here, in one pass linear in its size, and
    /// the binary is bounded again, so what follows only ever sees binary.
    /// `plugin` names the plugin in errors.
    pub fn read_component(&self, plugin: &str, path: &Path) -> Result<Vec<u8>, LoadError> {
        let bytes = self.read_bounded(plugin, path)?;
        if !is_text_component(path) {
            return Ok(bytes);
        }
        let binary = wat::Parser::new()
            .parse_bytes(Some(path), &bytes)
            .map_err(|error| LoadError::Text {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                message: error.to_string(),
            })?
            .into_owned();
        let limit = self.options().compile_bounds.file_bytes;
        if binary.len() as u64 > limit {
            return Err(LoadError::TooComplex {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                source: BoundsError::Over {
                    bound: Bound::FileBytes,
                    value: binary.len() as u64,
                    limit,
                    place: None,
                },
            });
        }
        Ok(binary)
    }

    /// Reads a file, never more than the compile bounds' `file_bytes` (plus
    /// one, to tell a file over the bound).
    fn read_bounded(&self, plugin: &str, path: &Path) -> Result<Vec<u8>, LoadError> {
        let read_error = |source| LoadError::Read {
            plugin: plugin.to_string(),
            path: path.to_path_buf(),
            source,
        };
        let limit = self.options().compile_bounds.file_bytes;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(limit.saturating_add(1)).read_to_end(&mut bytes))
            .map_err(read_error)?;
        if bytes.len() as u64 > limit {
            return Err(LoadError::TooComplex {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                source: BoundsError::Over {
                    bound: Bound::FileBytes,
                    value: std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len()),
                    limit,
                    place: None,
                },
            });
        }
        Ok(bytes)
    }

    /// Compiles a component file, after checking it is one and that it
    /// stays within the compile bounds.
    fn compile(&self, plugin: &str, path: &Path, bytes: &[u8]) -> Result<Component, LoadError> {
        check_is_component(plugin, path, bytes)?;
        compile_bounds::check(bytes, &self.options().compile_bounds).map_err(|source| match source {
            BoundsError::Malformed(message) => LoadError::Compile {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                message,
            },
            source => LoadError::TooComplex {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                source,
            },
        })?;
        self.compile_on_own_thread(plugin, path, bytes)
    }

    /// Runs Cranelift on a compile thread and waits for it at most the
    /// compile timeout. A compile past it is abandoned: it still runs to its
    /// end (wasmtime cannot stop it) holding one of the runtime's compile
    /// slots, and its code is dropped.
    fn compile_on_own_thread(&self, plugin: &str, path: &Path, bytes: &[u8]) -> Result<Component, LoadError> {
        let failed = |message: String| LoadError::Compile {
            plugin: plugin.to_string(),
            path: path.to_path_buf(),
            message,
        };
        let slot = self.compile_slots().take();
        let timeout = self.options().compile_timeout;
        let engine = self.engine().clone();
        let bytes = bytes.to_vec();
        let (done, answer) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("plugboard-compile".to_string())
            .spawn(move || {
                let result = Component::new(&engine, &bytes);
                drop(slot);
                // Nobody waits any more when the compile was abandoned.
                let _ = done.send(result);
            })
            .map_err(|e| failed(format!("no thread could be started to compile it: {e}")))?;
        match answer.recv_timeout(timeout) {
            Ok(Ok(component)) => Ok(component),
            Ok(Err(e)) => Err(failed(format!("{e:#}"))),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(LoadError::CompileTimeout {
                plugin: plugin.to_string(),
                path: path.to_path_buf(),
                timeout,
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(failed(
                "the compiler stopped without an answer (a bug in wasmtime or plugboard, not the plugin)".to_string(),
            )),
        }
    }

    /// Reports a component file's imports (with what the host does with
    /// each under `policy`), exports and world. Its imports are read before
    /// anything is compiled; when the host refuses any, it is not compiled
    /// at all. Otherwise it is compiled through the code cache, as a load
    /// does, and written to it only when its world is one the host speaks.
    pub fn inspect(&self, path: &Path, policy: &Policy) -> Result<ComponentInfo, LoadError> {
        let label = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let bytes = self.read_component(&label, path)?;
        check_is_component(&label, path, &bytes)?;
        let names = crate::imports::read(&bytes).map_err(|e| LoadError::Compile {
            plugin: label.clone(),
            path: path.to_path_buf(),
            message: format!("{e}"),
        })?;
        let verdicts: Vec<ImportVerdict> = names
            .imports
            .iter()
            .map(|import| crate::imports::verdict_offering(import, policy, self.app_offer()))
            .collect();
        let mut info = ComponentInfo {
            world: None,
            imports: names.imports,
            verdicts,
            exports: names.exports,
            compiled: None,
        };
        if !info.refused_imports().is_empty() {
            return Ok(info);
        }
        let key = CacheKey::with_engine(self.engine_key(), &bytes);
        let (component, compiled, uncached) = self.compile_cached(&label, path, &bytes, &key)?;
        let world = world::detect_opting(self.engine(), &component, self.options().unstable_world);
        if let (Ok(_), Some(key)) = (&world, uncached) {
            self.cache_store(&label, &key, &component);
        }
        info.world = Some(world);
        info.compiled = Some(compiled);
        Ok(info)
    }
}

/// Refuses anything but a WebAssembly component: a core module, and any
/// other file, precompiled `.cwasm` code included, which is never run from a
/// plugin.
/// Whether a component file is WebAssembly text (`.wat`), as a plugin
/// folder under development may name; archives carry binaries only.
pub fn is_text_component(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("wat"))
}

fn check_is_component(plugin: &str, path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(LoadError::CoreModule {
            plugin: plugin.to_string(),
            path: path.to_path_buf(),
        });
    }
    if !wasmparser::Parser::is_component(bytes) {
        return Err(LoadError::NotWasm {
            plugin: plugin.to_string(),
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// A plugin whose manifest names no component: nothing to compile, link or
/// sandbox, and nothing granted.
fn data_only(manifest: Manifest, dir: &Path, options: &LoadOptions) -> Result<LoadedPlugin, LoadError> {
    assemble(manifest, dir, options, Policy::deny_all(), None)
}

fn assemble(
    manifest: Manifest,
    dir: &Path,
    options: &LoadOptions,
    policy: Policy,
    code: Option<PluginCode>,
) -> Result<LoadedPlugin, LoadError> {
    let mut config = manifest.config.clone();
    config.extend(options.config_overrides.clone());
    let limits = CallLimits::granted(&manifest.limits, &options.grants);
    let language = options.language.clone().unwrap_or_else(crate::locale::user_language);
    let translations = Translations::load(&manifest, dir, &language)?;
    let files = if code.is_some() && !policy.files.is_empty() {
        crate::files::FilesPlan::resolve(manifest.plugin.id.as_str(), &policy.files, options.files_dir.as_deref())?
    } else {
        crate::files::FilesPlan::default()
    };
    Ok(LoadedPlugin {
        files: Arc::new(files),
        policy: Arc::new(policy),
        manifest: Arc::new(manifest),
        resources: Arc::new(Resources::of_plugin(dir)),
        translations: Arc::new(translations),
        dir: dir.to_path_buf(),
        config: Arc::new(config),
        limits: Arc::new(limits),
        code,
    })
}
