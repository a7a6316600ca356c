//! The static check at load time: every import a component names must be
//! part of its world or of the WASI subset plugboard links, read from the
//! component's bytes before anything is compiled. Every import the host
//! refuses is named at once, with why.
//!
//! # The rule, interface by interface
//!
//! A toolchain's default build (wasi-libc's adapter, componentize-py,
//! componentize-js) imports WASI interfaces a plugin never uses. Where an
//! interface can be linked **inert**, so that it reaches nothing outside
//! the plugin, it is linked and accepted; what cannot be made inert is
//! refused.
//!
//! | interfaces | linked as | reaches |
//! |---|---|---|
//! | `wasi:io/{error,poll,streams}` | wasmtime's | only the plugin's own handles |
//! | `wasi:clocks/{wall-clock,monotonic-clock}` | wasmtime's | the time; a wait ends at the call's deadline |
//! | `wasi:random/{random,insecure,insecure-seed}` | wasmtime's | random bytes, at most 1 MiB a call |
//! | `wasi:cli/environment` | empty | no variables, no arguments, no working folder |
//! | `wasi:cli/{stdout,stderr}` | captured | the plugin's log, 64 KiB a call |
//! | `wasi:cli/stdin` | closed | nothing: a read ends at once |
//! | `wasi:cli/exit` | wasmtime's | ends the call, as a trap |
//! | `wasi:cli/terminal-*` | no terminal | nothing |
//! | `wasi:filesystem/{types,preopens}` | no preopened folder; with a `files` grant, the granted folders ([`crate::files`]) | nothing: the preopens list is empty, so there is no descriptor to open anything from; with a grant, only the folders granted, writes counted against the quota |
//! | `wasi:sockets/*` | every use refused | nothing: creating a TCP or UDP socket fails with `access-denied` before any OS socket exists, every bind and connect address is refused, name lookup fails |
//! | `wasi:http/{types,outgoing-handler}` | every request checked against the `network` grant | the granted hosts only ([`crate::network`]); without a grant, nothing: every request fails with `HTTP-request-denied` |
//!
//! The application's own interfaces ([`crate::app_interfaces`]) are linked
//! for a plugin holding the permission the application gave them, at a
//! version it offers; refused otherwise, naming the permission.
//!
//! Everything else is refused: other `wasi:` interfaces (`wasi:http/incoming-handler`,
//! …) or WASI versions other than 0.2, any other package, and
//! `plugboard:task-events` interfaces the host does not define.
//! Whatever a linked interface holds lives in the store's resource table,
//! capped at [`crate::limits::MAX_WASI_RESOURCES`] handles; a wait inside
//! one ends at the call's deadline.

use std::fmt;

use crate::app_interfaces::AppOffer;
use crate::policy::Policy;
use crate::world::PACKAGE;

/// What an accepted WASI interface can reach, as `inspect` shows it.
const WASI_LINKED: &[(&str, &str)] = &[
    ("wasi:io/error", "errors of the plugin's own streams"),
    (
        "wasi:io/poll",
        "waits on the plugin's own handles, ended at the deadline",
    ),
    ("wasi:io/streams", "the plugin's own streams"),
    ("wasi:clocks/wall-clock", "the time of day"),
    (
        "wasi:clocks/monotonic-clock",
        "a monotonic clock; a wait ends at the call's deadline",
    ),
    ("wasi:random/random", "random bytes, at most 1 MiB a call"),
    ("wasi:random/insecure", "random bytes, at most 1 MiB a call"),
    ("wasi:random/insecure-seed", "a random seed"),
    (
        "wasi:cli/environment",
        "no environment: no variables, no arguments, no working folder",
    ),
    ("wasi:cli/exit", "ends the call (as a trap)"),
    ("wasi:cli/stdin", "closed: a read ends at once"),
    ("wasi:cli/stdout", "the plugin's log, 64 KiB a call"),
    ("wasi:cli/stderr", "the plugin's log, 64 KiB a call"),
    ("wasi:cli/terminal-input", "no terminal"),
    ("wasi:cli/terminal-output", "no terminal"),
    ("wasi:cli/terminal-stdin", "no terminal"),
    ("wasi:cli/terminal-stdout", "no terminal"),
    ("wasi:cli/terminal-stderr", "no terminal"),
    ("wasi:filesystem/types", "no folder granted: every open fails"),
    ("wasi:filesystem/preopens", "no folder granted: no preopened folder"),
    ("wasi:sockets/network", "every address refused"),
    ("wasi:sockets/instance-network", "every address refused"),
    ("wasi:sockets/tcp", "every address refused"),
    (
        "wasi:sockets/tcp-create-socket",
        "every address refused: no socket is created",
    ),
    ("wasi:sockets/udp", "every address refused"),
    (
        "wasi:sockets/udp-create-socket",
        "every address refused: no socket is created",
    ),
    (
        "wasi:sockets/ip-name-lookup",
        "every address refused: no name is looked up",
    ),
];

/// Outgoing HTTP: linked for every plugin that imports it, each request
/// checked against the granted hosts (none granted: every request refused).
const WASI_HTTP: &[&str] = &["wasi:http/types", "wasi:http/outgoing-handler"];

/// The host interfaces of each world major, as `wit/` defines them
/// (`handler` is exported, never imported).
const WORLD_INTERFACES: &[(u64, &[&str])] = &[
    (1, &["host", "types"]),
    (
        2,
        &[
            "types",
            "tasks",
            "state",
            "events",
            "config",
            "clock",
            "log",
            "commands",
            "resources",
            "locale",
        ],
    ),
    // The pre-release 3.0.0-dev, and it exactly: `world` refuses it unless
    // the host was asked to speak it.
    (
        3,
        &[
            "types",
            "tasks",
            "state",
            "events",
            "config",
            "clock",
            "log",
            "commands",
            "resources",
            "locale",
            "host-info",
        ],
    ),
];

/// An import the plugin may not have, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("it imports `{import}`: {reason}")]
pub struct ForbiddenImport {
    /// The import's full name.
    pub import: String,
    /// Why it is refused and what the author can do.
    pub reason: String,
}

/// Every import of a component the host refuses (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenImports(pub Vec<ForbiddenImport>);

impl fmt::Display for ForbiddenImports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "it imports {} interfaces the host refuses:", all.len())?;
                for refused in all {
                    write!(f, "\n  `{}`: {}", refused.import, refused.reason)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ForbiddenImports {}

/// What the host does with one import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportVerdict {
    /// Linked; what it can reach.
    Linked(&'static str),
    /// Refused; why and what the author can do.
    Refused(String),
}

/// `ns:pkg/interface` and the version after `@`, if any.
fn split_version(import: &str) -> (&str, Option<&str>) {
    match import.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (import, None),
    }
}

/// Whether a WASI version is one wasmtime's 0.2 implementation links:
/// `0.2.x`, any patch release (the linker matches them semver-compatibly).
fn wasi_0_2(version: Option<&str>) -> bool {
    version
        .and_then(|v| semver::Version::parse(v).ok())
        .is_some_and(|v| v.major == 0 && v.minor == 2 && v.pre.is_empty())
}

/// What the host does with the import `import` of a plugin under `policy`,
/// on a runtime that offers none of the application's own interfaces.
pub fn verdict(import: &str, policy: &Policy) -> ImportVerdict {
    verdict_offering(import, policy, &AppOffer::default())
}

/// [`verdict`] on a runtime that offers the application's interfaces `app`.
pub(crate) fn verdict_offering(import: &str, policy: &Policy, app: &AppOffer) -> ImportVerdict {
    let (name, version) = split_version(import);
    if let Some(verdict) = app.verdict(name, version, policy) {
        return verdict;
    }
    if let Some(interface) = name.strip_prefix(PACKAGE).and_then(|n| n.strip_prefix('/')) {
        let unreleased = crate::world::WorldVersion::UNRELEASED.host_release();
        let major = version
            .and_then(|v| semver::Version::parse(v).ok())
            .filter(|v| crate::world::WorldVersion::from_major(v.major).is_some() || *v == unreleased)
            .map(|v| v.major);
        let known = WORLD_INTERFACES
            .iter()
            .find(|(m, _)| Some(*m) == major)
            .is_some_and(|(_, names)| names.contains(&interface));
        return match (major, known) {
            (_, true) => ImportVerdict::Linked("the plugin's host interfaces, each call checked against its grants"),
            (Some(m), false) if WORLD_INTERFACES.iter().any(|(known, _)| *known == m) => ImportVerdict::Refused(
                format!("task-events@{m} defines no interface `{interface}`; build against the WIT in wit/"),
            ),
            _ => ImportVerdict::Refused(format!(
                "this host speaks {} only; build against one of the worlds in wit/",
                crate::world::WorldVersion::spoken()
            )),
        };
    }
    if let Some((_, reach)) = WASI_LINKED.iter().find(|(known, _)| *known == name) {
        if !wasi_0_2(version) {
            return ImportVerdict::Refused(wasi_version_reason(version));
        }
        if name.starts_with("wasi:filesystem/") && !policy.files.is_empty() {
            return ImportVerdict::Linked(
                "the granted folders only (see files): no path leaves them, writes count against the quota",
            );
        }
        return ImportVerdict::Linked(reach);
    }
    if WASI_HTTP.contains(&name) {
        if !wasi_0_2(version) {
            return ImportVerdict::Refused(wasi_version_reason(version));
        }
        if policy.network.is_empty() {
            return ImportVerdict::Linked("no host granted: every request refused");
        }
        return ImportVerdict::Linked("outgoing HTTP to the granted hosts only");
    }
    ImportVerdict::Refused(if name.starts_with("wasi:") {
        "plugboard does not link this WASI interface: a plugin cannot serve or receive requests, \
         nor reach anything outside its world"
            .to_string()
    } else {
        format!("it is neither part of the plugin's {PACKAGE} world nor of the WASI subset plugboard provides")
    })
}

fn wasi_version_reason(version: Option<&str>) -> String {
    format!(
        "plugboard links WASI 0.2 (0.2.x), not {}; build with a WASI 0.2 toolchain",
        version.unwrap_or("an unversioned interface")
    )
}

/// Checks every import name against the policy; every refused one is
/// returned, in the component's order.
pub fn check<'a>(imports: impl IntoIterator<Item = &'a str>, policy: &Policy) -> Result<(), ForbiddenImports> {
    check_offering(imports, policy, &AppOffer::default())
}

/// [`check`] on a runtime that offers the application's interfaces `app`.
pub(crate) fn check_offering<'a>(
    imports: impl IntoIterator<Item = &'a str>,
    policy: &Policy,
    app: &AppOffer,
) -> Result<(), ForbiddenImports> {
    let refused: Vec<ForbiddenImport> = imports
        .into_iter()
        .filter_map(|import| match verdict_offering(import, policy, app) {
            ImportVerdict::Linked(_) => None,
            ImportVerdict::Refused(reason) => Some(ForbiddenImport {
                import: import.to_string(),
                reason,
            }),
        })
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ForbiddenImports(refused))
    }
}

/// The bytes are not a well-formed component: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedComponent(pub String);

fn malformed(e: wasmparser::BinaryReaderError) -> MalformedComponent {
    MalformedComponent(format!("{} (at byte {})", e.message(), e.offset()))
}

/// The import and export names of a component's outermost level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentNames {
    /// Its imports, in the component's order.
    pub imports: Vec<String>,
    /// Its exports, in the component's order.
    pub exports: Vec<String>,
}

/// The import and export names of a component's outermost level, read from
/// its bytes without compiling it (nested components and core modules are
/// the component's own business: their imports are satisfied inside it).
/// One linear pass over the outer sections; nested sections are skipped,
/// not read.
pub fn read(bytes: &[u8]) -> Result<ComponentNames, MalformedComponent> {
    use wasmparser::{Chunk, Parser, Payload};
    let mut parser = Parser::new(0);
    let mut rest = bytes;
    let mut names = ComponentNames::default();
    loop {
        let offset = bytes.len() - rest.len();
        let (consumed, payload) = match parser.parse(rest, true).map_err(malformed)? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            // With the whole file given as the end, the parser never asks
            // for more; should it, the file is cut short.
            Chunk::NeedMoreData(_) => {
                return Err(MalformedComponent(format!("the file ends too early, at byte {offset}")));
            }
        };
        rest = &rest[consumed..];
        match payload {
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    names.imports.push(import.map_err(malformed)?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    names.exports.push(export.map_err(malformed)?.name.name.to_string());
                }
            }
            // The outer parser has already moved past the nested bytes; the
            // input must skip them too.
            Payload::ModuleSection { unchecked_range, .. } | Payload::ComponentSection { unchecked_range, .. } => {
                let length = unchecked_range.end - unchecked_range.start;
                rest = rest.get(length..).ok_or_else(|| {
                    MalformedComponent(format!(
                        "a nested section at byte {} runs past the end of the file",
                        unchecked_range.start
                    ))
                })?;
            }
            Payload::End(_) => return Ok(names),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_and_wasi_subset_pass_everything_else_is_named() {
        let policy = Policy::deny_all();
        let ok = [
            "plugboard:task-events/tasks@2.1.0",
            "plugboard:task-events/host@1.0.0",
            "wasi:io/streams@0.2.6",
            "wasi:cli/stdout@0.2.0",
            "wasi:clocks/wall-clock@0.2.9",
            "wasi:random/random@0.2.6",
            "wasi:filesystem/types@0.2.9",
            "wasi:filesystem/preopens@0.2.0",
            "wasi:sockets/tcp@0.2.6",
            "wasi:sockets/ip-name-lookup@0.2.6",
        ];
        assert_eq!(check(ok, &policy), Ok(()));
        let networked = Policy {
            network: vec!["api.example.com".into()],
            ..Policy::deny_all()
        };
        assert_eq!(
            check(
                ["wasi:http/outgoing-handler@0.2.6", "wasi:http/types@0.2.6"],
                &networked
            ),
            Ok(())
        );
        let refused = [
            ("wasi:http/incoming-handler@0.2.6", "does not link this WASI interface"),
            ("wasi:filesystem/types@0.3.0", "links WASI 0.2"),
            ("wasi:io/streams", "links WASI 0.2"),
            ("wasi:keyvalue/store@0.2.0", "does not link"),
            (
                "plugboard:task-events/backdoor@2.1.0",
                "defines no interface `backdoor`",
            ),
            ("plugboard:task-events/tasks@3.0.0", "speaks 1.0.0, 2.2.0 only"),
            ("evil:corp/backdoor", "neither part of"),
        ];
        let err = check(refused.iter().map(|(i, _)| *i), &policy).unwrap_err();
        assert_eq!(err.0.len(), refused.len(), "every refused import is named: {err}");
        assert_eq!(
            verdict("wasi:http/outgoing-handler@0.2.6", &policy),
            ImportVerdict::Linked("no host granted: every request refused")
        );
        for (found, (import, says)) in err.0.iter().zip(refused) {
            assert_eq!(found.import, import);
            assert!(found.reason.contains(says), "{found}");
        }
        let message = err.to_string();
        assert!(
            message.starts_with("it imports 7 interfaces the host refuses:"),
            "{message}"
        );
    }

    #[test]
    fn the_host_interfaces_listed_are_those_of_wit() {
        let wit = concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit");
        for (major, listed) in WORLD_INTERFACES {
            let mut defined = std::collections::BTreeSet::new();
            for entry in std::fs::read_dir(wit).expect("wit/ is listed") {
                let path = entry.expect("an entry").path();
                let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                if !name.starts_with(&format!("task-events@{major}.")) {
                    continue;
                }
                let text = std::fs::read_to_string(path.join("plugin.wit")).expect("plugin.wit is read");
                // What the world exports (`handler`, `lifecycle`) is never imported.
                let exported: Vec<&str> = text
                    .lines()
                    .filter_map(|line| line.trim().strip_prefix("export "))
                    .map(|rest| rest.trim_end_matches(';').trim())
                    .collect();
                for line in text.lines() {
                    if let Some(rest) = line.trim().strip_prefix("interface ") {
                        let interface = rest.trim_end_matches('{').trim();
                        if !exported.contains(&interface) {
                            defined.insert(interface.to_string());
                        }
                    }
                }
            }
            let listed: std::collections::BTreeSet<String> = listed.iter().map(|s| s.to_string()).collect();
            assert_eq!(listed, defined, "task-events@{major}");
        }
    }
}
