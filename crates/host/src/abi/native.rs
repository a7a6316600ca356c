//! The exports of the worlds the host implements natively, 2.x and (when
//! opted in) 3.0.0-dev: the same calls on the same types, looked up under
//! each world's names. The dispatcher calls them without asking which.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre};

use crate::bindings::v2::exports::plugboard::task_events as v2;
use crate::bindings::v2::plugboard::task_events::types::{Error, Event};
use crate::bindings::v3_dev::exports::plugboard::task_events as v3_dev;
use crate::context::PluginContext;
use crate::world::WorldVersion;

/// Where a component's `handler` export is, per native world.
pub(crate) enum HandlerIndices {
    V2(v2::handler::GuestIndices),
    V3Dev(v3_dev::handler::GuestIndices),
}

/// Where a component's `lifecycle` export is, per native world.
pub(crate) enum LifecycleIndices {
    V2(v2::lifecycle::GuestIndices),
    V3Dev(v3_dev::lifecycle::GuestIndices),
}

/// An instance's `handler` export.
pub(crate) enum HandlerExport {
    V2(v2::handler::Guest),
    V3Dev(v3_dev::handler::Guest),
}

/// An instance's `lifecycle` export.
pub(crate) enum LifecycleExport {
    V2(v2::lifecycle::Guest),
    V3Dev(v3_dev::lifecycle::Guest),
}

impl HandlerIndices {
    /// Looks up `handler` in a linked component of a native world.
    pub(crate) fn new(version: WorldVersion, pre: &InstancePre<PluginContext>) -> wasmtime::Result<HandlerIndices> {
        Ok(if version == WorldVersion::V3Dev {
            HandlerIndices::V3Dev(v3_dev::handler::GuestIndices::new(pre)?)
        } else {
            HandlerIndices::V2(v2::handler::GuestIndices::new(pre)?)
        })
    }

    /// The export in an instance of the component.
    pub(crate) fn load(
        &self,
        store: &mut Store<PluginContext>,
        instance: &Instance,
    ) -> wasmtime::Result<HandlerExport> {
        Ok(match self {
            HandlerIndices::V2(indices) => HandlerExport::V2(indices.load(store, instance)?),
            HandlerIndices::V3Dev(indices) => HandlerExport::V3Dev(indices.load(store, instance)?),
        })
    }
}

impl LifecycleIndices {
    /// Looks up `lifecycle` in a linked component of a native world; `None`
    /// when it does not export it (built against 2.0 or 2.1).
    pub(crate) fn new(version: WorldVersion, pre: &InstancePre<PluginContext>) -> Option<Arc<LifecycleIndices>> {
        let indices = if version == WorldVersion::V3Dev {
            LifecycleIndices::V3Dev(v3_dev::lifecycle::GuestIndices::new(pre).ok()?)
        } else {
            LifecycleIndices::V2(v2::lifecycle::GuestIndices::new(pre).ok()?)
        };
        Some(Arc::new(indices))
    }

    /// The export in an instance of the component.
    pub(crate) fn load(
        &self,
        store: &mut Store<PluginContext>,
        instance: &Instance,
    ) -> wasmtime::Result<LifecycleExport> {
        Ok(match self {
            LifecycleIndices::V2(indices) => LifecycleExport::V2(indices.load(store, instance)?),
            LifecycleIndices::V3Dev(indices) => LifecycleExport::V3Dev(indices.load(store, instance)?),
        })
    }
}

impl HandlerExport {
    /// `handler.init`.
    pub(crate) async fn call_init(
        &self,
        store: &mut Store<PluginContext>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<(), Error>> {
        match self {
            HandlerExport::V2(guest) => guest.call_init(store, config).await,
            HandlerExport::V3Dev(guest) => guest.call_init(store, config).await,
        }
    }

    /// `handler.on-event`.
    pub(crate) async fn call_on_event(
        &self,
        store: &mut Store<PluginContext>,
        event: &Event,
    ) -> wasmtime::Result<Result<(), Error>> {
        match self {
            HandlerExport::V2(guest) => guest.call_on_event(store, event).await,
            HandlerExport::V3Dev(guest) => guest.call_on_event(store, event).await,
        }
    }

    /// `handler.run-command`.
    pub(crate) async fn call_run_command(
        &self,
        store: &mut Store<PluginContext>,
        name: &str,
        args: &[String],
    ) -> wasmtime::Result<Result<String, Error>> {
        match self {
            HandlerExport::V2(guest) => guest.call_run_command(store, name, args).await,
            HandlerExport::V3Dev(guest) => guest.call_run_command(store, name, args).await,
        }
    }
}

impl LifecycleExport {
    /// `lifecycle.shutdown`.
    pub(crate) async fn call_shutdown(&self, store: &mut Store<PluginContext>) -> wasmtime::Result<()> {
        match self {
            LifecycleExport::V2(guest) => guest.call_shutdown(store).await,
            LifecycleExport::V3Dev(guest) => guest.call_shutdown(store).await,
        }
    }

    /// `lifecycle.health`.
    pub(crate) async fn call_health(
        &self,
        store: &mut Store<PluginContext>,
    ) -> wasmtime::Result<Result<String, Error>> {
        match self {
            LifecycleExport::V2(guest) => guest.call_health(store).await,
            LifecycleExport::V3Dev(guest) => guest.call_health(store).await,
        }
    }
}
