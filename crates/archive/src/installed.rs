//! Checking an unpacked plugin folder again, every time the plugin is about to
//! load: [`unpack`](crate::unpack) keeps `plugboard/digests` in the folder, and
//! [`check_installed`] hashes every file it lists and refuses a folder where a file
//! changed, went missing or was added since.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::DIGESTS_ENTRY;
use crate::digests::{DigestList, MAX_DIGESTS_BYTES, Sha256Digest};

/// The folder inside an installed plugin that holds the plugins it bundles.
const BUNDLED_FOLDER: &str = "deps";

/// The folder of the archive's own files (digests, signature), which the digests do
/// not cover.
const RESERVED_FOLDER: &str = "plugboard";

/// What [`check_installed`] found in a folder that holds what it was unpacked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    /// Every file listed was hashed and matched, and no other file is there.
    Intact {
        /// Files checked.
        files: usize,
        /// Bytes hashed.
        bytes: u64,
    },
    /// The folder has no `plugboard/digests`: it was not unpacked from an archive
    /// (a developer's folder, or one an application ships as is), so there is
    /// nothing to check it against.
    NotFromArchive,
}

/// A plugin folder that no longer holds what was unpacked into it. Each message
/// names the file.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// The digests file, or a file it lists, cannot be read.
    #[error("{}: cannot read it to check the installed plugin: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The digests file is not in its exact form.
    #[error("{}: not a valid digests file ({message}); reinstall the plugin", path.display())]
    BadDigests {
        /// The digests file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
    /// A file's content differs from what was installed.
    #[error(
        "{}: this file changed after the plugin was installed (sha256 {found}, installed {expected}); the plugin \
         is not loaded: reinstall it",
        path.display()
    )]
    Changed {
        /// The file.
        path: PathBuf,
        /// The digest it was installed with.
        expected: Sha256Digest,
        /// The digest it has now.
        found: Sha256Digest,
    },
    /// A file that was installed is gone.
    #[error("{}: this file of the installed plugin is missing; the plugin is not loaded: reinstall it", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A file (or link, or anything but a regular file) is there that was not
    /// installed with the plugin.
    #[error(
        "{}: this was not installed with the plugin; the plugin is not loaded: remove it or reinstall the plugin",
        path.display()
    )]
    Added {
        /// The file.
        path: PathBuf,
    },
}

/// Checks the folder an archive was unpacked into, `root`, against its
/// `plugboard/digests`:
///
/// - with `under` `None`, the plugin itself: every file listed outside `deps/`;
/// - with `under` `Some("deps/<id>")`, only the plugin it bundles there.
///
/// Every listed file in that part is read and hashed (the cost is one sha256 pass
/// over the plugin's files, in the order of 50 to 100 ms for an 18 MB component),
/// and every file found there must be listed: a changed, missing or added
/// file, or anything but a regular file, is an error naming it. A folder without
/// `plugboard/digests` is [`Integrity::NotFromArchive`].
pub fn check_installed(root: &Path, under: Option<&str>) -> Result<Integrity, IntegrityError> {
    let digests_path = root.join(DIGESTS_ENTRY);
    let mut text = Vec::new();
    match File::open(&digests_path) {
        Ok(file) => file
            .take(MAX_DIGESTS_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(unreadable(&digests_path))?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Integrity::NotFromArchive),
        Err(error) => return Err(unreadable(&digests_path)(error)),
    };
    if text.len() as u64 > MAX_DIGESTS_BYTES {
        return Err(IntegrityError::BadDigests {
            path: digests_path,
            message: format!("it is larger than {MAX_DIGESTS_BYTES} bytes"),
        });
    }
    let list = DigestList::parse(&text).map_err(|message| IntegrityError::BadDigests {
        path: digests_path.clone(),
        message,
    })?;
    let prefix = under.map(|under| format!("{}/", under.trim_end_matches('/')));
    let in_part = |path: &str| match &prefix {
        Some(prefix) => path.starts_with(prefix.as_str()),
        None => !path.starts_with(&format!("{BUNDLED_FOLDER}/")),
    };
    let listed: BTreeMap<&str, &Sha256Digest> = list
        .files
        .iter()
        .filter(|(path, _)| in_part(path))
        .map(|(path, digest)| (path.as_str(), digest))
        .collect();

    let mut found = Vec::new();
    let start = match &prefix {
        Some(prefix) => root.join(prefix.trim_end_matches('/')),
        None => root.to_owned(),
    };
    walk(root, &start, prefix.is_none(), &mut found)?;
    for (relative, path) in &found {
        if !listed.contains_key(relative.as_str()) {
            return Err(IntegrityError::Added { path: path.clone() });
        }
    }
    let mut bytes = 0;
    for (relative, expected) in &listed {
        let path = root.join(relative);
        let (digest, size) = match hash_file(&path) {
            Ok(hashed) => hashed,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(IntegrityError::Missing { path }),
            Err(error) => return Err(unreadable(&path)(error)),
        };
        if digest != **expected {
            return Err(IntegrityError::Changed {
                path,
                expected: **expected,
                found: digest,
            });
        }
        bytes += size;
    }
    Ok(Integrity::Intact {
        files: listed.len(),
        bytes,
    })
}

/// Every entry under `dir`, as its `/`-separated path relative to `root` and its
/// full path; at the top (`top`), `plugboard/` and `deps/` are left out (the
/// bundled plugins are checked when they load). A missing `dir` holds nothing.
fn walk(root: &Path, dir: &Path, top: bool, found: &mut Vec<(String, PathBuf)>) -> Result<(), IntegrityError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(unreadable(dir)(error)),
    };
    for entry in entries {
        let entry = entry.map_err(unreadable(dir))?;
        let path = entry.path();
        let is_top = top && dir == root;
        if is_top && (entry.file_name() == RESERVED_FOLDER || entry.file_name() == BUNDLED_FOLDER) {
            continue;
        }
        let kind = entry.file_type().map_err(unreadable(&path))?;
        if kind.is_dir() {
            walk(root, &path, top, found)?;
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let relative: Option<Vec<&str>> = relative.iter().map(|part| part.to_str()).collect();
        match relative {
            // Only regular files were unpacked: a link is never listed.
            Some(parts) if kind.is_file() => found.push((parts.join("/"), path)),
            _ => return Err(IntegrityError::Added { path }),
        }
    }
    Ok(())
}

/// The sha256 and size of a regular file; a link is not followed.
fn hash_file(path: &Path) -> io::Result<(Sha256Digest, u64)> {
    if !std::fs::symlink_metadata(path)?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a regular file"));
    }
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((Sha256Digest::from(hasher), size))
}

fn unreadable(path: &Path) -> impl Fn(io::Error) -> IntegrityError + '_ {
    move |source| IntegrityError::Unreadable {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder as `unpack` leaves it: the files and their digests.
    fn installed(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut list = DigestList::default();
        for (path, bytes) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, bytes).unwrap();
            list.files.insert(path.to_string(), Sha256Digest::of(bytes));
        }
        std::fs::create_dir_all(dir.path().join(RESERVED_FOLDER)).unwrap();
        std::fs::write(dir.path().join(DIGESTS_ENTRY), list.render()).unwrap();
        dir
    }

    const FILES: &[(&str, &[u8])] = &[
        ("plugin.toml", b"[plugin]\n"),
        ("p.wasm", b"\0asm code"),
        ("resources/words.txt", b"urgent\n"),
        ("deps/pack/plugin.toml", b"[plugin]\nid = \"pack\"\n"),
    ];

    #[test]
    fn an_untouched_folder_is_intact_and_a_developer_s_folder_has_nothing_to_check() {
        let dir = installed(FILES);
        assert_eq!(
            check_installed(dir.path(), None).unwrap(),
            Integrity::Intact { files: 3, bytes: 25 }
        );
        assert_eq!(
            check_installed(dir.path(), Some("deps/pack")).unwrap(),
            Integrity::Intact { files: 1, bytes: 21 }
        );
        let plain = tempfile::tempdir().unwrap();
        std::fs::write(plain.path().join("plugin.toml"), "x").unwrap();
        assert_eq!(check_installed(plain.path(), None).unwrap(), Integrity::NotFromArchive);
    }

    #[test]
    fn a_changed_missing_or_added_file_is_refused_naming_it() {
        let dir = installed(FILES);
        std::fs::write(dir.path().join("p.wasm"), b"\0asm evil").unwrap();
        let error = check_installed(dir.path(), None).unwrap_err();
        assert!(matches!(error, IntegrityError::Changed { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("p.wasm: this file changed after the plugin was installed"),
            "{error}"
        );

        let dir = installed(FILES);
        std::fs::remove_file(dir.path().join("resources/words.txt")).unwrap();
        let error = check_installed(dir.path(), None).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("words.txt: this file of the installed plugin is missing"),
            "{error}"
        );

        let dir = installed(FILES);
        std::fs::write(dir.path().join("resources/extra.txt"), b"new").unwrap();
        let error = check_installed(dir.path(), None).unwrap_err();
        assert!(
            error.to_string().contains("extra.txt: this was not installed"),
            "{error}"
        );

        // A plugin dropped into deps/ later is not part of what was installed.
        let dir = installed(FILES);
        std::fs::create_dir_all(dir.path().join("deps/evil")).unwrap();
        std::fs::write(dir.path().join("deps/evil/plugin.toml"), b"[plugin]\n").unwrap();
        assert!(check_installed(dir.path(), None).is_ok(), "the plugin itself is intact");
        let error = check_installed(dir.path(), Some("deps/evil")).unwrap_err();
        assert!(matches!(error, IntegrityError::Added { .. }), "{error:?}");

        let dir = installed(FILES);
        std::fs::write(dir.path().join("deps/pack/plugin.toml"), b"[plugin]\nid = \"other\"\n").unwrap();
        assert!(check_installed(dir.path(), Some("deps/pack")).is_err());

        let dir = installed(FILES);
        std::fs::write(dir.path().join(DIGESTS_ENTRY), b"garbage\n").unwrap();
        let error = check_installed(dir.path(), None).unwrap_err();
        assert!(matches!(error, IntegrityError::BadDigests { .. }), "{error:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_place_of_a_file_is_refused_even_to_the_same_bytes() {
        let dir = installed(FILES);
        let elsewhere = tempfile::tempdir().unwrap();
        let target = elsewhere.path().join("p.wasm");
        std::fs::write(&target, b"\0asm code").unwrap();
        std::fs::remove_file(dir.path().join("p.wasm")).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("p.wasm")).unwrap();
        let error = check_installed(dir.path(), None).unwrap_err();
        assert!(matches!(error, IntegrityError::Added { .. }), "{error:?}");
    }
}
