//! The guest plugins of this repository (examples and test fixtures), built
//! from source by this crate's build script, for tests and the conformance
//! suite. Each constant carries the component's bytes and where it was built.

/// A component built from source in this repository.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    /// The crate's library name (`auto_tag`).
    pub name: &'static str,
    /// Where the build wrote it.
    pub path: &'static str,
    /// Its bytes, embedded at compile time.
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// The repository's root folder.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
