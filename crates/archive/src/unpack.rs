//! Unpacking a verified archive into a new folder, all or nothing.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic_file::{parent_folder, sync_folder};
use crate::error::{ArchiveError, io_error};
use crate::keys::TrustedKeys;
use crate::limits::UnpackLimits;
use crate::verify::{CheckedArchive, Destination, Verified};

/// A plugin unpacked into its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// The folder holding the plugin's files, and `plugboard/digests` (and
    /// `plugboard/signature`) so it can be checked again later.
    pub dir: PathBuf,
    /// What verifying the archive found.
    pub verified: Verified,
}

/// Verifies `archive` as [`crate::verify`] does and unpacks it into the new folder
/// `dest`, which must not exist.
///
/// Nothing appears at `dest` unless every check passes: the files are written into a
/// hidden staging folder beside `dest` (named `.<dest name>.unpacking-…`), which is
/// removed on any error and renamed to `dest` at the end. Only regular files are
/// written, with default permissions (never executable), and never outside the staging
/// folder.
pub fn unpack(
    archive: &Path,
    dest: &Path,
    trusted: &TrustedKeys,
    limits: &UnpackLimits,
) -> Result<Unpacked, ArchiveError> {
    let Some(dest_name) = dest.file_name() else {
        return Err(ArchiveError::BadDestination { dest: dest.to_owned() });
    };
    if dest.symlink_metadata().is_ok() {
        return Err(ArchiveError::DestinationExists { dest: dest.to_owned() });
    }
    let mut checked = CheckedArchive::open(archive, trusted, limits)?;

    let parent = parent_folder(dest);
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.unpacking-", dest_name.to_string_lossy()))
        .tempdir_in(parent)
        .map_err(io_error(parent, "create a staging folder in"))?;
    let mut folder = StagingFolder {
        root: staging.path().to_owned(),
        folders: BTreeSet::new(),
        written: Vec::new(),
    };
    let verified = checked.check_contents(&mut folder)?;
    drop(checked);
    folder.sync()?;

    // Checked again as unpacking takes a while. A folder made between this check and
    // the rename is still not overwritten unless it is empty: rename refuses a full one.
    if dest.symlink_metadata().is_ok() {
        return Err(ArchiveError::DestinationExists { dest: dest.to_owned() });
    }
    let staged = staging.keep();
    if let Err(error) = fs::rename(&staged, dest) {
        let _ = fs::remove_dir_all(&staged);
        return Err(io_error(dest, "move the unpacked plugin into place at")(error));
    }
    sync_folder(parent);
    Ok(Unpacked {
        dir: dest.to_owned(),
        verified,
    })
}

/// The staging folder files are written into as they are checked.
struct StagingFolder {
    root: PathBuf,
    /// The subfolders created, to flush to disk at the end.
    folders: BTreeSet<PathBuf>,
    /// The files written, to flush to disk at the end. Only their paths: an
    /// archive may hold thousands, more than a process may keep open.
    written: Vec<PathBuf>,
}

impl StagingFolder {
    /// Flushes every file, then every file's folder entry, to disk before
    /// the rename makes them visible. Each file's write-back was started
    /// when it was written ([`start_write_back`]), so the flushes overlap
    /// with the unpacking instead of following each other one by one.
    fn sync(&self) -> Result<(), ArchiveError> {
        for path in &self.written {
            // Opened for writing: some systems (Windows) flush only through
            // a handle that may write.
            OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|file| file.sync_all())
                .map_err(io_error(path, "flush the unpacked file to disk"))?;
        }
        for folder in self.folders.iter().rev() {
            sync_folder(folder);
        }
        sync_folder(&self.root);
        Ok(())
    }
}

/// Asks the kernel to start writing `file`'s data to disk now, without
/// waiting for it; the flush in [`StagingFolder::sync`] waits. Only a hint:
/// where it is not available, or fails, that flush does all the work.
fn start_write_back(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        // SAFETY: `sync_file_range` only reads its arguments; the descriptor
        // is open for as long as `file` is borrowed, and offset 0 with
        // length 0 means the whole file.
        let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

impl Destination for StagingFolder {
    type File = (PathBuf, File);

    fn create(&mut self, entry: &str) -> Result<Self::File, ArchiveError> {
        // `entry` passed every name check: relative, no `..`, no drive, printable ASCII,
        // and unique without case, so it stays inside the root and replaces nothing.
        let path = entry
            .split('/')
            .fold(self.root.clone(), |path, segment| path.join(segment));
        if let Some(folder) = path.parent().filter(|folder| *folder != self.root) {
            fs::create_dir_all(folder).map_err(io_error(folder, "create the folder"))?;
            let mut ancestor = Some(folder);
            while let Some(folder) = ancestor.filter(|folder| *folder != self.root) {
                self.folders.insert(folder.to_owned());
                ancestor = folder.parent();
            }
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_error(&path, "create the unpacked file"))?;
        Ok((path, file))
    }

    fn write(&mut self, (path, file): &mut Self::File, bytes: &[u8]) -> Result<(), ArchiveError> {
        file.write_all(bytes).map_err(io_error(path, "write the unpacked file"))
    }

    fn finish(&mut self, (path, file): Self::File) -> Result<(), ArchiveError> {
        start_write_back(&file);
        self.written.push(path);
        Ok(())
    }
}
