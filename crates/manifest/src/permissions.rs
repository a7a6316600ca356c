//! The `[permissions]` table: what the plugin asks for. Asking grants nothing; the
//! user's grant decides, and the policy is the intersection of the two.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::byte_size::GIB;
use crate::commands::CommandRef;
use crate::de::{parsed, unique_list};
use crate::error::InvalidValue;

/// The `[permissions]` table; by default the plugin asks for nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "the [permissions] table"
)]
pub struct Permissions {
    /// What the plugin may do to tasks.
    #[serde(default, deserialize_with = "task_access")]
    pub tasks: BTreeSet<TaskAccess>,
    /// Per-plugin key-value state, when asked for.
    #[serde(default)]
    pub state: Option<StatePermission>,
    /// The hosts the plugin may reach.
    #[serde(default, deserialize_with = "unique_list")]
    pub network: Vec<HostPattern>,
    /// The commands of other plugins this plugin may invoke.
    #[serde(default, deserialize_with = "unique_list")]
    pub commands: Vec<CommandRef>,
    /// Files: its own folder, and host folders to read or write.
    #[serde(default)]
    pub files: Option<FilesPermission>,
    /// The application's own interfaces the plugin asks to call, by the
    /// permission name the application gives each (`app.notify`).
    #[serde(default, deserialize_with = "unique_list")]
    pub app: Vec<AppPermission>,
}

impl Permissions {
    /// Whether the plugin asks for no permission at all.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

fn task_access<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeSet<TaskAccess>, D::Error> {
    Ok(unique_list(deserializer)?.into_iter().collect())
}

/// One kind of access to the app's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskAccess {
    /// `read`: get and query tasks.
    Read,
    /// `write`: create and update tasks.
    Write,
    /// `delete`: delete tasks.
    Delete,
}

impl fmt::Display for TaskAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Delete => "delete",
        })
    }
}

impl FromStr for TaskAccess {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        match text {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            "delete" => Ok(Self::Delete),
            _ => Err(InvalidValue::new(format!(
                "unknown task access \"{text}\"; expected read, write or delete"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for TaskAccess {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "\"read\", \"write\" or \"delete\"")
    }
}

/// The request for per-plugin state: `state = { quota = "1MiB" }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table like { quota = \"1MiB\" }"
)]
pub struct StatePermission {
    /// The most bytes of state the plugin asks to keep; `None` takes the host default.
    #[serde(default, deserialize_with = "quota")]
    pub quota: Option<u64>,
}

impl StatePermission {
    /// The allowed quota: something, and at most 1GiB, as state lives in the host's
    /// own storage.
    pub const QUOTA: std::ops::RangeInclusive<u64> = 1..=GIB;
}

fn quota<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    crate::byte_size::deserialize_in(deserializer, StatePermission::QUOTA).map(Some)
}

/// The request for files: `files = { private = true, quota = "4MiB", read = ["/abs/folder"],
/// write = ["/abs/other"] }`. `private` asks for a folder of the plugin's own in the host's
/// data folder, of at most `quota` bytes; `read` and `write` name host folders, by absolute
/// path, to read (or read and write).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table like { private = true, quota = \"4MiB\", read = [\"/path\"], write = [\"/path\"] }"
)]
pub struct FilesPermission {
    /// A folder of its own (`files.private`).
    #[serde(default)]
    pub private: bool,
    /// The most bytes its own folder may hold; `None` takes the host default.
    #[serde(default, deserialize_with = "files_quota")]
    pub quota: Option<u64>,
    /// Host folders it asks to read (`files.read:<path>`).
    #[serde(default, deserialize_with = "unique_list")]
    pub read: Vec<FolderPath>,
    /// Host folders it asks to read and write (`files.write:<path>`).
    #[serde(default, deserialize_with = "unique_list")]
    pub write: Vec<FolderPath>,
}

impl FilesPermission {
    /// The allowed quota of the own folder: something, and at most 1GiB.
    pub const QUOTA: std::ops::RangeInclusive<u64> = 1..=GIB;
}

fn files_quota<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    crate::byte_size::deserialize_in(deserializer, FilesPermission::QUOTA).map(Some)
}

/// A host folder named in a files request or grant: an absolute path with no `.` or `..`
/// part, no empty part and no trailing `/` (except `/` itself), at most 4096 bytes. Whether
/// it exists, and whether it is reached through a symbolic link, is checked when the plugin
/// loads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FolderPath(String);

impl FolderPath {
    /// The longest path accepted, in bytes.
    pub const MAX_LEN: usize = 4096;

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FolderPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FolderPath {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let refuse = |problem: &str| {
            Err(InvalidValue::new(format!(
                "folder \"{text}\" {problem}; expected an absolute path like \"/home/me/notes\""
            )))
        };
        if text.len() > Self::MAX_LEN {
            return refuse("is longer than 4096 bytes");
        }
        if !text.starts_with('/') {
            return refuse("is not absolute");
        }
        if text.contains('\0') {
            return refuse("contains a NUL character");
        }
        if text == "/" {
            return Ok(Self(text.to_owned()));
        }
        for part in text[1..].split('/') {
            match part {
                "" => return refuse("has an empty part (`//` or a trailing `/`)"),
                "." | ".." => return refuse(&format!("has a `{part}` part")),
                _ => {}
            }
        }
        Ok(Self(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for FolderPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "an absolute folder path like \"/home/me/notes\"")
    }
}

/// A host the plugin may reach: `api.example.com`, or `*.example.com` for every
/// subdomain (not `example.com` itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostPattern(String);

impl HostPattern {
    const WILDCARD_PREFIX: &str = "*.";

    /// The pattern as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `host` (a bare host name) is covered by this pattern.
    pub fn matches(&self, host: &str) -> bool {
        match self.0.strip_prefix(Self::WILDCARD_PREFIX) {
            Some(domain) => {
                // `host` must be SUBDOMAIN '.' DOMAIN with a non-empty SUBDOMAIN.
                let Some(split) = host.len().checked_sub(domain.len() + 1) else {
                    return false;
                };
                host.is_char_boundary(split)
                    && host[split + 1..].eq_ignore_ascii_case(domain)
                    && host[split..].starts_with('.')
                    && !host[..split].is_empty()
                    && !host[..split].ends_with('.')
            }
            None => host.eq_ignore_ascii_case(&self.0),
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const HOST_FORM: &str = "expected a bare host name like \"api.example.com\" or \"*.example.com\"";

impl FromStr for HostPattern {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let refuse = |problem: &str| Err(InvalidValue::new(format!("host \"{text}\" {problem}; {HOST_FORM}")));
        if text.contains("://") {
            return refuse("has a scheme");
        }
        if text.contains('/') {
            return refuse("has a path");
        }
        if text.contains(':') {
            return refuse("has a port");
        }
        let (wildcard, host) = match text.strip_prefix(Self::WILDCARD_PREFIX) {
            Some(domain) => (true, domain),
            None => (false, text),
        };
        if host.is_empty() {
            return refuse("is empty");
        }
        if host.len() > 253 {
            return refuse("is longer than 253 characters");
        }
        if let Some(bad) = host
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'))
        {
            let hint = if bad == '*' {
                " ('*' may only stand alone as the first label, as in \"*.example.com\")".to_owned()
            } else {
                String::new()
            };
            return refuse(&format!("contains {bad:?}{hint}"));
        }
        for label in host.split('.') {
            if label.is_empty() || label.len() > 63 {
                return refuse("has an empty or over-long label between dots");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return refuse(&format!("has the label \"{label}\", which starts or ends with '-'"));
            }
        }
        if wildcard && !host.contains('.') {
            return refuse("is a wildcard over a whole top-level domain");
        }
        Ok(Self(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for HostPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "a host name like \"api.example.com\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> HostPattern {
        text.parse().expect(text)
    }

    #[test]
    fn task_access_round_trips() {
        for text in ["read", "write", "delete"] {
            assert_eq!(text.parse::<TaskAccess>().expect(text).to_string(), text);
        }
        assert_eq!(
            "admin".parse::<TaskAccess>().expect_err("unknown").to_string(),
            "unknown task access \"admin\"; expected read, write or delete"
        );
    }

    #[test]
    fn host_patterns_match_exact_hosts_and_subdomains() {
        assert!(host("api.example.com").matches("api.example.com"));
        assert!(host("api.example.com").matches("API.example.com"));
        assert!(!host("api.example.com").matches("x.api.example.com"));
        let any = host("*.example.com");
        assert!(any.matches("api.example.com"));
        assert!(any.matches("a.b.example.com"));
        assert!(!any.matches("example.com"));
        assert!(!any.matches(".example.com"));
        assert!(!any.matches("badexample.com"));
        assert!(host("localhost").matches("localhost"));
    }

    #[test]
    fn folder_paths_are_absolute_and_normal() {
        for good in ["/", "/home/me/notes", "/a b/c"] {
            assert_eq!(good.parse::<FolderPath>().expect(good).as_str(), good);
        }
        for (text, problem) in [
            ("notes", "is not absolute"),
            ("./notes", "is not absolute"),
            ("/home/../etc", "has a `..` part"),
            ("/home/./me", "has a `.` part"),
            ("/home//me", "has an empty part"),
            ("/home/me/", "has an empty part"),
            ("/a\0b", "NUL"),
        ] {
            let message = text.parse::<FolderPath>().expect_err(text).to_string();
            assert!(message.contains(problem), "{text}: {message}");
        }
        let long = format!("/{}", "a".repeat(4096));
        assert!(long.parse::<FolderPath>().is_err());
    }

    #[test]
    fn host_patterns_refuse_urls_and_odd_names() {
        for (text, problem) in [
            ("https://api.example.com", "has a scheme"),
            ("api.example.com/v1", "has a path"),
            ("api.example.com:443", "has a port"),
            ("", "is empty"),
            ("*.", "is empty"),
            ("*", "contains '*'"),
            ("api.*.com", "contains '*'"),
            ("API.example.com", "contains 'A'"),
            ("api..example.com", "empty or over-long label"),
            ("-api.example.com", "starts or ends with '-'"),
            ("*.com", "whole top-level domain"),
        ] {
            let message = text.parse::<HostPattern>().expect_err(text).to_string();
            assert!(message.contains(problem), "{text}: {message}");
            assert!(message.contains("bare host name"), "{text}: {message}");
        }
    }
}

/// The permission an application gives one of its own interfaces
/// (`app.notify`): lowercase letters, digits, `.`, `-` and `_`, starting with
/// a letter, at most [`AppPermission::MAX_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppPermission(String);

impl AppPermission {
    /// The longest permission name.
    pub const MAX_LEN: usize = 64;

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AppPermission {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let valid = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
        if !valid {
            return Err(InvalidValue::new(format!(
                "app permission \"{text}\" is not a permission name; expected the name the application gives \
                 its interface, like \"app.notify\" (lowercase letters, digits, '.', '-', '_', at most {} bytes)",
                Self::MAX_LEN
            )));
        }
        Ok(Self(text.to_owned()))
    }
}

impl<'de> Deserialize<'de> for AppPermission {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, "an app permission name like \"app.notify\"")
    }
}
