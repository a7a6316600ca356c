//! What the central directory says about an archive's entries, checked before any
//! entry is read: how many there are, that their names are unique, safe and portable,
//! that they are regular files stored or deflated, that no declared size is over the
//! limit, and that the local headers tell the same story.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use crate::entry_name::{NameClash, UnsafeName, check_entry_name, check_no_clash, is_compiled_code};
use crate::error::{ArchiveError, corrupt, io_error};
use crate::limits::UnpackLimits;
use crate::{DIGESTS_ENTRY, RESERVED_FOLDER, SIGNATURE_ENTRY};

/// The file-type bits of a unix mode, and the types an entry may claim.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

/// An archive being read.
pub(crate) type Zip = ZipArchive<BufReader<File>>;

/// Opens the archive at `path`, checks every entry from its central directory, and
/// returns the reader with every entry's index by name.
pub(crate) fn read_central_directory(
    path: &Path,
    limits: &UnpackLimits,
) -> Result<(Zip, BTreeMap<String, usize>), ArchiveError> {
    let file = File::open(path).map_err(io_error(path, "open the archive"))?;
    let mut zip = ZipArchive::new(BufReader::new(file)).map_err(|error| corrupt(path, None, error))?;
    if zip.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries {
            archive: path.to_owned(),
            count: zip.len(),
            limit: limits.max_entries,
        });
    }
    if zip.has_duplicate_names() {
        return Err(ArchiveError::DuplicateEntry {
            archive: path.to_owned(),
            entry: first_repeated_name(path, zip.central_directory_start()).unwrap_or_default(),
            other: None,
        });
    }
    // Local headers that disagree with the central directory, overlapping entries and
    // hidden local headers all let one tool see other files than another.
    zip.validate_header_consistency().map_err(|error| match error {
        ZipError::Io(_) => corrupt(path, None, error),
        other => ArchiveError::InconsistentHeaders {
            archive: path.to_owned(),
            reason: other.to_string(),
        },
    })?;

    let names = entry_names(path, &zip, limits)?;
    check_no_clash(names.keys().map(String::as_str)).map_err(|clash| match clash {
        NameClash::Duplicate { entry, other } => ArchiveError::DuplicateEntry {
            archive: path.to_owned(),
            entry,
            other: Some(other),
        },
        NameClash::FileAsFolder { entry, file } => ArchiveError::FileAsFolder {
            archive: path.to_owned(),
            entry,
            file,
        },
    })?;
    Ok((zip, names))
}

/// Checks every entry's name and kind from the central directory, and returns the
/// names with their indices.
fn entry_names(path: &Path, zip: &Zip, limits: &UnpackLimits) -> Result<BTreeMap<String, usize>, ArchiveError> {
    let archive = || path.to_owned();
    let metadata = zip.metadata();
    let mut names = BTreeMap::new();
    for index in 0..zip.len() {
        let entry = metadata.entry(index).map_err(|error| corrupt(path, None, error))?;
        let raw = entry.name_raw();
        let name = String::from_utf8_lossy(raw).into_owned();
        let kind = entry.unix_mode().map(|mode| mode & S_IFMT);
        if kind == Some(S_IFLNK) {
            return Err(ArchiveError::SymlinkEntry {
                archive: archive(),
                entry: name,
            });
        }
        if kind == Some(S_IFDIR) || raw.ends_with(b"/") {
            return Err(ArchiveError::DirectoryEntry {
                archive: archive(),
                entry: name,
            });
        }
        if let Some(mode) = entry
            .unix_mode()
            .filter(|_| kind.is_some_and(|kind| kind != 0 && kind != S_IFREG))
        {
            return Err(ArchiveError::SpecialEntry {
                archive: archive(),
                entry: name,
                mode,
            });
        }
        let problem = match std::str::from_utf8(raw) {
            Ok(text) => check_entry_name(text).err(),
            Err(_) => Some(UnsafeName::NonPortableCharacter(char::REPLACEMENT_CHARACTER)),
        };
        if let Some(problem) = problem {
            return Err(ArchiveError::UnsafeEntryName {
                archive: archive(),
                entry: name,
                problem,
            });
        }
        if is_compiled_code(&name) {
            return Err(ArchiveError::CompiledCode {
                archive: archive(),
                entry: name,
            });
        }
        if name.to_ascii_lowercase().starts_with(RESERVED_FOLDER) && name != DIGESTS_ENTRY && name != SIGNATURE_ENTRY {
            return Err(ArchiveError::ReservedEntry {
                archive: archive(),
                entry: name,
            });
        }
        if entry.encrypted() {
            return Err(ArchiveError::UnsupportedEntry {
                archive: archive(),
                entry: name,
                reason: "is encrypted".to_owned(),
            });
        }
        let method = entry.compression();
        if method != CompressionMethod::Stored && method != CompressionMethod::Deflated {
            return Err(ArchiveError::UnsupportedEntry {
                archive: archive(),
                entry: name,
                reason: format!("uses the compression method {method}"),
            });
        }
        // Only a first filter: the real check counts the bytes as they are decompressed.
        if entry.size() > limits.max_entry_bytes {
            return Err(ArchiveError::EntryTooLarge {
                archive: archive(),
                entry: name,
                limit: limits.max_entry_bytes,
            });
        }
        names.insert(name, index);
    }
    Ok(names)
}

/// The first name the central directory lists twice. The zip reader keeps one entry
/// per name, so the central directory is walked here to tell the user which one.
fn first_repeated_name(path: &Path, central_directory_start: u64) -> Option<String> {
    const CENTRAL_HEADER: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    const FIXED_LEN: usize = 46;
    // 10 000 entries with long names; only read to name the duplicate in a refusal.
    const MAX_CENTRAL_DIRECTORY_BYTES: u64 = 16 * 1024 * 1024;
    let mut file = File::open(path).ok()?;
    file.seek(SeekFrom::Start(central_directory_start)).ok()?;
    let mut directory = Vec::new();
    file.take(MAX_CENTRAL_DIRECTORY_BYTES)
        .read_to_end(&mut directory)
        .ok()?;
    let field = |at: usize| -> Option<usize> {
        let bytes = directory.get(at..at + 2)?;
        Some(usize::from(u16::from_le_bytes([bytes[0], bytes[1]])))
    };
    let mut seen = HashSet::new();
    let mut at = 0;
    while directory.get(at..at + 4) == Some(&CENTRAL_HEADER[..]) {
        let (name_len, extra_len, comment_len) = (field(at + 28)?, field(at + 30)?, field(at + 32)?);
        let name = directory.get(at + FIXED_LEN..at + FIXED_LEN + name_len)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        at += FIXED_LEN + name_len + extra_len + comment_len;
    }
    None
}
