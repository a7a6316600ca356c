//! The frozen task-events@1 ABI (`plugboard:task-events/plugin@1.0.0`).
//!
//! Version 1 knows only a small task (`id`, `title`, `done`, `tags`), three
//! events, and three host calls: [`host::log`], [`host::get_task`] and
//! [`host::update_task`]. It has no settings, no state store and no
//! commands. Use it only for a plugin that must load on applications that
//! speak nothing newer; the host reaches version 1 plugins through an
//! adapter, and events with no version 1 form are not delivered.
//!
//! Depend on the SDK with `default-features = false, features = ["v1"]` and
//! export with [`export_plugin!`](crate::v1::export_plugin):
//!
//! ```no_run
//! use plugboard_sdk::v1::{self, Task, host};
//!
//! #[derive(Default)]
//! struct Greeter;
//!
//! impl v1::Plugin for Greeter {
//!     fn on_task_created(&mut self, task: Task) -> Result<(), String> {
//!         host::log(v1::Level::Info, &format!("hello, {}", task.title));
//!         Ok(())
//!     }
//! }
//!
//! v1::export_plugin!(Greeter);
//! ```

use std::marker::PhantomData;

use crate::instance;
use bindings::exports::plugboard::task_events::handler::Guest;

pub use bindings::plugboard::task_events::types::{Level, Task};

/// Code generated from `wit/task-events@1.0.0` by `wit-bindgen`.
///
/// The world is included under another name only because wit-bindgen names
/// its export macro after the world, and both ABI worlds are called
/// `plugin`; the component's imports and exports are those of
/// `plugboard:task-events/plugin@1.0.0`.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/task-events@1.0.0",
        inline: "
            package plugboard:rust-sdk;

            world plugin-v1 {
                include plugboard:task-events/plugin@1.0.0;
            }
        ",
        world: "plugin-v1",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "export_handler",
        default_bindings_module: "plugboard_sdk::v1::bindings",
        additional_derives: [PartialEq, Eq],
    });
}

/// A task-events@1 plugin: one method per event, each defaulting to `Ok`.
///
/// As with [`crate::Plugin`] (v2), the SDK makes the value with [`Default`]
/// on the first call and keeps it while the host keeps this component
/// instance, so fields can count or cache between events. Version 1 has no
/// state store: whatever the fields hold is lost when the host unloads the
/// plugin.
///
/// Returning `Err(message)` reports the message to the user and discards
/// the changes the call made.
pub trait Plugin: Default + 'static {
    /// A task was created.
    fn on_task_created(&mut self, task: Task) -> Result<(), String> {
        let _ = task;
        Ok(())
    }

    /// A task was changed; `old` is the task before the change.
    fn on_task_modified(&mut self, old: Task, new: Task) -> Result<(), String> {
        let _ = (old, new);
        Ok(())
    }

    /// A task was deleted; `task` is its last state.
    fn on_task_deleted(&mut self, task: Task) -> Result<(), String> {
        let _ = task;
        Ok(())
    }
}

/// What a task-events@1 plugin may ask of the application.
pub mod host {
    use super::bindings::plugboard::task_events::host as imports;
    use super::{Level, Task};

    /// Writes a line to this plugin's log.
    pub fn log(level: Level, message: &str) {
        imports::log(level, message);
    }

    /// Reads a task; `None` when it does not exist or the plugin may not read tasks.
    pub fn get_task(id: &str) -> Option<Task> {
        imports::get_task(id)
    }

    /// Replaces the title, completion and tags of an existing task.
    ///
    /// Fails with a message when the task does not exist or the plugin was
    /// not granted permission to change tasks.
    pub fn update_task(task: &Task) -> Result<(), String> {
        imports::update_task(task)
    }
}

/// Implements the generated version 1 `handler` export for a [`Plugin`] type.
#[doc(hidden)]
pub struct Adapter<P>(PhantomData<P>);

impl<P: Plugin> Guest for Adapter<P> {
    fn on_task_created(task: Task) -> Result<(), String> {
        instance::with(|plugin: &mut P| plugin.on_task_created(task))
    }

    fn on_task_modified(old: Task, new: Task) -> Result<(), String> {
        instance::with(|plugin: &mut P| plugin.on_task_modified(old, new))
    }

    fn on_task_deleted(task: Task) -> Result<(), String> {
        instance::with(|plugin: &mut P| plugin.on_task_deleted(task))
    }
}

/// Exports a [`v1::Plugin`](Plugin) as this component's
/// `plugboard:task-events/handler@1.0.0`.
///
/// Call it once, at the root of the plugin's crate; a plugin exports either
/// this or the version 2 [`export_plugin!`](crate::export_plugin), not both.
#[doc(inline)]
pub use crate::__export_plugin_v1 as export_plugin;

// `#[macro_export]` always exports at the crate root, so the macro is
// defined there under a hidden name and re-exported above as
// `v1::export_plugin!`; its documentation is on the re-export.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin_v1 {
    ($plugin:ty) => {
        /// Calling a plugboard export macro twice in one crate would export
        /// two handlers; this name makes that a compile error.
        #[doc(hidden)]
        #[allow(dead_code)]
        const __PLUGBOARD_ONLY_ONE_EXPORT_PLUGIN_PER_CRATE: () = ();

        const _: () = {
            type PlugboardHandlerV1 = $crate::__private::AdapterV1<$plugin>;
            $crate::v1::bindings::export_handler!(
                PlugboardHandlerV1 with_types_in $crate::v1::bindings
            );
        };
    };
}
