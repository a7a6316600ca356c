//! Packs a plugin folder into one `.plugin` file, signs it, verifies it, and unpacks it
//! safely. This is the first stage of the data flow: everything a plugin archive holds
//! is checked here before any other part of plugboard sees a byte of it.
//!
//! An archive comes from a stranger, so this crate must never write outside the
//! destination folder, never trust a size, count or name written in a zip header
//! (it counts the bytes it actually decompresses and stops at the cap), never leave a
//! half-written archive or plugin folder behind, never accept precompiled code
//! (`.cwasm`), and never execute, compile or even parse the component: it only moves
//! and hashes bytes. Checking the manifest is left to `plugboard-manifest`, and
//! granting permissions to later stages.
//!
//! # The archive format
//!
//! A plugin ships as one zip file named `<id>-<version>.plugin` (see
//! [`archive_file_name`]), whose entries are stored or deflated (no other codec, no
//! encryption) and are all regular files (no directory or symlink entries):
//!
//! | entry | required | what it is |
//! |---|---|---|
//! | `plugin.toml` | yes | the manifest |
//! | the manifest's `component` path, e.g. `plugin.wasm` | when the manifest names one | the WebAssembly component; a data-only plugin has none |
//! | `resources/**` | no | any files the plugin reads as resources |
//! | `locales/*.json` | no | translations |
//! | `plugboard/digests` | yes | one line per other file, see below |
//! | `plugboard/signature` | no | an ed25519 signature of `plugboard/digests`, see below |
//!
//! `plugboard/digests` is UTF-8 text with one line `<sha256 hex>  <path>\n` (lowercase
//! hex, two spaces, `/` separators) for every entry except the `plugboard/` ones, sorted
//! by the bytes of the path, with no duplicates and nothing else.
//!
//! `plugboard/signature` is exactly two lines:
//!
//! ```text
//! key-id <KEYID>
//! signature <128 lowercase hex digits>
//! ```
//!
//! where the signature is ed25519 over the exact bytes of `plugboard/digests` and
//! `KEYID` ([`KeyId`]) is the first 16 hex digits of the sha256 of the 32-byte public key.
//! Because the digests cover `plugin.toml`, the signature covers the plugin's id,
//! version and requested permissions as well as its code.
//!
//! Entry names must be portable: printable ASCII only, relative, `/`-separated, without
//! `.`, `..` or empty segments, backslashes, `:`, the characters Windows refuses
//! (`<>"|?*`), Windows device names (`CON`, `nul.txt`, …) or segments ending in `.` or
//! space, and no two names may differ only in letter case (they would collide on macOS
//! and Windows). [`UnsafeName`] lists each reason. Entries whose name ends in `.cwasm`
//! are refused: compiled code is only ever made by the host, in its own cache.
//!
//! # Reading an archive
//!
//! [`verify`] and [`unpack`] check, in this order: the zip is readable; it has at most
//! [`UnpackLimits::max_entries`] entries; no name repeats; local headers agree with the
//! central directory and no entries overlap; every name, kind, codec and declared size
//! is acceptable; `plugin.toml` and `plugboard/digests` exist; the digests parse; the
//! signature, if any, verifies against a trusted key with its id ([`Signature`]); the
//! digests list exactly the other entries. Only then is each file decompressed, its
//! bytes counted against the size and ratio caps as they come and hashed, `plugin.toml`
//! first so that it is parsed only once its digest matched. [`unpack`] writes into a
//! hidden staging folder beside the destination and renames it into place only when
//! everything passed; the unpacked folder keeps `plugboard/digests` and
//! `plugboard/signature`.
//!
//! # Keys
//!
//! [`KeyPair::write`] stores a key pair as two one-line text files named after its key
//! id: `<KEYID>.secret` (mode 0600 on unix) holding `plugboard-ed25519-secret <64 hex
//! digits of the 32-byte seed>` and `<KEYID>.pub` holding `plugboard-ed25519-public <64
//! hex digits of the 32-byte public key>`. A folder of `.pub` files is a set of
//! [`TrustedKeys`].
//!
//! ```
//! use plugboard_archive::{KeyPair, Signature, TrustedKeys, UnpackLimits, pack, sign, unpack, verify};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let work = tempfile::tempdir()?;
//! let plugin = work.path().join("auto-tag");
//! std::fs::create_dir(&plugin)?;
//! std::fs::write(
//!     plugin.join("plugin.toml"),
//!     "[plugin]\nid = \"auto-tag\"\nname = \"Auto tag\"\nversion = \"1.2.0\"\napi = \"task-events@2\"\ncomponent = \"plugin.wasm\"\n",
//! )?;
//! std::fs::write(plugin.join("plugin.wasm"), b"\0asm not really")?;
//!
//! let archive = pack(&plugin, work.path())?;
//! assert!(archive.ends_with("auto-tag-1.2.0.plugin"));
//!
//! let key = KeyPair::generate()?;
//! let keys = work.path().join("keys");
//! key.write(&keys)?;
//! sign(&archive, &key)?;
//!
//! let trusted = TrustedKeys::from_dir(&keys)?;
//! let verified = verify(&archive, &trusted, &UnpackLimits::default())?;
//! assert_eq!(verified.signature, Signature::Trusted(key.key_id()));
//!
//! let installed = unpack(&archive, &work.path().join("installed"), &trusted, &UnpackLimits::default())?;
//! assert_eq!(std::fs::read(installed.dir.join("plugin.wasm"))?, b"\0asm not really");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod atomic_file;
mod central_directory;
mod digests;
mod entry_name;
mod error;
mod installed;
mod keys;
mod limits;
mod pack;
mod signature;
mod unpack;
mod verify;

pub use digests::Sha256Digest;
pub use entry_name::UnsafeName;
pub use error::ArchiveError;
pub use installed::{Integrity, IntegrityError, check_installed};
pub use keys::{KeyFiles, KeyId, KeyPair, PublicKey, TrustedKeys};
pub use limits::UnpackLimits;
pub use pack::{archive_file_name, pack};
pub use signature::{Signature, sign};
pub use unpack::{Unpacked, unpack};
pub use verify::{Verified, VerifiedFile, verify};

/// The extension of a plugin archive's file name, without the dot.
pub const ARCHIVE_EXTENSION: &str = "plugin";

/// The entry listing the sha256 digest of every other file.
pub const DIGESTS_ENTRY: &str = "plugboard/digests";

/// The entry holding the optional signature of [`DIGESTS_ENTRY`].
pub const SIGNATURE_ENTRY: &str = "plugboard/signature";

/// The folder of entries that belong to the archive format, not to the plugin.
const RESERVED_FOLDER: &str = "plugboard/";
