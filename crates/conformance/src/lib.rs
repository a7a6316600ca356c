//! The ABI conformance suite.
//!
//! One host, and conformance guests: each is the same scenario plugin
//! (documented in `wit/CONFORMANCE.md`) written in one language for one
//! world version, with that world's scenario manifest
//! (`tests/fixtures/conformance-v*/plugin.toml`). A guest logs what it
//! receives and performs the host call that the title of the task it is told
//! about names; each case checks the log, the outcome and the task store.
//! The result is a matrix of case × (language, world).
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

/// The scenario's manifest for a world.
pub fn manifest_text(world: WorldVersion) -> &'static str {
    match world {
        WorldVersion::V1 => MANIFEST_V1,
        WorldVersion::V2 => MANIFEST_V2,
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
        })
    }

    /// A language that has no guest for this world, and why (its tool
    /// cannot target it): every case shows `n/a`.
    pub fn unavailable(language: impl Into<String>, world: WorldVersion, why: impl Into<String>) -> Guest {
        Guest {
            language: language.into(),
            world,
            component: Err(why.into()),
        }
    }

    /// The matrix column's title, e.g. `python @2`.
    pub fn column(&self) -> String {
        format!("{} @{}", self.language, self.world.major())
    }
}

/// The Rust guests built into this crate, one per world.
pub fn rust_guests() -> Vec<Guest> {
    let built = |world, component: artifacts::Component| Guest {
        language: "rust".to_string(),
        world,
        component: Ok(GuestComponent {
            path: PathBuf::from(component.path),
            bytes: component.bytes.into(),
        }),
    };
    vec![
        built(WorldVersion::V1, artifacts::CONFORMANCE_V1),
        built(WorldVersion::V2, artifacts::CONFORMANCE_V2),
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
    /// What happened.
    pub verdict: Verdict,
}

/// Every case on every guest.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The matrix's columns: each guest's language and world, in order.
    pub columns: Vec<(String, WorldVersion)>,
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
            .map(|(language, world)| format!("{language} @{}", world.major()))
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
            for (language, world) in &self.columns {
                let cell = self
                    .results
                    .iter()
                    .find(|r| r.case == case.name && r.world == *world && r.language == *language)
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
                    failure.case, failure.language, failure.world
                );
            }
        }
        let _ = writeln!(out, "conformance: {pass} passed, {fail} failed");
        out
    }
}

/// A guest loaded with its world's scenario manifest.
pub(crate) struct Fixture {
    pub(crate) world: WorldVersion,
    pub(crate) plugin: LoadedPlugin,
    pub(crate) manifest_text: &'static str,
    pub(crate) bytes: Arc<[u8]>,
}

fn load(runtime: &Runtime, guest: &Guest, component: &GuestComponent) -> Result<Fixture, Error> {
    let manifest_text = manifest_text(guest.world);
    let dir = component.path.parent().unwrap_or(Path::new("."));
    let manifest = Manifest::parse(manifest_text, &dir.join("plugin.toml"))?;
    let plugin = runtime
        .load_bytes(
            manifest,
            dir,
            &component.path,
            &component.bytes,
            &LoadOptions::trusting_manifest(),
        )
        .map_err(|source| Error::Load {
            language: guest.language.clone(),
            world: guest.world,
            source: Box::new(source),
        })?;
    Ok(Fixture {
        world: guest.world,
        plugin,
        manifest_text,
        bytes: component.bytes.clone(),
    })
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
        report.columns.push((guest.language.clone(), guest.world));
        let fixture = match &guest.component {
            Ok(component) => Some(load(runtime, guest, component)?),
            Err(_) => None,
        };
        loaded.push((guest, fixture));
    }
    for case in CASES {
        for (guest, fixture) in &loaded {
            let verdict = match fixture {
                Some(fixture) => (case.run)(runtime, fixture),
                None => Verdict::NotApplicable,
            };
            report.results.push(CaseResult {
                case: case.name,
                language: guest.language.clone(),
                world: guest.world,
                verdict,
            });
        }
    }
    Ok(report)
}
