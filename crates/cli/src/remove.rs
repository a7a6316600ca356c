//! `plugboard remove`: delete a plugin from the user's plugins folder and,
//! with `--purge`, everything plugboard kept about it: its grants, its
//! state, its logs, its own files folder (`files.private`), its quarantine
//! record and its place on the disabled list. Builtin plugins belong to the application and are never removed.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use plugboard_host::QuarantineStore as _;
use plugboard_registry::{Origin, PluginDirs, discover};
use plugboard_state::{GRANTS_FILE, GrantsFile, PluginLogFiles, QuarantineFile, SqliteStateStore};

use crate::{grant, plugin_dirs};
use plugboard::{DEV_FILES_FOLDER, DisabledPlugins, FILES_FOLDER, STATE_FILE};

/// The arguments of `plugboard remove`.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// The plugin's id.
    id: String,
    /// Also delete its grants, its state, its logs, its own files folder,
    /// its quarantine record and its place on the disabled list (also for a
    /// plugin no longer installed).
    #[arg(long)]
    purge: bool,
}

/// Removes the plugin; fails for a builtin one and for one not installed
/// (unless purging what is left of it).
pub fn remove(args: &RemoveArgs, dirs: &PluginDirs, config_dir: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let id = args.id.as_str();
    grant::check_id(id)?;
    match plugin_dirs::find_installed(dirs, id) {
        Some(plugin) if plugin.origin == Origin::User => {
            let hidden = plugin_dirs::hidden_builtin(&discover(dirs), id);
            delete_folder(&plugin.dir)?;
            println!(
                "Removed {id} {} from {}.",
                plugin.manifest.plugin.version,
                plugin.dir.display()
            );
            if let Some(builtin) = hidden {
                println!(
                    "The builtin {id} {} ({}) loads in its place.",
                    builtin.manifest.plugin.version,
                    builtin.dir.display()
                );
            }
        }
        Some(plugin) => bail!(
            "{id} is a builtin plugin ({}): it comes with the application and cannot be removed; \
             `plugboard disable {id}` keeps it from loading",
            plugin.dir.display()
        ),
        None => {
            if let Some(bundled) = discover(dirs).get(id)
                && let Origin::Bundled { by } = &bundled.origin
            {
                bail!(
                    "{id} is not installed on its own: {by} bundles it ({}); it goes when {by} is removed",
                    bundled.dir.display()
                );
            }
            if !args.purge {
                bail!(
                    "no plugin `{id}` is installed in {} (`plugboard list` shows what is)",
                    plugin_dirs::describe(dirs)
                );
            }
            println!("{id} is not installed in {}.", plugin_dirs::describe(dirs));
        }
    }
    if args.purge {
        purge(id, config_dir, data_dir)?;
    } else {
        println!("Its grants, state, files and logs are kept (`plugboard remove {id} --purge` deletes them).");
    }
    Ok(ExitCode::SUCCESS)
}

/// Deletes the folder, first renaming it aside so that a failure halfway
/// leaves no half plugin for the next run to load.
fn delete_folder(dir: &Path) -> anyhow::Result<()> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = dir.parent().unwrap_or(Path::new("."));
    let aside = tempfile::Builder::new()
        .prefix(&format!(".{name}.removing-"))
        .tempdir_in(parent)
        .with_context(|| format!("cannot remove {}", dir.display()))?;
    std::fs::rename(dir, aside.path().join(&name)).with_context(|| format!("cannot remove {}", dir.display()))?;
    aside
        .close()
        .with_context(|| format!("{} was moved aside but not fully deleted", dir.display()))
}

/// Deletes what plugboard kept about `id`, saying what went.
fn purge(id: &str, config_dir: &Path, data_dir: &Path) -> anyhow::Result<()> {
    if forget_grants(id, config_dir)? {
        println!("Deleted its grants from {}.", config_dir.join(GRANTS_FILE).display());
    }
    let state_path = data_dir.join(STATE_FILE);
    if state_path.is_file() {
        let entries = SqliteStateStore::open(&state_path)?.purge(id)?;
        println!("Deleted its state ({entries} entries) from {}.", state_path.display());
    }
    for folder in [FILES_FOLDER, DEV_FILES_FOLDER] {
        let own = plugboard_host::files::private_folder(&data_dir.join(folder), id);
        if std::fs::symlink_metadata(&own).is_ok() {
            delete_folder(&own)?;
            println!("Deleted its files folder {}.", own.display());
        }
    }
    let logs = PluginLogFiles::new(data_dir);
    for path in [logs.rotated_path(id), logs.path(id)] {
        match std::fs::remove_file(&path) {
            Ok(()) => println!("Deleted its log {}.", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot delete {}", path.display())),
        }
    }
    if QuarantineFile::open(data_dir)?.release(id)?.is_some() {
        println!("Deleted its quarantine record.");
    }
    let mut disabled = DisabledPlugins::open(data_dir)?;
    if disabled.remove(id) {
        disabled.save()?;
        println!("Took it off the disabled list.");
    }
    Ok(())
}

/// Deletes the plugin's own table from the grants file; false when it has
/// none. The defaults (`[grants]`) are left alone: they are not its own.
fn forget_grants(id: &str, config_dir: &Path) -> anyhow::Result<bool> {
    let mut grants = GrantsFile::open(config_dir)?;
    if !grants.forget(id) {
        return Ok(false);
    }
    grants.save()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn forgetting_grants_removes_only_that_plugin_s_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = GrantsFile::open(dir.path()).unwrap();
        let read = plugboard_host::Grant::from_str("tasks.read").unwrap();
        file.grant("a", std::slice::from_ref(&read));
        file.grant("b", std::slice::from_ref(&read));
        file.save().unwrap();
        assert!(forget_grants("a", dir.path()).unwrap());
        assert!(!forget_grants("a", dir.path()).unwrap());
        let file = GrantsFile::open(dir.path()).unwrap();
        assert_eq!(file.plugins().collect::<Vec<_>>(), ["b"]);
        assert_eq!(file.grants_for("b").list(), [read]);
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.starts_with("# Permissions granted"), "{text}");
    }
}
