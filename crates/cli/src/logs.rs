//! `plugboard logs`: the end of a plugin's log file, where the host writes
//! what the plugin logged and what it was refused or stopped for.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use plugboard_state::PluginLogFiles;

/// The arguments of `plugboard logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The plugin's id.
    id: String,
    /// How many of the last lines to show.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
    lines: usize,
}

/// Prints the last lines of the plugin's log, or says there is none.
pub fn logs(args: &LogsArgs, data_dir: &Path) -> anyhow::Result<ExitCode> {
    crate::grant::check_id(&args.id)?;
    let logs = PluginLogFiles::new(data_dir);
    let path = logs.path(&args.id);
    let lines = logs
        .tail(&args.id, args.lines)
        .with_context(|| format!("cannot read the log of {} ({})", args.id, path.display()))?;
    if lines.is_empty() {
        println!(
            "{} has no log yet ({} does not exist or is empty): it has not logged anything, been refused a call or been stopped.",
            args.id,
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for line in lines {
        println!("{}", plugboard::display::escaped(&line));
    }
    Ok(ExitCode::SUCCESS)
}
