//! The `plugboard/digests` entry: the sha256 of every file in the archive, one line each.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

use crate::RESERVED_FOLDER;
use crate::entry_name::check_entry_name;

/// The largest digests file read: 10 000 entries of ~100 bytes each fit in 1 MiB, so
/// anything much bigger is not a digests file.
pub(crate) const MAX_DIGESTS_BYTES: u64 = 4 * 1024 * 1024;

/// The sha256 digest of a file's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 32 bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 lowercase hex digits, the only form a digests file may use.
    fn from_lowercase_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut bytes = [0; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

impl From<Sha256> for Sha256Digest {
    fn from(hasher: Sha256) -> Self {
        Self(hasher.finalize().into())
    }
}

impl fmt::Display for Sha256Digest {
    /// Lowercase hex, as in the digests file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

/// The parsed `plugboard/digests`: every content file's path and digest, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DigestList {
    pub(crate) files: BTreeMap<String, Sha256Digest>,
}

impl DigestList {
    /// The file's text: sorted lines of `<hex>  <path>\n`.
    pub(crate) fn render(&self) -> String {
        self.files
            .iter()
            .map(|(path, digest)| format!("{digest}  {path}\n"))
            .collect()
    }

    /// Parses the file strictly: anything but the exact form [`Self::render`] writes is
    /// refused, so one list of files has exactly one digests text (and one signature).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())?;
        if text.is_empty() {
            return Err("it lists no file; plugin.toml at least must be listed".to_owned());
        }
        let Some(body) = text.strip_suffix('\n') else {
            return Err("the last line does not end with a newline".to_owned());
        };
        let mut files = BTreeMap::new();
        let mut previous: Option<&str> = None;
        for (index, line) in body.split('\n').enumerate() {
            let number = index + 1;
            let problem = |what: &str| Err(format!("line {number}: {what}"));
            let Some((hex, path)) = line
                .split_at_checked(64)
                .and_then(|(hex, rest)| Some((hex, rest.strip_prefix("  ")?)))
            else {
                return problem("expected `<64 lowercase hex digits>  <path>`");
            };
            let Some(digest) = Sha256Digest::from_lowercase_hex(hex) else {
                return problem("the digest is not 64 lowercase hex digits");
            };
            if let Err(unsafe_name) = check_entry_name(path) {
                return problem(&format!("the path {path:?} {unsafe_name}"));
            }
            if path.starts_with(RESERVED_FOLDER) {
                return problem(&format!(
                    "{path:?} is in {RESERVED_FOLDER}, which the digests do not cover"
                ));
            }
            if previous.is_some_and(|previous| previous >= path) {
                return problem(&format!(
                    "{path:?} is out of order or repeated; lines are sorted by path"
                ));
            }
            previous = Some(path);
            files.insert(path.to_owned(), digest);
        }
        Ok(Self { files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[(&str, &[u8])]) -> DigestList {
        DigestList {
            files: entries
                .iter()
                .map(|(path, bytes)| ((*path).to_owned(), Sha256Digest::of(bytes)))
                .collect(),
        }
    }

    #[test]
    fn rendered_digests_parse_back() {
        let digests = list(&[("plugin.toml", b"toml"), ("b/c.txt", b""), ("a b.txt", b"x")]);
        let text = digests.render();
        assert_eq!(
            text.lines().next(),
            Some("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881  a b.txt")
        );
        assert_eq!(DigestList::parse(text.as_bytes()), Ok(digests));
    }

    #[test]
    fn anything_but_the_exact_form_is_refused_with_the_line() {
        let good = format!("{}  a.txt\n", "0".repeat(64));
        let hex = "0".repeat(64);
        for (text, problem) in [
            (String::new(), "lists no file".to_owned()),
            (good.trim_end().to_owned(), "does not end with a newline".to_owned()),
            (format!("{hex} a.txt\n"), "line 1: expected".to_owned()),
            (format!("{hex}\ta.txt\n"), "line 1: expected".to_owned()),
            (format!("{}  a.txt\n", "A".repeat(64)), "lowercase hex".to_owned()),
            (format!("{}  a.txt\n", "0".repeat(63)), "line 1: expected".to_owned()),
            (
                format!("{good}{hex}  ../x\n"),
                "line 2: the path \"../x\" leaves".to_owned(),
            ),
            (
                format!("{good}{hex}  a.txt\n"),
                "line 2: \"a.txt\" is out of order or repeated".to_owned(),
            ),
            (
                format!("{hex}  b\n{hex}  a\n"),
                "line 2: \"a\" is out of order".to_owned(),
            ),
            (format!("{hex}  plugboard/signature\n"), "is in plugboard/".to_owned()),
            (format!("{good}\n"), "line 2: expected".to_owned()),
            (format!("{hex}  a\r\n"), "control character".to_owned()),
        ] {
            let error = DigestList::parse(text.as_bytes()).expect_err(&text);
            assert!(error.contains(&problem), "{text:?}: {error}");
        }
        assert!(
            DigestList::parse(b"\xff\n")
                .expect_err("not UTF-8")
                .contains("not UTF-8")
        );
    }
}
