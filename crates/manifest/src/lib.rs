//! Reads and validates a plugin's `plugin.toml`: its identity, the world version it was
//! built for, the events it wants, the permissions it asks for, its resource limits,
//! default config, the commands it offers and the other plugins it depends on. Every
//! problem is reported with the file, line, column and field, so a plugin author can
//! fix it.
//!
//! This crate only reads text. It never opens, inspects or runs the component, never
//! touches the network, and never grants anything: what a manifest asks for is a request
//! that the user's grant narrows later.
//!
//! ```
//! use std::path::Path;
//! use plugboard_manifest::{Manifest, Subscription};
//!
//! let text = r#"
//! [plugin]
//! id = "auto-tag"
//! name = "Auto tag"
//! version = "1.2.0"
//! api = "task-events@2"
//!
//! [events]
//! subscribe = ["task-created"]
//! "#;
//! let manifest = Manifest::parse(text, Path::new("plugin.toml"))?;
//! assert!(manifest.events.subscribes(&Subscription::TaskCreated));
//! assert!(manifest.permissions.is_empty());
//!
//! let error = Manifest::parse(&text.replace("1.2.0", "1.x"), Path::new("plugin.toml"))
//!     .unwrap_err();
//! assert!(error.to_string().starts_with("plugin.toml:5:11: [plugin].version: "));
//! # Ok::<(), plugboard_manifest::ManifestError>(())
//! ```

#![warn(missing_docs)]

mod api;
mod byte_size;
mod commands;
mod de;
mod dependencies;
mod duration;
mod error;
mod events;
mod limits;
mod locales;
mod manifest;
mod names;
mod permissions;
mod plugin;
mod position;

pub use api::{ApiVersion, WORLD_NAME};
pub use byte_size::{GIB, KIB, MIB, format as format_byte_size, parse as parse_byte_size};
pub use commands::{CommandInfo, CommandParam, CommandRef, ParamType};
pub use dependencies::Dependency;
pub use duration::{format as format_duration, parse as parse_duration};
pub use error::{InvalidValue, Location, ManifestError};
pub use events::{Events, Subscription, Timer};
pub use limits::Limits;
pub use locales::{Language, Locales};
pub use manifest::{MANIFEST_FILE_NAME, MAX_MANIFEST_BYTES, Manifest};
pub use permissions::{
    AppPermission, FilesPermission, FolderPath, HostPattern, Permissions, StatePermission, TaskAccess,
};
pub use plugin::{PluginId, PluginInfo};
pub use position::LineColumn;
