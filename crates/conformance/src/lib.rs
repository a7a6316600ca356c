//! The ABI conformance suite.
//!
//! One host, and conformance guests: each is the same scenario plugin
//! (documented in `wit/CONFORMANCE.md`) written in one language for one
//! world release (@1, and the 2.x body built against 2.0.0, 2.1.0 and
//! 2.2.0), with that world's scenario manifest, resources and locales
//! (`tests/fixtures/conformance-v*`). A guest logs what it
//! receives and performs the host call that the title of the task it is told
//! about names; each case checks the log, the outcome and the task store.
//! The result is a matrix of case × (language, world release).
//!
//! [`rust_guests`] are the Rust guests built into this crate (from
//! `tests/fixtures/conformance-v*`); [`Guest::from_file`] takes a guest
//! built elsewhere, in any language, and [`run_guests`] runs every case on a
//! list of them. A language without a guest for a world shows `n/a` there
//! ([`Guest::unavailable`]).
//!
//! The suite never changes anything outside the in-memory stores it makes.

mod cases;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plugboard_host::{LoadError, LoadOptions, LoadedPlugin, Runtime, RuntimeError, WorldVersion};
use plugboard_manifest::{Manifest, ManifestError};
use plugboard_test_artifacts as artifacts;

pub use cases::CASES;

/// The scenario's manifest for task-events@1: every guest of that world is
/// loaded with it, whatever its language.
pub const MANIFEST_V1: &str = include_str!("../../../tests/fixtures/conformance-v1/plugin.toml");
/// The scenario's manifest for task-events@2.
pub const MANIFEST_V2: &str = include_str!("../../../tests/fixtures/conformance-v2/plugin.toml");

/// The largest guest component read from a file (a Python guest, which
/// carries its interpreter, is some 20 MB).
pub const MAX_GUEST_BYTES: u64 = 256 * 1024 * 1024;

/// The matrix's world releases, as its columns name them.
pub const RELEASES: [&str; 4] = [
    "task-events@1.0.0",
    "task-events@2.0.0",
    "task-events@2.1.0",
    "task-events@2.2.0",
];

/// The scenario's manifest for a world.
pub fn manifest_text(world: WorldVersion) -> &'static str {
    match world {
        WorldVersion::V1 => MANIFEST_V1,
        WorldVersion::V2 | WorldVersion::V3Dev => MANIFEST_V2,
    }
}

/// The fixture folder a guest of `world` is loaded with (its manifest, its
/// `resources/` and `locales/`).
fn scenario_folder(world: WorldVersion) -> &'static str {
    match world {
        WorldVersion::V1 => "conformance-v1",
        WorldVersion::V2 | WorldVersion::V3Dev => "conformance-v2",
    }
}

/// The source folder of the fixtures.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");

/// The language the fixtures are loaded for, so that `locale.translate`
/// has a user language to find and one (English) to fall back to.
pub(crate) const USER_LANGUAGE: &str = "de";

/// How the suite loads a fixture: granted what it requests, for a user
/// reading German.
pub(crate) fn fixture_options() -> LoadOptions {
    LoadOptions {
        language: USER_LANGUAGE.parse().ok(),
        ..LoadOptions::trusting_manifest()
    }
}

/// Why the suite could not run at all (as opposed to a case failing).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The runtime could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A fixture's manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A guest did not load.
    #[error("the {language} guest for {world}: {source}")]
    Load {
        /// Its language.
        language: String,
        /// Its world.
        world: WorldVersion,
        /// Why (boxed: a load error is large, and rare).
        source: Box<LoadError>,
    },
    /// A guest file cannot be read.
    #[error("cannot read the guest {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A guest file is larger than [`MAX_GUEST_BYTES`].
    #[error("the guest {} is larger than {MAX_GUEST_BYTES} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
}

/// A conformance guest: the scenario in one language for one world.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Its language, as the matrix shows it (`rust`, `python`, ...).
    pub language: String,
    /// The world it is built for.
    pub world: WorldVersion,
    /// The component, or why there is none (shown as `n/a`).
    pub component: Result<GuestComponent, String>,
    /// The fixture folder it is loaded with, and that folder's manifest.
    scenario: (&'static str, &'static str),
}

/// A guest's component.
#[derive(Debug, Clone)]
pub struct GuestComponent {
    /// Where it was built (named in messages).
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Arc<[u8]>,
}

impl Guest {
    /// A guest built elsewhere, read from `path`.
    pub fn from_file(language: impl Into<String>, world: WorldVersion, path: impl AsRef<Path>) -> Result<Guest, Error> {
        use std::io::Read as _;
        let path = path.as_ref();
        let read = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_GUEST_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read)?;
        if bytes.len() as u64 > MAX_GUEST_BYTES {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
            });
        }
        Ok(Guest {
            language: language.into(),
            world,
            component: Ok(GuestComponent {
                path: path.to_path_buf(),
                bytes: bytes.into(),
            }),
            scenario: (scenario_folder(world), manifest_text(world)),
        })
    }

    /// A language that has no guest for this world, and why (its tool
    /// cannot target it): every case shows `n/a`.
    pub fn unavailable(language: impl Into<String>, world: WorldVersion, why: impl Into<String>) -> Guest {
        Guest {
            language: language.into(),
            world,
            component: Err(why.into()),
            scenario: (scenario_folder(world), manifest_text(world)),
        }
    }

    /// The guest's language and world major, e.g. `python @2`, for
    /// messages (the matrix names the release once the guest is loaded).
    pub fn column(&self) -> String {
        format!("{} @{}", self.language, self.world.major())
    }
}

/// The Rust guests built into this crate, one per world release: @1, and
/// the same 2.x body built against 2.0.0, 2.1.0 and 2.2.0.
pub fn rust_guests() -> Vec<Guest> {
    let built = |world, folder, manifest, component: artifacts::Component| Guest {
        language: "rust".to_string(),
        world,
        component: Ok(GuestComponent {
            path: PathBuf::from(component.path),
            bytes: component.bytes.into(),
        }),
        scenario: (folder, manifest),
    };
    vec![
        built(
            WorldVersion::V1,
            "conformance-v1",
            MANIFEST_V1,
            artifacts::CONFORMANCE_V1,
        ),
        built(
            WorldVersion::V2,
            "conformance-v2-0",
            include_str!("../../../tests/fixtures/conformance-v2-0/plugin.toml"),
            artifacts::CONFORMANCE_V2_0,
        ),
        built(
            WorldVersion::V2,
            "conformance-v2-1",
            include_str!("../../../tests/fixtures/conformance-v2-1/plugin.toml"),
            artifacts::CONFORMANCE_V2_1,
        ),
        built(
            WorldVersion::V2,
            "conformance-v2",
            MANIFEST_V2,
            artifacts::CONFORMANCE_V2,
        ),
    ]
}

/// The verdict of one case for one world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The world behaved as specified.
    Pass,
    /// It did not; the text says how.
    Fail(String),
    /// The world has no such feature (for example `state` in task-events@1).
    NotApplicable,
}

/// One cell of the matrix.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's name.
    pub case: &'static str,
    /// The guest's language.
    pub language: String,
    /// The world it ran on.
    pub world: WorldVersion,
    /// The release the guest was built against (one of [`RELEASES`]), or
    /// `@1` / `@2` for a guest that is not there.
    pub release: &'static str,
    /// What happened.
    pub verdict: Verdict,
}

/// Every case on every guest.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The matrix's columns: each guest's language and world release, in
    /// order.
    pub columns: Vec<(String, &'static str)>,
    /// The cells, case by case, guest by guest.
    pub results: Vec<CaseResult>,
}

impl Report {
    /// Whether no case failed.
    pub fn passed(&self) -> bool {
        !self.results.iter().any(|r| matches!(r.verdict, Verdict::Fail(_)))
    }

    /// The cells that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|r| matches!(r.verdict, Verdict::Fail(_)))
    }

    /// The matrix as text (a row per case, a column per language and
    /// world), followed by the reason of each failure.
    pub fn render(&self) -> String {
        let width = CASES.iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
        let titles: Vec<String> = self
            .columns
            .iter()
            .map(|(language, release)| format!("{language} {}", short(release)))
            .collect();
        let column = titles.iter().map(String::len).max().unwrap_or(4).max(4);
        let mut out = String::new();
        let _ = write!(out, "{:width$}", "case");
        for title in &titles {
            let _ = write!(out, "  {title:column$}");
        }
        out.push('\n');
        for case in CASES {
            let _ = write!(out, "{:width$}", case.name);
            for (language, release) in &self.columns {
                let cell = self
                    .results
                    .iter()
                    .find(|r| r.case == case.name && r.release == *release && r.language == *language)
                    .map_or("-", |r| match r.verdict {
                        Verdict::Pass => "pass",
                        Verdict::Fail(_) => "FAIL",
                        Verdict::NotApplicable => "n/a",
                    });
                let _ = write!(out, "  {cell:column$}");
            }
            out.push('\n');
        }
        let (pass, fail) = self.results.iter().fold((0, 0), |(p, f), r| match r.verdict {
            Verdict::Pass => (p + 1, f),
            Verdict::Fail(_) => (p, f + 1),
            Verdict::NotApplicable => (p, f),
        });
        for failure in self.failures() {
            if let Verdict::Fail(why) = &failure.verdict {
                let _ = writeln!(
                    out,
                    "FAIL {} on {} {}: {why}",
                    failure.case, failure.language, failure.release
                );
            }
        }
        let _ = writeln!(out, "conformance: {pass} passed, {fail} failed");
        out
    }
}

/// A column's short title for a release: `task-events@2.1.0` is `2.1`.
fn short(release: &str) -> &str {
    let version = release.strip_prefix("task-events@").unwrap_or(release);
    version.strip_suffix(".0").unwrap_or(version)
}

/// A guest loaded with its world's scenario manifest.
pub(crate) struct Fixture {
    pub(crate) world: WorldVersion,
    /// The minor release it is built against (0 for @1).
    pub(crate) minor: u64,
    pub(crate) release: &'static str,
    pub(crate) plugin: LoadedPlugin,
    pub(crate) manifest_text: &'static str,
    pub(crate) bytes: Arc<[u8]>,
}

fn load(runtime: &Runtime, guest: &Guest, component: &GuestComponent) -> Result<Fixture, Error> {
    let (folder, manifest_text) = guest.scenario;
    let dir = Path::new(FIXTURES).join(folder);
    let manifest = Manifest::parse(manifest_text, &dir.join("plugin.toml"))?;
    let plugin = runtime
        .load_bytes(manifest, &dir, &component.path, &component.bytes, &fixture_options())
        .map_err(|source| Error::Load {
            language: guest.language.clone(),
            world: guest.world,
            source: Box::new(source),
        })?;
    let minor = plugin.world().map_or(0, |w| w.built_against.minor);
    let release = match (guest.world, minor) {
        (WorldVersion::V1, _) => RELEASES[0],
        (WorldVersion::V2, 0) => RELEASES[1],
        (WorldVersion::V2, 1) => RELEASES[2],
        (WorldVersion::V2 | WorldVersion::V3Dev, _) => RELEASES[3],
    };
    Ok(Fixture {
        world: guest.world,
        minor,
        release,
        plugin,
        manifest_text,
        bytes: component.bytes.clone(),
    })
}

/// Runs every case against one guest built elsewhere (another language's
/// build of the scenario plugin for `world`), read from `component`.
pub fn run_guest(runtime: &Runtime, world: WorldVersion, component: &Path) -> Result<Report, Error> {
    run_guests(runtime, &[Guest::from_file("guest", world, component)?])
}

/// Runs every case on the Rust guests, on one host.
pub fn run() -> Result<Report, Error> {
    let runtime = Runtime::new()?;
    run_on(&runtime)
}

/// Runs every case on the Rust guests, on an existing runtime.
pub fn run_on(runtime: &Runtime) -> Result<Report, Error> {
    run_guests(runtime, &rust_guests())
}

/// Runs every case on every guest, on one runtime; a guest that does not
/// load stops the suite (it is no conformance failure of the host).
pub fn run_guests(runtime: &Runtime, guests: &[Guest]) -> Result<Report, Error> {
    let mut report = Report::default();
    let mut loaded = Vec::new();
    for guest in guests {
        let fixture = match &guest.component {
            Ok(component) => Some(load(runtime, guest, component)?),
            Err(_) => None,
        };
        let release = fixture.as_ref().map_or(
            match guest.world {
                WorldVersion::V1 => "@1",
                WorldVersion::V2 | WorldVersion::V3Dev => "@2",
            },
            |f| f.release,
        );
        report.columns.push((guest.language.clone(), release));
        loaded.push((guest, fixture, release));
    }
    for case in CASES {
        for (guest, fixture, release) in &loaded {
            let verdict = match fixture {
                Some(fixture) => (case.run)(runtime, fixture),
                None => Verdict::NotApplicable,
            };
            report.results.push(CaseResult {
                case: case.name,
                language: guest.language.clone(),
                world: guest.world,
                release,
                verdict,
            });
        }
    }
    Ok(report)
}
