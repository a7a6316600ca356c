//! Which world version a component speaks, read from its exports and imports.

use std::fmt;

use semver::Version;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The WIT package every plugboard world lives in.
pub const PACKAGE: &str = "plugboard:task-events";

/// The interface a plugin exports; its version decides the world.
pub const HANDLER_INTERFACE: &str = "handler";

/// A world version the host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorldVersion {
    /// `plugboard:task-events@1.x`, served through the v1 adapter.
    V1,
    /// `plugboard:task-events@2.x`, implemented natively.
    V2,
    /// `plugboard:task-events@3.0.0-dev`, the next major while it is
    /// designed: spoken only when the embedder or the user opts in
    /// ([`crate::RuntimeOptions::unstable_world`]); 2.2.0 plus `host-info`.
    V3Dev,
}

impl WorldVersion {
    /// Every released version the host speaks, oldest first.
    pub const ALL: [WorldVersion; 2] = [WorldVersion::V1, WorldVersion::V2];

    /// The pre-release the host speaks when opted in.
    pub const UNRELEASED: WorldVersion = WorldVersion::V3Dev;

    /// The newest release of this major that the host implements.
    pub fn host_release(self) -> Version {
        match self {
            WorldVersion::V1 => Version::new(1, 0, 0),
            WorldVersion::V2 => Version::new(2, 2, 0),
            WorldVersion::V3Dev => Version {
                // `dev` is a valid pre-release identifier, so this never
                // falls back to none.
                pre: semver::Prerelease::new("dev").unwrap_or(semver::Prerelease::EMPTY),
                ..Version::new(3, 0, 0)
            },
        }
    }

    /// The major version number.
    pub fn major(self) -> u64 {
        match self {
            WorldVersion::V1 => 1,
            WorldVersion::V2 => 2,
            WorldVersion::V3Dev => 3,
        }
    }

    /// The released version with this major, if the host speaks it.
    pub fn from_major(major: u64) -> Option<WorldVersion> {
        WorldVersion::ALL.into_iter().find(|v| v.major() == major)
    }

    /// Whether this is a pre-release, spoken only when opted in.
    pub fn is_unreleased(self) -> bool {
        self == WorldVersion::UNRELEASED
    }

    /// A human list of what the host speaks, e.g. `1.0.0, 2.2.0`.
    pub fn spoken() -> String {
        WorldVersion::ALL
            .iter()
            .map(|v| v.host_release().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for WorldVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorldVersion::V3Dev => write!(f, "task-events@{}", self.host_release()),
            _ => write!(f, "task-events@{}", self.major()),
        }
    }
}

/// The world a component was found to speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectedWorld {
    /// The major the host will use for it.
    pub version: WorldVersion,
    /// The exact release the component was built against.
    pub built_against: Version,
}

/// Why a component's world could not be decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    /// No `plugboard:task-events/handler@…` export.
    #[error(
        "the component exports no `{PACKAGE}/{HANDLER_INTERFACE}` interface, so it is not a plugboard plugin \
         (this host speaks {spoken}); build it against one of the worlds in wit/",
        spoken = WorldVersion::spoken()
    )]
    NoHandler,
    /// More than one handler export.
    #[error(
        "the component exports handlers of several world versions ({found}); a plugin must export exactly one: \
         build it against a single world"
    )]
    SeveralHandlers {
        /// The versions found, comma separated.
        found: String,
    },
    /// A handler of a major the host does not speak.
    #[error(
        "the component is built for {PACKAGE}@{found}, which this host does not speak (it speaks {spoken}); \
         rebuild the plugin against one of those, or update the host",
        spoken = WorldVersion::spoken()
    )]
    UnsupportedMajor {
        /// The version the component exports.
        found: Version,
    },
    /// A newer minor than the host implements.
    #[error(
        "the component is built for {PACKAGE}@{found}, newer than the {host} this host speaks; \
         update the host or rebuild the plugin against {host} or older"
    )]
    NewerMinor {
        /// The version the component exports.
        found: Version,
        /// The release the host implements.
        host: Version,
    },
    /// A pre-release (`2.9.0-rc`, `2.1.0-rc.1`) the host does not speak
    /// exactly: a pre-release promises no compatibility with any release.
    #[error(
        "the component names `{name}`, built for the pre-release {PACKAGE}@{found}, which this host does not \
         speak (it speaks {spoken}); rebuild the plugin against a released world",
        spoken = WorldVersion::spoken()
    )]
    PreRelease {
        /// The interface name as written in the component.
        name: String,
        /// Its version.
        found: Version,
    },
    /// The pre-release world, which the host speaks only when opted in.
    #[error(
        "the component is built for {PACKAGE}@{found}, a world that is not released yet: it may still change, so \
         this host speaks it only when asked to (`plugboard run --unstable-world`, or \
         `RuntimeOptions {{ unstable_world: true, .. }}` for an application embedding plugboard); \
         rebuild the plugin against a released world ({spoken}) to ship it",
        spoken = WorldVersion::spoken()
    )]
    Unreleased {
        /// The version the component exports.
        found: Version,
    },
    /// Imports of one major and a handler of another.
    #[error(
        "the component exports the {PACKAGE}@{export} handler but imports `{import}`, from another major; \
         a plugin must be built against a single world"
    )]
    MixedMajors {
        /// The handler's version.
        export: Version,
        /// The offending import's full name.
        import: String,
    },
    /// A versionless or unparsable name in our package.
    #[error("the component names `{name}`, which has no valid version; plugboard interfaces are always versioned")]
    BadVersion {
        /// The name as written in the component.
        name: String,
    },
}

/// Splits `plugboard:task-events/IFACE@VERSION` into the interface and
/// version; `None` for names outside our package.
fn parse_name(name: &str) -> Option<Result<(&str, Version), WorldError>> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    let bad = || WorldError::BadVersion { name: name.to_string() };
    let Some((iface, version)) = rest.split_once('@') else {
        return Some(Err(bad()));
    };
    Some(Version::parse(version).map(|v| (iface, v)).map_err(|_| bad()))
}

/// Decides the world of a compiled component from its exports and imports.
///
/// Exactly one `plugboard:task-events/handler@X.Y.Z` export must exist, of a
/// major the host speaks and a release no newer than the host's; every
/// `plugboard:task-events` import must be of the same major.
pub fn detect(engine: &Engine, component: &Component) -> Result<DetectedWorld, WorldError> {
    detect_opting(engine, component, false)
}

/// [`detect`], speaking the pre-release world too when `unstable` is set.
pub fn detect_opting(engine: &Engine, component: &Component, unstable: bool) -> Result<DetectedWorld, WorldError> {
    let ty = component.component_type();
    let export_names: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let import_names: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    detect_from_names_opting(&export_names, &import_names, unstable)
}

/// [`detect`] over plain names, so the rules can be tested without a component.
pub fn detect_from_names(exports: &[String], imports: &[String]) -> Result<DetectedWorld, WorldError> {
    detect_from_names_opting(exports, imports, false)
}

/// [`detect_from_names`], speaking the pre-release world too when
/// `unstable` is set. Its release is spoken exactly: `3.0.0-dev` and no
/// other 3.x, released or not; without `unstable` a plugin built for it is
/// refused saying the world is unreleased and how to opt in.
pub fn detect_from_names_opting(
    exports: &[String],
    imports: &[String],
    unstable: bool,
) -> Result<DetectedWorld, WorldError> {
    let mut handlers = Vec::new();
    for name in exports {
        if let Some(parsed) = parse_name(name) {
            let (iface, version) = parsed?;
            if iface == HANDLER_INTERFACE {
                handlers.push(version);
            }
        }
    }
    let built_against = match handlers.len() {
        0 => return Err(WorldError::NoHandler),
        1 => handlers.remove(0),
        _ => {
            let found = handlers.iter().map(Version::to_string).collect::<Vec<_>>().join(", ");
            return Err(WorldError::SeveralHandlers { found });
        }
    };
    let unreleased = WorldVersion::UNRELEASED;
    let version = match WorldVersion::from_major(built_against.major) {
        Some(version) => version,
        None if built_against == unreleased.host_release() && unstable => unreleased,
        None if built_against == unreleased.host_release() => {
            return Err(WorldError::Unreleased { found: built_against });
        }
        None => {
            return Err(WorldError::UnsupportedMajor { found: built_against });
        }
    };
    let host = version.host_release();
    let handler = format!("{PACKAGE}/{HANDLER_INTERFACE}@{built_against}");
    spoken_release(&handler, &built_against, &host)?;
    for name in imports {
        if let Some(parsed) = parse_name(name) {
            let (_, import_version) = parsed?;
            if import_version.major != built_against.major {
                return Err(WorldError::MixedMajors {
                    export: built_against,
                    import: name.clone(),
                });
            }
            if version.is_unreleased() && import_version != host {
                // The pre-release is spoken exactly: nothing of it is
                // promised to match any other release.
                return Err(WorldError::PreRelease {
                    name: name.clone(),
                    found: import_version,
                });
            }
            spoken_release(name, &import_version, &host)?;
        }
    }
    Ok(DetectedWorld { version, built_against })
}

/// Refuses a version of a major the host speaks when it is newer than the
/// host's release, or a pre-release other than exactly the host's (semver
/// orders `2.1.0-rc.1` before `2.1.0`, but a pre-release promises nothing,
/// so only the exact one the host implements is spoken).
fn spoken_release(name: &str, found: &Version, host: &Version) -> Result<(), WorldError> {
    if !found.pre.is_empty() && found != host {
        return Err(WorldError::PreRelease {
            name: name.to_string(),
            found: found.clone(),
        });
    }
    if (found.minor, found.patch) > (host.minor, host.patch) {
        return Err(WorldError::NewerMinor {
            found: found.clone(),
            host: host.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_the_single_handler_major() {
        let world = detect_from_names(
            &names(&["plugboard:task-events/handler@2.0.0"]),
            &names(&["plugboard:task-events/tasks@2.0.0", "wasi:cli/stdout@0.2.6"]),
        )
        .unwrap();
        assert_eq!(world.version, WorldVersion::V2);
        assert_eq!(world.built_against, Version::new(2, 0, 0));
        let v1 = detect_from_names(&names(&["plugboard:task-events/handler@1.0.0"]), &[]).unwrap();
        assert_eq!(v1.version, WorldVersion::V1);
    }

    #[test]
    fn refuses_none_several_unknown_newer_and_mixed() {
        let err = detect_from_names(&names(&["other:pkg/handler@2.0.0"]), &[]).unwrap_err();
        assert_eq!(err, WorldError::NoHandler);
        assert!(err.to_string().contains("1.0.0, 2.2.0"), "{err}");

        let err = detect_from_names(
            &names(&[
                "plugboard:task-events/handler@1.0.0",
                "plugboard:task-events/handler@2.2.0",
            ]),
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("several world versions (1.0.0, 2.2.0)"),
            "{err}"
        );

        let err = detect_from_names(&names(&["plugboard:task-events/handler@3.0.0"]), &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("@3.0.0, which this host does not speak (it speaks 1.0.0, 2.2.0)"),
            "{err}"
        );

        let err = detect_from_names(&names(&["plugboard:task-events/handler@2.3.0"]), &[]).unwrap_err();
        assert!(
            err.to_string().contains("newer than the 2.2.0 this host speaks"),
            "{err}"
        );

        let err = detect_from_names(
            &names(&["plugboard:task-events/handler@2.1.0"]),
            &names(&["plugboard:task-events/host@1.0.0"]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("imports `plugboard:task-events/host@1.0.0`"),
            "{err}"
        );

        let err = detect_from_names(&names(&["plugboard:task-events/handler"]), &[]).unwrap_err();
        assert!(matches!(err, WorldError::BadVersion { .. }), "{err}");
    }

    #[test]
    fn the_unreleased_world_is_spoken_only_when_opted_in_and_only_exactly() {
        let handler = names(&["plugboard:task-events/handler@3.0.0-dev"]);
        let imports = names(&["plugboard:task-events/host-info@3.0.0-dev"]);
        let err = detect_from_names(&handler, &imports).unwrap_err();
        assert!(matches!(err, WorldError::Unreleased { .. }), "{err}");
        assert!(err.to_string().contains("not released yet"), "{err}");
        assert!(err.to_string().contains("--unstable-world"), "{err}");
        let world = detect_from_names_opting(&handler, &imports, true).unwrap();
        assert_eq!(world.version, WorldVersion::V3Dev);
        assert_eq!(world.version.to_string(), "task-events@3.0.0-dev");
        for other in ["3.0.0", "3.0.0-rc.1", "3.1.0-dev"] {
            let handler = names(&[&format!("plugboard:task-events/handler@{other}")]);
            let err = detect_from_names_opting(&handler, &[], true).unwrap_err();
            assert!(!matches!(err, WorldError::Unreleased { .. }), "{other}: {err}");
        }
        let err = detect_from_names_opting(&handler, &names(&["plugboard:task-events/tasks@3.0.0"]), true).unwrap_err();
        assert!(matches!(err, WorldError::PreRelease { .. }), "{err}");
    }

    #[test]
    fn refuses_pre_releases_the_host_does_not_speak_exactly() {
        for pre in ["2.9.0-rc", "2.2.0-rc.1", "2.1.0-rc.1", "2.0.0-alpha", "1.0.0-rc.2"] {
            let handler = format!("plugboard:task-events/handler@{pre}");
            let err = detect_from_names(&names(&[&handler]), &[]).unwrap_err();
            assert!(matches!(err, WorldError::PreRelease { .. }), "{pre}: {err}");
            assert!(
                err.to_string()
                    .contains(&format!("pre-release plugboard:task-events@{pre}")),
                "{err}"
            );
        }
        // A released handler with a pre-release or newer import is refused too.
        let err = detect_from_names(
            &names(&["plugboard:task-events/handler@2.0.0"]),
            &names(&["plugboard:task-events/tasks@2.9.0-rc"]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`plugboard:task-events/tasks@2.9.0-rc`"),
            "{err}"
        );
        let err = detect_from_names(
            &names(&["plugboard:task-events/handler@2.0.0"]),
            &names(&["plugboard:task-events/tasks@2.4.0"]),
        )
        .unwrap_err();
        assert!(matches!(err, WorldError::NewerMinor { .. }), "{err}");
    }
}
