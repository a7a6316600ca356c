//! `plugboard`, the command line of the plugboard plugin framework.
//!
//! `pack`, `keygen`, `sign` and `verify` make and check plugin archives,
//! `index` makes a folder of them a catalogue; `install` verifies an archive
//! (or the best match in a catalogue), asks the user to grant what it
//! requests and unpacks it into the user's plugins folder; `remove`, `disable`, `enable`
//! and `logs` manage what is installed. `run` loads the installed plugins
//! (or a folder of plugins) and feeds them application events (a JSONL
//! script of app actions, or a built-in demo) against an in-memory task
//! store, showing what each plugin did with each event. `grant` and `revoke`
//! change what the user allows a plugin (nothing by default), `list` shows
//! plugins with their grants and status. `inspect` shows what a plugin
//! folder or component file declares and speaks. `conformance` runs the ABI
//! conformance suite. `tasks` works on the user's tasks in a TaskChampion
//! replica, `serve` keeps the plugins loaded on it with their timers firing
//! until Ctrl-C or SIGTERM, and `taskwarrior install-hooks` makes the
//! plugins act on real Taskwarrior tasks through Taskwarrior's hooks.
//!
//! `run` is a thin user of the `plugboard` library's `Host`, as any embedding
//! application is; the other commands drive `plugboard-host`,
//! `plugboard-registry` and `plugboard-archive` directly. A plugin gets what
//! its manifest asks for and the user granted (everything asked for only with
//! `run --trust-manifests`), and the CLI never touches the user's real tasks.

mod app;
mod archive;
mod catalogue;
mod check;
mod command;
mod componentize;
mod conformance;
mod console;
mod control;
mod date;
mod describe;
mod disabled;
mod download;
mod enable;
mod folders;
mod grant;
mod index;
mod inspect;
mod install;
mod list;
mod logs;
mod new;
mod plugin_dirs;
mod plugins_folder;
mod remove;
mod run;
mod script;
mod serve;
mod stats;
mod tasks;
mod taskwarrior;

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
    /// Where your grants are kept (plugboard.toml). Default: $PLUGBOARD_CONFIG_DIR,
    /// else $XDG_CONFIG_HOME/plugboard, else ~/.config/plugboard.
    #[arg(long, global = true, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Where the quarantine, the disabled list, plugin state and logs are kept.
    /// Default: $PLUGBOARD_DATA_DIR, else $XDG_DATA_HOME/plugboard, else
    /// ~/.local/share/plugboard.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where `install` puts plugins. Default: $PLUGBOARD_PLUGINS_DIR, else
    /// $XDG_DATA_HOME/plugboard/plugins, else ~/.local/share/plugboard/plugins.
    #[arg(long, global = true, value_name = "DIR")]
    plugins_dir: Option<PathBuf>,
    /// The application's builtin plugins (loaded, never removed). Default:
    /// $PLUGBOARD_BUILTIN_DIR, else none.
    #[arg(long, global = true, value_name = "DIR")]
    builtin_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Load the installed plugins (or a folder of plugins), with what you
    /// granted each, and feed them app events.
    #[command(after_help = script::FORMAT_HELP)]
    Run(run::RunArgs),
    /// Verify a plugin archive, ask you to grant what it requests, and install it.
    #[command(after_help = grant::PERMISSIONS_HELP)]
    Install(install::InstallArgs),
    /// Remove an installed plugin (with --purge, also its grants, state and logs).
    Remove(remove::RemoveArgs),
    /// Keep a plugin installed but stop loading it.
    Disable {
        /// The plugin's id.
        id: String,
    },
    /// Show the end of a plugin's log.
    Logs(logs::LogsArgs),
    /// Pack a plugin folder into `<id>-<version>.plugin`; prints the archive's path.
    Pack(archive::PackArgs),
    /// Make a signing key pair (`<keyid>.secret`, `<keyid>.pub`); prints the key id.
    Keygen(archive::KeygenArgs),
    /// Sign a plugin archive with your secret key.
    Sign(archive::SignArgs),
    /// Check a plugin archive and show what it holds and who signed it.
    Verify(archive::VerifyArgs),
    /// Write the index.json of a folder of plugin archives, so that
    /// `install ID@REQ --from DIR` can install from it.
    Index {
        /// The folder of `.plugin` archives.
        dir: PathBuf,
    },
    /// List the plugins of a catalogue (a folder, or an index.json served
    /// over HTTP(S)) whose id contains the text.
    Search(catalogue::SearchArgs),
    /// Grant a plugin permissions (a plugin gets nothing you did not grant).
    #[command(after_help = grant::PERMISSIONS_HELP)]
    Grant(grant::GrantArgs),
    /// Take permissions back from a plugin.
    #[command(after_help = grant::PERMISSIONS_HELP)]
    Revoke(grant::RevokeArgs),
    /// List installed plugins with their grants and whether they are
    /// enabled, disabled or quarantined.
    List(list::ListArgs),
    /// Let a disabled or quarantined plugin load again.
    Enable {
        /// The plugin's id.
        id: String,
    },
    /// Show a plugin folder's manifest and its component's world, imports
    /// and exports, or those of a single .wasm file.
    Inspect {
        /// A plugin folder (plugin.toml + component) or a .wasm file.
        path: PathBuf,
    },
    /// Run one command of an installed plugin (PLUGIN-ID.COMMAND), its
    /// arguments checked against the parameters it declares.
    #[command(name = "command")]
    Invoke(command::CommandArgs),
    /// Run the ABI conformance suite and print its matrix; exits 0 iff it passed.
    /// With --guest, run it against a conformance guest built elsewhere.
    #[command(after_help = conformance::GUEST_HELP)]
    Conformance(conformance::ConformanceArgs),
    /// Start a plugin from a template: `plugboard new --lang rust "My plugin"`.
    New(new::NewArgs),
    /// Add, list, change, undo, export and sync your tasks (a TaskChampion
    /// replica in the data folder), with the installed plugins acting on
    /// every change.
    Tasks(tasks::TasksArgs),
    /// Check a plugin folder: its manifest, its imports, its world version and
    /// a smoke event through it in an in-memory host; one line per check,
    /// non-zero exit when any fails.
    #[command(after_help = check::EXPECT_HELP)]
    Check(check::CheckArgs),
    /// Make a core module built with wasi-libc (wasm32-wasip1, reactor) a
    /// plugin component of a plugboard world, with the preview1 adapter.
    Componentize(componentize::ComponentizeArgs),
    /// Keep the plugins loaded on your tasks until Ctrl-C or SIGTERM: fire
    /// their timers, reload changed plugins, unload idle ones.
    Serve(serve::ServeArgs),
    /// An interactive console on the running `plugboard serve` (or on a host
    /// of its own when none runs): live plugin logs, plugins, commands,
    /// events, grants, reloads, metrics.
    Console(console::ConsoleArgs),
    /// Show each plugin's metrics from the running `plugboard serve`.
    Stats,
    /// Run your plugins on your Taskwarrior tasks: install or remove the
    /// Taskwarrior hooks.
    Taskwarrior(taskwarrior::TaskwarriorArgs),
}

/// Lets a closed pipe end the program quietly, as it does any Unix tool
/// (`plugboard list | head`), instead of a panic in `println!`.
fn die_quietly_on_closed_pipe() {
    // SAFETY: `signal` with SIG_DFL installs no handler code; it runs before
    // any thread is started, so nothing races with the change.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    die_quietly_on_closed_pipe();
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let config_dir = || folders::resolve(folders::CONFIG, cli.config_dir.as_ref());
    let data_dir = || folders::resolve(folders::DATA, cli.data_dir.as_ref());
    let plugin_dirs = || plugin_dirs::resolve(cli.plugins_dir.as_ref(), cli.builtin_dir.as_ref());
    let result = (|| match &cli.command {
        Command::Run(args) => run::run(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Install(args) => install::install(
            args,
            &install::Folders {
                plugins: &plugin_dirs()?,
                config: &config_dir()?,
                data: &data_dir()?,
            },
        ),
        Command::Remove(args) => remove::remove(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Disable { id } => disabled::disable(id, &plugin_dirs()?, &data_dir()?),
        Command::Logs(args) => logs::logs(args, &data_dir()?),
        Command::Pack(args) => archive::pack(args),
        Command::Keygen(args) => archive::keygen(args, &config_dir()?),
        Command::Sign(args) => archive::sign(args),
        Command::Verify(args) => archive::verify(args, &config_dir()?),
        Command::Index { dir } => index::index(dir),
        Command::Search(args) => catalogue::search(args),
        Command::Grant(args) => grant::grant(args, &config_dir()?, plugin_dirs),
        Command::Revoke(args) => grant::revoke(args, &config_dir()?),
        Command::List(args) => list::list(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Enable { id } => enable::enable(id, &data_dir()?),
        Command::Inspect { path } => inspect::inspect(path, &data_dir()?),
        Command::Invoke(args) => command::command(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Conformance(args) => conformance::conformance(args),
        Command::New(args) => new::new(args),
        Command::Tasks(args) => tasks::tasks(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Check(args) => check::check(args, &data_dir()?),
        Command::Componentize(args) => componentize::componentize(args).map(|()| ExitCode::SUCCESS),
        Command::Taskwarrior(args) => taskwarrior::taskwarrior(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Serve(args) => serve::serve(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Console(args) => console::console(args, &plugin_dirs()?, &config_dir()?, &data_dir()?),
        Command::Stats => console::stats(&data_dir()?),
    })();
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
        // and so are strikes and quarantines (`run` prints both), so their
        // warnings would only repeat them.
        0 => EnvFilter::new("warn,plugboard_host::context=error,plugboard_host::dispatcher=off"),
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
