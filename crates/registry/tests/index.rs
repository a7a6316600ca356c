//! A catalogue folder of real archives, packed from temporary plugin folders.

mod common;

use std::path::{Path, PathBuf};

use common::{write_plugin, write_plugin_with_code};
use plugboard_archive::{KeyPair, pack, sign};
use plugboard_registry::{INDEX_FILE_NAME, Index, IndexError, IndexProblem, index, write_index};
use sha2::{Digest, Sha256};

fn sha256_hex(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read the archive")))
}

fn requirement(text: &str) -> semver::VersionReq {
    semver::VersionReq::parse(text).expect("valid requirement")
}

/// A catalogue folder with three good archives (one signed) and some clutter.
struct Catalogue {
    _work: tempfile::TempDir,
    dir: PathBuf,
    key: KeyPair,
}

impl Catalogue {
    fn new() -> Self {
        let work = tempfile::tempdir().expect("a temporary folder");
        let sources = work.path().join("sources");
        let dir = work.path().join("catalogue");
        std::fs::create_dir_all(&dir).expect("create the catalogue");
        let key = KeyPair::generate().expect("a key");

        let old = write_plugin_with_code(&sources.join("1.2.0"), "auto-tag", "1.2.0", "");
        pack(&old, &dir).expect("pack");
        let new = write_plugin_with_code(&sources.join("1.10.0"), "auto-tag", "1.10.0", "");
        let signed = pack(&new, &dir).expect("pack");
        sign(&signed, &key).expect("sign");
        let data = write_plugin(&sources, "keywords", "keyword-pack", "0.3.0", "");
        pack(&data, &dir).expect("pack");

        // Not archives: ignored.
        std::fs::write(dir.join("README.md"), "my plugins").expect("write");
        std::fs::create_dir(dir.join("old.plugin")).expect("a folder named like an archive");
        Self { _work: work, dir, key }
    }
}

#[test]
fn every_archive_is_indexed_with_its_digest_world_and_signer() {
    let catalogue = Catalogue::new();
    let report = index(&catalogue.dir).expect("index");
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let rows: Vec<_> = report
        .index
        .plugins
        .iter()
        .map(|entry| {
            (
                entry.id.as_str(),
                entry.version.to_string(),
                entry.api.as_str(),
                entry.file.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("auto-tag", "1.2.0".to_owned(), "task-events@2", "auto-tag-1.2.0.plugin"),
            (
                "auto-tag",
                "1.10.0".to_owned(),
                "task-events@2",
                "auto-tag-1.10.0.plugin"
            ),
            (
                "keyword-pack",
                "0.3.0".to_owned(),
                "task-events@2",
                "keyword-pack-0.3.0.plugin"
            ),
        ],
        "sorted by id, then by version (not by file name)"
    );
    for entry in &report.index.plugins {
        assert_eq!(
            entry.digest,
            sha256_hex(&catalogue.dir.join(&entry.file)),
            "{}",
            entry.file
        );
    }
    let signers: Vec<_> = report.index.plugins.iter().map(|entry| entry.signer.clone()).collect();
    assert_eq!(signers, [None, Some(catalogue.key.key_id().to_string()), None]);
}

#[test]
fn resolve_picks_the_highest_matching_version() {
    let catalogue = Catalogue::new();
    let index = index(&catalogue.dir).expect("index").index;
    let version = |id: &str, req: &str| {
        index
            .resolve(id, &requirement(req))
            .map(|entry| entry.version.to_string())
    };
    assert_eq!(version("auto-tag", "^1").as_deref(), Some("1.10.0"));
    assert_eq!(version("auto-tag", "~1.2").as_deref(), Some("1.2.0"));
    assert_eq!(version("auto-tag", ">=2"), None);
    assert_eq!(version("keyword-pack", "*").as_deref(), Some("0.3.0"));
    assert_eq!(version("unknown", "*"), None);
}

#[test]
fn a_bad_archive_is_reported_and_the_others_still_indexed() {
    let catalogue = Catalogue::new();
    let garbage = catalogue.dir.join("broken-1.0.0.plugin");
    std::fs::write(&garbage, b"PK\x03\x04 not really a zip").expect("write");
    let copy = catalogue.dir.join("zz-copy.plugin");
    std::fs::copy(catalogue.dir.join("keyword-pack-0.3.0.plugin"), &copy).expect("copy");

    let report = index(&catalogue.dir).expect("index");
    assert_eq!(report.index.plugins.len(), 3);
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);

    assert!(matches!(report.problems[0], IndexProblem::Invalid { .. }));
    assert_eq!(report.problems[0].file(), garbage);
    let message = report.problems[0].to_string();
    assert!(message.starts_with("left out of the index: "), "{message}");
    assert!(message.contains(&garbage.display().to_string()), "{message}");

    assert_eq!(report.problems[1].file(), copy);
    assert_eq!(
        report.problems[1].to_string(),
        format!(
            "{}: left out of the index: keyword-pack 0.3.0 is also in keyword-pack-0.3.0.plugin, which is kept (the first by file name); remove one",
            copy.display()
        )
    );
}

#[test]
fn write_index_writes_index_json_that_reads_back() {
    let catalogue = Catalogue::new();
    let report = write_index(&catalogue.dir).expect("write the index");
    let written = std::fs::read_to_string(catalogue.dir.join(INDEX_FILE_NAME)).expect("index.json");
    assert_eq!(written, report.index.to_json());
    assert_eq!(Index::read(&catalogue.dir).expect("read back"), report.index);

    let json: serde_json::Value = serde_json::from_str(&written).expect("JSON");
    let first = &json["plugins"][0];
    assert_eq!(first["id"], "auto-tag");
    assert_eq!(first["version"], "1.2.0");
    assert_eq!(first["api"], "task-events@2");
    assert_eq!(first["file"], "auto-tag-1.2.0.plugin");
    assert_eq!(first["signer"], serde_json::Value::Null);
    assert_eq!(first["digest"].as_str().map(str::len), Some(64));

    // Indexing again gives the same file, and leaves nothing else behind.
    write_index(&catalogue.dir).expect("write again");
    assert_eq!(
        std::fs::read_to_string(catalogue.dir.join(INDEX_FILE_NAME)).expect("index.json"),
        written
    );
    let hidden: Vec<_> = std::fs::read_dir(&catalogue.dir)
        .expect("list")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_bad_index_file_or_folder_says_what_to_do() {
    let work = tempfile::tempdir().expect("a temporary folder");
    assert!(matches!(
        index(&work.path().join("missing")),
        Err(IndexError::ListDir { .. })
    ));
    assert!(matches!(Index::read(work.path()), Err(IndexError::Read { .. })));
    std::fs::write(work.path().join(INDEX_FILE_NAME), r#"{"plugins": [{"id": "Bad Id"}]}"#).expect("write");
    let error = Index::read(work.path()).expect_err("malformed");
    assert!(matches!(error, IndexError::Malformed { .. }));
    let message = error.to_string();
    assert!(message.contains("plugin id \"Bad Id\" contains 'B'"), "{message}");
    assert!(message.contains("rebuild it by indexing the folder again"), "{message}");
}

#[test]
fn an_index_naming_a_file_outside_the_folder_or_a_bad_digest_is_refused() {
    let catalogue = Catalogue::new();
    write_index(&catalogue.dir).expect("write");
    let path = catalogue.dir.join(INDEX_FILE_NAME);
    let good: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (field, value, expected) in [
        (
            "file",
            "../outside.plugin",
            "is not the plain name of a .plugin archive",
        ),
        ("file", "/etc/passwd", "is not the plain name"),
        ("file", "sub/auto-tag-1.2.0.plugin", "is not the plain name"),
        ("file", "..", "is not the plain name"),
        ("file", "auto-tag-1.2.0.wasm", "is not the plain name"),
        ("digest", "not-a-digest", "is not 64 lowercase hex digits"),
    ] {
        let mut index = good.clone();
        index["plugins"][0][field] = serde_json::json!(value);
        std::fs::write(&path, index.to_string()).unwrap();
        let error = Index::read(&catalogue.dir).expect_err(value);
        assert!(matches!(error, IndexError::BadEntry { position: 1, .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains("entry 1 (auto-tag)") && message.contains(expected),
            "{message}"
        );
    }
}

#[test]
fn an_archive_whose_bytes_are_not_the_listed_ones_is_refused_before_use() {
    let catalogue = Catalogue::new();
    let index = write_index(&catalogue.dir).expect("write").index;
    let entry = index
        .resolve("keyword-pack", &requirement("*"))
        .expect("listed")
        .clone();
    assert_eq!(
        entry.archive_in(&catalogue.dir).expect("the listed bytes"),
        catalogue.dir.join(&entry.file)
    );
    // Replaced after indexing by another archive that verifies just as well.
    std::fs::copy(
        catalogue.dir.join("auto-tag-1.2.0.plugin"),
        catalogue.dir.join(&entry.file),
    )
    .expect("replace");
    let error = entry.archive_in(&catalogue.dir).expect_err("other bytes");
    assert!(matches!(error, IndexError::DigestMismatch { .. }), "{error:?}");
    assert!(
        error.to_string().contains("keyword-pack-0.3.0.plugin: its sha256 is"),
        "{error}"
    );
}
