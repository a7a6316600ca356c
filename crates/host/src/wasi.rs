//! The WASI interfaces a plugin may import, linked one by one with their
//! asynchronous implementations, so that a call waiting inside one (a
//! clock pollable, a stream, an HTTP response) is a future the call's
//! deadline can cancel.
//!
//! What is linked follows the rule in [`crate::imports`]: what can reach
//! something outside the plugin is either linked inert or not linked at
//! all. The file system is linked with no preopened folder, so there is no
//! descriptor to open anything from; sockets are linked with TCP, UDP and
//! name lookup switched off and every address refused (wasmtime's default
//! socket context), so creating a socket fails with `access-denied` before
//! any OS socket exists. Outgoing HTTP is in a second linker, used for the
//! plugins whose component imports it; each request is checked against the
//! hosts granted (none granted: every request refused). Everything else is
//! absent, so a component
//! importing it fails to link whatever the name check says.

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView};
use wasmtime_wasi::{WasiView, random::WasiRandomView};

use crate::context::PluginContext;
use crate::files::FilesLink;

/// `wasi:io` works on the resource table of the plugin's store.
struct IoTable;

impl HasData for IoTable {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(context: &mut PluginContext) -> &mut ResourceTable {
    context.ctx().table
}

/// Links the WASI interfaces every plugin may import: `wasi:io`, clocks,
/// randomness, the `wasi:cli` interfaces of an empty environment (no
/// arguments, no variables, stdin closed, stdout and stderr into the
/// plugin's log, no terminal), and, inert, `wasi:filesystem` (no preopened
/// folder) and `wasi:sockets` (every use refused). The asynchronous
/// implementations are linked, so a wait inside any of them is a future the
/// call's deadline drops.
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
    // Inert unless a folder is granted: the context has no preopened folder
    // (see `PluginContext::new`); with a files grant, the granted folders,
    // writes into them counted (see `crate::files`).
    filesystem::types::add_to_linker::<PluginContext, FilesLink>(l, PluginContext::files_view)?;
    filesystem::preopens::add_to_linker::<PluginContext, FilesLink>(l, PluginContext::files_view)?;
    // Inert: TCP, UDP and name lookup are off and no address passes the
    // context's address check (see `PluginContext::new`).
    let options = sockets::network::LinkOptions::default();
    sockets::network::add_to_linker::<PluginContext, WasiSockets>(l, &options, PluginContext::sockets)?;
    sockets::instance_network::add_to_linker::<PluginContext, WasiSockets>(l, PluginContext::sockets)?;
    sockets::tcp::add_to_linker::<PluginContext, WasiSockets>(l, PluginContext::sockets)?;
    sockets::tcp_create_socket::add_to_linker::<PluginContext, WasiSockets>(l, PluginContext::sockets)?;
    sockets::udp::add_to_linker::<PluginContext, WasiSockets>(l, PluginContext::sockets)?;
    sockets::udp_create_socket::add_to_linker::<PluginContext, WasiSockets>(l, PluginContext::sockets)?;
    sockets::ip_name_lookup::add_to_linker::<PluginContext, WasiSockets>(l, PluginContext::sockets)?;
    Ok(())
}

/// Links outgoing HTTP (`wasi:http/types` and `wasi:http/outgoing-handler`),
/// for the linker of plugins whose component imports it; each request is
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
    fn file_system_and_sockets_link_http_only_when_networked() {
        // Linking alone, without the import check of the loader: the inert
        // file system and sockets are in both linkers, HTTP only in one.
        let runtime = Runtime::new().expect("the runtime starts");
        for networked in [false, true] {
            assert_eq!(link(&runtime, networked, artifacts::HOSTILE_FILESYSTEM), Ok(()));
            assert_eq!(link(&runtime, networked, artifacts::HOSTILE_SOCKETS), Ok(()));
        }
        let offline = link(&runtime, false, artifacts::NET_FETCH).unwrap_err();
        assert!(offline.contains("wasi:http/"), "{offline}");
        assert_eq!(link(&runtime, true, artifacts::NET_FETCH), Ok(()));
        assert_eq!(link(&runtime, false, artifacts::HOSTILE), Ok(()));
    }
}
