//! The host side of the pre-release `task-events@3.0.0-dev`, spoken only
//! when the embedder or the user opts in (`RuntimeOptions::unstable_world`).
//!
//! Every interface it shares with 2.2.0 is the native implementation's
//! (`abi::v2`), linked a second time under its 3.0.0-dev name; what is its
//! own is `host-info`. Its calls count and are bounded as 2.2.0's.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings::v2::plugboard::task_events as v2;
use crate::bindings::v3_dev::plugboard::task_events::host_info;
use crate::context::PluginContext;
use crate::world::WorldVersion;

/// The 3.0.0-dev name of an interface.
fn name(interface: &str) -> String {
    format!(
        "{}/{interface}@{}",
        crate::world::PACKAGE,
        WorldVersion::V3Dev.host_release()
    )
}

/// The store's data is the context every host call runs on.
fn get(context: &mut PluginContext) -> &mut PluginContext {
    context
}

/// Links every 3.0.0-dev host interface: the ones it shares with 2.2.0
/// through the native implementation, and `host-info`.
pub(crate) fn add_to_linker(linker: &mut Linker<PluginContext>) -> wasmtime::Result<()> {
    type Data = HasSelf<PluginContext>;
    // `types` defines no function: its instance only has to exist.
    linker.instance(&name("types"))?;
    v2::tasks::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("tasks"))?, get)?;
    v2::state::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("state"))?, get)?;
    v2::events::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("events"))?, get)?;
    v2::log::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("log"))?, get)?;
    v2::clock::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("clock"))?, get)?;
    v2::config::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("config"))?, get)?;
    v2::commands::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("commands"))?, get)?;
    v2::resources::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("resources"))?, get)?;
    v2::locale::add_to_linker_instance::<PluginContext, Data>(&mut linker.instance(&name("locale"))?, get)?;
    host_info::add_to_linker::<PluginContext, Data>(linker, get)
}

impl host_info::Host for PluginContext {
    /// `host-info.world-release`: counts as a host call.
    fn world_release(&mut self) -> wasmtime::Result<String> {
        self.enter()?;
        Ok(WorldVersion::V3Dev.host_release().to_string())
    }
}
