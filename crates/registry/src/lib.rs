//! Knows which plugins are installed and in what order they can load: it finds the
//! plugin folders (built-in, the user's, and the dependencies a plugin bundles), reads
//! and validates each `plugin.toml`, orders the plugins by their `[dependencies]` and
//! says which cannot load and why, watches the folders so the host can reload a plugin
//! that changed, and indexes a folder of `.plugin` archives into a local catalogue.
//!
//! This crate works on manifests and folders only. It must never run, compile or even
//! parse a plugin's component (it has no WebAssembly runtime), never write into a
//! plugin folder (the only file it writes is a catalogue's `index.json`), and never
//! decide what a plugin may do: permissions are the user's grant, later in the data
//! flow. A broken plugin folder or archive is reported and skipped; it never stops the
//! others from being found.
//!
//! ```
//! use plugboard_registry::{Origin, PluginDirs, discover, resolve};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let user = tempfile::tempdir()?;
//! for (id, dependencies) in [("auto-tag", "[dependencies]\nkeyword-pack = \"^1\"\n"), ("keyword-pack", "")] {
//!     std::fs::create_dir(user.path().join(id))?;
//!     std::fs::write(
//!         user.path().join(id).join("plugin.toml"),
//!         format!("[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"1.2.0\"\napi = \"task-events@2\"\n{dependencies}"),
//!     )?;
//! }
//! let dirs = PluginDirs { builtin: None, user: user.path().to_owned() };
//! let discovery = discover(&dirs);
//! assert!(discovery.problems.is_empty());
//! assert!(discovery.plugins.iter().all(|plugin| plugin.origin == Origin::User && !plugin.has_code()));
//!
//! let order = resolve(&discovery.plugins);
//! let ids: Vec<&str> = order.load.iter().map(|loadable| loadable.plugin.id().as_str()).collect();
//! assert_eq!(ids, ["keyword-pack", "auto-tag"]);
//! assert!(order.blocked.is_empty());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod discover;
mod index;
mod plugin_dirs;
mod resolve;
mod watch;

pub use discover::{BUNDLED_DEPS_FOLDER, Discovered, Discovery, DiscoveryError, DiscoveryProblem, Origin, discover};
pub use index::{INDEX_FILE_NAME, Index, IndexEntry, IndexError, IndexProblem, IndexReport, index, write_index};
pub use plugin_dirs::{BUILTIN_DIR_VAR, PluginDirs, PluginDirsError, USER_DIR_VAR};
pub use resolve::{Blocked, LoadOrder, Loadable, ResolveError, resolve};
pub use watch::{ReloadEvent, WatchError, Watcher};
