//! A file that appears whole or not at all: written under a temporary name in the
//! target's folder, flushed to disk, then renamed over the target, so a crash or an
//! error never leaves half an archive.

use std::fs::{self, File, Permissions};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{ArchiveError, io_error};

/// A file being written that will replace `target` when committed, and vanish if dropped.
pub(crate) struct AtomicFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts a temporary file beside `target`.
    pub(crate) fn create(target: &Path) -> Result<Self, ArchiveError> {
        let folder = parent_folder(target);
        let name = target
            .file_name()
            .map(|name| name.to_string_lossy())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(folder)
            .map_err(io_error(folder, "create a temporary file in"))?;
        Ok(Self {
            temp,
            target: target.to_owned(),
        })
    }

    /// The temporary file, to write to.
    pub(crate) fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Gives the file `permissions` (by default readable by everyone, as archives are
    /// public), flushes it to disk and renames it over the target.
    pub(crate) fn commit(self, permissions: Option<Permissions>) -> Result<PathBuf, ArchiveError> {
        let Self { temp, target } = self;
        if let Some(permissions) = permissions.or_else(public_permissions) {
            fs::set_permissions(temp.path(), permissions).map_err(io_error(temp.path(), "set the permissions of"))?;
        }
        temp.as_file()
            .sync_all()
            .map_err(io_error(temp.path(), "flush to disk"))?;
        temp.persist(&target)
            .map_err(|error| io_error(&target, "replace")(error.error))?;
        sync_folder(parent_folder(&target));
        Ok(target)
    }
}

/// The folder holding `path`; `.` for a bare file name.
pub(crate) fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Flushes a folder's entries (a rename) to disk. Best effort: some systems cannot open
/// a folder, and the rename itself has already happened.
pub(crate) fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(folder) = File::open(folder) {
        let _ = folder.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

#[cfg(unix)]
fn public_permissions() -> Option<Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn public_permissions() -> Option<Permissions> {
    None
}
