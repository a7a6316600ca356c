//! The ABI conformance suite.
//!
//! One host, one fixture plugin per world release (built from
//! `tests/fixtures/conformance-v*`: @1, and the same 2.x body built against
//! 2.0.0, 2.1.0 and 2.2.0), every event kind and every host call.
//! A fixture logs what it receives and performs the host call that the title
//! of the task it is told about names; each case checks the log, the
//! outcome and the task store. The result is a matrix of case × world.
//!
//! The suite never changes anything outside the in-memory stores it makes.

mod cases;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plugboard_host::{LoadError, LoadOptions, LoadedPlugin, Runtime, RuntimeError, WorldVersion};
use plugboard_manifest::{Manifest, ManifestError};
use plugboard_test_artifacts as artifacts;

pub use cases::CASES;

/// Why the suite could not run at all (as opposed to a case failing).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The runtime could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A fixture's manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A fixture did not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A guest's component could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
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
    /// The world it ran on.
    pub world: WorldVersion,
    /// The release its fixture was built against: the matrix's column,
    /// e.g. `task-events@2.1.0`.
    pub release: &'static str,
    /// What happened.
    pub verdict: Verdict,
}

/// The matrix's columns: the release each fixture is built against.
pub const RELEASES: [&str; 4] = [
    "task-events@1.0.0",
    "task-events@2.0.0",
    "task-events@2.1.0",
    "task-events@2.2.0",
];

/// Every case on every world.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The cells, case by case, world by world.
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

    /// The matrix as text, followed by the reason of each failure.
    pub fn render(&self) -> String {
        let width = CASES.iter().map(|c| c.name.len()).max().unwrap_or(4).max(4);
        let mut out = String::new();
        let _ = write!(out, "{:width$}", "case");
        for release in RELEASES {
            let _ = write!(out, "  {release:17}");
        }
        out.push('\n');
        for case in CASES {
            let _ = write!(out, "{:width$}", case.name);
            for release in RELEASES {
                let cell = self
                    .results
                    .iter()
                    .find(|r| r.case == case.name && r.release == release)
                    .map_or("-", |r| match r.verdict {
                        Verdict::Pass => "pass",
                        Verdict::Fail(_) => "FAIL",
                        Verdict::NotApplicable => "n/a",
                    });
                let _ = write!(out, "  {cell:17}");
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
                let _ = writeln!(out, "FAIL {} on {}: {why}", failure.case, failure.release);
            }
        }
        let _ = writeln!(out, "conformance: {pass} passed, {fail} failed");
        out
    }
}

/// A fixture plugin loaded for one world release.
pub(crate) struct Fixture {
    pub(crate) world: WorldVersion,
    /// The minor release it is built against (0 for @1).
    pub(crate) minor: u64,
    pub(crate) release: &'static str,
    pub(crate) plugin: LoadedPlugin,
    pub(crate) manifest_text: &'static str,
    pub(crate) bytes: Cow<'static, [u8]>,
}

/// The source folder of the fixtures (their `resources/` and `locales/`).
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

fn load_fixture(
    runtime: &Runtime,
    release: &'static str,
    folder: &str,
    manifest_text: &'static str,
    component: artifacts::Component,
) -> Result<Fixture, Error> {
    load_component(
        runtime,
        Some(release),
        folder,
        manifest_text,
        Path::new(component.path),
        Cow::Borrowed(component.bytes),
    )
}

/// Loads a scenario component with the manifest and the folder (its
/// `resources/` and `locales/`) of the Rust fixture `folder`; the column is
/// `release`, or the release the component says it was built against.
fn load_component(
    runtime: &Runtime,
    release: Option<&'static str>,
    folder: &str,
    manifest_text: &'static str,
    origin: &Path,
    bytes: Cow<'static, [u8]>,
) -> Result<Fixture, Error> {
    let dir = Path::new(FIXTURES).join(folder);
    let manifest = Manifest::parse(manifest_text, &dir.join("plugin.toml"))?;
    let plugin = runtime.load_bytes(manifest, &dir, origin, &bytes, &fixture_options())?;
    let built = plugin.world().map(|w| w.built_against.clone());
    let minor = built.as_ref().map_or(0, |v| v.minor);
    let world = plugin.world().map_or(WorldVersion::V1, |w| w.version);
    let release = release.unwrap_or(match (world, minor) {
        (WorldVersion::V1, _) => RELEASES[0],
        (WorldVersion::V2, 0) => RELEASES[1],
        (WorldVersion::V2, 1) => RELEASES[2],
        (WorldVersion::V2, _) => RELEASES[3],
    });
    Ok(Fixture {
        world,
        minor,
        release,
        plugin,
        manifest_text,
        bytes,
    })
}

/// The manifest of the scenario plugin of `world` (the Rust fixture's, in
/// `tests/fixtures/conformance-v*/plugin.toml`): a guest of the scenario
/// written in another language is loaded with it.
pub fn scenario_manifest(world: WorldVersion) -> &'static str {
    match world {
        WorldVersion::V1 => include_str!("../../../tests/fixtures/conformance-v1/plugin.toml"),
        WorldVersion::V2 => include_str!("../../../tests/fixtures/conformance-v2/plugin.toml"),
    }
}

/// The Rust fixture folder of `world`'s scenario.
fn scenario_folder(world: WorldVersion) -> &'static str {
    match world {
        WorldVersion::V1 => "conformance-v1",
        WorldVersion::V2 => "conformance-v2",
    }
}

/// Runs every case against one guest built elsewhere (another language's
/// build of the scenario plugin for `world`), loaded from `component` with
/// the scenario's manifest. The report holds the column of the release the
/// guest was built against only.
pub fn run_guest(runtime: &Runtime, world: WorldVersion, component: &Path) -> Result<Report, Error> {
    let bytes = std::fs::read(component).map_err(|source| Error::Read {
        path: component.to_path_buf(),
        source,
    })?;
    let fixture = load_component(
        runtime,
        None,
        scenario_folder(world),
        scenario_manifest(world),
        component,
        Cow::Owned(bytes),
    )?;
    let mut report = Report::default();
    for case in CASES {
        report.results.push(CaseResult {
            case: case.name,
            world: fixture.world,
            release: fixture.release,
            verdict: (case.run)(runtime, &fixture),
        });
    }
    Ok(report)
}

/// Runs every case on every world the host speaks, on one host.
pub fn run() -> Result<Report, Error> {
    let runtime = Runtime::new()?;
    run_on(&runtime)
}

/// Runs the suite on an existing runtime.
pub fn run_on(runtime: &Runtime) -> Result<Report, Error> {
    let fixtures = [
        load_fixture(
            runtime,
            RELEASES[0],
            "conformance-v1",
            include_str!("../../../tests/fixtures/conformance-v1/plugin.toml"),
            artifacts::CONFORMANCE_V1,
        )?,
        load_fixture(
            runtime,
            RELEASES[1],
            "conformance-v2-0",
            include_str!("../../../tests/fixtures/conformance-v2-0/plugin.toml"),
            artifacts::CONFORMANCE_V2_0,
        )?,
        load_fixture(
            runtime,
            RELEASES[2],
            "conformance-v2-1",
            include_str!("../../../tests/fixtures/conformance-v2-1/plugin.toml"),
            artifacts::CONFORMANCE_V2_1,
        )?,
        load_fixture(
            runtime,
            RELEASES[3],
            "conformance-v2",
            include_str!("../../../tests/fixtures/conformance-v2/plugin.toml"),
            artifacts::CONFORMANCE_V2,
        )?,
    ];
    let mut report = Report::default();
    for case in CASES {
        for fixture in &fixtures {
            let verdict = (case.run)(runtime, fixture);
            report.results.push(CaseResult {
                case: case.name,
                world: fixture.world,
                release: fixture.release,
                verdict,
            });
        }
    }
    Ok(report)
}
