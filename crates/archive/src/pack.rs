//! Packing a plugin folder into one `.plugin` file, the same bytes every time for the
//! same files.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use plugboard_manifest::{MANIFEST_FILE_NAME, Manifest};
use sha2::{Digest, Sha256};
use zip::result::ZipError;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::atomic_file::AtomicFile;
use crate::digests::DigestList;
use crate::entry_name::{NameClash, UnsafeName, check_entry_name, check_no_clash, is_compiled_code};
use crate::error::{ArchiveError, io_error, size as size_text};
use crate::limits::UnpackLimits;
use crate::{ARCHIVE_EXTENSION, DIGESTS_ENTRY, RESERVED_FOLDER};

/// The folder whose whole tree is packed.
const RESOURCES_FOLDER: &str = "resources";

/// The folder whose `*.json` files (not subfolders) are packed.
const LOCALES_FOLDER: &str = "locales";

/// The folder of bundled dependencies (`deps/<id>/` holds a dependency's own
/// plugin folder), packed whole; an installed newer compatible version wins
/// over a bundled one when plugins are discovered.
const DEPS_FOLDER: &str = "deps";

/// The file name `pack` gives a plugin's archive: `<id>-<version>.plugin`.
pub fn archive_file_name(manifest: &Manifest) -> String {
    format!("{}-{}.{ARCHIVE_EXTENSION}", manifest.plugin.id, manifest.plugin.version)
}

/// Packs the plugin in `plugin_dir` into `out_dir/<id>-<version>.plugin` (replacing an
/// older file of that name, atomically) and returns the archive's path.
///
/// Only these files are packed: `plugin.toml`, the component it names, every file under
/// `resources/`, `locales/*.json`, and every file under `deps/` (bundled dependencies). Anything else in the folder (`src/`, `target/`
/// apart from the component, build files, notes) is left out. The manifest is validated
/// first; a symlink, a special file, a `.cwasm`, a name that is not portable or two
/// names that differ only in case among the packed files are refused, and so is a
/// plugin larger than [`UnpackLimits::default`] lets a user unpack. Entries are sorted,
/// deflated and stamped 1980-01-01 with mode 0644, so the same files give the same
/// archive bytes.
pub fn pack(plugin_dir: &Path, out_dir: &Path) -> Result<PathBuf, ArchiveError> {
    refuse_symlink(&plugin_dir.join(MANIFEST_FILE_NAME))?;
    let manifest = Manifest::from_dir(plugin_dir).map_err(|source| ArchiveError::PackManifest {
        plugin_dir: plugin_dir.to_owned(),
        source: Box::new(source),
    })?;
    let files = packed_files(plugin_dir, &manifest)?;
    let limits = UnpackLimits::default();
    let too_large = |problem: String| ArchiveError::PluginTooLarge {
        plugin_dir: plugin_dir.to_owned(),
        problem,
    };
    if files.len() + 2 > limits.max_entries {
        return Err(too_large(format!(
            "{} files are more than an archive may hold ({})",
            files.len(),
            limits.max_entries - 2
        )));
    }

    let target = out_dir.join(archive_file_name(&manifest));
    let output = AtomicFile::create(&target)?;
    let write_error = |error| io_error(&target, "write the archive")(zip_io(error));
    let mut writer = ZipWriter::new(BufWriter::new(output.file()));
    let mut digests = DigestList::default();
    let mut total = 0u64;
    let mut buffer = vec![0; 64 * 1024];
    for (name, path) in &files {
        let read_error = io_error(path, "read the file to pack");
        let mut source = File::open(path).map_err(read_error)?;
        writer.start_file(name.as_str(), entry_options()).map_err(write_error)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            let read = match source.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(io_error(path, "read the file to pack")(error)),
            };
            size += read as u64;
            total += read as u64;
            if size > limits.max_entry_bytes {
                return Err(too_large(format!(
                    "{} is larger than the {} a file in an archive may have",
                    path.display(),
                    size_text(limits.max_entry_bytes)
                )));
            }
            if total > limits.max_total_bytes {
                return Err(too_large(format!(
                    "the files add up to more than the {} an archive may hold",
                    size_text(limits.max_total_bytes)
                )));
            }
            hasher.update(&buffer[..read]);
            writer
                .write_all(&buffer[..read])
                .map_err(|error| write_error(error.into()))?;
        }
        digests.files.insert(name.clone(), hasher.into());
    }
    writer.start_file(DIGESTS_ENTRY, entry_options()).map_err(write_error)?;
    writer
        .write_all(digests.render().as_bytes())
        .map_err(|error| write_error(error.into()))?;
    writer
        .finish()
        .and_then(|mut buffered| Ok(buffered.flush()?))
        .map_err(write_error)?;
    output.commit(None)
}

/// The options of every entry plugboard writes: deflated, with a fixed time and mode so
/// that the same files always give the same bytes.
pub(crate) fn entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644)
        .system(System::Unix)
}

/// The I/O error inside a zip writer's error, or the error itself as one.
pub(crate) fn zip_io(error: ZipError) -> io::Error {
    match error {
        ZipError::Io(error) => error,
        other => io::Error::other(other),
    }
}

/// The files to pack, by entry name, each checked.
fn packed_files(plugin_dir: &Path, manifest: &Manifest) -> Result<BTreeMap<String, PathBuf>, ArchiveError> {
    let mut files = BTreeMap::new();
    files.insert(MANIFEST_FILE_NAME.to_owned(), plugin_dir.join(MANIFEST_FILE_NAME));
    if let Some(component) = &manifest.plugin.component {
        if is_text(component) {
            return Err(ArchiveError::TextComponentInPlugin {
                path: plugin_dir.join(component),
            });
        }
        let (name, path) = component_file(plugin_dir, component)?;
        files.insert(name, path);
    }
    add_folder(plugin_dir, RESOURCES_FOLDER, true, &mut files)?;
    add_folder(plugin_dir, LOCALES_FOLDER, false, &mut files)?;
    add_folder(plugin_dir, DEPS_FOLDER, true, &mut files)?;

    for (name, path) in &files {
        if let Err(problem) = check_entry_name(name) {
            return Err(ArchiveError::UnsuitableFileName {
                path: path.clone(),
                problem,
            });
        }
        if is_compiled_code(name) {
            return Err(ArchiveError::CompiledCodeInPlugin { path: path.clone() });
        }
        if name.to_ascii_lowercase().starts_with(RESERVED_FOLDER) {
            return Err(ArchiveError::ReservedFileInPlugin { path: path.clone() });
        }
    }
    check_no_clash(files.keys().map(String::as_str)).map_err(|clash| {
        let (path, other) = match clash {
            NameClash::Duplicate { entry, other } => (entry, other),
            NameClash::FileAsFolder { entry, file } => (entry, file),
        };
        ArchiveError::CollidingFileNames {
            path: plugin_dir.join(path),
            other: plugin_dir.join(other),
        }
    })?;
    Ok(files)
}

/// Whether a component path names WebAssembly text (`.wat`).
pub(crate) fn is_text(component: &Path) -> bool {
    component.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("wat"))
}

/// The component's entry name and file, refusing a symlink anywhere on its way.
fn component_file(plugin_dir: &Path, component: &Path) -> Result<(String, PathBuf), ArchiveError> {
    let mut path = plugin_dir.to_owned();
    let mut segments = Vec::new();
    for segment in component {
        path.push(segment);
        segments.push(segment.to_string_lossy().into_owned());
        match path.symlink_metadata() {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(ArchiveError::ComponentNotBuilt {
                    path: plugin_dir.join(component),
                });
            }
            Err(error) => return Err(io_error(&path, "read")(error)),
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(ArchiveError::SymlinkInPlugin { path });
            }
            Ok(_) => {}
        }
    }
    if !path.is_file() {
        return Err(ArchiveError::SpecialFileInPlugin { path });
    }
    Ok((segments.join("/"), path))
}

/// Adds the files of `plugin_dir/folder`: all of them, in every subfolder, when
/// `whole_tree`; else only its `*.json` files.
fn add_folder(
    plugin_dir: &Path,
    folder: &str,
    whole_tree: bool,
    files: &mut BTreeMap<String, PathBuf>,
) -> Result<(), ArchiveError> {
    let root = plugin_dir.join(folder);
    match root.symlink_metadata() {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error(&root, "read")(error)),
        Ok(metadata) if metadata.file_type().is_symlink() => return Err(ArchiveError::SymlinkInPlugin { path: root }),
        Ok(metadata) if !metadata.is_dir() => return Ok(()),
        Ok(_) => {}
    }
    let mut pending = vec![(root, folder.to_owned())];
    while let Some((dir, prefix)) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(io_error(&dir, "list the folder"))? {
            let entry = entry.map_err(io_error(&dir, "list the folder"))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(ArchiveError::UnsuitableFileName {
                    path,
                    problem: UnsafeName::NonPortableCharacter(char::REPLACEMENT_CHARACTER),
                });
            };
            let file_type = entry.file_type().map_err(io_error(&path, "read"))?;
            let wanted = whole_tree || name.ends_with(".json");
            if !wanted {
                continue;
            }
            let entry_name = format!("{prefix}/{name}");
            if file_type.is_symlink() {
                return Err(ArchiveError::SymlinkInPlugin { path });
            } else if file_type.is_dir() {
                if whole_tree {
                    pending.push((path, entry_name));
                }
            } else if file_type.is_file() {
                files.insert(entry_name, path);
            } else {
                return Err(ArchiveError::SpecialFileInPlugin { path });
            }
        }
    }
    Ok(())
}

fn refuse_symlink(path: &Path) -> Result<(), ArchiveError> {
    match path.symlink_metadata() {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            Err(ArchiveError::SymlinkInPlugin { path: path.to_owned() })
        }
        _ => Ok(()),
    }
}
