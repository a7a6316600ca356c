//! Files that several processes change at once (a running host and
//! `plugboard enable`, two `plugboard grant`s): every change takes an
//! advisory lock on a lock file beside them, reads the file again, applies
//! itself to what it read and writes the result through a temporary file
//! with a unique name, renamed over the file; then the folder is flushed,
//! so the rename survives a power loss.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// An exclusive advisory lock on `<folder>/.<name>.lock`, held until
/// dropped. Every writer of the files it guards takes it; readers do not
/// need it, since a file is only ever replaced whole by a rename.
#[derive(Debug)]
pub(crate) struct FolderLock {
    // The lock is the open file's: closing it (on drop) releases it.
    _file: File,
}

impl FolderLock {
    /// Waits for the lock named `name` in `folder`, creating the folder and
    /// the lock file when needed.
    pub(crate) fn acquire(folder: &Path, name: &str) -> std::io::Result<FolderLock> {
        std::fs::create_dir_all(folder)?;
        let path = lock_path(folder, name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok(FolderLock { _file: file })
    }
}

/// The lock file guarding `name` in `folder`.
pub(crate) fn lock_path(folder: &Path, name: &str) -> PathBuf {
    folder.join(format!(".{name}.lock"))
}

/// Replaces `path` with `bytes`: a temporary file with a unique name beside
/// it, flushed, renamed over it, and the folder flushed. A crash leaves the
/// old file or the new one, and two writers never share a temporary file.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)?;
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    sync_folder(folder);
    Ok(())
}

/// Flushes a folder's entries (a rename) to disk. Best effort: the rename
/// has happened already, and some systems cannot open a folder.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(folder) = File::open(folder) {
        let _ = folder.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_leaves_no_temporary_file_and_the_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        replace(&path, b"1").unwrap();
        replace(&path, b"2").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"2");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["x.json"], "no temporary file stays behind");

        let held = FolderLock::acquire(dir.path(), "x").unwrap();
        let other = File::options().write(true).open(lock_path(dir.path(), "x")).unwrap();
        assert!(
            other.try_lock().is_err(),
            "a second writer waits while the lock is held"
        );
        drop(held);
        assert!(other.try_lock().is_ok(), "and gets it once released");
    }
}
