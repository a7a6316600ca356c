//! Entry names: which ones name a file inside the plugin folder on every platform, and
//! which sets of names can be created side by side on a case-insensitive file system.

use std::collections::HashMap;
use std::fmt;

/// The longest entry name accepted, in bytes; longer paths fail on common file systems.
const MAX_NAME_BYTES: usize = 1024;

/// The longest path segment accepted, in bytes: the limit of most file systems.
const MAX_SEGMENT_BYTES: usize = 255;

/// Why an entry name cannot be created safely inside the plugin folder on every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsafeName {
    /// The name is empty.
    Empty,
    /// The name contains NUL or another control character.
    ControlCharacter,
    /// The name starts with `/` or `\`, so it would be written outside the folder.
    Absolute,
    /// The name contains `:`: a Windows drive (`C:x`) or an NTFS stream (`a:b`).
    DriveOrStream,
    /// The name contains a backslash, a separator on Windows only.
    Backslash,
    /// The name has a `..` segment and would climb out of the folder.
    EscapesFolder,
    /// The name has an empty or `.` segment (`a//b`, `./a`): another spelling of a path.
    NotNormalized,
    /// The name holds a character outside printable ASCII or one Windows refuses.
    NonPortableCharacter(char),
    /// A segment is a Windows device name (`CON`, `nul.txt`, …) or ends in `.` or space.
    WindowsReserved,
    /// The name or one of its segments is longer than file systems allow.
    TooLong,
}

impl fmt::Display for UnsafeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::ControlCharacter => f.write_str("contains NUL or another control character"),
            Self::Absolute => f.write_str("is an absolute path"),
            Self::DriveOrStream => f.write_str("contains ':' (a Windows drive like \"C:\" or a stream name)"),
            Self::Backslash => f.write_str("contains a backslash; paths in a plugin use '/'"),
            Self::EscapesFolder => f.write_str("leaves the plugin folder with '..'"),
            Self::NotNormalized => f.write_str("has an empty or '.' segment (\"a//b\", \"./a\", \"a/\")"),
            Self::NonPortableCharacter(c) => write!(
                f,
                "contains {c:?}; names in a plugin are printable ASCII without <>\"|?* so they work on every system"
            ),
            Self::WindowsReserved => f.write_str(
                "has a segment Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9, or ending in '.' or ' ')",
            ),
            Self::TooLong => write!(
                f,
                "is longer than {MAX_NAME_BYTES} bytes or has a segment longer than {MAX_SEGMENT_BYTES} bytes"
            ),
        }
    }
}

/// Checks that `name` is a relative `/`-separated path that names the same file inside
/// the plugin folder on Linux, macOS and Windows.
pub(crate) fn check_entry_name(name: &str) -> Result<(), UnsafeName> {
    if name.is_empty() {
        return Err(UnsafeName::Empty);
    }
    if name.chars().any(char::is_control) {
        return Err(UnsafeName::ControlCharacter);
    }
    if name.starts_with(['/', '\\']) {
        return Err(UnsafeName::Absolute);
    }
    if name.contains(':') {
        return Err(UnsafeName::DriveOrStream);
    }
    if name.contains('\\') {
        return Err(UnsafeName::Backslash);
    }
    let segments = name.split('/');
    if segments.clone().any(|segment| segment == "..") {
        return Err(UnsafeName::EscapesFolder);
    }
    if segments.clone().any(|segment| segment.is_empty() || segment == ".") {
        return Err(UnsafeName::NotNormalized);
    }
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_ascii_graphic() || c == ' ') || matches!(c, '<' | '>' | '"' | '|' | '?' | '*'))
    {
        return Err(UnsafeName::NonPortableCharacter(bad));
    }
    if segments.clone().any(is_windows_reserved) {
        return Err(UnsafeName::WindowsReserved);
    }
    if name.len() > MAX_NAME_BYTES || segments.clone().any(|segment| segment.len() > MAX_SEGMENT_BYTES) {
        return Err(UnsafeName::TooLong);
    }
    Ok(())
}

fn is_windows_reserved(segment: &str) -> bool {
    if segment.ends_with(['.', ' ']) {
        return true;
    }
    let stem = segment
        .split('.')
        .next()
        .unwrap_or(segment)
        .trim_end()
        .to_ascii_uppercase();
    match stem.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        _ => {
            (stem.starts_with("COM") || stem.starts_with("LPT"))
                && stem.len() == 4
                && stem.as_bytes()[3].is_ascii_digit()
        }
    }
}

/// Whether `name` is precompiled code, which is never taken from an archive.
pub(crate) fn is_compiled_code(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".cwasm")
}

/// A conflict between two names that would make extraction ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameClash {
    /// `entry` and `other` name the same file on a case-insensitive file system.
    Duplicate { entry: String, other: String },
    /// `entry` needs the file `file` to be a folder.
    FileAsFolder { entry: String, file: String },
}

/// Checks that every file in `names` can be created side by side, even on a file
/// system that ignores letter case. Names must already pass [`check_entry_name`], so
/// case folding ASCII is enough.
pub(crate) fn check_no_clash<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), NameClash> {
    let mut by_folded: HashMap<String, &str> = HashMap::new();
    for name in names {
        if let Some(other) = by_folded.insert(name.to_ascii_lowercase(), name) {
            return Err(NameClash::Duplicate {
                entry: name.to_owned(),
                other: other.to_owned(),
            });
        }
    }
    for (folded, name) in &by_folded {
        for (slash, _) in folded.match_indices('/') {
            if let Some(file) = by_folded.get(&folded[..slash]) {
                return Err(NameClash::FileAsFolder {
                    entry: (*name).to_owned(),
                    file: (*file).to_owned(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_paths_are_accepted() {
        for name in [
            "plugin.toml",
            "plugin.wasm",
            "resources/a.txt",
            "resources/deep/er/icon 2.png",
            "locales/en.json",
            "target/wasm32-wasip2/release/auto_tag.wasm",
            "console.txt",
            "com10",
            ".hidden",
        ] {
            assert_eq!(check_entry_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn every_unsafe_form_is_refused_with_its_reason() {
        for (name, problem) in [
            ("", UnsafeName::Empty),
            ("a\0b", UnsafeName::ControlCharacter),
            ("a\nb", UnsafeName::ControlCharacter),
            ("/etc/passwd", UnsafeName::Absolute),
            ("\\x", UnsafeName::Absolute),
            ("\\\\server\\share", UnsafeName::Absolute),
            ("C:x", UnsafeName::DriveOrStream),
            ("C:\\x", UnsafeName::DriveOrStream),
            ("a.txt:stream", UnsafeName::DriveOrStream),
            ("a\\b", UnsafeName::Backslash),
            ("../x", UnsafeName::EscapesFolder),
            ("a/../../b", UnsafeName::EscapesFolder),
            ("a/..", UnsafeName::EscapesFolder),
            ("..", UnsafeName::EscapesFolder),
            ("a//b", UnsafeName::NotNormalized),
            ("./a", UnsafeName::NotNormalized),
            ("a/", UnsafeName::NotNormalized),
            (".", UnsafeName::NotNormalized),
            ("caf\u{e9}.txt", UnsafeName::NonPortableCharacter('\u{e9}')),
            ("what?.txt", UnsafeName::NonPortableCharacter('?')),
            ("a*b", UnsafeName::NonPortableCharacter('*')),
            ("CON", UnsafeName::WindowsReserved),
            ("resources/nul.txt", UnsafeName::WindowsReserved),
            ("lpt1", UnsafeName::WindowsReserved),
            ("a./b", UnsafeName::WindowsReserved),
            ("a ", UnsafeName::WindowsReserved),
        ] {
            assert_eq!(check_entry_name(name), Err(problem), "{name:?}");
        }
        assert_eq!(check_entry_name(&"a".repeat(256)), Err(UnsafeName::TooLong));
        assert_eq!(check_entry_name(&"a/".repeat(600)[..1199]), Err(UnsafeName::TooLong));
    }

    #[test]
    fn compiled_code_is_recognised_in_any_case() {
        assert!(is_compiled_code("plugin.cwasm"));
        assert!(is_compiled_code("resources/X.CWASM"));
        assert!(!is_compiled_code("plugin.wasm"));
    }

    #[test]
    fn names_that_collide_without_case_are_refused() {
        assert_eq!(check_no_clash(["a.txt", "b.txt", "dir/a.txt"]), Ok(()));
        assert_eq!(
            check_no_clash(["resources/A.txt", "resources/a.txt"]),
            Err(NameClash::Duplicate {
                entry: "resources/a.txt".into(),
                other: "resources/A.txt".into()
            })
        );
        assert_eq!(
            check_no_clash(["resources/x", "Resources/X/y"]),
            Err(NameClash::FileAsFolder {
                entry: "Resources/X/y".into(),
                file: "resources/x".into()
            })
        );
    }
}
