//! Reading an archive without trusting it. Every name, kind and count is checked from
//! the central directory before any file is decompressed; the digests list and the
//! signature are checked next; only then is each file decompressed, counted against
//! the limits as it comes, and hashed. A destination sees a file's bytes as they are
//! checked, so [`crate::unpack`] writes them into a staging folder it throws away on
//! any error.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use plugboard_manifest::{MANIFEST_FILE_NAME, MAX_MANIFEST_BYTES, Manifest, ManifestError, PluginId};
use sha2::{Digest, Sha256};

use crate::central_directory::{Zip, read_central_directory};
use crate::digests::{DigestList, MAX_DIGESTS_BYTES};
use crate::error::{ArchiveError, corrupt};
use crate::keys::TrustedKeys;
use crate::limits::{Budget, Exceeded, UnpackLimits};
use crate::signature::{MAX_SIGNATURE_BYTES, Signature, check_signature};
use crate::{DIGESTS_ENTRY, SIGNATURE_ENTRY, Sha256Digest};

/// A plugin archive whose every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The archive's `plugin.toml`, parsed and validated.
    pub manifest: Manifest,
    /// Who signed the archive, as far as the trusted keys tell.
    pub signature: Signature,
    /// Every file the digests cover (all but `plugboard/`), sorted by path.
    pub files: Vec<VerifiedFile>,
}

impl Verified {
    /// The plugin's id, from its manifest.
    pub fn id(&self) -> &PluginId {
        &self.manifest.plugin.id
    }

    /// The plugin's version, from its manifest.
    pub fn version(&self) -> &semver::Version {
        &self.manifest.plugin.version
    }
}

/// One file of a verified archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFile {
    /// Its path inside the plugin folder, with `/` separators.
    pub path: String,
    /// Its size in bytes, as decompressed (not as declared).
    pub size: u64,
    /// Its sha256, which matched the digests list.
    pub digest: Sha256Digest,
}

/// Checks everything about `archive` without writing anything: its entries, its
/// digests, its signature against `trusted`, and its manifest. A signed archive whose
/// key is not trusted still verifies, with [`Signature::UnknownKey`]; one whose
/// signature fails against the trusted key it names is refused.
pub fn verify(archive: &Path, trusted: &TrustedKeys, limits: &UnpackLimits) -> Result<Verified, ArchiveError> {
    CheckedArchive::open(archive, trusted, limits)?.check_contents(&mut Discard)
}

/// Where checked files go, one chunk at a time.
pub(crate) trait Destination {
    /// A file being written.
    type File;
    /// Starts the file for `entry`, a name that passed every check.
    fn create(&mut self, entry: &str) -> Result<Self::File, ArchiveError>;
    /// Appends `bytes`, already counted against the limits.
    fn write(&mut self, file: &mut Self::File, bytes: &[u8]) -> Result<(), ArchiveError>;
    /// Ends the file once all of its bytes have been written.
    fn finish(&mut self, file: Self::File) -> Result<(), ArchiveError>;
}

/// A destination that keeps nothing, to verify only.
pub(crate) struct Discard;

impl Destination for Discard {
    type File = ();

    fn create(&mut self, _entry: &str) -> Result<(), ArchiveError> {
        Ok(())
    }

    fn write(&mut self, _file: &mut (), _bytes: &[u8]) -> Result<(), ArchiveError> {
        Ok(())
    }

    fn finish(&mut self, _file: ()) -> Result<(), ArchiveError> {
        Ok(())
    }
}

/// An archive whose names, kinds, digests list and signature passed; its files' content
/// is checked by [`CheckedArchive::check_contents`].
pub(crate) struct CheckedArchive {
    path: PathBuf,
    pub(crate) zip: Zip,
    budget: Budget,
    /// Every entry but `plugboard/` ones, by name, with its index in the zip.
    content: BTreeMap<String, usize>,
    digests_bytes: Vec<u8>,
    digests: DigestList,
    signature_bytes: Option<Vec<u8>>,
    signature: Signature,
}

impl CheckedArchive {
    /// Opens `path` and runs every check that needs no file content: entry count,
    /// names, kinds, declared sizes, the digests list against the entries, and the
    /// signature.
    pub(crate) fn open(path: &Path, trusted: &TrustedKeys, limits: &UnpackLimits) -> Result<Self, ArchiveError> {
        let (mut zip, mut content) = read_central_directory(path, limits)?;
        let digests_index = content.remove(DIGESTS_ENTRY);
        let signature_index = content.remove(SIGNATURE_ENTRY);
        if !content.contains_key(MANIFEST_FILE_NAME) {
            return Err(ArchiveError::MissingManifest {
                archive: path.to_owned(),
            });
        }
        let Some(digests_index) = digests_index else {
            return Err(ArchiveError::MissingDigests {
                archive: path.to_owned(),
            });
        };

        let mut budget = Budget::new(limits);
        let malformed_digests = |problem: String| ArchiveError::MalformedDigests {
            archive: path.to_owned(),
            problem,
        };
        let (digests_bytes, ..) = read_small(
            &mut zip,
            path,
            &mut budget,
            DIGESTS_ENTRY,
            digests_index,
            MAX_DIGESTS_BYTES,
            |limit| malformed_digests(format!("it is larger than {limit} bytes")),
        )?;
        let digests = DigestList::parse(&digests_bytes).map_err(malformed_digests)?;

        let (signature_bytes, signature) = match signature_index {
            None => (None, Signature::Unsigned),
            Some(index) => {
                let (bytes, ..) = read_small(
                    &mut zip,
                    path,
                    &mut budget,
                    SIGNATURE_ENTRY,
                    index,
                    MAX_SIGNATURE_BYTES,
                    |limit| ArchiveError::MalformedSignature {
                        archive: path.to_owned(),
                        problem: format!("it is larger than {limit} bytes"),
                    },
                )?;
                let signature = check_signature(path, &bytes, &digests_bytes, trusted)?;
                (Some(bytes), signature)
            }
        };

        if let Some(entry) = content.keys().find(|name| !digests.files.contains_key(*name)) {
            return Err(ArchiveError::UnlistedEntry {
                archive: path.to_owned(),
                entry: entry.clone(),
            });
        }
        if let Some(entry) = digests.files.keys().find(|name| !content.contains_key(*name)) {
            return Err(ArchiveError::MissingEntry {
                archive: path.to_owned(),
                entry: entry.clone(),
            });
        }

        Ok(Self {
            path: path.to_owned(),
            zip,
            budget,
            content,
            digests_bytes,
            digests,
            signature_bytes,
            signature,
        })
    }

    /// The exact bytes of `plugboard/digests`, which a signature covers.
    pub(crate) fn digests_bytes(&self) -> &[u8] {
        &self.digests_bytes
    }

    /// Decompresses and hashes every file, `plugin.toml` first, handing each to `dest`
    /// as it is checked, then hands over the digests and signature unchanged.
    pub(crate) fn check_contents<D: Destination>(&mut self, dest: &mut D) -> Result<Verified, ArchiveError> {
        let archive = self.path.clone();
        // `open` refused an archive without plugin.toml.
        let manifest_index = self.content[MANIFEST_FILE_NAME];
        let manifest_origin = Path::new(MANIFEST_FILE_NAME);
        let invalid_manifest = |source| ArchiveError::InvalidManifest {
            archive: archive.clone(),
            source: Box::new(source),
        };
        let (manifest_bytes, size, digest) = read_small(
            &mut self.zip,
            &archive,
            &mut self.budget,
            MANIFEST_FILE_NAME,
            manifest_index,
            MAX_MANIFEST_BYTES,
            |limit| {
                invalid_manifest(ManifestError::TooLarge {
                    path: manifest_origin.to_owned(),
                    limit,
                })
            },
        )?;
        // Only text that matches its digest is parsed.
        self.check_digest(MANIFEST_FILE_NAME, digest)?;
        let text = String::from_utf8(manifest_bytes).map_err(|_| {
            invalid_manifest(ManifestError::Read {
                path: manifest_origin.to_owned(),
                source: io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"),
            })
        })?;
        let manifest = Manifest::parse(&text, manifest_origin).map_err(invalid_manifest)?;
        if let Some(component) = &manifest.plugin.component {
            if crate::pack::is_text(component) {
                return Err(ArchiveError::TextComponent {
                    archive,
                    component: entry_path(component),
                });
            }
            let component = entry_path(component);
            if !self.content.contains_key(&component) {
                return Err(ArchiveError::MissingComponent { archive, component });
            }
        }

        write_whole(dest, MANIFEST_FILE_NAME, text.as_bytes())?;
        let mut files = vec![VerifiedFile {
            path: MANIFEST_FILE_NAME.to_owned(),
            size,
            digest,
        }];
        let others: Vec<(String, usize)> = self
            .content
            .iter()
            .filter(|(name, _)| *name != MANIFEST_FILE_NAME)
            .map(|(name, index)| (name.clone(), *index))
            .collect();
        for (name, index) in others {
            let mut file = dest.create(&name)?;
            let (size, digest) = stream_entry(&mut self.zip, &archive, &mut self.budget, &name, index, |chunk| {
                dest.write(&mut file, chunk)
            })?;
            self.check_digest(&name, digest)?;
            dest.finish(file)?;
            files.push(VerifiedFile {
                path: name,
                size,
                digest,
            });
        }
        write_whole(dest, DIGESTS_ENTRY, &self.digests_bytes)?;
        if let Some(signature) = &self.signature_bytes {
            write_whole(dest, SIGNATURE_ENTRY, signature)?;
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Verified {
            manifest,
            signature: self.signature,
            files,
        })
    }

    fn check_digest(&self, entry: &str, actual: Sha256Digest) -> Result<(), ArchiveError> {
        // `open` made sure that every content entry is listed.
        let expected = self.digests.files[entry];
        if actual == expected {
            Ok(())
        } else {
            Err(ArchiveError::DigestMismatch {
                archive: self.path.clone(),
                entry: entry.to_owned(),
                expected,
                actual,
            })
        }
    }
}

/// Decompresses entry `index` in chunks, counting every byte against `budget` before
/// handing it to `sink`, and returns its size and digest.
fn stream_entry(
    zip: &mut Zip,
    archive: &Path,
    budget: &mut Budget,
    name: &str,
    index: usize,
    mut sink: impl FnMut(&[u8]) -> Result<(), ArchiveError>,
) -> Result<(u64, Sha256Digest), ArchiveError> {
    let mut file = zip
        .by_index(index)
        .map_err(|error| corrupt(archive, Some(name), error))?;
    let compressed = file.compressed_size();
    let declared = file.size();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(corrupt(archive, Some(name), error)),
        };
        let chunk = &buffer[..read];
        size += read as u64;
        budget.spend(read as u64, size, compressed).map_err(|exceeded| {
            let (archive, entry) = (archive.to_owned(), name.to_owned());
            let limit = exceeded_limit(exceeded, budget);
            match exceeded {
                Exceeded::Entry => ArchiveError::EntryTooLarge { archive, entry, limit },
                Exceeded::Total => ArchiveError::TotalTooLarge { archive, entry, limit },
                Exceeded::Ratio => ArchiveError::CompressionRatio { archive, entry, limit },
            }
        })?;
        hasher.update(chunk);
        sink(chunk)?;
    }
    if size != declared {
        return Err(corrupt(
            archive,
            Some(name),
            format!("its header declares {declared} bytes but it holds {size}"),
        ));
    }
    Ok((size, hasher.into()))
}

fn exceeded_limit(exceeded: Exceeded, budget: &Budget) -> u64 {
    let limits = budget.limits();
    match exceeded {
        Exceeded::Entry => limits.max_entry_bytes,
        Exceeded::Total => limits.max_total_bytes,
        Exceeded::Ratio => limits.max_ratio,
    }
}

/// Reads a whole entry that the format caps at `cap` bytes into memory.
fn read_small(
    zip: &mut Zip,
    archive: &Path,
    budget: &mut Budget,
    name: &str,
    index: usize,
    cap: u64,
    too_large: impl Fn(u64) -> ArchiveError,
) -> Result<(Vec<u8>, u64, Sha256Digest), ArchiveError> {
    let mut bytes = Vec::new();
    let (size, digest) = stream_entry(zip, archive, budget, name, index, |chunk| {
        if (bytes.len() + chunk.len()) as u64 > cap {
            return Err(too_large(cap));
        }
        bytes.extend_from_slice(chunk);
        Ok(())
    })?;
    Ok((bytes, size, digest))
}

fn write_whole<D: Destination>(dest: &mut D, entry: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
    let mut file = dest.create(entry)?;
    dest.write(&mut file, bytes)?;
    dest.finish(file)
}

/// The entry name of a path the manifest validated as relative and normal.
fn entry_path(path: &Path) -> String {
    path.iter()
        .map(|segment| segment.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
