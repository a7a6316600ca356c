//! `plugboard conformance`: runs the ABI conformance suite on this host,
//! on its built-in Rust guests or on a guest built elsewhere (`--guest`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use plugboard_host::{Runtime, WorldVersion};

/// How to run a guest built elsewhere, for `plugboard conformance --help`.
pub const GUEST_HELP: &str = "A guest built elsewhere (--guest FILE.wasm) is the conformance scenario of wit/CONFORMANCE.md \
written in any language for one world; it is loaded with that world's scenario manifest, granted what it \
requests, and every case runs on it. Without --guest the suite runs on the Rust guests built into plugboard.";

/// `plugboard conformance`'s arguments.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// A conformance guest component built elsewhere, to run the suite on
    /// instead of the built-in ones.
    #[arg(long, value_name = "FILE.wasm")]
    guest: Option<PathBuf>,
    /// The world the guest is built for: task-events@2 (the default) or
    /// task-events@1 (also written 2 or 1).
    #[arg(long, requires = "guest")]
    world: Option<String>,
    /// The guest's language, as the matrix shows it (default: `guest`).
    #[arg(long, requires = "guest")]
    language: Option<String>,
}

fn world(text: &str) -> anyhow::Result<WorldVersion> {
    let major = text.strip_prefix("task-events@").unwrap_or(text);
    let major = major.split('.').next().unwrap_or(major);
    match WorldVersion::ALL.into_iter().find(|w| w.major().to_string() == major) {
        Some(world) => Ok(world),
        None => bail!(
            "--world {text:?}: the worlds are {}",
            WorldVersion::ALL.map(|w| w.to_string()).join(", ")
        ),
    }
}

/// Runs the suite and prints its matrix; success iff no case failed.
pub fn conformance(args: &ConformanceArgs) -> anyhow::Result<ExitCode> {
    let report = match &args.guest {
        None => plugboard_conformance::run()?,
        Some(path) => {
            let world = world(args.world.as_deref().unwrap_or("task-events@2"))?;
            let language = args.language.as_deref().unwrap_or("guest");
            let guest = plugboard_conformance::Guest::from_file(language, world, path)?;
            plugboard_conformance::run_guests(&Runtime::new()?, &[guest])?
        }
    };
    print!("{}", report.render());
    if report.passed() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: the conformance suite failed (see the matrix above)");
        Ok(ExitCode::FAILURE)
    }
}
