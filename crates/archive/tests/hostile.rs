//! Hostile and broken archives, each built by hand: every one is refused with its own
//! error, the message names the archive and the entry, and nothing is written.

mod common;

use std::fs;
use std::io::Write;
use std::time::Instant;

use common::{Crafted, Digests, Kind, MANIFEST, Scratch, options, patch_bytes, sha256_hex};
use plugboard_archive::{ArchiveError, TrustedKeys, UnpackLimits, UnsafeName, unpack, verify};
use zip::ZipWriter;

const MIB: u64 = 1024 * 1024;

fn scratch_with(crafted: Crafted) -> Scratch {
    let scratch = Scratch::new();
    crafted.write(&scratch.archive());
    scratch
}

/// Builds the archive, expects it refused, and checks that the message names `entry`.
fn refused_naming(crafted: Crafted, entry: &str) -> ArchiveError {
    let scratch = scratch_with(crafted);
    let (error, message) = scratch.refused();
    assert!(
        message.contains(&format!("{entry:?}")),
        "the message names {entry:?}: {message}"
    );
    error
}

#[test]
fn a_well_formed_crafted_archive_is_accepted() {
    let scratch = scratch_with(Crafted::plugin());
    let unpacked = unpack(
        &scratch.archive(),
        &scratch.dest(),
        &TrustedKeys::none(),
        &UnpackLimits::default(),
    )
    .expect("the builder makes good archives when asked");
    assert_eq!(
        fs::read(unpacked.dir.join("resources/a.txt")).expect("read"),
        b"resource a\n"
    );
}

#[test]
fn entries_that_leave_the_folder_are_refused() {
    for (name, problem) in [
        ("../evil.txt", UnsafeName::EscapesFolder),
        ("resources/../../evil.txt", UnsafeName::EscapesFolder),
        ("/etc/evil", UnsafeName::Absolute),
        ("\\evil.txt", UnsafeName::Absolute),
        ("C:evil.txt", UnsafeName::DriveOrStream),
        ("C:\\evil.txt", UnsafeName::DriveOrStream),
        ("resources\\evil.txt", UnsafeName::Backslash),
        ("resources/evil\0.txt", UnsafeName::ControlCharacter),
        ("resources//evil.txt", UnsafeName::NotNormalized),
        ("resources/\u{e9}vil.txt", UnsafeName::NonPortableCharacter('\u{e9}')),
        ("resources/con.txt", UnsafeName::WindowsReserved),
    ] {
        let error = refused_naming(Crafted::plugin().file(name, b"gotcha"), name);
        assert!(
            matches!(error, ArchiveError::UnsafeEntryName { problem: found, ref entry, .. } if found == problem && entry == name),
            "{name:?}: {error}"
        );
    }
}

#[test]
fn a_symlink_entry_is_refused() {
    let crafted = Crafted::plugin().entry("resources/passwd", b"/etc/passwd", options(), Kind::Symlink);
    let error = refused_naming(crafted, "resources/passwd");
    assert!(matches!(error, ArchiveError::SymlinkEntry { .. }), "{error}");
}

#[test]
fn a_device_or_fifo_entry_is_refused() {
    let fifo = options().external_attributes(0o010_644 << 16);
    let error = refused_naming(
        Crafted::plugin().entry("resources/pipe", b"", fifo, Kind::File),
        "resources/pipe",
    );
    assert!(
        matches!(error, ArchiveError::SpecialEntry { mode: 0o010_644, .. }),
        "{error}"
    );
}

#[test]
fn a_directory_entry_is_refused() {
    let crafted = Crafted::plugin().entry("resources/", b"", options(), Kind::Directory);
    let error = refused_naming(crafted, "resources/");
    assert!(matches!(error, ArchiveError::DirectoryEntry { .. }), "{error}");
}

#[test]
fn a_file_used_as_a_folder_is_refused() {
    let crafted = Crafted::plugin().file("resources/a.txt/inner", b"x");
    let error = refused_naming(crafted, "resources/a.txt/inner");
    assert!(
        matches!(error, ArchiveError::FileAsFolder { ref file, .. } if file == "resources/a.txt"),
        "{error}"
    );
}

#[test]
fn duplicate_names_are_refused() {
    // The zip writer refuses duplicates, so the second name is patched in afterwards.
    let scratch = scratch_with(
        Crafted::plugin()
            .file("resources/b.txt", b"second")
            .digests(Digests::Absent),
    );
    patch_bytes(&scratch.archive(), b"resources/b.txt", b"resources/a.txt");
    let (error, message) = scratch.refused();
    assert!(
        matches!(error, ArchiveError::DuplicateEntry { other: None, .. }),
        "{error}"
    );
    assert!(
        message.contains("\"resources/a.txt\" appears more than once"),
        "{message}"
    );
}

#[test]
fn names_differing_only_in_case_are_refused() {
    let error = refused_naming(Crafted::plugin().file("resources/A.txt", b"other"), "resources/A.txt");
    assert!(
        matches!(error, ArchiveError::DuplicateEntry { other: Some(_), .. }),
        "{error}"
    );
    assert!(error.to_string().contains("letter case"), "{error}");
}

#[test]
fn compiled_code_is_refused() {
    let error = refused_naming(Crafted::plugin().file("plugin.cwasm", b"machine code"), "plugin.cwasm");
    assert!(matches!(error, ArchiveError::CompiledCode { .. }), "{error}");
    assert!(error.to_string().contains("precompiled code"), "{error}");
}

#[test]
fn other_entries_in_the_reserved_folder_are_refused() {
    let error = refused_naming(Crafted::plugin().file("plugboard/run-me", b"x"), "plugboard/run-me");
    assert!(matches!(error, ArchiveError::ReservedEntry { .. }), "{error}");
}

#[test]
fn too_many_entries_are_refused() {
    let scratch = scratch_with(Crafted::plugin().file("resources/b.txt", b"b"));
    let limits = UnpackLimits {
        max_entries: 4,
        ..UnpackLimits::default()
    };
    let (error, message) = scratch.refused_with(&limits);
    assert!(
        matches!(error, ArchiveError::TooManyEntries { count: 5, limit: 4, .. }),
        "{error}"
    );
    assert!(message.contains("5 entries"), "{message}");
}

/// Bytes that do not compress: a xorshift stream.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn an_entry_over_the_size_cap_is_refused() {
    let scratch = scratch_with(Crafted::plugin().file("resources/big.bin", &noise(3 * MIB as usize)));
    let limits = UnpackLimits {
        max_entry_bytes: 2 * MIB,
        ..UnpackLimits::default()
    };
    let (error, message) = scratch.refused_with(&limits);
    assert!(
        matches!(error, ArchiveError::EntryTooLarge { ref entry, limit, .. } if entry == "resources/big.bin" && limit == 2 * MIB),
        "{error}"
    );
    assert!(
        message.contains("\"resources/big.bin\" is larger than the limit of 2 MiB"),
        "{message}"
    );
}

/// Sets the uncompressed size that both headers of the archive's first entry declare.
fn declare_size(archive: &std::path::Path, size: u32) {
    let (local, central) = {
        let mut zip = zip::ZipArchive::new(fs::File::open(archive).expect("open")).expect("zip");
        let entry = zip.by_index(0).expect("first entry");
        (entry.header_start() as usize, entry.central_header_start() as usize)
    };
    let mut bytes = fs::read(archive).expect("read");
    bytes[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
    bytes[central + 24..central + 28].copy_from_slice(&size.to_le_bytes());
    fs::write(archive, bytes).expect("write");
}

#[test]
fn a_declared_size_is_never_trusted() {
    let big = noise(3 * MIB as usize);
    let crafted = Crafted::empty()
        .file("resources/big.bin", &big)
        .file("plugin.toml", MANIFEST.as_bytes())
        .file("plugin.wasm", b"code");
    let scratch = scratch_with(crafted);

    // Declared far smaller than it is: reading stops where the declaration ends.
    declare_size(&scratch.archive(), 10);
    let (error, message) = scratch.refused();
    assert!(
        matches!(error, ArchiveError::Corrupt { entry: Some(ref entry), .. } if entry == "resources/big.bin"),
        "{error}"
    );
    assert!(
        message.contains("declared") && message.contains("download it again"),
        "{message}"
    );

    // Declared larger than it is.
    declare_size(&scratch.archive(), 3 * MIB as u32 + 5);
    let (error, message) = scratch.refused();
    assert!(
        matches!(error, ArchiveError::Corrupt { entry: Some(ref entry), .. } if entry == "resources/big.bin"),
        "{error}"
    );
    assert!(
        message.contains(&format!("declares {} bytes but it holds {}", 3 * MIB + 5, 3 * MIB)),
        "{message}"
    );

    // Declared over the limit: refused before anything is decompressed.
    declare_size(&scratch.archive(), 3 * MIB as u32);
    let limits = UnpackLimits {
        max_entry_bytes: 2 * MIB,
        ..UnpackLimits::default()
    };
    let (error, _) = scratch.refused_with(&limits);
    assert!(
        matches!(error, ArchiveError::EntryTooLarge { ref entry, .. } if entry == "resources/big.bin"),
        "{error}"
    );
}

#[test]
fn entries_over_the_total_cap_are_refused() {
    let crafted = Crafted::plugin()
        .file("resources/one.bin", &noise(MIB as usize))
        .file("resources/two.bin", &noise(MIB as usize + 1));
    let scratch = scratch_with(crafted);
    let limits = UnpackLimits {
        max_total_bytes: 3 * MIB / 2,
        ..UnpackLimits::default()
    };
    let (error, message) = scratch.refused_with(&limits);
    assert!(
        matches!(error, ArchiveError::TotalTooLarge { ref entry, .. } if entry == "resources/two.bin"),
        "{error}"
    );
    assert!(message.contains("add up to more than"), "{message}");
}

#[test]
fn a_zip_bomb_is_stopped_early() {
    // 64 MiB of zeros deflates to about 64 KiB: within the default size caps (an entry
    // declared over them is refused unread), but past the ratio after the first
    // megabyte. It is streamed, never held in memory. Bigger would only slow the test.
    let scratch = Scratch::new();
    let archive = scratch.archive();
    fs::create_dir_all(archive.parent().expect("folder")).expect("folder");
    let mut writer = ZipWriter::new(fs::File::create(&archive).expect("create"));
    let zeros = vec![0u8; MIB as usize];
    writer.start_file("resources/bomb.bin", options()).expect("start");
    for _ in 0..64 {
        writer.write_all(&zeros).expect("zeros");
    }
    for (name, bytes) in [
        ("plugin.toml", MANIFEST.as_bytes()),
        ("plugin.wasm", b"code".as_slice()),
    ] {
        writer.start_file(name, options()).expect("start");
        writer.write_all(bytes).expect("write");
    }
    // The bomb's digest is never reached: reading stops long before its end.
    let digests = format!(
        "{}  plugin.toml\n{}  plugin.wasm\n{}  resources/bomb.bin\n",
        sha256_hex(MANIFEST.as_bytes()),
        sha256_hex(b"code"),
        "0".repeat(64)
    );
    writer.start_file("plugboard/digests", options()).expect("start");
    writer.write_all(digests.as_bytes()).expect("write");
    writer.finish().expect("finish");
    assert!(
        fs::metadata(&archive).expect("stat").len() < MIB / 4,
        "a real bomb: small on disk"
    );

    let started = Instant::now();
    let (error, message) = scratch.refused();
    assert!(
        matches!(error, ArchiveError::CompressionRatio { limit: 200, .. }),
        "{error}"
    );
    assert!(
        message.contains("\"resources/bomb.bin\"") && message.contains("zip bomb"),
        "{message}"
    );
    assert!(
        started.elapsed().as_secs() < 10,
        "stopped early, not after inflating 64 MiB"
    );

    // With the ratio check off, the total is counted as it is decompressed.
    let limits = UnpackLimits {
        max_ratio: u64::MAX,
        max_total_bytes: 8 * MIB,
        ..UnpackLimits::default()
    };
    let (error, _) = scratch.refused_with(&limits);
    assert!(
        matches!(error, ArchiveError::TotalTooLarge { limit, .. } if limit == 8 * MIB),
        "{error}"
    );
}

#[test]
fn a_file_missing_from_the_digests_is_refused() {
    let listed = vec![
        ("plugin.toml".to_owned(), MANIFEST.as_bytes().to_vec()),
        ("plugin.wasm".to_owned(), common::COMPONENT.to_vec()),
    ];
    let error = refused_naming(Crafted::plugin().digests(Digests::Listing(listed)), "resources/a.txt");
    assert!(matches!(error, ArchiveError::UnlistedEntry { .. }), "{error}");
    assert!(error.to_string().contains("added after packing"), "{error}");
}

#[test]
fn a_listed_file_missing_from_the_archive_is_refused() {
    let listed = vec![
        ("plugin.toml".to_owned(), MANIFEST.as_bytes().to_vec()),
        ("plugin.wasm".to_owned(), common::COMPONENT.to_vec()),
        ("resources/a.txt".to_owned(), b"resource a\n".to_vec()),
        ("resources/removed.txt".to_owned(), b"gone".to_vec()),
    ];
    let error = refused_naming(
        Crafted::plugin().digests(Digests::Listing(listed)),
        "resources/removed.txt",
    );
    assert!(matches!(error, ArchiveError::MissingEntry { .. }), "{error}");
}

#[test]
fn a_changed_file_is_refused() {
    let crafted = Crafted::plugin();
    let digests = crafted.digests_text().expect("digests");
    let crafted = crafted
        .without("plugin.wasm")
        .file("plugin.wasm", b"evil code")
        .digests(Digests::Text(digests));
    let error = refused_naming(crafted, "plugin.wasm");
    assert!(
        matches!(error, ArchiveError::DigestMismatch { ref actual, .. } if actual.to_string() == sha256_hex(b"evil code")),
        "{error}"
    );
}

#[test]
fn a_changed_manifest_is_refused_before_it_is_parsed() {
    let crafted = Crafted::plugin();
    let digests = crafted.digests_text().expect("digests");
    let crafted = crafted
        .without("plugin.toml")
        .file("plugin.toml", b"not even toml [")
        .digests(Digests::Text(digests));
    let error = refused_naming(crafted, "plugin.toml");
    assert!(matches!(error, ArchiveError::DigestMismatch { .. }), "{error}");
}

#[test]
fn malformed_or_missing_digests_are_refused() {
    let scratch = scratch_with(Crafted::plugin().digests(Digests::Absent));
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::MissingDigests { .. }), "{error}");
    assert!(message.contains("plugboard/digests"), "{message}");

    let text = Crafted::plugin()
        .digests_text()
        .expect("digests")
        .replace("  plugin.wasm", " plugin.wasm");
    let scratch = scratch_with(Crafted::plugin().digests(Digests::Text(text)));
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::MalformedDigests { .. }), "{error}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn a_missing_or_invalid_manifest_is_refused() {
    let scratch = scratch_with(Crafted::plugin().without("plugin.toml"));
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::MissingManifest { .. }), "{error}");
    assert!(message.contains("has no plugin.toml"), "{message}");

    let invalid = MANIFEST.replace("1.2.0", "1.x");
    let scratch = scratch_with(
        Crafted::plugin()
            .without("plugin.toml")
            .file("plugin.toml", invalid.as_bytes()),
    );
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::InvalidManifest { .. }), "{error}");
    assert!(message.contains("plugin.toml:4:11: [plugin].version"), "{message}");

    let scratch = scratch_with(Crafted::plugin().without("plugin.wasm"));
    let (error, message) = scratch.refused();
    assert!(
        matches!(error, ArchiveError::MissingComponent { ref component, .. } if component == "plugin.wasm"),
        "{error}"
    );
    assert!(message.contains("\"plugin.wasm\""), "{message}");
}

#[test]
fn a_truncated_archive_is_an_error_not_a_panic() {
    let scratch = scratch_with(Crafted::plugin());
    let bytes = fs::read(scratch.archive()).expect("read");
    fs::write(scratch.archive(), &bytes[..bytes.len() / 2]).expect("cut in half");
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::Corrupt { .. }), "{error}");
    assert!(message.contains("download it again"), "{message}");

    fs::write(scratch.archive(), b"this is not a zip file at all").expect("write");
    let (error, _) = scratch.refused();
    assert!(matches!(error, ArchiveError::Corrupt { .. }), "{error}");
}

#[test]
fn corrupt_compressed_data_is_an_error() {
    let scratch = scratch_with(Crafted::plugin().file("resources/text.txt", "some text ".repeat(100).as_bytes()));
    let (start, len) = {
        let mut zip = zip::ZipArchive::new(fs::File::open(scratch.archive()).expect("open")).expect("zip");
        let entry = zip.by_name("resources/text.txt").expect("entry");
        (
            entry.data_start().expect("data start") as usize,
            entry.compressed_size() as usize,
        )
    };
    let mut bytes = fs::read(scratch.archive()).expect("read");
    for byte in &mut bytes[start + 2..start + len - 2] {
        *byte ^= 0x55;
    }
    fs::write(scratch.archive(), bytes).expect("write");
    let (error, message) = scratch.refused();
    assert!(
        matches!(error, ArchiveError::Corrupt { entry: Some(ref entry), .. } if entry == "resources/text.txt"),
        "{error}"
    );
    assert!(message.contains("\"resources/text.txt\""), "{message}");
}

#[test]
fn overlapping_entries_are_refused() {
    // Two central directory entries sharing one local entry: the classic way to make a
    // checker and an extractor see different files, and to multiply a zip bomb.
    let scratch = Scratch::new();
    fs::create_dir_all(scratch.archive().parent().expect("folder")).expect("folder");
    let crafted = Crafted::plugin();
    let mut writer = ZipWriter::new(fs::File::create(scratch.archive()).expect("create"));
    for entry in &crafted.entries {
        writer.start_file(entry.name.as_str(), entry.options).expect("start");
        writer.write_all(&entry.bytes).expect("write");
    }
    writer
        .shallow_copy_file("resources/a.txt", "resources/copy.txt")
        .expect("shallow copy");
    writer.finish().expect("finish");
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::InconsistentHeaders { .. }), "{error}");
    assert!(message.contains("zip headers are inconsistent"), "{message}");
}

#[test]
fn unsupported_compression_and_encryption_are_refused() {
    let scratch = scratch_with(Crafted::plugin().file("resources/zzz.bin", b"whatever"));
    let (local, central) = {
        let mut zip = zip::ZipArchive::new(fs::File::open(scratch.archive()).expect("open")).expect("zip");
        let entry = zip.by_name("resources/zzz.bin").expect("entry");
        (entry.header_start() as usize, entry.central_header_start() as usize)
    };
    let original = fs::read(scratch.archive()).expect("read");

    // Compression method 12 is bzip2.
    let mut bytes = original.clone();
    bytes[local + 8..local + 10].copy_from_slice(&12u16.to_le_bytes());
    bytes[central + 10..central + 12].copy_from_slice(&12u16.to_le_bytes());
    fs::write(scratch.archive(), &bytes).expect("write");
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::UnsupportedEntry { .. }), "{error}");
    assert!(
        message.contains("\"resources/zzz.bin\" uses the compression method"),
        "{message}"
    );

    // General-purpose flag bit 0: encrypted.
    let mut bytes = original;
    bytes[local + 6] |= 1;
    bytes[central + 8] |= 1;
    fs::write(scratch.archive(), &bytes).expect("write");
    let (error, message) = scratch.refused();
    assert!(matches!(error, ArchiveError::UnsupportedEntry { .. }), "{error}");
    assert!(message.contains("\"resources/zzz.bin\" is encrypted"), "{message}");
}

#[test]
fn verify_refuses_what_unpack_refuses() {
    let scratch = scratch_with(Crafted::plugin().file("../evil.txt", b"x"));
    let error = verify(&scratch.archive(), &TrustedKeys::none(), &UnpackLimits::default()).expect_err("refused");
    assert!(matches!(error, ArchiveError::UnsafeEntryName { .. }), "{error}");
}
