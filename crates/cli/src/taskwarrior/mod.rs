//! `plugboard taskwarrior`: the user's installed plugins acting on real
//! Taskwarrior tasks, through Taskwarrior's hooks.
//!
//! `install-hooks` writes `on-add.plugboard` and `on-modify.plugboard` into
//! Taskwarrior's hooks folder; each runs `plugboard taskwarrior hook EVENT`
//! on the plugboard folders install-hooks was given, which offers the task
//! to the installed plugins (with the user's grants) and answers it as they
//! left it. `uninstall-hooks` removes those two files and nothing else.

mod hook;
mod hooks;
mod json;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use plugboard::{Host, HostConfig};
use plugboard_registry::PluginDirs;

pub use hook::HookEvent;

/// The arguments of `plugboard taskwarrior`.
#[derive(Debug, clap::Args)]
pub struct TaskwarriorArgs {
    #[command(subcommand)]
    action: Action,
}

/// Where the hooks go.
#[derive(Debug, clap::Args)]
struct Location {
    /// Taskwarrior's data folder (`rc.data.location`); the hooks go in its
    /// `hooks/` folder. Default: what `task` says (`rc.hooks.location`,
    /// else `rc.data.location`/hooks, following TASKRC and TASKDATA), else
    /// ~/.task/hooks.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The hooks folder itself, when it is not `DATA/hooks`.
    #[arg(long, value_name = "DIR", conflicts_with = "data")]
    hooks: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Install the hooks that run your plugboard plugins on every task
    /// Taskwarrior adds or changes.
    InstallHooks(Location),
    /// Remove the hooks install-hooks wrote (only those).
    UninstallHooks(Location),
    /// What an installed hook runs: reads Taskwarrior's task on stdin and
    /// answers it on stdout as the plugins left it.
    #[command(hide = true)]
    Hook {
        event: HookEvent,
        /// What Taskwarrior passes (api:, args:, command:, ...), unused.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        taskwarrior_args: Vec<String>,
    },
}

/// Runs the subcommand.
pub fn taskwarrior(
    args: &TaskwarriorArgs,
    dirs: &PluginDirs,
    config_dir: &Path,
    data_dir: &Path,
) -> anyhow::Result<ExitCode> {
    match &args.action {
        Action::Hook { event, .. } => Ok(hook::run(*event, dirs, config_dir, data_dir)),
        Action::InstallHooks(location) => install(location, dirs, config_dir, data_dir),
        Action::UninstallHooks(location) => {
            let folder = hooks::hooks_folder(location.hooks.as_deref(), location.data.as_deref())?;
            let (removed, left) = hooks::uninstall(&folder)?;
            for path in &removed {
                println!("removed {}", path.display());
            }
            for path in &left {
                println!("left {}: it was not installed by plugboard", path.display());
            }
            if removed.is_empty() {
                println!("no plugboard hook in {}", folder.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot make {} absolute", path.display()))
}

fn install(location: &Location, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let folder = hooks::hooks_folder(location.hooks.as_deref(), location.data.as_deref())?;
    let binary = std::env::current_exe()
        .and_then(|path| path.canonicalize())
        .context("cannot find the plugboard binary the hooks should run")?;
    let folders = hooks::HookFolders {
        config: absolute(config_dir)?,
        data: absolute(data_dir)?,
        plugins: absolute(&dirs.user)?,
        builtin: dirs.builtin.as_deref().map(absolute).transpose()?,
    };
    for path in hooks::install(&folder, &binary, &folders)? {
        println!("installed {}", path.display());
    }
    // Compiling the plugins now puts them in the code cache, so the first
    // `task add` does not wait for a compile.
    let config = HostConfig {
        builtin_dir: folders.builtin.clone(),
        ..HostConfig::new(&folders.plugins, &folders.config, &folders.data)
    };
    match Host::open(config) {
        Ok(host) => {
            let loaded: Vec<String> = host.report().loaded().map(|p| p.id().to_string()).collect();
            match loaded.is_empty() {
                true => println!(
                    "no plugin is installed in {} yet: `plugboard install` one, and it runs on your next task",
                    folders.plugins.display()
                ),
                false => println!("your tasks now go through: {}", loaded.join(", ")),
            }
            host.shutdown();
        }
        Err(error) => eprintln!("warning: the installed plugins cannot be opened yet: {error}"),
    }
    Ok(ExitCode::SUCCESS)
}
