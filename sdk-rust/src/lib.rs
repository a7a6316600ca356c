//! Write plugboard plugins in Rust.
//!
//! A plugboard plugin is a WebAssembly component that the application loads
//! into a sandbox and calls when something happens to its tasks. This crate
//! turns that component ABI (the WIT worlds in the repository's `wit/` folder)
//! into a Rust trait, [`Plugin`], whose handlers all default to doing
//! nothing, and into plain functions for everything the host offers:
//! [`tasks`], [`state`], [`events`], [`config`], [`clock`], [`log`],
//! [`commands`], [`resources`] and [`locale`].
//!
//! The SDK never reaches past the host interfaces: it does not touch files,
//! the network or the environment, and it adds no exports of its own, so a
//! plugin can do exactly what its manifest asks for and the user grants.
//!
//! ```no_run
//! use plugboard_sdk::{Config, Error, Plugin, Task, TaskPatch, export_plugin, log, tasks};
//!
//! /// Tags every new task with a tag taken from the plugin's settings.
//! #[derive(Default)]
//! struct Tagger {
//!     tag: String,
//! }
//!
//! impl Plugin for Tagger {
//!     fn init(&mut self, config: &Config) -> Result<(), Error> {
//!         self.tag = config.get("tag").unwrap_or("inbox").to_string();
//!         Ok(())
//!     }
//!
//!     fn on_task_created(&mut self, task: Task) -> Result<(), Error> {
//!         if !task.tags.contains(&self.tag) {
//!             let patch = TaskPatch { add_tags: vec![self.tag.clone()], ..TaskPatch::default() };
//!             tasks::update(&task.id, &patch)?;
//!             plugboard_sdk::info!("tagged {} with {}", task.id, self.tag);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! export_plugin!(Tagger);
//! ```
//!
//! Build it as a `cdylib` with `cargo build --target wasm32-wasip2`; the
//! result is the component to ship beside the plugin's `plugin.toml`.
//!
//! # ABI versions
//!
//! The default feature `v2` targets `plugboard:task-events@2.2.0`, the
//! current ABI, and is what new plugins should use. Feature `v1` adds the
//! `v1` module for the frozen `plugboard:task-events@1.0.0` ABI, for plugins
//! that must load on applications that speak only version 1. A plugin
//! speaks exactly one version: it calls exactly one of [`export_plugin!`] and
//! `v1::export_plugin!`, once. The features themselves may both be on (cargo
//! unifies features across a workspace); only the world whose export macro a
//! plugin calls ends up in its component.

#[cfg(not(any(feature = "v1", feature = "v2")))]
compile_error!(
    "plugboard-sdk: enable one ABI version: feature `v2` (the default) for \
     plugboard:task-events@2, or `default-features = false, features = [\"v1\"]` \
     for plugboard:task-events@1"
);

mod instance;

#[cfg(feature = "v2")]
pub mod clock;
#[cfg(feature = "v2")]
pub mod commands;
#[cfg(feature = "v2")]
pub mod config;
#[cfg(feature = "v2")]
pub mod events;
#[cfg(feature = "v2")]
pub mod locale;
#[cfg(feature = "v2")]
pub mod log;
#[cfg(feature = "v2")]
mod plugin;
#[cfg(feature = "v2")]
pub mod resources;
#[cfg(feature = "v2")]
pub mod state;
#[cfg(feature = "v2")]
pub mod tasks;
#[cfg(feature = "v2")]
mod types;
#[cfg(feature = "v1")]
pub mod v1;

#[cfg(feature = "v2")]
pub use log::Level;
#[cfg(feature = "v2")]
pub use plugin::{Config, Plugin};
#[cfg(feature = "v2")]
pub use types::{
    Annotation, Attribute, CustomEvent, Error, Event, Filter, NewTask, Priority, Status, SyncSummary, Task, TaskChange,
    TaskId, TaskPatch, Timestamp,
};

/// Code generated from `wit/task-events@2.2.0` by `wit-bindgen`.
///
/// Public only so that [`export_plugin!`] can reach it from a plugin crate;
/// use the typed wrappers instead.
#[cfg(feature = "v2")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/task-events@2.2.0",
        world: "plugboard:task-events/plugin@2.2.0",
        // The export macro is used from the plugin's crate, so it must be
        // public and it, not this crate, must carry the world's exports.
        pub_export_macro: true,
        export_macro_name: "export_handler",
        default_bindings_module: "plugboard_sdk::bindings",
        additional_derives: [PartialEq, Eq],
        additional_type_attributes: {
            "plugboard:task-events/types@2.2.0/new-task": [#[derive(Default)]],
            "plugboard:task-events/types@2.2.0/task-patch": [#[derive(Default)]],
            "plugboard:task-events/types@2.2.0/filter": [#[derive(Default)]],
            "plugboard:task-events/types@2.2.0/priority": [#[derive(Default)]],
        },
        additional_member_attributes: {
            "plugboard:task-events/types@2.2.0/priority.none": [#[default]],
        },
    });
}

/// What [`export_plugin!`] and `v1::export_plugin!` expand to; not an API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "v2")]
    pub use crate::plugin::Adapter;
    #[cfg(feature = "v1")]
    pub use crate::v1::Adapter as AdapterV1;
}

/// Exports a [`Plugin`] as this component's `plugboard:task-events/handler@2.2.0`.
///
/// Call it once, at the root of the plugin's crate, with the type that
/// implements [`Plugin`]. The SDK makes one instance of that type with
/// [`Default`] when the host first calls the plugin, and hands every later
/// call `&mut` access to that same instance.
///
/// ```no_run
/// #[derive(Default)]
/// struct Quiet;
///
/// impl plugboard_sdk::Plugin for Quiet {}
///
/// plugboard_sdk::export_plugin!(Quiet);
/// ```
#[cfg(feature = "v2")]
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        /// Calling a plugboard export macro twice in one crate would export
        /// two handlers; this name makes that a compile error.
        #[doc(hidden)]
        #[allow(dead_code)]
        const __PLUGBOARD_ONLY_ONE_EXPORT_PLUGIN_PER_CRATE: () = ();

        const _: () = {
            type PlugboardHandler = $crate::__private::Adapter<$plugin>;
            $crate::bindings::export_handler!(
                PlugboardHandler with_types_in $crate::bindings
            );
        };
    };
}
