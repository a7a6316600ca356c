//! Signing keys: ed25519 key pairs, their short ids, the one-line files they are kept
//! in, and the set of public keys a user trusts.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{ArchiveError, io_error};

const PUBLIC_LABEL: &str = "plugboard-ed25519-public";
const SECRET_LABEL: &str = "plugboard-ed25519-secret";
const PUBLIC_EXTENSION: &str = "pub";
const SECRET_EXTENSION: &str = "secret";

/// The largest key file read: a real one is 90 bytes.
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// A key's short id: the first 8 bytes (16 hex digits) of the sha256 of its 32-byte
/// public key. Shown and stored as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut id = [0; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }

    /// Parses the 16 lowercase hex digits a signature file names.
    pub(crate) fn from_lowercase_hex(text: &str) -> Option<Self> {
        if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut id = [0; 8];
        hex::decode_to_slice(text, &mut id).ok()?;
        Some(Self(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// An ed25519 public key, which checks signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        KeyId::of(&self.0)
    }

    /// Reads a `.pub` file written by [`KeyPair::write`].
    pub fn read(path: &Path) -> Result<Self, ArchiveError> {
        let bytes = read_key_file(path, PUBLIC_LABEL, SECRET_LABEL)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| ArchiveError::MalformedKey {
            path: path.to_owned(),
            problem: "the 32 bytes are not a valid ed25519 public key".to_owned(),
        })?;
        if key.is_weak() {
            return Err(ArchiveError::MalformedKey {
                path: path.to_owned(),
                problem: "the key is a weak ed25519 key, for which signatures can be forged".to_owned(),
            });
        }
        Ok(Self(key))
    }

    /// The text of the key's `.pub` file: `plugboard-ed25519-public <64 hex digits>\n`.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_LABEL} {}\n", hex::encode(self.0.as_bytes()))
    }

    /// Whether `signature` is this key's signature of `message`, checked strictly (no
    /// malleable or small-order forms).
    pub(crate) fn verifies(&self, message: &[u8], signature: &ed25519_dalek::Signature) -> bool {
        self.0.verify_strict(message, signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

/// An ed25519 key pair, which signs archives. Its `Debug` shows only the key id, and
/// the secret is wiped from memory when it is dropped.
pub struct KeyPair(SigningKey);

/// Where [`KeyPair::write`] put a key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    /// `<KEYID>.secret`: keep it private.
    pub secret: PathBuf,
    /// `<KEYID>.pub`: give it to the users who should trust this key.
    pub public: PathBuf,
}

impl KeyPair {
    /// Makes a new key pair from the operating system's random number generator.
    pub fn generate() -> Result<Self, ArchiveError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|error| ArchiveError::NoRandomness {
            reason: error.to_string(),
        })?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The public half, to hand to the users who trust this key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The key's id.
    pub fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }

    /// Writes `<KEYID>.secret` (readable only by its owner on unix) and `<KEYID>.pub`
    /// into `dir`, creating it if needed. Existing files are never overwritten.
    pub fn write(&self, dir: &Path) -> Result<KeyFiles, ArchiveError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io_error(dir, "create the key folder"))?;

        let id = self.key_id();
        let files = KeyFiles {
            secret: dir.join(format!("{id}.{SECRET_EXTENSION}")),
            public: dir.join(format!("{id}.{PUBLIC_EXTENSION}")),
        };
        write_new(&files.public, self.public_key().to_text().as_bytes(), 0o644)?;
        let secret = format!("{SECRET_LABEL} {}\n", hex::encode(self.0.to_bytes()));
        write_new(&files.secret, secret.as_bytes(), 0o600)?;
        Ok(files)
    }

    /// Reads a `.secret` file written by [`KeyPair::write`]. On unix, a file that other
    /// users can read is refused, as ssh does.
    pub fn read_secret(path: &Path) -> Result<Self, ArchiveError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path)
                .map_err(io_error(path, "read the secret key"))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(ArchiveError::SecretKeyExposed {
                    path: path.to_owned(),
                    mode: mode & 0o777,
                });
            }
        }
        let seed = read_key_file(path, SECRET_LABEL, PUBLIC_LABEL)?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// This key's signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        self.0.sign(message)
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({})", self.key_id())
    }
}

/// The public keys whose signatures the user trusts, by key id. Deny by default:
/// [`TrustedKeys::none`] trusts no one.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<KeyId, PublicKey>,
}

impl TrustedKeys {
    /// Trusts no key: a signed archive still has its digests checked, and its signer is
    /// reported as unknown.
    pub fn none() -> Self {
        Self::default()
    }

    /// Loads every `*.pub` file in `dir` (other files are ignored). Each must be named
    /// after the id of the key it holds, as [`KeyPair::write`] names it.
    pub fn from_dir(dir: &Path) -> Result<Self, ArchiveError> {
        let mut trusted = Self::none();
        let entries = fs::read_dir(dir).map_err(io_error(dir, "list the trusted keys"))?;
        for entry in entries {
            let path = entry.map_err(io_error(dir, "list the trusted keys"))?.path();
            if path.extension().is_none_or(|extension| extension != PUBLIC_EXTENSION) || !path.is_file() {
                continue;
            }
            let key = PublicKey::read(&path)?;
            let key_id = key.key_id();
            if path
                .file_stem()
                .is_none_or(|stem| stem.to_str() != Some(&key_id.to_string()))
            {
                return Err(ArchiveError::KeyFileNameMismatch { path, key_id });
            }
            trusted.insert(key);
        }
        Ok(trusted)
    }

    /// Trusts `key` as well.
    pub fn insert(&mut self, key: PublicKey) {
        self.keys.insert(key.key_id(), key);
    }

    /// The trusted key with this id, if any.
    pub fn get(&self, key_id: &KeyId) -> Option<&PublicKey> {
        self.keys.get(key_id)
    }

    /// The ids of the trusted keys, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Creates `path` with `mode` (on unix) and `bytes`, refusing to replace a file.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ArchiveError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(io_error(path, "create the key file"))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(path, "write the key file"))
}

/// Reads the one line `<label> <64 hex digits>` of a key file.
fn read_key_file(path: &Path, label: &str, other_label: &str) -> Result<[u8; 32], ArchiveError> {
    let malformed = |problem: String| ArchiveError::MalformedKey {
        path: path.to_owned(),
        problem,
    };
    let mut text = String::new();
    File::open(path)
        .and_then(|file| file.take(MAX_KEY_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(io_error(path, "read the key file"))?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(malformed(format!("it is larger than {MAX_KEY_FILE_BYTES} bytes")));
    }
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (found_label, digits) = line.split_once(' ').unwrap_or((line, ""));
    if found_label == other_label {
        let hint = if other_label == SECRET_LABEL {
            "it is a secret key; trust the matching .pub file instead, and keep this one private"
        } else {
            "it is a public key; sign with the matching .secret file"
        };
        return Err(malformed(hint.to_owned()));
    }
    if found_label != label {
        return Err(malformed(format!("expected one line `{label} <64 hex digits>`")));
    }
    let mut bytes = [0; 32];
    hex::decode_to_slice(digits, &mut bytes)
        .map_err(|_| malformed(format!("expected 64 hex digits after `{label} `")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_keys_read_back_with_their_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = KeyPair::generate().expect("random");
        let files = key.write(dir.path()).expect("write");
        assert_eq!(files.public, dir.path().join(format!("{}.pub", key.key_id())));
        assert_eq!(key.key_id().to_string().len(), 16);

        let secret = KeyPair::read_secret(&files.secret).expect("read secret");
        assert_eq!(secret.key_id(), key.key_id());
        let public = PublicKey::read(&files.public).expect("read public");
        assert_eq!(public, key.public_key());
        assert!(
            fs::read_to_string(&files.public)
                .expect("text")
                .starts_with("plugboard-ed25519-public ")
        );

        let error = key.write(dir.path()).expect_err("never overwrites");
        assert!(error.to_string().contains("cannot create the key file"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn secret_keys_are_private_and_refused_when_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let files = KeyPair::generate().expect("random").write(dir.path()).expect("write");
        let mode = fs::metadata(&files.secret).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        fs::set_permissions(&files.secret, fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = KeyPair::read_secret(&files.secret).expect_err("exposed");
        assert!(
            matches!(error, ArchiveError::SecretKeyExposed { mode: 0o644, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }

    #[test]
    fn the_wrong_half_is_named_in_the_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = KeyPair::generate().expect("random").write(dir.path()).expect("write");
        let error = PublicKey::read(&files.secret).expect_err("secret as public");
        assert!(error.to_string().contains("it is a secret key"), "{error}");
        let garbage = dir.path().join("x.pub");
        fs::write(&garbage, "plugboard-ed25519-public 12\n").expect("write");
        let error = PublicKey::read(&garbage).expect_err("short");
        assert!(error.to_string().contains("expected 64 hex digits"), "{error}");
    }

    #[test]
    fn trusted_keys_load_pub_files_named_by_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let one = KeyPair::generate().expect("random");
        let two = KeyPair::generate().expect("random");
        one.write(dir.path()).expect("write");
        two.write(dir.path()).expect("write");
        fs::write(dir.path().join("README"), "not a key").expect("write");

        let trusted = TrustedKeys::from_dir(dir.path()).expect("load");
        assert_eq!(trusted.key_ids().count(), 2);
        assert!(trusted.get(&one.key_id()).is_some() && trusted.get(&two.key_id()).is_some());
        assert!(TrustedKeys::none().is_empty());

        fs::write(dir.path().join("0000000000000000.pub"), one.public_key().to_text()).expect("write");
        let error = TrustedKeys::from_dir(dir.path()).expect_err("misnamed");
        assert!(matches!(error, ArchiveError::KeyFileNameMismatch { .. }), "{error}");
    }
}
