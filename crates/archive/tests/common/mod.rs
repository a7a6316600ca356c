//! Builders for the tests: a plugin folder like an author's, and hand-made archives,
//! hostile ones included, written with the zip crate directly.

#![allow(dead_code)] // each test file uses its own part of these helpers

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use plugboard_archive::{ArchiveError, TrustedKeys, UnpackLimits, unpack};

pub const MANIFEST: &str = r#"[plugin]
id = "auto-tag"
name = "Auto tag"
version = "1.2.0"
api = "task-events@2"
component = "plugin.wasm"
"#;

pub const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0 not a real component, but bytes are bytes";

/// Writes a plugin folder as an author has it: the files to pack, and others to leave out.
pub fn plugin_folder(root: &Path) -> PathBuf {
    let dir = root.join("auto-tag");
    write(&dir.join("plugin.toml"), MANIFEST.as_bytes());
    write(&dir.join("plugin.wasm"), COMPONENT);
    write(&dir.join("resources/a.txt"), b"resource a\n");
    write(&dir.join("resources/icons/b.svg"), b"<svg/>");
    write(&dir.join("locales/en.json"), br#"{"hello": "Hello"}"#);
    write(&dir.join("locales/README.md"), b"not packed: not json");
    write(&dir.join("src/lib.rs"), b"// not packed");
    write(&dir.join("target/debug/junk"), b"not packed");
    write(&dir.join("Cargo.toml"), b"[package]");
    dir
}

pub fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().expect("a file in a folder")).expect("create folder");
    fs::write(path, bytes).expect("write file");
}

/// Every file under `dir`, by `/`-separated path, with its bytes.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((name, fs::read(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// One entry of a hand-made archive.
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
    pub options: SimpleFileOptions,
    pub kind: Kind,
}

pub enum Kind {
    File,
    Symlink,
    Directory,
}

/// A hand-made archive: entries in order, and a digests file written for the
/// non-`plugboard/` ones unless told otherwise.
pub struct Crafted {
    pub entries: Vec<Entry>,
    pub digests: Digests,
}

pub enum Digests {
    /// The correct digests of every non-`plugboard/` entry.
    Computed,
    /// The correct digests of these paths' contents, present or not.
    Listing(Vec<(String, Vec<u8>)>),
    /// This exact text.
    Text(String),
    /// No digests entry.
    Absent,
}

pub fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

impl Crafted {
    /// A valid plugin: manifest, component, a resource.
    pub fn plugin() -> Self {
        Self::empty()
            .file("plugin.toml", MANIFEST.as_bytes())
            .file("plugin.wasm", COMPONENT)
            .file("resources/a.txt", b"resource a\n")
    }

    pub fn empty() -> Self {
        Self {
            entries: Vec::new(),
            digests: Digests::Computed,
        }
    }

    pub fn file(self, name: &str, bytes: &[u8]) -> Self {
        self.entry(name, bytes, options(), Kind::File)
    }

    pub fn entry(mut self, name: &str, bytes: &[u8], options: SimpleFileOptions, kind: Kind) -> Self {
        self.entries.push(Entry {
            name: name.to_owned(),
            bytes: bytes.to_vec(),
            options,
            kind,
        });
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.entries.retain(|entry| entry.name != name);
        self
    }

    pub fn digests(mut self, digests: Digests) -> Self {
        self.digests = digests;
        self
    }

    pub fn digests_text(&self) -> Option<String> {
        let mut listed: Vec<(String, Vec<u8>)> = match &self.digests {
            Digests::Absent => return None,
            Digests::Text(text) => return Some(text.clone()),
            Digests::Listing(listed) => listed.clone(),
            Digests::Computed => self
                .entries
                .iter()
                .filter(|entry| !entry.name.starts_with("plugboard/") && matches!(entry.kind, Kind::File))
                .map(|entry| (entry.name.clone(), entry.bytes.clone()))
                .collect(),
        };
        listed.sort();
        Some(
            listed
                .iter()
                .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
                .collect(),
        )
    }

    pub fn write(&self, path: &Path) {
        fs::create_dir_all(path.parent().expect("in a folder")).expect("create folder");
        let mut writer = ZipWriter::new(fs::File::create(path).expect("create archive"));
        for entry in &self.entries {
            match entry.kind {
                Kind::File => {
                    writer
                        .start_file(entry.name.as_str(), entry.options)
                        .expect("start entry");
                    writer.write_all(&entry.bytes).expect("write entry");
                }
                Kind::Symlink => writer
                    .add_symlink(
                        entry.name.as_str(),
                        String::from_utf8_lossy(&entry.bytes),
                        entry.options,
                    )
                    .expect("add symlink"),
                Kind::Directory => writer
                    .add_directory(entry.name.as_str(), entry.options)
                    .expect("add dir"),
            }
        }
        if let Some(text) = self.digests_text() {
            writer
                .start_file("plugboard/digests", options())
                .expect("start digests");
            writer.write_all(text.as_bytes()).expect("write digests");
        }
        writer.finish().expect("finish archive");
    }
}

/// Rewrites `archive` entry by entry: `change` gets each name and content and returns
/// the new content, or `None` to drop the entry.
pub fn rewrite(archive: &Path, mut change: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let mut zip = ZipArchive::new(fs::File::open(archive).expect("open")).expect("read archive");
    let mut entries = Vec::new();
    for index in 0..zip.len() {
        let mut file = zip.by_index(index).expect("entry");
        let name = file.name().expect("name").into_owned();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("read entry");
        entries.push((name, bytes));
    }
    let mut writer = ZipWriter::new(fs::File::create(archive).expect("recreate"));
    for (name, bytes) in entries {
        if let Some(bytes) = change(&name, bytes) {
            writer.start_file(name.as_str(), options()).expect("start");
            writer.write_all(&bytes).expect("write");
        }
    }
    writer.finish().expect("finish");
}

/// Replaces every occurrence of `from` in the file with `to`, which has the same length.
pub fn patch_bytes(path: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut bytes = fs::read(path).expect("read");
    let mut found = false;
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(from.len()).position(|window| window == from) {
        bytes[at + offset..at + offset + to.len()].copy_from_slice(to);
        at += offset + to.len();
        found = true;
    }
    assert!(found, "{:?} not in the archive", String::from_utf8_lossy(from));
    fs::write(path, bytes).expect("write");
}

/// A scratch space: the archive under `archives/`, and an empty `install/` folder to
/// unpack into, so that anything left behind by a refused unpack shows.
pub struct Scratch {
    pub root: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        fs::create_dir(root.path().join("install")).expect("install folder");
        Self { root }
    }

    pub fn archive(&self) -> PathBuf {
        self.root.path().join("archives/hostile.plugin")
    }

    pub fn dest(&self) -> PathBuf {
        self.root.path().join("install/auto-tag")
    }

    /// Unpacks the archive with `limits`, expects a refusal, checks that nothing was
    /// written, and returns the error and its message.
    pub fn refused_with(&self, limits: &UnpackLimits) -> (ArchiveError, String) {
        let result = unpack(&self.archive(), &self.dest(), &TrustedKeys::none(), limits);
        let error = result.expect_err("the archive must be refused");
        let message = error.to_string();
        assert!(
            message.contains(&self.archive().display().to_string()),
            "the message names the archive: {message}"
        );
        let left: Vec<_> = fs::read_dir(self.root.path().join("install"))
            .expect("list install folder")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert!(
            left.is_empty(),
            "nothing is left beside the destination, found {left:?} ({message})"
        );
        (error, message)
    }

    pub fn refused(&self) -> (ArchiveError, String) {
        self.refused_with(&UnpackLimits::default())
    }
}
