//! The compiled-code cache: machine code of components compiled before,
//! kept in one folder the host owns, so that loading a plugin the second
//! time skips Cranelift.
//!
//! An entry is `wasmtime-<version>-<key>.cwasm`, where the key is the hex
//! sha256 of (the sha256 of the component's bytes, the sha256 of the
//! wasmtime version and the engine's precompile-compatibility hash): a new
//! component, a new wasmtime or another engine configuration (fuel, pooling, ...) each look up another
//! entry.
//!
//! The folder is bounded: after each write, entries of other wasmtime
//! versions (and of the first entry format, named without a version) are
//! deleted, as are temporary files
//! left by a write that died, and then, while the entries take more than the
//! cache's cap ([`DEFAULT_CAP`] unless set), the least recently used are
//! deleted (a hit marks an entry used by setting its modification time).
//! The entry just written is never evicted by its own write.
//!
//! An entry is wasmtime's own artefact (as `Component::serialize` wrote it)
//! followed by a trailer: the key, the CRC-32 of the artefact, its length
//! and the format's magic. The artefact comes first so that the entry can be
//! handed to wasmtime as a file, which maps it instead of copying it into
//! fresh memory; the trailer is a check against torn writes and bit rot,
//! made on every load over a read-only mapping of the same open file before
//! wasmtime maps it (a fast check: the key, not the checksum, binds the
//! entry to its component). An entry whose trailer, length or checksum does
//! not match, or that wasmtime refuses, is deleted and the component
//! compiled and written again. Entries are written to a temporary file and
//! renamed, so a reader never sees half an entry, and never written in
//! place, so a mapping of one never changes under its reader. An entry of
//! an earlier format under the same name (format 2 had its header in front)
//! is not an entry to this one: it is replaced on its first load.
//!
//! This module must never read compiled code from anywhere but its own
//! folder: a `.cwasm` shipped in a plugin folder or archive is machine code
//! chosen by the plugin's author and is never loaded (the loader refuses any
//! component file that is not WebAssembly).

use std::fmt;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The last bytes of every entry; the trailing digit is the format version.
/// (Format 2 had its header in front, format 1 no name prefix.)
const MAGIC: &[u8; 16] = b"plugboard-cwasm3";
/// Key, checksum of the code, length of the code, magic.
const TRAILER_LEN: usize = 32 + 4 + 8 + MAGIC.len();

/// The most bytes of entries the cache keeps by default: about fifteen
/// compiled componentize-py plugins (some 60 MiB each), hundreds of Rust ones.
pub const DEFAULT_CAP: u64 = 1 << 30;

/// A temporary file older than this is left by a write that died, not one
/// in progress (a write takes well under a second).
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// The name prefix of this wasmtime's entries.
fn version_prefix() -> String {
    format!("wasmtime-{}-", wasmtime_environ::VERSION)
}

/// Why a cache entry could not be used. The entry was deleted and the
/// component compiled and cached again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheDefect {
    /// The file is shorter than its header says: a write was cut short or
    /// the file was truncated.
    Truncated,
    /// The compiled code does not match its checksum.
    Corrupt,
    /// The file is not a plugboard cache entry at all.
    NotAnEntry,
    /// The entry was made for another component, wasmtime version or engine
    /// configuration.
    Foreign,
    /// The header checked out but wasmtime refused the code; what it said.
    Refused(String),
}

impl fmt::Display for CacheDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheDefect::Truncated => f.write_str("the entry is truncated"),
            CacheDefect::Corrupt => f.write_str("the entry's compiled code does not match its checksum"),
            CacheDefect::NotAnEntry => f.write_str("the file is not a plugboard compiled-code entry"),
            CacheDefect::Foreign => {
                f.write_str("the entry was made for another component, wasmtime version or engine configuration")
            }
            CacheDefect::Refused(why) => write!(f, "wasmtime refused the entry: {why}"),
        }
    }
}

/// How a loaded plugin's code was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiled {
    /// Compiled now: no cache is configured or it had no entry yet.
    Fresh,
    /// Taken from the compiled-code cache; nothing was compiled.
    FromCache,
    /// Compiled now because the cache entry was unusable; the entry was
    /// deleted and written again.
    Replaced(CacheDefect),
    /// Already in memory: another loaded plugin uses the same component,
    /// and the two share its compiled code.
    Shared,
}

/// Why the cache could not store an entry. Loading goes on without it.
#[derive(Debug, thiserror::Error)]
pub enum CodeCacheError {
    /// The cache folder could not be created.
    #[error("cannot create the compiled-code cache folder {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The entry could not be written or renamed into place.
    #[error("cannot write the compiled-code cache entry {}: {source}", path.display())]
    Write {
        /// The entry (or its temporary file).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Wasmtime could not serialize the compiled component.
    #[error("cannot serialize the compiled code for {}: {message}", path.display())]
    Serialize {
        /// The entry it was meant for.
        path: PathBuf,
        /// What wasmtime said.
        message: String,
    },
}

/// The identity of one compiled component: which code, compiled by which
/// wasmtime, for which engine configuration.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

/// The engine's part of every cache key: the wasmtime version and the
/// engine's precompile-compatibility hash, digested. Hashing the engine's
/// settings costs more than hashing a small component, so a runtime does
/// it once ([`EngineKey::of`]) and keys each component with it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct EngineKey([u8; 32]);

impl EngineKey {
    /// The key part of `engine`.
    pub(crate) fn of(engine: &Engine) -> EngineKey {
        let mut hasher = Sha256::new();
        hasher.update(wasmtime_environ::VERSION.as_bytes());
        hasher.update([0]);
        engine
            .precompile_compatibility_hash()
            .hash(&mut Sha256Hasher(&mut hasher));
        EngineKey(hasher.finalize().into())
    }
}

impl CacheKey {
    /// The key of `wasm` compiled by `engine`.
    pub fn new(engine: &Engine, wasm: &[u8]) -> CacheKey {
        CacheKey::with_engine(&EngineKey::of(engine), wasm)
    }

    /// The key of `wasm` compiled by the engine whose part of the key is
    /// `engine` ([`EngineKey::of`]): the same as [`CacheKey::new`] without
    /// hashing the engine's settings again.
    pub(crate) fn with_engine(engine: &EngineKey, wasm: &[u8]) -> CacheKey {
        let mut hasher = Sha256::new();
        hasher.update(b"plugboard compiled-code cache key\0");
        hasher.update(Sha256::digest(wasm));
        hasher.update(engine.0);
        CacheKey(hasher.finalize().into())
    }

    /// The key in lower-case hex, as entry file names use it.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.hex())
    }
}

/// Feeds a `Hash` implementation into sha256. The bytes depend on this
/// build's `Hash` impls and the platform's byte order, which is fine for a
/// cache that lives on one machine: a change only causes a miss.
struct Sha256Hasher<'a>(&'a mut Sha256);

impl Hasher for Sha256Hasher<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Only `write` matters: the digest is read from the `Sha256` itself.
        0
    }
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// A valid entry, deserialized.
    Hit(Component),
    /// No entry.
    Miss,
    /// An unusable entry, now deleted.
    Defect(CacheDefect),
}

/// A folder of compiled components, owned by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCache {
    dir: PathBuf,
    cap: u64,
}

impl CodeCache {
    /// A cache in `dir`, created on the first write, keeping at most
    /// [`DEFAULT_CAP`] bytes of entries. The folder must be as protected as
    /// the host's own executable: code in it is run.
    pub fn new(dir: impl Into<PathBuf>) -> CodeCache {
        CodeCache::with_cap(dir, DEFAULT_CAP)
    }

    /// A cache in `dir` keeping at most `cap` bytes of entries.
    pub fn with_cap(dir: impl Into<PathBuf>, cap: u64) -> CodeCache {
        CodeCache { dir: dir.into(), cap }
    }

    /// The most bytes of entries it keeps.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `key` lives.
    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}{}.cwasm", version_prefix(), key.hex()))
    }

    /// Looks up `key`; an unusable entry is deleted and reported.
    pub(crate) fn lookup(&self, engine: &Engine, key: &CacheKey) -> Lookup {
        let path = self.entry_path(key);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => {
                // Unreadable (no permission): compile, and let the write
                // that follows report the problem.
                tracing::warn!(path = %path.display(), "cannot open a compiled-code cache entry: {e}");
                return Lookup::Miss;
            }
        };
        let checked = match Mapped::of(&file) {
            Ok(mapped) => verified_code(mapped.bytes(), key).map(|_| ()),
            Err(e) => {
                // A folder under that name, or a file that cannot be mapped.
                tracing::warn!(path = %path.display(), "cannot read a compiled-code cache entry: {e}");
                return Lookup::Miss;
            }
        };
        let defect = match checked {
            Ok(()) => {
                // SAFETY: `Component::deserialize_file` runs the machine code
                // in the file, so it must be exactly what
                // `Component::serialize` produced, and must not change while
                // mapped. It is, and it does not: the file is in this
                // host-owned folder (never a plugin folder or archive), which
                // only `store` writes, from `Component::serialize`, to a
                // temporary file renamed into place, so no entry is ever
                // written in place; wasmtime maps the very file just checked
                // (`same_file`), whose code matched the CRC-32 in its trailer,
                // so a torn write, bit rot or truncation is caught before
                // wasmtime sees it; and the key in the trailer binds it to
                // this component, this wasmtime and this engine
                // configuration, which wasmtime checks again itself. The
                // checksum is not a signature: whoever can write this folder
                // can run code as the host, which is why the folder must be
                // protected like the host's executable.
                match unsafe { Component::deserialize_file(engine, same_file(&file, &path)) } {
                    Ok(component) => {
                        mark_used(&file, &path);
                        return Lookup::Hit(component);
                    }
                    Err(e) => CacheDefect::Refused(format!("{e:#}")),
                }
            }
            Err(defect) => defect,
        };
        drop(file);
        tracing::warn!(path = %path.display(), "discarding a compiled-code cache entry: {defect}");
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), "cannot delete a bad compiled-code cache entry: {e}");
        }
        Lookup::Defect(defect)
    }

    /// Writes the entry for `key` atomically: a temporary file in the cache
    /// folder, synced, then renamed over the entry.
    pub(crate) fn store(&self, key: &CacheKey, component: &Component) -> Result<(), CodeCacheError> {
        let path = self.entry_path(key);
        let code = component.serialize().map_err(|e| CodeCacheError::Serialize {
            path: path.clone(),
            message: format!("{e:#}"),
        })?;
        create_private_dir(&self.dir).map_err(|source| CodeCacheError::CreateDir {
            path: self.dir.clone(),
            source,
        })?;
        let temp = self.dir.join(format!(".{}.{}.tmp", key.hex(), unique_suffix()));
        let written = write_entry(&temp, key, &code).and_then(|()| std::fs::rename(&temp, &path));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(CodeCacheError::Write { path, source });
        }
        self.prune(&path);
        Ok(())
    }

    /// Deletes what the cache no longer needs: entries of other wasmtime
    /// versions or formats, dead temporary files, then the least recently
    /// used entries while they take more than the cap, never `keep`. A file
    /// that cannot be deleted is only logged.
    pub(crate) fn prune(&self, keep: &Path) {
        let Ok(listing) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let ours = version_prefix();
        let now = std::time::SystemTime::now();
        let mut entries = Vec::new();
        for item in listing.flatten() {
            let path = item.path();
            let name = item.file_name().to_string_lossy().into_owned();
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(now);
            let obsolete = if name.starts_with('.') && name.ends_with(".tmp") {
                now.duration_since(modified).is_ok_and(|age| age > STALE_TEMP)
            } else if name.ends_with(".cwasm") {
                !name.starts_with(&ours)
            } else {
                // Not the cache's: left alone.
                continue;
            };
            if obsolete {
                remove(&path, "an obsolete compiled-code cache file");
            } else if name.ends_with(".cwasm") && path != keep {
                entries.push((modified, meta.len(), path));
            } else if path == keep {
                entries.push((now + std::time::Duration::from_secs(1), meta.len(), path));
            }
        }
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        // Oldest use first; the entry just written sorts last.
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.cap || path == keep {
                break;
            }
            remove(&path, "a compiled-code cache entry past the cache's cap");
            total -= len;
        }
    }
}

/// Marks an entry used now, for the least-recently-used eviction; a failure
/// only makes it look older.
fn mark_used(file: &File, path: &Path) {
    if let Err(e) = file.set_modified(std::time::SystemTime::now()) {
        tracing::debug!(path = %path.display(), "cannot mark a compiled-code cache entry used: {e}");
    }
}

/// A path that opens the same file as `file`, for wasmtime, which opens
/// entries by path: on Linux the open file itself, so that a rename or
/// delete of `path` between the check and the mapping cannot swap the file
/// checked for another; elsewhere `path` (entries are only ever replaced
/// whole, by rename, with another entry of the same key).
fn same_file(file: &File, path: &Path) -> PathBuf {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        if fd.exists() {
            return fd;
        }
    }
    let _ = file;
    path.to_owned()
}

/// A read-only mapping of a whole file, to check an entry without copying it.
struct Mapped {
    start: std::ptr::NonNull<u8>,
    len: usize,
}

impl Mapped {
    fn of(file: &File) -> std::io::Result<Mapped> {
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let len = usize::try_from(meta.len()).map_err(|_| std::io::Error::other("too large to map"))?;
        if len == 0 {
            // mmap refuses an empty mapping; an empty slice stands for it.
            return Ok(Mapped {
                start: std::ptr::NonNull::dangling(),
                len: 0,
            });
        }
        // SAFETY: a fresh private read-only mapping at an address the kernel
        // picks overlaps nothing else in this process.
        let start = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ,
                rustix::mm::MapFlags::PRIVATE,
                file,
                0,
            )
        }?;
        let start =
            std::ptr::NonNull::new(start.cast::<u8>()).ok_or_else(|| std::io::Error::other("mapped at null"))?;
        Ok(Mapped { start, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `start` is a readable mapping of `len` bytes (or dangling
        // with `len` 0) that lives until `self` is dropped. Its contents do
        // not change meanwhile: cache entries are never written in place
        // (see the module docs); a file truncated under it by someone else
        // would fault the read, as any mapped file does.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: the mapping made in `of`, unmapped once; no borrow of
            // `bytes` outlives `self`.
            if let Err(e) = unsafe { rustix::mm::munmap(self.start.as_ptr().cast(), self.len) } {
                tracing::warn!("cannot unmap a checked compiled-code cache entry: {e}");
            }
        }
    }
}

fn remove(path: &Path, what: &str) {
    match std::fs::remove_file(path) {
        Ok(()) => tracing::debug!(path = %path.display(), "deleted {what}"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), "cannot delete {what}: {e}"),
    }
}

/// The compiled code inside an entry file, once its trailer, length and
/// checksum are checked.
fn verified_code<'a>(file: &'a [u8], key: &CacheKey) -> Result<&'a [u8], CacheDefect> {
    let Some(code_len) = file.len().checked_sub(TRAILER_LEN) else {
        return Err(without_trailer(file));
    };
    let (code, trailer) = file.split_at(code_len);
    let (stored_key, rest) = trailer.split_at(32);
    let (checksum, rest) = rest.split_at(4);
    let (length, magic) = rest.split_at(8);
    if magic != MAGIC {
        return Err(without_trailer(file));
    }
    if stored_key != key.0 {
        return Err(CacheDefect::Foreign);
    }
    let mut length_bytes = [0u8; 8];
    length_bytes.copy_from_slice(length);
    let length = u64::from_le_bytes(length_bytes);
    match (code.len() as u64).cmp(&length) {
        std::cmp::Ordering::Less => return Err(CacheDefect::Truncated),
        std::cmp::Ordering::Greater => return Err(CacheDefect::Corrupt),
        std::cmp::Ordering::Equal => {}
    }
    if crc32fast::hash(code).to_le_bytes() != checksum {
        return Err(CacheDefect::Corrupt);
    }
    Ok(code)
}

/// What a file that does not end in a trailer is: the start of an entry cut
/// short (wasmtime's ELF artefact whose section table, which comes last,
/// lies past the end of the file), or not an entry at all.
fn without_trailer(file: &[u8]) -> CacheDefect {
    const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
    if !file.starts_with(ELF_MAGIC) {
        return CacheDefect::NotAnEntry;
    }
    // The 64-bit little-endian ELF header: the section table's offset at
    // 0x28, the size and number of its entries at 0x3a and 0x3c.
    let field = |at: usize, width: usize| -> Option<u64> {
        let bytes = file.get(at..at + width)?;
        let mut wide = [0u8; 8];
        wide[..width].copy_from_slice(bytes);
        Some(u64::from_le_bytes(wide))
    };
    let table_end = field(0x28, 8).and_then(|offset| {
        let size = field(0x3a, 2)?.checked_mul(field(0x3c, 2)?)?;
        offset.checked_add(size)
    });
    match table_end {
        Some(end) if end <= file.len() as u64 => CacheDefect::NotAnEntry,
        _ => CacheDefect::Truncated,
    }
}

fn write_entry(temp: &Path, key: &CacheKey, code: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create_new(temp)?;
    file.write_all(code)?;
    file.write_all(&key.0)?;
    file.write_all(&crc32fast::hash(code).to_le_bytes())?;
    file.write_all(&(code.len() as u64).to_le_bytes())?;
    file.write_all(MAGIC)?;
    // The rename must not become visible before the data is on disk, or a
    // crash could leave a named entry with holes; the checksum would catch
    // it, but there is no reason to make it.
    file.sync_all()
}

/// A name part no other writer (thread or process) uses at the same time.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates the cache folder, readable and writable by the host's user only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(fuel: bool) -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(fuel);
        Engine::new(&config).expect("a default engine builds")
    }

    /// The smallest component: no imports, no exports.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn keys_differ_by_component_and_engine_configuration() {
        let plain = engine(false);
        let a = CacheKey::new(&plain, EMPTY_COMPONENT);
        assert_eq!(a, CacheKey::new(&engine(false), EMPTY_COMPONENT));
        assert_ne!(a, CacheKey::new(&engine(true), EMPTY_COMPONENT));
        assert_ne!(a, CacheKey::new(&plain, b"\0asm\x0d\0\x01\0\0"));
        assert_eq!(a.hex().len(), 64);
        assert_eq!(EngineKey::of(&plain), EngineKey::of(&engine(false)));
        assert_ne!(EngineKey::of(&plain), EngineKey::of(&engine(true)));
    }

    #[test]
    fn an_entry_round_trips() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = CodeCache::new(dir.path().join("cache"));
        let engine = engine(false);
        let key = CacheKey::new(&engine, EMPTY_COMPONENT);
        assert!(matches!(cache.lookup(&engine, &key), Lookup::Miss));
        let component = Component::new(&engine, EMPTY_COMPONENT).expect("compiles");
        cache.store(&key, &component).expect("stored");
        assert!(matches!(cache.lookup(&engine, &key), Lookup::Hit(_)));
        let names: Vec<_> = std::fs::read_dir(cache.dir())
            .expect("listed")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [format!("wasmtime-{}-{}.cwasm", wasmtime_environ::VERSION, key.hex())],
            "no temporary file is left"
        );
    }

    /// Writes a fake entry of `len` bytes named `name`, last used `age_secs` ago.
    fn fake(dir: &Path, name: &str, len: usize, age_secs: u64) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, vec![0u8; len]).expect("written");
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs);
        std::fs::File::options()
            .append(true)
            .open(&path)
            .and_then(|f| f.set_modified(when))
            .expect("dated");
        path
    }

    #[test]
    fn past_the_cap_the_least_recently_used_entries_go_first() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ours = version_prefix();
        let oldest = fake(dir.path(), &format!("{ours}{}.cwasm", "a".repeat(64)), 400, 300);
        let older = fake(dir.path(), &format!("{ours}{}.cwasm", "b".repeat(64)), 400, 200);
        let recent = fake(dir.path(), &format!("{ours}{}.cwasm", "c".repeat(64)), 400, 100);
        let written = fake(dir.path(), &format!("{ours}{}.cwasm", "d".repeat(64)), 400, 0);
        let not_ours = fake(dir.path(), "README", 10_000, 1000);
        CodeCache::with_cap(dir.path(), 1000).prune(&written);
        assert!(
            !oldest.exists() && !older.exists(),
            "the two least recently used are evicted"
        );
        assert!(recent.exists() && written.exists());
        assert!(not_ours.exists(), "files that are not entries are left alone");
    }

    #[test]
    fn the_entry_just_written_stays_even_alone_over_the_cap() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ours = version_prefix();
        let other = fake(dir.path(), &format!("{ours}{}.cwasm", "a".repeat(64)), 10, 0);
        let written = fake(dir.path(), &format!("{ours}{}.cwasm", "d".repeat(64)), 5000, 100);
        CodeCache::with_cap(dir.path(), 1000).prune(&written);
        assert!(written.exists());
        assert!(!other.exists());
    }

    #[test]
    fn entries_of_other_wasmtime_versions_and_dead_temporary_files_are_pruned() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ours = version_prefix();
        let old_version = fake(dir.path(), &format!("wasmtime-1.0.0-{}.cwasm", "a".repeat(64)), 10, 0);
        let old_format = fake(dir.path(), &format!("{}.cwasm", "b".repeat(64)), 10, 0);
        let dead_temp = fake(dir.path(), ".x.1-2-3.tmp", 10, 7200);
        let live_temp = fake(dir.path(), ".y.1-2-3.tmp", 10, 1);
        let kept = fake(dir.path(), &format!("{ours}{}.cwasm", "c".repeat(64)), 10, 50);
        let written = fake(dir.path(), &format!("{ours}{}.cwasm", "d".repeat(64)), 10, 0);
        CodeCache::new(dir.path()).prune(&written);
        assert!(!old_version.exists() && !old_format.exists() && !dead_temp.exists());
        assert!(live_temp.exists(), "a write in progress is not disturbed");
        assert!(kept.exists() && written.exists());
    }

    /// A cache in `dir` holding the entry of the empty component.
    fn cache_with_empty_entry(dir: &Path) -> (CodeCache, Engine, CacheKey) {
        let cache = CodeCache::new(dir);
        let engine = engine(false);
        let key = CacheKey::new(&engine, EMPTY_COMPONENT);
        let component = Component::new(&engine, EMPTY_COMPONENT).expect("compiles");
        cache.store(&key, &component).expect("stored");
        (cache, engine, key)
    }

    /// Wasmtime's artefact for the empty component, and its key.
    fn empty_artefact() -> (Vec<u8>, CacheKey) {
        let engine = engine(false);
        let code = Component::new(&engine, EMPTY_COMPONENT)
            .and_then(|c| c.serialize())
            .expect("compiles");
        (code, CacheKey::new(&engine, EMPTY_COMPONENT))
    }

    #[test]
    fn a_hit_marks_the_entry_used() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cache, engine, key) = cache_with_empty_entry(dir.path());
        let path = cache.entry_path(&key);
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
        std::fs::File::options()
            .append(true)
            .open(&path)
            .and_then(|f| f.set_modified(long_ago))
            .expect("dated");
        assert!(matches!(cache.lookup(&engine, &key), Lookup::Hit(_)));
        let used = std::fs::metadata(&path).and_then(|m| m.modified()).expect("dated");
        assert!(used > long_ago + std::time::Duration::from_secs(3600));
    }

    #[test]
    fn files_without_a_trailer_are_told_apart() {
        let (code, key) = empty_artefact();
        // Wasmtime's artefact alone, as `wasmtime compile` writes it: whole,
        // but not an entry.
        assert_eq!(verified_code(&code, &key), Err(CacheDefect::NotAnEntry));
        // An entry cut anywhere before its trailer, down to the ELF magic.
        for cut in [code.len() - 1, code.len() / 2, 0x30, 4] {
            assert_eq!(
                verified_code(&code[..cut], &key),
                Err(CacheDefect::Truncated),
                "cut at {cut}"
            );
        }
        // An entry of format 2: its header in front, then the code.
        let mut format_2 = b"plugboard-cwasm2".to_vec();
        format_2.extend_from_slice(&key.0);
        format_2.extend_from_slice(&crc32fast::hash(&code).to_le_bytes());
        format_2.extend_from_slice(&(code.len() as u64).to_le_bytes());
        format_2.extend_from_slice(&code);
        assert_eq!(verified_code(&format_2, &key), Err(CacheDefect::NotAnEntry));
        assert_eq!(verified_code(b"", &key), Err(CacheDefect::NotAnEntry));
    }

    #[test]
    fn a_trailer_that_does_not_match_its_code_is_caught() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (code, key) = empty_artefact();
        let path = dir.path().join("entry");
        write_entry(&path, &key, &code).expect("written");
        let entry = std::fs::read(&path).expect("read");
        assert_eq!(verified_code(&entry, &key), Ok(&code[..]));
        let other = CacheKey::new(&engine(false), b"\0asm\x0d\0\x01\0\0");
        assert_eq!(verified_code(&entry, &other), Err(CacheDefect::Foreign));
        // A byte lost from the code, the trailer intact: the length says so.
        let mut short = code[..code.len() - 1].to_vec();
        short.extend_from_slice(&entry[code.len()..]);
        assert_eq!(verified_code(&short, &key), Err(CacheDefect::Truncated));
        // A byte too many.
        let mut long = code.clone();
        long.push(0);
        long.extend_from_slice(&entry[code.len()..]);
        assert_eq!(verified_code(&long, &key), Err(CacheDefect::Corrupt));
    }

    /// A hit is wasmtime's mapping of the entry file itself, not a copy of
    /// it in fresh memory: the process's mappings name the entry while the
    /// component lives.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_hit_maps_the_entry_file_instead_of_copying_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cache, engine, key) = cache_with_empty_entry(dir.path());
        let path = cache.entry_path(&key).canonicalize().expect("the entry exists");
        let mapped = || {
            std::fs::read_to_string("/proc/self/maps")
                .expect("Linux /proc/self/maps")
                .lines()
                .any(|line| line.ends_with(&*path.to_string_lossy()))
        };
        let Lookup::Hit(component) = cache.lookup(&engine, &key) else {
            panic!("the entry just stored is a hit")
        };
        assert!(mapped(), "the entry is mapped while its component lives");
        drop(component);
        assert!(!mapped(), "and unmapped with it: the check's own mapping is gone too");
    }

    #[test]
    fn code_of_another_engine_under_a_valid_header_is_refused_by_wasmtime() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = CodeCache::new(dir.path());
        let ours = engine(false);
        let key = CacheKey::new(&ours, EMPTY_COMPONENT);
        // A well-formed entry under our key whose code was compiled with
        // fuel counting: only wasmtime's own check can tell.
        let theirs = engine(true);
        let code = Component::new(&theirs, EMPTY_COMPONENT)
            .and_then(|c| c.serialize())
            .expect("compiles");
        write_entry(&cache.entry_path(&key), &key, &code).expect("written");
        match cache.lookup(&ours, &key) {
            Lookup::Defect(CacheDefect::Refused(why)) => assert!(!why.is_empty()),
            _ => panic!("the foreign code was not refused"),
        }
        assert!(!cache.entry_path(&key).exists(), "the refused entry is deleted");
    }
}
