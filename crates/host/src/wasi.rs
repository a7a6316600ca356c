//! The WASI interfaces a plugin may import, linked one by one with their
//! asynchronous implementations, so that a call waiting inside one (a
//! clock pollable, a stream, an HTTP response) is a future the call's
//! deadline can cancel.
//!
//! Only what a plugin may use is linked: the file system and sockets are
//! not in the linker at all, so a component importing them fails to link
//! because the import is not there, whatever the name check says. Outgoing
//! HTTP is in a second linker used only for plugins granted network hosts.

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::bindings::{cli, clocks, random};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::{WasiView, random::WasiRandomView};

use crate::context::PluginContext;

/// `wasi:io` works on the resource table of the plugin's store.
struct IoTable;

impl HasData for IoTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(context: &mut PluginContext) -> &mut ResourceTable {
    context.ctx().table
}

/// Links the WASI interfaces every plugin may import: `wasi:io`, clocks,
/// randomness, and the `wasi:cli` interfaces of an empty environment (no
/// arguments, no variables, stdin closed, stdout and stderr into the
/// plugin's log, no terminal).
pub(crate) fn add_sandboxed(linker: &mut Linker<PluginContext>) -> wasmtime::Result<()> {
    use wasmtime_wasi_io::bindings::wasi::io;
    let l = linker;
    io::error::add_to_linker::<PluginContext, IoTable>(l, table)?;
    io::poll::add_to_linker::<PluginContext, IoTable>(l, table)?;
    io::streams::add_to_linker::<PluginContext, IoTable>(l, table)?;
    clocks::wall_clock::add_to_linker::<PluginContext, WasiClocks>(l, PluginContext::clocks)?;
    clocks::monotonic_clock::add_to_linker::<PluginContext, WasiClocks>(l, PluginContext::clocks)?;
    random::random::add_to_linker::<PluginContext, WasiRandom>(l, PluginContext::random)?;
    random::insecure::add_to_linker::<PluginContext, WasiRandom>(l, PluginContext::random)?;
    random::insecure_seed::add_to_linker::<PluginContext, WasiRandom>(l, PluginContext::random)?;
    cli::exit::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::environment::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::stdin::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::stdout::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::stderr::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::terminal_input::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::terminal_output::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::terminal_stdin::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::terminal_stdout::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    cli::terminal_stderr::add_to_linker::<PluginContext, WasiCli>(l, PluginContext::cli)?;
    Ok(())
}

/// Links outgoing HTTP (`wasi:http/types` and `wasi:http/outgoing-handler`),
/// for the linker of plugins granted network hosts; each request is still
/// checked against the granted hosts (see [`crate::network`]).
pub(crate) fn add_outgoing_http(linker: &mut Linker<PluginContext>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}

#[cfg(test)]
mod tests {
    use plugboard_test_artifacts as artifacts;
    use wasmtime::component::Component;

    use crate::runtime::Runtime;

    fn link(runtime: &Runtime, networked: bool, component: artifacts::Component) -> Result<(), String> {
        let component = Component::new(runtime.engine(), component.bytes).expect("the fixture compiles");
        runtime
            .linker(networked)
            .instantiate_pre(&component)
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn what_a_plugin_may_not_import_is_not_in_the_linker() {
        // Linking alone, without the import check of the loader: the
        // interfaces are simply absent.
        let runtime = Runtime::new().expect("the runtime starts");
        let files = link(&runtime, true, artifacts::HOSTILE_FILESYSTEM).unwrap_err();
        assert!(files.contains("wasi:filesystem/"), "{files}");
        let sockets = link(&runtime, true, artifacts::HOSTILE_SOCKETS).unwrap_err();
        assert!(sockets.contains("wasi:sockets/"), "{sockets}");
        let offline = link(&runtime, false, artifacts::NET_FETCH).unwrap_err();
        assert!(offline.contains("wasi:http/"), "{offline}");
        assert_eq!(link(&runtime, true, artifacts::NET_FETCH), Ok(()));
        assert_eq!(link(&runtime, false, artifacts::HOSTILE), Ok(()));
    }
}
