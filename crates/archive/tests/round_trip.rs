//! What an author and a user see on the happy path: pack a plugin folder, sign it,
//! verify it, unpack it, and get the same files back; and what pack refuses.

mod common;

use std::fs;

use common::{COMPONENT, MANIFEST, files_under, plugin_folder, rewrite, sha256_hex, write};
use plugboard_archive::{
    ArchiveError, KeyPair, Signature, TrustedKeys, UnpackLimits, UnsafeName, pack, sign, unpack, verify,
};

#[test]
fn a_packed_plugin_verifies_and_unpacks_to_the_same_files() {
    let work = tempfile::tempdir().expect("temp dir");
    let plugin = plugin_folder(work.path());
    let archive = pack(&plugin, &work.path().join("out")).expect_err("out/ does not exist yet");
    assert!(matches!(archive, ArchiveError::Io { .. }), "{archive}");

    fs::create_dir(work.path().join("out")).expect("out");
    let archive = pack(&plugin, &work.path().join("out")).expect("pack");
    assert_eq!(archive, work.path().join("out/auto-tag-1.2.0.plugin"));

    let verified = verify(&archive, &TrustedKeys::none(), &UnpackLimits::default()).expect("verify");
    assert_eq!(verified.id().as_str(), "auto-tag");
    assert_eq!(verified.version().to_string(), "1.2.0");
    assert_eq!(verified.signature, Signature::Unsigned);
    let listed: Vec<_> = verified
        .files
        .iter()
        .map(|file| (file.path.as_str(), file.size, file.digest.to_string()))
        .collect();
    assert_eq!(
        listed,
        [
            ("locales/en.json", 18, sha256_hex(br#"{"hello": "Hello"}"#)),
            ("plugin.toml", MANIFEST.len() as u64, sha256_hex(MANIFEST.as_bytes())),
            ("plugin.wasm", COMPONENT.len() as u64, sha256_hex(COMPONENT)),
            ("resources/a.txt", 11, sha256_hex(b"resource a\n")),
            ("resources/icons/b.svg", 6, sha256_hex(b"<svg/>")),
        ]
    );

    let dest = work.path().join("installed/auto-tag");
    fs::create_dir(work.path().join("installed")).expect("installed");
    let unpacked = unpack(&archive, &dest, &TrustedKeys::none(), &UnpackLimits::default()).expect("unpack");
    assert_eq!(unpacked.dir, dest);
    assert_eq!(unpacked.verified, verified);

    let packed: Vec<_> = files_under(&plugin)
        .into_iter()
        .filter(|(path, _)| listed.iter().any(|(listed, ..)| listed == path))
        .collect();
    let mut expected = packed.clone();
    let digests = fs::read(dest.join("plugboard/digests")).expect("digests kept");
    expected.push(("plugboard/digests".to_owned(), digests.clone()));
    expected.sort();
    assert_eq!(
        files_under(&dest),
        expected,
        "src/, target/, Cargo.toml and locales/README.md are left out"
    );
    assert_eq!(packed.len(), 5);
    assert!(
        String::from_utf8(digests)
            .expect("text")
            .contains(&format!("{}  plugin.wasm\n", sha256_hex(COMPONENT)))
    );

    let leftovers: Vec<_> = fs::read_dir(work.path().join("installed"))
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["auto-tag"], "no staging folder is left behind");
    let leftovers: Vec<_> = fs::read_dir(work.path().join("out"))
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["auto-tag-1.2.0.plugin"], "no temporary file is left behind");
}

#[test]
fn bundled_dependencies_are_packed_and_unpacked_with_the_plugin() {
    let work = tempfile::tempdir().expect("temp dir");
    let plugin = plugin_folder(work.path());
    let dep = "[plugin]\nid = \"keyword-pack\"\nname = \"Keywords\"\nversion = \"1.0.0\"\napi = \"task-events@2\"\n";
    write(&plugin.join("deps/keyword-pack/plugin.toml"), dep.as_bytes());
    write(&plugin.join("deps/keyword-pack/resources/words.txt"), b"urgent\n");
    fs::create_dir(work.path().join("out")).expect("out");
    let archive = pack(&plugin, &work.path().join("out")).expect("pack");
    let verified = verify(&archive, &TrustedKeys::none(), &UnpackLimits::default()).expect("verify");
    let paths: Vec<&str> = verified.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"deps/keyword-pack/plugin.toml"), "{paths:?}");
    assert!(paths.contains(&"deps/keyword-pack/resources/words.txt"), "{paths:?}");
    let dest = work.path().join("installed/auto-tag");
    fs::create_dir(work.path().join("installed")).expect("installed");
    unpack(&archive, &dest, &TrustedKeys::none(), &UnpackLimits::default()).expect("unpack");
    assert_eq!(
        fs::read_to_string(dest.join("deps/keyword-pack/plugin.toml")).unwrap(),
        dep
    );
}

#[test]
fn packing_twice_gives_the_same_bytes() {
    let work = tempfile::tempdir().expect("temp dir");
    let plugin = plugin_folder(work.path());
    let first = fs::read(pack(&plugin, work.path()).expect("pack")).expect("read");
    // A later modification time must not change the archive.
    write(&plugin.join("resources/a.txt"), b"resource a\n");
    let second = fs::read(pack(&plugin, work.path()).expect("pack again")).expect("read");
    assert_eq!(first, second);
}

#[test]
fn a_data_only_plugin_has_no_component() {
    let work = tempfile::tempdir().expect("temp dir");
    let plugin = work.path().join("data");
    write(
        &plugin.join("plugin.toml"),
        MANIFEST.replace("component = \"plugin.wasm\"\n", "").as_bytes(),
    );
    write(&plugin.join("resources/words.txt"), b"urgent\n");
    let archive = pack(&plugin, work.path()).expect("pack");
    let verified = verify(&archive, &TrustedKeys::none(), &UnpackLimits::default()).expect("verify");
    let paths: Vec<_> = verified.files.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(paths, ["plugin.toml", "resources/words.txt"]);
}

#[test]
fn a_component_under_target_keeps_its_path() {
    let work = tempfile::tempdir().expect("temp dir");
    let plugin = plugin_folder(work.path());
    let manifest = MANIFEST.replace("plugin.wasm", "./target/wasm32-wasip2/release/auto_tag.wasm");
    write(&plugin.join("plugin.toml"), manifest.as_bytes());
    write(&plugin.join("target/wasm32-wasip2/release/auto_tag.wasm"), COMPONENT);
    let archive = pack(&plugin, work.path()).expect("pack");
    let verified = verify(&archive, &TrustedKeys::none(), &UnpackLimits::default()).expect("verify");
    assert!(
        verified
            .files
            .iter()
            .any(|file| file.path == "target/wasm32-wasip2/release/auto_tag.wasm")
    );
    assert!(!verified.files.iter().any(|file| file.path == "plugin.wasm"));
}

#[test]
fn signatures_are_trusted_unknown_or_bad() {
    let work = tempfile::tempdir().expect("temp dir");
    let archive = pack(&plugin_folder(work.path()), work.path()).expect("pack");
    let key = KeyPair::generate().expect("key");
    let keys = work.path().join("keys");
    let files = key.write(&keys).expect("write key");
    let key = KeyPair::read_secret(&files.secret).expect("read key back");

    assert_eq!(sign(&archive, &key).expect("sign"), key.key_id());
    let trusted = TrustedKeys::from_dir(&keys).expect("trusted keys");
    let verified = verify(&archive, &trusted, &UnpackLimits::default()).expect("verify");
    assert_eq!(verified.signature, Signature::Trusted(key.key_id()));
    assert_eq!(verified.signature.trusted_signer(), Some(key.key_id()));

    let empty = work.path().join("no-keys");
    fs::create_dir(&empty).expect("empty key folder");
    let untrusted = TrustedKeys::from_dir(&empty).expect("no keys");
    let verified = verify(&archive, &untrusted, &UnpackLimits::default()).expect("verify without keys");
    assert_eq!(verified.signature, Signature::UnknownKey(key.key_id()));
    assert_eq!(verified.signature.trusted_signer(), None);
    assert!(verified.signature.to_string().contains("not trusted"));

    // Signing again replaces the signature; signing with another key changes the signer.
    let other = KeyPair::generate().expect("key");
    sign(&archive, &key).expect("sign again");
    sign(&archive, &other).expect("sign with another key");
    let verified = verify(&archive, &trusted, &UnpackLimits::default()).expect("verify");
    assert_eq!(verified.signature, Signature::UnknownKey(other.key_id()));
    sign(&archive, &key).expect("sign back");

    // One hex digit of the signature changed: the trusted key refuses it.
    rewrite(&archive, |name, bytes| {
        if name != "plugboard/signature" {
            return Some(bytes);
        }
        let mut text = String::from_utf8(bytes).expect("text");
        let last_digit = text.len() - 2;
        let flipped = if &text[last_digit..last_digit + 1] == "0" {
            "1"
        } else {
            "0"
        };
        text.replace_range(last_digit..last_digit + 1, flipped);
        Some(text.into_bytes())
    });
    let error = verify(&archive, &trusted, &UnpackLimits::default()).expect_err("tampered signature");
    assert!(
        matches!(error, ArchiveError::BadSignature { key_id, .. } if key_id == key.key_id()),
        "{error}"
    );
    assert!(error.to_string().contains(&key.key_id().to_string()), "{error}");
    let dest = work.path().join("installed");
    let error = unpack(&archive, &dest, &trusted, &UnpackLimits::default()).expect_err("not unpacked either");
    assert!(matches!(error, ArchiveError::BadSignature { .. }), "{error}");
    assert!(!dest.exists());
    // Without the key, the bad signature proves nothing and the digests still hold.
    let verified = verify(&archive, &untrusted, &UnpackLimits::default()).expect("digests hold");
    assert_eq!(verified.signature, Signature::UnknownKey(key.key_id()));
}

#[test]
fn a_changed_file_is_never_signed() {
    let work = tempfile::tempdir().expect("temp dir");
    let archive = pack(&plugin_folder(work.path()), work.path()).expect("pack");
    rewrite(&archive, |name, bytes| {
        Some(if name == "plugin.wasm" { b"evil".to_vec() } else { bytes })
    });
    let before = fs::read(&archive).expect("read");
    let error = sign(&archive, &KeyPair::generate().expect("key")).expect_err("tampered");
    assert!(
        matches!(error, ArchiveError::DigestMismatch { ref entry, .. } if entry == "plugin.wasm"),
        "{error}"
    );
    assert_eq!(
        fs::read(&archive).expect("read"),
        before,
        "the archive is left as it was"
    );
}

#[test]
fn unpacking_never_overwrites() {
    let work = tempfile::tempdir().expect("temp dir");
    let archive = pack(&plugin_folder(work.path()), work.path()).expect("pack");
    let dest = work.path().join("auto-tag");
    let error = unpack(&archive, &dest, &TrustedKeys::none(), &UnpackLimits::default()).expect_err("exists");
    assert!(matches!(error, ArchiveError::DestinationExists { .. }), "{error}");
    assert!(error.to_string().contains("already exists"), "{error}");
}

#[test]
fn pack_refuses_what_an_archive_must_not_hold() {
    let work = tempfile::tempdir().expect("temp dir");
    let plugin = plugin_folder(work.path());
    let out = work.path();
    let refused = |what: &str| {
        let error = pack(&plugin, out).expect_err(what);
        let leftovers: Vec<_> = fs::read_dir(out)
            .expect("list")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp") || name.ends_with(".plugin"))
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
        error
    };

    write(&plugin.join("resources/compiled.cwasm"), b"machine code");
    let error = refused("cwasm");
    assert!(matches!(error, ArchiveError::CompiledCodeInPlugin { .. }), "{error}");
    assert!(error.to_string().contains("compiled.cwasm"), "{error}");
    fs::remove_file(plugin.join("resources/compiled.cwasm")).expect("remove");

    write(&plugin.join("resources/what?.txt"), b"");
    let error = refused("name");
    assert!(
        matches!(
            error,
            ArchiveError::UnsuitableFileName {
                problem: UnsafeName::NonPortableCharacter('?'),
                ..
            }
        ),
        "{error}"
    );
    fs::remove_file(plugin.join("resources/what?.txt")).expect("remove");

    write(&plugin.join("resources/A.txt"), b"");
    let error = refused("case");
    assert!(matches!(error, ArchiveError::CollidingFileNames { .. }), "{error}");
    assert!(
        error.to_string().contains("A.txt") && error.to_string().contains("a.txt"),
        "{error}"
    );
    fs::remove_file(plugin.join("resources/A.txt")).expect("remove");

    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", plugin.join("resources/passwd")).expect("symlink");
        let error = refused("symlink");
        assert!(matches!(error, ArchiveError::SymlinkInPlugin { .. }), "{error}");
        assert!(error.to_string().contains("resources/passwd"), "{error}");
        fs::remove_file(plugin.join("resources/passwd")).expect("remove");

        // A symlink outside what is packed does not matter.
        std::os::unix::fs::symlink("/etc", plugin.join("src/etc")).expect("symlink");
        pack(&plugin, out).expect("src/ is not packed");
        fs::remove_file(out.join("auto-tag-1.2.0.plugin")).expect("remove");
    }

    fs::remove_file(plugin.join("plugin.wasm")).expect("remove");
    let error = refused("component");
    assert!(matches!(error, ArchiveError::ComponentNotBuilt { .. }), "{error}");
    assert!(error.to_string().contains("build the plugin first"), "{error}");

    write(&plugin.join("plugin.toml"), MANIFEST.replace("1.2.0", "1.x").as_bytes());
    let error = refused("manifest");
    assert!(matches!(error, ArchiveError::PackManifest { .. }), "{error}");
    assert!(error.to_string().contains("[plugin].version"), "{error}");
}
