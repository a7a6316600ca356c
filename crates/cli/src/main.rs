//! `plugboard`, the command line of the plugboard plugin framework.
//!
//! `run` loads a folder of plugins and feeds them application events (a JSONL
//! script of app actions, or a built-in demo) against an in-memory task
//! store, showing what each plugin did with each event. `inspect` shows what
//! a plugin folder or component file declares and speaks. `conformance` runs
//! the ABI conformance suite.
//!
//! The CLI only drives `plugboard-host`: it never grants a plugin more than
//! its manifest asks for and never touches the user's real tasks.

mod app;
mod conformance;
mod date;
mod describe;
mod inspect;
mod run;
mod script;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Run, inspect and check plugboard plugins (WebAssembly components).
#[derive(Debug, Parser)]
#[command(name = "plugboard", version, about)]
struct Cli {
    /// Show the host's tracing on stderr: -v info, -vv debug, -vvv trace
    /// (RUST_LOG, when set, overrides the level). Without it: warnings only.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Load every plugin in a folder and feed them app events.
    #[command(after_help = script::FORMAT_HELP)]
    Run(run::RunArgs),
    /// Show a plugin folder's manifest and its component's world, imports
    /// and exports, or those of a single .wasm file.
    Inspect {
        /// A plugin folder (plugin.toml + component) or a .wasm file.
        path: PathBuf,
    },
    /// Run the ABI conformance suite and print its matrix; exits 0 iff it passed.
    Conformance,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Inspect { path } => inspect::inspect(&path),
        Command::Conformance => conformance::conformance(),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sends tracing output to stderr, at warnings only unless `-v` was given.
fn init_tracing(verbose: u8) {
    let filter = match verbose {
        // A refused host call is already shown where it happened (`run`
        // prints it under the plugin, `conformance` provokes it on purpose),
        // so its warning would only repeat it.
        0 => EnvFilter::new("warn,plugboard_host::context=error"),
        _ => {
            let level = match verbose {
                1 => "info",
                2 => "debug",
                _ => "trace",
            };
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
