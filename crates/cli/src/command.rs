//! `plugboard command PLUGIN-ID.COMMAND [ARGS]...`: runs one command of an
//! installed plugin, the way another plugin's `commands.invoke` and the
//! embedding application's `Host::run_command` do: the arguments checked
//! against the parameters the command declares, the command under the
//! plugin's own limits, its task changes committed to your replica.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plugboard_registry::PluginDirs;

use crate::run::roster::print_effects;
use crate::run::{Output, open_host, opened};

/// What `plugboard command` takes.
#[derive(Debug, clap::Args)]
pub struct CommandArgs {
    /// The command, as PLUGIN-ID.COMMAND (e.g. `auto-tag.retag`).
    #[arg(value_name = "ID.NAME")]
    target: String,
    /// Its arguments, in the order the command declares its parameters
    /// (put `--` before them when one starts with `-`).
    #[arg(value_name = "ARGS")]
    args: Vec<String>,
    /// Run the plugin folders in DIR instead of the installed plugins.
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// Give every plugin everything its manifest requests: for developing
    /// your own plugins only.
    #[arg(long)]
    trust_manifests: bool,
}

/// Runs the subcommand: prints the command's text and what it did; exits
/// non-zero when it could not run or failed.
pub fn command(args: &CommandArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let Some((plugin, name)) = args
        .target
        .rsplit_once('.')
        .filter(|(p, n)| !p.is_empty() && !n.is_empty())
    else {
        anyhow::bail!(
            "`{}` does not name a plugin's command; write PLUGIN-ID.COMMAND, e.g. auto-tag.retag",
            plugboard::display::escaped(&args.target)
        );
    };
    let store = crate::tasks::open_store(data_dir)?;
    let config = crate::run::folders_config(
        args.plugins.as_deref(),
        dirs,
        config_dir,
        data_dir,
        args.trust_manifests,
    );
    let host = open_host(config, store, &Output::default())?;
    opened::print_problems(host.report());
    let result = host.run_command_blocking(plugin, name, &args.args);
    host.shutdown();
    match result {
        Ok(output) => {
            println!("{}", plugboard::display::escaped(&output.text));
            print_effects(&output.effects);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {}", plugboard::display::escaped(&error.to_string()));
            Ok(ExitCode::FAILURE)
        }
    }
}
