//! The ABI conformance suite.
//!
//! One host, one fixture plugin per world version (built from
//! `tests/fixtures/conformance-v*`), every event kind and every host call.
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
    #[error("cannot read the conformance guest {}: {source}", path.display())]
    Read {
        /// The component asked for.
        path: PathBuf,
        /// Why it could not be read.
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
    /// What happened.
    pub verdict: Verdict,
}

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
        for world in WorldVersion::ALL {
            let _ = write!(out, "  {:15}", world.to_string());
        }
        out.push('\n');
        for case in CASES {
            let _ = write!(out, "{:width$}", case.name);
            for world in WorldVersion::ALL {
                let cell = self
                    .results
                    .iter()
                    .find(|r| r.case == case.name && r.world == world)
                    .map_or("-", |r| match r.verdict {
                        Verdict::Pass => "pass",
                        Verdict::Fail(_) => "FAIL",
                        Verdict::NotApplicable => "n/a",
                    });
                let _ = write!(out, "  {cell:15}");
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
                let _ = writeln!(out, "FAIL {} on {}: {why}", failure.case, failure.world);
            }
        }
        let _ = writeln!(out, "conformance: {pass} passed, {fail} failed");
        out
    }
}

/// A fixture plugin loaded for one world.
pub(crate) struct Fixture {
    pub(crate) world: WorldVersion,
    pub(crate) plugin: LoadedPlugin,
    pub(crate) manifest_text: &'static str,
    pub(crate) bytes: Cow<'static, [u8]>,
}

fn load_fixture(
    runtime: &Runtime,
    world: WorldVersion,
    manifest_text: &'static str,
    component: artifacts::Component,
) -> Result<Fixture, Error> {
    load_component(
        runtime,
        world,
        manifest_text,
        Path::new(component.path),
        Cow::Borrowed(component.bytes),
    )
}

fn load_component(
    runtime: &Runtime,
    world: WorldVersion,
    manifest_text: &'static str,
    origin: &Path,
    bytes: Cow<'static, [u8]>,
) -> Result<Fixture, Error> {
    let dir = origin.parent().unwrap_or(Path::new("."));
    let manifest = Manifest::parse(manifest_text, &dir.join("plugin.toml"))?;
    let plugin = runtime.load_bytes(manifest, dir, origin, &bytes, &LoadOptions::trusting_manifest())?;
    Ok(Fixture {
        world,
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

/// Runs every case against one guest built elsewhere (another language's
/// build of the scenario plugin for `world`), loaded from `component` with
/// the scenario's manifest. The report holds that world's column only.
pub fn run_guest(runtime: &Runtime, world: WorldVersion, component: &Path) -> Result<Report, Error> {
    let bytes = std::fs::read(component).map_err(|source| Error::Read {
        path: component.to_path_buf(),
        source,
    })?;
    let fixture = load_component(runtime, world, scenario_manifest(world), component, Cow::Owned(bytes))?;
    let mut report = Report::default();
    for case in CASES {
        report.results.push(CaseResult {
            case: case.name,
            world,
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
            WorldVersion::V1,
            scenario_manifest(WorldVersion::V1),
            artifacts::CONFORMANCE_V1,
        )?,
        load_fixture(
            runtime,
            WorldVersion::V2,
            scenario_manifest(WorldVersion::V2),
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
                verdict,
            });
        }
    }
    Ok(report)
}
