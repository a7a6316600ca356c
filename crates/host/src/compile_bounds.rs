//! What a component may ask of the compiler, checked before it is compiled.
//!
//! Cranelift's time grows faster than the size of what it compiles: a long
//! function body, many locals, deep nesting of blocks or a huge `br_table`
//! each make one function cost more than its bytes say, and nothing stops
//! wasmtime once it has started. So before a component is compiled (at load,
//! at hot reload and at `plugboard inspect`) one pass of `wasmparser` walks
//! it, every core module nested inside it included, and a component over any
//! bound is refused with the bound and the value named; it never reaches the
//! compiler. The walk reads each byte once and keeps a few counters, so its
//! cost is linear in the file and small next to compiling (about 1 % of it
//! for a componentize-py plugin).
//!
//! # How the bounds were chosen
//!
//! Measured on trivial v2 plugins built against `wit/task-events@2.1.0`
//! (componentize-py 0.25.1 and componentize-js 0.23.0), the largest real
//! components a plugin author makes today:
//!
//! | figure                          | componentize-py | componentize-js | bound       |
//! |---------------------------------|-----------------|-----------------|-------------|
//! | file size                       | 18.4 MB         | 12.3 MB         | 64 MiB      |
//! | core modules                    | 14              | 4               | 64          |
//! | functions (one module)          | 10,625          | 12,629          | 100,000     |
//! | functions (all modules)         | 13,382          | 12,722          | 200,000     |
//! | largest function body           | 426,843 B       | 171,628 B       | 1 MiB       |
//! | code bytes (all modules)        | 6.6 MB          | 9.2 MB          | 32 MiB      |
//! | locals in one function          | 271             | 118             | 5,000       |
//! | nesting of blocks               | 782             | 457             | 3,000       |
//! | `br_table` targets              | 3,202           | 453             | 65,536      |
//! | types (one module)              | 396             | 141             | 10,000      |
//! | imports (one module)            | 918             | 70              | 10,000      |
//! | exports (one module)            | 1,857           | 64              | 20,000      |
//! | data segments (one module)      | 1,867           | 10,000          | 100,000     |
//! | globals (one module)            | 508             | 3               | 10,000      |
//! | component items (one component) | 1,701           | 398             | 20,000      |
//! | nesting of components           | 2               | 2               | 16          |
//! | walk of this module (debug)     | 0.27 s          | 0.21 s          |             |
//! | compile (Cranelift, 2 cores)    | 24.8 s          | 15.0 s          |             |
//!
//! Each bound is at least twice the larger measured figure (the body size,
//! which drives Cranelift's superlinear cost most) and mostly ten times it,
//! so a real plugin with much more code of its own still loads, while a
//! component that would keep Cranelift busy for minutes does not. What is
//! left (a legal component can still take tens of seconds) is bounded in
//! time by [`RuntimeOptions::compile_timeout`](crate::RuntimeOptions). An embedder may set other
//! bounds in [`RuntimeOptions::compile_bounds`](crate::RuntimeOptions).

use std::fmt;

use wasmparser::{Encoding, Operator, Parser, Payload};

/// What one component may ask of the compiler. Every field is an inclusive
/// maximum; see the module docs for the measured figures behind each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileBounds {
    /// Bytes of the component file, checked before it is read.
    pub file_bytes: u64,
    /// Core modules inside the component, at any depth.
    pub core_modules: u64,
    /// Functions with a body in one core module.
    pub functions_per_module: u64,
    /// Functions with a body in all core modules together.
    pub functions: u64,
    /// Bytes of one function body.
    pub function_body_bytes: u64,
    /// Code-section bytes of all core modules together.
    pub code_bytes: u64,
    /// Locals declared by one function (parameters not counted).
    pub locals_per_function: u64,
    /// Depth of nested `block`, `loop`, `if`, `try` and `try_table`.
    pub nesting_depth: u64,
    /// Targets of one `br_table`.
    pub br_table_targets: u64,
    /// Types of one core module.
    pub types_per_module: u64,
    /// Imports of one core module.
    pub imports_per_module: u64,
    /// Exports of one core module.
    pub exports_per_module: u64,
    /// Data segments of one core module.
    pub data_segments_per_module: u64,
    /// Globals of one core module.
    pub globals_per_module: u64,
    /// Items (types, imports, exports, instances, aliases, canonical
    /// functions) declared by one component; each lifted or lowered
    /// function is a trampoline the compiler makes.
    pub component_items: u64,
    /// Depth of components nested inside components.
    pub component_nesting: u64,
}

impl CompileBounds {
    /// The host's bounds: several times what componentize-py and
    /// componentize-js plugins need (see the module docs).
    pub const DEFAULT: CompileBounds = CompileBounds {
        file_bytes: 64 << 20,
        core_modules: 64,
        functions_per_module: 100_000,
        functions: 200_000,
        function_body_bytes: 1 << 20,
        code_bytes: 32 << 20,
        locals_per_function: 5_000,
        nesting_depth: 3_000,
        br_table_targets: 65_536,
        types_per_module: 10_000,
        imports_per_module: 10_000,
        exports_per_module: 20_000,
        data_segments_per_module: 100_000,
        globals_per_module: 10_000,
        component_items: 20_000,
        component_nesting: 16,
    };
}

impl Default for CompileBounds {
    fn default() -> Self {
        CompileBounds::DEFAULT
    }
}

/// One bound, by the name of its field in [`CompileBounds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// [`CompileBounds::file_bytes`].
    FileBytes,
    /// [`CompileBounds::core_modules`].
    CoreModules,
    /// [`CompileBounds::functions_per_module`].
    FunctionsPerModule,
    /// [`CompileBounds::functions`].
    Functions,
    /// [`CompileBounds::function_body_bytes`].
    FunctionBodyBytes,
    /// [`CompileBounds::code_bytes`].
    CodeBytes,
    /// [`CompileBounds::locals_per_function`].
    LocalsPerFunction,
    /// [`CompileBounds::nesting_depth`].
    NestingDepth,
    /// [`CompileBounds::br_table_targets`].
    BrTableTargets,
    /// [`CompileBounds::types_per_module`].
    TypesPerModule,
    /// [`CompileBounds::imports_per_module`].
    ImportsPerModule,
    /// [`CompileBounds::exports_per_module`].
    ExportsPerModule,
    /// [`CompileBounds::data_segments_per_module`].
    DataSegmentsPerModule,
    /// [`CompileBounds::globals_per_module`].
    GlobalsPerModule,
    /// [`CompileBounds::component_items`].
    ComponentItems,
    /// [`CompileBounds::component_nesting`].
    ComponentNesting,
}

impl Bound {
    /// The field's name, as a user or embedder looks it up.
    pub fn name(self) -> &'static str {
        match self {
            Bound::FileBytes => "file_bytes",
            Bound::CoreModules => "core_modules",
            Bound::FunctionsPerModule => "functions_per_module",
            Bound::Functions => "functions",
            Bound::FunctionBodyBytes => "function_body_bytes",
            Bound::CodeBytes => "code_bytes",
            Bound::LocalsPerFunction => "locals_per_function",
            Bound::NestingDepth => "nesting_depth",
            Bound::BrTableTargets => "br_table_targets",
            Bound::TypesPerModule => "types_per_module",
            Bound::ImportsPerModule => "imports_per_module",
            Bound::ExportsPerModule => "exports_per_module",
            Bound::DataSegmentsPerModule => "data_segments_per_module",
            Bound::GlobalsPerModule => "globals_per_module",
            Bound::ComponentItems => "component_items",
            Bound::ComponentNesting => "component_nesting",
        }
    }

    /// What is counted, in words.
    fn what(self) -> &'static str {
        match self {
            Bound::FileBytes => "bytes in the file",
            Bound::CoreModules => "core modules",
            Bound::FunctionsPerModule => "functions in one core module",
            Bound::Functions => "functions in all core modules",
            Bound::FunctionBodyBytes => "bytes in one function body",
            Bound::CodeBytes => "bytes of code in all core modules",
            Bound::LocalsPerFunction => "locals in one function",
            Bound::NestingDepth => "nested blocks in one function",
            Bound::BrTableTargets => "targets of one br_table",
            Bound::TypesPerModule => "types in one core module",
            Bound::ImportsPerModule => "imports of one core module",
            Bound::ExportsPerModule => "exports of one core module",
            Bound::DataSegmentsPerModule => "data segments in one core module",
            Bound::GlobalsPerModule => "globals in one core module",
            Bound::ComponentItems => "items declared by one component",
            Bound::ComponentNesting => "components nested in one another",
        }
    }

    fn limit(self, bounds: &CompileBounds) -> u64 {
        match self {
            Bound::FileBytes => bounds.file_bytes,
            Bound::CoreModules => bounds.core_modules,
            Bound::FunctionsPerModule => bounds.functions_per_module,
            Bound::Functions => bounds.functions,
            Bound::FunctionBodyBytes => bounds.function_body_bytes,
            Bound::CodeBytes => bounds.code_bytes,
            Bound::LocalsPerFunction => bounds.locals_per_function,
            Bound::NestingDepth => bounds.nesting_depth,
            Bound::BrTableTargets => bounds.br_table_targets,
            Bound::TypesPerModule => bounds.types_per_module,
            Bound::ImportsPerModule => bounds.imports_per_module,
            Bound::ExportsPerModule => bounds.exports_per_module,
            Bound::DataSegmentsPerModule => bounds.data_segments_per_module,
            Bound::GlobalsPerModule => bounds.globals_per_module,
            Bound::ComponentItems => bounds.component_items,
            Bound::ComponentNesting => bounds.component_nesting,
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a component was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundsError {
    /// One figure is over its bound.
    #[error(
        "it asks too much of the compiler: {value} {what}{place}, over the bound `{bound}` of {limit}; \
         a plugin this large or complex is not compiled (split the code, or build it with optimisation)",
        what = bound.what(),
        place = place.as_deref().map(|p| format!(" ({p})")).unwrap_or_default()
    )]
    Over {
        /// Which bound.
        bound: Bound,
        /// The figure found.
        value: u64,
        /// The bound's value.
        limit: u64,
        /// Where in the component, e.g. `core module 2, function 17`.
        place: Option<String>,
    },
    /// wasmparser could not read it.
    #[error("it is not a valid component: {0}")]
    Malformed(String),
}

/// The largest figures found in a component; what [`check`] compares with
/// the bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeStats {
    /// Bytes of the file.
    pub file_bytes: u64,
    /// Core modules at any depth.
    pub core_modules: u64,
    /// The most functions with a body in one core module.
    pub functions_per_module: u64,
    /// Functions with a body in all core modules.
    pub functions: u64,
    /// The largest function body, in bytes.
    pub function_body_bytes: u64,
    /// Code-section bytes of all core modules.
    pub code_bytes: u64,
    /// The most locals of one function.
    pub locals_per_function: u64,
    /// The deepest nesting of blocks.
    pub nesting_depth: u64,
    /// The most targets of one `br_table`.
    pub br_table_targets: u64,
    /// The most types of one core module.
    pub types_per_module: u64,
    /// The most imports of one core module.
    pub imports_per_module: u64,
    /// The most exports of one core module.
    pub exports_per_module: u64,
    /// The most data segments of one core module.
    pub data_segments_per_module: u64,
    /// The most globals of one core module.
    pub globals_per_module: u64,
    /// The most items one component declares.
    pub component_items: u64,
    /// The deepest nesting of components.
    pub component_nesting: u64,
}

/// What the walk is inside: a component or a core module.
enum Frame {
    Component { items: u64 },
    Module { index: u64, function: u64 },
}

/// Checks `bytes` against `bounds` in one linear pass, stopping at the
/// first figure over its bound; returns what it measured.
pub fn check(bytes: &[u8], bounds: &CompileBounds) -> Result<CodeStats, BoundsError> {
    let mut walk = Walk {
        bounds,
        stats: CodeStats::default(),
        stack: Vec::new(),
    };
    walk.stats.file_bytes = bytes.len() as u64;
    walk.raise(Bound::FileBytes, bytes.len() as u64, None)?;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| BoundsError::Malformed(e.to_string()))?;
        walk.payload(payload)?;
    }
    Ok(walk.stats)
}

struct Walk<'b> {
    bounds: &'b CompileBounds,
    stats: CodeStats,
    stack: Vec<Frame>,
}

fn malformed(e: wasmparser::BinaryReaderError) -> BoundsError {
    BoundsError::Malformed(e.to_string())
}

impl Walk<'_> {
    /// Records `value` for `bound` (keeping the largest) and fails when it
    /// is over.
    fn raise(&mut self, bound: Bound, value: u64, place: Option<&dyn Fn() -> String>) -> Result<(), BoundsError> {
        let stats = &mut self.stats;
        let slot = match bound {
            Bound::FileBytes => &mut stats.file_bytes,
            Bound::CoreModules => &mut stats.core_modules,
            Bound::FunctionsPerModule => &mut stats.functions_per_module,
            Bound::Functions => &mut stats.functions,
            Bound::FunctionBodyBytes => &mut stats.function_body_bytes,
            Bound::CodeBytes => &mut stats.code_bytes,
            Bound::LocalsPerFunction => &mut stats.locals_per_function,
            Bound::NestingDepth => &mut stats.nesting_depth,
            Bound::BrTableTargets => &mut stats.br_table_targets,
            Bound::TypesPerModule => &mut stats.types_per_module,
            Bound::ImportsPerModule => &mut stats.imports_per_module,
            Bound::ExportsPerModule => &mut stats.exports_per_module,
            Bound::DataSegmentsPerModule => &mut stats.data_segments_per_module,
            Bound::GlobalsPerModule => &mut stats.globals_per_module,
            Bound::ComponentItems => &mut stats.component_items,
            Bound::ComponentNesting => &mut stats.component_nesting,
        };
        *slot = (*slot).max(value);
        let limit = bound.limit(self.bounds);
        if value > limit {
            return Err(BoundsError::Over {
                bound,
                value,
                limit,
                place: place.map(|p| p()),
            });
        }
        Ok(())
    }

    /// The core module being walked, as `core module N`.
    fn module_place(&self) -> String {
        match self.stack.last() {
            Some(Frame::Module { index, .. }) => format!("core module {index}"),
            _ => "the component".to_string(),
        }
    }

    /// Counts `count` more items declared by the component being walked.
    fn component_items(&mut self, count: u32) -> Result<(), BoundsError> {
        let Some(Frame::Component { items }) = self.stack.last_mut() else {
            return Ok(());
        };
        *items += u64::from(count);
        let items = *items;
        self.raise(Bound::ComponentItems, items, None)
    }

    /// Checks a per-module count.
    fn module_count(&mut self, bound: Bound, count: u32) -> Result<(), BoundsError> {
        let place = self.module_place();
        self.raise(bound, u64::from(count), Some(&|| place.clone()))
    }

    fn payload(&mut self, payload: Payload<'_>) -> Result<(), BoundsError> {
        match payload {
            Payload::Version { encoding, .. } => match encoding {
                Encoding::Module => {
                    let index = self.stats.core_modules;
                    self.raise(Bound::CoreModules, index + 1, None)?;
                    self.stack.push(Frame::Module { index, function: 0 });
                }
                Encoding::Component => {
                    self.stack.push(Frame::Component { items: 0 });
                    let depth = self
                        .stack
                        .iter()
                        .filter(|f| matches!(f, Frame::Component { .. }))
                        .count() as u64;
                    self.raise(Bound::ComponentNesting, depth, None)?;
                }
            },
            Payload::End(_) => {
                self.stack.pop();
            }
            Payload::TypeSection(reader) => {
                let mut types: u64 = 0;
                for group in reader {
                    types += group.map_err(malformed)?.types().len() as u64;
                }
                let place = self.module_place();
                self.raise(Bound::TypesPerModule, types, Some(&|| place.clone()))?;
            }
            Payload::ImportSection(reader) => {
                let mut imports: u64 = 0;
                for import in reader.into_imports() {
                    import.map_err(malformed)?;
                    imports += 1;
                }
                let place = self.module_place();
                self.raise(Bound::ImportsPerModule, imports, Some(&|| place.clone()))?;
            }
            Payload::FunctionSection(reader) => {
                let count = u64::from(reader.count());
                let place = self.module_place();
                self.raise(Bound::FunctionsPerModule, count, Some(&|| place.clone()))?;
                let total = self.stats.functions + count;
                self.stats.functions = total;
                self.raise(Bound::Functions, total, None)?;
            }
            Payload::ExportSection(reader) => self.module_count(Bound::ExportsPerModule, reader.count())?,
            Payload::DataSection(reader) => self.module_count(Bound::DataSegmentsPerModule, reader.count())?,
            Payload::DataCountSection { count, .. } => self.module_count(Bound::DataSegmentsPerModule, count)?,
            Payload::GlobalSection(reader) => self.module_count(Bound::GlobalsPerModule, reader.count())?,
            Payload::CodeSectionStart { count, size, .. } => {
                self.module_count(Bound::FunctionsPerModule, count)?;
                let total = self.stats.code_bytes + u64::from(size);
                self.stats.code_bytes = total;
                self.raise(Bound::CodeBytes, total, None)?;
            }
            Payload::CodeSectionEntry(body) => self.function(&body)?,
            Payload::ComponentTypeSection(reader) => self.component_items(reader.count())?,
            Payload::ComponentImportSection(reader) => self.component_items(reader.count())?,
            Payload::ComponentExportSection(reader) => self.component_items(reader.count())?,
            Payload::ComponentInstanceSection(reader) => self.component_items(reader.count())?,
            Payload::InstanceSection(reader) => self.component_items(reader.count())?,
            Payload::ComponentAliasSection(reader) => self.component_items(reader.count())?,
            Payload::ComponentCanonicalSection(reader) => self.component_items(reader.count())?,
            Payload::CoreTypeSection(reader) => self.component_items(reader.count())?,
            _ => {}
        }
        Ok(())
    }

    /// One function body: its size, its locals, and in one pass over its
    /// operators the deepest nesting and the largest `br_table`.
    fn function(&mut self, body: &wasmparser::FunctionBody<'_>) -> Result<(), BoundsError> {
        let (module, function) = match self.stack.last_mut() {
            Some(Frame::Module { index, function }) => {
                *function += 1;
                (*index, *function - 1)
            }
            _ => (0, 0),
        };
        let place = || format!("core module {module}, function {function}");
        let size = body.range().len() as u64;
        self.raise(Bound::FunctionBodyBytes, size, Some(&place))?;
        let mut locals: u64 = 0;
        let mut reader = body.get_locals_reader().map_err(malformed)?;
        for _ in 0..reader.get_count() {
            let (count, _) = reader.read().map_err(malformed)?;
            locals += u64::from(count);
            self.raise(Bound::LocalsPerFunction, locals, Some(&place))?;
        }
        let mut operators = body.get_operators_reader().map_err(malformed)?;
        // The body itself is the outermost block.
        let mut depth: u64 = 1;
        let mut deepest: u64 = 1;
        let mut widest: u64 = 0;
        while !operators.eof() {
            match operators.read().map_err(malformed)? {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Try { .. }
                | Operator::TryTable { .. } => {
                    depth += 1;
                    if depth > deepest {
                        deepest = depth;
                        self.raise(Bound::NestingDepth, deepest, Some(&place))?;
                    }
                }
                Operator::End | Operator::Delegate { .. } => depth = depth.saturating_sub(1),
                Operator::BrTable { targets } => {
                    let width = u64::from(targets.len());
                    if width > widest {
                        widest = width;
                        self.raise(Bound::BrTableTargets, width, Some(&place))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
