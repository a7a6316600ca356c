//! Files a plugin is granted: a folder of its own (`files.private`), kept to
//! a quota, and host folders it may read (`files.read:<path>`) or read and
//! write (`files.write:<path>`), each preopened through `wasi:filesystem`.
//!
//! # What the plugin sees
//!
//! | grant | guest path | access | bound |
//! |---|---|---|---|
//! | `files.private` | [`PRIVATE_GUEST_PATH`] (`/private`) | read-write | its quota in bytes (manifest `files.quota`, default [`DEFAULT_FILES_QUOTA`], at most 1 GiB) and [`MAX_FILES_ENTRIES`] files and folders |
//! | `files.read:<path>` | `<path>` itself | read-only | nothing written |
//! | `files.write:<path>` | `<path>` itself | read-write | what it adds while loaded: the same quota in bytes and [`MAX_FILES_ENTRIES`] new entries, each folder on its own |
//!
//! Without a files grant no folder is preopened and the file system stays
//! inert, as before.
//!
//! # How the bounds hold
//!
//! cap-std opens every path below a preopened folder without leaving it:
//! `..` past the folder and symbolic links pointing out of it fail. The
//! host folders themselves are checked at load: absolute, no `.` or `..`
//! part ([`plugboard_manifest::FolderPath`]), existing folders, and not
//! reached through a symbolic link (their canonical path is the path
//! granted).
//!
//! `wasi:filesystem/types` is linked through [`FilesView`], which passes
//! every call to wasmtime's implementation and, for a descriptor of a
//! writable folder, first counts what it adds: `write` and `set-size` by how
//! far they extend the file, `write-via-stream` and `append-via-stream`
//! through a stream of the host's own ([`QuotaStream`]) that writes
//! synchronously, at most [`STREAM_CHUNK`] bytes at a time, and counts each
//! chunk before it is written; a new file or folder counts an entry;
//! removing a file gives its bytes and its entry back (its bytes only when
//! the plugin holds no descriptor of it open: an open file's bytes stay on
//! disk, so they stay counted until the plugin next loads). What would pass the
//! quota fails with `insufficient-space` and writes nothing. Hard and
//! symbolic links cannot be made (`not-permitted`), and a rename between two
//! folders fails with `cross-device`, so bytes cannot move from one count
//! to another. The own folder's use is measured when the plugin loads (a
//! walk of at most [`MAX_FILES_ENTRIES`] entries) and kept as a running
//! count shared by the plugin's instances.
//!
//! File writes are not part of the task transaction: what a plugin wrote
//! stays written even when its call is stopped or fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use plugboard_manifest::FilesPermission;
use wasmtime::component::{HasData, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemCtxView};
use wasmtime_wasi::p2::bindings::filesystem::types::{ErrorCode, HostDescriptor, HostDirectoryEntryStream};
use wasmtime_wasi::p2::bindings::filesystem::{preopens, types};
use wasmtime_wasi::p2::{FsError, FsResult, Pollable, StreamError, StreamResult};
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream, OutputStream};

/// Where a plugin's own folder appears to it.
pub const PRIVATE_GUEST_PATH: &str = "/private";

/// The own folder's quota when the manifest names none.
pub const DEFAULT_FILES_QUOTA: u64 = 16 << 20;

/// The most files and folders a plugin's own folder may hold, and the most
/// it may add to a folder granted for writing while it is loaded.
pub const MAX_FILES_ENTRIES: u64 = 4096;

/// The most bytes one write of a file stream takes at a time.
pub const STREAM_CHUNK: usize = 64 << 10;

/// What a plugin holds of `files`: the request narrowed to the grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesPolicy {
    /// Its own folder, with this quota (`files.private`).
    pub private_quota: Option<u64>,
    /// The quota its writes into a granted folder count against.
    pub write_quota: u64,
    /// Host folders it may read (`files.read:<path>`).
    pub read: Vec<String>,
    /// Host folders it may read and write (`files.write:<path>`).
    pub write: Vec<String>,
}

impl FilesPolicy {
    /// What of `requested` the grant allows; `granted` says whether a grant
    /// item (`private`, `read:<path>`, `write:<path>`) is held.
    pub fn new(requested: Option<&FilesPermission>, granted: impl Fn(&str) -> bool) -> FilesPolicy {
        let Some(asked) = requested else {
            return FilesPolicy::default();
        };
        let quota = asked.quota.unwrap_or(DEFAULT_FILES_QUOTA);
        let folders = |list: &[plugboard_manifest::FolderPath], kind: &str| -> Vec<String> {
            list.iter()
                .map(|p| p.as_str().to_string())
                .filter(|p| granted(&format!("{kind}:{p}")))
                .collect()
        };
        let write = folders(&asked.write, "write");
        FilesPolicy {
            private_quota: (asked.private && granted("private")).then_some(quota),
            write_quota: if write.is_empty() { 0 } else { quota },
            read: folders(&asked.read, "read"),
            write,
        }
    }

    /// Whether nothing is held: no folder is preopened.
    pub fn is_empty(&self) -> bool {
        self.private_quota.is_none() && self.read.is_empty() && self.write.is_empty()
    }

    /// The grants held, as a user types them.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.private_quota.is_some() {
            out.push("files.private".to_string());
        }
        out.extend(self.read.iter().map(|p| format!("files.read:{p}")));
        out.extend(self.write.iter().map(|p| format!("files.write:{p}")));
        out
    }

    /// Each folder the plugin would see and its access, as `inspect` shows
    /// them: `/private (own folder, 16 MiB quota)`, `/home/u/notes (read-only)`.
    pub fn folders(&self) -> Vec<String> {
        let size = plugboard_manifest::format_byte_size;
        let mut out = Vec::new();
        if let Some(quota) = self.private_quota {
            out.push(format!(
                "{PRIVATE_GUEST_PATH} (own folder, {} quota, {MAX_FILES_ENTRIES} entries)",
                size(quota)
            ));
        }
        out.extend(self.read.iter().map(|p| format!("{p} (read-only)")));
        out.extend(
            self.write
                .iter()
                .map(|p| format!("{p} (read-write, {} added at most)", size(self.write_quota))),
        );
        out
    }
}

/// A files grant that cannot be honoured when the plugin loads.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// `files.private` is held but the host keeps no data folder for it.
    #[error("plugin `{plugin}` is granted files.private, but this host has no folder for plugin files")]
    NoFolder {
        /// The plugin.
        plugin: String,
    },
    /// A granted folder is missing or cannot be read.
    #[error("plugin `{plugin}` is granted {grant}, but {path} cannot be opened: {source}")]
    Unreachable {
        /// The plugin.
        plugin: String,
        /// The grant, as typed.
        grant: String,
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A granted path is not a folder.
    #[error("plugin `{plugin}` is granted {grant}, but {path} is not a folder")]
    NotFolder {
        /// The plugin.
        plugin: String,
        /// The grant, as typed.
        grant: String,
        /// The path.
        path: String,
    },
    /// A granted folder is reached through a symbolic link.
    #[error(
        "plugin `{plugin}` is granted {grant}, but {path} goes through a symbolic link (to {target}); grant the folder \
         it leads to instead"
    )]
    Link {
        /// The plugin.
        plugin: String,
        /// The grant, as typed.
        grant: String,
        /// The path granted.
        path: String,
        /// Where it leads.
        target: String,
    },
    /// A granted folder would appear where the plugin's own folder does.
    #[error("plugin `{plugin}` is granted {grant}, which would hide its own folder {PRIVATE_GUEST_PATH}")]
    Hides {
        /// The plugin.
        plugin: String,
        /// The grant, as typed.
        grant: String,
    },
    /// The own folder cannot be created or measured.
    #[error("plugin `{plugin}`'s own folder {path}: {problem}")]
    Private {
        /// The plugin.
        plugin: String,
        /// The folder.
        path: String,
        /// What went wrong.
        problem: String,
    },
}

/// How much a writable folder holds (own folder) or had added (granted
/// folder), against its bounds.
#[derive(Debug)]
struct Account {
    used: u64,
    quota: u64,
    entries: u64,
}

impl Account {
    /// Takes `bytes` more, or refuses without taking anything.
    fn take(&mut self, bytes: u64) -> Result<(), ErrorCode> {
        match self.used.checked_add(bytes) {
            Some(total) if total <= self.quota => {
                self.used = total;
                Ok(())
            }
            _ => Err(ErrorCode::InsufficientSpace),
        }
    }

    fn give_back(&mut self, bytes: u64) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Takes one more entry, or refuses.
    fn take_entry(&mut self) -> Result<(), ErrorCode> {
        if self.entries >= MAX_FILES_ENTRIES {
            return Err(ErrorCode::InsufficientSpace);
        }
        self.entries += 1;
        Ok(())
    }

    fn give_back_entry(&mut self) {
        self.entries = self.entries.saturating_sub(1);
    }
}

type Shared = Arc<Mutex<Account>>;

fn lock(account: &Shared) -> std::sync::MutexGuard<'_, Account> {
    // A panic while the lock is held leaves a count that is still a count.
    account.lock().unwrap_or_else(|e| e.into_inner())
}

/// How a preopened folder may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderAccess {
    /// The plugin's own folder.
    Own,
    /// A host folder, read only.
    Read,
    /// A host folder, read and write.
    Write,
}

/// One folder preopened for a plugin.
#[derive(Debug)]
pub struct Preopen {
    /// The folder on the host (canonical).
    pub host: PathBuf,
    /// Where the plugin sees it.
    pub guest: String,
    /// How.
    pub access: FolderAccess,
    account: Option<Shared>,
}

impl Preopen {
    /// Bytes used (own folder) or added (granted folder), and the quota;
    /// `None` for a read-only folder.
    pub fn usage(&self) -> Option<(u64, u64, u64)> {
        self.account.as_ref().map(|a| {
            let a = lock(a);
            (a.used, a.quota, a.entries)
        })
    }
}

/// The folders a loaded plugin gets, resolved and checked at load.
#[derive(Debug, Default)]
pub struct FilesPlan {
    /// Each preopened folder.
    pub preopens: Vec<Preopen>,
}

/// The own folder of plugin `id` under `root` (the host's folder of plugin
/// files): `<root>/<id>`.
pub fn private_folder(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

impl FilesPlan {
    /// Checks and opens what `policy` grants plugin `plugin`: creates its
    /// own folder under `root` on first load and measures it, checks each
    /// granted folder exists as a folder at its canonical path.
    pub fn resolve(plugin: &str, policy: &FilesPolicy, root: Option<&Path>) -> Result<FilesPlan, FilesError> {
        let mut preopens = Vec::new();
        if let Some(quota) = policy.private_quota {
            let root = root.ok_or_else(|| FilesError::NoFolder {
                plugin: plugin.to_string(),
            })?;
            let dir = private_folder(root, plugin);
            let problem = |problem: String| FilesError::Private {
                plugin: plugin.to_string(),
                path: dir.display().to_string(),
                problem,
            };
            std::fs::create_dir_all(&dir).map_err(|e| problem(format!("cannot be created: {e}")))?;
            let meta = std::fs::symlink_metadata(&dir).map_err(|e| problem(e.to_string()))?;
            if !meta.is_dir() {
                return Err(problem("is not a folder".into()));
            }
            let (used, entries) = measure(&dir).map_err(problem)?;
            preopens.push(Preopen {
                host: dir,
                guest: PRIVATE_GUEST_PATH.to_string(),
                access: FolderAccess::Own,
                account: Some(Arc::new(Mutex::new(Account { used, quota, entries }))),
            });
        }
        for (list, access, kind) in [
            (&policy.read, FolderAccess::Read, "read"),
            (&policy.write, FolderAccess::Write, "write"),
        ] {
            for path in list {
                let grant = format!("files.{kind}:{path}");
                let host = checked_folder(plugin, &grant, path)?;
                if path == PRIVATE_GUEST_PATH && policy.private_quota.is_some() {
                    return Err(FilesError::Hides {
                        plugin: plugin.to_string(),
                        grant,
                    });
                }
                let account = (access == FolderAccess::Write).then(|| {
                    Arc::new(Mutex::new(Account {
                        used: 0,
                        quota: policy.write_quota,
                        entries: 0,
                    }))
                });
                preopens.push(Preopen {
                    host,
                    guest: path.clone(),
                    access,
                    account,
                });
            }
        }
        Ok(FilesPlan { preopens })
    }

    /// Whether no folder is preopened.
    pub fn is_empty(&self) -> bool {
        self.preopens.is_empty()
    }

    /// Adds the folders to a WASI context being built; a folder that cannot
    /// be opened now (removed since load) is left out and logged.
    pub(crate) fn preopen(&self, plugin: &str, builder: &mut wasmtime_wasi::WasiCtxBuilder) {
        for folder in &self.preopens {
            let perms = match folder.access {
                FolderAccess::Read => wasmtime_wasi::FsPerms::ReadOnly,
                FolderAccess::Own | FolderAccess::Write => wasmtime_wasi::FsPerms::ReadWrite,
            };
            if let Err(e) = builder.preopened_dir(&folder.host, &folder.guest, perms) {
                tracing::warn!(plugin, folder = %folder.host.display(), "cannot open a granted folder: {e:#}");
            }
        }
    }
}

/// The canonical form of a granted folder, which must be the path itself.
fn checked_folder(plugin: &str, grant: &str, path: &str) -> Result<PathBuf, FilesError> {
    let canonical = std::fs::canonicalize(path).map_err(|source| FilesError::Unreachable {
        plugin: plugin.to_string(),
        grant: grant.to_string(),
        path: path.to_string(),
        source,
    })?;
    if canonical != Path::new(path) {
        return Err(FilesError::Link {
            plugin: plugin.to_string(),
            grant: grant.to_string(),
            path: path.to_string(),
            target: canonical.display().to_string(),
        });
    }
    if !canonical.is_dir() {
        return Err(FilesError::NotFolder {
            plugin: plugin.to_string(),
            grant: grant.to_string(),
            path: path.to_string(),
        });
    }
    Ok(canonical)
}

/// The bytes of the files under `dir` and the count of its entries, links
/// not followed; more than [`MAX_FILES_ENTRIES`] entries is an error.
fn measure(dir: &Path) -> Result<(u64, u64), String> {
    let mut bytes = 0u64;
    let mut entries = 0u64;
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let list = std::fs::read_dir(&folder).map_err(|e| format!("cannot be read: {e}"))?;
        for entry in list {
            let entry = entry.map_err(|e| format!("cannot be read: {e}"))?;
            entries += 1;
            if entries > MAX_FILES_ENTRIES {
                return Err(format!(
                    "holds more than {MAX_FILES_ENTRIES} files and folders; remove some, or the folder with \
                     `plugboard remove ID --purge`"
                ));
            }
            let meta = entry
                .path()
                .symlink_metadata()
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                bytes = bytes.saturating_add(meta.len());
            }
        }
    }
    Ok((bytes, entries))
}

/// A plugin store's view of its folders: which open descriptor belongs to
/// which writable folder.
#[derive(Debug, Default)]
pub(crate) struct FilesState {
    plan: Arc<FilesPlan>,
    /// Descriptor rep → its writable folder's account.
    open: HashMap<u32, Shared>,
}

impl FilesState {
    pub(crate) fn new(plan: Arc<FilesPlan>) -> FilesState {
        FilesState {
            plan,
            open: HashMap::new(),
        }
    }
}

/// `wasi:filesystem` as linked for plugins: wasmtime's implementation,
/// with the writes into a writable folder counted first.
pub(crate) struct FilesView<'a> {
    fs: WasiFilesystemCtxView<'a>,
    state: &'a mut FilesState,
}

impl<'a> FilesView<'a> {
    pub(crate) fn new(fs: WasiFilesystemCtxView<'a>, state: &'a mut FilesState) -> FilesView<'a> {
        FilesView { fs, state }
    }

    fn account(&self, fd: &Resource<Descriptor>) -> Option<Shared> {
        self.state.open.get(&fd.rep()).cloned()
    }

    fn file(&self, fd: &Resource<Descriptor>) -> FsResult<Arc<std::fs::File>> {
        match self.fs.table.get(fd)? {
            Descriptor::File(f) => Ok(f.file.clone()),
            Descriptor::Dir(_) => Err(ErrorCode::BadDescriptor.into()),
        }
    }

    fn size(&self, fd: &Resource<Descriptor>) -> FsResult<u64> {
        let file = self.file(fd)?;
        Ok(file.metadata()?.len())
    }

    /// Whether the plugin holds a descriptor of the file at `path` below
    /// `fd` open: its bytes stay on disk after the name goes, so they stay
    /// counted (until the plugin next loads and its folder is measured).
    async fn held_open(&mut self, fd: &Resource<Descriptor>, path: &str) -> bool {
        let at = Resource::new_borrow(fd.rep());
        let Ok(target) =
            HostDescriptor::metadata_hash_at(&mut self.fs, at, types::PathFlags::empty(), path.to_string()).await
        else {
            // Cannot tell: keep the bytes counted.
            return true;
        };
        let files: Vec<u32> = self
            .state
            .open
            .keys()
            .copied()
            .filter(|rep| {
                matches!(
                    self.fs.table.get(&Resource::<Descriptor>::new_borrow(*rep)),
                    Ok(Descriptor::File(_))
                )
            })
            .collect();
        for rep in files {
            let open = HostDescriptor::metadata_hash(&mut self.fs, Resource::new_borrow(rep)).await;
            if open.is_ok_and(|hash| hash.lower == target.lower && hash.upper == target.upper) {
                return true;
            }
        }
        false
    }

    /// What is at `path` below `fd`, links not followed: `None` when nothing.
    async fn entry(&mut self, fd: &Resource<Descriptor>, path: &str) -> FsResult<Option<types::DescriptorStat>> {
        let at = Resource::new_borrow(fd.rep());
        match HostDescriptor::stat_at(&mut self.fs, at, types::PathFlags::empty(), path.to_string()).await {
            Ok(stat) => Ok(Some(stat)),
            Err(e) if e.downcast_ref() == Some(&ErrorCode::NoEntry) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Links `wasi:filesystem` through [`FilesView`].
pub(crate) struct FilesLink;

impl HasData for FilesLink {
    type Data<'a> = FilesView<'a>;
}

/// What a stream write refused for the quota fails with.
#[derive(Debug, thiserror::Error)]
#[error("the folder's quota is used up")]
struct QuotaExceeded;

impl preopens::Host for FilesView<'_> {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let list = preopens::Host::get_directories(&mut self.fs)?;
        for (fd, guest) in &list {
            if let Some(account) = self
                .state
                .plan
                .preopens
                .iter()
                .find(|p| &p.guest == guest)
                .and_then(|p| p.account.clone())
            {
                self.state.open.insert(fd.rep(), account);
            }
        }
        Ok(list)
    }
}

impl types::Host for FilesView<'_> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<ErrorCode> {
        types::Host::convert_error_code(&mut self.fs, err)
    }

    fn filesystem_error_code(&mut self, err: Resource<wasmtime::Error>) -> wasmtime::Result<Option<ErrorCode>> {
        if self.fs.table.get(&err)?.downcast_ref::<QuotaExceeded>().is_some() {
            return Ok(Some(ErrorCode::InsufficientSpace));
        }
        types::Host::filesystem_error_code(&mut self.fs, err)
    }
}

impl HostDescriptor for FilesView<'_> {
    async fn advise(
        &mut self,
        fd: Resource<Descriptor>,
        offset: types::Filesize,
        len: types::Filesize,
        advice: types::Advice,
    ) -> FsResult<()> {
        HostDescriptor::advise(&mut self.fs, fd, offset, len, advice).await
    }

    async fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        HostDescriptor::sync_data(&mut self.fs, fd).await
    }

    async fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<types::DescriptorFlags> {
        HostDescriptor::get_flags(&mut self.fs, fd).await
    }

    async fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<types::DescriptorType> {
        HostDescriptor::get_type(&mut self.fs, fd).await
    }

    async fn set_size(&mut self, fd: Resource<Descriptor>, size: types::Filesize) -> FsResult<()> {
        let Some(account) = self.account(&fd) else {
            return HostDescriptor::set_size(&mut self.fs, fd, size).await;
        };
        let before = self.size(&fd)?;
        lock(&account).take(size.saturating_sub(before))?;
        let result = HostDescriptor::set_size(&mut self.fs, fd, size).await;
        match &result {
            Ok(()) => lock(&account).give_back(before.saturating_sub(size)),
            Err(_) => lock(&account).give_back(size.saturating_sub(before)),
        }
        result
    }

    async fn set_times(
        &mut self,
        fd: Resource<Descriptor>,
        atim: types::NewTimestamp,
        mtim: types::NewTimestamp,
    ) -> FsResult<()> {
        HostDescriptor::set_times(&mut self.fs, fd, atim, mtim).await
    }

    async fn read(
        &mut self,
        fd: Resource<Descriptor>,
        len: types::Filesize,
        offset: types::Filesize,
    ) -> FsResult<(Vec<u8>, bool)> {
        HostDescriptor::read(&mut self.fs, fd, len, offset).await
    }

    async fn write(
        &mut self,
        fd: Resource<Descriptor>,
        buf: Vec<u8>,
        offset: types::Filesize,
    ) -> FsResult<types::Filesize> {
        let Some(account) = self.account(&fd) else {
            return HostDescriptor::write(&mut self.fs, fd, buf, offset).await;
        };
        let before = self.size(&fd)?;
        let end = offset.saturating_add(buf.len() as u64);
        let growth = end.saturating_sub(before);
        lock(&account).take(growth)?;
        let result = HostDescriptor::write(&mut self.fs, fd, buf, offset).await;
        if result.is_err() {
            lock(&account).give_back(growth);
        }
        result
    }

    async fn read_directory(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<types::DirectoryEntryStream>> {
        HostDescriptor::read_directory(&mut self.fs, fd).await
    }

    async fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        HostDescriptor::sync(&mut self.fs, fd).await
    }

    async fn create_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let Some(account) = self.account(&fd) else {
            return HostDescriptor::create_directory_at(&mut self.fs, fd, path).await;
        };
        lock(&account).take_entry()?;
        let result = HostDescriptor::create_directory_at(&mut self.fs, fd, path).await;
        if result.is_err() {
            lock(&account).give_back_entry();
        }
        result
    }

    async fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<types::DescriptorStat> {
        HostDescriptor::stat(&mut self.fs, fd).await
    }

    async fn stat_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: String,
    ) -> FsResult<types::DescriptorStat> {
        HostDescriptor::stat_at(&mut self.fs, fd, path_flags, path).await
    }

    async fn set_times_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: String,
        atim: types::NewTimestamp,
        mtim: types::NewTimestamp,
    ) -> FsResult<()> {
        HostDescriptor::set_times_at(&mut self.fs, fd, path_flags, path, atim, mtim).await
    }

    async fn link_at(
        &mut self,
        _fd: Resource<Descriptor>,
        _old_path_flags: types::PathFlags,
        _old_path: String,
        _new_descriptor: Resource<Descriptor>,
        _new_path: String,
    ) -> FsResult<()> {
        // A hard link would count one file's bytes once for two names, and
        // could tie a granted folder's file to the own folder's.
        Err(ErrorCode::NotPermitted.into())
    }

    async fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: String,
        oflags: types::OpenFlags,
        flags: types::DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let Some(account) = self.account(&fd) else {
            return HostDescriptor::open_at(&mut self.fs, fd, path_flags, path, oflags, flags).await;
        };
        let creates = oflags.contains(types::OpenFlags::CREATE);
        let truncates = oflags.contains(types::OpenFlags::TRUNCATE);
        let existing = if creates || truncates {
            self.entry(&fd, &path).await?
        } else {
            None
        };
        let new_entry = creates && existing.is_none();
        if new_entry {
            lock(&account).take_entry()?;
        }
        let result = HostDescriptor::open_at(&mut self.fs, fd, path_flags, path, oflags, flags).await;
        match &result {
            Ok(opened) => {
                if truncates && let Some(stat) = &existing {
                    lock(&account).give_back(stat.size);
                }
                self.state.open.insert(opened.rep(), account);
            }
            Err(_) if new_entry => lock(&account).give_back_entry(),
            Err(_) => {}
        }
        result
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        self.state.open.remove(&fd.rep());
        HostDescriptor::drop(&mut self.fs, fd)
    }

    async fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        HostDescriptor::readlink_at(&mut self.fs, fd, path).await
    }

    async fn remove_directory_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let account = self.account(&fd);
        HostDescriptor::remove_directory_at(&mut self.fs, fd, path).await?;
        if let Some(account) = account {
            lock(&account).give_back_entry();
        }
        Ok(())
    }

    async fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let (from, to) = (self.account(&fd), self.account(&new_fd));
        match (&from, &to) {
            (None, None) => return HostDescriptor::rename_at(&mut self.fs, fd, old_path, new_fd, new_path).await,
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => {}
            // Between two folders (or a read-only one, which refuses
            // anyway): the bytes would change count.
            _ => return Err(ErrorCode::CrossDevice.into()),
        }
        let replaced = self.entry(&new_fd, &new_path).await?;
        let held = match &replaced {
            Some(stat) if stat.type_ != types::DescriptorType::Directory => self.held_open(&new_fd, &new_path).await,
            _ => false,
        };
        HostDescriptor::rename_at(&mut self.fs, fd, old_path, new_fd, new_path).await?;
        if let (Some(account), Some(stat)) = (to, replaced) {
            let mut account = lock(&account);
            account.give_back_entry();
            if stat.type_ != types::DescriptorType::Directory && !held {
                account.give_back(stat.size);
            }
        }
        Ok(())
    }

    async fn symlink_at(&mut self, _fd: Resource<Descriptor>, _src_path: String, _dest_path: String) -> FsResult<()> {
        // A link a plugin made could only lead inside its folders (cap-std
        // refuses to follow any other), but the user who later opens the
        // folder would follow it anywhere.
        Err(ErrorCode::NotPermitted.into())
    }

    async fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let Some(account) = self.account(&fd) else {
            return HostDescriptor::unlink_file_at(&mut self.fs, fd, path).await;
        };
        let existing = self.entry(&fd, &path).await?;
        let held = existing.is_some() && self.held_open(&fd, &path).await;
        HostDescriptor::unlink_file_at(&mut self.fs, fd, path).await?;
        if let Some(stat) = existing {
            let mut account = lock(&account);
            account.give_back_entry();
            if !held {
                account.give_back(stat.size);
            }
        }
        Ok(())
    }

    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: types::Filesize,
    ) -> FsResult<Resource<DynInputStream>> {
        HostDescriptor::read_via_stream(&mut self.fs, fd, offset)
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: types::Filesize,
    ) -> FsResult<Resource<DynOutputStream>> {
        let Some(account) = self.account(&fd) else {
            return HostDescriptor::write_via_stream(&mut self.fs, fd, offset);
        };
        self.quota_stream(fd, account, Some(offset))
    }

    fn append_via_stream(&mut self, fd: Resource<Descriptor>) -> FsResult<Resource<DynOutputStream>> {
        let Some(account) = self.account(&fd) else {
            return HostDescriptor::append_via_stream(&mut self.fs, fd);
        };
        self.quota_stream(fd, account, None)
    }

    async fn is_same_object(&mut self, a: Resource<Descriptor>, b: Resource<Descriptor>) -> wasmtime::Result<bool> {
        HostDescriptor::is_same_object(&mut self.fs, a, b).await
    }

    async fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> FsResult<types::MetadataHashValue> {
        HostDescriptor::metadata_hash(&mut self.fs, fd).await
    }

    async fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: String,
    ) -> FsResult<types::MetadataHashValue> {
        HostDescriptor::metadata_hash_at(&mut self.fs, fd, path_flags, path).await
    }
}

impl FilesView<'_> {
    /// A stream writing into a file of a writable folder, counted.
    fn quota_stream(
        &mut self,
        fd: Resource<Descriptor>,
        account: Shared,
        offset: Option<u64>,
    ) -> FsResult<Resource<DynOutputStream>> {
        let (file, writable) = match self.fs.table.get(&fd)? {
            Descriptor::File(f) => (
                f.file.clone(),
                f.open_mode.contains(wasmtime_wasi::OpenMode::WRITE)
                    && matches!(f.perms, wasmtime_wasi::FsPerms::ReadWrite),
            ),
            Descriptor::Dir(_) => return Err(ErrorCode::IsDirectory.into()),
        };
        if !writable {
            return Err(ErrorCode::NotPermitted.into());
        }
        let stream: DynOutputStream = Box::new(QuotaStream {
            file,
            account,
            position: offset,
        });
        Ok(self.fs.table.push(stream)?)
    }
}

impl HostDirectoryEntryStream for FilesView<'_> {
    async fn read_directory_entry(
        &mut self,
        stream: Resource<types::DirectoryEntryStream>,
    ) -> FsResult<Option<types::DirectoryEntry>> {
        HostDirectoryEntryStream::read_directory_entry(&mut self.fs, stream).await
    }

    fn drop(&mut self, stream: Resource<types::DirectoryEntryStream>) -> wasmtime::Result<()> {
        HostDirectoryEntryStream::drop(&mut self.fs, stream)
    }
}

/// A file's output stream in a writable folder: each write, of at most
/// [`STREAM_CHUNK`] bytes, is counted against the folder's quota by how far
/// it extends the file, then written at once (synchronously, so the file's
/// size is always what was counted).
struct QuotaStream {
    file: Arc<std::fs::File>,
    account: Shared,
    /// Where the next write goes; `None` appends.
    position: Option<u64>,
}

impl QuotaStream {
    fn failed(e: std::io::Error) -> StreamError {
        StreamError::LastOperationFailed(e.into())
    }
}

#[async_trait::async_trait]
impl Pollable for QuotaStream {
    async fn ready(&mut self) {}
}

#[async_trait::async_trait]
impl OutputStream for QuotaStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        if bytes.len() > STREAM_CHUNK {
            return Err(StreamError::trap("wrote more than check-write allowed"));
        }
        let size = self.file.metadata().map_err(Self::failed)?.len();
        let at = self.position.unwrap_or(size);
        let end = at.saturating_add(bytes.len() as u64);
        let growth = end.saturating_sub(size);
        if lock(&self.account).take(growth).is_err() {
            return Err(StreamError::LastOperationFailed(QuotaExceeded.into()));
        }
        if let Err(e) = write_all_at(&self.file, &bytes, at) {
            // What was written of it stays counted: the file's size is all
            // that can be known of it now.
            let now = self.file.metadata().map(|m| m.len()).unwrap_or(end);
            lock(&self.account).give_back(end.saturating_sub(now.max(size)));
            return Err(Self::failed(e));
        }
        if let Some(position) = &mut self.position {
            *position = end;
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(STREAM_CHUNK)
    }
}

#[cfg(unix)]
fn write_all_at(file: &std::fs::File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    file.write_all_at(bytes, at)
}

#[cfg(windows)]
fn write_all_at(file: &std::fs::File, mut bytes: &[u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt as _;
    while !bytes.is_empty() {
        let n = file.seek_write(bytes, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        at += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_narrows_the_files_request_and_never_widens_it() {
        let asked = FilesPermission {
            private: true,
            quota: Some(4 << 20),
            read: vec!["/a".parse().unwrap(), "/b".parse().unwrap()],
            write: vec!["/c".parse().unwrap()],
        };
        let held = |items: &'static [&'static str]| move |what: &str| items.contains(&what);
        let policy = FilesPolicy::new(Some(&asked), held(&["read:/b", "read:/z", "write:/a"]));
        assert_eq!(policy.private_quota, None, "not granted");
        assert_eq!(policy.read, ["/b"], "only what is both asked and granted");
        assert!(policy.write.is_empty(), "write:/a was never asked");
        let all = FilesPolicy::new(Some(&asked), |_| true);
        assert_eq!(all.private_quota, Some(4 << 20));
        assert_eq!(all.write_quota, 4 << 20);
        assert_eq!(
            all.describe(),
            ["files.private", "files.read:/a", "files.read:/b", "files.write:/c"]
        );
        assert!(
            FilesPolicy::new(None, |_| true).is_empty(),
            "nothing asked, nothing held"
        );
    }

    #[test]
    fn an_account_refuses_what_would_pass_its_quota_and_takes_nothing() {
        let mut account = Account {
            used: 10,
            quota: 16,
            entries: MAX_FILES_ENTRIES - 1,
        };
        assert_eq!(account.take(7), Err(ErrorCode::InsufficientSpace));
        assert_eq!(account.used, 10);
        assert_eq!(account.take(6), Ok(()));
        assert_eq!(account.take(u64::MAX), Err(ErrorCode::InsufficientSpace));
        assert_eq!(account.take_entry(), Ok(()));
        assert_eq!(account.take_entry(), Err(ErrorCode::InsufficientSpace));
    }
}
