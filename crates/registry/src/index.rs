//! A local catalogue: a folder of `.plugin` archives and its `index.json`, which lists
//! each archive's plugin, version, world, digest and signer, so a plugin can be found
//! by id and version requirement without opening every archive.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use plugboard_archive::{ARCHIVE_EXTENSION, ArchiveError, Signature, TrustedKeys, UnpackLimits, verify};
use plugboard_manifest::{PluginId, WORLD_NAME};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::discover::is_hidden;

/// The file name of a catalogue's index, beside its archives.
pub const INDEX_FILE_NAME: &str = "index.json";

/// The plugins of a catalogue folder, as written to its `index.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// One entry per archive, sorted by id and then version.
    pub plugins: Vec<IndexEntry>,
}

/// One archive of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// The plugin's id.
    #[serde(serialize_with = "id_text", deserialize_with = "id_parsed")]
    pub id: PluginId,
    /// The plugin's version.
    pub version: semver::Version,
    /// The world major version the plugin speaks, e.g. `task-events@2`.
    pub api: String,
    /// The sha256 of the whole archive file, in lowercase hex.
    pub digest: String,
    /// The id of the key the archive says signed it, when it is signed. Indexing trusts
    /// no key, so this is a claim: installing checks it against the user's keys.
    pub signer: Option<String>,
    /// The archive's file name in the catalogue folder.
    pub file: String,
}

impl IndexEntry {
    /// What is wrong with the entry's file name or digest, if anything.
    fn check(&self) -> Result<(), String> {
        let name = self.file.as_str();
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && !name.contains(['/', '\\', ':'])
            && !name.chars().any(char::is_control)
            && Path::new(name)
                .extension()
                .is_some_and(|extension| extension == ARCHIVE_EXTENSION);
        if !plain {
            return Err(format!(
                "its file {name:?} is not the plain name of a .{ARCHIVE_EXTENSION} archive in the catalogue folder"
            ));
        }
        let hex = self.digest.len() == 64 && self.digest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex {
            return Err(format!("its digest {:?} is not 64 lowercase hex digits", self.digest));
        }
        Ok(())
    }

    /// The entry's archive in the catalogue folder `dir`, once its bytes were hashed
    /// and found to be the ones the index lists; an archive that differs (replaced
    /// or changed since it was indexed) is an error naming it.
    pub fn archive_in(&self, dir: &Path) -> Result<PathBuf, IndexError> {
        if let Err(message) = self.check() {
            return Err(IndexError::BadEntry {
                file: dir.join(INDEX_FILE_NAME),
                position: 0,
                id: self.id.clone(),
                message,
            });
        }
        let archive = dir.join(&self.file);
        let found = sha256_of(&archive).map_err(|problem| match problem {
            IndexProblem::Unreadable { file, source } => IndexError::Read { file, source },
            other => IndexError::Read {
                file: archive.clone(),
                source: io::Error::other(other.to_string()),
            },
        })?;
        if found != self.digest {
            return Err(IndexError::DigestMismatch {
                archive,
                index: dir.join(INDEX_FILE_NAME),
                listed: self.digest.clone(),
                found,
            });
        }
        Ok(archive)
    }
}

fn id_text<S: Serializer>(id: &PluginId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(id.as_str())
}

fn id_parsed<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PluginId, D::Error> {
    PluginId::deserialize(deserializer)
}

impl Index {
    /// The entry of `id` with the highest version that `requirement` accepts.
    pub fn resolve(&self, id: &str, requirement: &semver::VersionReq) -> Option<&IndexEntry> {
        self.plugins
            .iter()
            .filter(|entry| entry.id.as_str() == id && requirement.matches(&entry.version))
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// Reads a catalogue's `index.json`. A catalogue comes from someone else, so
    /// every entry is checked: its `file` must be a plain `.plugin` file name in the
    /// folder (no path separator, no `..`, not hidden, no control character) and its
    /// `digest` 64 lowercase hex digits; the first entry that is not is an error
    /// naming it. The archive's bytes are checked against the digest by
    /// [`IndexEntry::archive_in`].
    pub fn read(dir: &Path) -> Result<Self, IndexError> {
        let file = dir.join(INDEX_FILE_NAME);
        let text = std::fs::read_to_string(&file).map_err(|source| IndexError::Read {
            file: file.clone(),
            source,
        })?;
        Index::parse(&text, &file)
    }

    /// Parses the text of an `index.json` that came from `origin` (its file,
    /// or the address it was downloaded from, which errors name), checking
    /// every entry as [`Index::read`] does.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, IndexError> {
        let file = origin.to_path_buf();
        let index: Index = serde_json::from_str(text).map_err(|source| IndexError::Malformed {
            file: file.clone(),
            source,
        })?;
        for (position, entry) in index.plugins.iter().enumerate() {
            if let Err(message) = entry.check() {
                return Err(IndexError::BadEntry {
                    file,
                    position: position + 1,
                    id: entry.id.clone(),
                    message,
                });
            }
        }
        Ok(index)
    }

    /// The index as `index.json` holds it: pretty-printed JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("an index always serializes");
        json.push('\n');
        json
    }
}

/// What indexing a catalogue folder found: the index, and the archives left out.
#[derive(Debug, Default)]
pub struct IndexReport {
    /// The archives that verified.
    pub index: Index,
    /// The archives left out, each with the reason.
    pub problems: Vec<IndexProblem>,
}

/// An archive left out of the index. The others are still indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexProblem {
    /// The archive does not verify (its digests, names, manifest, …).
    #[error("left out of the index: {source}")]
    Invalid {
        /// The archive.
        file: PathBuf,
        /// What is wrong with it; the message names the archive (boxed: it is large).
        #[source]
        source: Box<ArchiveError>,
    },

    /// The archive could not be read to compute its digest.
    #[error("{}: left out of the index: cannot read it: {source}", file.display())]
    Unreadable {
        /// The archive.
        file: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },

    /// The archive changed while it was being indexed.
    #[error("{}: left out of the index: it changed while it was read; index again once it is written", file.display())]
    Changed {
        /// The archive.
        file: PathBuf,
    },

    /// Another archive of the folder holds the same plugin id and version.
    #[error("{}: left out of the index: {id} {version} is also in {kept}, which is kept (the first by file name); remove one", file.display())]
    Duplicate {
        /// The archive left out.
        file: PathBuf,
        /// The plugin id.
        id: PluginId,
        /// The version.
        version: semver::Version,
        /// The file name of the archive kept.
        kept: String,
    },
}

impl IndexProblem {
    /// The archive left out.
    pub fn file(&self) -> &Path {
        match self {
            Self::Invalid { file, .. }
            | Self::Unreadable { file, .. }
            | Self::Changed { file }
            | Self::Duplicate { file, .. } => file,
        }
    }
}

/// A catalogue folder that cannot be indexed at all.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The folder cannot be listed.
    #[error("{}: cannot list the catalogue folder: {source}", dir.display())]
    ListDir {
        /// The folder.
        dir: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },

    /// `index.json` cannot be read.
    #[error("{}: cannot read the catalogue index: {source}", file.display())]
    Read {
        /// The index file.
        file: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },

    /// `index.json` is not an index.
    #[error("{}: not a catalogue index: {source}; rebuild it by indexing the folder again", file.display())]
    Malformed {
        /// The index file.
        file: PathBuf,
        /// What the JSON parser reported.
        #[source]
        source: serde_json::Error,
    },

    /// An entry of `index.json` names a file outside the folder, or its digest is
    /// not a sha256.
    #[error("{}: entry {position} ({id}) is refused: {message}; rebuild the index by indexing the folder again", file.display())]
    BadEntry {
        /// The index file.
        file: PathBuf,
        /// The entry's position, from 1 (0 when checked on its own).
        position: usize,
        /// The plugin the entry names.
        id: PluginId,
        /// What is wrong.
        message: String,
    },

    /// An archive's bytes are not the ones the index lists.
    #[error(
        "{}: its sha256 is {found}, but {} lists {listed}: the archive was replaced or changed after it was \
         indexed; nothing was installed",
        archive.display(), index.display()
    )]
    DigestMismatch {
        /// The archive.
        archive: PathBuf,
        /// The index file.
        index: PathBuf,
        /// The digest the index lists.
        listed: String,
        /// The digest of the archive's bytes.
        found: String,
    },

    /// `index.json` cannot be written.
    #[error("{}: cannot write the catalogue index: {source}", file.display())]
    Write {
        /// The index file.
        file: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: io::Error,
    },
}

/// Indexes every `*.plugin` archive in `dir` (not its subfolders; hidden files are
/// skipped): each is verified with no trusted key and the default unpack limits, so
/// nothing in it is trusted, and hashed. An archive that does not verify, or that holds
/// the same id and version as one before it by file name, is reported and left out.
/// Nothing is written; see [`write_index`].
pub fn index(dir: &Path) -> Result<IndexReport, IndexError> {
    let list_error = |source| IndexError::ListDir {
        dir: dir.to_owned(),
        source,
    };
    let mut archives = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        let path = entry.path();
        if !is_hidden(&entry.file_name())
            && path.extension().is_some_and(|extension| extension == ARCHIVE_EXTENSION)
            && path.is_file()
        {
            archives.push(path);
        }
    }
    archives.sort();

    let mut report = IndexReport::default();
    for file in archives {
        match index_entry(&file) {
            Ok(entry) => {
                let same = report
                    .index
                    .plugins
                    .iter()
                    .find(|kept| kept.id == entry.id && kept.version == entry.version);
                if let Some(kept) = same {
                    report.problems.push(IndexProblem::Duplicate {
                        file,
                        id: entry.id,
                        version: entry.version,
                        kept: kept.file.clone(),
                    });
                } else {
                    report.index.plugins.push(entry);
                }
            }
            Err(problem) => report.problems.push(problem),
        }
    }
    report
        .index
        .plugins
        .sort_by(|a, b| (&a.id, &a.version).cmp(&(&b.id, &b.version)));
    Ok(report)
}

/// Indexes `dir` as [`index`] does and writes its `index.json` (replacing the old one
/// atomically, so a reader sees the old index or the new one, never half of one).
pub fn write_index(dir: &Path) -> Result<IndexReport, IndexError> {
    let report = index(dir)?;
    let file = dir.join(INDEX_FILE_NAME);
    let write_error = |source| IndexError::Write {
        file: file.clone(),
        source,
    };
    let mut staged = tempfile::Builder::new()
        .prefix(".index.json.")
        .tempfile_in(dir)
        .map_err(write_error)?;
    staged
        .write_all(report.index.to_json().as_bytes())
        .and_then(|()| staged.as_file().sync_all())
        .map_err(write_error)?;
    staged.persist(&file).map_err(|error| write_error(error.error))?;
    Ok(report)
}

/// Verifies and hashes one archive.
fn index_entry(file: &Path) -> Result<IndexEntry, IndexProblem> {
    let digest = sha256_of(file)?;
    let verified =
        verify(file, &TrustedKeys::none(), &UnpackLimits::default()).map_err(|source| IndexProblem::Invalid {
            file: file.to_owned(),
            source: Box::new(source),
        })?;
    // The digest must describe the bytes that verified.
    if sha256_of(file)? != digest {
        return Err(IndexProblem::Changed { file: file.to_owned() });
    }
    let signer = match verified.signature {
        Signature::Unsigned => None,
        Signature::Trusted(key_id) | Signature::UnknownKey(key_id) => Some(key_id.to_string()),
    };
    let plugin = verified.manifest.plugin;
    Ok(IndexEntry {
        api: format!("{WORLD_NAME}@{}", plugin.api.major),
        id: plugin.id,
        version: plugin.version,
        digest,
        signer,
        file: file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
    })
}

/// The sha256 of a file's bytes, in lowercase hex.
fn sha256_of(file: &Path) -> Result<String, IndexProblem> {
    let unreadable = |source| IndexProblem::Unreadable {
        file: file.to_owned(),
        source,
    };
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(file).map_err(unreadable)?, &mut hasher).map_err(unreadable)?;
    Ok(hex::encode(hasher.finalize()))
}
