//! What a component may ask of the compiler: a generated component over each
//! compile bound is refused before it is compiled, naming the plugin, the
//! bound and the value; a big component within the bounds loads and runs;
//! a compile past the compile timeout is abandoned.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use plugboard_contract::Event;
use plugboard_host::{
    Bound, BoundsError, CompileBounds, Dispatcher, HostServices, LoadError, LoadOptions, Outcome, Runtime,
    RuntimeOptions,
};
use plugboard_test_artifacts as artifacts;
use wasm_encoder::{
    CodeSection, Component, ComponentTypeSection, ConstExpr, CustomSection, DataCountSection, DataSection, EntityType,
    ExportKind, ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection, Instruction,
    Module, ModuleSection, NestedComponentSection, PrimitiveValType, TypeSection, ValType,
};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("the runtime starts"))
}

const BOUNDS: CompileBounds = CompileBounds::DEFAULT;

fn manifest(id: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"0.1.0\"\napi = \"task-events@2\"\ncomponent = \"plugin.wasm\"\n\n[events]\nsubscribe = [\"task-created\"]\n"
    )
}

fn plugin_dir(id: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("plugin.toml"), manifest(id)).expect("write manifest");
    std::fs::write(dir.path().join("plugin.wasm"), bytes).expect("write component");
    dir
}

/// A core module of `functions` functions of type `() -> ()`, each with
/// `body` as its code (after its locals) and `locals` i32 locals.
fn module_of(functions: u32, locals: u32, body: &[u8]) -> Module {
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut section = FunctionSection::new();
    for _ in 0..functions {
        section.function(0);
    }
    module.section(&section);
    let mut code = CodeSection::new();
    let mut function = Function::new(if locals == 0 {
        Vec::new()
    } else {
        vec![(locals, ValType::I32)]
    });
    function.raw(body.iter().copied());
    function.instruction(&Instruction::End);
    for _ in 0..functions {
        code.function(&function);
    }
    module.section(&code);
    module
}

/// A component holding the given core modules.
fn component_of(modules: &[Module]) -> Vec<u8> {
    let mut component = Component::new();
    for module in modules {
        component.section(&ModuleSection(module));
    }
    component.finish()
}

const NOP: u8 = 0x01;

/// `depth` nested blocks, each closed.
fn nested_blocks(depth: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(depth * 3);
    for _ in 0..depth {
        body.extend([0x02, 0x40]); // block (no result)
    }
    body.extend(std::iter::repeat_n(0x0b, depth)); // end
    body
}

/// A `br_table` of `targets` targets (all to the enclosing block) inside a
/// block, on a constant.
fn br_table(targets: u32) -> Vec<u8> {
    let mut function = Function::new([]);
    function.instruction(&Instruction::Block(wasm_encoder::BlockType::Empty));
    function.instruction(&Instruction::I32Const(0));
    function.instruction(&Instruction::BrTable(Cow::Owned(vec![0; targets as usize]), 0));
    function.instruction(&Instruction::End);
    // The encoded function starts with its size and its (empty) locals;
    // the body is what follows.
    let mut encoded = Vec::new();
    wasm_encoder::Encode::encode(&function, &mut encoded);
    let skip = leb_len(&encoded) + 1;
    encoded[skip..].to_vec()
}

fn leb_len(bytes: &[u8]) -> usize {
    bytes.iter().position(|b| b & 0x80 == 0).map_or(bytes.len(), |i| i + 1)
}

/// Loads `bytes` as plugin `id` and returns the bound it was refused at,
/// with the value and the message.
fn refused(id: &str, bytes: &[u8]) -> (Bound, u64, String) {
    let dir = plugin_dir(id, bytes);
    let started = Instant::now();
    let err = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .expect_err("a component over a compile bound is refused");
    let message = err.to_string();
    let LoadError::TooComplex {
        source: BoundsError::Over {
            bound, value, limit, ..
        },
        ..
    } = err
    else {
        panic!("refused for another reason: {message}");
    };
    assert!(message.contains(&format!("plugin `{id}`")), "{message}");
    assert!(message.contains(&format!("`{}`", bound.name())), "{message}");
    assert!(message.contains(&value.to_string()), "{message}");
    assert!(value > limit, "{message}");
    // Refused by the check, not after compiling: the check is one pass.
    assert!(started.elapsed() < Duration::from_secs(20), "{message}");
    (bound, value, message)
}

#[test]
fn too_many_functions_in_one_module_are_refused_naming_the_bound() {
    let n = BOUNDS.functions_per_module as u32 + 1;
    let (bound, value, message) = refused("many-functions", &component_of(&[module_of(n, 0, &[])]));
    assert_eq!(bound, Bound::FunctionsPerModule, "{message}");
    assert_eq!(value, u64::from(n));
    assert!(message.contains("core module 0"), "{message}");
}

#[test]
fn too_many_functions_across_modules_are_refused() {
    let per = (BOUNDS.functions / 3) as u32 + 1;
    let modules = [module_of(per, 0, &[]), module_of(per, 0, &[]), module_of(per, 0, &[])];
    let (bound, _, message) = refused("functions-spread", &component_of(&modules));
    assert_eq!(bound, Bound::Functions, "{message}");
}

#[test]
fn a_function_body_over_the_bound_is_refused_naming_the_function() {
    let body = vec![NOP; BOUNDS.function_body_bytes as usize + 1];
    let (bound, _, message) = refused("long-body", &component_of(&[module_of(1, 0, &body)]));
    assert_eq!(bound, Bound::FunctionBodyBytes, "{message}");
    assert!(message.contains("core module 0, function 0"), "{message}");
}

#[test]
fn code_over_the_total_bound_is_refused_though_each_function_is_within_its_own() {
    let body = vec![NOP; (BOUNDS.function_body_bytes - 16) as usize];
    let functions = (BOUNDS.code_bytes / BOUNDS.function_body_bytes) as u32 + 1;
    let (bound, _, message) = refused("much-code", &component_of(&[module_of(functions, 0, &body)]));
    assert_eq!(bound, Bound::CodeBytes, "{message}");
}

#[test]
fn too_many_locals_are_refused() {
    let locals = BOUNDS.locals_per_function as u32 + 1;
    let (bound, value, message) = refused("many-locals", &component_of(&[module_of(1, locals, &[])]));
    assert_eq!(bound, Bound::LocalsPerFunction, "{message}");
    assert_eq!(value, u64::from(locals));
}

#[test]
fn blocks_nested_too_deep_are_refused() {
    let body = nested_blocks(BOUNDS.nesting_depth as usize);
    // The body is the outermost block: `nesting_depth` blocks inside it is one too many.
    let (bound, value, message) = refused("deep", &component_of(&[module_of(1, 0, &body)]));
    assert_eq!(bound, Bound::NestingDepth, "{message}");
    assert_eq!(value, BOUNDS.nesting_depth + 1);
}

#[test]
fn a_br_table_over_the_bound_is_refused() {
    let body = br_table(BOUNDS.br_table_targets as u32 + 1);
    let (bound, _, message) = refused("wide-table", &component_of(&[module_of(1, 0, &body)]));
    assert_eq!(bound, Bound::BrTableTargets, "{message}");
}

#[test]
fn too_many_types_imports_exports_data_segments_or_globals_are_refused() {
    let over = |bound: u64| bound as u32 + 1;

    let mut types = TypeSection::new();
    for _ in 0..over(BOUNDS.types_per_module) {
        types.ty().function([], []);
    }
    let mut module = Module::new();
    module.section(&types);
    assert_eq!(refused("types", &component_of(&[module])).0, Bound::TypesPerModule);

    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut imports = ImportSection::new();
    for i in 0..over(BOUNDS.imports_per_module) {
        imports.import("env", &format!("f{i}"), EntityType::Function(0));
    }
    module.section(&imports);
    assert_eq!(refused("imports", &component_of(&[module])).0, Bound::ImportsPerModule);

    let mut exports = ExportSection::new();
    for i in 0..over(BOUNDS.exports_per_module) {
        exports.export(&format!("e{i}"), ExportKind::Func, 0);
    }
    // Sections must be in order: exports come before code.
    let mut ordered = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    ordered.section(&types);
    let mut functions = FunctionSection::new();
    functions.function(0);
    ordered.section(&functions);
    ordered.section(&exports);
    assert_eq!(refused("exports", &component_of(&[ordered])).0, Bound::ExportsPerModule);

    let mut module = Module::new();
    module.section(&DataCountSection {
        count: over(BOUNDS.data_segments_per_module),
    });
    let mut data = DataSection::new();
    for _ in 0..over(BOUNDS.data_segments_per_module) {
        data.passive([0u8]);
    }
    module.section(&data);
    assert_eq!(
        refused("data", &component_of(&[module])).0,
        Bound::DataSegmentsPerModule
    );

    let mut module = Module::new();
    let mut globals = GlobalSection::new();
    for _ in 0..over(BOUNDS.globals_per_module) {
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: false,
                shared: false,
            },
            &ConstExpr::i32_const(0),
        );
    }
    module.section(&globals);
    assert_eq!(refused("globals", &component_of(&[module])).0, Bound::GlobalsPerModule);
}

#[test]
fn too_many_modules_items_or_nested_components_and_a_file_too_large_are_refused() {
    let modules: Vec<Module> = (0..=BOUNDS.core_modules).map(|_| module_of(0, 0, &[])).collect();
    assert_eq!(refused("modules", &component_of(&modules)).0, Bound::CoreModules);

    let mut component = Component::new();
    let mut types = ComponentTypeSection::new();
    for _ in 0..=BOUNDS.component_items {
        types.defined_type().primitive(PrimitiveValType::U32);
    }
    component.section(&types);
    assert_eq!(refused("items", &component.finish()).0, Bound::ComponentItems);

    let mut nested = Component::new();
    for _ in 0..BOUNDS.component_nesting {
        let mut outer = Component::new();
        outer.section(&NestedComponentSection(&nested));
        nested = outer;
    }
    let (bound, value, message) = refused("nested", &nested.finish());
    assert_eq!(bound, Bound::ComponentNesting, "{message}");
    assert_eq!(value, BOUNDS.component_nesting + 1);

    let mut component = Component::new();
    component.section(&CustomSection {
        name: Cow::Borrowed("padding"),
        data: Cow::Owned(vec![0; BOUNDS.file_bytes as usize]),
    });
    let (bound, value, message) = refused("huge-file", &component.finish());
    assert_eq!(bound, Bound::FileBytes, "{message}");
    assert!(value > BOUNDS.file_bytes, "{message}");
}

/// The conformance fixture with one more core module in it, never
/// instantiated but compiled like the rest.
fn with_extra_module(bytes: &[u8], extra: &Module) -> Vec<u8> {
    use wasm_encoder::reencode::{ReencodeComponent, RoundtripReencoder};
    let mut component = Component::new();
    RoundtripReencoder
        .parse_component(&mut component, wasmparser::Parser::new(0), bytes)
        .expect("the fixture re-encodes");
    component.section(&ModuleSection(extra));
    component.finish()
}

#[test]
fn a_big_component_within_every_bound_loads_and_handles_events() {
    // Close to several bounds at once: many functions, one long body with
    // many locals, deep nesting and a wide br_table.
    let mut body = Vec::new();
    body.extend(nested_blocks(BOUNDS.nesting_depth as usize - 100));
    body.extend(br_table(BOUNDS.br_table_targets as u32 - 100));
    body.extend(std::iter::repeat_n(NOP, 400_000));
    let long = module_of(1, BOUNDS.locals_per_function as u32 - 100, &body);
    let many = module_of(20_000, 0, &[]);
    let mut bytes = with_extra_module(artifacts::CONFORMANCE_V2.bytes, &long);
    bytes = with_extra_module(&bytes, &many);
    let stats = plugboard_host::compile_bounds::check(&bytes, &BOUNDS).expect("within every bound");
    assert!(stats.nesting_depth > BOUNDS.nesting_depth - 200, "{stats:?}");
    assert!(stats.functions_per_module >= 20_000, "{stats:?}");

    let dir = plugin_dir("big", &bytes);
    let plugin = runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .expect("a component within the bounds loads");
    let (services, tasks) = HostServices::in_memory();
    let dispatcher = Dispatcher::new(runtime(), services);
    dispatcher.add(plugin).expect("added");
    let task = tasks
        .create(plugboard_contract::task_store::new_task("within bounds"), 1)
        .expect("task created");
    let report = dispatcher.dispatch_blocking(&Event::TaskCreated(task));
    let delivery = report
        .deliveries
        .iter()
        .find(|d| &*d.plugin == "big")
        .expect("delivered");
    assert_eq!(delivery.outcome, Outcome::Handled, "{report:?}");
}

#[test]
fn a_compile_past_the_compile_timeout_is_abandoned_and_the_plugin_refused() {
    // No component of the fixtures compiles in a millisecond: that one
    // cannot finish in time, whatever the machine.
    let impatient = Runtime::with_options(RuntimeOptions {
        compile_timeout: Duration::from_millis(1),
        ..RuntimeOptions::default()
    })
    .expect("the runtime starts");
    let dir = plugin_dir("slow", artifacts::CONFORMANCE_V2.bytes);
    let started = Instant::now();
    let err = impatient
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .expect_err("the compile is abandoned");
    assert!(matches!(err, LoadError::CompileTimeout { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("plugin `slow`"), "{message}");
    assert!(message.contains("compile timeout of 1ms"), "{message}");
    // The caller was not held for the compile.
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // The default runtime loads the same plugin.
    runtime()
        .load_dir(dir.path(), &LoadOptions::trusting_manifest())
        .expect("it loads within the default timeout");
}
