//! The `plugboard/signature` entry: an ed25519 signature of the digests list, its
//! two-line text form, signing an archive, and what a signature tells a verifier.

use std::fmt;
use std::io::{BufWriter, Write};
use std::path::Path;

use zip::ZipWriter;

use crate::SIGNATURE_ENTRY;
use crate::atomic_file::AtomicFile;
use crate::error::{ArchiveError, io_error};
use crate::keys::{KeyId, KeyPair, TrustedKeys};
use crate::limits::UnpackLimits;
use crate::pack::{entry_options, zip_io};
use crate::verify::{CheckedArchive, Discard};

/// The largest signature file read: a real one is 164 bytes.
pub(crate) const MAX_SIGNATURE_BYTES: u64 = 1024;

/// Who signed an archive, as far as the trusted keys tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// The archive has no signature.
    Unsigned,
    /// The archive is signed by this trusted key, and the signature verified.
    Trusted(KeyId),
    /// The archive names this key, which is not trusted, so the signature was not
    /// checked: it proves nothing, though the digests still held.
    UnknownKey(KeyId),
}

impl Signature {
    /// The key that verifiably signed the archive; `None` when unsigned or unknown.
    pub fn trusted_signer(&self) -> Option<KeyId> {
        match self {
            Self::Trusted(key_id) => Some(*key_id),
            Self::Unsigned | Self::UnknownKey(_) => None,
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsigned => f.write_str("unsigned"),
            Self::Trusted(key_id) => write!(f, "signed by trusted key {key_id}"),
            Self::UnknownKey(key_id) => write!(
                f,
                "signed by key {key_id}, which is not trusted (signature not checked)"
            ),
        }
    }
}

/// The parsed `plugboard/signature`.
struct SignatureFile {
    key_id: KeyId,
    signature: ed25519_dalek::Signature,
}

impl SignatureFile {
    fn render(&self) -> String {
        format!(
            "key-id {}\nsignature {}\n",
            self.key_id,
            hex::encode(self.signature.to_bytes())
        )
    }

    /// Parses the exact form [`Self::render`] writes.
    fn parse(bytes: &[u8]) -> Result<Self, String> {
        const FORM: &str = "expected the two lines `key-id <16 hex digits>` and `signature <128 hex digits>`";
        let text = std::str::from_utf8(bytes).map_err(|_| format!("it is not UTF-8 text; {FORM}"))?;
        let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
        let (Some(key_line), Some(signature_line), None) = (lines.next(), lines.next(), lines.next()) else {
            return Err(FORM.to_owned());
        };
        let key_id = key_line
            .strip_prefix("key-id ")
            .and_then(KeyId::from_lowercase_hex)
            .ok_or_else(|| format!("bad key-id line; {FORM}"))?;
        let mut signature = [0; 64];
        signature_line
            .strip_prefix("signature ")
            .filter(|digits| !digits.bytes().any(|b| b.is_ascii_uppercase()))
            .and_then(|digits| hex::decode_to_slice(digits, &mut signature).ok())
            .ok_or_else(|| format!("bad signature line; {FORM}"))?;
        if !text.ends_with('\n') {
            return Err(format!("the last line does not end with a newline; {FORM}"));
        }
        Ok(Self {
            key_id,
            signature: ed25519_dalek::Signature::from_bytes(&signature),
        })
    }
}

/// Checks the signature file `bytes` of `archive` over `digests` against `trusted`.
pub(crate) fn check_signature(
    archive: &Path,
    bytes: &[u8],
    digests: &[u8],
    trusted: &TrustedKeys,
) -> Result<Signature, ArchiveError> {
    let file = SignatureFile::parse(bytes).map_err(|problem| ArchiveError::MalformedSignature {
        archive: archive.to_owned(),
        problem,
    })?;
    match trusted.get(&file.key_id) {
        None => Ok(Signature::UnknownKey(file.key_id)),
        Some(key) if key.verifies(digests, &file.signature) => Ok(Signature::Trusted(file.key_id)),
        Some(_) => Err(ArchiveError::BadSignature {
            archive: archive.to_owned(),
            key_id: file.key_id,
        }),
    }
}

/// Signs `archive` with `key`, adding or replacing its `plugboard/signature`, and
/// returns the key's id. The archive is verified first (a tampered archive is never
/// signed) and replaced atomically: a crash leaves the old archive or the new one.
pub fn sign(archive: &Path, key: &KeyPair) -> Result<KeyId, ArchiveError> {
    let mut checked = CheckedArchive::open(archive, &TrustedKeys::none(), &UnpackLimits::default())?;
    checked.check_contents(&mut Discard)?;
    let signature = SignatureFile {
        key_id: key.key_id(),
        signature: key.sign(checked.digests_bytes()),
    };

    let replacement = AtomicFile::create(archive)?;
    let write_error = io_error(archive, "write the signed archive");
    let mut writer = ZipWriter::new(BufWriter::new(replacement.file()));
    let copied = (|| -> zip::result::ZipResult<()> {
        // Copy compressed bytes as they are, in the same order, signature last.
        for index in 0..checked.zip.len() {
            let entry = checked.zip.by_index_raw(index)?;
            if entry.name_raw() != SIGNATURE_ENTRY.as_bytes() {
                writer.raw_copy_file(entry)?;
            }
        }
        writer.start_file(SIGNATURE_ENTRY, entry_options())?;
        writer.write_all(signature.render().as_bytes())?;
        writer.finish()?.flush()?;
        Ok(())
    })();
    copied.map_err(|error| write_error(zip_io(error)))?;
    let permissions = std::fs::metadata(archive).map(|metadata| metadata.permissions()).ok();
    drop(checked);
    replacement.commit(permissions)?;
    Ok(signature.key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_file_reads_back() {
        let key = KeyPair::generate().expect("random");
        let file = SignatureFile {
            key_id: key.key_id(),
            signature: key.sign(b"digests"),
        };
        let text = file.render();
        assert!(text.starts_with(&format!("key-id {}\nsignature ", key.key_id())));
        assert_eq!(text.len(), "key-id \nsignature \n".len() + 16 + 128);
        let parsed = SignatureFile::parse(text.as_bytes()).expect("parses");
        assert_eq!(parsed.key_id, key.key_id());
        assert!(key.public_key().verifies(b"digests", &parsed.signature));
        assert!(!key.public_key().verifies(b"digestz", &parsed.signature));

        for bad in [
            String::new(),
            text.trim_end().to_owned(),
            text.to_uppercase(),
            format!("{text}extra\n"),
            text.replacen("key-id", "key", 1),
        ] {
            assert!(SignatureFile::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
