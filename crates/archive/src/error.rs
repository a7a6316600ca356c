//! What can go wrong while packing, signing, verifying or unpacking, told so the user
//! can act: every message names the archive (or plugin folder, or key file), the entry
//! when there is one, and what to do.

use std::io;
use std::path::{Path, PathBuf};

use plugboard_manifest::ManifestError;

use crate::entry_name::UnsafeName;
use crate::keys::KeyId;
use crate::{DIGESTS_ENTRY, SIGNATURE_ENTRY};

const REPACK: &str = "rebuild the archive with `plugboard pack`";
const UNTRUSTED: &str = "do not install it, and ask the plugin's author for a good copy";

/// A plugin folder that cannot be packed, a key that cannot be used, or an archive that
/// is refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading or writing a file or folder failed.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done, e.g. "read the archive".
        action: &'static str,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },

    /// The plugin folder's `plugin.toml` is missing or invalid, so it cannot be packed.
    #[error("cannot pack {}: {source}", plugin_dir.display())]
    PackManifest {
        /// The plugin folder.
        plugin_dir: PathBuf,
        /// What is wrong with the manifest (boxed: it is large and rare).
        #[source]
        source: Box<ManifestError>,
    },

    /// A file that would be packed is a symlink; archives hold only regular files.
    #[error("{}: is a symlink; replace it with the file or folder it points to, or move it out of the plugin folder", path.display())]
    SymlinkInPlugin {
        /// The symlink.
        path: PathBuf,
    },

    /// A file that would be packed is not a regular file (a socket, a device, a FIFO).
    #[error("{}: is not a regular file; move it out of the plugin folder", path.display())]
    SpecialFileInPlugin {
        /// The file.
        path: PathBuf,
    },

    /// The component named in `plugin.toml` does not exist.
    #[error("{}: the component named in plugin.toml does not exist; build the plugin first, or fix `component` in [plugin]", path.display())]
    ComponentNotBuilt {
        /// Where the component was expected.
        path: PathBuf,
    },

    /// A file that would be packed has a name that is unsafe or not portable.
    #[error("{}: cannot be packed: its path in the archive {problem}; rename it", path.display())]
    UnsuitableFileName {
        /// The file.
        path: PathBuf,
        /// What is wrong with the name.
        problem: UnsafeName,
    },

    /// Two files that would be packed collide on a case-insensitive file system, or one
    /// needs the other to be a folder.
    #[error("{}: cannot be packed beside {}: the two names collide on macOS and Windows, which ignore letter case; rename one", path.display(), other.display())]
    CollidingFileNames {
        /// One file.
        path: PathBuf,
        /// The file it collides with.
        other: PathBuf,
    },

    /// A file that would be packed is precompiled code.
    #[error("{}: precompiled code (.cwasm) is never put in a plugin archive; the host compiles the component itself, so remove the file or move it out of the plugin folder", path.display())]
    CompiledCodeInPlugin {
        /// The file.
        path: PathBuf,
    },

    /// The manifest names a WebAssembly text component (`.wat`): fine in a
    /// plugin folder under development, never in an archive.
    #[error("{}: the manifest's component is WebAssembly text (.wat), which loads in a plugin folder for development but is never put in a plugin archive (archives carry binaries); build the binary (`wasm-tools parse {} -o NAME.wasm`), name it in plugin.toml's `component`, and pack again", path.display(), path.display())]
    TextComponentInPlugin {
        /// The `.wat` file.
        path: PathBuf,
    },

    /// A file that would be packed lies in the `plugboard/` folder the format reserves.
    #[error("{}: the folder plugboard/ is reserved for the archive's digests and signature; move the file elsewhere", path.display())]
    ReservedFileInPlugin {
        /// The file.
        path: PathBuf,
    },

    /// The plugin folder holds more, or larger, files than an archive may.
    #[error("{}: cannot be packed: {problem}", plugin_dir.display())]
    PluginTooLarge {
        /// The plugin folder.
        plugin_dir: PathBuf,
        /// Which limit is exceeded.
        problem: String,
    },

    /// A key file is not in the format plugboard writes.
    #[error("{}: not a plugboard key file: {problem}", path.display())]
    MalformedKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// A secret key file can be read by other users, so the key may be known to others.
    #[error("{}: the secret key can be read by other users (mode {mode:o}); run `chmod 600` on it, and make a new key if others may have copied it", path.display())]
    SecretKeyExposed {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A trusted key's file name does not match the id of the key it holds.
    #[error("{}: holds the key {key_id}, so it must be named {key_id}.pub; a mismatched name hides which key is trusted", path.display())]
    KeyFileNameMismatch {
        /// The key file.
        path: PathBuf,
        /// The id of the key it holds.
        key_id: KeyId,
    },

    /// The operating system's random number generator failed, so no key can be made.
    #[error("cannot generate a key: the system random number generator failed: {reason}")]
    NoRandomness {
        /// The generator's error.
        reason: String,
    },

    /// The file is not a zip archive, or it is truncated or corrupt.
    #[error("{}: {}; download it again", archive.display(), corrupt_text(entry.as_deref(), reason))]
    Corrupt {
        /// The archive.
        archive: PathBuf,
        /// The entry whose data is corrupt, when the problem is in one.
        entry: Option<String>,
        /// What the zip reader found.
        reason: String,
    },

    /// The zip's local headers disagree with its central directory, entries overlap, or
    /// hidden entries exist: a trick to show one content to a checker and another to an
    /// extractor.
    #[error("{}: its zip headers are inconsistent ({reason}); {UNTRUSTED}", archive.display())]
    InconsistentHeaders {
        /// The archive.
        archive: PathBuf,
        /// What the zip reader found.
        reason: String,
    },

    /// The archive holds more entries than the limit.
    #[error("{}: holds {count} entries, more than the limit of {limit}; {UNTRUSTED}", archive.display())]
    TooManyEntries {
        /// The archive.
        archive: PathBuf,
        /// How many entries its central directory lists.
        count: usize,
        /// The limit.
        limit: usize,
    },

    /// An entry name is unsafe or not portable.
    #[error("{}: entry {entry:?} {problem}; {UNTRUSTED}", archive.display())]
    UnsafeEntryName {
        /// The archive.
        archive: PathBuf,
        /// The entry's name, as stored (lossily decoded if not UTF-8).
        entry: String,
        /// What is wrong with it.
        problem: UnsafeName,
    },

    /// An entry is a symbolic link, which could point anywhere.
    #[error("{}: entry {entry:?} is a symbolic link, and plugin archives hold only regular files; {UNTRUSTED}", archive.display())]
    SymlinkEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
    },

    /// An entry is a directory; plugin archives list files only.
    #[error("{}: entry {entry:?} is a directory, and plugin archives list only files; {REPACK}", archive.display())]
    DirectoryEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
    },

    /// An entry's unix mode is a device, FIFO or socket.
    #[error("{}: entry {entry:?} is not a regular file (unix mode {mode:o}); {UNTRUSTED}", archive.display())]
    SpecialEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
        /// Its unix mode.
        mode: u32,
    },

    /// An entry is encrypted or uses a compression method other than store and deflate.
    #[error("{}: entry {entry:?} {reason}, and plugin archives use only stored or deflated entries; {REPACK}", archive.display())]
    UnsupportedEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
        /// What is unsupported.
        reason: String,
    },

    /// Two entries have the same name, or names that differ only in letter case.
    #[error("{}: {}; {UNTRUSTED}", archive.display(), duplicate(entry, other.as_deref()))]
    DuplicateEntry {
        /// The archive.
        archive: PathBuf,
        /// The repeated entry; empty when the zip reader could not tell which.
        entry: String,
        /// The entry it collides with when its case differs.
        other: Option<String>,
    },

    /// An entry needs another entry, which is a file, to be a folder.
    #[error("{}: entry {entry:?} would go inside {file:?}, which is a file; {UNTRUSTED}", archive.display())]
    FileAsFolder {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
        /// The file it needs as a folder.
        file: String,
    },

    /// An entry is precompiled code, which is never taken from an archive.
    #[error("{}: entry {entry:?} is precompiled code (.cwasm), which plugboard never takes from an archive because it would run unchecked; {UNTRUSTED}", archive.display())]
    CompiledCode {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
    },

    /// An entry lies in `plugboard/` but is neither the digests nor the signature.
    #[error("{}: entry {entry:?} is in plugboard/, which holds only {DIGESTS_ENTRY} and {SIGNATURE_ENTRY}; {UNTRUSTED}", archive.display())]
    ReservedEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
    },

    /// An entry decompresses to more bytes than the per-entry limit.
    #[error("{}: entry {entry:?} is larger than the limit of {}; {UNTRUSTED}", archive.display(), size(*limit))]
    EntryTooLarge {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// The entries together decompress to more bytes than the total limit.
    #[error("{}: the files add up to more than the limit of {} (reached at entry {entry:?}); {UNTRUSTED}", archive.display(), size(*limit))]
    TotalTooLarge {
        /// The archive.
        archive: PathBuf,
        /// The entry being read when the total passed the limit.
        entry: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// An entry decompresses to far more than its compressed size: a zip bomb.
    #[error("{}: entry {entry:?} expands more than {limit} times its compressed size, like a zip bomb; {UNTRUSTED}", archive.display())]
    CompressionRatio {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
        /// The largest ratio allowed.
        limit: u64,
    },

    /// The archive has no `plugin.toml`.
    #[error("{}: has no plugin.toml, so it is not a plugin; {REPACK} from the plugin's folder", archive.display())]
    MissingManifest {
        /// The archive.
        archive: PathBuf,
    },

    /// The archive's `plugin.toml` is invalid.
    #[error("{}: its plugin.toml is invalid: {source}", archive.display())]
    InvalidManifest {
        /// The archive.
        archive: PathBuf,
        /// What is wrong with the manifest (boxed: it is large and rare).
        #[source]
        source: Box<ManifestError>,
    },

    /// The component named by `plugin.toml` is not in the archive.
    #[error("{}: plugin.toml names the component {component:?}, which the archive does not hold; {REPACK} after building the component", archive.display())]
    MissingComponent {
        /// The archive.
        archive: PathBuf,
        /// The component's path.
        component: String,
    },

    /// The component named by `plugin.toml` is WebAssembly text.
    #[error("{}: plugin.toml names the component {component:?}, which is WebAssembly text (.wat); archives carry binary components only; {UNTRUSTED}", archive.display())]
    TextComponent {
        /// The archive.
        archive: PathBuf,
        /// The component's path.
        component: String,
    },

    /// The archive has no `plugboard/digests`.
    #[error("{}: has no {DIGESTS_ENTRY}, so its files cannot be checked; {REPACK}", archive.display())]
    MissingDigests {
        /// The archive.
        archive: PathBuf,
    },

    /// `plugboard/digests` is not in the documented form.
    #[error("{}: {DIGESTS_ENTRY} is malformed: {problem}; {REPACK}", archive.display())]
    MalformedDigests {
        /// The archive.
        archive: PathBuf,
        /// What is wrong, with the line number.
        problem: String,
    },

    /// A file in the archive is not listed in `plugboard/digests`.
    #[error("{}: entry {entry:?} is not listed in {DIGESTS_ENTRY}, so it was added after packing; {UNTRUSTED}", archive.display())]
    UnlistedEntry {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
    },

    /// A file listed in `plugboard/digests` is not in the archive.
    #[error("{}: {DIGESTS_ENTRY} lists {entry:?}, which the archive does not hold; {UNTRUSTED}", archive.display())]
    MissingEntry {
        /// The archive.
        archive: PathBuf,
        /// The listed path.
        entry: String,
    },

    /// A file's content does not match its digest.
    #[error("{}: entry {entry:?} has sha256 {actual} but {DIGESTS_ENTRY} lists {expected}: it was changed after packing; {UNTRUSTED}", archive.display())]
    DigestMismatch {
        /// The archive.
        archive: PathBuf,
        /// The entry.
        entry: String,
        /// The digest listed.
        expected: crate::Sha256Digest,
        /// The digest of the content.
        actual: crate::Sha256Digest,
    },

    /// `plugboard/signature` is not in the documented form.
    #[error("{}: {SIGNATURE_ENTRY} is malformed: {problem}; {UNTRUSTED}", archive.display())]
    MalformedSignature {
        /// The archive.
        archive: PathBuf,
        /// What is wrong.
        problem: String,
    },

    /// The signature does not verify against the trusted key with its key id.
    #[error("{}: {SIGNATURE_ENTRY} claims the trusted key {key_id} but does not verify against it: the archive was changed after signing or the signature is forged; {UNTRUSTED}", archive.display())]
    BadSignature {
        /// The archive.
        archive: PathBuf,
        /// The key id the signature names.
        key_id: KeyId,
    },

    /// The folder to unpack into already exists.
    #[error("{}: already exists; unpacking never overwrites, so remove it or choose another folder", dest.display())]
    DestinationExists {
        /// The destination folder.
        dest: PathBuf,
    },

    /// The destination has no folder name (e.g. `/` or `..`).
    #[error("{}: is not a folder name to unpack into; give a path ending in a new folder's name", dest.display())]
    BadDestination {
        /// The destination given.
        dest: PathBuf,
    },
}

fn corrupt_text(entry: Option<&str>, reason: &str) -> String {
    match entry {
        Some(entry) => format!("entry {entry:?} is corrupt ({reason})"),
        None => format!("is not a readable zip archive, it may be truncated or corrupt ({reason})"),
    }
}

fn duplicate(entry: &str, other: Option<&str>) -> String {
    match other {
        Some(other) => {
            format!("entries {other:?} and {entry:?} differ only in letter case, so they collide on macOS and Windows")
        }
        None if entry.is_empty() => "two entries have the same name".to_owned(),
        None => format!("entry {entry:?} appears more than once"),
    }
}

/// A byte count as a user reads it: "256 MiB" rather than "268435456 bytes".
pub(crate) fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Turns an I/O error on `path` while doing `action` into an [`ArchiveError::Io`].
pub(crate) fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> ArchiveError {
    let path = path.to_owned();
    move |source| ArchiveError::Io { path, action, source }
}

/// An [`ArchiveError::Corrupt`] for `archive`, in `entry` if the problem is in one.
pub(crate) fn corrupt(archive: &Path, entry: Option<&str>, error: impl ToString) -> ArchiveError {
    ArchiveError::Corrupt {
        archive: archive.to_owned(),
        entry: entry.map(str::to_owned),
        reason: error.to_string(),
    }
}
